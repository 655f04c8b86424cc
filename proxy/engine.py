"""The policy engine: document in, minimised document plus decisions out. PURE.

:func:`apply` never awaits and does no I/O: the handler (step 4 of DESIGN.md §3) hands it a
parsed body, the rules of the matched policy and a :class:`Context` (partner, order reference,
keys, scrubber, restore mapping), and gets back an :class:`Outcome`. New tokens are returned,
not stored; the caller persists them before forwarding (step 7).

The steps, for every message:

1. open the body through its adapter: JSON document or merge-patch body, JSON Patch op list,
   XML tree or SOAP envelope (edited in place, prefixes kept);
2. allow the partner's contacts in the output (they are meant to be there);
3. run the structured rules in policy order (everything but ``scrub``), collecting the values
   they remove and the values they allow;
4. run the free-text rules, which now know every removed value: a note repeating a number that
   a structured rule replaced loses it too;
5. carry out deferred removals and return the document with one :class:`Decision` per change.

Decisions name paths, rule ids, keyed commitments and token ids, never values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from lxml import etree

from proxy.actions.allow import Allow
from proxy.actions.base import (
    Change,
    Context,
    Env,
    IssuedToken,
    Keys,
    Partner,
    Phase,
    Reach,
    Scrubber,
    mac,
)
from proxy.detect.known import ValueSet
from proxy.detect.scrubber import Remembering
from proxy.errors import PolicyError
from proxy.formats.patch import JsonPatchOp
from proxy.policy.document import Document, Node, Slot
from proxy.policy.jsondoc import JsonDoc, JsonPatchDoc
from proxy.policy.model import Rule
from proxy.policy.xmldoc import XmlDoc

__all__ = ["Context", "Decision", "IssuedToken", "Keys", "Outcome", "Partner", "Scrubber", "apply"]


class Decision(NamedTuple):
    """One thing the policy did, as the audit log records it.

    A named tuple (immutable, and a fraction of a frozen dataclass's construction cost): a
    message makes one per edited value.
    """

    path: str
    rule: str
    action: str
    #: HMAC(commit key, path || 0x00 || removed value), or None when nothing was removed.
    commitment: bytes | None = None
    token_id: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of :func:`apply`; ``removed_values`` and ``allowed_values`` stay in memory."""

    document: Any
    decisions: tuple[Decision, ...]
    tokens: tuple[IssuedToken, ...]
    #: Originals removed by structured rules: for the egress guard (never logged).
    removed_values: tuple[str, ...]
    #: Partner contacts, ``keep`` values and every value the policy wrote.
    allowed_values: tuple[str, ...]
    #: Whether the document differs from the one received (else forward the original bytes).
    changed: bool
    #: ``removed_values`` compiled (minus ``allowed_values``), when a free-text rule needed it:
    #: the egress guard reuses it instead of compiling the same values again.
    known: ValueSet | None = None
    #: ``allowed_values`` compiled, under the same condition.
    permitted: ValueSet | None = None


def open_document(document: Any) -> Document:
    """The adapter for a parsed body (see step 1)."""
    if type(document) is dict:
        return JsonDoc(document)  # the common case first: no attribute look-up that fails
    if isinstance(document, etree._Element | etree._ElementTree) or hasattr(document, "tree"):
        return XmlDoc(document)
    if (
        isinstance(document, tuple | list)
        and document
        and all(isinstance(op, JsonPatchOp) for op in document)
    ):
        return JsonPatchDoc(document)
    return JsonDoc(document)


#: (action, env, value) -> what the action made of the value.
_Memo = dict[tuple[int, int, str], Change]


class _Run:
    """The mutable state of one :func:`apply` call."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.decisions: list[Decision] = []
        self.tokens: dict[str, IssuedToken] = {}
        self.removed: list[str] = []
        self.allowed: list[str] = []
        self.changed = False
        #: Values free-text rules leave alone: a kept value is not scrubbed by a broader rule.
        self.untouchable: frozenset[str] = frozenset()
        #: (action, env, value) -> change, for the structured one-string actions: they are pure,
        #: and a message repeats values (a customer's name in every party), each worth three MACs
        #: when tokenised.
        self.changes: _Memo = {}
        partner = context.partner
        if partner is not None:
            self.allowed.extend(v for v in (partner.phone, partner.email, partner.name) if v)

    def rule(self, rule: Rule, doc: Document, env: Env) -> None:
        handler = rule.handler
        reach = handler.reach
        # The one-string actions of the structured phase are pure: one change per value.
        memo = self.changes if reach is Reach.SCALAR and handler.phase is Phase.STRUCTURED else None
        try:
            if reach is Reach.SCALAR:
                for node in doc.select(rule.selector):
                    slot = node.scalar()
                    if slot is not None:
                        self.edit(slot, rule, env, memo)
            elif reach is Reach.LEAVES:
                seen: set[object] | None = set() if rule.selector.overlapping else None
                for node in doc.select(rule.selector):
                    for slot in node.leaves():
                        if seen is not None:
                            # Overlapping matches (a node and its descendant): one edit a leaf.
                            ident = slot.ident
                            if ident in seen:
                                continue
                            seen.add(ident)
                        self.edit(slot, rule, env)
            else:
                for node in doc.select(rule.selector):
                    self.structure(node, rule)
        except PolicyError as exc:
            raise PolicyError(f"rule {rule.id} ({rule.where}): {exc.message}") from exc

    def structure(self, node: Node, rule: Rule) -> None:
        # The reaches that change the document's shape: the node itself, or its children.
        action = rule.handler
        if action.reach is Reach.NODE:
            self.remove(node, rule)
            return
        if not isinstance(action, Allow):
            raise PolicyError(f"expected allow to filter children, got {action.name}")
        for name, child in list(node.children()):
            if not action.permits(name):
                self.remove(child, rule)

    def remove(self, node: Node, rule: Rule) -> None:
        path = node.path
        commitment = mac(self.context.keys.commit, path.encode(), node.canonical())
        self.removed.extend(node.removed_texts())
        node.drop()
        self.changed = True
        self.decisions.append(Decision(path, rule.id, rule.action, commitment))

    def edit(self, slot: Slot, rule: Rule, env: Env, memo: _Memo | None = None) -> None:
        original = slot.text
        handler = rule.handler
        if original in self.untouchable and handler.phase is Phase.FREE_TEXT:
            return
        try:
            if memo is None:
                change = handler.apply(original, env)
            else:
                key = (id(handler), id(env), original)
                found = memo.get(key)
                if found is None:
                    found = memo[key] = handler.apply(original, env)
                change = found
        except PolicyError as exc:
            raise PolicyError(f"at {slot.path}: {exc.message}") from exc
        value, removed, record, allowed, token, token_id = change
        if value is None and not record:
            return
        # The path is rendered only now: most leaves a rule looks at need no decision.
        path = slot.path
        if value is not None and value != original:
            slot.set(value)
            self.changed = True
        commitment = None
        if removed:
            commitment = mac(self.context.keys.commit, path.encode(), original.encode())
            if handler.phase is Phase.STRUCTURED:
                self.removed.append(original)
        if allowed:
            self.allowed.append(allowed)
        if token is not None:
            self.token(token, path)
        # tuple.__new__ is Decision(...) minus the named tuple's own __new__, a Python call.
        self.decisions.append(
            tuple.__new__(Decision, (path, rule.id, rule.action, commitment, token_id))
        )

    def token(self, token: IssuedToken, path: str) -> None:
        known = self.tokens.setdefault(token.token, token)
        if known.original != token.original:
            # Two values, one token: restoring would be ambiguous. Refuse rather than guess.
            raise PolicyError(
                f"at {path}: expected distinct tokens for distinct values, got a collision"
            )


def apply(rules: Sequence[Rule], document: Any, context: Context) -> Outcome:
    """Minimise ``document`` with ``rules`` (the module's steps); edits JSON and XML in place."""
    # 1. Open; 2. the partner's contacts are allowed (in _Run).
    doc = open_document(document)
    run = _Run(context)
    # 3. Structured rules, in policy order.
    structured = Env(context, (), run.allowed)
    for rule in rules:
        if rule.handler.phase is Phase.STRUCTURED:
            run.rule(rule, doc, structured)
    # 4. Free text, knowing every removed and allowed value. They are compiled once for the
    # whole message (a ValueSet is also the sequence of its values), not once per string that
    # every scrub rule hands to the scrubber. Free-text rules add to neither list.
    removed = tuple(dict.fromkeys(run.removed))
    allowed = tuple(dict.fromkeys(run.allowed))
    known: ValueSet | None = None
    permitted: ValueSet | None = None
    free_text = [rule for rule in rules if rule.handler.phase is Phase.FREE_TEXT]
    if free_text:
        permitted = _permitted(allowed, context)
        known = ValueSet.compile(removed).without(permitted)
        free = Env(context, known, permitted)
        run.untouchable = frozenset(allowed)
        if isinstance(context.scrubber, Remembering):
            # One detection pass over the texts the free-text rules select, instead of one
            # call per text (a text the rules see otherwise is still scrubbed, as a call).
            context.scrubber.prime(_selected_texts(free_text, doc), known, permitted)
        for rule in free_text:
            run.rule(rule, doc, free)
    # 5. Deferred removals.
    result = doc.finish()
    return Outcome(
        result,
        tuple(run.decisions),
        tuple(run.tokens.values()),
        removed,
        allowed,
        run.changed,
        known,
        permitted,
    )


def _selected_texts(rules: Sequence[Rule], doc: Document) -> list[str]:
    # The strings under the nodes the free-text rules select, as they stand before those rules
    # run (selection has no side effects; a selection that fails is left to the rule itself).
    texts: list[str] = []
    for rule in rules:
        try:
            texts.extend(slot.text for node in doc.select(rule.selector) for slot in node.leaves())
        except PolicyError:
            continue
    return texts


def _permitted(allowed: tuple[str, ...], context: Context) -> ValueSet:
    # The allowed values compiled: the partner's contacts from the caller's cache when it
    # holds exactly them, joined to this message's own (``keep`` values, tokens, written ones).
    partner, cached = context.partner, context.partner_allowed
    if partner is None or not isinstance(cached, ValueSet):
        return ValueSet.compile(allowed, search=False)
    contacts = tuple(v for v in (partner.phone, partner.email, partner.name) if v)
    if cached.values != contacts:
        return ValueSet.compile(allowed, search=False)
    return cached.union(ValueSet.compile((v for v in allowed if v not in contacts), search=False))
