"""Decoys end to end against the sandbox incumbent (issue 5, "How it is checked").

Two TMF622 v4 orders and a merge-patch of the first go through the real proxy to the sandbox,
with the shipped policies changed in one place only: the contact media's phone and e-mail are
``alias`` (a decoy per order) instead of the partner's contact. The sandbox's notifications,
which carry the whole order and so the decoy, come back through civetta's hub rewriting to the
OSS listener. A retail call on order 1's decoy is reported through ``POST /v1/contacts``; then
the proxy stops, and the compliance side runs as an operator would: ``civetta trace``,
``civetta evidence`` and ``civetta audit verify-bundle`` as processes on the SQLite store the
proxy left on disk, from the same YAML configuration the proxy ran.

The scenario runs once per module (:func:`world`); each test checks one behaviour of it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from proxy.config import Config, load_config
from proxy.decoys.callers import parse_expected
from proxy.decoys.settings import DecoySettings, PhoneRange
from proxy.storage import open_store
from proxy.testing import started_app, started_proxy, started_sandbox
from tests.e2e.conftest import (
    PARTNER,
    SHIPPED_POLICIES,
    WAIT_S,
    OssListener,
    Sandbox,
    free_port,
    poll,
    read_fixture,
)

#: The console script installed next to this interpreter (``.venv/bin/civetta``).
CIVETTA = str(Path(sys.executable).with_name("civetta"))
BASE = "/tmf-api/productOrderingManagement/v4"
COLLECTION = BASE + "/productOrder"
TMF622_POLICY = "tmf622-product-order.yaml"
#: The decoy pools: ten DIDs and an alias domain; one operational number of the incumbent.
FIRST_DID, LAST_DID = 390299990000, 390299990009
ALIAS_DOMAIN = "alias.olo.example.it"
EXPECTED = "+390612345678"
#: A retail caller: not an operational number of the incumbent.
RETAIL = "+393479990000"
ORDER_1, ORDER_2 = "OLO-ORD-2026-000101", "OLO-ORD-2026-000102"
#: The X-Request-ID of each message the OSS sends (order 1: the create, then the patch).
REQUEST_IDS = {ORDER_1: ("oss-ord1-create", "oss-ord1-patch"), ORDER_2: ("oss-ord2-create",)}
HUB_REQUEST_ID = "oss-hub-1"
#: The notifications the sandbox sends: per order a create and a state change (acknowledged to
#: inProgress), and an attribute value change for order 1's patch.
EVENTS = 5
ORDER_EVENTS = {
    ORDER_1: [
        "productOrderAttributeValueChangeEvent",
        "productOrderCreateEvent",
        "productOrderStateChangeEvent",
    ],
    ORDER_2: ["productOrderCreateEvent", "productOrderStateChangeEvent"],
}

#: The end customer's values in the fixtures, each as a pattern that matches any usual
#: spelling (digits of a number separated by spaces, dots, slashes or dashes, in any case).
_SEP = r"[\s./\-()]*"


def _digits(national: str) -> str:
    return _SEP.join(national)


CUSTOMER_NAME = r"mario\s+rossi"
CUSTOMER_MOBILE = _digits("3471234567")
CUSTOMER_VALUES = {
    "name": CUSTOMER_NAME,
    "mobile": CUSTOMER_MOBILE,
    "fixed line": _digits("0645678901"),
    "neighbour's phone": _digits("0645678902"),
    "patch phone": _digits("3287654321"),
    "e-mail": re.escape("mario.rossi80@example.com"),
    "patch e-mail": re.escape("mario.rossi.lavoro@example.com"),
    "codice fiscale": "RSSMRA80A01H501U",
}
#: What the forwarded bytes (openings) must not hold either. The fixed line is left out on
#: purpose: it is also ``numeroDaPortare``, the number to port, which the shipped policy keeps.
CUSTOMER_IN_OPENINGS = {k: v for k, v in CUSTOMER_VALUES.items() if k != "fixed line"}


def _found(pattern: str, data: bytes) -> bool:
    return re.search(pattern, data.decode("latin-1"), re.IGNORECASE) is not None


# --- Set-up -------------------------------------------------------------------------------


def _alias_policies(target: Path) -> Path:
    """The shipped policies in ``target``, TMF622's contact phone and e-mail rules as ``alias``."""
    target.mkdir()
    for source in SHIPPED_POLICIES.glob("*.yaml"):
        shutil.copy(source, target / source.name)
    path = target / TMF622_POLICY
    document = yaml.safe_load(path.read_text("utf-8"))
    changed = []
    for policy in document["policies"]:
        for rule in policy["rules"]:
            if rule["id"] in ("phone", "email") and rule["action"] == "replace":
                assert rule["with"] == f"partner.{rule['id']}", rule
                del rule["with"]
                rule.update(action="alias", kind=rule["id"])
                changed.append((policy["name"], rule["id"]))
    assert changed == [
        ("tmf622-v4-product-order", "phone"),
        ("tmf622-v4-product-order", "email"),
        ("tmf622-v5-product-order", "phone"),
        ("tmf622-v5-product-order", "email"),
    ]
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return target


