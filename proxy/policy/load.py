"""Load policies: every ``*.yaml``/``*.yml`` file of a directory, every error collected.

A file holds one policy (a mapping with ``name``, ``match``, ``rules`` …) or several under a
top-level ``policies:`` list. Each file is parsed with line numbers (:mod:`proxy.yamlsource`),
validated against the shipped JSON Schema (``proxy/policy/schema.json``, also for editors),
then checked and compiled (:mod:`proxy.policy.compile`). Any problem in any file raises one
:class:`~proxy.errors.ConfigError` listing them all as ``file:line: message``, so an invalid
new version is refused as a whole and the old one keeps serving.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

from proxy.errors import ConfigError
from proxy.policy.compile import compile_policy, describe
from proxy.policy.model import Policy, PolicySet, SchemaRef
from proxy.policy.selectors import Selector, SelectorError, compile_selector, syntax_of
from proxy.yamlsource import PathKey, Source, load_yaml, load_yaml_file, schema_errors

#: Policy keys whose lines a policy remembers, for the messages of later checks.
_LINED_KEYS = ("match", "partner", "order_ref", "schema", "extension_namespaces")


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
        refs = item.get("order_ref") if isinstance(item, dict) else None
        if isinstance(refs, list) and refs and (*base, "order_ref") not in broken:
            # The compiler knows one order_ref; the alternatives are compiled in _extend.
            item = {**item, "order_ref": refs[0]}
        policy, found = compile_policy(source, base, item, broken)
        errors.extend(found)
        if policy is not None:
            policy, found = _extend(source, base, refs, policy)
            errors.extend(found)
            if not found:
                policies.append(policy)
    # One list in file order, schema and semantic findings interleaved by line.
    return policies, sorted(errors, key=lambda e: int(e[len(source.name) + 1 :].split(":", 1)[0]))


def _extend(source: Source, base: PathKey, refs: Any, policy: Policy) -> tuple[Policy, list[str]]:
    """``policy`` with its order_ref alternatives, schemas, extension namespaces and key lines."""
    data = source.data
    for key in base:
        data = data[key]
    errors: list[str] = []
    alternatives: list[Selector] = []
    for i, text in enumerate(refs[1:] if isinstance(refs, list) else (), start=1):
        path = (*base, "order_ref", i)
        where = f"{source.where(path)}: at {describe(path)}"
        if syntax_of(text) is not policy.syntax:
            errors.append(f"{where}: expected a selector of the policy's kind, got the other kind")
            continue
        try:
            alternatives.append(compile_selector(text))
        except SelectorError as exc:
            errors.append(f"{where}: {exc}")
    listed = data.get("schema", [])
    schemas = tuple(
        SchemaRef(
            ref,
            source.line_of((*base, "schema", i) if isinstance(listed, list) else (*base, "schema")),
        )
        for i, ref in enumerate(listed if isinstance(listed, list) else [listed])
    )
    lines = {key: source.line_of((*base, key)) for key in _LINED_KEYS if key in data}
    extended = dataclasses.replace(
        policy,
        order_ref_alternatives=tuple(alternatives),
        schemas=schemas,
        extension_namespaces=tuple(data.get("extension_namespaces", ())),
        lines=MappingProxyType(lines),
    )
    return extended, errors


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


def is_partner_directory(data: Any) -> bool:
    """Whether a YAML document is the partner directory (``partners: [...]``), not a policy.

    The shipped layout keeps ``partners.yaml`` next to the policies; the loader skips it.
    """
    return isinstance(data, dict) and "partners" in data and not {"name", "policies"} & set(data)


def load_policies(directory: Path) -> PolicySet:
    """Every policy in ``directory``; :class:`ConfigError` lists every problem of every file.

    A partner directory among them (see :func:`is_partner_directory`) is not a policy: skipped.
    """
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
        if is_partner_directory(source.data):
            continue
        policies, problems = _policies_in(source)
        found.extend(policies)
        errors.extend(problems)
    unique, repeats = _unique(found)
    if errors or repeats:
        raise ConfigError(errors + repeats)
    return PolicySet(tuple(unique))
