"""``civetta trace``, ``civetta evidence`` and ``civetta report``: the compliance side of decoys.

* ``trace --contact DECOY | --order REF``: the order that held a decoy, every message that
  disclosed it, every contact on it, with an inclusion proof for each (``--json``; ``--proofs
  DIR`` writes them as ``<index>.tlog-proof``). Exit 0 found, 1 nothing found.
* ``evidence --contact DECOY | --order REF --out DIR``: the evidence pack for a complaint
  (:mod:`proxy.evidence_pack`), verified before the command returns. Exit 0 written, 1
  nothing to put in it.
* ``report --month YYYY-MM [--out DIR] [--json]``: the month's figures (:mod:`proxy.report`);
  with ``--out``, ``report-YYYY-MM.html`` and ``report-YYYY-MM.json``.

Every command exits 2 on a usage, configuration or store error. Nothing printed holds a
personal value: order references are compared as keyed commitments and never echoed, callers
appear masked, and openings go to files, never to the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from proxy.config import Config, load_config
from proxy.errors import CivettaError, ConfigError
from proxy.storage.base import Store

_Command = Callable[[argparse.Namespace], int]


def _command(fn: _Command) -> _Command:
    """Turn the errors a user can fix into one line on stderr and exit code 2."""
    from proxy.audit.evidence import EvidenceError
    from proxy.audit.trust import TrustError
    from proxy.trace import TraceError

    expected = (OSError, ValueError, EvidenceError, TraceError, TrustError)

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except ConfigError:
            raise  # main() prints each of its lines
        except expected as exc:
            print(f"civetta {args.command}: {exc}", file=sys.stderr)
            return 2
        except CivettaError as exc:  # the store failing, mostly
            print(f"civetta {args.command}: {exc.message}", file=sys.stderr)
            return 2

    return run


def _with_store(cfg: Config, work: Callable[[Store], Awaitable[Any]]) -> Any:
    """Run ``work`` on the configured store (read only: no audit log is started)."""
    from proxy.storage import open_store

    async def main() -> Any:
        store = open_store(cfg.storage_url)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


async def _trace(args: argparse.Namespace, cfg: Config, store: Store) -> Any:
    from proxy.keys import load_keys
    from proxy.trace import order_key_of, trace_contact, trace_order

    if args.contact:
        return await trace_contact(store, args.contact)
    commit_key = load_keys(cfg.keys_dir, generate=False).derive("commitment")
    return await trace_order(store, order_key_of(commit_key, args.order))


@_command
def _trace_cmd(args: argparse.Namespace) -> int:
    from proxy.trace_model import render

    cfg = load_config(Path(args.config))
    found = _with_store(cfg, lambda store: _trace(args, cfg, store))
    if args.proofs:
        out = Path(args.proofs)
        out.mkdir(parents=True, exist_ok=True)
        for index, proof in found.proofs.items():
            (out / f"{index}.tlog-proof").write_bytes(proof)
    if args.json:
        print(json.dumps(found.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print("\n".join(render(found)) if found.found else "nothing found")
    return 0 if found.found else 1


@_command
def _evidence_cmd(args: argparse.Namespace) -> int:
    from proxy.audit.note import Signer
    from proxy.audit.sealed import Vault
    from proxy.audit.trust import anchor_from_log_init
    from proxy.evidence_pack import build_pack, narrow
    from proxy.keys import load_keys

    cfg = load_config(Path(args.config))
    keys = load_keys(cfg.keys_dir, generate=False)
    held = Path(args.held_checkpoint).read_bytes() if args.held_checkpoint else None

    async def work(store: Store) -> Any:
        found = await _trace(args, cfg, store)
        if not found.found:
            return None
        if args.contact_id:
            found = narrow(found, args.contact_id)
        first = await store.leaves(0, 1)
        origin = anchor_from_log_init(first[0].data).origin
        vault = Vault(store, keys.derive("sealed"), lambda: datetime.now(UTC))
        return await build_pack(
            store,
            found,
            Path(args.out),
            signer=Signer(origin, keys.signing_key),
            opener=None if args.no_openings else vault,
            held=held,
            generated=datetime.now(UTC),
        )

    pack = _with_store(cfg, work)
    if pack is None:
        print("nothing found: no evidence pack written", file=sys.stderr)
        return 1
    done = pack.exported
    print(f"{done.directory}: {len(done.entries)} entries proven in the tree of {done.tree_size}")
    print(
        f"  report.html (Italian and English), trace.json, contacts.json; {len(done.files)} files"
    )
    if done.openings:
        print(f"  openings of {len(done.openings)} forwarded message(s): owner-only files")
    if done.shredded:
        print(f"  no opening for {len(done.shredded)} message(s): retention period shredded")
    print(f"  verified: civetta audit verify-bundle {done.directory} --trust YOUR_TRUST_FILE")
    return 0


@_command
def _report_cmd(args: argparse.Namespace) -> int:
    from proxy.report import check_month, month_report, report_html, report_lines

    month = check_month(args.month)
    cfg = load_config(Path(args.config))
    report = _with_store(cfg, lambda store: month_report(store, month))
    payload = json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"report-{month}.json").write_text(payload, encoding="utf-8")
        (out / f"report-{month}.html").write_bytes(report_html(report))
        written = f"{out / f'report-{month}.html'}, {out / f'report-{month}.json'}"
        print(written, file=sys.stderr if args.json else sys.stdout)
    if args.json:
        sys.stdout.write(payload)
    elif not args.out:
        print("\n".join(report_lines(report)))
    return 0


def register(sub: Any) -> None:
    """Add ``trace``, ``evidence`` and ``report`` to the top-level sub-parsers."""

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default=os.environ.get("CIVETTA_CONFIG", "config.example.yaml"))
        return p

    def subject(p: argparse.ArgumentParser) -> None:
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument("--contact", help="a decoy number or address, in any spelling")
        which.add_argument("--order", help="an order reference (compared keyed, never printed)")

    p = with_config(sub.add_parser("trace", help="a decoy's order, messages, contacts, proofs"))
    subject(p)
    p.add_argument("--json", action="store_true", help="print the trace as JSON, with proofs")
    p.add_argument("--proofs", help="also write each proof as DIR/<index>.tlog-proof")
    p.set_defaults(func=_trace_cmd)
    p = with_config(sub.add_parser("evidence", help="an evidence pack for a complaint"))
    subject(p)
    p.add_argument("--out", required=True, help="the pack's directory (must not exist)")
    p.add_argument("--contact-id", help="only this contact (and its order)")
    p.add_argument("--held-checkpoint", help="the regulator's checkpoint, for a consistency proof")
    p.add_argument("--no-openings", action="store_true", help="leave the forwarded bytes out")
    p.set_defaults(func=_evidence_cmd)
    p = with_config(sub.add_parser("report", help="the month's figures, HTML and JSON"))
    p.add_argument("--month", required=True, help="YYYY-MM (UTC)")
    p.add_argument("--out", help="write report-YYYY-MM.html and .json here")
    p.add_argument("--json", action="store_true", help="print the JSON figures")
    p.set_defaults(func=_report_cmd)
