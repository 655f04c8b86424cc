"""XML plans: predicate-free selectors matched by a tree walk give exactly XPath's node-sets."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from proxy.policy.xpath import compile_xpath

TAGS = ["{urn:a}x", "{urn:a}y", "{urn:b}x", "x", "y"]
ATTRIBUTES = ["id", "{urn:a}id", "t"]
NAMES = ["{urn:a}x", "{urn:a}y", "{urn:b}x", "x", "y", "*"]


@st.composite
def trees(draw: st.DrawFn, depth: int = 0) -> etree._Element:
    """A random element: names in two namespaces and none, attributes, comments, nesting."""
    element = etree.Element(draw(st.sampled_from(TAGS)))
    for name in draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=2, unique=True)):
        element.set(name, "v")
    if depth < 4:
        for _ in range(draw(st.integers(0, 3))):
            if draw(st.integers(0, 5)) == 0:
                element.append(etree.Comment("c"))
            else:
                element.append(draw(trees(depth + 1)))
    return element


@st.composite
def paths(draw: st.DrawFn) -> str:
    """A selector of 1 to 3 named steps, maybe ending in an attribute step."""
    steps = [
        draw(st.sampled_from(["/", "//"])) + draw(st.sampled_from(NAMES))
        for _ in range(draw(st.integers(1, 3)))
    ]
    if draw(st.booleans()):
        steps.append("/@" + draw(st.sampled_from([*ATTRIBUTES, "*"])))
    return "".join(steps)


def by_xpath(selector: str, root: etree._Element) -> list[object]:
    """What lxml's XPath selects: elements, or (element, attribute name) for attributes."""
    out: list[object] = []
    for item in compile_xpath(selector).find(root):
        if isinstance(item, etree._Element):
            out.append(item)
        else:
            out.append((item.getparent(), item.attrname))  # type: ignore[attr-defined]
    return out


@given(root=trees(), selector=paths())
def test_plan_selects_what_xpath_selects(root: etree._Element, selector: str) -> None:
    """Same nodes, same (document) order, no duplicates, on nested and repeated names."""
    plan = compile_xpath(selector).plan
    assert plan is not None
    found: list[object] = (
        list(plan.elements(root)) if plan.attribute is None else list(plan.attributes(root))
    )
    assert found == by_xpath(selector, root)


@given(root=trees(), selector=paths())
def test_plan_starts_from_the_document_whatever_the_context(
    root: etree._Element, selector: str
) -> None:
    """As in XPath, an absolute path asked of an inner element still starts at the document."""
    plan = compile_xpath(selector).plan
    assert plan is not None
    inner = list(root.iter(etree.Element))[-1]
    found: list[object] = (
        list(plan.elements(inner)) if plan.attribute is None else list(plan.attributes(inner))
    )
    assert found == by_xpath(selector, inner)


def test_leading_descent_to_attributes_is_planned_and_later_ones_are_not() -> None:
    """``//@id`` walks; ``//x//@id`` also means x's own attributes: XPath keeps that one."""
    assert compile_xpath("//@id").plan is not None
    assert compile_xpath("//x//@id").plan is None
    root = etree.fromstring('<x id="1"><y id="2"/></x>')
    assert [v.getparent().tag for v in compile_xpath("//x//@id").find(root)] == ["x", "y"]  # type: ignore[union-attr]


def test_predicates_keep_xpath() -> None:
    """Positions and comparisons are XPath's to evaluate."""
    assert compile_xpath("//x[1]").plan is None
    assert compile_xpath("//x[@id='1']/y").plan is None
    assert compile_xpath("//x/y").plan is not None
