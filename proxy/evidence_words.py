"""The words of an evidence pack's ``report.html``, in Italian and in English.

Kept apart from the layout (:mod:`proxy.evidence_html`) so that a translator reads one file.
Codes from the log (classifications, reasons, channels, actions) are translated through
``vocabulary``; a code without a translation is shown as it is, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

VERIFY = "civetta audit verify-bundle THIS_FOLDER --trust YOUR_TRUST_FILE"


@dataclass(frozen=True, slots=True)
class Words:
    """Every text of the report in one language; ``{name}`` fields are filled in."""

    language: str
    title: str
    the_order: str
    summary: str
    order_line: str
    h_timeline: str
    #: Table headers, separated by `` | ``.
    timeline_columns: str
    ev_issued: str
    ev_closed: str
    ev_sent: str
    ev_echo: str
    ev_contact: str
    issued: str
    closed_note: str
    sent: str
    other_decoys: str
    echo: str
    contact: str
    h_order: str
    h_decoys: str
    decoy_columns: str
    h_messages: str
    message_columns: str
    messages_note: str
    no_opening: str
    decoy_in_body: str
    yes: str
    no: str
    h_contacts: str
    contact_columns: str
    caller_note: str
    h_verify: str
    verify_intro: str
    verify_notes: tuple[str, ...]
    h_limits: str
    limits: tuple[str, ...]
    generated: str
    vocabulary: Mapping[str, str]
    verify_command: str = VERIFY

    def word(self, code: str) -> str:
        """A code of the log in this language (the code itself when untranslated)."""
        return self.vocabulary.get(code, code)

    def columns(self, headers: str) -> list[str]:
        """The headers of one table (a ``*_columns`` field), split."""
        return headers.split(" | ")

    def kind(self, kind: str) -> str:
        """A decoy kind in this language."""
        return self.word(f"kind:{kind}")


_IT = Words(
    language="Italiano",
    title="Relazione sulle prove: contatti su un recapito civetta",
    the_order="l'ordine indicato",
    summary=(
        "Recapito civetta {subject}: {orders} ordine/i, {messages} messaggio/i che lo hanno "
        "comunicato all'operatore incumbent, {contacts} contatto/i registrato/i, di cui "
        "{suspicious} sospetto/i."
    ),
    order_line="Ordine {key} (impegno con chiave del riferimento d'ordine, mai in chiaro).",
    h_timeline="Cronologia",
    timeline_columns="Quando (UTC) | Evento | Dettagli | Voce del registro",
    ev_issued="Recapito civetta assegnato",
    ev_closed="Ordine chiuso",
    ev_sent="Messaggio inoltrato all'incumbent",
    ev_echo="Eco di un dato rimosso",
    ev_contact="Contatto sul recapito civetta",
    issued="{decoy} ({kind}) assegnato all'ordine, inoltrato al partner {partner}",
    closed_note="dai registri dell'operatore (non è una voce del registro di audit)",
    sent="{route}, {op}; esito {status}; recapito civetta comunicato: {decoys}",
    other_decoys="{count} altro/i recapito/i civetta dell'ordine",
    echo="un valore rimosso da questo ordine è tornato in {path} ({detector}), richiesta {request}",
    contact="{channel} su {decoy} da {caller}: {cls} ({reason}); registrato {recorded}",
    h_order="Ordine",
    h_decoys="Recapiti civetta",
    decoy_columns="Recapito | Tipo | Partner | Assegnato | Chiuso | Voci alias",
    h_messages="Messaggi che hanno comunicato il recapito civetta",
    message_columns="Voce | Quando (UTC) | Rotta e operazione | Esito | Campi trattati | Copia inoltrata",
    messages_note=(
        "La cartella openings/ contiene i byte esatti di ogni messaggio inoltrato e il loro sale: "
        "il loro SHA-256 coincide con l'impegno registrato nella voce. Al posto dei recapiti del "
        "cliente contengono il recapito civetta e il recapito del partner; i campi elencati sono "
        "stati rimossi o sostituiti dalle regole indicate."
    ),
    no_opening="nessuna copia (periodo di conservazione scaduto e distrutto)",
    decoy_in_body="recapito civetta presente",
    yes="sì",
    no="no",
    h_contacts="Contatti registrati",
    contact_columns="Voce | Quando (UTC) | Canale | Recapito | Chiamante (mascherato) | Classificazione | Motivo | Numero operativo | Fonte",
    caller_note=(
        "Il numero del chiamante è registrato solo come impegno con chiave: chi lo conosce (il "
        "partner che ha ricevuto la chiamata, l'Autorità) può chiedere all'operatore di "
        "verificare che coincida con quello della voce."
    ),
    h_verify="Come verificare",
    verify_intro="Senza database né rete, con il file di fiducia ricevuto separatamente:",
    verify_notes=(
        "Codice di uscita 0: ogni verifica è riuscita. manifest.json elenca lo SHA-256 di ogni "
        "file della cartella, compresa questa relazione, e manifest.sig ne è la firma con la "
        "chiave del registro: modificare un qualsiasi file fa fallire la verifica.",
        "Usare la propria copia del file di fiducia, non trust.txt di questa cartella (che è "
        "solo un riferimento). VERIFY.md spiega la verifica manuale.",
    ),
    h_limits="Cosa questa relazione non dimostra",
    limits=(
        "Gli orari sono quelli dell'orologio del proxy, registrati e non certificati.",
        "Il riferimento d'ordine compare solo come impegno con chiave; l'operatore può "
        "confermare un riferimento con 'civetta audit show --order-ref'.",
    ),
    generated="Relazione generata il {at}.",
    vocabulary=MappingProxyType(
        {
            "kind:phone": "telefono",
            "kind:email": "e-mail",
            "call": "chiamata",
            "sms": "SMS",
            "mail": "e-mail",
            "withheld": "nascosto",
            "expected": "attesa",
            "suspicious": "sospetta",
            "unattributed": "non attribuita",
            "operational_caller_in_window": "numero operativo nel periodo attivo",
            "unknown_caller": "chiamante sconosciuto",
            "withheld_caller": "numero nascosto",
            "outside_active_window": "fuori dal periodo attivo",
            "after_order_closed": "dopo la chiusura dell'ordine",
            "no_order_held_the_decoy": "nessun ordine deteneva il recapito",
            "alias": "sostituito dal recapito civetta",
            "drop": "rimosso",
            "tokenise": "sostituito da un token",
            "replace": "sostituito",
            "mask": "mascherato",
            "hash": "sostituito da un'impronta",
            "scrub": "ripulito",
        }
    ),
)

_EN = Words(
    language="English",
    title="Evidence report: contacts on a decoy",
    the_order="the order given",
    summary=(
        "Decoy {subject}: {orders} order(s), {messages} message(s) that disclosed it to the "
        "incumbent, {contacts} contact(s) recorded, {suspicious} of them suspicious."
    ),
    order_line="Order {key} (keyed commitment of the order reference, never in clear).",
    h_timeline="Timeline",
    timeline_columns="When (UTC) | Event | Details | Audit entry",
    ev_issued="Decoy issued",
    ev_closed="Order closed",
    ev_sent="Message forwarded to the incumbent",
    ev_echo="Echo of a removed value",
    ev_contact="Contact on the decoy",
    issued="{decoy} ({kind}) issued to the order, forwarded to partner {partner}",
    closed_note="from the operator's records (not an audit entry)",
    sent="{route}, {op}; outcome {status}; decoy disclosed: {decoys}",
    other_decoys="{count} other decoy(s) of the order",
    echo="a value removed from this order came back at {path} ({detector}), request {request}",
    contact="{channel} on {decoy} from {caller}: {cls} ({reason}); recorded {recorded}",
    h_order="Order",
    h_decoys="Decoys",
    decoy_columns="Decoy | Kind | Partner | Issued | Closed | Alias entries",
    h_messages="Messages that disclosed the decoy",
    message_columns="Entry | When (UTC) | Route and operation | Outcome | Fields handled | Forwarded copy",
    messages_note=(
        "The openings/ folder holds the exact bytes of each forwarded message and their salt: "
        "their SHA-256 equals the commitment in the entry. In place of the customer's contacts "
        "they carry the decoy and the partner's contact; the fields listed were removed or "
        "replaced by the rules named."
    ),
    no_opening="no copy (retention period over and destroyed)",
    decoy_in_body="decoy present",
    yes="yes",
    no="no",
    h_contacts="Contacts recorded",
    contact_columns="Entry | When (UTC) | Channel | Decoy | Caller (masked) | Classification | Reason | Operational number | Source",
    caller_note=(
        "The caller's number is recorded only as a keyed commitment: whoever knows it (the "
        "partner who took the call, the regulator) can ask the operator to check that it is "
        "the one in the entry."
    ),
    h_verify="How to verify",
    verify_intro="With no database and no network, using the trust file received separately:",
    verify_notes=(
        "Exit code 0: every check passed. manifest.json lists the SHA-256 of every file in the "
        "folder, this report included, and manifest.sig is its signature by the log's key: "
        "changing any file makes the check fail.",
        "Use your own copy of the trust file, not this folder's trust.txt (a reference only). "
        "VERIFY.md explains how to check by hand.",
    ),
    h_limits="What this report does not prove",
    limits=(
        "Times are the proxy's clock, recorded, not notarised.",
        "The order reference appears only as a keyed commitment; the operator can confirm a "
        "reference with 'civetta audit show --order-ref'.",
    ),
    generated="Report generated at {at}.",
    vocabulary=MappingProxyType({"kind:phone": "phone", "kind:email": "e-mail"}),
)


def words(lang: str) -> Words:
    """The words of ``it`` or ``en``."""
    return _IT if lang == "it" else _EN
