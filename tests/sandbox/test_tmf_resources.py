"""The TMF resources of the sandbox incumbent: create, read, list, patch, delete, errors."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import unquote_plus

import pytest
from pytest_aiohttp import AiohttpClient

from tests.sandbox.test_tmf_support import (
    CASES,
    Case,
    Client,
    case,
    create,
    fixture,
    local,
    sandbox,
    wait_until,
    without,
)

each_api = pytest.mark.parametrize("item", CASES, ids=str)


async def client_for(aiohttp_client: AiohttpClient) -> Client:
    """A test client on a fresh sandbox."""
    return await aiohttp_client(sandbox())


async def error_of(response: Any, status: int) -> dict[str, Any]:
    """The TMF Error body of ``response``, checking its status and shape."""
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert body["@type"] == "Error"
    assert body["status"] == str(status)
    assert {"code", "reason", "message"} <= set(body)
    return body


@each_api
async def test_create_answers_201_with_id_href_state_date_and_location(
    aiohttp_client: AiohttpClient, item: Case
) -> None:
    """A valid body is stored and answered with the provider's fields and a Location."""
    client = await client_for(aiohttp_client)
    response = await client.post(item.api.collection, json=item.body)
    assert response.status == 201
    created = await response.json()
    assert created["id"]
    assert created["href"].endswith(f"{item.api.collection}/{created['id']}")
    assert response.headers["Location"] == created["href"]
    assert created[item.api.status_field] == "acknowledged"
    for name in item.api.created_fields:
        assert created[name].endswith("Z")
    assert created["relatedParty"] == item.body["relatedParty"]


@each_api
async def test_retrieve_returns_the_stored_resource(
    aiohttp_client: AiohttpClient, item: Case
) -> None:
    """GET /{id} answers the resource as created, and projects it on ``fields``."""
    client = await client_for(aiohttp_client)
    created = await create(client, item)
    response = await client.get(local(created["href"]))
    assert response.status == 200
    got = await response.json()
    assert got["id"] == created["id"]
    assert got["note"] == created["note"]
    response = await client.get(local(created["href"]), params={"fields": "note"})
    assert set(await response.json()) == {"id", "href", "@type", "note"}


@each_api
async def test_unknown_id_is_a_404_tmf_error(aiohttp_client: AiohttpClient, item: Case) -> None:
    """GET, PATCH and DELETE of an unknown id answer 404 with a TMF Error."""
    client = await client_for(aiohttp_client)
    path = f"{item.api.collection}/no-such-id"
    body = await error_of(await client.get(path), 404)
    assert "no-such-id" not in body["message"]
    await error_of(
        await client.patch(path, json={}, headers={"Content-Type": "application/merge-patch+json"}),
        404,
    )
    await error_of(await client.delete(path), 404)


@each_api
async def test_list_filters_on_personal_data_and_external_id(
    aiohttp_client: AiohttpClient, item: Case
) -> None:
    """Attribute filters select by nested person names and by the OLO's own code."""
    client = await client_for(aiohttp_client)
    created = await create(client, item)
    other = item.body
    other.pop("relatedParty")
    await client.post(item.api.collection, json=other)
    for name, value in (item.person_filter, item.external_filter):
        response = await client.get(item.api.collection, params={name: value})
        assert response.status == 200
        ids = [r["id"] for r in await response.json()]
        assert created["id"] in ids
        if name.startswith("relatedParty"):
            assert len(ids) == 1
    response = await client.get(item.api.collection, params={item.person_filter[0]: "Nessuno"})
    assert await response.json() == []


@each_api
async def test_list_filters_on_state(aiohttp_client: AiohttpClient, item: Case) -> None:
    """``?state=`` (``?status=``) filters, with a comma for alternatives."""
    client = await client_for(aiohttp_client)
    created = await create(client, item)
    field = item.api.status_field

    async def in_progress() -> bool:
        response = await client.get(item.api.collection, params={field: "inProgress"})
        return [r["id"] for r in await response.json()] == [created["id"]]

    await wait_until(in_progress)
    response = await client.get(item.api.collection, params={field: "acknowledged"})
    assert await response.json() == []
    response = await client.get(item.api.collection, params={field: "held,inProgress"})
    assert len(await response.json()) == 1


@each_api
async def test_list_pages_and_projects(aiohttp_client: AiohttpClient, item: Case) -> None:
    """``offset``/``limit`` slice the list, ``fields`` projects it, counts go in headers."""
    client = await client_for(aiohttp_client)
    ids = [(await create(client, item))["id"] for _ in range(3)]
    response = await client.get(
        item.api.collection, params={"offset": "1", "limit": "1", "fields": "description"}
    )
    assert response.status == 200
    assert response.headers["X-Total-Count"] == "3"
    assert response.headers["X-Result-Count"] == "1"
    (only,) = await response.json()
    assert only["id"] == ids[1]
    assert set(only) == {"id", "href", "@type", "description"}
    await error_of(await client.get(item.api.collection, params={"limit": "-1"}), 400)


