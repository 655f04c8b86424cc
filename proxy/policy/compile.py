"""Semantic checks and compilation of one schema-checked policy mapping into a :class:`Policy`.

The JSON Schema catches shapes and types; this catches what a schema cannot: selector syntax,
selectors of the wrong family, parameters an action does not take or cannot use, duplicate rule
ids, ``replace with: partner.*`` without a partner rule, ``tokenise`` without an order reference.
Every problem is collected as ``file:line: at PATH: message``; none stops the others.
"""

from __future__ import annotations

from collections.abc import Collection
from types import MappingProxyType
from typing import Any

from proxy.actions.base import ParamError, Syntax
from proxy.actions.registry import build_action
from proxy.policy.model import (
    JSON_KINDS,
    XML_KINDS,
    Egress,
    Match,
    PartnerRule,
    Policy,
    Rule,
    compile_path,
)
from proxy.policy.selectors import Selector, SelectorError, compile_selector, syntax_of
from proxy.yamlsource import PathKey, Source

RULE_KEYS = frozenset({"id", "select", "action", "description"})
_NEEDS_ORDER = frozenset({"tokenise", "restore", "alias"})


def describe(path: PathKey) -> str:
    """``policies[0].rules[2].select`` for a path of keys and indices."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


class _Checker:
    def __init__(self, source: Source, base: PathKey, broken: Collection[PathKey]) -> None:
        self.source, self.base, self.broken = source, base, broken
        self.errors: list[str] = []

    def error(self, path: PathKey, message: str) -> None:
        self.errors.append(f"{self.source.where(path)}: at {describe(path)}: {message}")

    def sound(self, path: PathKey) -> bool:
        """No schema error at or below ``path`` (so its semantic checks make sense)."""
        return not any(b[: len(path)] == path for b in self.broken)

    def selector(self, path: PathKey, text: str, syntax: Syntax) -> Selector | None:
        if syntax_of(text) not in (syntax, None):
            family = "JSONPath ('$')" if syntax is Syntax.JSON else "XPath ('/')"
            self.error(
                path, f"expected a {family} selector like the policy's first, got the other kind"
            )
            return None
        try:
            return compile_selector(text)
        except SelectorError as exc:
            self.error(path, str(exc))
            return None


def _syntax(data: dict[str, Any]) -> Syntax:
    """The family of the rules' first selector, else of the declared content, else JSON."""
    for key in ("rules", "response"):
        for rule in data.get(key) or ():
            syntax = (
                syntax_of(rule.get("select", ""))
                if isinstance(rule, dict) and isinstance(rule.get("select"), str)
                else None
            )
            if syntax is not None:
                return syntax
    content = (
        (data.get("match") or {}).get("content") if isinstance(data.get("match"), dict) else None
    )
    kinds = [content] if isinstance(content, str) else content if isinstance(content, list) else []
    return Syntax.XML if any(k in XML_KINDS for k in kinds) else Syntax.JSON


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def compile_policy(
    source: Source, base: PathKey, data: Any, broken: Collection[PathKey]
) -> tuple[Policy | None, list[str]]:
    """Check and compile the policy at ``base`` in ``source``; errors as ``file:line: …``."""
    check = _Checker(source, base, broken)
    if not isinstance(data, dict):
        return None, []
    syntax = _syntax(data)
    # 1. Match: methods, path pattern, SOAP actions, content kinds of the right family.
    match = None
    if isinstance(data.get("match"), dict) and check.sound((*base, "match")):
        m = data["match"]
        family = JSON_KINDS if syntax is Syntax.JSON else XML_KINDS
        content = _listed(m.get("content", list(family)))
        for kind in content:
            if kind not in family:
                check.error(
                    (*base, "match", "content"),
                    f"expected body kinds of the selectors' family ({', '.join(family)}), "
                    f"got {kind!r}",
                )
        if "action" in m and syntax is Syntax.JSON:
            check.error(
                (*base, "match", "action"),
                "expected no SOAP action on a policy with JSONPath selectors, got one",
            )
        match = Match(
            frozenset(_listed(m["method"])),
            m["path"],
            compile_path(m["path"]),
            tuple(_listed(m.get("action", []))),
            frozenset(content),
        )
    # 2. Partner and order reference.
    partner = None
    if isinstance(data.get("partner"), dict) and check.sound((*base, "partner")):
        ((source_kind, name),) = data["partner"].items()
        selector = (
            check.selector((*base, "partner", "body"), name, syntax)
            if source_kind == "body"
            else None
        )
        partner = PartnerRule(source_kind, name, selector)
    order_ref = None
    if isinstance(data.get("order_ref"), str) and check.sound((*base, "order_ref")):
        order_ref = check.selector((*base, "order_ref"), data["order_ref"], syntax)
    # 3. Rules of both directions: selectors, actions, parameters, ids unique in the policy.
    seen: dict[str, int] = {}
    compiled: dict[str, list[Rule]] = {"rules": [], "response": []}
    for key in ("rules", "response"):
        for i, rule in enumerate(data.get(key) or ()):
            path = (*base, key, i)
            if not isinstance(rule, dict) or not check.sound(path):
                continue
            built = _rule(check, path, rule, syntax, seen)
            if built is None:
                continue
            if built.action == "restore" and key == "rules":
                check.error(
                    (*path, "action"), "expected restore only in response rules, got it in rules"
                )
            if built.action in _NEEDS_ORDER and "order_ref" not in data:
                check.error(
                    (*path, "action"),
                    f"expected an order_ref in the policy for {built.action}, got none",
                )
            if built.action == "alias" and "partner" not in data:
                # The decoy forwards to the partner's real contact: no partner, nowhere to go.
                check.error(
                    (*path, "action"), "expected a partner rule in the policy for alias, got none"
                )
            if built.params.get("with", "").startswith("partner.") and "partner" not in data:
                check.error(
                    (*path, "with"),
                    f"expected a partner rule in the policy for with: {built.params['with']}, "
                    "got none",
                )
            compiled[key].append(built)
    if check.errors or not check.sound(base) or match is None:
        return None, check.errors
    egress = Egress(data.get("egress", "block"))
    policy = Policy(
        data["name"],
        source.name,
        source.line_of(base),
        syntax,
        match,
        partner,
        order_ref,
        tuple(compiled["rules"]),
        tuple(compiled["response"]),
        egress,
    )
    return policy, []


def _rule(
    check: _Checker, path: PathKey, rule: dict[str, Any], syntax: Syntax, seen: dict[str, int]
) -> Rule | None:
    ident, line = rule["id"], check.source.line_of((*path, "id"))
    if ident in seen:
        check.error(
            (*path, "id"),
            f"expected a rule id unique in the policy, got {ident!r} again "
            f"(first at line {seen[ident]})",
        )
    seen.setdefault(ident, line)
    selector = check.selector((*path, "select"), rule["select"], syntax)
    params = {k: v for k, v in rule.items() if k not in RULE_KEYS}
    try:
        handler = build_action(rule["action"], params, syntax)
    except ParamError as exc:
        for name, message in exc.errors:
            key = name.split("[", 1)[0]
            check.error((*path, key) if key in rule else (*path, "action"), message)
        return None
    if selector is None:
        return None
    return Rule(
        ident,
        selector,
        rule["action"],
        MappingProxyType(params),
        check.source.name,
        check.source.line_of(path),
        handler,
    )
