"""Tests for proxy.detect.egress: what the guard finds in final documents, and how it blocks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from proxy.detect import Finding, ValueSet, guard, scan_json, scan_query, scan_text, scan_xml
from proxy.detect.egress import MAX_PATHS
from proxy.errors import LeakBlocked
from proxy.formats.media import parse_media_type
from proxy.formats.soap import parse_soap
from tests.detect.strategies import phone_spellings

FIXTURE = Path(__file__).parent.parent / "fixtures" / "soap" / "activation_order_11.xml"
#: A number planted once per test: it must never appear in an error message.
MARKER = "3478901234"
MARKER_SPELLINGS = ("3478901234", "347 890 1234", "347.890.12.34")


def _xml(data: str | bytes) -> etree._ElementTree:
    # Tests parse with the same safety settings as proxy.formats (no DTD, no entities).
    raw = data.encode() if isinstance(data, str) else data
    parser = etree.XMLParser(resolve_entities=False, no_network=True, strip_cdata=False)
    return etree.fromstring(raw, parser=parser).getroottree()


def _blocked(findings: list[Finding]) -> str:
    with pytest.raises(LeakBlocked) as caught:
        guard(findings, "block")
    return str(caught.value)


ENVELOPE = """<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
            xmlns:o="http://wholesale.example.it/ordering/v1">
  <s:Header><h:header xmlns:h="http://wholesale.example.it/header/v1">
    <h:correlationId>fv-7f3c2a1e-5b7d-4e0a-9c61-2f8e4d1a0b93</h:correlationId>
  </h:header></s:Header>
  <s:Body><o:SubmitActivationOrder>
    <o:codiceMigrazione>TLC0287654321002K</o:codiceMigrazione>
    <o:referenti>
      <o:referente><o:telefono>+390245678900</o:telefono></o:referente>
      <o:referente><o:telefono>{second}</o:telefono></o:referente>
    </o:referenti>
    <o:note>{note}</o:note>
  </o:SubmitActivationOrder></s:Body>
</s:Envelope>"""
NOTE_PATH = "/Envelope/Body/SubmitActivationOrder/note"


def _envelope(note: str = "LED LOS rosso", second: str = "+390245678900") -> etree._ElementTree:
    return _xml(ENVELOPE.format(note=note, second=second))


PARTNER = ("+39 02 4567 8900", "TLC0287654321002K")


def test_clean_envelope_has_no_findings() -> None:
    """Partner contacts and the codice migrazione are allowed: nothing to report."""
    assert scan_xml(_envelope(), PARTNER, ()) == []


def test_phone_in_a_note_is_found_by_path_and_kind() -> None:
    """A number in free text is reported at its element's path, as a phone."""
    findings = scan_xml(_envelope(f"richiamare {MARKER}"), PARTNER, ())
    assert findings == [Finding(NOTE_PATH, "phone")]


def test_block_names_the_path_and_never_the_value() -> None:
    """The error names path and kind; no spelling of the planted number appears in it."""
    for spelling in MARKER_SPELLINGS:
        message = _blocked(scan_xml(_envelope(f"tel {spelling}"), PARTNER, ()))
        assert message == f"expected no personal data at {NOTE_PATH}, got phone"
        assert all(digits not in message for digits in MARKER_SPELLINGS)
        assert "8901234" not in message


def test_repeated_siblings_are_named_by_position() -> None:
    """The second ``referente`` is ``referente[2]``."""
    findings = scan_xml(_envelope(second=MARKER), PARTNER, ())
    assert findings == [
        Finding("/Envelope/Body/SubmitActivationOrder/referenti/referente[2]/telefono", "phone")
    ]


def test_cdata_split_mid_value_is_joined_before_scanning() -> None:
    """``<![CDATA[347 890]]><![CDATA[1234]]>`` is one number to the incumbent's parser."""
    note = "<![CDATA[tel 347 890]]><![CDATA[1234 ok]]>"
    assert scan_xml(_envelope(note), PARTNER, ()) == [Finding(NOTE_PATH, "phone")]


def test_character_references_are_decoded_in_text_and_inside_cdata() -> None:
    """References decoded by the parser, and a second layer kept literally in CDATA, both count."""
    parsed = "tel &#51;&#52;&#55;8901234"
    literal = "<![CDATA[tel &#51;&#52;&#55;8901234]]>"
    for note in (parsed, literal):
        assert scan_xml(_envelope(note), PARTNER, ()) == [Finding(NOTE_PATH, "phone")]


