"""``civetta audit …`` and ``civetta keys rotate``: the compliance commands.

``verify`` and ``verify-bundle`` exit with the verifier's code (0 ok, 10 signature, 11 leaf or
root, 12 consistency or rollback, 13 semantics; see ``docs/compliance.md``); ``show`` exits 1
when nothing matches; every command exits 2 on a usage or I/O error. Nothing printed holds a personal value: leaves hold none, and openings are written
to files, never shown.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from proxy.config import Config, load_config

_Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A command cannot run as asked (exit 2)."""


def _command(fn: _Command) -> Callable[[argparse.Namespace], int]:
    """Turn the errors a user can fix into a message and exit 2 (file I/O happens here,
    outside the event loop; store work runs in ``asyncio.run``)."""
    from proxy.audit.checkpoint import CheckpointError
    from proxy.audit.evidence import EvidenceError
    from proxy.audit.evidence_verify import BundleError
    from proxy.audit.rotation import RotationError
    from proxy.audit.trust import TrustError
    from proxy.errors import CivettaError, ConfigError

    expected = (UsageError, OSError, TrustError, CheckpointError, EvidenceError, BundleError)

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except ConfigError:
            raise  # main() prints each of its lines
        except (*expected, RotationError, ValueError) as exc:
            print(f"civetta {args.command}: {exc}", file=sys.stderr)
            return 2
        except CivettaError as exc:  # the store failing, mostly
            print(f"civetta {args.command}: {exc.message}", file=sys.stderr)
            return 2

    return run


def _config(args: argparse.Namespace) -> Config:
    return load_config(Path(args.config))


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def _open(cfg: Config) -> Any:
    from proxy.storage import open_store

    store = open_store(cfg.storage_url)
    await store.open()
    return store


async def _log_anchor(store: Any) -> Any:
    """The trust anchor the log's own first entry states (for ``trust`` and a warned default)."""
    from proxy.audit.trust import anchor_from_log_init

    first = await store.leaves(0, 1)
    if not first:
        raise UsageError("expected an initialised audit log, got an empty one")
    return anchor_from_log_init(first[0].data)


def _write_json(target: str | None, payload: str) -> None:
    if target == "-":
        sys.stdout.write(payload)
    elif target:
        Path(target).write_text(payload, encoding="utf-8")


# --- verify ------------------------------------------------------------------------------


@_command
def _verify(args: argparse.Namespace) -> int:
    from proxy.audit.trust import read_trust
    from proxy.audit.verify import VerifyOptions, verify_log
    from proxy.audit.verify_store import StoreSealedChecker, StoreSource
    from proxy.keys import load_keys

    cfg = _config(args)
    held_file = args.from_checkpoint or args.held
    held = Path(held_file).read_bytes() if held_file else None
    anchor = read_trust(Path(args.trust)) if args.trust else None
    keys = None if args.no_sealed else load_keys(cfg.keys_dir, generate=False)

    async def run() -> Any:
        store = await _open(cfg)
        try:
            trust = anchor
            if trust is None:
                trust = await _log_anchor(store)
                print("warning: no --trust file: trusting the log's own entry 0", file=sys.stderr)
            sealed = None if keys is None else StoreSealedChecker(store, keys.derive("sealed"))
            options = VerifyOptions(held, bool(args.from_checkpoint), args.grace, sealed=sealed)
            return await verify_log(StoreSource(store), trust, options)
        finally:
            await store.close()

    report = _run(run())
    _write_json(args.json, report.dumps())
    if args.json != "-":
        sys.stdout.write(report.summary())
    if args.save_checkpoint and report.ok and report.checkpoint is not None:
        # Only a clean run's checkpoint is worth holding: the next run starts from it.
        Path(args.save_checkpoint).write_bytes(report.checkpoint)
        print(f"saved the checkpoint of {report.checkpoint_size} entries", file=sys.stderr)
    return int(report.exit_code)


@_command
def _verify_bundle(args: argparse.Namespace) -> int:
    from proxy.audit.evidence_verify import verify_bundle
    from proxy.audit.trust import read_trust

    anchor = read_trust(Path(args.trust))
    held = Path(args.held).read_bytes() if args.held else None
    reports = [verify_bundle(Path(args.dir), anchor, held)]
    if args.whole:
        from proxy.audit.evidence_source import EvidenceSource
        from proxy.audit.verify import VerifyOptions, verify_log

        source = EvidenceSource(Path(args.dir))
        reports.append(_run(verify_log(source, anchor, VerifyOptions(held, grace_s=args.grace))))
    _write_json(args.json, json.dumps([r.to_json() for r in reports], indent=2) + "\n")
    if args.json != "-":
        for report in reports:
            sys.stdout.write(report.summary())
    codes = [r.exit_code for r in reports if r.exit_code]
    return min(codes) if codes else 0


