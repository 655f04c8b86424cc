"""Hubs and notifications of the sandbox incumbent's TMF APIs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from proxy.sandbox.tmf_schemas import SchemaBook
from tests.sandbox.test_tmf_support import (
    CASES,
    SCHEMAS,
    Case,
    Client,
    Listener,
    case,
    create,
    local,
    sandbox,
    wait_until,
)

each_api = pytest.mark.parametrize("item", CASES, ids=str)
BOOK = SchemaBook.load(SCHEMAS / "tmf")


async def subscribe(client: Client, item: Case, callback: str, query: str = "") -> dict[str, Any]:
    """Register ``callback`` on the case's hub; the EventSubscription."""
    response = await client.post(item.api.hub, json={"callback": callback, "query": query})
    assert response.status == 201, await response.text()
    subscription: dict[str, Any] = await response.json()
    return subscription


async def start(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, notifications: bool = True
) -> tuple[Client, Listener, str]:
    """A sandbox client, a listener, and the listener's base URL."""
    listener = Listener()
    server = await aiohttp_server(listener.app)
    client = await aiohttp_client(sandbox(notifications=notifications))
    return client, listener, str(server.make_url("")).rstrip("/")


@each_api
async def test_hub_registers_and_unregisters(aiohttp_client: AiohttpClient, item: Case) -> None:
    """POST hub answers 201 EventSubscription with a Location; DELETE answers 204 then 404."""
    client = await aiohttp_client(sandbox())
    body = {"callback": "https://oss.example.net/tmf", "query": "eventType=X"}
    response = await client.post(item.api.hub, json=body)
    assert response.status == 201
    subscription = await response.json()
    assert subscription["callback"] == body["callback"]
    assert subscription["query"] == "eventType=X"
    assert ("@type" in subscription) == (item.api.version == 5)
    assert BOOK.problems(item.api.key, "EventSubscription", subscription) == []
    assert response.headers["Location"].endswith(f"{item.api.hub}/{subscription['id']}")
    assert (await client.get(local(response.headers["Location"]))).status == 200
    assert (await client.delete(f"{item.api.hub}/{subscription['id']}")).status == 204
    assert (await client.delete(f"{item.api.hub}/{subscription['id']}")).status == 404


async def test_hub_refuses_bad_callbacks(aiohttp_client: AiohttpClient) -> None:
    """A missing or relative callback is a 400 TMF Error naming $.callback."""
    client = await aiohttp_client(sandbox())
    hub = case("tmf622-v4").api.hub
    response = await client.post(hub, json={"query": ""})
    assert (await response.json())["message"] == "missing required property 'callback' at $"
    response = await client.post(hub, json={"callback": "/listener"})
    assert response.status == 400
    assert (await response.json())["message"] == "expected an absolute http(s) URL at $.callback"


@each_api
async def test_create_notifies_create_then_state_change(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, item: Case
) -> None:
    """A created resource yields a Create event, then a state change to inProgress.

    Both go to ``{callback}/listener/{lowerCamel event name}`` with the full resource, and
    validate against the API's notification envelope.
    """
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    await subscribe(client, item, f"{base}/oss")
    created = await create(client, item)
    name, event = await listener.next("oss")
    assert name == item.api.listener_name("Create")
    assert event["eventType"] == item.api.event_type("Create")
    resource = event["event"][item.api.resource]
    assert resource["id"] == created["id"]
    assert resource["relatedParty"] == item.body["relatedParty"]
    name, event = await listener.next("oss")
    assert name == item.api.listener_name(item.api.status_kind)
    assert event["event"][item.api.resource][item.api.status_field] == "inProgress"
    for field in ("eventId", "eventTime", "correlationId", "domain", "title", "description"):
        assert event[field]
    assert item.api.time_field in event
    other_spelling = ({"timeOcurred", "timeOccurred"} - {item.api.time_field}).pop()
    assert other_spelling not in event
    assert BOOK.problems(item.api.key, "Event", event) == []


