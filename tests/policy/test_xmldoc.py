"""XML trees as the engine sees them: prefix-free paths, text folding, layout on removal."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from lxml import etree

from proxy.engine import apply
from proxy.errors import PolicyError
from proxy.policy.xmlslots import Paths
from tests.actions.support import FakeScrubber, context, rule
from tests.policy.test_xmlplan import trees

ORD = "http://wholesale.example.it/ordering/v1"


def test_paths_are_prefix_free_with_positions_only_for_repeats() -> None:
    """Local names; ``[n]`` only where siblings share the name."""
    root = etree.fromstring(
        f'<a:r xmlns:a="{ORD}"><a:p><a:n>1</a:n></a:p><a:p><a:n>2</a:n><a:t/></a:p></a:r>'
    )
    paths = Paths()
    second_p = root[1]
    assert paths.of(second_p[0]) == "/r/p[2]/n"
    assert paths.of(second_p[1]) == "/r/p[2]/t"
    assert paths.of(root) == "/r"
    other = etree.fromstring(f'<r xmlns="{ORD}"><p><n>1</n></p><p><n>2</n><t/></p></r>')
    assert Paths().of(other[1][0]) == "/r/p[2]/n"


def test_element_with_children_is_refused_for_a_scalar_action() -> None:
    """A phone rule that hits a container element is a policy bug: refuse, naming the path."""
    root = etree.fromstring(f'<o:r xmlns:o="{ORD}"><o:tel><o:x>1</o:x></o:tel></o:r>')
    with pytest.raises(
        PolicyError, match="expected an element with text only at /r/tel, got child elements"
    ):
        apply([rule(f"//{{{ORD}}}tel", "mask")], root, context())


def test_comment_splitting_a_value_is_folded_away() -> None:
    """``347<!-- -->1234567`` is one number: the scalar sees and replaces all of it."""
    root = etree.fromstring("<r><tel>347<!-- x -->1234567</tel></r>")
    apply([rule("//tel", "mask", {"keep_last": 2})], root, context())
    assert etree.tostring(root) == b"<r><tel>********67</tel></r>"


def test_leaves_cover_text_tails_attributes_and_comments() -> None:
    """Free text hides in attributes, mixed content and comments: scrub reaches them all."""
    root = etree.fromstring(
        '<r><n nota="tel 3471234567">al 3471234567 <b>x</b> o 3389876543<!-- 0287654321 --></n></r>'
    )
    apply([rule("//n", "scrub")], root, context(scrubber=FakeScrubber()))
    assert (
        etree.tostring(root)
        == b'<r><n nota="tel [omissis]">al [omissis] <b>x</b> o [omissis]<!-- [omissis] --></n></r>'
    )


def test_removal_keeps_mixed_content_text() -> None:
    """Text after a removed element belongs to the parent and stays."""
    root = etree.fromstring("<r>prima <x>3471234567</x> dopo</r>")
    apply([rule("//x", "drop")], root, context())
    assert etree.tostring(root) == b"<r>prima  dopo</r>"


def test_dropping_the_root_is_refused() -> None:
    """An envelope without its root element is no message."""
    with pytest.raises(PolicyError, match="below the root element"):
        apply([rule("/r", "drop")], etree.fromstring("<r/>"), context())


@dataclass(frozen=True)
class Envelope:
    """Stands for :class:`proxy.formats.soap.SoapEnvelope`: anything with ``.tree``."""

    tree: etree._ElementTree


def test_envelope_is_edited_in_place_and_returned() -> None:
    """The handler gets its own envelope object back, its tree minimised."""
    envelope = Envelope(etree.ElementTree(etree.fromstring("<r><tel>3471234567</tel></r>")))
    out = apply([rule("//tel", "replace", {"with": "partner.phone"})], envelope, context())
    assert out.document is envelope
    assert etree.tostring(envelope.tree) == b"<r><tel>+390212345678</tel></r>"


def test_nested_matches_edit_each_leaf_once() -> None:
    """``//x`` matching an ``x`` inside an ``x`` scrubs the inner text once, with one decision."""
    root = etree.fromstring("<r><x>a 3471234567<x>b 3389876543</x></x></r>")
    fake = FakeScrubber()
    out = apply([rule("//x", "scrub")], root, context(scrubber=fake))
    assert etree.tostring(root) == b"<r><x>a [omissis]<x>b [omissis]</x></x></r>"
    assert len(fake.calls) == 2
    assert [d.path for d in out.decisions] == ["/r/x", "/r/x/x"]


def test_overlapping_matches_edit_every_leaf_below_unselected_children() -> None:
    """Leaves are told apart by their elements, not by addresses that lxml's proxies reuse.

    ``//x`` overlaps, so leaves are deduplicated; the ``y`` and ``z`` below are never selected
    themselves, so their proxies come and go while the rule runs. The last ``y`` used to take
    the address of an earlier one and be skipped as already seen, its number left in place.
    """
    body = "<x><y>t</y><z>u</z></x>" * 5 + "<x><y>0287654321</y></x>"
    for _ in range(10):
        root = etree.fromstring(f"<r>{body}</r>")
        out = apply([rule("//x", "scrub")], root, context(scrubber=FakeScrubber()))
        assert b"0287654321" not in etree.tostring(root)
        assert [d.path for d in out.decisions] == ["/r/x[6]/y"]


def _path(node: etree._Element) -> str:
    """A node's path as first written: local names up from the node, positions by tag."""
    parent = node.getparent()
    if parent is None:
        return "/" + etree.QName(node).localname
    tag: object = node.tag
    same = [child for child in parent if child.tag == tag]
    step = tag.rpartition("}")[2] if isinstance(tag, str) else "comment()"
    if len(same) > 1:
        step += f"[{same.index(node) + 1}]"
    return f"{_path(parent)}/{step}"


@given(root=trees())
def test_paths_agree_with_a_walk_up_the_tree(root: etree._Element) -> None:
    """Naming all of a parent's children at once gives each node its walk-up path, comments too."""
    paths = Paths()
    nodes = list(root.iter())
    for node in nodes:
        assert paths.of(node) == _path(node)
    assert [paths.of(node) for node in nodes] == [_path(node) for node in nodes]  # remembered
