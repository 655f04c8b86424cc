"""Tests for proxy.minimise: steps 3 to 6 with the shipped policies, guard and scrubber together.

The property tests of ``tests/policy/test_planted_properties.py`` plant values everywhere; these
pin down how the egress guard and the scrub rules share work: the guard skips only the texts the
real scrubber found clean, and still reads every other string of the final message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from proxy.config import Limits, Protocol
from proxy.detect import Scrubber
from proxy.engine import Keys
from proxy.errors import LeakBlocked
from proxy.message import Message, parse_message
from proxy.minimise import Minimiser, minimise_request
from proxy.partners import load_partners
from proxy.policy.load import load_policies
from proxy.testing import route

REPO = Path(__file__).resolve().parents[1]
ORDER = REPO / "tests" / "fixtures" / "tmf" / "tmf622_v4_order.json"
PATH = "/tmf-api/productOrderingManagement/v4/productOrder"
HEADERS = {"X-Partner-Id": "installer-roma-01"}
PHONE = "347 765 4321"


def _minimiser(scrubber: Scrubber | None = None) -> Minimiser:
    return Minimiser(
        load_policies(REPO / "policies"),
        load_partners(REPO / "policies" / "partners.yaml"),
        Keys(commit=b"c" * 32, token=b"t" * 32, hash=b"h" * 32),
        scrubber=scrubber if scrubber is not None else Scrubber(),
    )


def _message(document: Any) -> Message:
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    wire = json.dumps(document, ensure_ascii=False).encode()
    parsed = parse_message(
        route("r", "/tmf-api/", "http://127.0.0.1:9", protocol=Protocol.REST),
        "POST",
        headers,
        wire,
        Limits(),
    )
    assert parsed is not None
    return parsed


def _order() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(ORDER.read_text("utf-8"))
    return document


class _Blind(Scrubber):
    """A substitute scrubber that finds nothing: the guard must not take its word."""

    def scrub(self, text: str, known: Sequence[str], allowed: Sequence[str]) -> tuple[str, int]:
        return text, 0


class _Lazy(Scrubber):
    """A scrubber that reports a hit but leaves the text as it was."""

    def scrub(self, text: str, known: Sequence[str], allowed: Sequence[str]) -> tuple[str, int]:
        found = super().scrub(text, known, allowed)
        return text, found[1]


def test_a_clean_order_leaves_with_its_notes_scrubbed() -> None:
    """The fixture order passes the guard: the notes the rules scrubbed carry no number."""
    result = minimise_request(_minimiser(), "POST", PATH, "", HEADERS, _message(_order()))
    notes = [note["text"] for note in json.loads(result.outgoing)["note"]]
    assert notes == [
        "Cliente disponibile solo il pomeriggio: richiamare il cliente al [rimosso] dopo le 18",
        # The landline is the number to port, kept elsewhere in the order: allowed.
        "Citofono guasto, chiedere della signora [rimosso]; in alternativa fisso 06/4567.8901",
    ]


def test_a_leak_where_no_rule_looks_is_blocked_beside_clean_notes() -> None:
    """Skipping the scrubbed notes does not blind the guard to the rest of the message."""
    order = _order()
    order["x-extension"] = {"callback": f"chiamare {PHONE}"}
    with pytest.raises(LeakBlocked) as raised:
        minimise_request(_minimiser(), "POST", PATH, "", HEADERS, _message(order))
    assert raised.value.paths == ("$.x-extension.callback",)


def test_the_guard_does_not_trust_a_substitute_scrubber() -> None:
    """A scrubber other than the guard's own detectors saying 'clean' skips nothing."""
    order = _order()
    order["note"] = [{"text": f"richiamare al {PHONE}"}]
    with pytest.raises(LeakBlocked) as raised:
        minimise_request(_minimiser(_Blind()), "POST", PATH, "", HEADERS, _message(order))
    assert "$.note[0].text" in raised.value.paths


def test_a_text_the_scrubber_reported_is_read_again() -> None:
    """A text with hits is never taken as clean: the guard reads what actually leaves."""
    order = _order()
    order["note"] = [{"text": f"richiamare al {PHONE}"}]
    with pytest.raises(LeakBlocked) as raised:
        minimise_request(_minimiser(_Lazy()), "POST", PATH, "", HEADERS, _message(order))
    assert "$.note[0].text" in raised.value.paths


def test_a_personal_header_blocks_the_message() -> None:
    """A header that will be forwarded is scanned: a customer's phone there leaves nothing."""
    headers = {**HEADERS, "X-Callback-Contact": f"tel. {PHONE}", "User-Agent": "olo-oss/4.2"}
    with pytest.raises(LeakBlocked) as raised:
        minimise_request(_minimiser(), "POST", PATH, "", headers, _message(_order()))
    assert raised.value.paths == ("header:X-Callback-Contact",)
    assert PHONE not in str(raised.value)


def test_a_removed_value_in_a_header_is_found_in_any_spelling() -> None:
    """The customer's own e-mail, removed from the body, may not ride along in a header."""
    headers = {**HEADERS, "X-Notify": "MARIO.ROSSI80@EXAMPLE.COM"}
    with pytest.raises(LeakBlocked) as raised:
        minimise_request(_minimiser(), "POST", PATH, "", headers, _message(_order()))
    assert raised.value.paths == ("header:X-Notify",)


def test_ordinary_and_hop_by_hop_headers_pass() -> None:
    """Protocol headers, the partner's own contact and hop-by-hop fields do not block."""
    headers = {
        **HEADERS,
        "Accept": "application/json",
        "Date": "Mon, 07 Dec 2026 06:11:14 GMT",
        "X-Correlation-ID": "OLO-2025-0000481516",
        "X-Partner-Contact": "+39 06 9480 1234",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": f"tel {PHONE}",
        "X-Request-ID": PHONE,
    }
    result = minimise_request(_minimiser(), "POST", PATH, "", headers, _message(_order()))
    assert result.outgoing


def test_a_bodyless_request_has_its_headers_scanned_too() -> None:
    """A GET carries data only in its target and headers: both are guarded."""
    with pytest.raises(LeakBlocked) as raised:
        minimise_request(_minimiser(), "GET", PATH, "", {"X-Who": f"cell {PHONE}"}, None)
    assert raised.value.paths == ("header:X-Who",)


def test_a_header_name_that_is_data_is_named_by_position() -> None:
    """The refusal names a personal header name by position, never the name itself."""
    headers = {**HEADERS, "X-RSSMRA80A01H501U": "1"}
    with pytest.raises(LeakBlocked) as raised:
        minimise_request(_minimiser(), "POST", PATH, "", headers, _message(_order()))
    assert raised.value.paths == ("header#1",)
    assert "RSSMRA80A01H501U" not in str(raised.value)
