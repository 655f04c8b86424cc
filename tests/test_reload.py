"""Policy reloads and start-up: a valid change is swapped in; an invalid one, or one failing the
cross-check against the interface schemas, is refused and counted; neither starts a proxy."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from proxy import reload as reload_module
from proxy.config import MinimisationConfig
from proxy.errors import ConfigError
from proxy.reload import reload_policies, snapshot
from proxy.state import load_minimiser, open_state
from proxy.storage.memory import MemoryStore
from proxy.testing import REPO, SCHEMAS, config
from tests.shipped_copy import copy_shipped, misspell, shipped_config

OPEN = REPO / "tests" / "fixtures" / "policy" / "open"


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(OPEN, target)
    return target


async def test_valid_change_is_swapped_in_and_published(policies: Path, tmp_path: Path) -> None:
    """A new valid policy file is loaded on reload and its text is published as a policy leaf."""
    cfg = config(
        tmp_path, [], minimisation=MinimisationConfig(policies, REPO / "policies" / "partners.yaml")
    )
    store = MemoryStore()
    async with open_state(cfg, store) as state:
        before = snapshot(state)
        (policies / "extra.yaml").write_text(
            "name: extra\nmatch: {method: [POST], path: /extra}\nrules: []\n", encoding="utf-8"
        )
        assert snapshot(state) != before
        assert await reload_policies(state) is True
        assert state.minimiser.policies.named("extra") is not None
        leaves = await store.leaves(0, (await store.head()).size)
        names = [json.loads(leaf.data).get("name") for leaf in leaves if b'"policy"' in leaf.data]
        assert "extra.yaml" in names


async def test_invalid_change_is_refused_and_the_old_policies_keep_serving(
    policies: Path, tmp_path: Path
) -> None:
    """A broken file is refused, counted in the metric, and the previous policies stay."""
    cfg = config(
        tmp_path, [], minimisation=MinimisationConfig(policies, REPO / "policies" / "partners.yaml")
    )
    async with open_state(cfg, MemoryStore()) as state:
        old = state.minimiser
        (policies / "broken.yaml").write_text(
            "name: broken\nmatch: {method: [POST]}\nrules: nope\n", encoding="utf-8"
        )
        assert await reload_policies(state) is False
        assert state.minimiser is old
        refused = state.metrics.policy_reloads.labels("refused")._value.get()
        assert refused == 1.0


# --- the cross-check against the interface schemas, at start and on reload --------------------

TYPO = "select: $..contactMedium[*].characteristic.phoneNumber\n"


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A copy of the shipped policies: tests edit it."""
    return copy_shipped(tmp_path)


def misspell_phone(policies: Path) -> str:
    """Misspell the TMF622 phone selector; the ``file:line: rule phone: `` of its errors."""
    bad = TYPO.replace("phoneNumber", "phoneNumbr")
    return misspell(policies / "tmf622-product-order.yaml", TYPO, bad) + "rule phone: "


