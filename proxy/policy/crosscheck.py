"""Policies against the interface schemas in ``schemas/``: selector cross-check and coverage.

``civetta policy check`` runs :func:`crosscheck`. A selector that can never match lets personal
data through without a word (``$..contactMedium[*].characteristic.phoneNumbr`` selects nothing),
so every selector of a policy that names its ``schema`` is walked over that schema, and a step
that names something the schema cannot hold there is an error, ``file:line: message``.

* JSON (TMF): from the ``$defs`` entries the policy names, through ``properties``, ``items`` /
  ``prefixItems``, ``additionalProperties`` / ``patternProperties``, ``$ref``, ``allOf`` /
  ``anyOf`` / ``oneOf`` and ``if`` / ``then`` / ``else`` (the v5 ``@type`` polymorphism). A
  member exists when one of those declares it; TMF objects are open by specification, but a
  member no schema declares is treated as a typo. A schema that declares no structure at all
  (``{}``, ``{"type": "object"}``, the v4 ``Characteristic.value``) is free-form: anything
  below it is accepted. ``..name`` needs ``name`` somewhere below; filters are checked too, as
  ``[?(@.rol == 'x')]`` would silently change which nodes a rule edits.
* XML (SOAP): the XSD files are read with the hardened parser; every element declaration,
  global and local, is indexed by ``{targetNamespace}name`` with its content model (sequence,
  choice, all, groups, extensions, attributes, ``xs:any``). A ``/`` step must name a child the
  schema allows there, ``//`` a descendant, ``@`` a declared attribute. ``Envelope``,
  ``Header`` and ``Body`` of both SOAP versions are built in and hold the policy's root
  elements. Below an ``xs:any`` a named element is an error unless its namespace is listed in
  the policy's ``extension_namespaces`` (a deliberate, reviewed exception).

``civetta policy coverage`` runs :func:`coverage`: every schema field whose name or type looks
personal (:func:`personal_reason`) must be selected by a request rule, or lie below a node that
a rule drops, keeps or scrubs whole, or below an ``allow`` that does not list it. Filters count
as coverage: which items they pick depends on data no schema describes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from proxy.actions.allow import Allow
from proxy.actions.base import Reach
from proxy.errors import CivettaError
from proxy.formats.soap import SOAP11_NS, SOAP12_NS, parse_xml
from proxy.policy.jsonpath import Descend, Filter, Index, JsonPath, Key, Step, Wild
from proxy.policy.model import Policy, PolicySet, Rule
from proxy.policy.selectors import Selector

#: The XML Schema namespace, as a Clark prefix.
XS = "{http://www.w3.org/2001/XMLSchema}"
#: Coverage paths start with these stand-ins: the Envelope of either SOAP version, and its
#: Header or Body (the WSDL, not the XSD, says where a root element travels).
ENVELOPE = "{soap-envelope}Envelope"
ENVELOPE_PART = "{soap-envelope}Header|Body"
_STRUCTURE = frozenset(
    {"properties", "patternProperties", "additionalProperties", "items", "prefixItems", "$ref"}
    | {"allOf", "anyOf", "oneOf", "then", "else", "enum", "const"}
)
_FILTER_REL = re.compile(
    r"@((?:\.[A-Za-z_@$][\w@$\-]*|\[\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*\])+)"
)
_FILTER_PART = re.compile(
    r"\.([A-Za-z_@$][\w@$\-]*)|\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")"
)


class SchemaError(CivettaError):
    """A schema named by a policy cannot be read or does not have the named entry."""


# --------------------------------------------------------------------------------------------
# JSON Schema: nodes, facets, members


class _JsonFile:
    """One JSON Schema file; ``$ref`` is resolved inside it (the TMF files are self-contained)."""

    def __init__(self, name: str, root: dict[str, Any]) -> None:
        self.name = name
        self.root = root
        #: Facets by node identity: the walks ask for the same nodes over and over.
        self.facets: dict[int, tuple[list[_JNode], set[str]]] = {}
        #: Declared nodes below a set of nodes (``..``), by the set's identity.
        self.below: dict[frozenset[tuple[int, int]], list[_JNode]] = {}

    def pointer(self, fragment: str) -> Any:
        """The node at a JSON Pointer fragment (``/$defs/ProductOrder``), or None."""
        node: Any = self.root
        for token in fragment.split("/")[1:] if fragment else ():
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                return None
            node = node[token]
        return node


class _JNode:
    """A schema node together with the file its ``$ref`` values point into."""

    __slots__ = ("file", "schema")

    def __init__(self, file: _JsonFile, schema: Any) -> None:
        self.file = file
        self.schema = schema

    @property
    def key(self) -> tuple[int, int]:
        """Identity of the node (schemas are dicts: not hashable)."""
        return (id(self.file), id(self.schema))

    def follow(self) -> tuple[_JNode, list[str]]:
        """The node after its ``$ref`` chain, and the ``$defs`` names passed on the way."""
        node, names, seen = self, [], set()
        while isinstance(node.schema, dict) and isinstance(node.schema.get("$ref"), str):
            ref = node.schema["$ref"]
            if ref in seen or not ref.startswith("#"):
                break
            seen.add(ref)
            names.append(ref.rsplit("/", 1)[-1])
            target = node.file.pointer(ref[1:])
            if target is None:
                break
            node = _JNode(node.file, target)
        return node, names

    def free(self) -> bool:
        """Free-form: a schema without structure admits any member and item below it."""
        node, _ = self.follow()
        schema = node.schema
        if schema is True:
            return True
        if not isinstance(schema, dict) or _STRUCTURE & schema.keys():
            return False
        kind = schema.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        return kind is None or "object" in kinds or "array" in kinds

    def facets(self) -> tuple[list[_JNode], set[str]]:
        """The node and every schema it combines with, and the ``$defs`` names among them."""
        known = self.file.facets.get(id(self.schema))
        if known is None:
            known = self.file.facets[id(self.schema)] = self._facets()
        return known

    def _facets(self) -> tuple[list[_JNode], set[str]]:
        out: list[_JNode] = []
        names: set[str] = set()
        seen: set[tuple[int, int]] = set()
        stack = [self]
        while stack:
            node = stack.pop()
            if node.key in seen or not isinstance(node.schema, dict):
                continue
            seen.add(node.key)
            out.append(node)
            schema = node.schema
            ref = schema.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                target = node.file.pointer(ref[1:])
                if target is not None:
                    names.add(ref.rsplit("/", 1)[-1])
                    stack.append(_JNode(node.file, target))
            for key in ("allOf", "anyOf", "oneOf"):
                stack.extend(_JNode(node.file, s) for s in schema.get(key) or ())
            for key in ("then", "else"):
                if isinstance(schema.get(key), dict):
                    stack.append(_JNode(node.file, schema[key]))
        return out, names

    def member(self, name: str) -> list[_JNode] | None:
        """Schemas of member ``name``; None when the node is free-form (anything is possible)."""
        if self.free():
            return None
        out: list[_JNode] = []
        for facet in self.facets()[0]:
            schema = facet.schema
            props = schema.get("properties")
            if isinstance(props, dict) and name in props:
                out.append(_JNode(facet.file, props[name]))
            for pattern, sub in (schema.get("patternProperties") or {}).items():
                if re.search(pattern, name):
                    out.append(_JNode(facet.file, sub))
            extra = schema.get("additionalProperties")
            if extra is True:
                return None
            if isinstance(extra, dict):
                out.append(_JNode(facet.file, extra))
        return out

    def items(self) -> list[_JNode] | None:
        """Schemas of the node's array items; None when free-form."""
        if self.free():
            return None
        out: list[_JNode] = []
        for facet in self.facets()[0]:
            items = facet.schema.get("items")
            if items is True:
                return None
            if isinstance(items, dict):
                out.append(_JNode(facet.file, items))
            out.extend(_JNode(facet.file, s) for s in facet.schema.get("prefixItems") or ())
        return out

    def members(self) -> list[tuple[str, _JNode]] | None:
        """Every declared member (``*`` for additional ones); None when free-form."""
        if self.free():
            return None
        out: list[tuple[str, _JNode]] = []
        for facet in self.facets()[0]:
            schema = facet.schema
            for name, sub in (schema.get("properties") or {}).items():
                out.append((name, _JNode(facet.file, sub)))
            for sub in (schema.get("patternProperties") or {}).values():
                out.append(("*", _JNode(facet.file, sub)))
            extra = schema.get("additionalProperties")
            if extra is True:
                return None
            if isinstance(extra, dict):
                out.append(("*", _JNode(facet.file, extra)))
        return out


