"""The egress guard: the last look at a message before it is recorded and sent (DESIGN.md §3.5).

Every string of the final document is scanned: JSON keys and values (numbers too), XML element
text, tails, attributes, comments and processing instructions, and query strings. Parsing has
already undone what the incumbent's parser undoes (escapes, character references, CDATA); the
scan undoes it once more for values that carry a second layer (a CDATA section holding
``&#51;…``, a JSON string holding ``\\u0033…``), then canonicalises (NFKC and friends).

Findings name a path and a kind, never a value; :func:`guard` turns them into a block.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol
from urllib.parse import parse_qsl

from lxml import etree

from proxy.detect.finder import Values, compiled, find, find_many
from proxy.detect.known import ValueSet
from proxy.detect.spans import Kind
from proxy.detect.walk import SAFE_NAME, JsonStrings, XmlStrings
from proxy.errors import LeakBlocked

GuardMode = Literal["block", "scrub"]
#: How many paths an error message lists before it summarises.
MAX_PATHS: Final = 10


@dataclass(frozen=True, slots=True)
class Finding:
    """Personal data found at ``path`` (JSONPath or XPath-like), of ``kind``; never the value."""

    path: str
    kind: Kind


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

    def strings(self, strings: JsonStrings | XmlStrings, skip: Collection[str]) -> list[Finding]:
        # One pass over all strings of the document; paths only for what was found.
        per_text = find_many(strings.texts, self.removed, self.allowed, skip=skip)
        flagged = {index for index, matches in enumerate(per_text) if matches}
        return _unique(
            Finding(strings.path(index, flagged), match.kind)
            for index in sorted(flagged)
            for match in per_text[index]
        )

    def kinds(self, text: str, *, query: bool = False) -> list[Kind]:
        return [match.kind for match in find(text, self.removed, self.allowed, query=query)]


def _scan(allowed: Values, removed: Values) -> _Scan:
    allowed_set = compiled(allowed)
    return _Scan(compiled(removed).without(allowed_set), allowed_set)


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def scan_json(
    doc: object, allowed: Values, removed: Values, skip: Collection[str] = ()
) -> list[Finding]:
    """Findings in a parsed JSON document (keys, strings and numbers), by JSONPath.

    ``skip``: texts known to hold nothing for these values (the scrubber found them clean).
    """
    return _scan(allowed, removed).strings(JsonStrings(doc), skip)


def scan_xml(
    document: etree._ElementTree | etree._Element | HasTree,
    allowed: Values,
    removed: Values,
    skip: Collection[str] = (),
) -> list[Finding]:
    """Findings in an XML document: text, tails, attributes, comments, PIs, by XPath-like path.

    Paths use local names (``/Envelope/Body/SubmitActivationOrder/note``), with a position
    when siblings share a name (``…/referente[2]/telefono``) and ``/@name`` for attributes.
    ``skip`` as for :func:`scan_json`.
    """
    if isinstance(document, etree._ElementTree):
        root = document.getroot()
    elif isinstance(document, etree._Element):
        root = document
    else:
        tree = document.tree
        root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    return _scan(allowed, removed).strings(XmlStrings(root), skip)


def scan_text(
    raw: str, allowed: Values, removed: Values, *, path: str = "", query: bool = True
) -> list[Finding]:
    """Findings in raw text, all reported at ``path``.

    For a request target (``query``: percent-encoding and ``+`` undone) or, with
    ``query=False``, a raw body as it goes on the wire (JSON escapes, references and CDATA are
    undone either way): a belt-and-braces look at bytes a parsed document may not show, such
    as the first of two duplicate JSON keys.
    """
    scan = _scan(allowed, removed)
    return _unique(Finding(path, kind) for kind in scan.kinds(raw, query=query))


def scan_query(query: str, allowed: Values, removed: Values) -> list[Finding]:
    """Findings in a query string, per parameter (``?relatedParty.name``), names included."""
    scan = _scan(allowed, removed)
    findings: list[Finding] = []
    for index, (name, value) in enumerate(parse_qsl(query, keep_blank_values=True)):
        name_kinds = scan.kinds(name)
        safe = not name_kinds and SAFE_NAME.fullmatch(name.replace(".", "_")) is not None
        here = f"?{name}" if safe else f"?[param#{index}]"
        findings.extend(Finding(here, kind) for kind in name_kinds)
        # parse_qsl has undone one layer of percent-encoding; query=True undoes a second.
        findings.extend(Finding(here, kind) for kind in scan.kinds(value, query=True))
    return _unique(findings)


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
