"""Hop-by-hop headers are dropped; request ids are propagated only when safe."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.headers import end_to_end, request_id_of


def test_hop_by_hop_and_connection_named_headers_are_dropped() -> None:
    """Connection, Keep-Alive, TE, Host, Content-Length and headers named in Connection go."""
    h = CIMultiDict(
        [
            ("Connection", "keep-alive, X-Hop"),
            ("Keep-Alive", "5"),
            ("X-Hop", "1"),
            ("Host", "a"),
            ("Content-Length", "3"),
            ("TE", "trailers"),
            ("SOAPAction", '"urn:x"'),
            ("X-Custom", "v"),
            ("X-Custom", "w"),
        ]
    )
    out = end_to_end(h)
    assert list(out.items()) == [("SOAPAction", '"urn:x"'), ("X-Custom", "v"), ("X-Custom", "w")]


def test_plain_request_id_is_kept() -> None:
    """A token-like X-Request-ID passes through unchanged."""
    assert (
        request_id_of(CIMultiDictProxy(CIMultiDict({"X-Request-ID": "abc-123_x.y"})))
        == "abc-123_x.y"
    )


def test_request_id_that_could_carry_data_is_replaced() -> None:
    """An id with spaces or an e-mail-like shape is replaced by a fresh one."""
    for bad in ("mario rossi", "mario@example.it", "x" * 200, ""):
        got = request_id_of(CIMultiDictProxy(CIMultiDict({"X-Request-ID": bad})))
        assert got != bad and len(got) == 32


def test_missing_request_id_is_generated_uniquely() -> None:
    """Each request without an id gets a different one."""
    empty: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
    assert request_id_of(empty) != request_id_of(empty)


def test_uuid_request_ids_are_kept_and_phone_ids_still_replaced() -> None:
    """Canonical UUIDs (with or without dashes) pass unchanged; a phone-number id does not."""
    for uuid_id in ("550e8400-e29b-41d4-a716-446655440000", "0a139b2e43ab4295872c3654e07b5368"):
        assert request_id_of(CIMultiDictProxy(CIMultiDict({"X-Request-ID": uuid_id}))) == uuid_id
    for personal in ("+393471234567", "RSSMRA80A01H501U"):
        assert request_id_of(CIMultiDictProxy(CIMultiDict({"X-Request-ID": personal}))) != personal
