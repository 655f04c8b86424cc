"""``civetta report --month YYYY-MM``: the month's figures, computed from the audit log alone.

A leaf belongs to the month of its ``time`` (RFC 3339, UTC): an intent sent at 23:59:59 on
the last day counts in that month even if its outcome is in the next. The figures:

* ``messages``: intents per route (each is a message forwarded, or about to be);
* ``fields``: field records of those intents per action (what the rules removed or replaced);
* ``decoys``: ``alias`` entries per decoy kind (an order that changed partner counts again);
* ``contacts``: ``contact`` entries per classification, ``suspicious_reasons`` per reason;
* ``echoes`` and ``blocks``: entries per route;
* ``checkpoints``: signed checkpoints whose last entry is of the month, and the largest size;
* ``types``: every entry of the month per type.

The log is read once, in chunks; a leaf is parsed only when its bytes name the month in its
``time`` field. Nothing in the figures is personal: routes, actions, kinds and classes.
:func:`report_html` (printable, Italian and English) and :func:`report_lines` show exactly
these figures; the JSON is the record.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from proxy.evidence_html import code, esc, page, paragraph, table
from proxy.evidence_words import words
from proxy.storage.base import Store

_CHUNK = 8192
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
#: The figures that count things by a name (route, action, kind, class).
TALLIES = ("types", "messages", "fields", "decoys", "contacts", "suspicious_reasons", "echoes",
           "blocks")  # fmt: skip


class ReportError(ValueError):
    """The month asked for is not ``YYYY-MM``."""


@dataclass(frozen=True, slots=True)
class MonthReport:
    """The figures of one month (see the module docstring); tallies are name -> count."""

    month: str
    #: The log's size when the report was made (every entry was read).
    tree_size: int
    entries: int
    types: Mapping[str, int]
    messages: Mapping[str, int]
    fields: Mapping[str, int]
    decoys: Mapping[str, int]
    contacts: Mapping[str, int]
    suspicious_reasons: Mapping[str, int]
    echoes: Mapping[str, int]
    blocks: Mapping[str, int]
    checkpoints: int
    latest_checkpoint: int | None

    def tally(self, name: str) -> Mapping[str, int]:
        """One of :data:`TALLIES` by name."""
        if name not in TALLIES:
            raise KeyError(name)
        value: Mapping[str, int] = getattr(self, name)
        return value

    def to_json(self) -> dict[str, Any]:
        """The report as JSON, tallies sorted by name."""
        out: dict[str, Any] = {"month": self.month, "tree_size": self.tree_size}
        out["entries"] = self.entries
        out.update({name: dict(sorted(self.tally(name).items())) for name in TALLIES})
        out["checkpoints"] = {"count": self.checkpoints, "latest_size": self.latest_checkpoint}
        return out


def check_month(month: str) -> str:
    """``month`` when it is ``YYYY-MM``; ReportError otherwise."""
    if not _MONTH.fullmatch(month):
        raise ReportError(f"expected a month as YYYY-MM, got {month!r}")
    return month


class _Tally:
    """The counters of one run."""

    def __init__(self, month: str) -> None:
        self.month = month
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in TALLIES}
        self.entries = 0
        self.checkpoints = 0
        self.latest: int | None = None

    def add(self, leaf: dict[str, Any]) -> None:
        """Count one leaf of the month."""
        kind = str(leaf.get("type"))
        self.entries += 1
        self.counts["types"][kind] += 1
        if kind == "intent":
            self.counts["messages"][str(leaf.get("route"))] += 1
            for record in leaf.get("fields") or ():
                if isinstance(record, dict):
                    self.counts["fields"][str(record.get("action"))] += 1
        elif kind == "alias":
            self.counts["decoys"][str(leaf.get("decoy_kind"))] += 1
        elif kind == "contact":
            self.counts["contacts"][str(leaf.get("classification"))] += 1
            if leaf.get("classification") == "suspicious":
                self.counts["suspicious_reasons"][str(leaf.get("reason"))] += 1
        elif kind == "echo":
            self.counts["echoes"][str(leaf.get("route"))] += 1
        elif kind == "block":
            self.counts["blocks"][str(leaf.get("route"))] += 1

    def report(self, tree_size: int) -> MonthReport:
        """The figures counted."""
        c = self.counts
        return MonthReport(
            month=self.month,
            tree_size=tree_size,
            entries=self.entries,
            types=dict(c["types"]),
            messages=dict(c["messages"]),
            fields=dict(c["fields"]),
            decoys=dict(c["decoys"]),
            contacts=dict(c["contacts"]),
            suspicious_reasons=dict(c["suspicious_reasons"]),
            echoes=dict(c["echoes"]),
            blocks=dict(c["blocks"]),
            checkpoints=self.checkpoints,
            latest_checkpoint=self.latest,
        )


async def month_report(store: Store, month: str) -> MonthReport:
    """The figures of ``month`` (``YYYY-MM``, UTC) from every leaf of the log."""
    tally = _Tally(check_month(month))
    # The bytes of a canonical leaf of the month: "time" is a key only at the top level.
    mark = f'"time":"{month}-'.encode()
    size = (await store.head()).size
    for begin in range(0, size, _CHUNK):
        end = min(begin + _CHUNK, size)
        mine: set[int] = set()
        for stored in await store.leaves(begin, end):
            if mark not in stored.data:
                continue
            try:
                leaf = json.loads(stored.data)
            except ValueError:
                continue  # not a leaf civetta wrote: 'civetta audit verify' reports it
            if isinstance(leaf, dict) and str(leaf.get("time", "")).startswith(f"{month}-"):
                tally.add(leaf)
                mine.add(stored.index)
        # A checkpoint is of the month its last entry is: sizes in (begin, end] end here.
        for checkpoint in await store.checkpoints(after_size=begin, limit=end - begin):
            if checkpoint.size <= end and checkpoint.size - 1 in mine:
                tally.checkpoints += 1
                tally.latest = max(tally.latest or 0, checkpoint.size)
    return tally.report(size)


#: Per tally: (Italian heading, English heading, Italian column, English column).
_HEADINGS: Mapping[str, tuple[str, str, str, str]] = {
    "messages": ("Messaggi inoltrati per rotta", "Messages forwarded per route", "Rotta", "Route"),
    "fields": ("Campi minimizzati per azione", "Fields minimised per action", "Azione", "Action"),
    "decoys": ("Recapiti civetta assegnati", "Decoys issued", "Tipo", "Kind"),
    "contacts": ("Contatti sui recapiti civetta", "Contacts on decoys", "Classificazione", "Classification"),
    "suspicious_reasons": ("Contatti sospetti per motivo", "Suspicious contacts per reason", "Motivo", "Reason"),
    "echoes": ("Echi (dati rimossi tornati indietro)", "Echoes (removed values that came back)", "Rotta", "Route"),
    "blocks": ("Messaggi bloccati per rotta", "Messages blocked per route", "Rotta", "Route"),
    "types": ("Voci del registro per tipo", "Audit entries per type", "Tipo", "Type"),
}  # fmt: skip
_TEXT: Mapping[str, tuple[str, str]] = {
    "title": ("Relazione mensile di civetta", "civetta monthly report"),
    "summary": (
        "{entries} voci del registro di audit con data in {month} (UTC), su {size} voci in totale.",
        "{entries} audit log entries dated in {month} (UTC), out of {size} entries in all.",
    ),
    "checkpoints": ("Checkpoint firmati del registro", "Signed audit checkpoints"),
    "count": ("Numero", "Count"),
    "latest": ("Dimensione dell'ultimo", "Latest size"),
    "total": ("Totale", "Total"),
    "source": (
        "Calcolata dalle sole voci del registro di audit: ogni voce conta nel mese della sua "
        "data. Un checkpoint conta nel mese della sua ultima voce. Nessun dato personale.",
        "Computed from the audit log's entries alone: each entry counts in the month of its "
        "time. A checkpoint counts in the month of its last entry. No personal data.",
    ),
}  # fmt: skip


def _tally(report: MonthReport, name: str, lang: int) -> str:
    heading, column = _HEADINGS[name][lang], _HEADINGS[name][2 + lang]
    counts = report.tally(name)
    translate = words("it").word if lang == 0 else str
    rows = [
        [code(key) + (f" ({esc(translate(key))})" if translate(key) != key else ""), esc(n)]
        for key, n in sorted(counts.items())
    ]
    rows.append([f"<strong>{esc(_TEXT['total'][lang])}</strong>", esc(sum(counts.values()))])
    return f"<h2>{esc(heading)}</h2>\n" + table([column, _TEXT["count"][lang]], rows, numeric=1)


def _section(report: MonthReport, lang: int) -> str:
    t = {key: pair[lang] for key, pair in _TEXT.items()}
    summary = t["summary"].format(entries=report.entries, month=report.month, size=report.tree_size)
    parts = [f"<h1>{esc(t['title'])} {esc(report.month)}</h1>", paragraph(summary)]
    parts += [_tally(report, name, lang) for name in TALLIES if name != "types"]
    parts.append(f"<h2>{esc(t['checkpoints'])}</h2>")
    latest = report.latest_checkpoint
    rows = [[esc(report.checkpoints), esc(latest)]]
    parts.append(table([t["count"], t["latest"]], rows, numeric=2))
    parts.append(_tally(report, "types", lang))
    parts.append(f'<p class="note">{esc(t["source"])}</p>')
    return "\n".join(parts)


def report_html(report: MonthReport) -> bytes:
    """The printable page: Italian, then English."""
    title = f"{_TEXT['title'][0]} / {_TEXT['title'][1]} {report.month}"
    return page(title, [("it", _section(report, 0)), ("en", _section(report, 1))])


def report_lines(report: MonthReport) -> list[str]:
    """The figures as plain text (what ``civetta report`` prints without ``--json``)."""
    lines = [
        f"{report.month}: {report.entries} audit entries (of {report.tree_size}); "
        f"{report.checkpoints} checkpoints, latest size {report.latest_checkpoint or '-'}"
    ]
    for name in TALLIES:
        counts = report.tally(name)
        shown = ", ".join(f"{key} {n}" for key, n in sorted(counts.items())) or "none"
        lines.append(f"  {_HEADINGS[name][1].lower()}: {shown}")
    return lines
