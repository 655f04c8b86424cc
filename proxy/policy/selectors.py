"""Selectors: the front door to the JSON and XML selector languages.

A selector starting with ``$`` is JSONPath (:mod:`proxy.policy.jsonpath`); one starting with
``/`` is an XPath over namespace URIs (:mod:`proxy.policy.xpath`). Both compile once, at load.
"""

from __future__ import annotations

from typing import Any

from proxy.actions.base import Syntax
from proxy.policy.jsonpath import JsonIndex, JsonMatch, JsonPath, index_json
from proxy.policy.jsonsyntax import compile_jsonpath
from proxy.policy.selectorerror import SelectorError
from proxy.policy.xpath import XPathSelector, compile_xpath

__all__ = [
    "JsonIndex",
    "JsonMatch",
    "JsonPath",
    "Selector",
    "SelectorError",
    "XPathSelector",
    "compile_selector",
    "first_text",
    "index_json",
    "syntax_of",
]

Selector = JsonPath | XPathSelector


def syntax_of(text: str) -> Syntax | None:
    """The language a selector is written in, or None when it is neither."""
    if text.startswith("$"):
        return Syntax.JSON
    if text.startswith("/"):
        return Syntax.XML
    return None


def compile_selector(text: str) -> Selector:
    """Compile a JSON or XML selector; :class:`SelectorError` says what is wrong and where."""
    syntax = syntax_of(text)
    if syntax is Syntax.JSON:
        return compile_jsonpath(text)
    if syntax is Syntax.XML:
        return compile_xpath(text)
    found = repr(text[:1]) if text else "an empty selector"
    raise SelectorError(f"at character 1: expected '$' (JSONPath) or '/' (XPath), got {found}")


def first_text(selector: Selector, document: Any) -> str | None:
    """The first string (or number) the selector finds: an order reference, a partner id."""
    if isinstance(selector, JsonPath):
        for match in selector.find(document):
            value = match.value
            if isinstance(value, str) or (
                isinstance(value, int | float) and not isinstance(value, bool)
            ):
                return str(value)
        return None
    for node in selector.find(getattr(document, "tree", document)):
        text = node if isinstance(node, str) else node.text
        if text is not None and text.strip():
            return str(text).strip()
    return None
