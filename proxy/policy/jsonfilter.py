"""Filter expressions of the JSONPath subset: ``[?(@.role=='customer')]`` and friends.

Grammar (spaces allowed between tokens)::

    expr    := and ('||' and)*
    and     := term ('&&' term)*
    term    := '(' expr ')' | '!' rel | rel (('==' | '!=') literal | 'in' list)?
    rel     := '@' ('.' name | '[' string ']')*
    literal := string | number | true | false | null

A bare ``@.x`` tests that ``x`` exists, ``!@.x`` that it does not. As in RFC 9535, comparing a
missing member is false for ``==`` and true for ``!=``. Predicates compile to plain closures.
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
        if len(terms) == 1:
            return terms[0]
        return lambda node: any(term(node) for term in terms)

    def _and(self) -> Predicate:
        terms = [self._term()]
        while self.eat("&&"):
            terms.append(self._term())
        if len(terms) == 1:
            return terms[0]
        return lambda node: all(term(node) for term in terms)

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
        if self.eat("=="):
            want = self._literal()
            return lambda node: _same(_get(node, rel), want)
        if self.eat("!="):
            other = self._literal()
            return lambda node: not _same(_get(node, rel), other)
        self.skip()
        if self.text.startswith("in", self.pos) and not NAME.match(self.text, self.pos + 2):
            self.pos += 2
            options = self._list()
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


def _get(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node
