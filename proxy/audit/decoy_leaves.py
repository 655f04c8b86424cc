"""The decoys' audit leaves, ``alias`` and ``contact``, in the style of :mod:`proxy.audit.leaves`.

They live beside ``leaves.py`` only to keep modules small; they use its :func:`build`, so they
carry the same common fields (``type``, ``v``, ``time``, ``replica``) and canonical encoding.
As there, every value derived from personal data enters a leaf only as a 32-byte commitment:
the builders refuse anything else where a commitment belongs.

What is kept in clear, and why:

* the decoy: the operator's own DID or alias address, not personal data; a regulator must be
  able to read which number the incumbent was given and which number was called;
* ``caller_match``: the configured expected caller a contact matched (the incumbent's
  operational number, prefix or e-mail domain), a company contact from the configuration;
* the partner id (never the partner's real phone or e-mail: that stays in the directory).
"""

from __future__ import annotations

from datetime import datetime

from proxy.audit.leaves import Stamp, build
from proxy.audit.records import b64_commitment, rfc3339

__all__ = ["alias", "contact"]


def alias(
    stamp: Stamp, decoy_id: str, decoy: str, kind: str, order_ref: bytes, partner: str
) -> bytes:
    """A decoy issued to an order: which decoy, for which order (keyed), forwarding to whom.

    ``decoy_id`` is the id the disclosing intents carry as the field's token id (see
    :func:`proxy.actions.alias.decoy_id`); ``order_ref`` is the same keyed commitment of the
    order reference as in those intents.
    """
    return build(
        "alias",
        stamp,
        decoy_id=decoy_id,
        decoy=decoy,
        decoy_kind=kind,
        order_ref=b64_commitment(order_ref),
        partner=partner,
    )


def contact(
    stamp: Stamp,
    contact_id: str,
    *,
    decoy: str,
    channel: str,
    at: datetime,
    caller: bytes | None,
    caller_match: str | None,
    classification: str,
    reason: str,
    source: str,
    decoy_id: str | None = None,
    order_ref: bytes | None = None,
    partner: str | None = None,
    note: bytes | None = None,
) -> bytes:
    """A call, SMS or mail that reached a decoy, attributed to the order holding it at ``at``.

    ``caller`` is the keyed commitment of the normalised calling party (None when withheld):
    whoever holds the number can show it matches, nobody can read it back. ``note`` is the
    keyed commitment of a partner's note, never its text. ``decoy_id``, ``order_ref`` and
    ``partner`` are None for a contact on a decoy no order held at that time.
    """
    return build(
        "contact",
        stamp,
        contact_id=contact_id,
        decoy=decoy,
        channel=channel,
        at=rfc3339(at),
        caller=None if caller is None else b64_commitment(caller),
        caller_match=caller_match,
        classification=classification,
        reason=reason,
        source=source,
        decoy_id=decoy_id,
        order_ref=None if order_ref is None else b64_commitment(order_ref),
        partner=partner,
        note=None if note is None else b64_commitment(note),
    )
