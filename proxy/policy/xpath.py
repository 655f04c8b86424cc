"""XML selectors: XPath steps over ``{namespace-uri}local-name``, never prefixes.

Grammar (a subset of XPath 1.0 location paths)::

    path  := ('/' | '//') step (('/' | '//') step)*      an attribute step only last
    step  := name pred* | '@' name
    name  := '{' uri '}' local | local | '*'               a bare local: no namespace
    pred  := '[' digits ']' | '[' rel (('=' | '!=') string)? ']'
    rel   := '.' | '@'? name ('/' '@'? name)*

Each namespace URI gets a generated prefix and the path compiles to one :class:`lxml.etree.XPath`,
so elements match whatever prefixes (or default namespace) the document uses. lxml hands
text with CDATA sections and character references already resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from proxy.errors import PolicyError
from proxy.policy.selectorerror import SelectorError
from proxy.policy.xmlplan import XmlPlan, XmlStep, plan_of

_TOKEN = re.compile(
    r"""(?P<sep>//?)|(?P<clark>\{(?P<uri>[^{}\s]+)\}(?P<local>[A-Za-z_][\w.\-]*))
    |(?P<name>[A-Za-z_][\w.\-]*)|(?P<at>@)|(?P<star>\*)|(?P<lb>\[)|(?P<rb>\])
    |(?P<op>!=|=)|(?P<str>'[^']*'|"[^"]*")|(?P<num>[0-9]+)|(?P<dot>\.)|(?P<space>\s+)""",
    re.VERBOSE,
)

_HUMAN = {
    "sep": "'/' or '//'",
    "clark": "a name",
    "name": "a name",
    "star": "a name",
    "at": "'@'",
    "lb": "'['",
    "rb": "']'",
    "op": "'=' or '!='",
    "str": "a quoted string",
    "num": "a number",
}


@dataclass(frozen=True, slots=True)
class XPathSelector:
    """A compiled XML selector; ``source`` is the text as written in the policy."""

    source: str
    xpath: str
    namespaces: tuple[tuple[str, str], ...]
    attribute: bool
    compiled: etree.XPath = field(compare=False, repr=False)
    #: ``//`` after the first step can match an element inside another match (``//x`` in ``x``).
    overlapping: bool = True
    #: The path as a tree walk (no predicates), or None: then :attr:`compiled` runs it.
    plan: XmlPlan | None = field(default=None, compare=False, repr=False)

    def find(self, node: etree._Element | etree._ElementTree) -> list[etree._Element | str]:
        """Matches: elements, or attribute values (smart strings with ``getparent()``)."""
        result = self.compiled(node)
        if not isinstance(result, list):  # the grammar only builds location paths: node-sets
            raise PolicyError(f"expected a node-set from {self.source}, got a single value")
        return result  # type: ignore[return-value]


class _Tokens:
    """A token stream with one-token look-ahead; errors point at a character."""

    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, re.Match[str]]] = []
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.lastgroup is None:
                hint = (
                    " (prefixes are not allowed: write {namespace-uri}local)"
                    if text[pos] == ":"
                    else ""
                )
                raise SelectorError(
                    f"at character {pos + 1}: expected an XPath step, got {text[pos]!r}{hint}"
                )
            if match.lastgroup != "space":
                kind = "clark" if match.group("clark") else match.lastgroup
                self.items.append((kind, match))
            pos = match.end()
        self.i = 0
        self.end = len(text)

    def peek(self) -> str | None:
        """The kind of the next token, or None at the end."""
        return self.items[self.i][0] if self.i < len(self.items) else None

    def take(self, *kinds: str) -> re.Match[str]:
        """The next token, which must be of one of ``kinds``."""
        kind = self.peek()
        if kind not in kinds:
            where = self.items[self.i][1].start() + 1 if kind else self.end + 1
            got = repr(self.items[self.i][1].group()) if kind else "the end"
            wanted = " or ".join(dict.fromkeys(_HUMAN.get(k, k) for k in kinds))
            raise SelectorError(f"at character {where}: expected {wanted}, got {got}")
        self.i += 1
        return self.items[self.i - 1][1]


class _Compiler:
    def __init__(self, text: str) -> None:
        self.tokens = _Tokens(text)
        self.prefixes: dict[str, str] = {}
        #: The path again, for :mod:`proxy.policy.xmlplan`: element steps, attribute, predicates.
        self.steps: list[XmlStep] = []
        self.attribute: str | None = None
        self.predicated = False

    def name(self) -> tuple[str, str | None]:
        """The name as XPath text, and as a Clark name (None for ``*``)."""
        token = self.tokens.take("clark", "name", "star")
        if token.group("clark"):
            uri, local = token.group("uri"), token.group("local")
            prefix = self.prefixes.setdefault(uri, f"n{len(self.prefixes)}")
            return f"{prefix}:{local}", f"{{{uri}}}{local}"
        text = token.group()
        return text, None if text == "*" else text

    def path(self) -> tuple[str, bool]:
        out: list[str] = []
        attribute = False
        while self.tokens.peek() is not None:
            if attribute:
                self.tokens.take("end of selector after an attribute step")
            separator = self.tokens.take("sep").group()
            out.append(separator)
            if self.tokens.peek() == "at":
                self.tokens.take("at")
                text, clark = self.name()
                out.append("@" + text)
                attribute = True
                self.attribute = clark or "*"
                if separator == "//":
                    # '//@a' first: every element's. After a step, 'x//@a' is x's own too,
                    # which the plan's steps cannot say: XPath runs it.
                    self.predicated = self.predicated or bool(self.steps)
                    self.steps.append(XmlStep(True, None))
                continue
            text, clark = self.name()
            out.append(text)
            self.steps.append(XmlStep(separator == "//", clark))
            while self.tokens.peek() == "lb":
                out.append(self.predicate())
                self.predicated = True
        if not out:
            raise SelectorError("at character 1: expected '/' or '//', got the end")
        return "".join(out), attribute

    def predicate(self) -> str:
        self.tokens.take("lb")
        if self.tokens.peek() == "num":
            inner = self.tokens.take("num").group()
        else:
            inner = self.relative()
            if self.tokens.peek() == "op":
                inner += self.tokens.take("op").group() + self.tokens.take("str").group()
        self.tokens.take("rb")
        return f"[{inner}]"

    def relative(self) -> str:
        if self.tokens.peek() == "dot":
            return self.tokens.take("dot").group()
        parts: list[str] = []
        while True:
            at = "@" if self.tokens.peek() == "at" and self.tokens.take("at") else ""
            parts.append(at + self.name()[0])
            if (
                at
                or self.tokens.peek() != "sep"
                or self.tokens.items[self.tokens.i][1].group() != "/"
            ):
                return "/".join(parts)
            self.tokens.take("sep")


def compile_xpath(text: str) -> XPathSelector:
    """Compile ``text`` or raise :class:`SelectorError` naming the position."""
    compiler = _Compiler(text)
    expr, attribute = compiler.path()
    namespaces = {prefix: uri for uri, prefix in compiler.prefixes.items()}
    try:
        compiled = etree.XPath(expr, namespaces=namespaces, smart_strings=True)
    except etree.XPathSyntaxError as exc:  # the grammar above should make this unreachable
        raise SelectorError(f"expected a valid location path, got {exc}") from exc
    # A single leading '//' can still match nested elements of one name: only '/'-anchored
    # paths without any '//' are known not to overlap.
    overlapping = "//" in expr
    plan = plan_of(compiler.steps, compiler.attribute, compiler.predicated)
    return XPathSelector(
        text, expr, tuple(namespaces.items()), attribute, compiled, overlapping, plan
    )