@each_api
async def test_merge_patch_changes_and_removes_members(
    aiohttp_client: AiohttpClient, item: Case
) -> None:
    """A merge patch replaces members and removes those set to null (RFC 7396)."""
    client = await client_for(aiohttp_client)
    created = await create(client, item)
    patch = {"description": "Aggiornato dal back office", "priority": None}
    response = await client.patch(
        local(created["href"]),
        data=json.dumps(patch),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status == 200, await response.text()
    patched = await response.json()
    assert patched["description"] == "Aggiornato dal back office"
    assert "priority" not in patched
    stored = await (await client.get(local(created["href"]))).json()
    assert stored["description"] == "Aggiornato dal back office"


@each_api
async def test_json_patch_adds_a_note(aiohttp_client: AiohttpClient, item: Case) -> None:
    """A JSON Patch (RFC 6902) appends a note; the result is stored."""
    client = await client_for(aiohttp_client)
    created = await create(client, item)
    ops = [{"op": "add", "path": "/note/-", "value": item.note}]
    response = await client.patch(
        local(created["href"]),
        data=json.dumps(ops),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["note"][-1] == item.note
    stored = await (await client.get(local(created["href"]))).json()
    assert stored["note"] == [*created["note"], item.note]


@each_api
async def test_delete_answers_204_and_forgets(aiohttp_client: AiohttpClient, item: Case) -> None:
    """DELETE answers 204; the resource is then unknown."""
    client = await client_for(aiohttp_client)
    created = await create(client, item)
    response = await client.delete(local(created["href"]))
    assert response.status == 204
    await error_of(await client.get(local(created["href"])), 404)


@each_api
async def test_missing_required_property_is_a_400_naming_its_path(
    aiohttp_client: AiohttpClient, item: Case
) -> None:
    """A body without a required member is refused, naming where it is missing."""
    client = await client_for(aiohttp_client)
    path, message = item.required
    body = await error_of(
        await client.post(item.api.collection, json=without(item.body, path)), 400
    )
    assert body["message"] == message
    assert (await client.get(item.api.collection)).headers["X-Total-Count"] == "0"


@each_api
async def test_wrong_type_is_a_400_naming_its_path_not_its_value(
    aiohttp_client: AiohttpClient, item: Case
) -> None:
    """A member of the wrong type is refused; the message names the path, not the value."""
    client = await client_for(aiohttp_client)
    body = item.body
    body["note"][0]["text"] = 3471234567
    error = await error_of(await client.post(item.api.collection, json=body), 400)
    assert error["message"] == "expected string at $.note[0].text, got number"
    assert "3471234567" not in json.dumps(error)


@each_api
async def test_create_needs_json_in_utf_8(aiohttp_client: AiohttpClient, item: Case) -> None:
    """Another media type, or another charset, is a 415; a broken body a 400."""
    client = await client_for(aiohttp_client)
    raw = json.dumps(item.body).encode("utf-8")
    for content_type in ("text/plain", "application/xml", "application/json; charset=iso-8859-1"):
        response = await client.post(
            item.api.collection, data=raw, headers={"Content-Type": content_type}
        )
        await error_of(response, 415)
    response = await client.post(
        item.api.collection, data=raw, headers={"Content-Type": "application/json;charset=utf-8"}
    )
    assert response.status == 201
    response = await client.post(
        item.api.collection, data=raw[:-1], headers={"Content-Type": "application/json"}
    )
    await error_of(response, 400)
    response = await client.post(item.api.collection, json=[item.body])
    assert (await error_of(response, 400))["message"] == "expected an object at $, got array"


@each_api
async def test_patch_refuses_unsupported_types_and_invalid_results(
    aiohttp_client: AiohttpClient, item: Case
) -> None:
    """PATCH: 415 for other media types, 400 for a result that breaks the schema or an id."""
    client = await client_for(aiohttp_client)
    created = await create(client, item)
    path = local(created["href"])
    merge = {"Content-Type": "application/merge-patch+json"}
    await error_of(
        await client.patch(path, data=b"{}", headers={"Content-Type": "text/plain"}), 415
    )
    bad = {item.api.status_field: "lost"}
    error = await error_of(await client.patch(path, data=json.dumps(bad), headers=merge), 400)
    assert error["message"].endswith(f"at $.{item.api.status_field}")
    error = await error_of(await client.patch(path, data=b'{"id": "x"}', headers=merge), 400)
    assert error["message"] == "expected $.id unchanged (read-only)"
    ops = [{"op": "remove", "path": "/nowhere"}]
    error = await error_of(
        await client.patch(
            path, data=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"}
        ),
        400,
    )
    assert error["message"].startswith("operation $[0] (remove /nowhere) cannot be applied")
    stored = await (await client.get(path)).json()
    assert stored[item.api.status_field] != "lost"


async def test_v4_order_must_keep_its_items(aiohttp_client: AiohttpClient) -> None:
    """A merge patch removing a v4 order's required productOrderItem is refused."""
    client = await client_for(aiohttp_client)
    created = await create(client, case("tmf622-v4"))
    response = await client.patch(
        local(created["href"]),
        data=b'{"productOrderItem": null}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    error = await error_of(response, 400)
    assert error["message"] == "missing required property 'productOrderItem' at $"


async def test_fixture_patches_apply(aiohttp_client: AiohttpClient) -> None:
    """The merge-patch and JSON Patch fixtures apply to the orders and tickets they are for."""
    client = await client_for(aiohttp_client)
    order = await create(client, case("tmf622-v4"))
    response = await client.patch(
        local(order["href"]),
        data=json.dumps(fixture("tmf622_v4_merge_patch.json")),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status == 200, await response.text()
    patched = await response.json()
    assert patched["notificationContact"] == "mario.rossi.lavoro@example.com"
    assert "description" not in patched
    ticket = await create(client, case("tmf621-v5"))
    response = await client.patch(
        local(ticket["href"]),
        data=json.dumps(fixture("tmf621_v5_json_patch_note.json")),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status == 200, await response.text()
    patched = await response.json()
    assert patched["severity"] == "Major"
    assert patched["note"][-1]["text"].startswith("La cliente ha comunicato")


async def test_v5_json_patch_query_selects_a_note_by_id(aiohttp_client: AiohttpClient) -> None:
    """v5 accepts json-patch-query: ``/note?id=77456/text`` edits that note only."""
    client = await client_for(aiohttp_client)
    ticket = await create(client, case("tmf621-v5"))
    ops = [{"op": "replace", "path": "/note?id=77456/text", "value": "Richiamare in mattinata"}]
    response = await client.patch(
        local(ticket["href"]),
        data=json.dumps(ops),
        headers={"Content-Type": "application/json-patch-query+json"},
    )
    assert response.status == 200, await response.text()
    assert [n["text"] for n in (await response.json())["note"]] == ["Richiamare in mattinata"]


async def test_v4_refuses_json_patch_query(aiohttp_client: AiohttpClient) -> None:
    """json-patch-query is a v5 media type: a v4 API answers 415."""
    client = await client_for(aiohttp_client)
    ticket = await create(client, case("tmf621-v4"))
    response = await client.patch(
        local(ticket["href"]),
        data=b"[]",
        headers={"Content-Type": "application/json-patch-query+json"},
    )
    await error_of(response, 415)


async def test_v5_draft_order_stays_draft(aiohttp_client: AiohttpClient) -> None:
    """A v5 order created with requestedInitialState draft is not taken in progress."""
    client = await client_for(aiohttp_client)
    body = case("tmf622-v5").body
    body["requestedInitialState"] = "draft"
    response = await client.post("/tmf-api/productOrderingManagement/v5/productOrder", json=body)
    created = await response.json()
    assert created["state"] == "draft"
    acknowledged = await create(client, case("tmf622-v5"))

    async def moved() -> bool:
        got = await (await client.get(local(acknowledged["href"]))).json()
        return bool(got["state"] == "inProgress")

    await wait_until(moved)
    assert (await (await client.get(local(created["href"]))).json())["state"] == "draft"


async def test_requests_are_recorded_with_their_exact_bytes(
    aiohttp_client: AiohttpClient,
) -> None:
    """What the incumbent received is in /_sandbox/received: method, path, query, body."""
    client = await client_for(aiohttp_client)
    item = case("tmf622-v4")
    raw = json.dumps(item.body, ensure_ascii=False).encode("utf-8")
    await client.post(item.api.collection, data=raw, headers={"Content-Type": "application/json"})
    await client.get(item.api.collection, params={"relatedParty.name": "Mario Rossi"})
    received = (await (await client.get("/_sandbox/received")).json())["received"]
    post, listing = received
    assert (post["method"], post["path"]) == ("POST", item.api.collection)
    assert base64.b64decode(post["body_b64"]) == raw
    assert unquote_plus(listing["query_string"]) == "relatedParty.name=Mario Rossi"
