"""Run every benchmark in ``bench/`` (each ``bench_*.py``) with its default, short settings.

The convention a benchmark script follows to be picked up here:

* it is named ``bench/bench_<what>.py`` and runs with no arguments in a few minutes at most;
* it prints its figures and never asserts timings (exit 0 when the run completed, non-zero
  only when it could not measure);
* it accepts ``--json OUT`` to write its results (``run_all.py --json-dir DIR`` passes
  ``--json DIR/bench_<what>.json``);
* it stops every process it started, also on SIGTERM and Ctrl-C.

``make bench`` runs this script. Each benchmark runs in its own process, one after the other,
so that they never compete for the CPU with each other.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def discover(pattern: str | None = None) -> list[Path]:
    """The benchmark scripts, sorted by name, optionally only those whose name has ``pattern``."""
    found = sorted(BENCH.glob("bench_*.py"))
    return [p for p in found if pattern is None or pattern in p.stem]


def main(argv: Sequence[str] | None = None) -> int:
    """Run each benchmark in turn; 0 when all of them completed, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-k", dest="pattern", help="only benchmarks whose name contains this")
    parser.add_argument("--json-dir", type=Path, help="pass --json DIR/<name>.json to each")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds per benchmark")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    args = parser.parse_args(argv)
    scripts = discover(args.pattern)
    if args.list or not scripts:
        for path in scripts:
            print(path.relative_to(BENCH.parent))
        return 0 if scripts or args.list else 1
    if args.json_dir is not None:
        args.json_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[tuple[str, str, float]] = []
    for path in scripts:
        argv_ = [sys.executable, str(path)]
        if args.json_dir is not None:
            argv_ += ["--json", str(args.json_dir / f"{path.stem}.json")]
        print(f"=== {path.stem}", flush=True)
        started = time.perf_counter()
        proc = subprocess.Popen(argv_, cwd=BENCH.parent)
        try:
            code = proc.wait(timeout=args.timeout)
            outcome = "ok" if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            proc.terminate()  # the script's own SIGTERM handling stops its children
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            outcome = f"timed out after {args.timeout:g} s"
        except KeyboardInterrupt:
            # The benchmark got the same SIGINT and is stopping its children: give it time.
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise
        outcomes.append((path.stem, outcome, time.perf_counter() - started))
        print(flush=True)
    print("=== summary")
    for name, outcome, seconds in outcomes:
        print(f"{name:<24} {outcome:<24} {seconds:7.1f} s")
    return 0 if all(o == "ok" for _, o, _ in outcomes) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
