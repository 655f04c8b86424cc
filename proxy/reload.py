"""Policy reloads: on SIGHUP and when a policy or partner file changes.

A new version is loaded whole and swapped in atomically (one attribute assignment: requests in
flight keep the minimiser they started with). An invalid new version, or one that fails the
cross-check against the interface schemas, is refused with every error logged as
``file:line: message`` and counted; the old one keeps serving.

Loading and cross-checking take a tenth of a second or more of CPU (YAML, schemas): they run in
a worker thread, so the event loop keeps serving meanwhile instead of stalling every request
in flight. Reloads of one proxy run one at a time, in the order they were asked for (a SIGHUP
while the watcher reloads waits for it), so the version left in force is always the last one
read from the files.
"""

from __future__ import annotations

import asyncio

from proxy.errors import ConfigError
from proxy.state import ProxyState, load_minimiser, publish_policies

Snapshot = tuple[tuple[str, int, int], ...]


def snapshot(state: ProxyState) -> Snapshot:
    """Name, mtime and size of every policy and partner file: a change means reload."""
    m = state.config.minimisation
    paths = [*m.policies_dir.glob("*.yaml"), *m.policies_dir.glob("*.yml"), m.partners_file]
    out = []
    for path in sorted(paths):
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(out)


async def reload_policies(state: ProxyState) -> bool:
    """Load the policies again; swap them in if valid, else keep the old ones. True if swapped.

    The files are read and checked in a worker thread; reloads of ``state`` are serialised.
    """
    async with state.reloading:
        try:
            fresh = await asyncio.to_thread(load_minimiser, state.config, state.keys)
        except ConfigError as err:
            state.metrics.policy_reloads.labels("refused").inc()
            state.log.error("policy_reload_refused", count=len(err.errors), errors=err.errors)
            return False
        state.minimiser = fresh
        state.metrics.policy_reloads.labels("ok").inc()
        await publish_policies(state)
        state.log.info("policy_reloaded", count=len(fresh.policies.policies))
        return True


async def watch(state: ProxyState, interval_s: float = 1.0) -> None:
    """Reload whenever the files change (polling: no dependency, works on every filesystem)."""
    last = snapshot(state)
    while True:
        await asyncio.sleep(interval_s)
        now = snapshot(state)
        if now != last:
            last = now
            await reload_policies(state)
