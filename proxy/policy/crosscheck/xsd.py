"""The XML Schema model of the cross-check: declarations and content models.

The XSD files a policy names are read together; every element declaration, global and local,
is indexed by ``{targetNamespace}name`` with its content model, computed on demand from
sequences, choices, ``all``, groups, extensions, attributes and ``xs:any`` wildcards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

#: The XML Schema namespace, as a Clark prefix.
XS = "{http://www.w3.org/2001/XMLSchema}"


def clark_name(ns: str, local: str) -> str:
    """``{ns}local`` (just ``local`` without a namespace)."""
    return f"{{{ns}}}{local}" if ns else local


def split_clark(clark: str) -> tuple[str, str]:
    """The namespace (empty without one) and the local name of ``{ns}local``."""
    if clark.startswith("{"):
        ns, local = clark[1:].split("}", 1)
        return ns, local
    return "", clark


@dataclass(slots=True)
class Content:
    """What an element may contain: children by name, wildcards, attributes."""

    children: dict[str, list[XNode]]
    #: ``xs:any`` namespace constraints, each with the target namespace it was declared in.
    anys: list[tuple[str, str]]
    attributes: set[str]
    any_attribute: bool = False
    #: The simple type of a leaf, ``{ns}local`` (coverage reads it).
    simple_type: str | None = None


class XNode:
    """A state of an XPath walk: an element declaration, an envelope part, or ``xs:any`` land."""

    __slots__ = ("content", "decl", "name", "xsd")

    def __init__(
        self, name: str, decl: etree._Element | None = None, xsd: XsdFile | None = None
    ) -> None:
        self.name = name
        self.decl = decl
        self.xsd = xsd
        self.content: Content | None = None


class XsdFile:
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
        return clark_name(ns, local)


def admits(spec: str, tns: str, ns: str) -> bool:
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


class Xsd:
    """Every declaration of a set of XSD files, and content models computed on demand."""

    def __init__(self, files: Sequence[XsdFile]) -> None:
        self.files = list(files)
        self.globals: dict[str, XNode] = {}
        self.types: dict[str, tuple[etree._Element, XsdFile]] = {}
        self.groups: dict[str, tuple[etree._Element, XsdFile]] = {}
        self.attributes: dict[str, tuple[etree._Element, XsdFile]] = {}
        self._locals: dict[etree._Element, XNode] = {}
        self.namespaces = frozenset(xsd.tns for xsd in files)
        for xsd in files:
            for node in xsd.root:
                name = node.get("name")
                if not isinstance(node.tag, str) or name is None:
                    continue
                clark = clark_name(xsd.tns, name)
                if node.tag == XS + "element":
                    self.globals[clark] = XNode(clark, node, xsd)
                elif node.tag in (XS + "complexType", XS + "simpleType"):
                    self.types[clark] = (node, xsd)
                elif node.tag in (XS + "group", XS + "attributeGroup"):
                    self.groups[clark] = (node, xsd)
                elif node.tag == XS + "attribute":
                    self.attributes[clark] = (node, xsd)

    def content(self, state: XNode) -> Content:
        """The content model of an element declaration (memoised on the state)."""
        if state.content is not None:
            return state.content
        content = Content({}, [], set())
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

    def _walk(self, node: etree._Element, xsd: XsdFile, out: Content, seen: set[str]) -> None:
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

    def _element(self, child: etree._Element, xsd: XsdFile, out: Content) -> None:
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
        clark = clark_name(xsd.tns if qualified else "", name)
        # One state per declaration, so that recursion (a type inside itself) is recognised.
        node = self._locals.setdefault(child, XNode(clark, child, xsd))
        out.children.setdefault(clark, []).append(node)

    @staticmethod
    def _attribute(child: etree._Element, xsd: XsdFile, out: Content) -> None:
        ref, name, form = child.get("ref"), child.get("name"), child.get("form")
        if ref is not None:
            out.attributes.add(xsd.qname(child, ref))
        elif name is not None:
            qualified = form == "qualified" or (form is None and xsd.attr_qualified)
            out.attributes.add(clark_name(xsd.tns if qualified else "", name))