# --- show, prove, export -----------------------------------------------------------------


def _selection(args: argparse.Namespace, cfg: Config) -> Any:
    from proxy.audit.evidence_select import Selection, order_ref_commitment
    from proxy.keys import load_keys

    order_ref = None
    if args.order_ref:
        key = load_keys(cfg.keys_dir, generate=False).derive("commitment")
        order_ref = order_ref_commitment(key, args.order_ref)
    since = _moment(args.since) if args.since else None
    until = _moment(args.until) if args.until else None
    everything = bool(getattr(args, "all", False))
    return Selection(tuple(args.index or ()), args.request_id, order_ref, since, until, everything)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@_command
def _show(args: argparse.Namespace) -> int:
    from proxy.audit.evidence_select import describe, select

    cfg = _config(args)
    selection = _selection(args, cfg)

    async def run() -> Any:
        store = await _open(cfg)
        try:
            return await select(store, selection, (await store.head()).size)
        finally:
            await store.close()

    rows = describe(_run(run()))
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False, sort_keys=True))
            continue
        fields = "; ".join(f"{f['path']} {f['rule']} {f['action']}" for f in row.get("fields", []))
        keys = ("type", "time", "replica", "intent_id", "request_id", "route", "status")
        cells = [str(row.get(k, "-")) for k in keys]
        print(f"{row['index']:>10}  " + "  ".join(cells) + (f"  [{fields}]" if fields else ""))
    if not rows:
        print("no entries match", file=sys.stderr)
    return 0 if rows else 1


@_command
def _prove(args: argparse.Namespace) -> int:
    from proxy.audit.evidence_proofs import prove

    if args.index is None and args.old_size is None:
        raise UsageError("expected --index N and/or --old-size M, got neither")
    if args.index is not None and args.old_size is not None and not args.out:
        raise UsageError("expected --out DIR to write both proofs, got none")
    cfg = _config(args)

    async def run() -> Any:
        store = await _open(cfg)
        try:
            return await prove(store, args.index, args.old_size)
        finally:
            await store.close()

    proofs: dict[str, bytes] = _run(run())
    if not args.out:
        sys.stdout.buffer.write(next(iter(proofs.values())))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in proofs.items():
        (out / name).write_bytes(data)
        print(out / name)
    return 0


@_command
def _export(args: argparse.Namespace) -> int:
    from proxy.audit.evidence import export
    from proxy.audit.note import Signer
    from proxy.audit.sealed import Vault
    from proxy.keys import load_keys

    cfg = _config(args)
    selection = _selection(args, cfg)
    keys = load_keys(cfg.keys_dir, generate=False)
    held = Path(args.held_checkpoint).read_bytes() if args.held_checkpoint else None

    async def run() -> Any:
        store = await _open(cfg)
        try:
            anchor = await _log_anchor(store)
            vault = Vault(store, keys.derive("sealed"), lambda: datetime.now(UTC))
            return await export(
                store,
                selection,
                Path(args.out),
                signer=Signer(anchor.origin, keys.signing_key),
                openings=vault if args.openings else None,
                held=held,
            )
        finally:
            await store.close()

    done = _run(run())
    print(f"{done.directory}: {len(done.entries)} entries proven in the tree of {done.tree_size}")
    print(f"  entries {', '.join(map(str, done.entries))}; key entries {len(done.keys)}")
    if done.openings:
        print(f"  openings for {len(done.openings)} intent(s): PERSONAL DATA, handle accordingly")
    if done.shredded:
        print(
            f"  no opening for {len(done.shredded)} intent(s): their retention period is shredded"
        )
    return 0


# --- shred, trust, keys rotate -----------------------------------------------------------


@_command
def _shred(args: argparse.Namespace) -> int:
    from proxy.audit.log import AuditLog
    from proxy.audit.rotation import CLI_REPLICA
    from proxy.keys import load_keys
    from proxy.state import audit_settings

    cfg = _config(args)
    before = date.fromisoformat(args.before)
    settings = dataclasses.replace(audit_settings(cfg), replica=CLI_REPLICA)
    keys = load_keys(cfg.keys_dir, generate=False)

    async def run() -> list[str]:
        store = await _open(cfg)
        log = AuditLog(store, keys, settings)
        try:
            await log.start()
            return await log.shred(before)
        finally:
            await log.stop()
            await store.close()

    periods = _run(run())
    if periods:
        print(f"shredded {len(periods)} period(s): {', '.join(periods)} (an erasure entry each)")
    else:
        print(f"nothing to shred before {before.isoformat()}")
    return 0


