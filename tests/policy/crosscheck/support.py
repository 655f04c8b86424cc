"""Policies and schema names the cross-check tests share.

Each test writes a small policy, names the schema it is checked against and states which
selector must be refused (with its ``file:line``) or accepted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from proxy.policy.crosscheck import crosscheck
from proxy.policy.load import load_policies, load_policy_text
from proxy.policy.model import Policy

REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / "schemas"
ORD = "{http://wholesale.example.it/ordering/v1}"
HDR = "{http://wholesale.example.it/header/v1}"
SOAP11 = "{http://schemas.xmlsoap.org/soap/envelope/}"
V4 = "tmf/tmf622-v4.schema.json#/$defs/ProductOrder_Create"
V5 = "tmf/tmf622-v5.schema.json#/$defs/ProductOrder_FVO"
XSD = "soap/wholesale-ordering-v1.xsd#SubmitActivationOrder"
EXT = "http://fibraveloce.example.it/oss/ext/v1"


def policy_text(schema: str, selectors: list[str], extra: str = "", action: str = "drop") -> str:
    """A policy with one rule per selector, each on its own line (rule i on line 6 + i)."""
    lines = [
        "name: t",
        "match: {method: POST, path: /x}",
        f"schema: {schema}",
        extra or "egress: block",
        "rules:",
    ]
    lines += [f'  - {{id: r{i}, select: "{s}", action: {action}}}' for i, s in enumerate(selectors)]
    return "\n".join(lines) + "\n"


def check(schema: str, selectors: list[str], extra: str = "", action: str = "drop") -> list[str]:
    """Cross-check errors of such a policy."""
    policies = load_policy_text(policy_text(schema, selectors, extra, action), "t.yaml")
    return crosscheck(policies, SCHEMAS)


def shipped(name: str) -> Policy:
    """A shipped policy by name."""
    policy = load_policies(REPO / "policies").named(name)
    assert policy is not None
    return policy


def without(policy: Policy, *ids: str) -> Policy:
    """``policy`` with some request rules removed."""
    return dataclasses.replace(policy, rules=tuple(r for r in policy.rules if r.id not in ids))