@dataclass(slots=True)
class _JStates:
    """Where a selector may be in the schema: nodes, and whether a free-form region was entered."""

    nodes: list[_JNode]
    open: bool = False

    def add(self, found: list[_JNode] | None) -> None:
        """Add the result of a member or items lookup."""
        if found is None:
            self.open = True
        else:
            self.nodes.extend(found)

    def unique(self) -> _JStates:
        """The same states without repeats."""
        seen: dict[tuple[int, int], _JNode] = {}
        for node in self.nodes:
            seen.setdefault(node.key, node)
        return _JStates(list(seen.values()), self.open)


def _children(node: _JNode) -> _JStates:
    out = _JStates([])
    members = node.members()
    if members is None:
        return _JStates([], True)
    out.nodes.extend(sub for _, sub in members)
    out.add(node.items())
    return out


def _below(states: _JStates) -> _JStates:
    """The nodes and every declared node below them (``..``).

    Free-form regions below do not count: ``$..name`` is meant for the declared structure, and
    if a free-form value somewhere (v4 ``Characteristic.value``) made any name possible, no
    recursive selector could ever be found wrong.
    """
    if not states.nodes:
        return _JStates([], states.open)
    memo = states.nodes[0].file.below
    key = frozenset(n.key for n in states.nodes)
    if key not in memo:
        found: dict[tuple[int, int], _JNode] = {}
        stack = list(states.nodes)
        while stack:
            node = stack.pop()
            if node.key not in found:
                found[node.key] = node
                stack.extend(_children(node).nodes)
        memo[key] = list(found.values())
    return _JStates(list(memo[key]), states.open)


