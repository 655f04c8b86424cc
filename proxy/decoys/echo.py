"""Echo detection: an end-customer value civetta never sent, back from the incumbent. PURE.

When the OSS sends an order, civetta removes the customer's values (replaced by the partner's
contact or a decoy, tokenised, dropped). If the incumbent's response or notification later
carries one of them, the incumbent had it from another path: a leak indicator, proof that
does not even need a call.

What civetta knows about an order's removed values (:class:`Knowledge`):

* ``fingerprints``: keyed fingerprints ``HMAC(commit key, "$echo" || 0 || key)`` of their
  canonical keys (E.164 for phones, the casefolded address, the upper-case code), stored per
  order when the order was sent (:func:`fingerprints_of`); the values themselves are not kept;
* ``originals``: values the token vault can still open (names, free text), matched in any
  spelling by the same detectors as the egress guard;
* ``forwarded``: values known to have been sent (partner contacts, decoys), never an echo.

:func:`find_echoes` scans every string of a JSON or XML document with the detectors of
:mod:`proxy.detect` and compares each detection by fingerprint. It returns paths, detector
kinds and fingerprints, never a value; the caller appends ``echo`` leaves and alerts
(:mod:`proxy.decoys.leaks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from proxy.detect.finder import find
from proxy.detect.known import ValueSet
from proxy.formats.patch import JsonPatchOp

#: The commitment path of echo fingerprints (not bound to a path: a value echoes anywhere).
ECHO_PATH = "$echo"

Commit = Callable[[str, str], bytes]


@dataclass(frozen=True, slots=True)
class Echo:
    """A removed value found again at ``path``: its fingerprint and the detector that saw it."""

    path: str
    commitment: bytes
    detector: str


@dataclass(frozen=True, slots=True)
class Knowledge:
    """What civetta knows about one order's removed values (see the module docstring)."""

    commit: Commit
    fingerprints: frozenset[bytes] = frozenset()
    originals: tuple[str, ...] = ()
    forwarded: tuple[str, ...] = ()


def fingerprint(commit: Commit, key: str) -> bytes:
    """The keyed fingerprint of one canonical key."""
    return commit(ECHO_PATH, key)


def fingerprints_of(commit: Commit, values: Iterable[str]) -> tuple[bytes, ...]:
    """Fingerprints of every canonical key of ``values`` (what to remember for an order)."""
    keys: set[str] = set()
    for value in values:
        keys.update(ValueSet.compile([value]).keys)
        keys.update(match.key for match in find(value))
    return tuple(sorted(fingerprint(commit, key) for key in keys if key))


def find_echoes(document: Any, knowledge: Knowledge) -> tuple[Echo, ...]:
    """Every place in ``document`` where a removed value of the order appears, once per path."""
    allowed = ValueSet.compile(knowledge.forwarded, search=False)
    removed = ValueSet.compile(knowledge.originals).without(allowed)
    if not knowledge.fingerprints and not removed.keys:
        return ()
    found: dict[tuple[str, bytes], Echo] = {}
    for path, text in strings(document):
        for match in find(text, removed, allowed):
            mark = fingerprint(knowledge.commit, match.key)
            if match.kind == "removed_value" or mark in knowledge.fingerprints:
                found.setdefault((path, mark), Echo(path, mark, match.kind))
    return tuple(found.values())


def strings(document: Any) -> Iterator[tuple[str, str]]:
    """``(path, text)`` for every string of a parsed JSON, JSON Patch or XML document."""
    if isinstance(document, etree._ElementTree):
        yield from _xml(document.getroot())
    elif isinstance(document, etree._Element):
        yield from _xml(document)
    elif hasattr(document, "tree"):
        yield from strings(document.tree)
    elif isinstance(document, tuple | list) and document and isinstance(document[0], JsonPatchOp):
        for i, op in enumerate(document):
            if isinstance(op, JsonPatchOp) and op.has_value:
                yield from _json(op.value, f"$[{i}].value")
    else:
        yield from _json(document, "$")


def _json(value: Any, path: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, here = stack.pop()
        if isinstance(node, str):
            yield here, node
        elif isinstance(node, dict):
            for index, (key, child) in enumerate(node.items()):
                name = str(key)
                # A key that is itself data is named by position, never written into a path.
                safe = name.isidentifier() and name.isascii() and len(name) <= 64
                yield f"{here}[key#{index}]", name
                stack.append((child, f"{here}.{name}" if safe else f"{here}[key#{index}]"))
        elif isinstance(node, list | tuple):
            stack.extend((child, f"{here}[{i}]") for i, child in enumerate(node))
        elif isinstance(node, int | float) and not isinstance(node, bool):
            yield here, repr(node)


def _xml(root: etree._Element) -> Iterator[tuple[str, str]]:
    def path_of(node: etree._Element) -> str:
        parts = []
        current: etree._Element | None = node
        while current is not None:
            parent = current.getparent()
            name = etree.QName(current.tag).localname
            if parent is not None:
                same = [s for s in parent if s.tag == current.tag]
                if len(same) > 1:
                    name = f"{name}[{same.index(current) + 1}]"
            parts.append(name)
            current = parent
        return "/" + "/".join(reversed(parts))

    for node in root.iter():
        if isinstance(node, etree._Comment | etree._ProcessingInstruction):
            continue  # nobody parses them: the incumbent's systems did not put data there
        here = path_of(node)
        if node.text and node.text.strip():
            yield here, node.text
        for name, value in node.attrib.items():
            yield f"{here}/@{etree.QName(name).localname}", str(value)
        if node.tail and node.tail.strip():
            parent = node.getparent()
            yield (path_of(parent) if parent is not None else "/"), node.tail
