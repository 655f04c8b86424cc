"""The action registry: bare verb -> how to build it and which parameters it takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from proxy.actions import alias, allow, drop, keep, mask, replace, restore, scrub, tokenise
from proxy.actions import hash as hash_action
from proxy.actions.base import Action, ActionFactory, ParamError, Syntax


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """One registered action."""

    name: str
    build: ActionFactory
    params: tuple[str, ...]


REGISTRY: Mapping[str, ActionSpec] = MappingProxyType(
    {
        module.__name__.rsplit(".", 1)[1]: ActionSpec(
            module.__name__.rsplit(".", 1)[1], module.build, module.PARAMS
        )
        for module in (
            drop,
            replace,
            tokenise,
            alias,
            hash_action,
            mask,
            keep,
            scrub,
            allow,
            restore,
        )
    }
)


def build_action(name: str, params: Mapping[str, Any], syntax: Syntax) -> Action:
    """Compile action ``name`` with ``params``; :class:`ParamError` when either is wrong.

    ``params`` holds only the action's parameters; one it does not take is an error.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise ParamError([("action", f"expected one of {', '.join(REGISTRY)}, got {name!r}")])
    extra = [key for key in params if key not in spec.params]
    if extra:
        takes = ", ".join(spec.params) or "no parameters"
        raise ParamError(
            [(key, f"expected no {key!r} for {name} (it takes {takes})") for key in extra]
        )
    return spec.build(params, syntax)
