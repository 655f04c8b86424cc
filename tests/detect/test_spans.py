"""Tests for proxy.detect.spans: merging detections and the spans that are not contact data."""

from __future__ import annotations

from proxy.detect.chains import chains
from proxy.detect.spans import Match, merge, protected


def _protected(text: str) -> list[str]:
    # Protected spans found from every chain of ``text``, longest first (later chains of a
    # date-time see its tail again: "01:00" of "+01:00" is a time too).
    spans = {text[s:e] for chain in chains(text) for s, e in protected(text, chain.groups)}
    return sorted(spans, key=len, reverse=True)


def test_merge_joins_overlaps_and_keeps_the_most_specific_kind() -> None:
    """Overlapping detections become one span whose kind has the highest priority."""
    merged = merge(
        [
            Match(10, 20, "phone", "+39…"),
            Match(0, 3, "email", "a"),
            Match(12, 24, "partita_iva", "0…"),
        ]
    )
    assert merged == [Match(0, 3, "email", "a"), Match(10, 24, "partita_iva", "0…")]


def test_merge_keeps_touching_spans_apart() -> None:
    """Spans that only touch are two findings."""
    assert len(merge([Match(0, 3, "phone", "a"), Match(3, 6, "phone", "b")])) == 2


def test_dates_times_and_addresses_are_protected() -> None:
    """Dates, times, date-times, IPv4 addresses and UUIDs are recognised at their first group."""
    assert _protected("il 12/03/2026") == ["12/03/2026"]
    assert _protected("alle 08:00-13:00")[0] == "08:00-13:00"
    assert _protected("2026-03-12T10:15:00+01:00")[0] == "2026-03-12T10:15:00+01:00"
    assert _protected("host 192.168.100.200") == ["192.168.100.200"]
    uuid = "12345678-1234-1234-1234-123456789012"
    assert _protected(uuid) == [uuid]


def test_measurements_and_amounts_are_protected() -> None:
    """Numbers with units (dBm, Mbps, %) and amounts in euro are not phone digits."""
    assert _protected("1000/300 Mbps") == ["1000/300 Mbps"]
    assert _protected("€ 1.234.567,89") == ["1.234.567,89"]


def test_phone_shapes_are_not_protected() -> None:
    """Dotted phone numbers are neither IP addresses (347 > 255, 06 has a leading zero) nor times."""
    assert _protected("347.123.45.67") == []
    assert _protected("06.12.34.56.78") == []


def test_iban_head_and_code_labels_protect_what_follows() -> None:
    """The groups after an IBAN's head, and a bare number after NetMap/ISTAT, are protected."""
    assert _protected("IT60 X054 2811 1010 0000 0123 456") == ["2811 1010 0000 0123 456"]
    assert _protected("idCivicoNetMap: 0612345678") == ["0612345678"]
    assert _protected("pratica n. 0612345678") == ["0612345678"]


def test_labels_do_not_protect_a_spelt_out_number() -> None:
    """Only a bare number after a label is exempt: "NetMap 06 1234 5678" is still a phone."""
    assert _protected("NetMap 06 1234 5678") == []