def test_event_names_per_api() -> None:
    """Listener names are lowerCamel, as in the specs' /listener/{eventName} paths."""
    names = {c.api.key: c.api.listener_name(c.api.status_kind) for c in CASES}
    assert names == {
        "tmf622-v4": "productOrderStateChangeEvent",
        "tmf622-v5": "productOrderStateChangeEvent",
        "tmf641-v4": "serviceOrderStateChangeEvent",
        "tmf621-v4": "troubleTicketStatusChangeEvent",
        "tmf621-v5": "troubleTicketStatusChangeEvent",
    }


async def test_query_selects_event_types(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer
) -> None:
    """``eventType=`` keeps the named events; an empty query gets them all."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    item = case("tmf622-v4")
    await subscribe(client, item, f"{base}/changes", "eventType=ProductOrderStateChangeEvent")
    await subscribe(client, item, f"{base}/all")
    await create(client, item)
    assert (await listener.next("all"))[0] == "productOrderCreateEvent"
    assert (await listener.next("all"))[0] == "productOrderStateChangeEvent"
    # Deliveries to one listener are sequential, in registration order: /changes was served
    # before /all for each event, so anything it was sent is already in its queue.
    assert listener.queue("changes").qsize() == 1
    assert (await listener.next("changes"))[0] == "productOrderStateChangeEvent"


async def test_query_accepts_listener_names_and_attribute_filters(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer
) -> None:
    """A lowerCamel event name and an envelope attribute filter both select events."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    item = case("tmf621-v5")
    await subscribe(client, item, f"{base}/names", "eventType=troubleTicketCreateEvent")
    query = "event.troubleTicket.status=inProgress"
    await subscribe(client, item, f"{base}/progress", query)
    await subscribe(client, item, f"{base}/all")
    await create(client, item)
    await listener.next("all")
    await listener.next("all")
    assert (await listener.next("names"))[0] == "troubleTicketCreateEvent"
    assert (await listener.next("progress"))[0] == "troubleTicketStatusChangeEvent"
    assert listener.queue("names").empty()
    assert listener.queue("progress").empty()