def _step_text(step: Step) -> str:
    """A step as written (for messages)."""
    if isinstance(step, Key):
        return (
            f".{step.name}"
            if re.fullmatch(r"[A-Za-z_@$][\w@$\-]*", step.name)
            else f"['{step.name}']"
        )
    if isinstance(step, Index):
        return f"[{step.index}]"
    if isinstance(step, Wild):
        return "[*]"
    if isinstance(step, Filter):
        return step.source
    return ".." + _step_text(step.inner).lstrip(".")


def _filter_subjects(states: _JStates) -> _JStates:
    """What a filter tests: the items of arrays, and objects themselves (as Jayway does)."""
    out = _JStates([], states.open)
    for node in states.nodes:
        out.add(node.items())
        if node.members():
            out.nodes.append(node)
    return out


def _filter_paths(source: str) -> list[list[str]]:
    """The member paths a filter reads (``@.role``, ``@['@type']``)."""
    paths: list[list[str]] = []
    for rel in _FILTER_REL.finditer(source):
        parts = [
            next(g for g in m.groups() if g is not None).replace("\\'", "'")
            for m in _FILTER_PART.finditer(rel.group(1))
        ]
        if parts:
            paths.append(parts)
    return paths


def _resolves(subjects: _JStates, path: list[str]) -> bool:
    states = subjects
    for name in path:
        if states.open:
            return True
        nxt = _JStates([])
        for node in states.nodes:
            nxt.add(node.member(name))
        states = nxt
        if not states.nodes and not states.open:
            return False
    return True


def _json_step(step: Step, states: _JStates) -> tuple[_JStates, str | None]:
    """The states after ``step``, or a problem (what was expected, what was found)."""
    inner: Step = step
    if isinstance(step, Descend):
        below = _below(states)
        states = _JStates([n for n in below.nodes if not n.free()], below.open)
        inner = step.inner
    nxt = _JStates([], states.open)
    if isinstance(inner, Key):
        for node in states.nodes:
            nxt.add(node.member(inner.name))
        if not nxt.nodes and not nxt.open:
            where = "anywhere below" if isinstance(step, Descend) else "on"
            return nxt, f"expected a member the schema declares {where} {{at}}, got {inner.name!r}"
    elif isinstance(inner, Index):
        for node in states.nodes:
            nxt.add(node.items())
        if not nxt.nodes and not nxt.open:
            return nxt, f"expected an array at {{at}} for [{inner.index}], got none in the schema"
    elif isinstance(inner, Wild):
        for node in states.nodes:
            below = _children(node)
            nxt.nodes.extend(below.nodes)
            nxt.open |= below.open
    elif isinstance(inner, Filter):
        nxt = _filter_subjects(states)
        for path in _filter_paths(inner.source):
            if not _resolves(nxt, path):
                member = ".".join(path)
                return nxt, f"expected filter members the items at {{at}} declare, got @.{member}"
    return nxt.unique(), None


def _check_jsonpath(selector: JsonPath, roots: Sequence[_JNode]) -> str | None:
    """None when ``selector`` can match in the schema, else why not (``expected …, got …``)."""
    states = _JStates(list(roots))
    done = "$"
    for step in selector.steps:
        if states.open:
            return None
        states, problem = _json_step(step, states)
        if problem is not None:
            return problem.replace("{at}", done)
        done += _step_text(step)
    return None


# --------------------------------------------------------------------------------------------
# XML Schema: declarations and content models


def _clark(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}" if ns else local


def _split(clark: str) -> tuple[str, str]:
    if clark.startswith("{"):
        ns, local = clark[1:].split("}", 1)
        return ns, local
    return "", clark


@dataclass(slots=True)
class _Content:
    """What an element may contain: children by name, wildcards, attributes."""

    children: dict[str, list[_XNode]]
    #: ``xs:any`` namespace constraints, each with the target namespace it was declared in.
    anys: list[tuple[str, str]]
    attributes: set[str]
    any_attribute: bool = False
    #: The simple type of a leaf, ``{ns}local`` (coverage reads it).
    simple_type: str | None = None


class _XNode:
    """A state of an XPath walk: an element declaration, an envelope part, or ``xs:any`` land."""

    __slots__ = ("content", "decl", "name", "xsd")

    def __init__(
        self, name: str, decl: etree._Element | None = None, xsd: _XsdFile | None = None
    ) -> None:
        self.name = name
        self.decl = decl
        self.xsd = xsd
        self.content: _Content | None = None


