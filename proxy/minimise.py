"""Steps 3 to 6 of the handler, and step 9's way back: PURE (no I/O, never awaits).

Request: find the policy, resolve the partner, apply the rules (:func:`proxy.engine.apply`),
run the egress guard on the final document, serialise once. Response or notification: apply the
policy's ``response`` rules (``restore`` turns tokens back into the originals, from a mapping the
handler loaded from the vault) and serialise again only if something changed.

Everything that goes wrong raises a :class:`~proxy.errors.CivettaError` (fail closed): no policy
for a protected message (403), unknown partner (403), a policy that cannot apply (422), personal
data left in the final bytes (422, with the paths for the audit's ``block`` leaf).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from multidict import CIMultiDict, CIMultiDictProxy

from proxy.detect.egress import Finding, guard, scan_json, scan_query, scan_xml
from proxy.detect.finder import EMPTY, Values, find_many
from proxy.detect.known import ValueSet
from proxy.detect.scrubber import Remembering, Scrubber
from proxy.engine import Context, Decision, IssuedToken, Keys, Partner, apply
from proxy.errors import LeakBlocked, PartnerUnknown, PolicyError, PolicyMissing
from proxy.formats.json_body import serialise_json
from proxy.formats.media import BodyKind, encode_content
from proxy.formats.patch import JsonPatchOp
from proxy.formats.soap import SoapEnvelope, serialise_xml
from proxy.headers import REQUEST_ID, end_to_end
from proxy.message import Message
from proxy.partners import PartnerDirectory
from proxy.policy.model import Egress, Policy, PolicySet

_REQUEST_ID: Final = REQUEST_ID.lower()
_HEADER_NAME: Final = re.compile(r"[A-Za-z0-9-]{1,64}")

#: The policy language's names for the body kinds (``match.content``).
CONTENT: Mapping[BodyKind, str] = {
    BodyKind.JSON: "json",
    BodyKind.MERGE_PATCH: "merge-patch",
    BodyKind.JSON_PATCH: "json-patch",
    BodyKind.JSON_PATCH_QUERY: "json-patch-query",
    BodyKind.SOAP11: "soap11",
    BodyKind.SOAP12: "soap12",
}


@dataclass(frozen=True, slots=True)
class Minimiser:
    """What minimisation needs, loaded once (and replaced whole on a policy reload)."""

    policies: PolicySet
    partners: PartnerDirectory
    keys: Keys
    scrubber: Scrubber = field(default_factory=Scrubber)
    #: Configured operational contacts (the OLO's NOC …) that may always leave.
    allowed: tuple[str, ...] = ()
    #: Policy file -> SHA-256 of its text: what intents cite and ``policy`` leaves publish.
    hashes: Mapping[str, str] = field(default_factory=dict)
    #: (file, text) of every policy file, for the audit log's ``policy`` leaves.
    texts: tuple[tuple[str, str], ...] = ()
    #: ``allowed`` compiled once per load (a reload builds a new Minimiser), not per message.
    allowed_values: ValueSet = field(init=False, repr=False, compare=False)
    #: Each partner's contacts compiled on first use (configuration, not customer data; keyed
    #: by the whole entry, so changed contacts compile afresh; a reload starts empty).
    partner_values: dict[Partner, ValueSet] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        """Compile the configured operational contacts."""
        object.__setattr__(self, "allowed_values", ValueSet.compile(self.allowed, search=False))

    def contacts_of(self, partner: Partner) -> ValueSet:
        """``partner``'s phone, e-mail and name compiled (once per partner and load)."""
        compiled = self.partner_values.get(partner)
        if compiled is None:
            contacts = (partner.phone, partner.email, partner.name)
            compiled = ValueSet.compile((v for v in contacts if v), search=False)
            self.partner_values[partner] = compiled
        return compiled

    def policy_hash(self, policy: Policy | None) -> str | None:
        """``name@sha256`` of the file that holds ``policy``."""
        if policy is None:
            return None
        digest = self.hashes.get(policy.file)
        return f"{policy.name}@{digest}" if digest is not None else policy.name


@dataclass(frozen=True, slots=True)
class Minimised:
    """A request after steps 3 to 6: the exact bytes to record and send, and what was done."""

    outgoing: bytes
    policy: Policy | None
    partner: Partner | None
    order_ref: str | None
    decisions: tuple[Decision, ...] = ()
    tokens: tuple[IssuedToken, ...] = ()
    #: Findings the guard scrubbed (``egress: scrub``); empty when it blocked or found nothing.
    scrubbed: tuple[Finding, ...] = ()
    #: Originals the rules removed (in memory only): the decoys' echo fingerprints (step 7).
    removed_values: tuple[str, ...] = ()


