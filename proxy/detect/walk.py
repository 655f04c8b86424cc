"""Every string of a final document, in document order, and the path that names each one.

The egress guard scans all strings of a message in one pass (:func:`finder.find_many`) and only
then asks where the flagged ones sit, so paths are built for findings only. Paths name
locations, never values: a JSON key or XML name that is itself data is named by position.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Final

from lxml import etree

#: A JSON key that may appear in a path as it is (``$.note[0].text``).
SAFE_NAME: Final = re.compile(r"[A-Za-z_@$][A-Za-z0-9_@$-]{0,63}")
_CONTENT_ONLY: Final = (etree._Comment, etree._ProcessingInstruction)


def json_texts(doc: object) -> list[str]:
    """Keys, strings and numbers of a parsed JSON document, in document order (pre-order).

    What the egress guard scans on every message: no path is built here (see
    :class:`JsonStrings`). Recursive: parsed bodies are at most 64 deep (``parse_json``).
    """
    texts: list[str] = []
    append = texts.append

    def walk(value: object) -> None:
        if isinstance(value, str):
            append(value)
        elif isinstance(value, dict):
            texts.extend([str(key) for key in value])  # a member's key before its value
            for child in value.values():
                walk(child)
        elif isinstance(value, list | tuple):
            for child in value:
                walk(child)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            append(repr(value))  # a number can be a phone too

    walk(doc)
    return texts


class JsonStrings:
    """Keys, strings and numbers of a parsed JSON document, and their JSONPaths.

    ``texts`` is collected at once; the tables that name a text's path are built only when a
    path is asked for, which on most messages (nothing found) is never.
    """

    def __init__(self, doc: object) -> None:
        """Collect the strings of ``doc`` (booleans and nulls carry no data)."""
        self._doc = doc
        self.texts = json_texts(doc)
        self._tables: _JsonTables | None = None

    def path(self, index: int, flagged: Collection[int]) -> str:
        """The JSONPath of text ``index``; keys in ``flagged`` texts are named by position."""
        if self._tables is None:
            self._tables = _JsonTables(self._doc)
        return self._tables.path_of(self._tables.owner[index], flagged)


class _JsonTables:
    """Which node each text of :func:`json_texts` belongs to, and each node's parent and name."""

    def __init__(self, doc: object) -> None:
        # Flat tables rather than objects; the same pre-order as json_texts.
        owner: list[int] = []  # per text: the node it belongs to (its value, or its key)
        parent: list[int] = [-1]
        segment: list[str | int] = ["$"]
        key_text: dict[int, int] = {}
        stack: list[tuple[object, int]] = [(doc, 0)]
        while stack:
            value, node = stack.pop()
            if isinstance(value, str):
                owner.append(node)
            elif isinstance(value, dict):
                first = len(parent)
                for key in value:
                    key_text[len(parent)] = len(owner)
                    owner.append(len(parent))
                    parent.append(node)
                    segment.append(str(key))
                children = list(value.values())
                stack.extend((children[i], first + i) for i in range(len(children) - 1, -1, -1))
            elif isinstance(value, list | tuple):
                first = len(parent)
                parent.extend([node] * len(value))
                segment.extend(range(len(value)))
                stack.extend((value[i], first + i) for i in range(len(value) - 1, -1, -1))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                owner.append(node)
        self.owner = owner
        self._parent = parent
        self._segment = segment
        self._key_text = key_text
        self._paths: dict[int, str] = {0: "$"}

    def path_of(self, node: int, flagged: Collection[int]) -> str:
        """The JSONPath of ``node``; keys in ``flagged`` texts are named by position."""
        known = self._paths.get(node)
        if known is not None:
            return known
        parent = self.path_of(self._parent[node], flagged)
        segment = self._segment[node]
        if isinstance(segment, int):
            path = f"{parent}[{segment}]"
        elif self._key_text[node] not in flagged and SAFE_NAME.fullmatch(segment):
            path = f"{parent}.{segment}"
        else:
            siblings = [n for n, p in enumerate(self._parent) if p == self._parent[node]]
            path = f"{parent}[key#{siblings.index(node)}]"
        self._paths[node] = path
        return path


def xml_texts(root: etree._Element) -> list[str]:
    """Text, attribute values and tails of ``root``'s document (comments and PIs included), in
    document order: what the egress guard scans, without what names their places."""
    texts: list[str] = []
    append = texts.append
    for node in (*root.itersiblings(preceding=True), *root.itersiblings(), *root.iter()):
        text = node.text
        if text and not text.isspace():  # indentation carries nothing
            append(text)
        if not isinstance(node, _CONTENT_ONLY):
            for value in node.values():
                append(value if isinstance(value, str) else value.decode("utf-8", "replace"))
        tail = node.tail
        if tail and not tail.isspace():
            append(tail)
    return texts


class XmlStrings:
    """Text, tails, attribute values, comments and PIs of an XML tree, and XPath-like paths.

    Paths use local names (``/Envelope/Body/SubmitActivationOrder/note``), a position when
    siblings share a name (``…/referente[2]/telefono``) and ``/@name`` for attributes. A tail
    belongs to the parent's content, so it is named by the parent. ``texts`` is collected at
    once; where each sits is worked out only when a path is asked for.
    """

    def __init__(self, root: etree._Element) -> None:
        """Collect the strings of ``root``'s document, including comments outside the root."""
        self._root = root
        self.texts = xml_texts(root)
        self._where: list[tuple[etree._Element | None, str | None]] = []
        self._paths: dict[etree._Element, str] = {}

    def _locate(self) -> None:
        # The owner of every text, in the order of xml_texts.
        root = self._root
        for node in (*root.itersiblings(preceding=True), *root.itersiblings(), *root.iter()):
            text = node.text
            if text and not text.isspace():
                self._where.append((node, None))
            if not isinstance(node, _CONTENT_ONLY):
                for name in node.attrib:
                    self._where.append((node, etree.QName(name).localname))
            tail = node.tail
            if tail and not tail.isspace():
                self._where.append((node.getparent(), None))

    def path(self, index: int, flagged: Collection[int]) -> str:
        """The path of text ``index`` (``flagged`` is unused: XML names are never data)."""
        if not self._where:
            self._locate()
        node, attribute = self._where[index]
        here = self._path_of(node) if node is not None else ""
        return f"{here}/@{attribute}" if attribute is not None else here or "/"

    def _path_of(self, node: etree._Element) -> str:
        known = self._paths.get(node)
        if known is not None:
            return known
        parent = node.getparent()
        tag = node.tag
        if isinstance(node, _CONTENT_ONLY):
            name = "comment()" if isinstance(node, etree._Comment) else "processing-instruction()"
        else:
            name = etree.QName(tag).localname
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        path = f"{self._path_of(parent) if parent is not None else ''}/{name}"
        self._paths[node] = path
        return path
