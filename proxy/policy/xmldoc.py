"""SOAP envelopes and other XML trees, as engine documents: edited in place, prefixes kept.

Paths in decisions come from :mod:`proxy.policy.xmlslots` (prefix-free). Removed elements take
their own trailing whitespace with them and leave the layout of their siblings intact; removals
wait for :meth:`XmlDoc.finish`, so positions in paths stay those of the message as received.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree

from proxy.errors import PolicyError
from proxy.policy.document import Node, Slot
from proxy.policy.selectors import Selector, XPathSelector
from proxy.policy.xmlplan import XmlPlan
from proxy.policy.xmlslots import AttributeSlot, Paths, TextSlot, is_element

MIN_KNOWN = 3


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


class ElementNode:
    """A selected element (or comment, for ``allow``)."""

    __slots__ = ("doc", "element")

    def __init__(self, doc: XmlDoc, element: etree._Element) -> None:
        self.doc, self.element = doc, element

    @property
    def path(self) -> str:
        """The element's path."""
        return self.doc.paths.of(self.element)

    def scalar(self) -> Slot | None:
        """The element's text; an element with child elements is refused."""
        element = self.element
        if len(element):
            if any(is_element(child) for child in element):
                raise PolicyError(
                    f"expected an element with text only at {self.path}, got child elements"
                )
            # Comments split the text: fold it into one, so no half of a value escapes.
            element.text = "".join(str(t) for t in element.itertext())
            for child in list(element):
                element.remove(child)
        return None if _blank(element.text) else TextSlot(self.doc.paths, element)

    def _places(self) -> Iterator[tuple[etree._Element, str | bool]]:
        """Where the leaves are: (element, attribute name), or (element, is-its-tail) for texts.

        Document order as an editor reads it: an element's attributes, its text, the tails
        of its children, then each child in turn; nothing under a dropped element.
        """
        dropped = self.doc.dropped
        stack = [self.element]
        while stack:
            element = stack.pop()
            if is_element(element):
                for name in element.attrib:
                    yield element, str(name)
            if not _blank(element.text):
                yield element, False
            children = [child for child in element if child not in dropped]
            for child in children:
                if not _blank(child.tail):
                    yield child, True
            children.reverse()
            stack += children

    def leaves(self) -> Iterator[Slot]:
        """Texts, tails, attribute values and comments at or below the element."""
        paths = self.doc.paths
        for element, where in self._places():
            if isinstance(where, str):
                yield AttributeSlot(paths, element, where)
            else:
                yield TextSlot(paths, element, where)

    def drop(self) -> None:
        """Mark for removal."""
        if self.element.getparent() is None:
            raise PolicyError("expected drop below the root element, got a rule dropping the root")
        self.doc.dropped.add(self.element)
        self.doc.removals.append(self.element)
        # Everything below goes too: one look-up then answers "under a dropped element?".
        self.doc.covered.update(self.element.iter())

    def canonical(self) -> bytes:
        """Exclusive C14N of the element without its tail; a comment's text as is."""
        if not is_element(self.element):
            # libxml2's C14N of a lone comment node crashes the process: never ask it to.
            return str(self.element.text or "").encode()
        return etree.tostring(self.element, method="c14n", exclusive=True, with_tail=False)

    def removed_texts(self) -> list[str]:
        """Every non-trivial text and attribute value below (the leaves' texts, no slots)."""
        out: list[str] = []
        for element, where in self._places():
            if isinstance(where, str):
                text = str(element.get(where, ""))
            else:
                text = (element.tail if where else element.text) or ""
            if len(text.strip()) >= MIN_KNOWN:
                out.append(text)
        return out

    def children(self) -> Iterator[tuple[str, Node]]:
        """Child elements by Clark name, attributes as ``@`` + Clark name, comments ``#comment``."""
        for name in list(self.element.attrib):
            yield "@" + str(name), AttributeNode(self.doc, self.element, str(name))
        for child in self.element:
            name = child.tag if is_element(child) else "#comment"
            yield name, ElementNode(self.doc, child)


