"""TMF REST end to end: an aiohttp client talks to the sandbox's TMF APIs through civetta."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from yarl import URL

from proxy.config import HUB_PREFIX
from proxy.replies import ERROR_HEADER
from tests.e2e.conftest import Env, OssListener, pii_free_tmf, poll

JSON_UTF8 = "application/json;charset=utf-8"


@dataclass(frozen=True, slots=True)
class Api:
    """One TMF API of the sandbox, its fixture, and a list filter that selects the fixture."""

    key: str
    collection: str
    fixture: str
    #: The state (orders) or status (tickets) attribute.
    status_field: str
    #: A filter on the OLO's own code: ``(name, value)``.
    external: tuple[str, str]

    def __str__(self) -> str:
        """The test id."""
        return self.key

    @property
    def body(self) -> bytes:
        """The fixture's personal-data-free variant (what the OSS sends)."""
        return pii_free_tmf(self.fixture)

    @property
    def base(self) -> str:
        """The API's base path (where its hub lives)."""
        return self.collection.rsplit("/", 1)[0]


APIS = [
    Api(
        "tmf622-v4",
        "/tmf-api/productOrderingManagement/v4/productOrder",
        "tmf622_v4_order.json",
        "state",
        ("externalId", "OLO-ORD-2025-004711"),
    ),
    Api(
        "tmf622-v5",
        "/tmf-api/productOrderingManagement/v5/productOrder",
        "tmf622_v5_order.json",
        "state",
        ("externalId.id", "OLO-ORD-2025-004712"),
    ),
    Api(
        "tmf641-v4",
        "/tmf-api/serviceOrdering/v4/serviceOrder",
        "tmf641_v4_order.json",
        "state",
        ("externalId", "OLO-SRV-2025-000388"),
    ),
    Api(
        "tmf621-v4",
        "/tmf-api/troubleTicket/v4/troubleTicket",
        "tmf621_v4_ticket.json",
        "status",
        ("externalId", "OLO-TT-2025-001907"),
    ),
    Api(
        "tmf621-v5",
        "/tmf-api/troubleTicket/v5/troubleTicket",
        "tmf621_v5_ticket.json",
        "status",
        ("externalIdentifier.id", "OLO-TT-2025-001908"),
    ),
]
EACH_API = pytest.mark.parametrize("api", APIS, ids=str)


def api(key: str) -> Api:
    """The API with this key."""
    return next(a for a in APIS if a.key == key)


def local(href: str) -> str:
    """The path of an absolute ``href`` (the sandbox names itself in ``href``)."""
    return URL(href).raw_path


async def create(env: Env, item: Api, **headers: str) -> dict[str, Any]:
    """POST the fixture through the proxy; the created resource."""
    async with env.http.post(
        env.oss(item.collection), data=item.body, headers={"Content-Type": JSON_UTF8, **headers}
    ) as resp:
        assert resp.status == 201, await resp.text()
        created: dict[str, Any] = await resp.json()
        return created


async def civetta_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    """Check that ``resp`` is civetta's own TMF Error with ``status`` and ``code``."""
    assert resp.status == status
    assert resp.headers[ERROR_HEADER] == code
    assert resp.content_type == "application/json"
    body: dict[str, Any] = await resp.json()
    assert (body["@type"], body["code"], body["status"]) == ("Error", code, str(status))
    return body


@EACH_API
async def test_create_is_forwarded_byte_for_byte_and_answered_201_with_location(
    env: Env, api: Api
) -> None:
    """A create reaches the sandbox as sent (method, path, body, Content-Type; Host rewritten)
    and the OSS gets the sandbox's 201 with its Location header."""
    async with env.http.post(
        env.oss(api.collection), data=api.body, headers={"Content-Type": JSON_UTF8}
    ) as resp:
        assert resp.status == 201
        assert ERROR_HEADER not in resp.headers
        created = await resp.json()
        location = resp.headers["Location"]
    assert location == created["href"] == f"{env.sandbox.url}{api.collection}/{created['id']}"
    assert created[api.status_field] == "acknowledged"
    [got] = await env.sandbox.received()
    assert (got.method, got.path, got.query_string) == ("POST", api.collection, "")
    assert got.body == api.body
    assert got.headers["Content-Type"] == JSON_UTF8
    assert got.headers["Host"] == URL(env.sandbox.url).raw_authority


@EACH_API
async def test_get_by_id_returns_the_resource(env: Env, api: Api) -> None:
    """GET of a created resource through the proxy answers it, projected on ``fields``."""
    created = await create(env, api)
    async with env.http.get(env.oss(local(created["href"]) + "?fields=description")) as resp:
        assert resp.status == 200
        got = await resp.json()
    assert got["id"] == created["id"]
    assert set(got) == {"id", "href", "@type", "description"}
    assert got["description"] == created["description"] == json.loads(api.body)["description"]


