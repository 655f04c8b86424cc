"""A proxy replica in its own process that assigns decoys, for the multi-process tests.

Usage: ``python -m tests.decoys.assigner URL KEYS_DIR REPLICA FIRST LAST POOL``. It opens the
store and an AuditLog as replica REPLICA, prints ``ready``, waits for ``go`` on standard input
(so that every replica starts at once), assigns a phone decoy to orders FIRST..LAST-1 all in
parallel from a pool of POOL numbers, and prints one JSON line: order -> decoy.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from proxy.decoys.service import DecoyService
from proxy.decoys.settings import DecoySettings, PhoneRange
from proxy.keys import load_keys
from proxy.logs import configure
from tests.storage.logcheck import open_log

BASE = 390299990000


async def main(url: str, keys_dir: str, replica: str, first: int, last: int, pool: int) -> None:
    """Run one replica; see the module docstring."""
    configure(stream=sys.stderr)  # stdout carries the report
    log = await open_log(url, load_keys(Path(keys_dir), generate=False), replica)
    settings = DecoySettings(phone_ranges=(PhoneRange(BASE, BASE + pool - 1),))
    service = DecoyService(log.store, log, settings)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    orders = [f"ORD-{n:05d}" for n in range(first, last)]
    got = await asyncio.gather(*(service.assign(o, "P-001", {"phone"}) for o in orders))
    await service.close()
    await log.stop()
    await log.store.close()
    print(json.dumps({o: d.phone for o, d in zip(orders, got, strict=True)}), flush=True)


if __name__ == "__main__":
    url, keys_dir, replica, first, last, pool = sys.argv[1:7]
    asyncio.run(main(url, keys_dir, replica, int(first), int(last), int(pool)))