def soap_action(message: Message) -> str | None:
    """The SOAP action of a SOAP message (the header, or the 1.2 ``action`` parameter)."""
    doc = message.document
    return doc.action.strip('"') if isinstance(doc, SoapEnvelope) and doc.action else None


def minimise_request(
    m: Minimiser,
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    message: Message | None,
    subject_cn: str | None = None,
    decoys: Mapping[str, str] | None = None,
) -> Minimised:
    """Steps 3 to 6 for one request on a protected route (``decoys``: pre-assigned, by kind)."""
    # A bodyless request (GET, DELETE …) carries data only in its query: guard that. Its
    # policy, if any, still matters on the way back (tokens in the answer are restored).
    if message is None:
        _guard_query(raw_query, m.allowed_values)
        _guard_headers(headers, m.allowed_values, EMPTY)
        return Minimised(b"", m.policies.find(method, path), None, None)
    # 3a. The policy: a protected message that no policy covers is refused.
    policy = m.policies.find(method, path, soap_action(message), CONTENT[message.kind])
    if policy is None:
        raise PolicyMissing("expected a policy covering this message, got none")
    # 3b. The partner, when the policy names where to find it.
    partner: Partner | None = None
    if policy.partner is not None:
        partner = m.partners.get(policy.partner.resolve(headers, message.document, subject_cn))
        if partner is None:
            raise PartnerUnknown(
                "expected a known partner for this message, got none or an unknown one"
            )
    order_ref = policy.order_reference(message.document)
    # 4. Apply the policy (pure). The scrubber notes the texts it found clean, for step 5.
    scrubber = Remembering(m.scrubber)
    context = Context(
        keys=m.keys,
        partner=partner,
        order_ref=order_ref,
        scrubber=scrubber,
        decoys=decoys or {},
        partner_allowed=m.contacts_of(partner) if partner is not None else None,
    )
    outcome = apply(policy.rules, message.document, context)
    if outcome.tokens and order_ref is None:
        raise PolicyError("expected an order reference for the tokens this policy issues, got none")
    # 5. Egress guard on the final document and the query. The message's values are compiled
    # once (the engine did it already when a scrub rule needed them) and joined to the
    # operational contacts compiled at load.
    permitted = outcome.permitted or ValueSet.compile(outcome.allowed_values, search=False)
    allowed = permitted.union(m.allowed_values)
    removed = (outcome.known or ValueSet.compile(outcome.removed_values)).without(allowed)
    # The guard looks for no more removed values and no fewer allowed ones than the scrub
    # rules did (the same sets, plus the operational contacts allowed): what they found clean
    # is clean here too, and is not scanned again. Only when the rules used exactly those sets,
    # with the guard's own detectors (not a substitute scrubber).
    trusted = type(m.scrubber) is Scrubber and outcome.known is not None
    verified = scrubber.clean if trusted and outcome.permitted is not None else ()
    _guard_query(raw_query, allowed)
    _guard_headers(headers, allowed, removed)
    document = outcome.document
    findings = _scan(message.kind, document, allowed, removed, verified)
    scrubbed: tuple[Finding, ...] = ()
    changed = outcome.changed
    if findings:
        if policy.egress is Egress.BLOCK:
            _block(findings)
        document = _scrub_all(message.kind, document, m.scrubber, removed, allowed)
        if _scan(message.kind, document, allowed, removed, verified):
            _block(findings)  # scrubbing did not settle it: fail closed after all
        scrubbed, changed = tuple(findings), True
    # 6. Serialise once: unchanged messages leave as the exact bytes received.
    outgoing = (
        encode_content(serialise(message.kind, document), message.codings)
        if changed
        else message.wire
    )
    return Minimised(
        outgoing,
        policy,
        partner,
        order_ref,
        outcome.decisions,
        outcome.tokens,
        scrubbed,
        outcome.removed_values,
    )


def find_inbound_policy(m: Minimiser, method: str, path: str, message: Message) -> Policy:
    """The policy of a notification or callback from the incumbent; none is a refusal."""
    policy = m.policies.find(method, path, soap_action(message), CONTENT[message.kind])
    if policy is None:
        raise PolicyMissing("expected a policy covering this notification, got none")
    return policy


def restore_response(
    m: Minimiser,
    policy: Policy,
    message: Message,
    order_ref: str | None,
    mapping: Mapping[str, str],
) -> bytes | None:
    """Step 9: apply the policy's ``response`` rules; the new body, or None when unchanged."""
    if not policy.response:
        return None
    context = Context(keys=m.keys, order_ref=order_ref, scrubber=m.scrubber, restore=mapping)
    outcome = apply(policy.response, message.document, context)
    if not outcome.changed:
        return None
    return encode_content(serialise(message.kind, outcome.document), message.codings)


