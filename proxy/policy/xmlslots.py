"""XML paths and slots: where an element, text or attribute is, and how to edit it.

Paths are prefix-free (``/Envelope/Body/SubmitActivationOrder/referenti/referente[2]/telefono``):
local names, with a position only where siblings share a name, so that the same element gets
the same path whatever prefixes the OSS chose. :class:`Paths` computes them once per element
per message (siblings in one pass), since every decision needs one.
"""

from __future__ import annotations

from lxml import etree


def is_element(node: etree._Element) -> bool:
    """Whether ``node`` is an element (not a comment or processing instruction)."""
    tag: object = node.tag  # a function for comments and PIs, whatever the stubs say
    return isinstance(tag, str)


class Paths:
    """Memoised element paths for one document (valid while no element moves)."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[etree._Element, str] = {}

    def of(self, element: etree._Element) -> str:
        """The path of ``element``."""
        found = self._cache.get(element)
        if found is not None:
            return found
        parent = element.getparent()
        if parent is None:
            path = "/" + etree.QName(element).localname
            self._cache[element] = path
            return path
        base = self.of(parent)
        # One pass over the siblings names them all: their paths are usually needed next.
        # Each tag is read once (lxml builds a new string per read).
        children = list(parent)
        tags: list[object] = [child.tag for child in children]
        counts: dict[object, int] = {}
        for tag in tags:
            counts[tag] = counts.get(tag, 0) + 1
        seen: dict[object, int] = {}
        cache = self._cache
        for child, tag in zip(children, tags, strict=True):
            # Clark notation: '{uri}local' or 'local'; rpartition is the cheap QName.localname.
            step = tag.rpartition("}")[2] if isinstance(tag, str) else "comment()"
            if counts[tag] > 1:
                seen[tag] = position = seen.get(tag, 0) + 1
                step = f"{step}[{position}]"
            cache[child] = f"{base}/{step}"
        return self._cache[element]


class TextSlot:
    """The text of an element (``tail=False``) or the text after it (``tail=True``)."""

    __slots__ = ("element", "paths", "tail")

    def __init__(self, paths: Paths, element: etree._Element, tail: bool = False) -> None:
        self.paths, self.element, self.tail = paths, element, tail

    @property
    def path(self) -> str:
        """The element's path, or its parent's path + ``/text()`` for a tail."""
        if self.tail:
            parent = self.element.getparent()
            return (self.paths.of(parent) if parent is not None else "") + "/text()"
        return self.paths.of(self.element)

    @property
    def text(self) -> str:
        """The text (CDATA and character references resolved)."""
        return (self.element.tail if self.tail else self.element.text) or ""

    @property
    def ident(self) -> object:
        """The element and which of its texts.

        The element itself, not its ``id()``: lxml makes a new proxy object for a node each
        time it is reached, and a dead proxy's address is soon reused by another node's, so
        an ``id()`` would make two places look like one and leave the second unedited.
        """
        return (self.element, self.tail)

    def set(self, text: str) -> None:
        """Replace the text."""
        if self.tail:
            self.element.tail = text
        else:
            self.element.text = text


class AttributeSlot:
    """One attribute's value."""

    __slots__ = ("element", "name", "paths")

    def __init__(self, paths: Paths, element: etree._Element, name: str) -> None:
        self.paths, self.element, self.name = paths, element, name

    @property
    def path(self) -> str:
        """The element's path + ``/@local``."""
        return f"{self.paths.of(self.element)}/@{etree.QName(self.name).localname}"

    @property
    def text(self) -> str:
        """The value."""
        return str(self.element.get(self.name, ""))

    @property
    def ident(self) -> object:
        """The element (not its ``id()``: see :attr:`TextSlot.ident`) and the attribute's name."""
        return (self.element, self.name)

    def set(self, text: str) -> None:
        """Replace the value."""
        self.element.set(self.name, text)
