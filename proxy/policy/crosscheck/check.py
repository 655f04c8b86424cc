"""The cross-check: every selector of a policy against the schemas it names.

``civetta policy check``, and the proxy at start and on every reload
(:mod:`proxy.checked_policies`), run :func:`crosscheck`.
A selector that can never match lets personal data through without a word
(``$..contactMedium[*].characteristic.phoneNumbr`` selects nothing), so every selector of a
policy that names its ``schema`` (rules, response rules, ``order_ref`` and a body ``partner``)
is walked over that schema, and a step that names something the schema cannot hold there is an
error, ``file:line: message``: JSONPath over JSON Schemas (:mod:`.json_selectors`), XPath over
XSD content models (:mod:`.xml_selectors`). An ``allow`` must also list children the selected
nodes can have. A policy without ``schema`` is not checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from proxy.policy.crosscheck.json_selectors import check_jsonpath, json_children
from proxy.policy.crosscheck.library import SchemaLibrary, policy_roots
from proxy.policy.crosscheck.xml_selectors import XWalk, envelope, parse_xpath_steps, xml_children
from proxy.policy.jsonpath import JsonPath
from proxy.policy.model import Policy, PolicySet, Rule
from proxy.policy.selectors import Selector


def _selectors(policy: Policy) -> Iterator[tuple[str, str, Selector, Rule | None, bool]]:
    """(file:line, what, selector, rule, response) for every selector of a policy."""
    if policy.partner is not None and policy.partner.selector is not None:
        line = policy.lines.get("partner", policy.line)
        yield f"{policy.file}:{line}", "partner.body", policy.partner.selector, None, False
    if policy.order_ref is not None:
        line = policy.lines.get("order_ref", policy.line)
        for selector in (policy.order_ref, *policy.order_ref_alternatives):
            yield f"{policy.file}:{line}", "order_ref", selector, None, False
    for rule in policy.rules:
        yield rule.where, f"rule {rule.id}", rule.selector, rule, False
    for rule in policy.response:
        yield rule.where, f"response rule {rule.id}", rule.selector, rule, True


def check_policy(policy: Policy, library: SchemaLibrary) -> list[str]:
    """Every cross-check error of one policy (none when it names no schema)."""
    if not policy.schemas:
        return []
    roots = policy_roots(policy, library)
    errors = list(roots.errors)
    if errors:
        return errors
    for where, what, selector, rule, response in _selectors(policy):
        problem: str | None
        if isinstance(selector, JsonPath):
            if not roots.json:
                problem = "expected a JSON Schema in schema for a JSONPath selector, got only XSD"
            else:
                problem = check_jsonpath(selector, roots.json)
                if problem is None and rule is not None:
                    problem = json_children(rule, roots.json)
        elif roots.xsd is None:
            problem = "expected an XSD in schema for an XML selector, got only JSON Schemas"
        else:
            walk = XWalk(roots.xsd, policy.extension_namespaces)
            elements = roots.everything if response else roots.elements
            problem = walk.check(parse_xpath_steps(selector.source), [envelope(elements)])
            if problem is None and rule is not None:
                problem = xml_children(rule, walk, elements)
        if problem is not None:
            errors.append(f"{where}: {what}: {selector.source}: {problem}")
    return errors


def crosscheck(
    policies: PolicySet, schemas_dir: Path, library: SchemaLibrary | None = None
) -> list[str]:
    """Every cross-check error of every policy, as ``file:line: message``; the schemas are
    read afresh unless a library of ``schemas_dir`` is given (:func:`.library.shared_library`)."""
    library = SchemaLibrary(schemas_dir) if library is None else library
    errors: list[str] = []
    for policy in policies.policies:
        errors.extend(check_policy(policy, library))
    return errors
