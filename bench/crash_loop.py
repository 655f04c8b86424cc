"""The crash test, longer: ``civetta serve`` SIGKILLed under load many times (AUDIT.md).

The same loop as ``tests/audit/test_crash.py`` (:func:`tests.realproxy.crash_loop`): a loopback
fake incumbent records every body it receives; ``civetta serve`` (SQLite, keys and log in a
temporary directory) takes a bounded load of concurrent POSTs with unique bodies and is killed
with SIGKILL at a random moment, then started again. After every restart the verifier must pass
(incrementally from the checkpoint verified before the kill, the whole log every
``--full-every`` restarts and at the end), every body the fake received must be the sealed copy
of a durable intent, and every intent must have exactly one outcome or recovery; at the end
``civetta audit verify`` (the CLI) must exit 0. The first broken invariant stops the run with
exit 1 and the details; otherwise the figures are printed (and written with ``--json``).

    .venv/bin/python bench/crash_loop.py --cycles 500
    .venv/bin/python bench/crash_loop.py --cycles 100 --launcher exec --json var/bench/crash.json

Not a ``bench_*.py`` on purpose: ``run_all.py`` does not pick it up (it asserts invariants and
runs for minutes). Every process it starts is killed on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
from pathlib import Path

# The loop lives with the tests (tests/realproxy.py); the repository root makes it importable.
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.realproxy import (  # noqa: E402 - after the path set-up above
    CrashCheckFailed,
    CrashSettings,
    ProcessFailed,
    crash_loop,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cycles", type=int, default=500, help="SIGKILLs (default 500)")
    p.add_argument("--concurrency", type=int, default=8, help="concurrent POSTs (default 8)")
    p.add_argument("--min-ms", type=float, default=50.0, help="shortest load before the kill")
    p.add_argument("--max-ms", type=float, default=300.0, help="longest load before the kill")
    p.add_argument(
        "--launcher",
        choices=("mixed", "exec", "fork"),
        default="mixed",
        help="exec: every start from the console script; fork: from a pre-imported zygote; "
        "mixed (default): the console script for the first, every --exec-every-th and the "
        "last start",
    )
    p.add_argument("--exec-every", type=int, default=10)
    p.add_argument("--full-every", type=int, default=25, help="whole-log verification period")
    p.add_argument("--seed", type=int, help="random seed (default: random, printed)")
    p.add_argument("--workdir", help="keep the log, keys and process output here")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--quiet", action="store_true", help="no line per cycle")
    return p


def main() -> int:
    """Run the loop; exit 0 with figures, 1 on a broken invariant."""
    args = _parser().parse_args()
    if args.cycles < 1 or args.concurrency < 1 or not 0 < args.min_ms <= args.max_ms:
        print("expected --cycles and --concurrency >= 1, 0 < --min-ms <= --max-ms", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    settings = CrashSettings(
        cycles=args.cycles,
        concurrency=args.concurrency,
        load_s=(args.min_ms / 1000, args.max_ms / 1000),
        launcher=args.launcher,
        exec_every=args.exec_every,
        full_every=args.full_every,
    )
    print(f"crash loop: {args.cycles} cycles, launcher {args.launcher}, seed {seed}", flush=True)

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="civetta-crash-") as scratch:
        workdir = Path(args.workdir) if args.workdir else Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            stats = asyncio.run(crash_loop(workdir, settings, random.Random(seed), progress))
        except (CrashCheckFailed, ProcessFailed) as exc:
            print(f"FAILED (seed {seed}, workdir {workdir}): {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    print(stats.summary())
    if args.json:
        figures = {"seed": seed, "settings": vars(args), **stats.to_json()}
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
