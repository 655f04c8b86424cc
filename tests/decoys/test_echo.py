"""Echo detection, PURE: removed values found again in the incumbent's documents."""

from __future__ import annotations

import hmac

from lxml import etree

from proxy.audit.records import commit_value
from proxy.decoys.echo import Knowledge, find_echoes, fingerprint, fingerprints_of, strings
from proxy.formats.patch import JsonPatchOp, PatchOp

KEY = b"k" * 32
PHONE, EMAIL, NAME, CF = (
    "+39 347 555 0199",
    "Mario.Rossi@example.org",
    "Mario Rossi",
    "RSSMRA80A01H501U",
)
DECOY, PARTNER_PHONE = "+390299990007", "+390212345678"


def commit(path: str, value: str) -> bytes:
    """The audit log's commitment with a test key."""
    return commit_value(KEY, path, value)


def knowing(
    *removed: str, originals: tuple[str, ...] = (), forwarded: tuple[str, ...] = ()
) -> Knowledge:
    """What civetta would know after removing ``removed`` from an order."""
    return Knowledge(commit, frozenset(fingerprints_of(commit, removed)), originals, forwarded)


def test_a_removed_phone_comes_back_in_any_spelling() -> None:
    """The phone civetta replaced, written another way in a notification, is an echo at its
    path; the fingerprint is the keyed commitment of the E.164 form."""
    doc = {
        "event": {
            "productOrder": {
                "note": [{"text": "cliente richiamato al 347.555.01.99"}],
                "contactMedium": [{"phoneNumber": DECOY}],
            }
        }
    }
    (echo,) = find_echoes(doc, knowing(PHONE))
    assert echo.path == "$.event.productOrder.note[0].text"
    assert echo.detector == "phone"
    assert hmac.compare_digest(echo.commitment, fingerprint(commit, "+393475550199"))


def test_values_sent_and_unknown_values_are_no_echo() -> None:
    """The decoy and the partner's number (forwarded), and a number the order never had, are
    not echoes; nothing known means nothing to find."""
    doc = {"a": DECOY, "b": PARTNER_PHONE, "c": "+39 333 111 2222"}
    assert find_echoes(doc, knowing(PHONE, forwarded=(DECOY, PARTNER_PHONE))) == ()
    assert find_echoes({"a": PHONE}, knowing()) == ()


def test_emails_and_codes_come_back_by_fingerprint() -> None:
    """A removed address (any case) and codice fiscale are found; each path once."""
    doc = {"x": [EMAIL.upper(), f"cf {CF} / {CF}"]}
    found = {(e.path, e.detector) for e in find_echoes(doc, knowing(EMAIL, CF))}
    assert found == {("$.x[0]", "email"), ("$.x[1]", "codice_fiscale")}


def test_names_come_back_only_from_originals() -> None:
    """A name has no generic detector: the vault's originals find it, word by word."""
    doc = {"note": "ha chiamato il sig. Rossi"}
    assert find_echoes(doc, knowing(NAME)) == ()
    (echo,) = find_echoes(doc, knowing(originals=(NAME,)))
    assert (echo.path, echo.detector) == ("$.note", "removed_value")


def test_xml_text_and_attributes() -> None:
    """SOAP notifications: element text and attributes, by local-name paths."""
    root = etree.fromstring(
        b'<n:notify xmlns:n="urn:x"><n:referente tel="3475550199"/><n:note>ok</n:note>'
        b"<n:note>mail Mario.Rossi@example.org</n:note></n:notify>"
    )
    found = {(e.path, e.detector) for e in find_echoes(root, knowing(PHONE, EMAIL))}
    assert found == {("/notify/referente/@tel", "phone"), ("/notify/note[2]", "email")}


def test_json_patch_values_and_keys_are_scanned() -> None:
    """Patch op values are scanned; a value used as a JSON key is found at a positional path."""
    ops = (JsonPatchOp(0, PatchOp.ADD, "/note/-", None, None, {"text": PHONE}, True),)
    (echo,) = find_echoes(ops, knowing(PHONE))
    assert echo.path == "$[0].value.text"
    keyed = find_echoes({"contacts": {PHONE: "x"}}, knowing(PHONE))
    assert [e.path for e in keyed] == ["$.contacts[key#0]"]


def test_no_value_in_what_is_returned() -> None:
    """Echoes hold paths, detector names and 32-byte fingerprints: never the value."""
    doc = {"n": f"{PHONE} {EMAIL} {CF}"}
    for echo in find_echoes(doc, knowing(PHONE, EMAIL, CF)):
        text = repr(echo)
        assert all(v not in text for v in ("3475550199", "rossi", CF))
        assert len(echo.commitment) == 32


def test_strings_walks_numbers_but_not_booleans() -> None:
    """Numbers are text to an echo (a phone sent as a JSON number); booleans and nulls not."""
    assert sorted(strings({"a": 3475550199, "b": True, "c": None})) == [
        ("$.a", "3475550199"),
        ("$[key#0]", "a"),
        ("$[key#1]", "b"),
        ("$[key#2]", "c"),
    ]
