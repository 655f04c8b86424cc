"""Filter expressions of the JSONPath subset: ``[?(@.role=='customer')]`` and friends.

Grammar (spaces allowed between tokens)::

    expr    := and ('||' and)*
    and     := term ('&&' term)*
    term    := '(' expr ')' | '!' rel | rel (('==' | '!=') literal | 'in' list)?
    rel     := '@' ('.' name | '[' string ']')*
    literal := string | number | true | false | null

A bare ``@.x`` tests that ``x`` exists, ``!@.x`` that it does not. As in RFC 9535, comparing a
missing member is false for ``==`` and true for ``!=``. Predicates compile to plain closures,
specialised for the common shapes (one member against a string, two terms).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from proxy.policy.selectorerror import SelectorError

Predicate = Callable[[Any], bool]

NAME = re.compile(r"[A-Za-z_@$][\w@$\-]*")
STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_MISSING = object()


def unquote(match: re.Match[str]) -> str:
    """The text of a quoted string token, with backslash escapes undone."""
    raw = match.group(1) if match.group(1) is not None else match.group(2)
    return re.sub(r"\\(.)", r"\1", raw)


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python; a JSON boolean must not equal a number.
    return a == b and isinstance(a, bool) == isinstance(b, bool)


class FilterParser:
    """Recursive descent over ``text`` from ``pos``; ``parse`` stops before ``)`` or ``]``."""

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos
        #: id(predicate) -> (member, equal, strings) for the predicates that compare one member
        #: with strings: ``@.role == 'a' || @.role in ['b']`` is one membership test.
        self.shapes: dict[int, _Shape] = {}

    def fail(self, expected: str) -> SelectorError:
        """An error naming the position, the expectation and what was found."""
        found = repr(self.text[self.pos]) if self.pos < len(self.text) else "the end"
        return SelectorError(f"at character {self.pos + 1}: expected {expected}, got {found}")

    def skip(self) -> None:
        """Skip spaces."""
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def eat(self, token: str) -> bool:
        """Consume ``token`` if it comes next."""
        self.skip()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def parse(self) -> Predicate:
        """``expr``."""
        terms = [self._and()]
        while self.eat("||"):
            terms.append(self._and())
        return self._combine(terms, either=True)

    def _and(self) -> Predicate:
        terms = [self._term()]
        while self.eat("&&"):
            terms.append(self._term())
        return self._combine(terms, either=False)

    def _combine(self, terms: list[Predicate], *, either: bool) -> Predicate:
        """``||`` (``either``) or ``&&`` of ``terms``: one membership test when their shapes
        allow (``||`` of equalities, ``&&`` of inequalities, of one member), else a closure."""
        if len(terms) == 1:
            return terms[0]
        joined = self._join(terms, equal=either)
        if joined is not None:
            return joined
        if len(terms) == 2:
            first, second = terms
            if either:
                return lambda node: first(node) or second(node)
            return lambda node: first(node) and second(node)
        if either:
            return lambda node: any(term(node) for term in terms)
        return lambda node: all(term(node) for term in terms)

    def _join(self, terms: list[Predicate], equal: bool) -> Predicate | None:
        """``||`` of equalities, or ``&&`` of inequalities, of one member: one test, or None."""
        shapes = [self.shapes.get(id(term)) for term in terms]
        first = shapes[0]
        if first is None or any(s is None or s[:2] != (first[0], equal) for s in shapes):
            return None
        strings = tuple(dict.fromkeys(text for s in shapes if s is not None for text in s[2]))
        return self._shaped(first[0], equal, strings)

    def _shaped(self, key: str, equal: bool, strings: tuple[str, ...]) -> Predicate:
        predicate = _membership(key, equal, strings)
        self.shapes[id(predicate)] = (key, equal, strings)
        return predicate

    def _term(self) -> Predicate:
        if self.eat("("):
            inner = self.parse()
            if not self.eat(")"):
                raise self.fail("')'")
            return inner
        if self.eat("!"):
            rel = self._rel()
            return lambda node: _get(node, rel) is _MISSING
        rel = self._rel()
        for operator, equal in (("==", True), ("!=", False)):
            if self.eat(operator):
                literal = self._literal()
                if len(rel) == 1 and isinstance(literal, str):
                    return self._shaped(rel[0], equal, (literal,))
                return _equal(rel, literal) if equal else _unequal(rel, literal)
        self.skip()
        if self.text.startswith("in", self.pos) and not NAME.match(self.text, self.pos + 2):
            self.pos += 2
            options = self._list()
            if len(rel) == 1 and all(isinstance(o, str) for o in options):
                return self._shaped(rel[0], True, options)
            return lambda node: any(_same(_get(node, rel), o) for o in options)
        return lambda node: _get(node, rel) is not _MISSING

    def _rel(self) -> tuple[str, ...]:
        if not self.eat("@"):
            raise self.fail("'@'")
        keys: list[str] = []
        while True:
            if self.text.startswith(".", self.pos):
                self.pos += 1
                name = NAME.match(self.text, self.pos)
                if name is None:
                    raise self.fail("a member name")
                keys.append(name.group())
                self.pos = name.end()
            elif self.text.startswith("[", self.pos):
                quoted = STRING.match(self.text, self.pos + 1)
                if quoted is None or not self.text.startswith("]", quoted.end()):
                    self.pos += 1
                    raise self.fail("a quoted member name and ']'")
                keys.append(unquote(quoted))
                self.pos = quoted.end() + 1
            else:
                return tuple(keys)

    def _literal(self) -> Any:
        self.skip()
        quoted = STRING.match(self.text, self.pos)
        if quoted is not None:
            self.pos = quoted.end()
            return unquote(quoted)
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return value
        number = _NUMBER.match(self.text, self.pos)
        if number is None:
            raise self.fail("a string, number, true, false or null")
        self.pos = number.end()
        return json.loads(number.group())

    def _list(self) -> tuple[Any, ...]:
        if not self.eat("["):
            raise self.fail("'[' after in")
        items = [self._literal()]
        while self.eat(","):
            items.append(self._literal())
        if not self.eat("]"):
            raise self.fail("',' or ']'")
        return tuple(items)


#: (member, equal, strings): see FilterParser.shapes.
_Shape = tuple[str, bool, tuple[str, ...]]


def _membership(key: str, equal: bool, strings: tuple[str, ...]) -> Predicate:
    """Whether member ``key`` is (``equal``) or is not one of ``strings``.

    Only that very string equals a string literal (no bool-versus-number case), so plain
    comparisons will do; a missing member, or a node that is no object, equals none.
    """
    if len(strings) == 1:
        (want,) = strings
        if equal:
            return lambda node: isinstance(node, dict) and node.get(key, _MISSING) == want
        return lambda node: not isinstance(node, dict) or node.get(key, _MISSING) != want
    if equal:
        return lambda node: isinstance(node, dict) and node.get(key, _MISSING) in strings
    return lambda node: not isinstance(node, dict) or node.get(key, _MISSING) not in strings


def _equal(rel: tuple[str, ...], want: Any) -> Predicate:
    return lambda node: _same(_get(node, rel), want)


def _unequal(rel: tuple[str, ...], other: Any) -> Predicate:
    return lambda node: not _same(_get(node, rel), other)


def _get(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node