@EACH_API
async def test_list_query_string_is_forwarded_byte_for_byte(env: Env, api: Api) -> None:
    """A list query with filters, alternatives, fields and paging reaches the sandbox exactly as
    written (order, commas, repeated separators) and selects the created resource."""
    created = await create(env, api)
    name, value = api.external
    query = (
        f"fields=id,{api.status_field}&{name}={value}"
        f"&{api.status_field}=acknowledged,inProgress&offset=0&limit=5"
    )
    async with env.http.get(URL(env.oss(api.collection) + "?" + query, encoded=True)) as resp:
        assert resp.status == 200
        assert resp.headers["X-Total-Count"] == "1"
        listed = await resp.json()
    assert [item["id"] for item in listed] == [created["id"]]
    got = (await env.sandbox.received())[-1]
    assert (got.method, got.path, got.query_string) == ("GET", api.collection, query)


async def test_percent_encoded_query_is_forwarded_byte_for_byte(env: Env) -> None:
    """Percent-escapes, '+' for a space and encoded commas reach the sandbox undecoded, and the
    sandbox's reading of them still selects the resource."""
    item = api("tmf622-v4")
    query = (
        "relatedParty.name=Impianti+Roma+Sud+srl&externalId=OLO-ORD-2025-00471%31&fields=id%2Cstate"
    )
    created = await create(env, item)
    async with env.http.get(URL(env.oss(item.collection) + "?" + query, encoded=True)) as resp:
        assert resp.status == 200
        assert [entry["id"] for entry in await resp.json()] == [created["id"]]
    got = (await env.sandbox.received())[-1]
    assert got.query_string == query


async def test_head_relays_the_incumbents_content_length(env: Env) -> None:
    """A HEAD answer through the proxy declares the same Content-Length as the incumbent's."""
    path = api("tmf622-v4").collection
    async with env.http.head(env.sandbox.url + path) as direct:
        declared = direct.headers.get("Content-Length")
    assert declared is not None
    async with env.http.head(env.oss(path)) as proxied:
        assert proxied.status == 200
        assert proxied.headers.get("Content-Length") == declared


async def test_merge_patch_is_forwarded_and_applied(env: Env) -> None:
    """A merge-patch+json PATCH reaches the sandbox byte for byte with its media type, and the
    patched resource comes back."""
    item = api("tmf622-v4")
    created = await create(env, item)
    patch = pii_free_tmf("tmf622_v4_merge_patch.json")
    async with env.http.patch(
        env.oss(local(created["href"])),
        data=patch,
        headers={"Content-Type": "application/merge-patch+json"},
    ) as resp:
        assert resp.status == 200
        patched = await resp.json()
    assert patched["notificationContact"] == json.loads(patch)["notificationContact"]
    assert "description" not in patched
    got = (await env.sandbox.received())[-1]
    assert (got.method, got.body) == ("PATCH", patch)
    assert got.headers["Content-Type"] == "application/merge-patch+json"


async def test_json_patch_is_forwarded_and_applied(env: Env) -> None:
    """A json-patch+json PATCH reaches the sandbox byte for byte with its media type, and the
    patched resource comes back."""
    item = api("tmf621-v5")
    created = await create(env, item)
    patch = pii_free_tmf("tmf621_v5_json_patch_note.json")
    async with env.http.patch(
        env.oss(local(created["href"])),
        data=patch,
        headers={"Content-Type": "application/json-patch+json"},
    ) as resp:
        assert resp.status == 200
        patched = await resp.json()
    assert patched["severity"] == "Major"
    assert patched["note"][-1]["text"] == json.loads(patch)[0]["value"]["text"]
    got = (await env.sandbox.received())[-1]
    assert (got.method, got.body) == ("PATCH", patch)
    assert got.headers["Content-Type"] == "application/json-patch+json"


@EACH_API
async def test_delete_is_answered_204(env: Env, api: Api) -> None:
    """DELETE through the proxy removes the resource: 204, and a later GET is the sandbox's 404."""
    created = await create(env, api)
    async with env.http.delete(env.oss(local(created["href"]))) as resp:
        assert resp.status == 204
        assert await resp.read() == b""
    async with env.http.get(env.oss(local(created["href"]))) as resp:
        assert resp.status == 404
        assert ERROR_HEADER not in resp.headers