class AttributeNode:
    """A selected attribute."""

    __slots__ = ("doc", "element", "name")

    def __init__(self, doc: XmlDoc, element: etree._Element, name: str) -> None:
        self.doc, self.element, self.name = doc, element, name

    @property
    def path(self) -> str:
        """The attribute's path."""
        return self.slot().path

    def slot(self) -> AttributeSlot:
        """The value as a slot."""
        return AttributeSlot(self.doc.paths, self.element, self.name)

    def scalar(self) -> Slot | None:
        """The value."""
        return None if _blank(self.element.get(self.name)) else self.slot()

    def leaves(self) -> Iterator[Slot]:
        """The value, when not blank."""
        slot = self.scalar()
        if slot is not None:
            yield slot

    def drop(self) -> None:
        """Remove at once: attributes have no positions that later paths depend on."""
        del self.element.attrib[self.name]

    def canonical(self) -> bytes:
        """The value, UTF-8."""
        return str(self.element.get(self.name, "")).encode()

    def removed_texts(self) -> list[str]:
        """The value, when not trivial."""
        value = str(self.element.get(self.name, ""))
        return [value] if len(value.strip()) >= MIN_KNOWN else []

    def children(self) -> Iterator[tuple[str, Node]]:
        """Attributes have none."""
        return iter(())


class XmlDoc:
    """An XML tree, a root element, or a parsed SOAP envelope (anything with ``.tree``)."""

    def __init__(self, document: Any) -> None:
        self.document = document
        tree = getattr(document, "tree", document)
        self.root: etree._Element = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
        self.dropped: set[etree._Element] = set()
        #: The dropped elements and every node below them.
        self.covered: set[etree._Element] = set()
        self.removals: list[etree._Element] = []
        self.paths = Paths()
        #: The document's root element, where absolute selectors start (found on first use).
        self.top: etree._Element | None = None

    def select(self, selector: Selector) -> Iterator[Node]:
        """Nodes matched by an XPath selector, outside dropped subtrees."""
        if not isinstance(selector, XPathSelector):
            raise PolicyError(f"expected an XPath selector for an XML body, got {selector.source}")
        plan = selector.plan
        if plan is not None:
            yield from self._planned(plan)
            return
        for item in selector.find(self.root):
            if isinstance(item, etree._Element):
                if not self._under_dropped(item):
                    yield ElementNode(self, item)
                continue
            parent = getattr(item, "getparent", lambda: None)()
            name = getattr(item, "attrname", None)
            if parent is None or name is None:
                raise PolicyError(
                    f"expected elements or attributes from {selector.source}, got text"
                )
            if not self._under_dropped(parent):
                yield AttributeNode(self, parent, str(name))

    def _planned(self, plan: XmlPlan) -> Iterator[Node]:
        # The same nodes as XPath, by a tree walk (see proxy.policy.xmlplan); dropped subtrees
        # are checked as the engine goes, as below.
        if plan.attribute is None:
            if self.top is None:
                self.top = self.root.getroottree().getroot()
            for element in plan.below(self.top):
                if not self._under_dropped(element):
                    yield ElementNode(self, element)
            return
        for parent, name in plan.attributes(self.root):
            if not self._under_dropped(parent):
                yield AttributeNode(self, parent, name)

    def _under_dropped(self, element: etree._Element) -> bool:
        return element in self.covered

    def finish(self) -> Any:
        """Remove dropped elements, keeping the whitespace layout of what remains."""
        for element in self.removals:
            parent = element.getparent()
            if parent is None:
                continue
            tail = element.tail
            previous = element.getprevious()
            if not _blank(tail):
                # Mixed content: the text after the element is not the element's; keep it.
                if previous is not None:
                    previous.tail = (previous.tail or "") + (tail or "")
                else:
                    parent.text = (parent.text or "") + (tail or "")
            elif previous is not None:
                previous.tail = tail
            parent.remove(element)
        return self.document