class Recorder:
    """Stands in for the state's logger: every event with its keys."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, object]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        def log(event: str, **keys: object) -> None:
            self.events.append((level, event, keys))

        return log


async def test_a_change_failing_the_cross_check_is_refused_and_the_old_policies_keep_serving(
    shipped: Path, tmp_path: Path
) -> None:
    """Valid YAML, but a selector no schema element matches: refused like an invalid file,
    logged with its ``file:line``, counted; the policies in force stay and nothing is published."""
    store = MemoryStore()
    async with open_state(shipped_config(tmp_path, shipped), store) as state:
        old = state.minimiser
        state.log = recorder = Recorder()
        size = (await store.head()).size
        where = misspell_phone(shipped)
        assert await reload_policies(state) is False
        assert state.minimiser is old
        assert state.metrics.policy_reloads.labels("refused")._value.get() == 1.0
        assert state.metrics.policy_reloads.labels("ok")._value.get() == 0.0
        ((level, event, keys),) = recorder.events
        assert (level, event, keys["count"]) == ("error", "policy_reload_refused", 1)
        errors = keys["errors"]
        assert isinstance(errors, list)
        (error,) = errors
        assert error.startswith(where) and error.endswith("got 'phoneNumbr'")
        assert (await store.head()).size == size  # no policy leaf for a refused version
        # Put right, the next reload is accepted.
        path = shipped / "tmf622-product-order.yaml"
        path.write_text(path.read_text().replace("phoneNumbr", "phoneNumber"), "utf-8")
        assert await reload_policies(state) is True
        assert state.minimiser is not old


async def test_policies_failing_the_cross_check_stop_the_start(
    shipped: Path, tmp_path: Path
) -> None:
    """Nothing is opened: the error, as ``file:line: message``, is all that comes out."""
    where = misspell_phone(shipped)
    store = MemoryStore()
    with pytest.raises(ConfigError) as caught:
        async with open_state(shipped_config(tmp_path, shipped), store):
            pytest.fail("the proxy started on a policy that fails the cross-check")
    (error,) = caught.value.errors
    assert error.startswith(where) and error.endswith("got 'phoneNumbr'")
    assert (await store.head()).size == 0


async def test_a_missing_schemas_directory_stops_the_start_and_refuses_reloads(
    tmp_path: Path,
) -> None:
    """Policies that cannot be checked are not served: one error naming the setting and path."""
    gone = tmp_path / "no-schemas"
    cfg = shipped_config(tmp_path, OPEN, schemas_dir=gone)
    with pytest.raises(ConfigError) as caught:
        async with open_state(cfg, MemoryStore()):
            pytest.fail("the proxy started without its schemas")
    (error,) = caught.value.errors
    assert error.startswith("<test>: minimisation.schemas_dir: expected a directory of ")
    assert f"got no directory at {gone} " in error
    # Removed while serving: the next reload is refused, the policies in force stay.
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    async with open_state(
        shipped_config(tmp_path, OPEN, schemas_dir=schemas), MemoryStore()
    ) as state:
        old = state.minimiser
        shutil.rmtree(schemas)
        assert await reload_policies(state) is False
        assert state.minimiser is old


async def test_the_cross_check_is_off_only_when_the_operator_says_so_and_that_is_logged(
    shipped: Path, tmp_path: Path
) -> None:
    """``crosscheck: false``: no schemas needed, a typo is served, a warning at every start."""
    misspell_phone(shipped)
    cfg = shipped_config(tmp_path, shipped, schemas_dir=tmp_path / "none", crosscheck=False)
    with capture_logs() as logs:
        async with open_state(cfg, MemoryStore()) as state:
            assert state.minimiser.policies.named("tmf622-v4-product-order") is not None
    assert {
        "event": "policy_crosscheck_disabled",
        "log_level": "warning",
        "config": "<test>",
    } in logs


async def test_a_reload_reads_the_files_off_the_event_loop_one_at_a_time(
    policies: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading and cross-checking run in a worker thread (the loop keeps serving), and a second
    reload asked for meanwhile waits for the first: the last one asked for is the one in force."""
    cfg = config(
        tmp_path, [], minimisation=MinimisationConfig(policies, REPO / "policies" / "partners.yaml")
    )
    real = load_minimiser
    loading = threading.Event()
    release = threading.Event()
    events: list[str] = []

    def slow_load(*args: object) -> object:
        # Runs only off the loop: it waits for a coroutine that needs the loop to set it.
        events.append("load-start")
        loading.set()
        assert release.wait(timeout=10), "the event loop was blocked during the load"
        events.append("load-end")
        return real(*args)  # type: ignore[arg-type]

    async with open_state(cfg, MemoryStore()) as state:
        monkeypatch.setattr(reload_module, "load_minimiser", slow_load)
        first = asyncio.create_task(reload_policies(state))
        second = asyncio.create_task(reload_policies(state))
        # The loop runs (this coroutine waits) while the first reload loads.
        assert await asyncio.to_thread(loading.wait, 10)
        assert events == ["load-start"]  # the second has not started loading
        events.append("loop-ran")
        release.set()
        assert await first is True
        assert await second is True
    assert events == ["load-start", "loop-ran", "load-end", "load-start", "load-end"]
