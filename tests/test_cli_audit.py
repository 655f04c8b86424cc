"""The compliance commands end to end: ``civetta audit …`` and ``civetta keys rotate`` on a
real SQLite log, through :func:`proxy.cli.main` as a user would run them."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxy.audit.checkpoint import open_checkpoint
from proxy.audit.merkle import leaf_hash
from proxy.audit.proof_format import ConsistencyProof, InclusionProof
from proxy.audit.trust import read_trust
from proxy.cli import main
from proxy.keys import load_keys
from tests.audit.test_verify_support import (
    BuiltLog,
    append_requests,
    build_log,
    checkpoint_note,
    leaf_data,
    sql,
)
from tests.storage.logcheck import ORIGIN

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def built(tmp_path: Path) -> BuiltLog:
    """Six requests in ``tmp_path/audit.db``, keys in ``tmp_path/keys``, and a config file."""
    log = asyncio.run(build_log(tmp_path, 6))
    text = (REPO / "config.example.yaml").read_text()
    for old, new in (
        ("url: sqlite:///var/civetta.db", "url: sqlite:///audit.db"),
        ("dir: var/keys", "dir: keys"),
        ("origin: civetta.local/audit-log", f"origin: {ORIGIN}"),
    ):
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "civetta.yaml").write_text(text)
    return log


def run(tmp_path: Path, *argv: str) -> int:
    """``civetta <argv> --config tmp_path/civetta.yaml`` (config only where the command takes one)."""
    args = list(argv)
    if args[:2] != ["audit", "verify-bundle"]:
        args += ["--config", str(tmp_path / "civetta.yaml")]
    return main(args)


def test_trust_then_verify_exits_zero_and_writes_a_report(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``audit trust`` writes the trust file; ``audit verify`` with it exits 0, prints a
    summary and writes the JSON report."""
    trust = tmp_path / "trust.txt"
    assert run(tmp_path, "audit", "trust", "--out", str(trust)) == 0
    assert read_trust(trust) == built.anchor
    report = tmp_path / "report.json"
    assert run(tmp_path, "audit", "verify", "--trust", str(trust), "--json", str(report)) == 0
    assert "OK" in capsys.readouterr().out
    data = json.loads(report.read_text())
    assert (data["ok"], data["size"], data["counts"]["sealed_checked"]) == (True, 14, 6)


def forge_signature(db: Path) -> None:
    """Replace the signature of checkpoint 5 by another key's (same key name and id)."""
    note = checkpoint_note(db, 5)
    text, _, sig = note.partition(b"\n\n")
    blob = bytearray(base64.b64decode(sig.split(b" ")[-1]))
    blob[-1] ^= 1  # the key id stays, the Ed25519 signature breaks
    forged = text + b"\n\n" + sig.rsplit(b" ", 1)[0] + b" " + base64.b64encode(blob) + b"\n"
    sql(db, "UPDATE audit_checkpoint SET note = ? WHERE size = 5", (forged,))