async def direct_and_proxied(
    env: Env, method: str, path: str, body: bytes | None, content_type: str | None
) -> tuple[tuple[int, str, bytes], tuple[int, str, bytes], bool]:
    """The same request sent to the sandbox and through the proxy: (status, type, body) of
    each, and whether the proxied answer carries civetta's error header."""
    headers = {"Content-Type": content_type} if content_type else {}
    answers = []
    for base in (env.sandbox.url, env.proxy.oss_url):
        async with env.http.request(method, base + path, data=body, headers=headers) as resp:
            answers.append((resp.status, resp.headers["Content-Type"], await resp.read()))
            from_civetta = ERROR_HEADER in resp.headers
    return answers[0], answers[1], from_civetta


@EACH_API
async def test_sandbox_400_for_an_invalid_body_is_relayed_unchanged(env: Env, api: Api) -> None:
    """A body that parses but fails the API's schema gets the sandbox's own 400 TMF Error, byte
    for byte, with no civetta error header."""
    invalid = b'{"description": "no items, no parties"}'
    direct, proxied, civetta = await direct_and_proxied(
        env, "POST", api.collection, invalid, JSON_UTF8
    )
    assert direct[0] == 400
    assert json.loads(direct[2])["@type"] == "Error"
    assert proxied == direct
    assert not civetta


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_sandbox_404_is_relayed_unchanged(env: Env, method: str) -> None:
    """An unknown resource id gets the sandbox's own 404 TMF Error, byte for byte."""
    path = api("tmf621-v4").collection + "/no-such-id"
    body, ctype = (b"{}", "application/merge-patch+json") if method == "PATCH" else (None, None)
    direct, proxied, civetta = await direct_and_proxied(env, method, path, body, ctype)
    assert direct[0] == 404
    assert proxied == direct
    assert not civetta


@EACH_API
async def test_hub_registration_is_rewritten_and_events_reach_the_oss_through_the_proxy(
    env: Env, api: Api
) -> None:
    """The OSS registers its own listener as callback through the proxy: the sandbox is given
    civetta's callback (``{incumbent public URL}/_civetta/hub/<32 hex>``), the OSS gets its own
    callback back in the 201, and the sandbox's events reach the OSS listener through civetta
    (``/listener/{eventName}``) byte for byte as a direct subscriber gets them, with the
    listener's 201/204 going back to the sandbox."""
    async with env.http.post(
        env.oss(api.base + "/hub"), json={"callback": env.listener_url}
    ) as resp:
        assert resp.status == 201
        location = resp.headers["Location"]
        registered = await resp.json()
    assert location.startswith(f"{env.sandbox.url}{api.base}/hub/")
    assert registered["callback"] == env.listener_url
    [sent] = await env.sandbox.received()
    given = json.loads(sent.body)["callback"]
    assert env.proxy.state.config.incumbent.public_url == env.proxy.incumbent_url
    assert re.fullmatch(re.escape(env.incumbent(HUB_PREFIX)) + "[0-9a-f]{32}", given)
    # The incumbent keeps civetta's callback (asked directly, not through the proxy).
    async with env.http.get(env.sandbox.url + local(location)) as resp:
        assert (await resp.json())["callback"] == given
    direct_callback = env.listener_url + "/direct"
    async with env.http.post(
        env.sandbox.url + api.base + "/hub", json={"callback": direct_callback}
    ) as resp:
        assert resp.status == 201
    created = await create(env, api, **{"X-Request-ID": "oss-corr-7"})
    proxied = await env.listener.wait_for("/listener/", 2)
    direct = await env.listener.wait_for("/direct/listener/", 2)
    resource = api.collection.rsplit("/", 1)[1]
    assert [s.path for s in proxied] == [
        f"/listener/{resource}CreateEvent",
        f"/listener/{resource}{'StateChange' if api.status_field == 'state' else 'StatusChange'}Event",
    ]
    assert [s.path for s in direct] == ["/direct" + s.path for s in proxied]
    for through_proxy, straight in zip(proxied, direct, strict=True):
        assert through_proxy.body == straight.body
        assert through_proxy.headers["Content-Type"] == straight.headers["Content-Type"]
        event = json.loads(through_proxy.body)
        assert event["event"][resource]["id"] == created["id"]
        assert event["correlationId"] == "oss-corr-7"
    # The sandbox logs a delivery once it has read the answer, just after the listener saw it.
    deliveries = await poll(env.sandbox.deliveries, lambda d: len(d) == 4, "4 deliveries")
    relayed = [
        (d["url"], d["status"]) for d in deliveries if not d["url"].startswith(direct_callback)
    ]
    assert relayed == [
        (given + s.path, OssListener.tmf_status(s.path.rsplit("/", 1)[1])) for s in proxied
    ]
    assert {status for _, status in relayed} == {201, 204}


