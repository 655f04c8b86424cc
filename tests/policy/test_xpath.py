"""XML selectors: namespace URIs not prefixes, attributes, predicates, CDATA, errors."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from proxy.policy.selectorerror import SelectorError
from proxy.policy.selectors import first_text
from proxy.policy.xpath import compile_xpath

ORD = "http://wholesale.example.it/ordering/v1"
EXT = "http://fibraveloce.example.it/oss/ext/v1"
TELEFONO = f"//{{{ORD}}}referente/{{{ORD}}}telefono"


def referenti(open_tag: str, prefix: str) -> bytes:
    """Two referenti under ``open_tag``, elements written with ``prefix`` (may be empty)."""
    p = f"{prefix}:" if prefix else ""
    body = "".join(
        f"<{p}referente><{p}telefono>{n}</{p}telefono></{p}referente>"
        for n in ("3471234567", "3389876543")
    )
    return f"{open_tag}{body}</{p}referenti>".encode()


@pytest.mark.parametrize(
    "document",
    [
        referenti(f'<ns0:referenti xmlns:ns0="{ORD}">', "ns0"),
        referenti(f'<ord:referenti xmlns:ord="{ORD}">', "ord"),
        referenti(f'<referenti xmlns="{ORD}">', ""),
    ],
)
def test_elements_match_whatever_the_prefix(document: bytes) -> None:
    """ns0:, ord: or a default namespace: the same selector finds the same elements."""
    found = compile_xpath(TELEFONO).find(etree.fromstring(document))
    assert [e.text for e in found if isinstance(e, etree._Element)] == ["3471234567", "3389876543"]


def test_same_local_name_in_another_namespace_does_not_match() -> None:
    """A foreign-namespace ``telefono`` is not the ordering schema's one (nor is an unqualified one)."""
    root = etree.fromstring(
        f'<r xmlns:x="{EXT}"><x:telefono>1</x:telefono><telefono>2</telefono></r>'
    )
    assert compile_xpath(f"//{{{ORD}}}telefono").find(root) == []
    assert [
        e.text for e in compile_xpath("//telefono").find(root) if isinstance(e, etree._Element)
    ] == ["2"]


def test_attributes_with_and_without_namespace() -> None:
    """``/@name`` and ``/@{ns}name`` select attribute values that know their element."""
    root = etree.fromstring(f'<r xmlns:x="{EXT}"><c tipo="cellulare" x:nota="n">1</c></r>')
    (plain,) = compile_xpath("//c/@tipo").find(root)
    (qualified,) = compile_xpath(f"//c/@{{{EXT}}}nota").find(root)
    assert (plain, qualified) == ("cellulare", "n")
    assert isinstance(plain, etree._ElementUnicodeResult)
    parent = plain.getparent()
    assert parent is not None and parent.tag == "c"
    assert compile_xpath("//c/@tipo").attribute


def test_cdata_and_character_references_are_resolved_text() -> None:
    """Text split by CDATA and written with character references reads as one value."""
    root = etree.fromstring(
        f'<o:note xmlns:o="{ORD}">tel. 347 <![CDATA[123]]> &#52;567</o:note>',
        etree.XMLParser(strip_cdata=False),
    )
    assert first_text(compile_xpath(f"/{{{ORD}}}note"), root) == "tel. 347 123 4567"


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        ("[2]", ["B"]),
        (f"[{{{ORD}}}ruolo='tecnico']", ["B"]),
        (f"[{{{ORD}}}ruolo!='tecnico']", ["A"]),
        ("[@tipo='x']", ["A"]),
        (f"[{{{ORD}}}ruolo]", ["A", "B"]),
    ],
)
def test_predicates(predicate: str, expected: list[str]) -> None:
    """Positions, child and attribute comparisons, and existence narrow the selection."""
    root = etree.fromstring(
        f'<o:r xmlns:o="{ORD}"><o:p tipo="x"><o:ruolo>cliente</o:ruolo><o:n>A</o:n></o:p>'
        f"<o:p><o:ruolo>tecnico</o:ruolo><o:n>B</o:n></o:p></o:r>"
    )
    found = compile_xpath(f"//{{{ORD}}}p{predicate}/{{{ORD}}}n").find(root)
    assert [e.text for e in found if isinstance(e, etree._Element)] == expected


def test_generated_prefixes_are_the_only_prefixes() -> None:
    """The compiled XPath uses n0, n1 … bound to the URIs, whatever the input."""
    compiled = compile_xpath(f"//{{{ORD}}}a/{{{EXT}}}b/{{{ORD}}}c")
    assert compiled.xpath == "//n0:a/n1:b/n0:c"
    assert dict(compiled.namespaces) == {"n0": ORD, "n1": EXT}


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            "//ord:telefono",
            "at character 6: expected an XPath step, got ':' (prefixes are not allowed",
        ),
        ("telefono", "at character 1: expected '/' or '//', got 'telefono'"),
        ("//a/@b/c", "at character 7: expected end of selector after an attribute step, got '/'"),
        ("//a[1", "at character 6: expected ']', got the end"),
        ("//a[b=c]", "at character 7: expected a quoted string, got 'c'"),
        ("//", "at character 3: expected a name, got the end"),
        ("//a(", "at character 4: expected an XPath step, got '('"),
    ],
)
def test_syntax_errors_name_the_position(selector: str, message: str) -> None:
    """Errors say where and what was expected; prefixes get a hint."""
    with pytest.raises(SelectorError, match=re.escape(message)):
        compile_xpath(selector)
