"""JSON Patch (RFC 6902), TM Forum JSON Patch Query, and JSON Pointer (RFC 6901).

:func:`parse_json_patch` checks the structure of an already parsed document (see
:func:`proxy.formats.json_body.parse_json`); applying operations is the engine's business.

Stricter than RFC 6902 §4 on one point: members an operation does not define (``value`` on a
``remove``, an unknown ``foo``) must be ignored by a receiver, so no policy would look at
them, yet they still travel upstream. They are refused instead, so nothing rides along unseen.

JSON Patch Query (TMF630 Part 5, ``application/json-patch-query+json``) writes a filter after
the pointer, as in ``/note?id=77456``; it is kept apart in :attr:`JsonPatchOp.query`. The
JSONPath form of that guideline (``$.note[?(@.id=='1')]``) is not accepted.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from proxy.errors import BodyError

_BAD_TILDE_RE = re.compile(r"~(?![01])")
# name=value terms joined by '&', as TMF630 Part 5 writes them (e.g. id=77456&role=customer).
_QUERY_RE = re.compile(r"[^&=]+=[^&]*(?:&[^&=]+=[^&]*)*")


class PatchOp(enum.Enum):
    """The six RFC 6902 operations."""

    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"
    MOVE = "move"
    COPY = "copy"
    TEST = "test"


_WITH_VALUE = frozenset({PatchOp.ADD, PatchOp.REPLACE, PatchOp.TEST})
_WITH_FROM = frozenset({PatchOp.MOVE, PatchOp.COPY})
_OPS = ", ".join(op.value for op in PatchOp)


@dataclass(frozen=True, slots=True)
class JsonPatchOp:
    """One checked operation; ``value`` is meaningful only when ``has_value`` (null is a value)."""

    index: int
    op: PatchOp
    path: str  # a JSON Pointer; in JSON Patch Query the part before '?'
    query: str | None = None  # JSON Patch Query only: the filter after '?', raw
    from_: str | None = None
    value: Any = None
    has_value: bool = False
    #: JSON Patch Query only: the pointer after the filter (``/text`` in ``/note?id=7/text``).
    subpath: str = ""

    @property
    def target(self) -> str:
        """The ``path`` member as it was written (pointer, filter and sub-path)."""
        if self.query is None:
            return self.path
        return f"{self.path}?{self.query}{self.subpath}"


def pointer_tokens(path: str) -> tuple[str, ...]:
    """Split a JSON Pointer into unescaped reference tokens (``~1`` is ``/``, ``~0`` is ``~``)."""
    if path == "":
        return ()  # the whole document
    if not path.startswith("/"):
        raise BodyError("expected a JSON Pointer starting with '/', got another form")
    tokens = path[1:].split("/")
    if "~" not in path:
        return tuple(tokens)
    if _BAD_TILDE_RE.search(path):
        raise BodyError(
            "expected '~' in a JSON Pointer to be followed by 0 or 1, got another character"
        )
    # ~1 first: "~01" is the token "~1", not "/" (RFC 6901 §4).
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def parse_json_patch(doc: Any, *, query: bool = False) -> tuple[JsonPatchOp, ...]:
    """Check ``doc`` as a JSON Patch (``query=True``: JSON Patch Query) and return its operations.

    Errors name the operation's index and member, never a value.
    """
    if not isinstance(doc, list):
        raise BodyError(f"expected a JSON Patch array of operations, got {_kind(doc)}")
    return tuple(_operation(index, item, query) for index, item in enumerate(doc))


def _operation(index: int, item: Any, query: bool) -> JsonPatchOp:
    where = f"JSON Patch operation {index}"
    if not isinstance(item, dict):
        raise BodyError(f"{where}: expected an object, got {_kind(item)}")
    name = item.get("op")
    op = next((op for op in PatchOp if op.value == name), None)
    if op is None:
        raise BodyError(f"{where}: expected 'op' to be one of {_OPS}, got {_got(item, 'op')}")
    allowed = (
        {"op", "path"}
        | ({"value"} if op in _WITH_VALUE else set())
        | ({"from"} if op in _WITH_FROM else set())
    )
    extra = sorted(set(item) - allowed)
    if extra:
        shown = ", ".join(repr(key[:32]) for key in extra[:5])
        raise BodyError(
            f"{where}: expected only members {sorted(allowed)} for {op.value}, got {shown}"
        )
    path, filter_, subpath = _split(where, item, "path", query)
    source = _split(where, item, "from", False)[0] if op in _WITH_FROM else None
    if op in _WITH_VALUE and "value" not in item:
        raise BodyError(f"{where}: expected a 'value' member for {op.value}, got none")
    return JsonPatchOp(
        index, op, path, filter_, source, item.get("value"), "value" in item, subpath
    )


def _split(
    where: str, item: dict[str, Any], member: str, query: bool
) -> tuple[str, str | None, str]:
    """Check a pointer member; for JSON Patch Query, split off the filter and the sub-path."""
    raw = item.get(member)
    if not isinstance(raw, str):
        raise BodyError(
            f"{where}: expected '{member}' to be a JSON Pointer string, got {_got(item, member)}"
        )
    pointer, mark, filter_ = raw.partition("?") if query else (raw, "", "")
    # The filter ends where the pointer into the selected item resumes: /note?id=7/text.
    filter_, slash, rest = filter_.partition("/")
    subpath = slash + rest
    try:
        pointer_tokens(pointer)
        pointer_tokens(subpath)
    except BodyError as exc:
        raise BodyError(f"{where}: '{member}': {exc.message}") from exc
    if mark and not _QUERY_RE.fullmatch(filter_):
        raise BodyError(
            f"{where}: expected name=value terms joined by '&' after '?', got another form"
        )
    return pointer, filter_ if mark else None, subpath


def _got(item: dict[str, Any], member: str) -> str:
    """What ``item[member]`` is, for messages: its JSON kind, never its content."""
    if member not in item:
        return "none"
    value = item[member]
    if isinstance(value, str):
        return "another string"
    return _kind(value)


def _kind(value: Any) -> str:
    """The JSON kind of ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