async def test_gzip_request_body_is_accepted_and_forwarded(env: Env) -> None:
    """A gzip-encoded create is understood by the proxy and reaches the sandbox still gzip-encoded,
    which creates the resource."""
    item = api("tmf641-v4")
    packed = gzip.compress(item.body, mtime=0)
    async with env.http.post(
        env.oss(item.collection),
        data=packed,
        headers={"Content-Type": JSON_UTF8, "Content-Encoding": "gzip"},
    ) as resp:
        assert resp.status == 201
    [got] = await env.sandbox.received()
    assert got.headers["Content-Encoding"] == "gzip"
    assert got.headers["Content-Length"] == str(len(packed))
    assert got.body == item.body  # the sandbox's server inflates it, as an incumbent would


async def test_gzip_bomb_is_a_413_before_the_sandbox(env: Env) -> None:
    """A small gzip body that inflates past the body limit is refused with civetta's 413 and
    never forwarded."""
    limit = env.proxy.state.config.limits.max_body_bytes
    bomb = gzip.compress(b'{"note": "' + b" " * limit + b'"}', mtime=0)
    assert len(bomb) < limit // 100
    async with env.http.post(
        env.oss(api("tmf622-v4").collection),
        data=bomb,
        headers={"Content-Type": JSON_UTF8, "Content-Encoding": "gzip"},
    ) as resp:
        await civetta_error(resp, 413, "CIVETTA-TOO-LARGE")
    assert await env.sandbox.received() == []


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [(JSON_UTF8, "br"), ("application/xml", None), ("text/plain", None)],
    ids=["brotli", "xml", "text"],
)
async def test_unknown_media_type_or_coding_is_a_415_before_the_sandbox(
    env: Env, content_type: str, encoding: str | None
) -> None:
    """A content coding civetta cannot undo, or a body that is not JSON, on a TMF route is
    refused with 415 and never forwarded."""
    headers = {"Content-Type": content_type}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    item = api("tmf622-v4")
    async with env.http.post(env.oss(item.collection), data=item.body, headers=headers) as resp:
        await civetta_error(resp, 415, "CIVETTA-MEDIA")
    assert await env.sandbox.received() == []


@pytest.mark.parametrize(
    ("sent", "expected"),
    [("oss-req-42", "oss-req-42"), (None, None), ("mario.rossi@example.it", None)],
    ids=["plain-token", "absent", "unsafe"],
)
async def test_request_id_is_propagated_to_the_sandbox_and_back(
    env: Env, sent: str | None, expected: str | None
) -> None:
    """X-Request-ID: a plain token is propagated; a missing or unsafe one is replaced by a fresh
    id; either way the sandbox and the OSS see the same id."""
    headers = {"X-Request-ID": sent} if sent is not None else {}
    async with env.http.get(env.oss(api("tmf622-v5").collection), headers=headers) as resp:
        assert resp.status == 200
        returned = resp.headers["X-Request-ID"]
    [got] = await env.sandbox.received()
    assert got.headers.getall("X-Request-ID") == [returned]
    if expected is not None:
        assert returned == expected
    else:
        assert returned != sent
        assert len(returned) >= 16


@pytest.mark.parametrize(
    "body",
    [b'{"externalId": "OLO-1", "note": [', b'{"externalId": "OLO-1", "externalId": "OLO-2"}'],
    ids=["malformed", "duplicate-keys"],
)
async def test_unparseable_json_is_refused_before_the_sandbox(env: Env, body: bytes) -> None:
    """Malformed JSON and duplicate keys get civetta's 400 TMF Error naming no value, and the
    sandbox receives nothing."""
    async with env.http.post(
        env.oss(api("tmf622-v4").collection), data=body, headers={"Content-Type": JSON_UTF8}
    ) as resp:
        error = await civetta_error(resp, 400, "CIVETTA-BAD-BODY")
    assert "OLO-" not in json.dumps(error)
    assert await env.sandbox.received() == []


@pytest.mark.parametrize(
    ("listener", "path"),
    [("oss", "/tmf-api/partyManagement/v4/individual"), ("incumbent", "/hub/unknown")],
)
async def test_unknown_path_is_a_404_civetta_error(env: Env, listener: str, path: str) -> None:
    """A path no route covers gets civetta's 404 TMF Error on either listener; nothing is
    forwarded."""
    base = env.proxy.oss_url if listener == "oss" else env.proxy.incumbent_url
    async with env.http.post(base + path, json={"x": 1}) as resp:
        await civetta_error(resp, 404, "CIVETTA-NO-ROUTE")
    assert await env.sandbox.received() == []
    assert env.listener.seen == []
