"""Large synthetic logs, fast, for the verifier's scale test and ``bench/bench_verify.py``.

The leaves are real leaf types (``log_init``, ``key``, intent/outcome pairs) encoded once with
``rfc8785`` and then stamped by replacing fixed-width markers, which keeps them canonical and
costs a microsecond instead of the encoder's ~90 µs. Batches go through the store's own
``append_batch`` (so the same hashing and node rules as the proxy), each with a checkpoint
signed like :class:`~proxy.audit.log.AuditLog` signs them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from proxy.audit import leaves
from proxy.audit.batch import Batch, BatchEntry
from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.note import Signer
from proxy.audit.records import (
    BodyRecord,
    FieldRecord,
    Intent,
    Operation,
    Outcome,
    Stamp,
    rfc3339,
)
from proxy.storage.base import Store

_ID = "f" * 32  # uuid4().hex width
_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
_TIME = rfc3339(_START).encode()


def _templates() -> tuple[bytes, bytes]:
    body = BodyRecord(4096, hashlib.sha256(b"body").digest(), None)
    # Five removed fields, as a typical order has (contact name, phones, mail, address).
    fields = tuple(
        FieldRecord(
            f"$.relatedParty[0].contactMedium[{i}].characteristic.value",
            f"contact-{i}",
            "replace",
            hashlib.sha256(b"field %d" % i).digest(),
            "t" * 24,
        )
        for i in range(5)
    )
    intent = Intent(
        "req-" + _ID,
        "tmf622-v4",
        "outbound",
        Operation("POST", "/tmf-api/productOrderingManagement/v4/productOrder"),
        "olo-1",
        hashlib.sha256(b"order").digest(),
        "0" * 64,
        body,
        fields,
    )
    stamp = Stamp(_START, "replica-1")
    return (
        leaves.intent(stamp, _ID, intent),
        leaves.outcome(stamp, Outcome(_ID, 201, body, 12.5)),
    )


def _stamp(template: bytes, number: int) -> bytes:
    moment = rfc3339(_START + timedelta(milliseconds=number)).encode()
    return template.replace(_ID.encode(), b"%032x" % number).replace(_TIME, moment)


async def bulk_log(
    store: Store, signer: Signer, origin: str, requests: int, batch_size: int = 256
) -> int:
    """Append log_init, key and ``requests`` intent/outcome pairs; return the tree size."""
    if batch_size < 2:
        raise ValueError(f"expected batches of at least 2 leaves, got {batch_size}")
    verifier = signer.verifier()
    stamp = Stamp(_START, "replica-1")
    first = [
        leaves.log_init(stamp, origin, verifier.name, verifier.public_key, verifier.key_id),
        leaves.key(stamp, verifier.name, verifier.public_key, verifier.key_id, None),
    ]
    intent, outcome = _templates()

    def sign(size: int, root: bytes) -> bytes:
        return sign_checkpoint(Checkpoint(origin, size, root), [signer])

    pending = [BatchEntry(d) for d in first]
    size = 0
    for n in range(requests):
        pending.append(BatchEntry(_stamp(intent, n)))
        pending.append(BatchEntry(_stamp(outcome, n)))
        if len(pending) >= batch_size or n == requests - 1:
            size = (await store.append_batch(Batch(tuple(pending), sign, "replica-1"))).size
            pending = []
    if pending:
        size = (await store.append_batch(Batch(tuple(pending), sign, "replica-1"))).size
    return size