@_command
def _trust(args: argparse.Namespace) -> int:
    from proxy.audit.trust import write_trust

    cfg = _config(args)

    async def run() -> Any:
        store = await _open(cfg)
        try:
            return await _log_anchor(store)
        finally:
            await store.close()

    anchor = _run(run())
    write_trust(anchor, Path(args.out))
    print(f"{args.out}: origin {anchor.origin}, key {anchor.verifier.key_id:08x}")
    print("keep a copy out of band (not on this host): verifiers must use that copy")
    return 0


@_command
def _rotate(args: argparse.Namespace) -> int:
    from proxy.audit.rotation import rotate_key_files

    cfg = _config(args)

    async def run() -> Any:
        store = await _open(cfg)
        try:
            origin = (await _log_anchor(store)).origin
            return await rotate_key_files(store, cfg.keys_dir, origin)
        finally:
            await store.close()

    done = _run(run())
    verb = "resumed and finished" if done.resumed else "done"
    print(
        f"rotation {verb}: key {done.old_key_id:08x} -> {done.new_key_id:08x} (entry {done.index})"
    )
    print(f"  old key moved to {done.retired_file}: destroy it or keep it offline")
    print("  start every replica again; the trust file stays as it is")
    return 0


def register(sub: Any, keys: Any) -> None:
    """Add ``audit …`` to the top-level sub-parsers and ``rotate`` to ``keys``'s."""

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default=os.environ.get("CIVETTA_CONFIG", "config.example.yaml"))
        return p

    def selection(p: argparse.ArgumentParser) -> None:
        p.add_argument("--index", type=int, action="append", help="entry index (repeatable)")
        p.add_argument("--request-id")
        p.add_argument("--order-ref", help="looked up by its keyed commitment, never stored")
        p.add_argument("--since", help="ISO 8601 time (UTC unless stated)")
        p.add_argument("--until", help="ISO 8601 time, exclusive")

    audit = sub.add_parser("audit", help="audit log: verify, show, prove, export, shred")
    cmds = audit.add_subparsers(dest="audit_command", required=True)
    p = with_config(cmds.add_parser("verify", help="verify the whole log (or from a checkpoint)"))
    p.add_argument("--trust", help="the trust file kept out of band")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--from-checkpoint", help="verify from this held checkpoint's size on")
    start.add_argument("--held", help="a checkpoint held elsewhere the whole log must extend")
    p.add_argument("--save-checkpoint", help="after a clean run, write its latest checkpoint")
    p.add_argument("--json", help="write the JSON report here ('-': stdout)")
    p.add_argument("--grace", type=float, default=300.0, help="seconds an intent may be open")
    p.add_argument("--no-sealed", action="store_true", help="skip opening the sealed copies")
    p.set_defaults(func=_verify)
    p = cmds.add_parser("verify-bundle", help="verify an evidence directory offline")
    p.add_argument("dir")
    p.add_argument("--trust", required=True)
    p.add_argument("--held", help="your own checkpoint of this log")
    p.add_argument("--whole", action="store_true", help="also run the full verifier (--all)")
    p.add_argument("--grace", type=float, default=300.0, help="with --whole: see verify")
    p.add_argument("--json", help="write the JSON report(s) here, a list ('-': stdout)")
    p.set_defaults(func=_verify_bundle)
    p = with_config(cmds.add_parser("show", help="list entries (no personal values)"))
    selection(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=_show)
    p = with_config(cmds.add_parser("prove", help="inclusion / consistency proofs"))
    p.add_argument("--index", type=int)
    p.add_argument("--old-size", type=int)
    p.add_argument("--out", help="directory for the proof files (else stdout)")
    p.set_defaults(func=_prove)
    p = with_config(cmds.add_parser("export", help="write an evidence directory"))
    p.add_argument("--out", required=True)
    selection(p)
    p.add_argument("--all", action="store_true", help="every entry (for verify-bundle --whole)")
    p.add_argument("--openings", action="store_true", help="include salt and bytes (personal)")
    p.add_argument("--held-checkpoint", help="the regulator's checkpoint, for a consistency proof")
    p.set_defaults(func=_export)
    p = with_config(cmds.add_parser("shred", help="destroy data keys of periods before a date"))
    p.add_argument("--before", required=True, help="YYYY-MM-DD")
    p.set_defaults(func=_shred)
    p = with_config(cmds.add_parser("trust", help="write the trust file"))
    p.add_argument("--out", required=True)
    p.set_defaults(func=_trust)
    p = with_config(keys.add_parser("rotate", help="new signing key, recorded in the log"))
    p.set_defaults(func=_rotate)