@pytest.mark.parametrize(
    ("attack", "code", "check"),
    [
        (
            "UPDATE audit_leaf SET data = CAST(replace(data, 'olo-1', 'olo-2') AS BLOB) "
            "WHERE idx = 4",
            11,
            "leaf_hash",
        ),
        ("DELETE FROM audit_leaf WHERE idx >= 10", 12, "truncated"),
        (
            "UPDATE audit_checkpoint SET note = (SELECT note FROM audit_checkpoint WHERE size = 3)"
            " WHERE size = 5",
            11,
            "checkpoint_size",
        ),
        (forge_signature, 10, "bad_signature"),
    ],
)
def test_verify_exit_code_names_the_class(
    built: BuiltLog,
    tmp_path: Path,
    attack: str | Callable[[Path], None],
    code: int,
    check: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A tampered log: the exit code is the failure class, the report names the place."""
    trust = tmp_path / "trust.txt"
    trust.write_text(built.anchor.to_text())
    if callable(attack):
        attack(built.db)
    else:
        sql(built.db, attack)
    assert run(tmp_path, "audit", "verify", "--trust", str(trust), "--json", "-") == code
    first = json.loads(capsys.readouterr().out)["first_failure"]
    assert first["check"] == check
    assert first.get("index") is not None or first.get("checkpoint") is not None


def test_incremental_verify_from_a_saved_checkpoint(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A clean run saves its latest checkpoint; the next run starts from it (incremental),
    and saves the newer one."""
    held = tmp_path / "held.txt"
    trust = tmp_path / "trust.txt"
    trust.write_text(built.anchor.to_text())
    argv = ["audit", "verify", "--trust", str(trust), "--save-checkpoint", str(held)]
    assert run(tmp_path, *argv) == 0
    assert held.read_bytes() == checkpoint_note(built.db, 14)
    asyncio.run(append_requests(built, 2))
    capsys.readouterr()
    assert run(tmp_path, *argv, "--from-checkpoint", str(held)) == 0
    out = capsys.readouterr().out
    assert "incremental verification" in out and "entries 14..17" in out
    assert held.read_bytes() == checkpoint_note(built.db, 18)


def test_show_prints_no_personal_value(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By request id and by order reference: the entries, never a commitment or a body."""
    assert run(tmp_path, "audit", "show", "--request-id", "req-1") == 0
    by_request = capsys.readouterr().out
    assert [line.split()[:2] for line in by_request.splitlines()] == [
        ["4", "intent"],
        ["5", "outcome"],
    ]
    assert run(tmp_path, "audit", "show", "--order-ref", "ORD-1", "--json") == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["index"] for r in rows] == [4, 5]
    assert "commitment" not in json.dumps(rows) and "ORD-1" not in json.dumps(rows)
    assert run(tmp_path, "audit", "show", "--index", "99") == 1


def test_show_by_time_range(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Leaves whose time falls in [since, until)."""
    start = built.clock.now.replace(second=0, microsecond=0)
    until = datetime(2100, 1, 1, tzinfo=UTC).isoformat()
    assert run(tmp_path, "audit", "show", "--since", start.isoformat(), "--until", until) == 0
    assert len(capsys.readouterr().out.splitlines()) == 14


def test_prove_prints_proofs_that_verify(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``prove --index`` prints a tlog-proof; with ``--old-size`` and ``--out`` both files."""
    assert run(tmp_path, "audit", "prove", "--index", "6") == 0
    proof = InclusionProof.parse(capsys.readouterr().out.encode())
    proof.verify(leaf_hash(leaf_data(built.db, 6)), [built.signer.verifier()], ORIGIN)
    out = tmp_path / "proofs"
    assert (
        run(tmp_path, "audit", "prove", "--index", "6", "--old-size", "5", "--out", str(out)) == 0
    )
    cons = ConsistencyProof.parse((out / "5.tlog-consistency").read_bytes())
    old = open_checkpoint(checkpoint_note(built.db, 5), [built.signer.verifier()], ORIGIN)
    assert cons.verify(old, [built.signer.verifier()], ORIGIN).size == 14
    assert run(tmp_path, "audit", "prove", "--index", "6", "--old-size", "5") == 2


def test_export_then_verify_bundle(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Export by request id with openings and a held checkpoint; verify-bundle exits 0, and
    11 once a leaf file is changed."""
    held = tmp_path / "held.txt"
    held.write_bytes(checkpoint_note(built.db, 3))
    trust = tmp_path / "trust.txt"
    trust.write_text(built.anchor.to_text())
    out = tmp_path / "evidence"
    argv = ["audit", "export", "--out", str(out), "--request-id", "req-0", "--openings"]
    assert run(tmp_path, *argv, "--held-checkpoint", str(held)) == 0
    assert "PERSONAL DATA" in capsys.readouterr().out
    bundle = ["audit", "verify-bundle", str(out), "--trust", str(trust), "--held", str(held)]
    assert run(tmp_path, *bundle) == 0
    (out / "leaves/2.json").write_bytes(leaf_data(built.db, 4))
    assert run(tmp_path, *bundle) == 11
    assert run(tmp_path, "audit", "export", "--out", str(out), "--index", "2") == 2  # exists


def test_shred_then_verify(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``audit shred`` destroys the data keys of the periods before the date, with an erasure
    entry each; the log still verifies and counts the copies it can no longer open."""
    built.clock.now = datetime(2020, 3, 10, tzinfo=UTC)
    asyncio.run(append_requests(built, 2))
    assert run(tmp_path, "audit", "shred", "--before", "2999-01-01") == 2  # not the future
    capsys.readouterr()
    assert run(tmp_path, "audit", "shred", "--before", "2020-04-01") == 0
    assert "2020-03" in capsys.readouterr().out
    trust = tmp_path / "trust.txt"
    trust.write_text(built.anchor.to_text())
    assert run(tmp_path, "audit", "verify", "--trust", str(trust), "--json", "-") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["types"]["erasure"], report["counts"]["sealed_shredded"]) == (1, 2)


def test_keys_rotate_then_verify(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``keys rotate`` records the new key in the log; the proxy's next start signs with it;
    the original trust file still verifies the whole log."""
    assert run(tmp_path, "keys", "rotate") == 0
    assert "rotation done" in capsys.readouterr().out
    asyncio.run(append_requests(built, 1, keys=load_keys(built.keys_dir, generate=False)))
    trust = tmp_path / "trust.txt"
    trust.write_text(built.anchor.to_text())
    assert run(tmp_path, "audit", "verify", "--trust", str(trust)) == 0


def test_usage_errors_exit_two(built: BuiltLog, tmp_path: Path) -> None:
    """A missing trust file or an unreadable checkpoint file: exit 2 with a message."""
    assert run(tmp_path, "audit", "verify", "--trust", str(tmp_path / "nope.txt")) == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("not a trust file\n")
    assert run(tmp_path, "audit", "verify", "--trust", str(bad)) == 2
    assert run(tmp_path, "audit", "prove") == 2


def test_export_all_then_verify_bundle_whole(
    built: BuiltLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A whole-log bundle: ``verify-bundle --whole`` prints both reports and exits 0; a JSON
    list holds them."""
    trust = tmp_path / "trust.txt"
    trust.write_text(built.anchor.to_text())
    out = tmp_path / "all"
    assert run(tmp_path, "audit", "export", "--out", str(out), "--all") == 0
    capsys.readouterr()
    argv = ["audit", "verify-bundle", str(out), "--trust", str(trust), "--whole", "--json", "-"]
    assert run(tmp_path, *argv) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["mode"] for r in reports] == ["bundle", "full"]
    assert reports[1]["leaves_verified"] == 14
