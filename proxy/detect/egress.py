"""The egress guard: the last look at a message before it is recorded and sent (DESIGN.md §3.5).

Every string of the final document is scanned: JSON keys and values (numbers too), XML element
text, tails, attributes, comments and processing instructions, and query strings. Parsing has
already undone what the incumbent's parser undoes (escapes, character references, CDATA); the
scan undoes it once more for values that carry a second layer (a CDATA section holding
``&#51;…``, a JSON string holding ``\\u0033…``), then canonicalises (NFKC and friends).

Findings name a path and a kind, never a value; :func:`guard` turns them into a block.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol
from urllib.parse import parse_qsl

from lxml import etree

from proxy.detect.finder import Values, compiled, find
from proxy.detect.known import ValueSet
from proxy.errors import LeakBlocked

GuardMode = Literal["block", "scrub"]
#: A JSON key or query parameter name that may appear in a path as it is.
_SAFE_NAME: Final = re.compile(r"[A-Za-z_@$][A-Za-z0-9_@$-]{0,63}")
#: How many paths an error message lists before it summarises.
MAX_PATHS: Final = 10


@dataclass(frozen=True, slots=True)
class Finding:
    """Personal data found at ``path`` (JSONPath or XPath-like), of ``kind``; never the value."""

    path: str
    kind: str


class HasTree(Protocol):
    """A parsed SOAP envelope (``proxy.formats.soap.SoapEnvelope``) or anything with a tree."""

    @property
    def tree(self) -> etree._ElementTree | etree._Element:
        """The parsed document."""
        ...


@dataclass(frozen=True, slots=True)
class _Scan:
    removed: ValueSet
    allowed: ValueSet

    def kinds(self, text: str) -> list[str]:
        return [match.kind for match in find(text, self.removed, self.allowed)]

    def query_kinds(self, text: str) -> list[str]:
        return [match.kind for match in find(text, self.removed, self.allowed, query=True)]


def _scan(allowed: Values, removed: Values) -> _Scan:
    allowed_set = compiled(allowed)
    return _Scan(compiled(removed).without(allowed_set), allowed_set)


def _unique(findings: Iterator[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def scan_json(doc: object, allowed: Values, removed: Values) -> list[Finding]:
    """Findings in a parsed JSON document (keys, strings and numbers), by JSONPath."""
    return _unique(_walk_json(doc, "$", _scan(allowed, removed)))


def _walk_json(doc: object, path: str, scan: _Scan) -> Iterator[Finding]:
    stack: list[tuple[object, str]] = [(doc, path)]
    while stack:
        value, here = stack.pop()
        if isinstance(value, str):
            yield from (Finding(here, kind) for kind in scan.kinds(value))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int | float):
            yield from (Finding(here, kind) for kind in scan.kinds(repr(value)))
        elif isinstance(value, dict):
            for index, (key, child) in enumerate(value.items()):
                key_kinds = scan.kinds(str(key))
                # A key that is itself data (a phone used as a map key) is named by position.
                safe = not key_kinds and _SAFE_NAME.fullmatch(str(key)) is not None
                child_path = f"{here}.{key}" if safe else f"{here}[key#{index}]"
                yield from (Finding(child_path, kind) for kind in key_kinds)
                stack.append((child, child_path))
        elif isinstance(value, list | tuple):
            stack.extend((child, f"{here}[{index}]") for index, child in enumerate(value))


def scan_xml(
    document: etree._ElementTree | etree._Element | HasTree, allowed: Values, removed: Values
) -> list[Finding]:
    """Findings in an XML document: text, tails, attributes, comments, PIs, by XPath-like path.

    Paths use local names (``/Envelope/Body/SubmitActivationOrder/note``), with a position
    when siblings share a name (``…/referente[2]/telefono``) and ``/@name`` for attributes.
    """
    if isinstance(document, etree._ElementTree):
        root = document.getroot()
    elif isinstance(document, etree._Element):
        root = document
    else:
        tree = document.tree
        root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    scan = _scan(allowed, removed)
    return _unique(_walk_xml(root, scan))


def _walk_xml(root: etree._Element, scan: _Scan) -> Iterator[Finding]:
    paths = _Paths()
    # Comments and PIs before and after the root element travel in the bytes too.
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    for node in (*outside, *root.iter()):
        if node.text:
            # Comments and processing instructions too: nobody parses them, anybody reads them.
            yield from (Finding(paths.of(node), kind) for kind in scan.kinds(node.text))
        if not isinstance(node, _CONTENT_ONLY):
            for name, value in node.attrib.items():
                for kind in scan.kinds(_text(value)):
                    yield Finding(f"{paths.of(node)}/@{etree.QName(name).localname}", kind)
        tail = node.tail
        if tail and not tail.isspace():
            parent = node.getparent()
            here = paths.of(parent) if parent is not None else "/"
            yield from (Finding(here, kind) for kind in scan.kinds(tail))


_CONTENT_ONLY: Final = (etree._Comment, etree._ProcessingInstruction)


def _text(value: str | bytes) -> str:
    # lxml hands out str; the stubs allow bytes.
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


class _Paths:
    """XPath-like paths of elements, computed only for nodes with findings, memoised."""

    def __init__(self) -> None:
        self._known: dict[etree._Element, str] = {}

    def of(self, node: etree._Element) -> str:
        """``/Envelope/Body/…/referente[2]/telefono`` for ``node``."""
        found = self._known.get(node)
        if found is not None:
            return found
        parent = node.getparent()
        tag = node.tag
        name = _special(node) if isinstance(node, _CONTENT_ONLY) else etree.QName(tag).localname
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        path = f"{self.of(parent) if parent is not None else ''}/{name}"
        self._known[node] = path
        return path


def _special(node: etree._Element) -> str:
    return "comment()" if isinstance(node, etree._Comment) else "processing-instruction()"


def scan_text(raw: str, allowed: Values, removed: Values, *, path: str = "") -> list[Finding]:
    """Findings in raw text (a request target, a raw body), percent-encoding undone."""
    scan = _scan(allowed, removed)
    return _unique(Finding(path, kind) for kind in scan.query_kinds(raw))


def scan_query(query: str, allowed: Values, removed: Values) -> list[Finding]:
    """Findings in a query string, per parameter (``?relatedParty.name``), names included."""
    scan = _scan(allowed, removed)
    findings: list[Finding] = []
    for index, (name, value) in enumerate(parse_qsl(query, keep_blank_values=True)):
        name_kinds = scan.kinds(name)
        safe = not name_kinds and _SAFE_NAME.fullmatch(name.replace(".", "_")) is not None
        here = f"?{name}" if safe else f"?[param#{index}]"
        findings.extend(Finding(here, kind) for kind in name_kinds)
        # parse_qsl has undone one layer of percent-encoding; query=True undoes a second.
        findings.extend(Finding(here, kind) for kind in scan.query_kinds(value))
    return _unique(iter(findings))


def guard(findings: Sequence[Finding], mode: GuardMode) -> list[Finding]:
    """Block (raise :class:`LeakBlocked`) on any finding in ``block`` mode; else return them.

    The message names paths and kinds only, never a value.
    """
    if mode == "block" and findings:
        paths = list(dict.fromkeys(f.path for f in findings))
        kinds = ", ".join(sorted({f.kind for f in findings}))
        shown = ", ".join(paths[:MAX_PATHS])
        if len(paths) > MAX_PATHS:
            shown += f" and {len(paths) - MAX_PATHS} more"
        raise LeakBlocked(f"expected no personal data at {shown}, got {kinds}")
    return list(findings)
