"""Coverage: the personal-looking schema fields (:mod:`.personal`) no request rule covers.

A field is covered when a rule selects it; or selects an ancestor with an action that works on
the whole subtree (``drop``, ``keep``, ``scrub``, ``restore``); or selects an ancestor with
``allow`` that does not list the child on the way. Filters count as coverage: which items they
pick depends on data no schema describes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from proxy.actions.allow import Allow
from proxy.actions.base import Reach
from proxy.formats.soap import SOAP11_NS, SOAP12_NS
from proxy.policy.crosscheck.library import SchemaLibrary
from proxy.policy.crosscheck.personal import ENVELOPE, ENVELOPE_PART, Field, policy_fields
from proxy.policy.crosscheck.xml_selectors import XStep, parse_xpath_steps
from proxy.policy.crosscheck.xsd import split_clark
from proxy.policy.jsonpath import Descend, Filter, Index, JsonPath, Key, Step, Wild
from proxy.policy.model import Policy, Rule


@dataclass(frozen=True, slots=True)
class Gap:
    """A personal-looking field of a policy's schema that none of its request rules covers."""

    policy: str
    where: str
    field: Field


def _json_covers(selector: JsonPath, segments: Sequence[str]) -> bool:
    """Whether ``selector`` can select exactly the node at ``segments`` (filters: maybe)."""
    positions = {0}
    for step in selector.steps:
        inner = step.inner if isinstance(step, Descend) else step
        nxt: set[int] = set()
        for pos in positions:
            # ``..`` first skips any number of segments (the node itself included).
            starts = range(pos, len(segments) + 1) if isinstance(step, Descend) else (pos,)
            for start in starts:
                nxt |= _json_seg(inner, segments, start)
        positions = nxt
        if not positions:
            return False
    return len(segments) in positions


def _json_seg(step: Step, segments: Sequence[str], pos: int) -> set[int]:
    seg = segments[pos] if pos < len(segments) else None
    if isinstance(step, Key):
        return {pos + 1} if seg == step.name else set()
    if isinstance(step, Index):
        return {pos + 1} if seg == "[*]" else set()
    if isinstance(step, Wild):
        return {pos + 1} if seg is not None else set()
    if isinstance(step, Filter):
        return {pos, pos + 1} if seg == "[*]" else {pos}
    return set()


def _xml_covers(steps: Sequence[XStep], segments: Sequence[str]) -> bool:
    positions = {0}
    for step in steps:
        nxt: set[int] = set()
        for pos in positions:
            starts = range(pos, len(segments)) if step.axis == "//" else [pos]
            for start in starts:
                if start < len(segments) and _xml_name_matches(step, segments[start]):
                    nxt.add(start + 1)
        positions = nxt
        if not positions:
            return False
    return len(segments) in positions


def _xml_name_matches(step: XStep, segment: str) -> bool:
    attribute = segment.startswith("@")
    if attribute != step.attribute:
        return False
    if step.name is None:
        return True
    ns, local = split_clark(step.name)
    if ns in (SOAP11_NS, SOAP12_NS):
        return (segment == ENVELOPE and local == "Envelope") or (
            segment == ENVELOPE_PART and local in ("Header", "Body")
        )
    return step.name == (segment[1:] if attribute else segment)


def _matcher(rule: Rule, segments: Sequence[str], xml: bool) -> Callable[[int], bool]:
    """Whether the rule selects the node made of the first ``n`` segments."""
    selector = rule.selector
    if xml:
        steps = parse_xpath_steps(selector.source)
        return lambda n: _xml_covers(steps, segments[:n])
    if isinstance(selector, JsonPath):
        return lambda n: _json_covers(selector, segments[:n])
    return lambda n: False


def _covered(field: Field, rules: Sequence[Rule]) -> bool:
    segments = field.segments
    for rule in rules:
        reach = rule.handler.reach
        matches = _matcher(rule, segments, field.xml)
        if reach is Reach.SCALAR:
            if matches(len(segments)):
                return True
        elif reach is Reach.CHILDREN and isinstance(rule.handler, Allow):
            for n in range(len(segments)):
                # On a JSON array, allow filters the members of each item.
                child = n + 1 if not field.xml and segments[n] == "[*]" else n
                if (
                    child < len(segments)
                    and not rule.handler.permits(segments[child])
                    and matches(n)
                ):
                    return True
        elif any(matches(n) for n in range(len(segments) + 1)):
            return True
    return False


def coverage(policy: Policy, library: SchemaLibrary) -> list[Gap]:
    """Personal-looking fields of the policy's schemas that no request rule covers."""
    where = f"{policy.file}:{policy.lines.get('schema', policy.line)}"
    return [
        Gap(policy.name, where, field)
        for field in policy_fields(policy, library)
        if not _covered(field, policy.rules)
    ]