def serialise(kind: BodyKind, document: Any) -> bytes:
    """Bytes for a (possibly edited) document of ``kind``."""
    if kind in (BodyKind.SOAP11, BodyKind.SOAP12):
        tree = document.tree if isinstance(document, SoapEnvelope) else document
        return serialise_xml(tree)
    if kind in (BodyKind.JSON_PATCH, BodyKind.JSON_PATCH_QUERY):
        return serialise_json([_op_json(op) for op in document])
    return serialise_json(document)


def _op_json(op: JsonPatchOp) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op.op.value, "path": op.target}
    if op.from_ is not None:
        out["from"] = op.from_
    if op.has_value:
        out["value"] = op.value
    return out


def _scan(
    kind: BodyKind, document: Any, allowed: Values, removed: Values, skip: Collection[str] = ()
) -> list[Finding]:
    if kind in (BodyKind.SOAP11, BodyKind.SOAP12):
        return scan_xml(document, allowed, removed, skip)
    if kind in (BodyKind.JSON_PATCH, BodyKind.JSON_PATCH_QUERY):
        return scan_json([_op_json(op) for op in document], allowed, removed, skip)
    return scan_json(document, allowed, removed, skip)


def _scrub_all(
    kind: BodyKind,
    document: Any,
    scrubber: Scrubber,
    known: Values,
    allowed: Values,
) -> Any:
    """``egress: scrub``: scrub every text of the document (the guard found data no rule covered)."""
    if kind in (BodyKind.SOAP11, BodyKind.SOAP12):
        tree = document.tree if isinstance(document, SoapEnvelope) else document
        for node in tree.iter():
            if isinstance(node.text, str) and node.text.strip():
                node.text = scrubber.scrub(node.text, known, allowed)[0]
            for name, value in node.attrib.items():
                node.attrib[name] = scrubber.scrub(str(value), known, allowed)[0]
        return document
    if kind in (BodyKind.JSON_PATCH, BodyKind.JSON_PATCH_QUERY):
        return tuple(
            dataclasses.replace(op, value=_scrub_json(op.value, scrubber, known, allowed))
            for op in document
        )
    return _scrub_json(document, scrubber, known, allowed)


def _scrub_json(value: Any, scrubber: Scrubber, known: Values, allowed: Values) -> Any:
    if isinstance(value, str):
        return scrubber.scrub(value, known, allowed)[0]
    if isinstance(value, dict):
        return {k: _scrub_json(v, scrubber, known, allowed) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v, scrubber, known, allowed) for v in value]
    return value


def _guard_query(raw_query: str, allowed: Values) -> None:
    if raw_query:
        findings = scan_query(raw_query, allowed, ())
        if findings:
            _block(findings)


def _guard_headers(headers: Mapping[str, str], allowed: ValueSet, removed: ValueSet) -> None:
    """The request headers that will be forwarded hold nothing personal, or nothing leaves.

    A header is part of the envelope: it is never rewritten, so a finding blocks whatever the
    policy's ``egress`` mode. ``X-Request-ID`` is left to the handler, which replaces a
    personal one rather than forward it (:func:`proxy.headers.request_id_of`).
    """
    # Exactly what the handler forwards: the end-to-end fields (hop-by-hop ones and those the
    # Connection header names are dropped on the way).
    multi = headers if isinstance(headers, CIMultiDict | CIMultiDictProxy) else CIMultiDict(headers)
    forwarded = end_to_end(multi)
    scanned = [(name, value) for name, value in forwarded.items() if name.lower() != _REQUEST_ID]
    # One pass for all, names included: a name that is itself data is named by position.
    found = find_many([text for pair in scanned for text in pair], removed, allowed)
    findings = [
        Finding(_header_path(index, name, bool(found[2 * index])), match.kind)
        for index, (name, _) in enumerate(scanned)
        for match in (*found[2 * index], *found[2 * index + 1])
    ]
    if findings:
        _block(findings)


def _header_path(index: int, name: str, flagged: bool) -> str:
    # Header names are protocol, not data; one that holds data, or does not look like a name,
    # is named by its position among the forwarded headers instead.
    plain = not flagged and _HEADER_NAME.fullmatch(name) is not None
    return f"header:{name}" if plain else f"header#{index}"


def _block(findings: list[Finding]) -> None:
    try:
        guard(findings, "block")
    except LeakBlocked as exc:
        raise LeakBlocked(exc.message, tuple(dict.fromkeys(f.path for f in findings))) from None