CONFIG = """\
listeners:
  oss: {{host: 127.0.0.1, port: {oss}}}
  incumbent: {{host: 127.0.0.1, port: {incumbent}, public_url: "http://127.0.0.1:{incumbent}"}}
  admin: {{host: 127.0.0.1, port: {admin}}}
routes:
  - name: tmf622-v4
    direction: outbound
    protocol: rest
    path_prefix: {base}/
    upstream: {sandbox}
    timeouts: {{connect_s: 2, total_s: 5}}
  - name: tmf-listener
    direction: inbound
    protocol: rest
    path_prefix: /listener/
    methods: [POST]
    upstream: {listener}
    timeouts: {{connect_s: 2, total_s: 5}}
minimisation:
  policies_dir: {policies}
  partners_file: {partners}
decoys:
  phone_ranges:
    - {{from: "+{first}", to: "+{last}"}}
  email_domain: {domain}
  expected_callers: ["{expected}"]
storage:
  url: sqlite:///civetta.db
keys:
  dir: keys
  generate: true
logging:
  level: warning
  format: json
shutdown_timeout_s: 2
"""


def _write_config(root: Path, sandbox: str, listener: str, policies: Path) -> Path:
    """The YAML configuration both the proxy and the CLI run (store and keys under ``root``)."""
    path = root / "civetta.yaml"
    path.write_text(
        CONFIG.format(
            oss=free_port(),
            incumbent=free_port(),
            admin=free_port(),
            base=BASE,
            sandbox=sandbox,
            listener=listener,
            policies=policies,
            partners=policies / "partners.yaml",
            first=FIRST_DID,
            last=LAST_DID,
            domain=ALIAS_DOMAIN,
            expected=EXPECTED,
        ),
        "utf-8",
    )
    return path


def _order(external_id: str) -> dict[str, Any]:
    """The TMF622 v4 fixture (the customer's real data) under another ``externalId``."""
    order: dict[str, Any] = json.loads(read_fixture("tmf", "tmf622_v4_order.json"))
    order["externalId"] = external_id
    return order


def _patch(order: dict[str, Any]) -> dict[str, Any]:
    """A merge-patch of ``order``: the fixture's patch, plus the order reference (which the
    policy correlates on) and the order item again, so that the customer's contacts are in it."""
    patch: dict[str, Any] = json.loads(read_fixture("tmf", "tmf622_v4_merge_patch.json"))
    patch["externalId"] = order["externalId"]
    patch["productOrderItem"] = copy.deepcopy(order["productOrderItem"])
    return patch


def _contacts(document: dict[str, Any]) -> tuple[str, str]:
    """``(phone, e-mail)`` of the line holder's contact media in an order or a patch."""
    media = document["productOrderItem"][0]["product"]["relatedParty"][0]["contactMedium"]
    phone = media[0]["characteristic"]["phoneNumber"]
    email = media[1]["characteristic"]["emailAddress"]
    assert isinstance(phone, str) and isinstance(email, str)
    return phone, email


# --- The scenario -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """A notification the OSS listener received through civetta."""

    path: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class World:
    """What the scenario observed while the proxy ran, and where it left its files."""

    root: Path
    config_file: Path
    config: Config
    #: The OSS's own listener (the callback it registered).
    listener_url: str
    #: request id -> ``(phone, e-mail)`` the sandbox received in that message.
    forwarded: dict[str, tuple[str, str]]
    #: request id -> HTTP status the OSS got.
    statuses: dict[str, int]
    #: decoy -> the routing directory's answer (``GET /v1/decoys/{decoy}``).
    routed: dict[str, dict[str, Any]]
    #: The hub registration's answer to the OSS.
    hub: dict[str, Any]
    #: The callback the sandbox was given (civetta's own).
    given_callback: str
    events: tuple[Event, ...]
    #: The sandbox's log of what it posted and the status it got back.
    deliveries: tuple[dict[str, Any], ...]
    #: classification asked for -> ``POST /v1/contacts`` answer.
    contacts: dict[str, dict[str, Any]]

    def decoys(self, order: str) -> tuple[str, str]:
        """``(phone, e-mail)`` decoy of an order, from its create."""
        return self.forwarded[REQUEST_IDS[order][0]]


