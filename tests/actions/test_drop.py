"""drop: the selected node leaves the message (JSON member or item, XML element or attribute)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from lxml import etree

from proxy.engine import apply
from proxy.errors import PolicyError
from tests.actions.support import KEYS, context, rule

ORD = "http://wholesale.example.it/ordering/v1"


def test_json_member_is_removed_with_a_commitment() -> None:
    """The member is gone; the decision commits to path and canonical value, never shows it."""
    doc = {"a": {"fax": "06 1234567", "keep": 1}}
    out = apply([rule("$.a.fax", "drop")], doc, context())
    assert out.document == {"a": {"keep": 1}}
    (decision,) = out.decisions
    assert (decision.path, decision.rule, decision.action) == ("$.a.fax", "r1", "drop")
    expected = hmac.new(KEYS.commit, b"$.a.fax\x0006 1234567", hashlib.sha256).digest()
    assert decision.commitment == expected
    assert out.removed_values == ("06 1234567",)


def test_several_array_items_are_removed_with_stable_paths() -> None:
    """Items 0 and 2 go; paths in decisions are those of the message as received."""
    doc = {"n": [{"t": "a"}, {"t": "b", "keep": True}, {"t": "c"}]}
    out = apply([rule("$.n[?(!@.keep)]", "drop")], doc, context())
    assert out.document == {"n": [{"t": "b", "keep": True}]}
    assert [d.path for d in out.decisions] == ["$.n[0]", "$.n[2]"]


def test_subtree_commitment_covers_canonical_json() -> None:
    """A dropped object is committed to as canonical JSON (sorted keys, no spaces)."""
    doc = {"p": {"z": "1", "a": "Mario Rossi"}}
    out = apply([rule("$.p", "drop")], doc, context())
    canonical = json.dumps(
        {"a": "Mario Rossi", "z": "1"}, sort_keys=True, separators=(",", ":")
    ).encode()
    assert (
        out.decisions[0].commitment
        == hmac.new(KEYS.commit, b"$.p\x00" + canonical, hashlib.sha256).digest()
    )
    assert out.removed_values == ("Mario Rossi",)


def test_later_rules_do_not_see_dropped_nodes() -> None:
    """A node under a dropped subtree produces no further decisions."""
    doc = {"p": {"phone": "3331234567"}}
    out = apply(
        [rule("$.p", "drop", rule_id="a"), rule("$..phone", "mask", rule_id="b")], doc, context()
    )
    assert [d.rule for d in out.decisions] == ["a"]


def test_dropping_the_json_root_is_refused() -> None:
    """There is no empty document to forward."""
    with pytest.raises(PolicyError, match="below the document root"):
        apply([rule("$", "drop")], {"a": 1}, context())


def test_xml_element_is_removed_and_layout_kept() -> None:
    """The element and its indentation go; siblings keep theirs; prefixes are untouched."""
    xml = f'<o:r xmlns:o="{ORD}">\n  <o:a>1</o:a>\n  <o:b>2</o:b>\n  <o:c>3</o:c>\n</o:r>'
    tree = etree.ElementTree(etree.fromstring(xml))
    apply([rule(f"//{{{ORD}}}b", "drop"), rule(f"//{{{ORD}}}c", "drop")], tree, context())
    assert etree.tostring(tree).decode() == f'<o:r xmlns:o="{ORD}">\n  <o:a>1</o:a>\n</o:r>'


def test_xml_attribute_is_removed() -> None:
    """``/@name`` drops just the attribute."""
    root = etree.fromstring('<r><x tipo="cellulare" n="1">347</x></r>')
    out = apply([rule("//x/@tipo", "drop")], root, context())
    assert etree.tostring(root) == b'<r><x n="1">347</x></r>'
    assert out.decisions[0].path == "/r/x/@tipo"
