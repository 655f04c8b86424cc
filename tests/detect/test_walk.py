"""Tests for proxy.detect.walk: collecting a document's strings and naming where they sit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from proxy.detect.walk import JsonStrings, XmlStrings

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.from_regex(r"[a-z]{1,4}", fullmatch=True), children, max_size=4)
    ),
    max_leaves=25,
)


def test_json_strings_come_in_document_order_with_keys() -> None:
    """Keys precede their values; numbers are strings too; booleans and nulls are skipped."""
    strings = JsonStrings({"a": [1, "x"], "b": {"c": None, "d": True}})
    assert strings.texts == ["a", "b", "1", "x", "c", "d"]


def test_json_paths_use_names_and_indexes() -> None:
    """A value's path is its JSONPath; an odd key ("a.b") is named by position."""
    strings = JsonStrings({"note": [{"text": "t"}], "a.b": "v"})
    index = strings.texts.index("t")
    assert strings.path(index, set()) == "$.note[0].text"
    assert strings.path(strings.texts.index("v"), set()) == "$[key#1]"


def test_json_flagged_keys_are_named_by_position() -> None:
    """When the key text itself was flagged, neither it nor its children name it."""
    strings = JsonStrings({"ok": 1, "mario": {"x": "y"}})
    key = strings.texts.index("mario")
    assert strings.path(strings.texts.index("y"), {key}) == "$[key#1].x"
    assert strings.path(key, {key}) == "$[key#1]"


def test_xml_paths_cover_attributes_tails_and_comments() -> None:
    """Attributes get ``/@name``, tails their parent's path, comments ``comment()``."""
    root = etree.fromstring('<r xmlns:p="urn:p"><p:a p:k="v">t</p:a><p:a/>tail<!--c--></r>')
    strings = XmlStrings(root)
    paths = {text: strings.path(i, set()) for i, text in enumerate(strings.texts)}
    assert paths == {"v": "/r/a[1]/@k", "t": "/r/a[1]", "tail": "/r", "c": "/r/comment()"}


def test_xml_whitespace_tails_are_not_collected() -> None:
    """Indentation carries nothing and is skipped."""
    root = etree.fromstring("<r>\n  <a>x</a>\n</r>")
    assert XmlStrings(root).texts == ["x"]


def _expected(doc: Any, path: str = "$") -> list[tuple[str, str]]:
    # An independent walk: (text, path) in pre-order, a member's key named by the member.
    if isinstance(doc, str):
        return [(doc, path)]
    if isinstance(doc, dict):
        keys = [(key, f"{path}.{key}") for key in doc]
        return keys + [
            pair for key, value in doc.items() for pair in _expected(value, f"{path}.{key}")
        ]
    if isinstance(doc, list):
        return [pair for i, value in enumerate(doc) for pair in _expected(value, f"{path}[{i}]")]
    if isinstance(doc, int | float) and not isinstance(doc, bool):
        return [(repr(doc), path)]
    return []


@settings(max_examples=200, deadline=None)
@given(doc=_JSON)
def test_texts_and_paths_follow_the_document_in_order(doc: Any) -> None:
    """Texts come in pre-order (keys before their values) and each path names its place."""
    strings = JsonStrings(doc)
    named = [(text, strings.path(index, set())) for index, text in enumerate(strings.texts)]
    assert named == _expected(doc)


def test_xml_paths_are_located_for_every_text_of_the_fixtures() -> None:
    """The texts come at once, their places on demand: one place per text, in the same order."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "soap"
    for fixture in sorted(fixtures.glob("*.xml")):
        root = etree.fromstring(fixture.read_bytes())
        strings = XmlStrings(root)
        paths = [strings.path(index, set()) for index in range(len(strings.texts))]
        assert len(paths) == len(strings.texts) > 10
        assert all(path.startswith("/") for path in paths)
        assert strings.texts[paths.index("/Envelope/Header/header/msgType")] in (
            "REQUEST",
            "NOTIFY",
        )
