"""``civetta contact add`` and ``civetta decoys export|close|release``: decoys from the shell.

``contact add`` records a partner's report of a call, SMS or mail on a decoy exactly as the
switch's ``POST /v1/contacts`` does: classified, appended to the audit log as a ``contact``
leaf (leaves this command appends are stamped with the replica ``cli``), alerted when
suspicious. ``decoys export`` writes the routing directory's live table as CSV or JSON.
Exit codes: 0 done, 2 a usage, configuration or input error (the message names no value).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proxy.config import Config, load_config
from proxy.decoys.settings import DecoySettings
from proxy.errors import CivettaError, ConfigError
from proxy.logs import configure

if TYPE_CHECKING:
    from proxy.decoys.service import DecoyService

_Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """The command cannot run as asked (exit 2)."""


def _command(fn: _Command) -> _Command:
    """Turn the errors a user can fix into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except ConfigError:
            raise  # main() prints each of its lines
        except (UsageError, OSError, ValueError) as exc:
            print(f"civetta {args.command}: {exc}", file=sys.stderr)
            return 2
        except CivettaError as exc:
            print(f"civetta {args.command}: {exc.message}", file=sys.stderr)
            return 2

    return run


def _config(args: argparse.Namespace) -> Config:
    cfg = load_config(Path(args.config))
    _settings(cfg)
    # Standard output carries the command's result; the log goes to standard error.
    configure(cfg.log_level, cfg.log_format, sys.stderr)
    return cfg


def _settings(cfg: Config) -> DecoySettings:
    if cfg.decoys is None:
        raise UsageError(f"expected a decoys: section in {cfg.source}, got none")
    return cfg.decoys


@asynccontextmanager
async def open_service(cfg: Config) -> AsyncIterator[DecoyService]:
    """A :class:`~proxy.decoys.service.DecoyService` over the configured store and audit log."""
    from proxy.audit.log import AuditLog
    from proxy.audit.rotation import CLI_REPLICA
    from proxy.decoys.contacts import NOTE_KEY_PURPOSE
    from proxy.decoys.service import DecoyService
    from proxy.keys import load_keys
    from proxy.partners import load_partners
    from proxy.state import audit_settings
    from proxy.storage import open_store

    settings = _settings(cfg)
    keys = load_keys(cfg.keys_dir, generate=False)
    partners = load_partners(cfg.minimisation.partners_file)
    store = open_store(cfg.storage_url)
    await store.open()
    log = AuditLog(store, keys, dataclasses.replace(audit_settings(cfg), replica=CLI_REPLICA))
    service = DecoyService(
        store,
        log,
        settings,
        partners=partners.get,
        note_key=keys.derive(NOTE_KEY_PURPOSE),
    )
    try:
        await log.start()
        yield service
    finally:
        await service.close()
        await log.stop()
        await store.close()


def _run(cfg: Config, work: Callable[[DecoyService], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with open_service(cfg) as service:
            return await work(service)

    return asyncio.run(main())


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError("expected --time in ISO 8601, e.g. 2026-03-02T10:15:00+01:00") from exc
    if moment.tzinfo is None:
        raise UsageError("expected --time with a UTC offset, e.g. 2026-03-02T10:15:00+01:00")
    return moment


@_command
def _contact_add(args: argparse.Namespace) -> int:
    from proxy.decoys.contacts import ContactReport

    cfg = _config(args)
    note = Path(args.note_file).read_text(encoding="utf-8") if args.note_file else None
    report = ContactReport(
        args.decoy, args.caller, _moment(args.time), args.channel, "report", note
    )
    done = _run(cfg, lambda service: service.intake.record(report))
    if args.json:
        print(json.dumps(dataclasses.asdict(done), sort_keys=True))
        return 0
    held = f"decoy id {done.decoy_id}, partner {done.partner}" if done.decoy_id else "no order"
    print(f"contact {done.id}: {done.classification} ({done.reason}); {held}")
    print(f"  recorded as audit entry {done.leaf_index}")
    return 0


@_command
def _decoys_export(args: argparse.Namespace) -> int:
    from proxy.decoys.routing import to_csv

    cfg = _config(args)
    rows = _run(cfg, lambda service: service.directory.table())
    if args.format == "csv":
        text = to_csv(rows)
    else:
        text = json.dumps({"count": len(rows), "decoys": [r.to_json() for r in rows]}, indent=2)
        text += "\n"
    if args.out and args.out != "-":
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"{args.out}: {len(rows)} live decoys", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


@_command
def _decoys_close(args: argparse.Namespace) -> int:
    cfg = _config(args)
    at = _moment(args.at) if args.at else None
    count = _run(cfg, lambda service: service.close_order(args.order, at))
    print(f"closed {count} decoy(s) of the order: in quarantine from now on")
    return 0


@_command
def _decoys_release(args: argparse.Namespace) -> int:
    cfg = _config(args)
    count = _run(cfg, lambda service: service.release_expired())
    print(f"released {count} decoy(s) whose quarantine is over")
    return 0


def register(sub: Any) -> None:
    """Add ``contact …`` and ``decoys …`` to the top-level sub-parsers."""

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default=os.environ.get("CIVETTA_CONFIG", "config.example.yaml"))
        return p

    contact = sub.add_parser("contact", help="decoy contacts reported by partners")
    cmds = contact.add_subparsers(dest="contact_command", required=True)
    p = with_config(cmds.add_parser("add", help="record a call, SMS or mail on a decoy"))
    p.add_argument("--decoy", required=True, help="the decoy number or address contacted")
    p.add_argument("--caller", required=True, help="calling number or sender ('withheld')")
    p.add_argument("--time", required=True, help="when, ISO 8601 with offset")
    p.add_argument("--channel", required=True, choices=("call", "sms", "mail"))
    p.add_argument("--note-file", help="the partner's account, stored encrypted")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_contact_add)

    decoys = sub.add_parser("decoys", help="the decoy pools: export, close, release")
    cmds = decoys.add_subparsers(dest="decoys_command", required=True)
    p = with_config(cmds.add_parser("export", help="the live routing table"))
    p.add_argument("--format", choices=("csv", "json"), default="json")
    p.add_argument("--out", help="a file ('-' or none: stdout)")
    p.set_defaults(func=_decoys_export)
    p = with_config(cmds.add_parser("close", help="an order closed: quarantine its decoys"))
    p.add_argument("--order", required=True, help="the order reference (never stored)")
    p.add_argument("--at", help="when it closed, ISO 8601 with offset (default: now)")
    p.set_defaults(func=_decoys_close)
    p = with_config(cmds.add_parser("release", help="return decoys out of quarantine"))
    p.set_defaults(func=_decoys_release)
