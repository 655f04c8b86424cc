"""The selector front door: language by first character, first_text for references."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lxml import etree

from proxy.actions.base import Syntax
from proxy.policy.jsonpath import JsonPath
from proxy.policy.selectors import SelectorError, compile_selector, first_text, syntax_of
from proxy.policy.xpath import XPathSelector


def test_language_follows_the_first_character() -> None:
    """``$`` is JSONPath, ``/`` is XPath, anything else is neither."""
    assert syntax_of("$.a") is Syntax.JSON
    assert syntax_of("//a") is Syntax.XML
    assert syntax_of("a") is None
    assert isinstance(compile_selector("$.a"), JsonPath)
    assert isinstance(compile_selector("//a"), XPathSelector)


@pytest.mark.parametrize("text", ["", "a.b", "@x"])
def test_other_selectors_are_refused(text: str) -> None:
    """A selector of no known language is an error, not a silent no-match."""
    with pytest.raises(SelectorError, match="expected '\\$' \\(JSONPath\\) or '/' \\(XPath\\)"):
        compile_selector(text)


def test_first_text_in_json() -> None:
    """The first string or number is returned as text; containers and nulls are skipped."""
    assert first_text(compile_selector("$.externalId"), {"externalId": "OLO-1"}) == "OLO-1"
    assert first_text(compile_selector("$.n"), {"n": 42}) == "42"
    assert first_text(compile_selector("$..id"), {"a": {"id": None}, "b": {"id": "x"}}) == "x"
    assert first_text(compile_selector("$.a"), {"a": {"b": 1}}) is None


@dataclass(frozen=True)
class Envelope:
    """Stands for :class:`proxy.formats.soap.SoapEnvelope`: anything with ``.tree``."""

    tree: etree._ElementTree


def test_first_text_in_xml_and_envelopes() -> None:
    """Element text (stripped) or attribute value; envelopes are searched through ``.tree``."""
    tree = etree.ElementTree(etree.fromstring('<r><c a="v"> FV-1 </c></r>'))
    assert first_text(compile_selector("//c"), tree) == "FV-1"
    assert first_text(compile_selector("//c/@a"), Envelope(tree)) == "v"
    assert first_text(compile_selector("//missing"), tree) is None
