"""The verifier's small parts: report and exit codes, the trust file, the key schedule."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from proxy.audit import leaves
from proxy.audit.checkpoint import Checkpoint, sign_checkpoint
from proxy.audit.merkle import leaf_hash
from proxy.audit.note import Signer, open_note
from proxy.audit.records import Stamp
from proxy.audit.trust import (
    TrustAnchor,
    TrustError,
    anchor_from_log_init,
    read_trust,
    write_trust,
)
from proxy.audit.verify_keys import KeyChainError, KeySchedule
from proxy.audit.verify_report import Failure, FailureClass, FailureLog, Report
from tests.storage.logcheck import ORIGIN, Clock

SIG, LEAF, CONS, SEM = (
    FailureClass.SIGNATURE,
    FailureClass.LEAF,
    FailureClass.CONSISTENCY,
    FailureClass.SEMANTICS,
)

# --- report ------------------------------------------------------------------------------


def report(*failures: Failure) -> Report:
    """A report holding ``failures``."""
    log = FailureLog()
    for f in failures:
        log.add(f)
    return Report(ORIGIN, "full", 10, 0, 10, 3, log.failures, log.counts)


def test_exit_code_is_the_lowest_class_found() -> None:
    """Signature outranks leaf, leaf outranks consistency, consistency outranks semantics."""
    assert report().exit_code == 0 and report().ok
    assert report(Failure(SEM, "x", "m", 1)).exit_code == 13
    assert report(Failure(SEM, "x", "m", 1), Failure(CONS, "y", "m", 9)).exit_code == 12
    assert report(Failure(CONS, "y", "m"), Failure(LEAF, "z", "m", 7)).exit_code == 11
    assert report(Failure(LEAF, "z", "m", 0), Failure(SIG, "s", "m", 5)).exit_code == 10


def test_first_failure_is_the_earliest_entry_of_the_deciding_class() -> None:
    """Within the class, the smallest index; at one index the one naming an intent."""
    chosen = report(
        Failure(LEAF, "root_mismatch", "m", 5, 6),
        Failure(LEAF, "leaf_hash", "m", 5, None, "abc"),
        Failure(LEAF, "missing_leaf", "m", 8),
        Failure(SEM, "canonical", "m", 1),
    ).first_failure
    assert chosen is not None and (chosen.check, chosen.intent_id) == ("leaf_hash", "abc")


def test_json_report_and_summary_name_the_entry() -> None:
    """The JSON has the documented fields; the summary names the class, entry and intent."""
    r = report(Failure(SEM, "intent_without_outcome", "expected an outcome", 4, None, "i-1"))
    data: dict[str, Any] = json.loads(r.dumps())
    assert {"ok", "exit_code", "size", "from_size", "counts", "types", "keys", "failures"} <= set(
        data
    )
    assert data["first_failure"] == {
        "class": "semantics",
        "check": "intent_without_outcome",
        "index": 4,
        "intent_id": "i-1",
        "message": "expected an outcome",
    }
    assert "FAILED (exit 13)" in r.summary() and "entry 4 (intent i-1)" in r.summary()


def test_failure_log_counts_everything_lists_a_bounded_number() -> None:
    """Counts stay exact past the list's limit, and a worse class still gets listed."""
    log = FailureLog(limit=3)
    for i in range(10):
        log.add(Failure(SEM, "canonical", "m", i))
    log.add(Failure(SIG, "bad_signature", "m", checkpoint=4))
    assert log.counts == {"semantics": 10, "signature": 1}
    assert len(log.failures) == 3 and any(f.cls is SIG for f in log.failures)


# --- trust file --------------------------------------------------------------------------


def test_trust_file_round_trips_and_refuses_to_overwrite(tmp_path: Path) -> None:
    """Written with comments, read back equal; a second write to the same path fails."""
    anchor = TrustAnchor(ORIGIN, Signer.generate(ORIGIN).verifier())
    path = tmp_path / "trust.txt"
    write_trust(anchor, path)
    assert read_trust(path) == anchor
    assert path.read_text().startswith("civetta/trust@v1\n# ")
    with pytest.raises(FileExistsError):
        write_trust(anchor, path)


@pytest.mark.parametrize(
    "text",
    [
        "civetta/trust@v1\norigin a\n",  # no key
        "civetta/trust@v2\norigin a\nvkey {vkey}\n",  # another format
        "civetta/trust@v1\nvkey {vkey}\norigin a\n",  # order
        "civetta/trust@v1\norigin a\nvkey {vkey}",  # no final newline
        "civetta/trust@v1\norigin a\nvkey {bad}\n",  # key id not matching the key
    ],
)
def test_malformed_trust_files_are_refused(text: str) -> None:
    """Strict parsing: one form only."""
    verifier = Signer.generate(ORIGIN).verifier()
    vkey = verifier.to_vkey()
    bad = vkey.replace(vkey.split("+")[1], "00000000")
    with pytest.raises(TrustError):
        TrustAnchor.parse(text.format(vkey=vkey, bad=bad))


