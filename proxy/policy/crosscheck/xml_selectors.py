"""XML selectors walked over XSD content models (:mod:`.xsd`).

A ``/`` step must name a child the schema allows there, ``//`` a descendant, ``@`` a declared
attribute, and predicates are checked likewise. ``Envelope``, ``Header`` and ``Body`` of both
SOAP versions are built in and hold the policy's root elements. Below an ``xs:any`` a named
element is an error unless its namespace is listed in the policy's ``extension_namespaces`` (a
deliberate, reviewed exception).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from proxy.actions.allow import Allow
from proxy.formats.soap import SOAP11_NS, SOAP12_NS
from proxy.policy.crosscheck.xsd import Content, XNode, Xsd, admits, clark_name, split_clark
from proxy.policy.model import Rule

#: The ``xs:any`` land below an extension point: named steps need a listed namespace.
_ANY = XNode("(xs:any)")


def envelope(roots: Sequence[XNode]) -> XNode:
    """The document: an Envelope of either SOAP version, Header and Body holding the roots."""
    doc = XNode("(document)")
    doc.content = Content({}, [], set())
    for ns in (SOAP11_NS, SOAP12_NS):
        env = XNode(clark_name(ns, "Envelope"))
        env.content = Content({}, [], {"encodingStyle"}, any_attribute=True)
        doc.content.children[env.name] = [env]
        for part in ("Header", "Body"):
            node = XNode(clark_name(ns, part))
            node.content = Content(
                {r.name: [r] for r in roots}, [("##any", ns)], set(), any_attribute=True
            )
            env.content.children[node.name] = [node]
    return doc


@dataclass(frozen=True, slots=True)
class XStep:
    """One step of an XML selector: axis, element or attribute name (None: ``*``), predicates."""

    axis: str
    name: str | None
    attribute: bool
    #: Relative paths inside predicates, each a list of (is attribute, name).
    predicates: tuple[tuple[tuple[bool, str | None], ...], ...] = ()

    def text(self) -> str:
        """The step as written (predicates left out)."""
        return f"{self.axis}{'@' if self.attribute else ''}{self.name or '*'}"


_XTOKEN = re.compile(
    r"""\s*(?:(?P<sep>//?)|\{(?P<uri>[^{}\s]+)\}(?P<local>[A-Za-z_][\w.\-]*)
    |(?P<name>[A-Za-z_][\w.\-]*)|(?P<at>@)|(?P<star>\*)|(?P<lb>\[)|(?P<rb>\])
    |(?P<op>!=|=)|(?P<str>'[^']*'|"[^"]*")|(?P<num>[0-9]+)|(?P<dot>\.))""",
    re.VERBOSE,
)


def parse_xpath_steps(source: str) -> list[XStep]:
    """The steps of an XML selector that already compiled (see :mod:`proxy.policy.xpath`)."""
    tokens: list[tuple[str, re.Match[str]]] = []
    pos = 0
    while pos < len(source):
        match = _XTOKEN.match(source, pos)
        if match is None or match.end() == pos:
            break
        kind = "clark" if match.group("uri") else str(match.lastgroup)
        tokens.append((kind, match))
        pos = match.end()
    steps: list[XStep] = []
    i = 0

    def name_at(j: int) -> str | None:
        kind, match = tokens[j]
        if kind == "clark":
            return clark_name(match.group("uri"), match.group("local"))
        return None if kind == "star" else match.group().strip()

    while i < len(tokens):
        axis = tokens[i][1].group().strip()
        i += 1
        attribute = tokens[i][0] == "at"
        i += attribute
        name = name_at(i)
        i += 1
        predicates: list[tuple[tuple[bool, str | None], ...]] = []
        while i < len(tokens) and tokens[i][0] == "lb":
            i += 1
            rel: list[tuple[bool, str | None]] = []
            while tokens[i][0] != "rb":
                kind = tokens[i][0]
                if kind == "at":
                    i += 1
                    rel.append((True, name_at(i)))
                elif kind in ("clark", "name", "star"):
                    rel.append((False, name_at(i)))
                i += 1
            predicates.append(tuple(rel))
            i += 1
        steps.append(XStep(axis, name, attribute, tuple(predicates)))
    return steps


class XWalk:
    """An XML selector walked over an XSD model."""

    def __init__(self, xsd: Xsd, extensions: Iterable[str]) -> None:
        self.xsd = xsd
        self.extensions = frozenset(extensions)
        #: Set when a name was refused only because it sits under an unlisted xs:any.
        self.under_any: str | None = None

    def content(self, node: XNode) -> Content:
        """What ``node`` may contain (``xs:any`` land: anything)."""
        if node is _ANY:
            return Content({}, [("##any", "")], set(), any_attribute=True)
        return node.content if node.content is not None else self.xsd.content(node)

    def child(self, states: Iterable[XNode], name: str | None) -> list[XNode]:
        """The states after a child step naming ``name`` (None: ``*``)."""
        out: list[XNode] = []
        for state in states:
            content = self.content(state)
            if name is None:
                out.extend(c for group in content.children.values() for c in group)
                if content.anys:
                    out.append(_ANY)
                continue
            out.extend(content.children.get(name, ()))
            ns = split_clark(name)[0]
            if any(admits(spec, tns, ns) for spec, tns in content.anys):
                if ns in self.extensions:
                    out.append(_ANY)
                else:
                    self.under_any = ns
        return _unique_x(out)

    def below(self, states: Iterable[XNode]) -> list[XNode]:
        """The states and every element that can be inside them."""
        out: dict[int, XNode] = {}
        stack = list(states)
        while stack:
            state = stack.pop()
            if id(state) in out:
                continue
            out[id(state)] = state
            if state is _ANY:
                continue
            content = self.content(state)
            stack.extend(c for group in content.children.values() for c in group)
            if content.anys:
                stack.append(_ANY)
        return list(out.values())

    def attribute(self, states: Iterable[XNode], name: str | None) -> bool:
        """Whether one of the states may carry attribute ``name`` (None: ``@*``)."""
        for state in states:
            content = self.content(state)
            if content.any_attribute or name is None or name in content.attributes:
                return True
        return False

    def check(self, steps: Sequence[XStep], roots: list[XNode]) -> str | None:
        """None when the steps can match from ``roots``, else why not (``expected …, got …``)."""
        states = roots
        done = ""
        for step in steps:
            self.under_any = None
            base = self.below(states) if step.axis == "//" else states
            if step.attribute:
                if not self.attribute(base, step.name):
                    return f"expected an attribute the schema declares at {done or '/'}, got @{step.name}"
                return None
            nxt = self.child(base, step.name)
            if not nxt:
                return self._missing(step, done)
            for predicate in step.predicates:
                problem = self._predicate(nxt, predicate, done + step.text())
                if problem is not None:
                    return problem
            states = nxt
            done += step.text()
        return None

    def _missing(self, step: XStep, done: str) -> str:
        # Only a namespace no loaded schema declares can be an extension's.
        if self.under_any is not None and self.under_any not in self.xsd.namespaces:
            return (
                f"expected {step.name} below xs:any only with its namespace listed in "
                f"extension_namespaces, got namespace {self.under_any!r} unlisted"
            )
        where = "below" if step.axis == "//" else "as a child of"
        return f"expected an element the schema declares {where} {done or '/'}, got {step.name}"

    def _predicate(
        self, states: list[XNode], rel: tuple[tuple[bool, str | None], ...], at: str
    ) -> str | None:
        for attribute, name in rel:
            if attribute:
                if not self.attribute(states, name):
                    return f"expected predicate members the schema declares at {at}, got @{name}"
                return None
            states = self.child(states, name)
            if not states:
                return f"expected predicate members the schema declares at {at}, got {name}"
        return None


def _unique_x(states: Iterable[XNode]) -> list[XNode]:
    return list({id(s): s for s in states}.values())


def xml_children(rule: Rule, walk: XWalk, elements: list[XNode]) -> str | None:
    """An ``allow`` must list children or attributes the selected elements can have."""
    if not isinstance(rule.handler, Allow):
        return None
    states = [envelope(elements)]
    for step in parse_xpath_steps(rule.selector.source):
        base = walk.below(states) if step.axis == "//" else states
        states = walk.child(base, step.name)
    for child in sorted(rule.handler.children):
        attribute = child.startswith("@")
        name = child[1:] if attribute else child
        ok = walk.attribute(states, name) if attribute else bool(walk.child(states, name))
        if not ok:
            return f"expected allow children the selected elements declare, got {child!r}"
    return None