def test_attributes_comments_tails_and_instructions_are_scanned() -> None:
    """Data outside element text still travels in the bytes and is found there."""
    document = _xml(
        '<?pi mario@example.it?><r xmlns="urn:x"><a contatto="mario@example.it">x</a>'
        "<!-- CF RSSMRA80A01H501U --><b/>tel 3478901234</r>"
    )
    findings = scan_xml(document, (), ())
    assert set(findings) == {
        Finding("/processing-instruction()", "email"),
        Finding("/r/a/@contatto", "email"),
        Finding("/r/comment()", "codice_fiscale"),
        Finding("/r", "phone"),
    }


def test_envelope_objects_and_bare_elements_are_accepted() -> None:
    """A parsed ``SoapEnvelope`` (anything with ``.tree``) or an element scans like a tree."""

    @dataclass(frozen=True, slots=True)
    class Envelope:
        tree: etree._ElementTree

    tree = _envelope(MARKER)
    expected = [Finding(NOTE_PATH, "phone")]
    assert scan_xml(Envelope(tree), PARTNER, ()) == expected
    assert scan_xml(tree.getroot(), PARTNER, ()) == expected


def test_removed_values_are_found_in_any_spelling() -> None:
    """A value the policy removed, back in another spelling, is a ``removed_value``."""
    findings = scan_xml(
        _envelope("chiedere di GIULIA, tel. 347-890-1234"),
        PARTNER,
        (
            "Giulia Bianchi",
            "+393478901234",
        ),
    )
    assert findings == [Finding(NOTE_PATH, "removed_value")]


def test_fixture_order_reports_customer_data_and_spares_operational_values() -> None:
    """On the sample order, kept fields (allowed) pass and every customer field is named."""
    allowed = ValueSet.compile(["TLC0287654321002K", "0287654321", "+390245678900", "38501127734"])
    removed = ValueSet.compile(["Giulia Bianchi", "+393471234567", "BNCGLI85M52F205H"])
    findings = scan_xml(_xml(FIXTURE.read_bytes()), allowed, removed)
    base = "/Envelope/Body/SubmitActivationOrder"
    paths = {f.path.removeprefix(base) for f in findings}
    assert paths == {
        "/clienteFinale/personaFisica/nome",
        "/clienteFinale/personaFisica/cognome",
        "/clienteFinale/personaFisica/codiceFiscale",
        "/referenti/referente[1]/nominativo",
        "/referenti/referente[1]/telefono",
        "/referenti/referente[1]/email",
        "/referenti/referente[2]/telefono",
        "/note",
        "/estensioni/datiCommerciali/contattoAgente/cellulare",
        "/estensioni/datiCommerciali/contattoAgente/email",
        "/estensioni/datiCommerciali/recapitoCliente",
    }


def test_json_strings_numbers_and_nested_paths_are_scanned() -> None:
    """Strings and numbers at any depth are scanned, in document order; not booleans, nulls."""
    doc = {
        "note": [{"text": "ok"}, {"text": f"tel {MARKER}"}],
        "characteristic": [{"name": "recapito", "value": int(MARKER)}],
        "flag": True,
        "missing": None,
    }
    assert scan_json(doc, (), ()) == [
        Finding("$.note[1].text", "phone"),
        Finding("$.characteristic[0].value", "phone"),
    ]


def test_skipped_texts_are_not_scanned_and_the_others_still_are() -> None:
    """Texts the caller vouches for (found clean by the scrubber) are left out, only those."""
    doc = {"note": [{"text": f"tel {MARKER}"}, {"text": f"cell {MARKER}"}]}
    assert scan_json(doc, (), (), skip={f"tel {MARKER}"}) == [Finding("$.note[1].text", "phone")]
    xml = etree.fromstring(f"<a><b>tel {MARKER}</b><c>cell {MARKER}</c></a>")
    assert scan_xml(xml, (), (), skip={f"cell {MARKER}"}) == [Finding("/a/b", "phone")]


def test_json_keys_that_are_data_are_named_by_position() -> None:
    """A phone used as a map key is found, and the path names its position, not the key."""
    doc = {"contacts": {"ok": 1, MARKER: "cell"}}
    findings = scan_json(doc, (), ())
    assert findings == [Finding("$.contacts[key#1]", "phone")]
    assert MARKER not in _blocked(findings)


def test_json_patch_values_are_scanned_like_documents() -> None:
    """An op's ``value`` is a document of its own: a note added by PATCH is scanned."""
    patch = [{"op": "add", "path": "/note/-", "value": {"text": "mail Mario.Rossi@EXAMPLE.it"}}]
    assert scan_json(patch, (), ()) == [Finding("$[0].value.text", "email")]


def test_json_allowed_partner_and_decoy_values_pass() -> None:
    """The partner's number and the per-order decoy alias are allowed in any spelling."""
    doc = {
        "phoneNumber": "+39 02 4567 8900",
        "emailAddress": "Partner+ORD1@partner.example.it",
        "note": "tecnico: chiamare 02.4567.8900",
    }
    allowed = ("0245678900", "partner+ord1@partner.example.it")
    assert scan_json(doc, allowed, ()) == []


