"""Which schema fields look personal: what ``civetta policy coverage`` asks rules to cover.

:func:`policy_fields` lists every leaf of a policy's schemas whose name or type looks personal
(:func:`personal_reason`), and every ``xs:any`` (content no schema describes), as a
:class:`Field` with its path and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from proxy.policy.crosscheck.json_schema import JNode
from proxy.policy.crosscheck.library import SchemaError, SchemaLibrary, policy_roots
from proxy.policy.crosscheck.xsd import XNode, Xsd, split_clark
from proxy.policy.model import Policy

#: Coverage paths start with these stand-ins: the Envelope of either SOAP version, and its
#: Header or Body (the WSDL, not the XSD, says where a root element travels).
ENVELOPE = "{soap-envelope}Envelope"
ENVELOPE_PART = "{soap-envelope}Header|Body"
_PERSONAL_NAME = re.compile(
    r"phone|fax|e-?mail|telefon|cellulare|recapito|referent|nominativo|^nome$|cognome"
    r"|codicefiscale|partitaiva|ragionesociale|givenname|familyname|middlename|formattedname"
    r"|legalname|othername|tradingname|partyname|birth|death|nationality|gender|marital"
    r"|identificationid|socialnetwork|street[12]$|notificationcontact|description|descrizione"
    r"|^note$|sintomo|causale|contatto",
    re.IGNORECASE,
)
_PERSONAL_TYPES = frozenset(
    {"Telefono", "Email", "CodiceFiscale", "PartitaIva", "Note", "base64Binary"}
)
_PARTY_CONTAINERS = frozenset({"relatedParty", "partyOrPartyRole", "engagedParty"})
_PARTY_DEFS = frozenset({"RelatedParty", "PartyRef", "PartyRoleRef", "Individual", "Organization"})
_TECHNICAL = frozenset({"id", "href", "@type", "@baseType", "@schemaLocation", "@referredType"})
_MEDIUM_ADDRESS = frozenset({"city", "postCode", "stateOrProvince", "country"})


@dataclass(frozen=True, slots=True)
class Field:
    """A schema field: its path (segments: member names, ``[*]``, XML names) and why it is personal."""

    segments: tuple[str, ...]
    reason: str
    xml: bool = False

    @property
    def path(self) -> str:
        """``$.a[*].b`` for JSON; ``//Root/a/@b`` for XML (local names, envelope left out)."""
        if not self.xml:
            return "$" + "".join(s if s == "[*]" else f".{s}" for s in self.segments)
        out = "/"
        for segment in self.segments[2:]:
            attribute = segment.startswith("@")
            out += "/" + ("@" if attribute else "") + split_clark(segment.lstrip("@"))[1]
        return out


def personal_reason(name: str, parents: Sequence[str], defs: Iterable[str]) -> str | None:
    """Why a JSON field looks personal, or None (``parents``: the member names above it)."""
    defs = set(defs)
    parent = next((p for p in reversed(parents) if p != "[*]"), "")
    if name in _TECHNICAL:
        return None
    if _PERSONAL_NAME.search(name):
        return f"name {name!r}"
    if name == "name" and (parent in _PARTY_CONTAINERS or defs & _PARTY_DEFS):
        return "a party's name"
    if name in ("text", "author") and (parent == "note" or "Note" in defs):
        return f"note {name}"
    if name == "content" and (parent == "attachment" or "AttachmentRefOrValue" in defs):
        return "attachment content"
    if name == "value" and (parent.endswith("haracteristic") or "Characteristic" in defs):
        return "characteristic value"
    if name in _MEDIUM_ADDRESS and "contactMedium" in parents:
        return "contact medium address"
    if "Individual" in defs:
        return "member of an inline Individual"
    return None


def _json_fields(roots: Sequence[JNode]) -> Iterator[Field]:
    """Every leaf below the roots; a ``$defs`` entry is not entered again below itself."""
    Item = tuple[JNode, tuple[str, ...], frozenset[str], frozenset[str]]
    stack: list[Item] = [(root, (), frozenset(), frozenset()) for root in roots]
    while stack:
        # ``owner``: the definitions of the object the node is a member of.
        node, path, on_path, owner = stack.pop()
        defs = frozenset(node.facets()[1])
        if defs & on_path:
            continue  # recursion (items inside items): the fields are those of the outer one
        members = node.members()
        items = node.items()
        if members is None or (not members and not items):
            name = next((p for p in reversed(path) if p != "[*]"), "")
            reason = personal_reason(name, path[:-1], owner)
            if reason is not None:
                yield Field(path, reason)
            continue
        inner = on_path | defs
        for name, sub in members:
            if name != "*":
                stack.append((sub, (*path, name), inner, defs))
        for sub in items or ():
            stack.append((sub, (*path, "[*]"), inner, owner))


def _xml_fields(xsd: Xsd, roots: Sequence[XNode]) -> Iterator[Field]:
    stack: list[tuple[XNode, tuple[str, ...], frozenset[int]]] = [
        (root, (ENVELOPE, ENVELOPE_PART, root.name), frozenset({id(root)})) for root in roots
    ]
    while stack:
        node, path, on_path = stack.pop()
        content = xsd.content(node)
        local = split_clark(node.name)[1]
        for attribute in sorted(content.attributes):
            if _PERSONAL_NAME.search(split_clark(attribute)[1]):
                yield Field(
                    (*path, "@" + attribute), f"attribute {split_clark(attribute)[1]!r}", xml=True
                )
        if content.anys:
            yield Field(path, "xs:any: content no schema describes", xml=True)
        if not content.children:
            simple = split_clark(content.simple_type or "")[1]
            if _PERSONAL_NAME.search(local):
                yield Field(path, f"name {local!r}", xml=True)
            elif simple in _PERSONAL_TYPES:
                yield Field(path, f"type {simple!r}", xml=True)
            continue
        for group in content.children.values():
            for child in group:
                if id(child) not in on_path:
                    stack.append((child, (*path, child.name), on_path | {id(child)}))


def policy_fields(policy: Policy, library: SchemaLibrary) -> list[Field]:
    """The personal-looking fields of a policy's schemas (what its request rules must cover)."""
    roots = policy_roots(policy, library)
    if roots.errors:
        raise SchemaError("; ".join(roots.errors))
    fields = list(_json_fields(roots.json))
    if roots.xsd is not None:
        fields.extend(_xml_fields(roots.xsd, roots.elements))
    unique = {(f.segments, f.xml): f for f in fields}
    return sorted(unique.values(), key=lambda f: f.segments)
