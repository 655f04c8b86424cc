"""``civetta trace``, ``civetta evidence`` and ``civetta report`` through the command line, on
the scenario of :mod:`tests.trace_world` in a SQLite file named by a configuration."""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from proxy.audit.note import Signer
from proxy.audit.trust import TrustAnchor
from proxy.cli_audit import register as register_audit
from proxy.cli_trace import register
from proxy.report import month_report
from proxy.storage import open_store
from tests.conftest import run_in_thread
from tests.storage.logcheck import ORIGIN
from tests.trace_world import PLANTED, REFS, World, build_world

CONFIG = """\
listeners:
  oss: {port: 18080}
  incumbent: {port: 18081}
  admin: {port: 18082}
routes:
  - {name: a, direction: outbound, protocol: rest, path_prefix: /x/, upstream: "http://127.0.0.1:9"}
storage: {url: "sqlite:///data/civetta.db"}
keys: {dir: keys}
minimisation: {partners_file: partners.yaml, policies_dir: policies}
audit: {origin: civetta.example/olo-log}
"""
PARTNERS = "partners:\n  - {id: P-001, name: Installatori, phone: '+39 02 1234 5678', email: o@i.example.it}\n"


def main(argv: Sequence[str]) -> int:
    """Parse ``argv`` with the trace commands (and ``audit …``) registered, and run it."""
    parser = argparse.ArgumentParser(prog="civetta")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    register_audit(sub, sub.add_parser("keys").add_subparsers(dest="keys_command"))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.fixture
def world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> World:
    """The scenario built (and closed) under ``tmp_path``, with a configuration naming it."""

    async def build() -> World:
        built = await build_world(tmp_path)
        await built.close()
        return built

    (tmp_path / "partners.yaml").write_text(PARTNERS)
    (tmp_path / "civetta.yaml").write_text(CONFIG)
    built = run_in_thread(build)
    capsys.readouterr()  # the log lines of building it
    return built


def cfg(tmp_path: Path) -> list[str]:
    """``--config`` and the file."""
    return ["--config", str(tmp_path / "civetta.yaml")]


def test_trace_by_contact_prints_the_order_and_no_personal_value(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The decoy in national form: the order's commitment, each message and contact by entry,
    the caller masked; nothing planted in the output."""
    a = world.orders["A"]
    phone = a.decoys.phone or ""
    assert main(["trace", *cfg(tmp_path), "--contact", phone[3:]]) == 0
    out = capsys.readouterr()
    assert out.out.startswith(f"decoy {phone}: 1 order(s), 2 message(s), 3 contact(s)")
    assert base64.b64encode(a.key).decode() in out.out
    for sent in (s for s in a.sent if "phone" in s.kinds):
        assert f"entry {sent.index}  tmf622" in out.out and sent.intent_id in out.out
    assert "from +39********77: suspicious (unknown_caller)" in out.out
    for value in PLANTED:
        assert value not in out.out + out.err


def test_trace_json_and_proof_files(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` carries every proof; ``--proofs DIR`` writes the same bytes as files."""
    email = world.orders["A"].decoys.email or ""
    proofs = tmp_path / "proofs"
    assert (
        main(["trace", *cfg(tmp_path), "--contact", email, "--json", "--proofs", str(proofs)]) == 0
    )
    found = json.loads(capsys.readouterr().out)
    assert found["subject"] == "contact" and found["decoy"] == email
    assert sorted(int(i) for i in found["proofs"]) == found["entries"]
    for index in found["entries"]:
        assert (proofs / f"{index}.tlog-proof").read_text() == found["proofs"][str(index)]


def test_trace_by_order_never_prints_the_reference(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By reference: found through its commitment, which is printed; the reference is not."""
    assert main(["trace", *cfg(tmp_path), "--order", REFS["C"]]) == 0
    out = capsys.readouterr().out
    assert base64.b64encode(world.orders["C"].key).decode() in out
    assert REFS["C"] not in out and "after_order_closed" in out


def test_trace_exit_codes(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing found: 1. Not a number or an address: 2, with a message naming no value."""
    assert main(["trace", *cfg(tmp_path), "--order", "OLO-ORD-UNKNOWN"]) == 1
    assert "nothing found" in capsys.readouterr().out
    assert main(["trace", *cfg(tmp_path), "--contact", "the technician"]) == 2
    assert "expected a phone number or an e-mail address" in capsys.readouterr().err


def test_evidence_pack_verifies_with_the_audit_command_and_catches_a_changed_report(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``civetta evidence`` writes a pack that ``civetta audit verify-bundle`` accepts with
    the regulator's trust file; one changed byte of report.html makes it exit 11."""
    trust = tmp_path / "regulator-trust.txt"
    anchor = TrustAnchor(ORIGIN, Signer(ORIGIN, world.keys.signing_key).verifier())
    trust.write_text(anchor.to_text())
    pack = tmp_path / "pack"
    phone = world.orders["A"].decoys.phone or ""
    assert main(["evidence", *cfg(tmp_path), "--contact", phone, "--out", str(pack)]) == 0
    out = capsys.readouterr().out
    assert "8 entries proven" in out and "openings of 2 forwarded message(s)" in out
    assert main(["audit", "verify-bundle", str(pack), "--trust", str(trust)]) == 0
    html = bytearray((pack / "report.html").read_bytes())
    html[html.index(b"Timeline")] ^= 0x20
    (pack / "report.html").write_bytes(bytes(html))
    assert main(["audit", "verify-bundle", str(pack), "--trust", str(trust)]) == 11
    assert "report.html" in capsys.readouterr().out
    assert main(["evidence", *cfg(tmp_path), "--contact", phone, "--out", str(pack)]) == 2


def test_evidence_without_openings_and_for_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--no-openings`` leaves the forwarded bytes out; an unknown order writes nothing."""
    pack = tmp_path / "pack"
    args = ["evidence", *cfg(tmp_path), "--order", REFS["B"], "--out", str(pack), "--no-openings"]
    assert main(args) == 0
    assert not (pack / "openings").exists() and (pack / "report.html").is_file()
    nothing = tmp_path / "nothing"
    assert (
        main(["evidence", *cfg(tmp_path), "--order", "OLO-ORD-UNKNOWN", "--out", str(nothing)]) == 1
    )
    assert not nothing.exists()


def test_report_writes_html_and_json(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out``: both files, the JSON equal to the figures; a bad month exits 2."""
    out = tmp_path / "reports"
    assert main(["report", *cfg(tmp_path), "--month", "2026-11", "--out", str(out)]) == 0

    async def figures() -> dict[str, object]:
        store = open_store(world.url)
        await store.open()
        try:
            return (await month_report(store, "2026-11")).to_json()
        finally:
            await store.close()

    assert json.loads((out / "report-2026-11.json").read_text()) == run_in_thread(figures)
    assert (out / "report-2026-11.html").read_text().startswith("<!DOCTYPE html>")
    capsys.readouterr()
    assert main(["report", *cfg(tmp_path), "--month", "2026-10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["messages"] == {"soap-wba": 1, "tmf622": 3}
    assert main(["report", *cfg(tmp_path), "--month", "2026-10"]) == 0
    assert "messages forwarded per route: soap-wba 1, tmf622 3" in capsys.readouterr().out
    assert main(["report", *cfg(tmp_path), "--month", "October"]) == 2
    assert "expected a month as YYYY-MM" in capsys.readouterr().err
