"""Fixed-shape RFC 8785 encoders for the two leaves every forwarded message writes.

An ``intent`` and an ``outcome`` always hold the same keys, so their canonical JSON is a
template: keys in RFC 8785 order (all ASCII, so plain code-point order), strings through the C
escaper of :mod:`json` (which escapes exactly as RFC 8785: ``"``, ``\\`` and U+0000..U+001F,
the short forms and lower-case ``\\u00xx``), integers in decimal. That skips building a dict and
the generic walk of :mod:`proxy.audit.canonical` (about a fifth of the cost per leaf).

Whatever the template cannot prove byte-equal to the generic encoding (a non-``str`` where a
string belongs, a ``bool`` or an integer beyond 2**53 - 1 where an integer belongs, a lone
surrogate, an unhashable or unencodable value: any ``TypeError``) makes it answer None, and
:mod:`proxy.audit.leaves` takes the generic builder, which encodes or refuses it as before. A
property test holds the two paths byte-equal. The parts that repeat from message to message (a
field's action, path and rule; the operation) are encoded once and remembered.
"""

from __future__ import annotations

from binascii import b2a_base64
from json.encoder import encode_basestring
from typing import Any

from proxy.audit.records import (
    COMMITMENT_SIZE,
    SCHEMA_VERSION,
    BodyRecord,
    Intent,
    Operation,
    Outcome,
    b64_commitment,
)

_SAFE_INT = (1 << 53) - 1
_END = f',"v":{SCHEMA_VERSION}}}'
#: Encoded parts of what repeats from message to message: a field's action, path and rule (the
#: text around its commitment), an operation. Bounded: emptied when it grows past _MEMO_MAX.
_FIELD_PARTS: dict[tuple[str, str, str], tuple[str, str]] = {}
_OPERATIONS: dict[Operation, str] = {}
_MEMO_MAX = 4096


class _Unplain(Exception):
    """A value the template does not encode (the generic builder will)."""


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Unplain
    return encode_basestring(value)


def _opt(value: Any) -> str:
    return "null" if value is None else _str(value)


def _int(value: Any) -> str:
    if type(value) is not int or not -_SAFE_INT <= value <= _SAFE_INT:
        raise _Unplain
    return str(value)


def _b64(commitment: bytes) -> str:
    if len(commitment) != COMMITMENT_SIZE:
        return b64_commitment(commitment)  # raises, naming the length
    return b2a_base64(commitment, newline=False).decode("ascii")


def _body(body: BodyRecord) -> str:
    return (
        f'{{"commitment":"{_b64(body.commitment)}","length":{_int(body.length)},'
        f'"sealed_id":{_opt(body.sealed_id)}}}'
    )


def _operation(op: Operation) -> str:
    text = _OPERATIONS.get(op)
    if text is None:
        action = "" if op.soap_action is None else f'"action":{_str(op.soap_action)},'
        path = "" if op.template is None else f',"path":{_str(op.template)}'
        text = f'{{{action}"method":{_str(op.method)}{path}}}'
        _remember(_OPERATIONS, op, text)
    return text


def _fields(record: Intent) -> str:
    parts = []
    for f in record.fields:
        key = (f.action, f.path, f.rule)
        around = _FIELD_PARTS.get(key)
        if around is None:
            around = (
                f'{{"action":{_str(f.action)},"commitment":"',
                f'","path":{_str(f.path)},"rule":{_str(f.rule)}',
            )
            _remember(_FIELD_PARTS, key, around)
        end = "}" if f.token_id is None else f',"token_id":{_str(f.token_id)}}}'
        parts.append(f"{around[0]}{_b64(f.commitment)}{around[1]}{end}")
    return ",".join(parts)


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> None:
    if len(memo) >= _MEMO_MAX:
        memo.clear()  # paths with unusual indices could grow it without end: start again
    memo[key] = value


def intent(time: str, replica: str, intent_id: str, record: Intent) -> bytes | None:
    """The canonical bytes of an ``intent`` leaf, or None: use the generic builder."""
    try:
        ref = record.order_ref
        text = (
            f'{{"body":{_body(record.body)},"direction":{_str(record.direction)},'
            f'"fields":[{_fields(record)}],"intent_id":{_str(intent_id)},'
            f'"operation":{_operation(record.operation)},'
            f'"order_ref":{"null" if ref is None else chr(34) + _b64(ref) + chr(34)},'
            f'"partner":{_opt(record.partner)},"policy_hash":{_opt(record.policy_hash)},'
            f'"replica":{_str(replica)},"request_id":{_str(record.request_id)},'
            f'"route":{_str(record.route)},"time":{_str(time)},"type":"intent"{_END}'
        )
        return text.encode("utf-8")
    except (_Unplain, UnicodeEncodeError, TypeError):
        return None


def outcome(time: str, replica: str, record: Outcome, upstream_us: int | None) -> bytes | None:
    """The canonical bytes of an ``outcome`` leaf, or None: use the generic builder."""
    try:
        response = "null" if record.response is None else _body(record.response)
        us = "null" if upstream_us is None else _int(upstream_us)
        status = "null" if record.status is None else _int(record.status)
        text = (
            f'{{"error":{_opt(record.error)},"intent_id":{_str(record.intent_id)},'
            f'"replica":{_str(replica)},"response":{response},"status":{status},'
            f'"time":{_str(time)},"type":"outcome","upstream_us":{us}{_END}'
        )
        return text.encode("utf-8")
    except (_Unplain, UnicodeEncodeError, TypeError):
        return None
