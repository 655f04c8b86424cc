"""Policies: YAML files -> schema check -> semantic checks -> compiled, frozen values.

Public API: :func:`~proxy.policy.load.load_policies` / :func:`~proxy.policy.load.load_policy_text`
-> :class:`~proxy.policy.model.PolicySet`; selectors in :mod:`proxy.policy.selectors`.
"""

from __future__ import annotations