class _XsdFile:
    """One XSD file: its target namespace and form defaults."""

    def __init__(self, name: str, tree: etree._ElementTree) -> None:
        self.name = name
        self.root = tree.getroot()
        self.tns = self.root.get("targetNamespace") or ""
        self.qualified = self.root.get("elementFormDefault") == "qualified"
        self.attr_qualified = self.root.get("attributeFormDefault") == "qualified"

    def qname(self, node: etree._Element, text: str) -> str:
        """``ord:Referente`` in the scope of ``node`` as ``{ns}Referente``."""
        prefix, _, local = text.rpartition(":")
        ns = node.nsmap.get(prefix or None) or ""
        return _clark(ns, local)


def _admits(spec: str, tns: str, ns: str) -> bool:
    """Whether an ``xs:any namespace="spec"`` declared in ``tns`` admits namespace ``ns``."""
    for word in spec.split():
        if word == "##any":
            return True
        if word == "##other" and ns not in (tns, ""):
            return True
        if (word == "##local" and ns == "") or (word == "##targetNamespace" and ns == tns):
            return True
        if word == ns:
            return True
    return False


class _Xsd:
    """Every declaration of a set of XSD files, and content models computed on demand."""

    def __init__(self, files: Sequence[_XsdFile]) -> None:
        self.files = list(files)
        self.globals: dict[str, _XNode] = {}
        self.types: dict[str, tuple[etree._Element, _XsdFile]] = {}
        self.groups: dict[str, tuple[etree._Element, _XsdFile]] = {}
        self.attributes: dict[str, tuple[etree._Element, _XsdFile]] = {}
        self._locals: dict[etree._Element, _XNode] = {}
        self.namespaces = frozenset(xsd.tns for xsd in files)
        for xsd in files:
            for node in xsd.root:
                name = node.get("name")
                if not isinstance(node.tag, str) or name is None:
                    continue
                clark = _clark(xsd.tns, name)
                if node.tag == XS + "element":
                    self.globals[clark] = _XNode(clark, node, xsd)
                elif node.tag in (XS + "complexType", XS + "simpleType"):
                    self.types[clark] = (node, xsd)
                elif node.tag in (XS + "group", XS + "attributeGroup"):
                    self.groups[clark] = (node, xsd)
                elif node.tag == XS + "attribute":
                    self.attributes[clark] = (node, xsd)

    def content(self, state: _XNode) -> _Content:
        """The content model of an element declaration (memoised on the state)."""
        if state.content is not None:
            return state.content
        content = _Content({}, [], set())
        state.content = content
        decl, xsd = state.decl, state.xsd
        if decl is None or xsd is None:
            return content
        kind = decl.get("type")
        inline = decl.find(XS + "complexType")
        if kind is not None:
            clark = xsd.qname(decl, kind)
            found = self.types.get(clark)
            if found is not None and found[0].tag == XS + "complexType":
                self._walk(found[0], found[1], content, set())
            else:
                content.simple_type = clark
        elif inline is not None:
            self._walk(inline, xsd, content, set())
        elif decl.find(XS + "simpleType") is None:
            content.anys.append(("##any", xsd.tns))  # no type at all: xs:anyType
        return content

    def _walk(self, node: etree._Element, xsd: _XsdFile, out: _Content, seen: set[str]) -> None:
        for child in node:
            tag = child.tag
            if tag in (XS + "sequence", XS + "choice", XS + "all"):
                self._walk(child, xsd, out, seen)
            elif tag == XS + "element":
                self._element(child, xsd, out)
            elif tag == XS + "any":
                out.anys.append((child.get("namespace") or "##any", xsd.tns))
            elif tag in (XS + "group", XS + "attributeGroup") and child.get("ref"):
                ref = xsd.qname(child, child.get("ref") or "")
                if ref in self.groups and ref not in seen:
                    group, home = self.groups[ref]
                    self._walk(group, home, out, seen | {ref})
            elif tag in (XS + "complexContent", XS + "simpleContent"):
                for derivation in child:
                    base = derivation.get("base")
                    if derivation.tag == XS + "extension" and base is not None:
                        found = self.types.get(xsd.qname(derivation, base))
                        if found is not None and found[0].tag == XS + "complexType":
                            key = xsd.qname(derivation, base)
                            if key not in seen:
                                self._walk(found[0], found[1], out, seen | {key})
                    if isinstance(derivation.tag, str):
                        self._walk(derivation, xsd, out, seen)
            elif tag == XS + "attribute":
                self._attribute(child, xsd, out)
            elif tag == XS + "anyAttribute":
                out.any_attribute = True

    def _element(self, child: etree._Element, xsd: _XsdFile, out: _Content) -> None:
        ref = child.get("ref")
        if ref is not None:
            target = self.globals.get(xsd.qname(child, ref))
            if target is not None:
                out.children.setdefault(target.name, []).append(target)
            return
        name = child.get("name")
        if name is None:
            return
        form = child.get("form")
        qualified = form == "qualified" or (form is None and xsd.qualified)
        clark = _clark(xsd.tns if qualified else "", name)
        # One state per declaration, so that recursion (a type inside itself) is recognised.
        node = self._locals.setdefault(child, _XNode(clark, child, xsd))
        out.children.setdefault(clark, []).append(node)

    @staticmethod
    def _attribute(child: etree._Element, xsd: _XsdFile, out: _Content) -> None:
        ref, name, form = child.get("ref"), child.get("name"), child.get("form")
        if ref is not None:
            out.attributes.add(xsd.qname(child, ref))
        elif name is not None:
            qualified = form == "qualified" or (form is None and xsd.attr_qualified)
            out.attributes.add(_clark(xsd.tns if qualified else "", name))


