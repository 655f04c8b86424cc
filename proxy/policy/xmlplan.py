"""XML selectors without predicates, matched by walking lxml's tree instead of running XPath.

Every shipped SOAP rule is a location path of names only: ``//{ns}referente/{ns}telefono``,
``//{ns}allegato``, ``/*``. Evaluating one through :class:`lxml.etree.XPath` costs a context
set-up per call, and a message runs one per rule. :class:`XmlPlan` finds the same nodes from
lxml's tag iterator instead: the candidates for the last step, in document order, each kept if
its ancestors fit the earlier steps. A node-set of XPath is in document order without
duplicates, and so is this. Selectors with predicates (``[2]``, ``[@tipo='x']``) keep XPath.
A property test holds plans to XPath's answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree


@dataclass(frozen=True, slots=True)
class XmlStep:
    """One element step: ``//`` (``descendant``) or ``/``, and a Clark tag (None for ``*``)."""

    descendant: bool
    tag: str | None

    def accepts(self, element: etree._Element) -> bool:
        """Whether ``element`` passes the name test (``*``: any element, never a comment)."""
        tag: object = element.tag  # a function for comments and PIs, whatever the stubs say
        return isinstance(tag, str) if self.tag is None else tag == self.tag


@dataclass(frozen=True, slots=True)
class XmlPlan:
    """A predicate-free location path: element ``steps``, then maybe one attribute step.

    ``attribute`` is the Clark name of the attribute (``*`` for any), or None for elements.
    """

    steps: tuple[XmlStep, ...]
    attribute: str | None = None

    def elements(self, node: etree._Element) -> list[etree._Element]:
        """The elements the element steps select in ``node``'s document, in document order."""
        return self.below(node.getroottree().getroot())

    def below(self, top: etree._Element) -> list[etree._Element]:
        """:meth:`elements`, given the document's root element."""
        last = len(self.steps) - 1
        step = self.steps[last]
        if last == 0 and not step.descendant:
            return [top] if step.accepts(top) else []
        # The iterator already applied the last step's name test.
        found = list(top.iter(step.tag) if step.tag is not None else top.iter(etree.Element))
        if last == 0:
            return found  # '//a': every one of them
        return [e for e in found if self._placed(e, last)]

    def attributes(self, node: etree._Element) -> list[tuple[etree._Element, str]]:
        """(element, attribute name) pairs for a path ending in an attribute step."""
        name = self.attribute
        out: list[tuple[etree._Element, str]] = []
        if name is None:
            return out
        for element in self.elements(node):
            if name == "*":
                out.extend((element, str(key)) for key in element.attrib)
            elif name in element.attrib:
                out.append((element, str(name)))
        return out

    def _fits(self, element: etree._Element, i: int) -> bool:
        """Whether ``element`` passes step ``i`` with a chain of ancestors for steps before it."""
        return self.steps[i].accepts(element) and self._placed(element, i)

    def _placed(self, element: etree._Element, i: int) -> bool:
        """Whether ``element``'s ancestors fit the steps before ``i`` (its name test aside)."""
        step = self.steps[i]
        parent = element.getparent()
        if i == 0:
            # '//a': any element of the document; '/a': the root element only.
            return step.descendant or parent is None
        if not step.descendant:
            return parent is not None and self._fits(parent, i - 1)
        while parent is not None:
            if self._fits(parent, i - 1):
                return True
            parent = parent.getparent()
        return False


def plan_of(steps: Sequence[XmlStep], attribute: str | None, predicated: bool) -> XmlPlan | None:
    """The plan of a compiled path, or None when it has predicates (then XPath runs it)."""
    if predicated or not steps:
        return None
    return XmlPlan(tuple(steps), attribute)
