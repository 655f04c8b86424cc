"""The action registry: bare verbs, their parameters, and the shipped schema agree."""

from __future__ import annotations

import pytest

from proxy.actions.base import ParamError, Syntax
from proxy.actions.registry import REGISTRY, build_action
from proxy.policy.load import policy_schema


def test_registry_holds_every_action_by_bare_verb() -> None:
    """The ten actions are registered under the names policies use (British spelling)."""
    assert set(REGISTRY) == {
        "drop",
        "replace",
        "tokenise",
        "alias",
        "hash",
        "mask",
        "keep",
        "scrub",
        "allow",
        "restore",
    }
    assert all(REGISTRY[name].name == name for name in REGISTRY)
    assert all(build_action(name, _minimal(name), Syntax.JSON).name == name for name in REGISTRY)


def test_schema_lists_exactly_the_registered_actions_and_parameters() -> None:
    """An action or parameter added to the registry must be added to the editor schema too."""
    rule = policy_schema()["$defs"]["rule"]
    assert set(rule["properties"]["action"]["enum"]) == set(REGISTRY)
    params = {p for spec in REGISTRY.values() for p in spec.params}
    assert set(rule["properties"]) - {"id", "select", "action", "description"} == params


def test_unknown_action_and_foreign_parameter_are_refused() -> None:
    """``anonymise`` is no action; ``format`` belongs to tokenise, not mask."""
    with pytest.raises(ParamError, match="expected one of drop, replace"):
        build_action("anonymise", {}, Syntax.JSON)
    with pytest.raises(ParamError, match="expected no 'format' for mask"):
        build_action("mask", {"format": "opaque"}, Syntax.JSON)


def _minimal(name: str) -> dict[str, object]:
    needed: dict[str, dict[str, object]] = {
        "replace": {"value": "x"},
        "allow": {"children": ["a"]},
        "alias": {"kind": "phone"},
    }
    return needed.get(name, {})
