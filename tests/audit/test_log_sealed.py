"""Sealed copies through the AuditLog: shredding keeps the log verifiable; the canary test."""

from __future__ import annotations

import base64
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from proxy.audit.leaves import BodyRecord, FieldRecord, Intent, Operation, Outcome
from proxy.audit.log import AuditLog
from proxy.audit.sealed import SealedError, Shredded
from proxy.keys import KeyMaterial
from tests.storage.logcheck import Clock, check_whole_log, keys_in, open_log, parse


@pytest.fixture
def keys(tmp_path: Path) -> KeyMaterial:
    """Key files for the test's log."""
    return keys_in(tmp_path / "keys")


async def sealed_intent(log: AuditLog, body: bytes, values: dict[str, str]) -> str:
    """Seal ``body`` and record an intent whose removed ``values`` (path -> value) are
    committed; return the sealed id."""
    sealing = await log.seal(body)
    fields = tuple(
        FieldRecord(path, f"rule-{i}", "replace", log.commit(path, value), f"tok-{i}")
        for i, (path, value) in enumerate(values.items())
    )
    record = Intent(
        request_id="req-1",
        route="tmf622",
        direction="outbound",
        operation=Operation("POST", "/tmf-api/productOrder"),
        partner="partner-1",
        order_ref=log.commit("order_ref", values.get("$.externalId", "none")),
        policy_hash="ab" * 32,
        body=sealing.body,
        fields=fields,
    )
    receipt = await log.append_intent(record, sealing)
    assert receipt.intent_id is not None
    response = BodyRecord(2, log.commit("$response", b"{}"))
    await log.append_outcome(Outcome(receipt.intent_id, 201, response, 4.0))
    return sealing.sealed_id


async def test_shredding_destroys_old_copies_and_the_log_still_verifies(
    store_url: str, keys: KeyMaterial
) -> None:
    """Copies of periods wholly before the date become unreadable, an erasure leaf records each
    period, later copies still open, and every leaf and checkpoint still verifies."""
    clock = Clock(datetime(2026, 9, 15, tzinfo=UTC))
    log = await open_log(store_url, keys, clock=clock)
    try:
        september = await sealed_intent(log, b"<september/>", {"$.phone": "1"})
        clock.now = datetime(2026, 10, 2, tzinfo=UTC)
        october = await sealed_intent(log, b"<october/>", {"$.phone": "2"})
        clock.now = datetime(2026, 11, 20, tzinfo=UTC)
        november = await sealed_intent(log, b"<november/>", {"$.phone": "3"})
        with pytest.raises(ValueError, match="current period"):
            await log.shred(date(2026, 12, 1))
        assert await log.shred(date(2026, 11, 1)) == ["2026-09", "2026-10"]
        for sealed_id in (september, october):
            with pytest.raises(Shredded):
                await log.open_sealed(sealed_id)
        assert (await log.open_sealed(november))[1] == b"<november/>"
        data = await check_whole_log(log.store, log.signer.verifier())
        erasures = [parse(d) for d in data if parse(d)["type"] == "erasure"]
        assert [(e["period"], e["before"]) for e in erasures] == [
            ("2026-09", "2026-11-01"),
            ("2026-10", "2026-11-01"),
        ]
        assert await log.shred(date(2026, 11, 1)) == []  # nothing left to shred
    finally:
        await log.stop()
        await log.store.close()


async def test_an_altered_copy_does_not_open(tmp_path: Path, keys: KeyMaterial) -> None:
    """A byte changed in a stored ciphertext is detected when the copy is opened."""
    path = tmp_path / "data" / "civetta.db"
    log = await open_log(f"sqlite:///{path}", keys)
    sealed_id = await sealed_intent(log, b"<order/>", {})
    with sqlite3.connect(path) as raw:
        raw.execute(
            "UPDATE audit_sealed SET ciphertext = CAST(X'00' || substr(ciphertext, 2) AS BLOB)"
        )
    with pytest.raises(SealedError, match="altered"):
        await log.open_sealed(sealed_id)
    await log.stop()
    await log.store.close()


def _forms(marker: str) -> list[bytes]:
    """The byte forms a leaked value could take on disk: UTF-8, UTF-16, and base64 at each
    alignment (trimmed of the characters that depend on neighbouring bytes)."""
    raw = marker.encode()
    forms = [raw, marker.encode("utf-16-le"), marker.encode("utf-16-be")]
    forms += [base64.b64encode(b"\x00" * s + raw)[4:-4] for s in range(3)]
    return forms


def _files_containing(directory: Path, marker: str) -> list[str]:
    hits = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        content = path.read_bytes()
        if any(form in content for form in _forms(marker)):
            hits.append(path.name)
    return hits


async def test_canary_contacts_reach_no_file(tmp_path: Path, keys: KeyMaterial) -> None:
    """Unique fake contacts, committed in intents and sealed in the copies, appear in no byte
    of the database, its WAL or any other file in the data directory; a control value
    written in clear is found, so the search itself works."""
    data_dir = tmp_path / "data"
    log = await open_log(f"sqlite:///{data_dir / 'civetta.db'}", keys)
    canaries = {
        "$.phone": "+39 333 918 2736",
        "$.email": "canary.7f3a9c@example.net",
        "$.name": "Zebedeo Quarantotto",
        "$.externalId": "ORD-CANARY-55821",
    }
    body = ("<order>" + "".join(f"<v>{v}</v>" for v in canaries.values()) + "</order>").encode()
    for _ in range(5):
        await sealed_intent(log, body, canaries)
    control = "CONTROL-e1b2c3d4-in-clear"
    await log.store.set_meta("control", control)
    assert (data_dir / "civetta.db-wal").exists()
    assert _files_containing(data_dir, control), "the search finds a value written in clear"
    for marker in canaries.values():
        assert _files_containing(data_dir, marker) == [], marker
    await log.stop()
    await log.store.close()
    for marker in canaries.values():
        assert _files_containing(data_dir, marker) == [], marker
