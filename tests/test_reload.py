"""Policy reloads: a valid change is swapped in, an invalid one refused and counted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from proxy.config import MinimisationConfig
from proxy.reload import reload_policies, snapshot
from proxy.state import open_state
from proxy.storage.memory import MemoryStore
from proxy.testing import REPO, config

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
