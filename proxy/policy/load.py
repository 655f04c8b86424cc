"""Load policies: every ``*.yaml``/``*.yml`` file of a directory, every error collected.

A file holds one policy (a mapping with ``name``, ``match``, ``rules`` …) or several under a
top-level ``policies:`` list. Each file is parsed with line numbers (:mod:`proxy.yamlsource`),
validated against the shipped JSON Schema (``proxy/policy/schema.json``, also for editors),
then checked and compiled (:mod:`proxy.policy.compile`). Any problem in any file raises one
:class:`~proxy.errors.ConfigError` listing them all as ``file:line: message``, so an invalid
new version is refused as a whole and the old one keeps serving.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from proxy.errors import ConfigError
from proxy.policy.compile import compile_policy
from proxy.policy.model import Policy, PolicySet
from proxy.yamlsource import PathKey, Source, load_yaml, load_yaml_file, schema_errors


@cache
def policy_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, as shipped in the package."""
    text = resources.files("proxy.policy").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _policies_in(source: Source) -> tuple[list[Policy], list[str]]:
    schema = policy_schema()
    errors = schema_errors(source, schema)
    validator = jsonschema.Draft202012Validator(schema)
    broken: set[PathKey] = {tuple(e.absolute_path) for e in validator.iter_errors(source.data)}
    data = source.data
    if isinstance(data, dict) and "policies" in data:
        entries: list[tuple[PathKey, Any]] = (
            [(("policies", i), item) for i, item in enumerate(data["policies"] or [])]
            if isinstance(data["policies"], list)
            else []
        )
    else:
        entries = [((), data)]
    policies: list[Policy] = []
    for base, item in entries:
        policy, found = compile_policy(source, base, item, broken)
        errors.extend(found)
        if policy is not None:
            policies.append(policy)
    # One list in file order, schema and semantic findings interleaved by line.
    return policies, sorted(errors, key=lambda e: int(e[len(source.name) + 1 :].split(":", 1)[0]))


def _unique(policies: list[Policy]) -> tuple[list[Policy], list[str]]:
    """Policies with a name not seen before, and an error for each repeat."""
    first: dict[str, Policy] = {}
    errors: list[str] = []
    for policy in policies:
        other = first.setdefault(policy.name, policy)
        if other is not policy:
            errors.append(
                f"{policy.file}:{policy.line}: expected a unique policy name, "
                f"got {policy.name!r} again (first at {other.file}:{other.line})"
            )
    return list(first.values()), errors


def load_policy_text(text: str, name: str) -> PolicySet:
    """The policies of one YAML text (``name`` is used in messages)."""
    policies, errors = _policies_in(load_yaml(text, name))
    policies, repeats = _unique(policies)
    if errors or repeats:
        raise ConfigError(errors + repeats)
    return PolicySet(tuple(policies))


def load_policies(directory: Path) -> PolicySet:
    """Every policy in ``directory``; :class:`ConfigError` lists every problem of every file."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise ConfigError([f"{directory}:1: expected at least one *.yaml policy file, got none"])
    errors: list[str] = []
    found: list[Policy] = []
    for path in files:
        try:
            source = load_yaml_file(path)
        except ConfigError as exc:
            errors.extend(exc.errors)
            continue
        policies, problems = _policies_in(source)
        found.extend(policies)
        errors.extend(problems)
    unique, repeats = _unique(found)
    if errors or repeats:
        raise ConfigError(errors + repeats)
    return PolicySet(tuple(unique))