def test_anchor_from_log_init_reads_the_first_entry() -> None:
    """log_init names the origin and the key; anything else is refused."""
    verifier = Signer.generate(ORIGIN).verifier()
    stamp = Stamp(Clock().now, "r1")
    init = leaves.log_init(stamp, ORIGIN, verifier.name, verifier.public_key, verifier.key_id)
    assert anchor_from_log_init(init) == TrustAnchor(ORIGIN, verifier)
    with pytest.raises(TrustError):
        anchor_from_log_init(leaves.heartbeat(stamp))


# --- key schedule ------------------------------------------------------------------------


def key_leaf(new: Signer, previous: Signer | None) -> dict[str, Any]:
    """A parsed ``key`` leaf introducing ``new`` after ``previous``."""
    data = leaves.key(
        Stamp(Clock().now, "r1"),
        new.name,
        new.verifier().public_key,
        new.key_id,
        None if previous is None else previous.key_id,
    )
    value: dict[str, Any] = json.loads(data)
    return value


def signed(size: int, *signers: Signer) -> Any:
    """A checkpoint of ``size`` opened with every signer's key."""
    note = sign_checkpoint(Checkpoint(ORIGIN, size, leaf_hash(b"r")), list(signers))
    return open_note(note, [s.verifier() for s in signers])


def test_rotation_closes_the_old_key_at_the_publishing_checkpoint() -> None:
    """Old key valid up to the first checkpoint covering the key leaf, new one from it on."""
    old, new = Signer.generate(ORIGIN), Signer.generate(ORIGIN)
    schedule = KeySchedule(TrustAnchor(ORIGIN, old.verifier()))
    schedule.apply(1, key_leaf(old, None))  # the initial key leaf restates the trust key
    schedule.check(5, signed(5, old))
    schedule.apply(6, key_leaf(new, old))
    schedule.check(8, signed(8, old, new))  # publishes the rotation
    schedule.check(9, signed(9, new))
    schedule.check(10, signed(10, old, new))  # overlap: accepted, the new key relied on
    with pytest.raises(KeyChainError, match="in force"):
        schedule.check(11, signed(11, old))
    assert [(k["first_size"], k["last_size"]) for k in schedule.to_json()] == [(0, 8), (7, None)]


def test_rotation_must_be_published_under_the_old_key() -> None:
    """A key leaf whose first covering checkpoint lacks the old key's signature is refused."""
    old, new = Signer.generate(ORIGIN), Signer.generate(ORIGIN)
    schedule = KeySchedule(TrustAnchor(ORIGIN, old.verifier()))
    schedule.apply(3, key_leaf(new, old))
    with pytest.raises(KeyChainError) as caught:
        schedule.check(4, signed(4, new))
    assert caught.value.check == "rotation_unsigned"


@pytest.mark.parametrize("case", ["unknown_previous", "second_initial", "reused", "bad_id"])
def test_broken_key_chains_are_refused(case: str) -> None:
    """A previous key not in force, a second initial key, a known key again, a wrong id."""
    old, new, other = (Signer.generate(ORIGIN) for _ in range(3))
    schedule = KeySchedule(TrustAnchor(ORIGIN, old.verifier()))
    leaf = {
        "unknown_previous": key_leaf(new, other),
        "second_initial": key_leaf(new, None),
        "reused": key_leaf(old, old),
        "bad_id": {**key_leaf(new, old), "key_id": f"{other.key_id:08x}"},
    }[case]
    with pytest.raises(KeyChainError):
        schedule.apply(4, leaf)


def test_log_init_must_match_the_trust_file() -> None:
    """log_init naming another origin or key: the log is not the one trusted."""
    trusted, other = Signer.generate(ORIGIN), Signer.generate(ORIGIN)
    schedule = KeySchedule(TrustAnchor(ORIGIN, trusted.verifier()))
    v = other.verifier()
    leaf = json.loads(
        leaves.log_init(Stamp(Clock().now, "r"), ORIGIN, v.name, v.public_key, v.key_id)
    )
    with pytest.raises(KeyChainError, match="trust file"):
        schedule.apply(0, leaf)
    leaf["public_key"] = base64.b64encode(trusted.verifier().public_key).decode()
    leaf["key_id"] = f"{trusted.key_id:08x}"
    schedule.apply(0, leaf)
