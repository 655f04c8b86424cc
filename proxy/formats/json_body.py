"""Strict JSON: one reading of the bytes that every other reader must share.

A proxy and the incumbent that read the same JSON differently can be played off against each
other, so whatever parsers disagree on is refused (400): duplicate keys (one parser keeps the
first, another the last), byte order marks and UTF-16/32 (RFC 8259 §8.1), ``NaN`` and
``Infinity`` (not JSON), unpaired surrogate escapes (I-JSON, RFC 7493 §2.1), and nesting
deeper than a limit. A top-level value of any JSON type is allowed (RFC 8259 §2).

**Round trip.** :func:`serialise_json` writes compact UTF-8. Parsing its output gives back an
equal document, but the bytes of a document written by someone else are not reproduced:
insignificant whitespace, ``\\u`` escapes of characters that need none, and number spellings
(``1.0e2`` comes back as ``100.0``) are lost. That is why the proxy forwards the original bytes
whenever the policy changed nothing.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from proxy.errors import BodyError
from proxy.formats.patch import JsonPatchOp, PatchOp, parse_json_patch, pointer_tokens

__all__ = [
    "JsonPatchOp",
    "PatchOp",
    "parse_json",
    "parse_json_patch",
    "pointer_tokens",
    "serialise_json",
]

_UTF8_BOM = b"\xef\xbb\xbf"
# Bytes kept when measuring nesting, and brackets folded so that one pair spelling remains.
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_FOLD = bytes.maketrans(b"{}", b"[]")
_STEP = tuple(1 if byte == ord("[") else -1 for byte in range(256))
_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class _Duplicate(Exception):
    """Raised inside the decoder on the first repeated key; the path is found afterwards."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


def _no_constant(name: str) -> Any:
    raise BodyError(f"expected finite JSON numbers, got {name}")  # NaN, Infinity or -Infinity


_DECODER = json.JSONDecoder(object_pairs_hook=_unique, parse_constant=_no_constant)


def parse_json(data: bytes, *, max_depth: int = 64) -> Any:
    """Parse UTF-8 JSON strictly or raise :class:`BodyError` naming where, never what."""
    if data.startswith(_UTF8_BOM):
        raise BodyError("expected UTF-8 JSON without a byte order mark, got a UTF-8 BOM")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        raise BodyError("expected UTF-8 JSON, got UTF-16 or UTF-32")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(
            f"expected UTF-8 JSON, got an invalid byte sequence at byte {exc.start}"
        ) from exc
    if _depth(data, max_depth) > max_depth:
        raise BodyError(f"expected JSON nested at most {max_depth} deep, got deeper")
    try:
        doc = _DECODER.decode(text)
    except RecursionError as exc:  # a backstop: _depth should make this unreachable
        raise BodyError(f"expected JSON nested at most {max_depth} deep, got deeper") from exc
    except _Duplicate:
        raise BodyError(
            "expected unique keys in every JSON object, "
            f"got a duplicate key at {_duplicate_path(text)}"
        ) from None
    except json.JSONDecodeError as exc:
        # exc.msg is a fixed phrase ("Expecting value"): no byte of the body is shown.
        raise BodyError(
            f"expected well-formed JSON, got a syntax error at line {exc.lineno}, "
            f"column {exc.colno}: {exc.msg}"
        ) from exc
    except ValueError as exc:  # an integer longer than sys.get_int_max_str_digits()
        raise BodyError("expected JSON numbers of at most 4300 digits, got a longer one") from exc
    if _SURROGATE_ESCAPE_RE.search(data):  # rare: only then pay for a check of every string
        try:
            serialise_json(doc)
        except UnicodeEncodeError as exc:
            raise BodyError(
                "expected JSON strings of Unicode text, got an unpaired surrogate escape"
            ) from exc
    return doc


def serialise_json(doc: Any) -> bytes:
    """Serialise ``doc`` as compact UTF-8 JSON (no ASCII escaping, no NaN)."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def _depth(data: bytes, limit: int) -> int:
    """Nesting depth of arrays and objects, on the raw bytes (so a deep bomb is never built).

    Exact for well-formed JSON; may stop counting once past ``limit``.
    """
    # 1. Escaped quotes and backslashes must not toggle the inside-a-string state.
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    # 2. Keep quotes and brackets only. Dropping '""' pairs keeps every bracket's quote parity,
    #    so what remains of strings is only those that held brackets: rare, dropped next.
    skeleton = data.translate(_FOLD, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[0::2])
    if b"[" * (limit + 1) in skeleton:
        return limit + 1
    depth = 0
    if len(skeleton) <= 4096:
        # 3. Each pass removes the innermost pairs, so for balanced input passes == depth.
        while skeleton and depth <= limit:
            shorter = skeleton.replace(b"[]", b"")
            if len(shorter) == len(skeleton):
                break  # unbalanced: measure the rest in step 4
            skeleton, depth = shorter, depth + 1
        else:  # no break: balanced, or already past the limit
            return depth
    # 4. Big or unbalanced: one linear pass over what is left. Malformed input is refused by
    #    the decoder anyway, but must not reach the decoder's recursion limit first.
    return depth + max(accumulate(map(_STEP.__getitem__, skeleton)), default=0)


class _Keyed(dict[str, Any]):
    """An object that held a duplicate key (error path only)."""

    __slots__ = ("duplicate",)
    duplicate: str


def _duplicate_path(text: str) -> str:
    # Error path: decode again, marking objects with duplicates, then find the first one.
    def mark(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        keyed, seen = _Keyed(obj), set()
        for key, _ in pairs:
            if key in seen:
                keyed.duplicate = key
                break
            seen.add(key)
        return keyed

    # Numbers are not needed for a path; not converting them keeps an over-long integer later
    # in the document from raising here.
    doc = json.loads(
        text, object_pairs_hook=mark, parse_int=len, parse_float=len, parse_constant=len
    )
    stack: list[tuple[Any, str]] = [(doc, "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Keyed):
            return path + _step(node.duplicate)
        if isinstance(node, dict):
            stack.extend((value, path + _step(key)) for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((value, f"{path}[{i}]") for i, value in reversed(list(enumerate(node))))
    return "$"


def _step(key: str) -> str:
    """One JSONPath step naming ``key``: escaped, so no key can forge a log line."""
    if _NAME_RE.fullmatch(key):
        return "." + key
    return "[" + json.dumps(key if len(key) <= 64 else key[:64] + "...") + "]"