async def test_unsubscribed_listener_gets_nothing(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer
) -> None:
    """After DELETE hub/{id}, the listener receives no more events."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    item = case("tmf641-v4")
    gone = await subscribe(client, item, f"{base}/gone")
    await subscribe(client, item, f"{base}/kept")
    assert (await client.delete(f"{item.api.hub}/{gone['id']}")).status == 204
    await create(client, item)
    await listener.next("kept")
    await listener.next("kept")
    assert listener.queue("gone").empty()


@each_api
async def test_patch_notifies_attribute_value_change(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, item: Case
) -> None:
    """A PATCH yields an AttributeValueChange event; v4 names the changed fields."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    query = f"eventType={item.api.event_type('AttributeValueChange')}"
    await subscribe(client, item, f"{base}/oss", query)
    created = await create(client, item)
    response = await client.patch(
        local(created["href"]),
        data=json.dumps({"description": "Nuova descrizione"}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status == 200
    name, event = await listener.next("oss")
    assert name == item.api.listener_name("AttributeValueChange")
    assert event["event"][item.api.resource]["description"] == "Nuova descrizione"
    if item.api.version == 4:
        assert "description" in event["fieldPath"].split(",")
    assert BOOK.problems(item.api.key, "Event", event) == []


@each_api
async def test_held_sends_state_change_and_information_required(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer, item: Case
) -> None:
    """Driving a resource to held with a request for information sends both events."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    await subscribe(
        client, item, f"{base}/oss", f"event.{item.api.resource}.{item.api.status_field}=held"
    )
    created = await create(client, item)
    wanted = {"op": "add", "path": "/relatedParty"}
    response = await client.post(
        "/_sandbox/tmf/state",
        json={
            "path": local(created["href"]),
            "state": "held",
            "reason": "Recapiti telefonici errati",
            "informationRequired": wanted,
        },
    )
    assert response.status == 200
    name, event = await listener.next("oss")
    assert name == item.api.listener_name(item.api.status_kind)
    name, event = await listener.next("oss")
    assert name == item.api.listener_name("InformationRequired")
    if item.api.version == 4:
        assert event["fieldPath"] == "/relatedParty"
    else:
        assert event["event"]["informationRequired"] == wanted
    assert BOOK.problems(item.api.key, "Event", event) == []
    got = await (await client.get(local(created["href"]))).json()
    assert got[item.api.status_field] == "held"


async def test_state_control_refuses_unknown_resources_and_states(
    aiohttp_client: AiohttpClient,
) -> None:
    """The state control endpoint answers 404 for an unknown resource, 400 for a bad state."""
    client = await aiohttp_client(sandbox())
    path = case("tmf622-v4").api.collection + "/nope"
    response = await client.post("/_sandbox/tmf/state", json={"path": path, "state": "held"})
    assert response.status == 404
    created = await create(client, case("tmf622-v4"))
    body = {"path": local(created["href"]), "state": "lost"}
    response = await client.post("/_sandbox/tmf/state", json=body)
    assert response.status == 400
    assert (await response.json())["message"].endswith("at $.state")


async def test_delete_notifies(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer
) -> None:
    """DELETE yields a Delete event carrying the removed resource."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    item = case("tmf621-v4")
    await subscribe(client, item, f"{base}/oss", "eventType=TroubleTicketDeleteEvent")
    created = await create(client, item)
    assert (await client.delete(local(created["href"]))).status == 204
    name, event = await listener.next("oss")
    assert name == "troubleTicketDeleteEvent"
    assert event["event"]["troubleTicket"]["id"] == created["id"]


async def test_correlation_id_comes_from_the_creating_request(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer
) -> None:
    """X-Request-ID of the POST becomes the correlationId of the resource's events."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    item = case("tmf622-v5")
    await subscribe(client, item, f"{base}/oss")
    await create(client, item, **{"X-Request-ID": "req-4711"})
    assert (await listener.next("oss"))[1]["correlationId"] == "req-4711"
    assert (await listener.next("oss"))[1]["correlationId"] == "req-4711"


async def test_notifications_off_sends_nothing(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer
) -> None:
    """With notifications off the state still moves, but no listener is called."""
    client, listener, base = await start(aiohttp_client, aiohttp_server, notifications=False)
    item = case("tmf622-v4")
    await subscribe(client, item, f"{base}/oss")
    created = await create(client, item)

    async def moved() -> bool:
        got = await (await client.get(local(created["href"]))).json()
        return bool(got["state"] == "inProgress")

    await wait_until(moved)
    deliveries = await (await client.get("/_sandbox/tmf/deliveries")).json()
    assert deliveries == {"deliveries": []}
    assert listener.queue("oss").empty()


async def test_deliveries_log_statuses_and_unreachable_listeners(
    aiohttp_client: AiohttpClient, aiohttp_server: AiohttpServer
) -> None:
    """The delivery log has the listener's status, or null when it cannot be reached."""
    client, listener, base = await start(aiohttp_client, aiohttp_server)
    dead = await aiohttp_server(Listener().app)
    dead_url = str(dead.make_url("/dead")).rstrip("/")
    await dead.close()
    item = case("tmf621-v4")
    await subscribe(client, item, dead_url, "eventType=TroubleTicketCreateEvent")
    await subscribe(client, item, f"{base}/oss", "eventType=TroubleTicketCreateEvent")
    await create(client, item)
    await listener.next("oss")

    async def both_logged() -> bool:
        log = (await (await client.get("/_sandbox/tmf/deliveries")).json())["deliveries"]
        return len(log) == 2

    await wait_until(both_logged)
    log = (await (await client.get("/_sandbox/tmf/deliveries")).json())["deliveries"]
    statuses = {entry["url"]: entry["status"] for entry in log}
    assert statuses == {
        f"{dead_url}/listener/troubleTicketCreateEvent": None,
        f"{base}/oss/listener/troubleTicketCreateEvent": 201,
    }
    received = (await (await client.get("/_sandbox/received")).json())["received"]
    assert [r["path"] for r in received] == [item.api.hub, item.api.hub, item.api.collection]