#: The ``xs:any`` land below an extension point: named steps need a listed namespace.
_ANY = _XNode("(xs:any)")


def _envelope(roots: Sequence[_XNode]) -> _XNode:
    """The document: an Envelope of either SOAP version, Header and Body holding the roots."""
    doc = _XNode("(document)")
    doc.content = _Content({}, [], set())
    for ns in (SOAP11_NS, SOAP12_NS):
        env = _XNode(_clark(ns, "Envelope"))
        env.content = _Content({}, [], {"encodingStyle"}, any_attribute=True)
        doc.content.children[env.name] = [env]
        for part in ("Header", "Body"):
            node = _XNode(_clark(ns, part))
            node.content = _Content(
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
            return _clark(match.group("uri"), match.group("local"))
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


class _XWalk:
    """An XML selector walked over an XSD model."""

    def __init__(self, xsd: _Xsd, extensions: Iterable[str]) -> None:
        self.xsd = xsd
        self.extensions = frozenset(extensions)
        #: Set when a name was refused only because it sits under an unlisted xs:any.
        self.under_any: str | None = None

    def content(self, node: _XNode) -> _Content:
        if node is _ANY:
            return _Content({}, [("##any", "")], set(), any_attribute=True)
        return node.content if node.content is not None else self.xsd.content(node)

    def child(self, states: Iterable[_XNode], name: str | None) -> list[_XNode]:
        out: list[_XNode] = []
        for state in states:
            content = self.content(state)
            if name is None:
                out.extend(c for group in content.children.values() for c in group)
                if content.anys:
                    out.append(_ANY)
                continue
            out.extend(content.children.get(name, ()))
            ns = _split(name)[0]
            if any(_admits(spec, tns, ns) for spec, tns in content.anys):
                if ns in self.extensions:
                    out.append(_ANY)
                else:
                    self.under_any = ns
        return _unique_x(out)

    def below(self, states: Iterable[_XNode]) -> list[_XNode]:
        """The states and every element that can be inside them."""
        out: dict[int, _XNode] = {}
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

    def attribute(self, states: Iterable[_XNode], name: str | None) -> bool:
        for state in states:
            content = self.content(state)
            if content.any_attribute or name is None or name in content.attributes:
                return True
        return False

    def check(self, steps: Sequence[XStep], roots: list[_XNode]) -> str | None:
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
        self, states: list[_XNode], rel: tuple[tuple[bool, str | None], ...], at: str
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


def _unique_x(states: Iterable[_XNode]) -> list[_XNode]:
    return list({id(s): s for s in states}.values())


# --------------------------------------------------------------------------------------------
# Schemas on disk


class SchemaLibrary:
    """The interface schemas under one directory (``schemas/``), each file read once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._json: dict[str, _JsonFile] = {}
        self._xsd: dict[str, _XsdFile] = {}

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):
            raise SchemaError(f"expected a schema inside {self.root}, got {name!r} outside it")
        if not path.is_file():
            raise SchemaError(f"expected a schema file {name!r} under {self.root}, got none")
        return path

    def json_file(self, name: str) -> _JsonFile:
        """A JSON Schema file by its name under the root."""
        if name not in self._json:
            try:
                data = json.loads(self._path(name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SchemaError(
                    f"expected a JSON Schema in {name!r}, got {type(exc).__name__}"
                ) from exc
            if not isinstance(data, dict):
                raise SchemaError(f"expected a JSON Schema object in {name!r}, got another value")
            self._json[name] = _JsonFile(name, data)
        return self._json[name]

    def xsd_file(self, name: str) -> _XsdFile:
        """An XSD file by its name under the root, parsed with the hardened parser."""
        if name not in self._xsd:
            try:
                tree = parse_xml(self._path(name).read_bytes())
            except OSError as exc:
                raise SchemaError(
                    f"expected an XML Schema in {name!r}, got {type(exc).__name__}"
                ) from exc
            except CivettaError as exc:
                raise SchemaError(f"expected an XML Schema in {name!r}: {exc.message}") from exc
            if tree.getroot().tag != XS + "schema":
                raise SchemaError(f"expected an xs:schema root in {name!r}, got another element")
            self._xsd[name] = _XsdFile(name, tree)
        return self._xsd[name]


@dataclass(slots=True)
class _Roots:
    """Where a policy's selectors start, per family."""

    json: list[_JNode]
    xsd: _Xsd | None
    elements: list[_XNode]
    #: Every global element of the XSD files (what responses may carry).
    everything: list[_XNode]
    errors: list[str]


def _roots(policy: Policy, library: SchemaLibrary) -> _Roots:
    out = _Roots([], None, [], [], [])
    files: dict[str, _XsdFile] = {}
    for ref in policy.schemas:
        try:
            if ref.file.endswith(".xsd"):
                files[ref.file] = library.xsd_file(ref.file)
            else:
                file = library.json_file(ref.file)
                node = file.pointer(ref.fragment or "")
                if not isinstance(node, dict):
                    raise SchemaError(f"expected {ref.ref!r} to name a schema, got nothing there")
                out.json.append(_JNode(file, node))
        except SchemaError as exc:
            out.errors.append(f"{policy.file}:{ref.line}: at schema: {exc.message}")
    if files:
        out.xsd = _Xsd(list(files.values()))
        out.everything = list(out.xsd.globals.values())
        for ref in policy.schemas:
            xsd = files.get(ref.file)
            if xsd is None:
                continue
            if ref.fragment is None:
                out.elements.extend(n for n in out.everything if n.xsd is xsd)
                continue
            found = out.xsd.globals.get(_clark(xsd.tns, ref.fragment))
            if found is None:
                out.errors.append(
                    f"{policy.file}:{ref.line}: at schema: expected a global element "
                    f"{ref.fragment!r} in {ref.file!r}, got none"
                )
            else:
                out.elements.append(found)
    return out


# --------------------------------------------------------------------------------------------
# The cross-check


def _selectors(policy: Policy) -> Iterator[tuple[str, str, Selector, Rule | None, bool]]:
    """(file:line, what, selector, rule, response) for every selector of a policy."""
    if policy.partner is not None and policy.partner.selector is not None:
        line = policy.lines.get("partner", policy.line)
        yield f"{policy.file}:{line}", "partner.body", policy.partner.selector, None, False
    if policy.order_ref is not None:
        line = policy.lines.get("order_ref", policy.line)
        for selector in (policy.order_ref, *policy.order_ref_alternatives):
            yield f"{policy.file}:{line}", "order_ref", selector, None, False
    for rule in policy.rules:
        yield rule.where, f"rule {rule.id}", rule.selector, rule, False
    for rule in policy.response:
        yield rule.where, f"response rule {rule.id}", rule.selector, rule, True


def check_policy(policy: Policy, library: SchemaLibrary) -> list[str]:
    """Every cross-check error of one policy (none when it names no schema)."""
    if not policy.schemas:
        return []
    roots = _roots(policy, library)
    errors = list(roots.errors)
    if errors:
        return errors
    for where, what, selector, rule, response in _selectors(policy):
        problem: str | None
        if isinstance(selector, JsonPath):
            if not roots.json:
                problem = "expected a JSON Schema in schema for a JSONPath selector, got only XSD"
            else:
                problem = _check_jsonpath(selector, roots.json)
                if problem is None and rule is not None:
                    problem = _json_children(rule, roots.json)
        elif roots.xsd is None:
            problem = "expected an XSD in schema for an XML selector, got only JSON Schemas"
        else:
            walk = _XWalk(roots.xsd, policy.extension_namespaces)
            elements = roots.everything if response else roots.elements
            problem = walk.check(parse_xpath_steps(selector.source), [_envelope(elements)])
            if problem is None and rule is not None:
                problem = _xml_children(rule, walk, elements)
        if problem is not None:
            errors.append(f"{where}: {what}: {selector.source}: {problem}")
    return errors


def _json_children(rule: Rule, roots: Sequence[_JNode]) -> str | None:
    """An ``allow`` must list children the selected nodes can have (a typo drops a field)."""
    if not isinstance(rule.handler, Allow) or not isinstance(rule.selector, JsonPath):
        return None
    states = _JStates(list(roots))
    for step in rule.selector.steps:
        if states.open:
            return None
        states, _ = _json_step(step, states)
    subjects = _filter_subjects(states)  # allow on an array applies to each item
    if subjects.open:
        return None
    for child in sorted(rule.handler.children):
        if not _resolves(subjects, [child]):
            return f"expected allow children the selected nodes declare, got {child!r}"
    return None


def _xml_children(rule: Rule, walk: _XWalk, elements: list[_XNode]) -> str | None:
    if not isinstance(rule.handler, Allow):
        return None
    states = [_envelope(elements)]
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


def crosscheck(policies: PolicySet, schemas_dir: Path) -> list[str]:
    """Every cross-check error of every policy, as ``file:line: message``."""
    library = SchemaLibrary(schemas_dir)
    errors: list[str] = []
    for policy in policies.policies:
        errors.extend(check_policy(policy, library))
    return errors


# --------------------------------------------------------------------------------------------
# Coverage: personal-looking fields that no request rule covers

_PERSONAL_NAME = re.compile(
    r"phone|fax|e-?mail|telefon|cellulare|recapito|referent|nominativo|^nome$|cognome"
    r"|codicefiscale|partitaiva|ragionesociale|givenname|familyname|middlename|formattedname"
    r"|legalname|othername|tradingname|partyname|birth|death|nationality|gender|marital"
    r"|identificationid|socialnetwork|street[12]$|notificationcontact|description|descrizione"
    r"|^note$|sintomo|causale|contatto",
    re.IGNORECASE,
)
_PERSONAL_TYPES = frozenset(
    {"Telefono", "Email", "CodiceFiscale", "PartitaIva", "Note", "base64Binary"}
)
_PARTY_CONTAINERS = frozenset({"relatedParty", "partyOrPartyRole", "engagedParty"})
_PARTY_DEFS = frozenset({"RelatedParty", "PartyRef", "PartyRoleRef", "Individual", "Organization"})
_TECHNICAL = frozenset({"id", "href", "@type", "@baseType", "@schemaLocation", "@referredType"})
_MEDIUM_ADDRESS = frozenset({"city", "postCode", "stateOrProvince", "country"})


@dataclass(frozen=True, slots=True)
class Field:
    """A schema field: its path (segments: member names, ``[*]``, XML names) and why it is personal."""

    segments: tuple[str, ...]
    reason: str
    xml: bool = False

    @property
    def path(self) -> str:
        """``$.a[*].b`` for JSON; ``//Root/a/@b`` for XML (local names, envelope left out)."""
        if not self.xml:
            return "$" + "".join(s if s == "[*]" else f".{s}" for s in self.segments)
        out = "/"
        for segment in self.segments[2:]:
            attribute = segment.startswith("@")
            out += "/" + ("@" if attribute else "") + _split(segment.lstrip("@"))[1]
        return out


@dataclass(frozen=True, slots=True)
class Gap:
    """A personal-looking field of a policy's schema that none of its request rules covers."""

    policy: str
    where: str
    field: Field


def personal_reason(name: str, parents: Sequence[str], defs: Iterable[str]) -> str | None:
    """Why a JSON field looks personal, or None (``parents``: the member names above it)."""
    defs = set(defs)
    parent = next((p for p in reversed(parents) if p != "[*]"), "")
    if name in _TECHNICAL:
        return None
    if _PERSONAL_NAME.search(name):
        return f"name {name!r}"
    if name == "name" and (parent in _PARTY_CONTAINERS or defs & _PARTY_DEFS):
        return "a party's name"
    if name in ("text", "author") and (parent == "note" or "Note" in defs):
        return f"note {name}"
    if name == "content" and (parent == "attachment" or "AttachmentRefOrValue" in defs):
        return "attachment content"
    if name == "value" and (parent.endswith("haracteristic") or "Characteristic" in defs):
        return "characteristic value"
    if name in _MEDIUM_ADDRESS and "contactMedium" in parents:
        return "contact medium address"
    if "Individual" in defs:
        return "member of an inline Individual"
    return None


def _json_fields(roots: Sequence[_JNode]) -> Iterator[Field]:
    """Every leaf below the roots; a ``$defs`` entry is not entered again below itself."""
    Item = tuple[_JNode, tuple[str, ...], frozenset[str], frozenset[str]]
    stack: list[Item] = [(root, (), frozenset(), frozenset()) for root in roots]
    while stack:
        # ``owner``: the definitions of the object the node is a member of.
        node, path, on_path, owner = stack.pop()
        defs = frozenset(node.facets()[1])
        if defs & on_path:
            continue  # recursion (items inside items): the fields are those of the outer one
        members = node.members()
        items = node.items()
        if members is None or (not members and not items):
            name = next((p for p in reversed(path) if p != "[*]"), "")
            reason = personal_reason(name, path[:-1], owner)
            if reason is not None:
                yield Field(path, reason)
            continue
        inner = on_path | defs
        for name, sub in members:
            if name != "*":
                stack.append((sub, (*path, name), inner, defs))
        for sub in items or ():
            stack.append((sub, (*path, "[*]"), inner, owner))


def _xml_fields(xsd: _Xsd, roots: Sequence[_XNode]) -> Iterator[Field]:
    stack: list[tuple[_XNode, tuple[str, ...], frozenset[int]]] = [
        (root, (ENVELOPE, ENVELOPE_PART, root.name), frozenset({id(root)})) for root in roots
    ]
    while stack:
        node, path, on_path = stack.pop()
        content = xsd.content(node)
        local = _split(node.name)[1]
        for attribute in sorted(content.attributes):
            if _PERSONAL_NAME.search(_split(attribute)[1]):
                yield Field(
                    (*path, "@" + attribute), f"attribute {_split(attribute)[1]!r}", xml=True
                )
        if content.anys:
            yield Field(path, "xs:any: content no schema describes", xml=True)
        if not content.children:
            simple = _split(content.simple_type or "")[1]
            if _PERSONAL_NAME.search(local):
                yield Field(path, f"name {local!r}", xml=True)
            elif simple in _PERSONAL_TYPES:
                yield Field(path, f"type {simple!r}", xml=True)
            continue
        for group in content.children.values():
            for child in group:
                if id(child) not in on_path:
                    stack.append((child, (*path, child.name), on_path | {id(child)}))


def _json_covers(selector: JsonPath, segments: Sequence[str]) -> bool:
    """Whether ``selector`` can select exactly the node at ``segments`` (filters: maybe)."""
    positions = {0}
    for step in selector.steps:
        inner = step.inner if isinstance(step, Descend) else step
        nxt: set[int] = set()
        for pos in positions:
            # ``..`` first skips any number of segments (the node itself included).
            starts = range(pos, len(segments) + 1) if isinstance(step, Descend) else (pos,)
            for start in starts:
                nxt |= _json_seg(inner, segments, start)
        positions = nxt
        if not positions:
            return False
    return len(segments) in positions


def _json_seg(step: Step, segments: Sequence[str], pos: int) -> set[int]:
    seg = segments[pos] if pos < len(segments) else None
    if isinstance(step, Key):
        return {pos + 1} if seg == step.name else set()
    if isinstance(step, Index):
        return {pos + 1} if seg == "[*]" else set()
    if isinstance(step, Wild):
        return {pos + 1} if seg is not None else set()
    if isinstance(step, Filter):
        return {pos, pos + 1} if seg == "[*]" else {pos}
    return set()


def _xml_covers(steps: Sequence[XStep], segments: Sequence[str]) -> bool:
    positions = {0}
    for step in steps:
        nxt: set[int] = set()
        for pos in positions:
            starts = range(pos, len(segments)) if step.axis == "//" else [pos]
            for start in starts:
                if start < len(segments) and _xml_name_matches(step, segments[start]):
                    nxt.add(start + 1)
        positions = nxt
        if not positions:
            return False
    return len(segments) in positions


def _xml_name_matches(step: XStep, segment: str) -> bool:
    attribute = segment.startswith("@")
    if attribute != step.attribute:
        return False
    if step.name is None:
        return True
    ns, local = _split(step.name)
    if ns in (SOAP11_NS, SOAP12_NS):
        return (segment == ENVELOPE and local == "Envelope") or (
            segment == ENVELOPE_PART and local in ("Header", "Body")
        )
    return step.name == (segment[1:] if attribute else segment)


def _matcher(rule: Rule, segments: Sequence[str], xml: bool) -> Callable[[int], bool]:
    """Whether the rule selects the node made of the first ``n`` segments."""
    selector = rule.selector
    if xml:
        steps = parse_xpath_steps(selector.source)
        return lambda n: _xml_covers(steps, segments[:n])
    if isinstance(selector, JsonPath):
        return lambda n: _json_covers(selector, segments[:n])
    return lambda n: False


def _covered(field: Field, rules: Sequence[Rule]) -> bool:
    segments = field.segments
    for rule in rules:
        reach = rule.handler.reach
        matches = _matcher(rule, segments, field.xml)
        if reach is Reach.SCALAR:
            if matches(len(segments)):
                return True
        elif reach is Reach.CHILDREN and isinstance(rule.handler, Allow):
            for n in range(len(segments)):
                # On a JSON array, allow filters the members of each item.
                child = n + 1 if not field.xml and segments[n] == "[*]" else n
                if (
                    child < len(segments)
                    and not rule.handler.permits(segments[child])
                    and matches(n)
                ):
                    return True
        elif any(matches(n) for n in range(len(segments) + 1)):
            return True
    return False


def policy_fields(policy: Policy, library: SchemaLibrary) -> list[Field]:
    """The personal-looking fields of a policy's schemas (what its request rules must cover)."""
    roots = _roots(policy, library)
    if roots.errors:
        raise SchemaError("; ".join(roots.errors))
    fields = list(_json_fields(roots.json))
    if roots.xsd is not None:
        fields.extend(_xml_fields(roots.xsd, roots.elements))
    unique = {(f.segments, f.xml): f for f in fields}
    return sorted(unique.values(), key=lambda f: f.segments)


def coverage(policy: Policy, library: SchemaLibrary) -> list[Gap]:
    """Personal-looking fields of the policy's schemas that no request rule covers."""
    where = f"{policy.file}:{policy.lines.get('schema', policy.line)}"
    return [
        Gap(policy.name, where, field)
        for field in policy_fields(policy, library)
        if not _covered(field, policy.rules)
    ]