async def _send(
    http: aiohttp.ClientSession, method: str, url: str, body: Any, request_id: str, ctype: str
) -> tuple[int, Any]:
    async with http.request(
        method,
        url,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": ctype,
            "X-Partner-Id": PARTNER.id,
            "X-Request-ID": request_id,
        },
    ) as resp:
        return resp.status, await resp.json()


async def _scenario(root: Path) -> World:
    policies = _alias_policies(root / "policies")
    listener = OssListener()
    async with AsyncExitStack() as stack:
        sandbox_url, _ = await stack.enter_async_context(started_sandbox(notify_delay_s=0.02))
        listener_url = await stack.enter_async_context(started_app(listener.app))
        config_file = _write_config(root, sandbox_url, listener_url, policies)
        cfg = load_config(config_file)
        proxy = await stack.enter_async_context(started_proxy(cfg, open_store(cfg.storage_url)))
        http = await stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S))
        )
        sandbox = Sandbox(sandbox_url, http)
        status, hub = await _send(
            http,
            "POST",
            proxy.oss_url + BASE + "/hub",
            {"callback": listener_url},
            HUB_REQUEST_ID,
            "application/json",
        )
        assert status == 201, hub
        statuses: dict[str, int] = {}
        orders = {ref: _order(ref) for ref in (ORDER_1, ORDER_2)}
        created: dict[str, dict[str, Any]] = {}
        for ref, order in orders.items():
            rid = REQUEST_IDS[ref][0]
            statuses[rid], created[ref] = await _send(
                http, "POST", proxy.oss_url + COLLECTION, order, rid, "application/json"
            )
            assert statuses[rid] == 201, created[ref]
        rid = REQUEST_IDS[ORDER_1][1]
        statuses[rid], patched = await _send(
            http,
            "PATCH",
            f"{proxy.oss_url}{COLLECTION}/{created[ORDER_1]['id']}",
            _patch(orders[ORDER_1]),
            rid,
            "application/merge-patch+json",
        )
        assert statuses[rid] == 200, patched
        received = await sandbox.received()
        given = json.loads(received[0].body)["callback"]
        forwarded = {
            r.headers["X-Request-ID"]: _contacts(json.loads(r.body))
            for r in received
            if r.path.startswith(COLLECTION)
        }
        routed: dict[str, dict[str, Any]] = {}
        for decoy in {d for pair in forwarded.values() for d in pair}:
            async with http.get(f"{proxy.admin_url}/v1/decoys/{decoy}") as resp:
                routed[decoy] = {"status": resp.status, **(await resp.json())}
        # Create and state change of each order, and the patch's attribute value change.
        await listener.wait_for("/listener/", EVENTS)
        deliveries = await poll(
            sandbox.deliveries,
            lambda found: len(found) >= EVENTS and all(d["status"] for d in found),
            f"{EVENTS} deliveries acknowledged",
        )
        contacts: dict[str, dict[str, Any]] = {}
        for classification, caller in (("suspicious", RETAIL), ("expected", EXPECTED)):
            async with http.post(
                f"{proxy.admin_url}/v1/contacts",
                json={
                    "decoy": forwarded[REQUEST_IDS[ORDER_1][0]][0],
                    "caller": caller,
                    "channel": "call",
                    "time": datetime.now(UTC).isoformat(),
                },
            ) as resp:
                assert resp.status == 201, await resp.text()
                contacts[classification] = await resp.json()
        events = tuple(
            Event(seen.path, json.loads(seen.body)) for seen in listener.under("/listener/")
        )
    # The proxy stopped: the store stays on disk for the CLI.
    return World(
        root,
        config_file,
        cfg,
        listener_url,
        forwarded,
        statuses,
        routed,
        hub,
        given,
        events,
        tuple(deliveries),
        contacts,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The scenario, run once: proxy, sandbox and OSS listener started and stopped."""
    return asyncio.run(_scenario(tmp_path_factory.mktemp("decoys-sandbox")))


def _civetta(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``civetta ARGS`` (the config file's directory as working directory)."""
    return subprocess.run(
        [CIVETTA, *args],
        cwd=world.root,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(scope="module")
def pack(world: World) -> Path:
    """``civetta evidence --contact <order 1's phone decoy>``: the pack's directory."""
    out = world.root / "pack"
    done = _civetta(
        world,
        "evidence",
        "--contact",
        world.decoys(ORDER_1)[0],
        "--out",
        str(out),
        "--config",
        str(world.config_file),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


# --- While the proxy ran ------------------------------------------------------------------


def test_the_configuration_is_the_one_asked_for(world: World) -> None:
    """The YAML the proxy and the CLI both ran holds the decoy pools of the test, a SQLite
    store and keys under the test's directory, and a public URL for hub rewriting."""
    assert world.config.decoys == DecoySettings(
        phone_ranges=(PhoneRange(FIRST_DID, LAST_DID),),
        email_domain=ALIAS_DOMAIN,
        expected_callers=tuple(e for e in [parse_expected(EXPECTED)] if e),
    )
    assert world.config.storage_url == f"sqlite:///{world.root / 'civetta.db'}"
    assert world.config.keys_dir == world.root / "keys"
    assert world.config.incumbent.public_url is not None
    assert (world.root / "civetta.db").is_file()


def test_each_order_gets_its_own_decoys_from_the_pools(world: World) -> None:
    """At the sandbox, each order's contact phone and e-mail are decoys from the pools (not the
    customer's, not the partner's), and the two orders have different decoys."""
    assert set(world.forwarded) == {rid for ids in REQUEST_IDS.values() for rid in ids}
    customer = _contacts(_order(ORDER_1))
    pairs = [world.decoys(ORDER_1), world.decoys(ORDER_2)]
    for phone, email in pairs:
        assert phone in PhoneRange(FIRST_DID, LAST_DID), phone
        assert re.fullmatch(r"o-[^@]+@" + re.escape(ALIAS_DOMAIN), email), email
        assert phone not in (customer[0], PARTNER.phone)
        assert email not in (customer[1], PARTNER.email)
    assert pairs[0][0] != pairs[1][0] and pairs[0][1] != pairs[1][1]


def test_the_patch_carries_the_same_decoys_as_its_create(world: World) -> None:
    """The merge-patch of order 1 reaches the sandbox with order 1's decoys, not new ones."""
    create, patch = REQUEST_IDS[ORDER_1]
    assert world.statuses[patch] == 200
    assert world.forwarded[patch] == world.forwarded[create]


def test_the_routing_directory_forwards_each_decoy_to_the_partner(world: World) -> None:
    """``GET /v1/decoys/{decoy}`` answers the partner's real phone for a phone decoy and its
    real e-mail for an e-mail decoy, for both orders."""
    assert len(world.routed) == 4
    for decoy, answer in world.routed.items():
        phone = decoy.startswith("+")
        assert answer["status"] == 200, answer
        assert answer["decoy"] == decoy
        assert answer["kind"] == ("phone" if phone else "email")
        assert answer["forward_to"] == (PARTNER.phone if phone else PARTNER.email)
        assert answer["partner"] == PARTNER.id
        assert answer["state"] == "active"


def test_the_sandbox_notifications_reach_the_oss_through_civetta(world: World) -> None:
    """The hub registration is rewritten to civetta's callback; the sandbox's create and
    state-change events of both orders, which carry the decoys, reach the OSS listener through
    civetta, decoys as they are, and the listener's answers go back to the sandbox."""
    assert world.hub["callback"] == world.listener_url
    public = world.config.incumbent.public_url
    assert public is not None and world.given_callback.startswith(public + "/_civetta/hub/")
    assert len(world.deliveries) == len(world.events) == EVENTS
    for delivery in world.deliveries:
        assert delivery["url"].startswith(world.given_callback + "/listener/")
        assert delivery["status"] == OssListener.tmf_status(delivery["url"].rsplit("/", 1)[1])
    by_order: dict[str, list[str]] = {}
    for event in world.events:
        order = event.body["event"]["productOrder"]
        by_order.setdefault(order["externalId"], []).append(event.path.rsplit("/", 1)[1])
        assert _contacts(order) == world.decoys(order["externalId"]), event.path
    assert {ref: sorted(names) for ref, names in by_order.items()} == ORDER_EVENTS


def test_a_retail_call_is_suspicious_and_an_operational_one_expected(world: World) -> None:
    """A call on order 1's phone decoy from an unknown number is suspicious; one from the
    incumbent's operational number, while the order is open, is expected."""
    suspicious, expected = world.contacts["suspicious"], world.contacts["expected"]
    assert (suspicious["classification"], suspicious["reason"]) == ("suspicious", "unknown_caller")
    assert (expected["classification"], expected["reason"]) == (
        "expected",
        "operational_caller_in_window",
    )
    phone_decoy = world.decoys(ORDER_1)[0]
    assert suspicious["decoy_id"] == expected["decoy_id"] == world.routed[phone_decoy]["decoy_id"]


# --- After the proxy stopped: the CLI on the store it left ---------------------------------


def test_trace_names_exactly_order_1s_messages_and_both_contacts(world: World) -> None:
    """``civetta trace --contact <decoy> --json`` finds order 1 only: its create and its patch
    (by the X-Request-ID the OSS sent), each carrying the decoy, and both contacts, with a
    proof for every entry."""
    decoy = world.decoys(ORDER_1)[0]
    done = _civetta(
        world, "trace", "--contact", decoy, "--json", "--config", str(world.config_file)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    trace = json.loads(done.stdout)
    (order,) = trace["orders"]
    assert [m["request_id"] for m in order["messages"]] == list(REQUEST_IDS[ORDER_1])
    decoy_id = world.routed[decoy]["decoy_id"]
    assert all(decoy_id in m["decoy_ids"] for m in order["messages"])
    assert [m["status"] for m in order["messages"]] == ["201", "200"]
    assert sorted(c["contact_id"] for c in order["contacts"]) == sorted(
        c["id"] for c in world.contacts.values()
    )
    assert {c["classification"] for c in order["contacts"]} == {"suspicious", "expected"}
    assert trace["unattributed"] == []
    assert set(trace["proofs"]) == {str(i) for i in trace["entries"]}


def test_the_evidence_pack_verifies_offline(world: World, pack: Path) -> None:
    """``civetta audit verify-bundle PACK --trust PACK/trust.txt`` exits 0, and so it does
    with the operator's own trust file (``civetta audit trust``), held apart from the pack."""
    own = world.root / "own-trust.txt"
    done = _civetta(world, "audit", "trust", "--out", str(own), "--config", str(world.config_file))
    assert done.returncode == 0, done.stdout + done.stderr
    for trust in (pack / "trust.txt", own):
        done = _civetta(world, "audit", "verify-bundle", str(pack), "--trust", str(trust))
        assert done.returncode == 0, done.stdout + done.stderr


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("which", "code"), [("report.html", 11), ("leaf", 11), ("manifest.json", 10)]
)
def test_one_flipped_byte_in_the_pack_is_caught(
    world: World, pack: Path, tmp_path: Path, which: str, code: int
) -> None:
    """One byte changed in report.html, in an audit entry or in manifest.json (each on a fresh
    copy of the pack) makes ``verify-bundle`` fail: 11 for a file not as the manifest lists it,
    10 for a manifest its signature no longer names (docs/compliance.md)."""
    copy_dir = tmp_path / "pack"
    shutil.copytree(pack, copy_dir)
    target = min((copy_dir / "leaves").glob("*.json")) if which == "leaf" else copy_dir / which
    _flip(target)
    done = _civetta(
        world, "audit", "verify-bundle", str(copy_dir), "--trust", str(pack / "trust.txt")
    )
    assert done.returncode == code, done.stdout + done.stderr


def test_the_customer_patterns_find_the_fixtures_values() -> None:
    """The patterns the pack is searched with find every spelling the fixtures use (so that
    their absence from the pack means something)."""
    sent = read_fixture("tmf", "tmf622_v4_order.json") + read_fixture(
        "tmf", "tmf622_v4_merge_patch.json"
    )
    for what, pattern in CUSTOMER_VALUES.items():
        assert _found(pattern, sent), what
    for spelling in ("+39 347 1234567", "347 123 4567", "347.123.45.67", "+393471234567"):
        assert _found(CUSTOMER_MOBILE, spelling.encode()), spelling


def _files(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path.relative_to(root), path.read_bytes()


def test_no_customer_value_is_in_the_pack_outside_the_openings(pack: Path) -> None:
    """Name, phones in any spelling, e-mails and codice fiscale of the customer appear in no
    file of the pack but the openings."""
    for name, data in _files(pack):
        if name.parts[0] == "openings":
            continue
        for what, pattern in CUSTOMER_VALUES.items():
            assert not _found(pattern, data), f"{what} in {name}"


def test_the_openings_hold_the_decoys_and_not_the_customers_contacts(
    world: World, pack: Path
) -> None:
    """The forwarded bytes of order 1's two messages hold its decoys and the partner's e-mail
    where the customer's contacts were, and none of the customer's name, mobile, e-mails or
    codice fiscale."""
    bodies = [data for name, data in _files(pack / "openings") if name.suffix == ".body"]
    assert len(bodies) == 2
    phone, email = world.decoys(ORDER_1)
    for body in bodies:
        assert phone.encode() in body and email.encode() in body
        assert PARTNER.email.encode() in body
        for what, pattern in CUSTOMER_IN_OPENINGS.items():
            assert not _found(pattern, body), what
