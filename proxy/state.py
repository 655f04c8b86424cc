"""The objects a running proxy shares between its listeners, and their lifetime."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proxy.audit import leaves
from proxy.audit.log import AuditLog, AuditSettings
from proxy.checked_policies import load_checked
from proxy.config import Config, Direction
from proxy.engine import Keys
from proxy.errors import ConfigError
from proxy.keys import KeyMaterial, load_keys
from proxy.logs import get_logger
from proxy.metrics import Metrics
from proxy.minimise import Minimiser
from proxy.routing import Router
from proxy.storage import Store, open_store
from proxy.upstream import Upstream
from proxy.vault import TokenVault

if TYPE_CHECKING:
    from proxy.decoys.service import DecoyService


@dataclass(slots=True)
class ProxyState:
    """Everything the handlers of all three listeners share."""

    config: Config
    store: Store
    keys: KeyMaterial
    audit: AuditLog
    minimiser: Minimiser
    vault: TokenVault
    upstreams: dict[str, Upstream]
    routers: dict[Direction, Router]
    metrics: Metrics = field(default_factory=Metrics.create)
    log: Any = field(default_factory=get_logger)
    #: Decoys (``decoys:`` configured), else None.
    decoys: DecoyService | None = None
    #: False while starting, while draining and when refusing traffic.
    ready: bool = False
    draining: bool = False
    in_flight: int = 0
    #: Held while policies reload (one reload at a time: proxy.reload).
    reloading: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)


def audit_settings(config: Config) -> AuditSettings:
    """The audit log's settings from the configuration's ``audit:`` section."""
    a = config.audit
    return AuditSettings(
        origin=a.origin,
        replica=a.replica,
        linger_s=a.linger_ms / 1000.0,
        max_batch=a.max_batch,
        commit_timeout_s=a.commit_timeout_s,
        checkpoint_file=a.checkpoint_file,
    )


def engine_keys(keys: KeyMaterial) -> Keys:
    """The engine's keys; ``commit`` is the audit log's, so decisions and leaves agree."""
    return Keys(
        commit=keys.derive("commitment"), token=keys.derive("token"), hash=keys.derive("hash")
    )


def load_minimiser(config: Config, keys: KeyMaterial) -> Minimiser:
    """Policies and partners from disk, cross-checked; raises ConfigError listing every problem.

    The cross-check (:mod:`proxy.checked_policies`) runs unless ``minimisation.crosscheck`` is
    off; it is the same as ``civetta policy check``'s.
    """
    m = config.minimisation
    checked = load_checked(config)
    policies, partners = checked.policies, checked.partners
    if checked.errors or policies is None or partners is None:
        raise ConfigError(list(checked.errors))
    texts = tuple(
        (str(path), path.read_text(encoding="utf-8"))
        for path in sorted({Path(p.file) for p in policies.policies})
    )
    return Minimiser(
        policies=policies,
        partners=partners,
        keys=engine_keys(keys),
        allowed=m.operational_contacts,
        hashes={name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in texts},
        texts=texts,
    )


async def publish_policies(state: ProxyState) -> None:
    """Append a ``policy`` leaf per policy file in force (its text and hash: no data)."""
    if not state.config.audit.enabled:
        return
    audit = state.audit
    for name, text in state.minimiser.texts:
        await audit.append(leaves.policy(audit.stamp(), Path(name).name, text))


@asynccontextmanager
async def open_state(
    config: Config, store: Store | None = None, audit: AuditSettings | None = None
) -> AsyncIterator[ProxyState]:
    """Load keys, open the store, start the audit log, open the upstream pools; close on exit.

    A log that fails its start-up check (rollback, tampering, store down) raises here: the
    proxy never becomes ready.
    """
    keys = load_keys(config.keys_dir, config.generate_keys)
    if not config.minimisation.crosscheck:
        # The operator's explicit choice; said at every start so that it is never forgotten.
        get_logger().warning("policy_crosscheck_disabled", config=config.source)
    # An invalid policy, or one that fails the cross-check, stops the start, every error listed.
    minimiser = load_minimiser(config, keys)
    store = store if store is not None else open_store(config.storage_url)
    await store.open()
    audit_log = AuditLog(store, keys, audit if audit is not None else audit_settings(config))
    try:
        await audit_log.start()
    except BaseException:
        await audit_log.stop()
        await store.close()
        raise
    upstreams = {r.name: Upstream(r, config.limits.max_response_bytes) for r in config.all_routes}
    state = ProxyState(
        config=config,
        store=store,
        keys=keys,
        audit=audit_log,
        minimiser=minimiser,
        vault=TokenVault(store, keys.derive("vault")),
        upstreams=upstreams,
        routers={d: Router(config.routes_for(d)) for d in Direction},
    )
    if config.decoys is not None:
        from proxy.decoys.contacts import NOTE_KEY_PURPOSE
        from proxy.decoys.service import DecoyService

        state.decoys = DecoyService(
            store,
            audit_log,
            config.decoys,
            # The directory in force: it reloads with the policies.
            partners=lambda pid: state.minimiser.partners.get(pid),
            metrics=state.metrics,
            note_key=keys.derive(NOTE_KEY_PURPOSE),
        )
    for name in keys.generated:
        state.log.info("key_generated", file=name)
    await publish_policies(state)
    try:
        yield state
    finally:
        state.ready = False
        if state.decoys is not None:
            await state.decoys.close()  # alert deliveries in flight, bounded by their timeout
        for upstream in upstreams.values():
            await upstream.close()
        # Drain the writer first: every queued append is committed before the store closes.
        await audit_log.stop()
        await store.close()