def test_query_parameters_are_scanned_after_percent_decoding() -> None:
    """List filters carry values in the query string; each parameter is its own path."""
    query = "relatedParty.name=Giulia%20Bianchi&fields=id&phone=%2B39%20347%20890%201234"
    findings = scan_query(query, (), ("Giulia Bianchi",))
    assert findings == [
        Finding("?relatedParty.name", "removed_value"),
        Finding("?phone", "phone"),
    ]


def test_query_parameter_names_that_are_data_are_named_by_position() -> None:
    """A parameter whose name is a phone number is reported without naming it."""
    assert scan_query(f"{MARKER}=1", (), ()) == [Finding("?[param#0]", "phone")]


def test_raw_text_is_decoded_before_scanning() -> None:
    """Raw bytes with JSON escapes or percent-encoding are read as the incumbent would."""
    assert scan_text('{"n": "\\u0033\\u0034\\u00378901234"}', (), (), path="body") == [
        Finding("body", "phone")
    ]
    assert scan_text("/ticket?tel=347%20890%201234", (), (), path="target") == [
        Finding("target", "phone")
    ]


def test_guard_in_scrub_mode_returns_the_findings() -> None:
    """In scrub mode the guard reports instead of raising; no findings, nothing to do."""
    findings = [Finding("$.note", "phone")]
    assert guard(findings, "scrub") == findings
    assert guard([], "block") == []


def test_guard_lists_a_bounded_number_of_paths() -> None:
    """Many findings are summarised after MAX_PATHS paths; kinds are listed once, sorted."""
    findings = [Finding(f"$.note[{i}].text", "phone") for i in range(MAX_PATHS + 3)]
    findings.append(Finding("$.x", "email"))
    message = _blocked(findings)
    assert message.endswith(f"and {4} more, got email, phone")


def test_raw_body_scan_sees_the_first_of_duplicate_keys() -> None:
    """A parsed document keeps one of two duplicate keys; the raw bytes still carry both."""
    raw = '{"note": "tel 347 890 1234", "note": "ok"}'
    assert scan_json(json.loads(raw), (), ()) == []
    assert scan_text(raw, (), (), path="body", query=False) == [Finding("body", "phone")]


_KEYS = st.sampled_from(["note", "text", "value", "characteristic", "relatedParty", "name"])
_HARMLESS = st.sampled_from(["LED LOS rosso", "1000/300", "2026-03-12", "ORD-2026-000123", "ok"])
_DOCS = st.recursive(
    _HARMLESS,
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(_KEYS, inner, min_size=1, max_size=3)
    ),
    max_leaves=8,
)


def _plant(doc: object, choices: list[int], secret: str) -> tuple[object, str]:
    # Replace one leaf of ``doc`` (picked by ``choices``) with ``secret``; return its path.
    if isinstance(doc, dict) and doc:
        keys = list(doc)
        key = keys[choices[0] % len(keys)] if choices else keys[0]
        child, path = _plant(doc[key], choices[1:], secret)
        return {**doc, key: child}, f".{key}{path}"
    if isinstance(doc, list) and doc:
        index = choices[0] % len(doc) if choices else 0
        child, path = _plant(doc[index], choices[1:], secret)
        return [*doc[:index], child, *doc[index + 1 :]], f"[{index}]{path}"
    return secret, ""


@settings(max_examples=100, deadline=None)
@given(_DOCS, st.lists(st.integers(min_value=0, max_value=5), max_size=6), phone_spellings())
def test_a_phone_planted_anywhere_in_json_is_found_at_its_path(
    doc: object, choices: list[int], phone: tuple[str, str]
) -> None:
    """Wherever a number is planted, the guard reports exactly that path, and only that."""
    planted, path = _plant(doc, choices, f"richiamare {phone[0]}")
    assert scan_json(planted, (), ()) == [Finding(f"${path}", "phone")]
    assert phone[1][3:] not in _blocked(scan_json(planted, (), ()))


def test_a_parsed_soap_envelope_is_scanned_as_is() -> None:
    """``proxy.formats.soap.SoapEnvelope`` satisfies ``HasTree``: the guard takes it directly."""
    envelope = parse_soap(
        ENVELOPE.format(note=f"tel {MARKER}", second="+390245678900").encode(),
        parse_media_type("text/xml; charset=utf-8"),
        '"urn:wholesale:ordering:v1:SubmitActivationOrder"',
    )
    assert scan_xml(envelope, PARTNER, ()) == [Finding(NOTE_PATH, "phone")]
