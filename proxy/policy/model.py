"""Policies as loaded: frozen values, selectors and actions already compiled.

A :class:`Policy` says which messages it covers (:class:`Match`), how the partner of a message
is found (:class:`PartnerRule`), where the order reference is (``order_ref``), what to do on
the way out (``rules``) and on the way back (``response``), and what the egress guard does on
a hit (``egress``). Matching is pure: the handler asks :meth:`PolicySet.find`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from proxy.actions.base import Action, Syntax
from proxy.policy.selectors import Selector, first_text

#: Body kinds a policy can cover (the handler maps its media types onto these names).
JSON_KINDS = ("json", "merge-patch", "json-patch", "json-patch-query")
XML_KINDS = ("soap11", "soap12")


class Egress(enum.Enum):
    """What the egress guard does when it finds personal data no rule allowed."""

    #: Refuse the message (fail closed): the default.
    BLOCK = "block"
    #: Scrub the hit and forward, reporting it.
    SCRUB = "scrub"


def compile_path(pattern: str) -> re.Pattern[str]:
    """``/a/{id}/b`` matches one segment per placeholder; a trailing ``*`` matches the rest."""
    body, star = (pattern[:-1], True) if pattern.endswith("*") else (pattern, False)
    out = []
    for piece in re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", body):
        out.append("[^/]+" if piece.startswith("{") and piece.endswith("}") else re.escape(piece))
    return re.compile("".join(out) + (".*" if star else ""), re.DOTALL)


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a policy covers; empty ``actions`` or ``content`` mean any."""

    methods: frozenset[str]
    path: str
    pattern: re.Pattern[str] = field(compare=False, repr=False)
    actions: tuple[str, ...] = ()
    content: frozenset[str] = frozenset()

    def matches(
        self, method: str, path: str, action: str | None = None, content: str | None = None
    ) -> bool:
        """Whether a request is covered; a quoted SOAPAction is compared without its quotes."""
        if method.upper() not in self.methods or self.pattern.fullmatch(path) is None:
            return False
        if self.actions and (action is None or action.strip().strip('"') not in self.actions):
            return False
        # No content (a bodyless GET or DELETE) is covered by any policy whose method matches.
        return content is None or not self.content or content in self.content


@dataclass(frozen=True, slots=True)
class PartnerRule:
    """How the partner of a message is found: ``header``, ``body`` or ``client_cert``."""

    source: str
    #: The header name, the body selector as written, or ``subject_cn``.
    name: str
    selector: Selector | None = None

    def resolve(
        self, headers: Mapping[str, str], document: Any, subject_cn: str | None = None
    ) -> str | None:
        """The partner id this message names, or None (the handler then rejects it)."""
        if self.source == "header":
            value = headers.get(self.name)
            if value is None:
                wanted = self.name.lower()
                value = next((v for k, v in headers.items() if k.lower() == wanted), None)
            return value.strip() or None if value is not None else None
        if self.source == "body":
            return (
                None
                if self.selector is None or document is None
                else first_text(self.selector, document)
            )
        return subject_cn or None


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: ``selector`` picks nodes, ``action`` (compiled as ``handler``) acts on them."""

    id: str
    selector: Selector
    action: str
    params: Mapping[str, Any]
    file: str
    line: int
    handler: Action = field(compare=False, repr=False)

    @property
    def where(self) -> str:
        """``file:line`` of the rule, for messages."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class SchemaRef:
    """An interface schema a policy's selectors are cross-checked against (``schema:``).

    ``ref`` is relative to ``schemas/``: ``tmf/<file>.schema.json#/$defs/<Name>`` or
    ``soap/<file>.xsd#<global element>`` (the fragment may be left out); ``line`` is where it
    is written, for messages.
    """

    ref: str
    line: int

    @property
    def file(self) -> str:
        """The schema file, relative to ``schemas/``."""
        return self.ref.split("#", 1)[0]

    @property
    def fragment(self) -> str | None:
        """What follows ``#``, or None."""
        return self.ref.split("#", 1)[1] if "#" in self.ref else None


@dataclass(frozen=True, slots=True)
class Policy:
    """One policy: a match, the partner and order rules, and the rules of both directions."""

    name: str
    file: str
    line: int
    syntax: Syntax
    match: Match
    partner: PartnerRule | None
    order_ref: Selector | None
    rules: tuple[Rule, ...]
    response: tuple[Rule, ...] = ()
    egress: Egress = Egress.BLOCK
    #: Further ``order_ref`` selectors, tried in turn when the first finds nothing (one policy
    #: for the notifications of several APIs, whose resources keep the reference apart).
    order_ref_alternatives: tuple[Selector, ...] = ()
    #: The interface schemas the selectors are cross-checked against (empty: not checked).
    schemas: tuple[SchemaRef, ...] = ()
    #: Namespace URIs whose elements XPath selectors may name below an ``xs:any``.
    extension_namespaces: tuple[str, ...] = ()
    #: Lines of the policy's own keys (``order_ref``, ``partner`` …), for messages.
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def order_reference(self, document: Any) -> str | None:
        """The order reference in ``document``, when the policy says where it is."""
        if self.order_ref is None:
            return None
        for selector in (self.order_ref, *self.order_ref_alternatives):
            found = first_text(selector, document)
            if found is not None:
                return found
        return None


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Every loaded policy, in file order then order within a file."""

    policies: tuple[Policy, ...]

    def find(
        self, method: str, path: str, action: str | None = None, content: str | None = None
    ) -> Policy | None:
        """The first policy covering the request, or None (the handler then refuses it)."""
        return next(
            (p for p in self.policies if p.match.matches(method, path, action, content)), None
        )

    def named(self, name: str) -> Policy | None:
        """The policy called ``name``."""
        return next((p for p in self.policies if p.name == name), None)
