"""allow: in a subtree only the listed children survive."""

from __future__ import annotations

import pytest
from lxml import etree

from proxy.actions import allow
from proxy.actions.base import ParamError, Syntax
from proxy.engine import apply
from tests.actions.support import context, rule

EXT = "http://fibraveloce.example.it/oss/ext/v1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def test_json_object_keeps_only_listed_members() -> None:
    """Unknown members (an OSS extension carrying a phone) are dropped and reported."""
    doc = {"v": {"fascia": "18:00-21:00", "telefono": "347.123.45.67", "nome": "Mario Rossi"}}
    out = apply([rule("$.v", "allow", {"children": ["fascia"]})], doc, context())
    assert out.document == {"v": {"fascia": "18:00-21:00"}}
    assert sorted(d.path for d in out.decisions) == ["$.v.nome", "$.v.telefono"]
    assert {"347.123.45.67", "Mario Rossi"} <= set(out.removed_values)


def test_json_array_applies_to_each_object() -> None:
    """On an array, every object in it is filtered."""
    doc = {"l": [{"id": "1", "x": "a"}, {"id": "2", "y": "b"}, "plain"]}
    out = apply([rule("$.l", "allow", {"children": ["id"]})], doc, context())
    assert out.document == {"l": [{"id": "1"}, {"id": "2"}, "plain"]}


def test_xml_keeps_listed_elements_and_attributes_and_xsi() -> None:
    """Clark names and ``@`` names survive; xsi attributes always; comments never."""
    xml = (
        f'<e:d xmlns:e="{EXT}" xmlns:xsi="{XSI}" xsi:type="e:T" canale="A" nota="x">'
        f"<e:canale>AGENZIA</e:canale><!-- chiamare 347 --><e:cellulare>349 555 1234</e:cellulare></e:d>"
    )
    root = etree.fromstring(xml)
    holder = etree.ElementTree(root)
    children = [f"{{{EXT}}}canale", "@canale"]
    apply([rule(f"/{{{EXT}}}d", "allow", {"children": children})], holder, context())
    assert etree.tostring(root).decode() == (
        f'<e:d xmlns:e="{EXT}" xmlns:xsi="{XSI}" xsi:type="e:T" canale="A"><e:canale>AGENZIA</e:canale></e:d>'
    )


def test_permits_names() -> None:
    """Listed names and XML Schema instance attributes are permitted, nothing else."""
    action = allow.build({"children": ["a"]}, Syntax.JSON)
    assert action.permits("a")
    assert action.permits(f"@{{{XSI}}}type")
    assert not action.permits("b")


@pytest.mark.parametrize(
    ("params", "syntax", "message"),
    [
        ({}, Syntax.JSON, "non-empty list"),
        ({"children": []}, Syntax.JSON, "non-empty list"),
        ({"children": ["ord:telefono"]}, Syntax.XML, "expected {namespace}local or @name"),
        ({"children": [3]}, Syntax.JSON, "non-empty string"),
    ],
)
def test_bad_parameters_are_refused(
    params: dict[str, object], syntax: Syntax, message: str
) -> None:
    """Parameter mistakes name the parameter and the expectation."""
    with pytest.raises(ParamError, match=message):
        allow.build(params, syntax)
