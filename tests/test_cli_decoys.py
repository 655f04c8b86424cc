"""``civetta contact add`` and ``civetta decoys …`` on a real SQLite store and audit log."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from proxy.cli_decoys import open_service, register
from proxy.config import Config, load_config
from proxy.keys import load_keys
from proxy.storage import open_store

ORDER = "OLO-ORD-2026-004242"
AGENT = "+39 347 111 2233"
CONFIG = """\
listeners:
  oss: {{port: 18080}}
  incumbent: {{port: 18081}}
  admin: {{port: 18082}}
routes:
  - {{name: a, direction: outbound, protocol: rest, path_prefix: /x/, upstream: "http://127.0.0.1:9"}}
storage: {{url: "sqlite:///data/civetta.db"}}
keys: {{dir: keys}}
minimisation: {{partners_file: partners.yaml, policies_dir: policies}}
audit: {{origin: civetta.example/olo-log}}
{decoys}"""
DECOYS = """\
decoys:
  phone_ranges: [{from: "+390299990000", to: "+390299990009"}]
  email_domain: alias.olo.example.it
  expected_callers: ["+390612345678"]
"""
PARTNERS = """\
partners:
  - {id: P-001, name: Installatori Riuniti, phone: "+39 02 1234 5678", email: ordini@inst.example.it}
"""


def main(argv: Sequence[str]) -> int:
    """Parse ``argv`` with only the decoy commands registered, and run it."""
    parser = argparse.ArgumentParser(prog="civetta")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """The commands configure structlog for the process: put the defaults back afterwards."""
    yield
    structlog.reset_defaults()


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    """A configuration with decoys, keys generated, one order holding a phone decoy."""
    (tmp_path / "partners.yaml").write_text(PARTNERS)
    path = tmp_path / "civetta.yaml"
    path.write_text(CONFIG.format(decoys=DECOYS))
    load_keys(tmp_path / "keys", generate=True)
    return path


def assign(cfg: Config) -> str:
    """Give ORDER a phone decoy, as the proxy would; return it."""

    async def run() -> str:
        async with open_service(cfg) as service:
            decoys = await service.assign(ORDER, "P-001", {"phone"})
            assert decoys.phone is not None
            return decoys.phone

    return asyncio.run(run())


def leaves(cfg: Config, kind: str) -> list[dict[str, object]]:
    """The leaves of one type in the configured store."""

    async def run() -> list[dict[str, object]]:
        store = open_store(cfg.storage_url)
        await store.open()
        try:
            rows = await store.leaves(0, (await store.head()).size)
        finally:
            await store.close()
        return [json.loads(r.data) for r in rows if json.loads(r.data)["type"] == kind]

    return asyncio.run(run())


def test_contact_add_records_a_partner_report(
    cfg_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A partner's report: classified, recorded as a contact leaf stamped by the cli replica,
    the note stored encrypted; nothing printed or logged carries the caller."""
    cfg = load_config(cfg_file)
    decoy = assign(cfg)
    capsys.readouterr()  # the proxy's own log lines while assigning
    note = tmp_path / "note.txt"
    note.write_text("Ha chiamato dicendo che solo TIM ripara la linea")
    code = main(
        [
            *("contact", "add", "--config", str(cfg_file), "--decoy", decoy),
            *("--caller", AGENT, "--time", "2026-03-02T10:15:00+01:00", "--channel", "call"),
            *("--note-file", str(note), "--json"),
        ]
    )
    assert code == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["classification"] == "unattributed"  # the clock is now: before the order
    assert "3471112233" not in out.out + out.err and "347 111" not in out.out + out.err
    (leaf,) = leaves(cfg, "contact")
    assert leaf["replica"] == "cli" and leaf["source"] == "report"
    assert leaf["note"] is not None and "TIM ripara" not in json.dumps(leaf)


def test_contact_add_now_is_attributed_and_suspicious(
    cfg_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A call after the decoy was issued, from a number that is not the incumbent's: it is
    pinned on the order and suspicious; the human summary says so."""
    cfg = load_config(cfg_file)
    decoy = assign(cfg)
    now = datetime.now(UTC).isoformat()
    args = ["contact", "add", "--config", str(cfg_file), "--decoy", decoy, "--caller", AGENT]
    assert main([*args, "--time", now, "--channel", "sms"]) == 0
    out = capsys.readouterr().out
    assert ": suspicious (unknown_caller); decoy id " in out and "partner P-001" in out


def test_decoys_export_close_and_release(
    cfg_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """export writes the live table (CSV to a file, JSON to stdout); close puts the order's
    decoy in quarantine; release frees nothing before the quarantine ends."""
    cfg = load_config(cfg_file)
    decoy = assign(cfg)
    out_file = tmp_path / "decoys.csv"
    base = ["--config", str(cfg_file)]
    assert main(["decoys", "export", *base, "--format", "csv", "--out", str(out_file)]) == 0
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    assert [(r["decoy"], r["forward_to"], r["state"]) for r in rows] == [
        (decoy, "+390212345678", "active")
    ]
    assert main(["decoys", "close", *base, "--order", ORDER]) == 0
    assert main(["decoys", "release", *base]) == 0
    capsys.readouterr()
    assert main(["decoys", "export", *base]) == 0
    table = json.loads(capsys.readouterr().out)
    assert [d["state"] for d in table["decoys"]] == ["quarantine"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--time", "2026-03-02T10:15:00"], "expected --time with a UTC offset"),
        (["--time", "ieri"], "expected --time in ISO 8601"),
        (["--time", "2026-03-02T10:15:00+01:00", "--decoy", "+393470000000"], "expected a decoy"),
    ],
)
def test_contact_add_mistakes_exit_2(
    cfg_file: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """Naive or unreadable times and contacts that are no decoy: one line, exit 2."""
    base = ["contact", "add", "--config", str(cfg_file), "--decoy", "+390299990001"]
    assert main([*base, "--caller", AGENT, "--channel", "call", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "3470000000" not in err


def test_a_configuration_without_decoys_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No decoys: section: the commands say so instead of failing later."""
    path = tmp_path / "plain.yaml"
    path.write_text(CONFIG.format(decoys=""))
    assert main(["decoys", "export", "--config", str(path)]) == 2
    assert "expected a decoys: section" in capsys.readouterr().err
