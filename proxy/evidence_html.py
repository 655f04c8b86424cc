"""``report.html`` of an evidence pack: the timeline of a decoy, in Italian and in English.

Built from a :class:`~proxy.trace_model.Trace` only, so it states what the audit entries in
the pack state (and, marked as such, when the operator closed the order, which is not an
entry). Every value is escaped. It holds no personal value: orders appear as the keyed
commitment of their reference, callers masked; the decoy and the partner id are the
operator's own. The pack's manifest lists it, so changing it is detected like any file.

The HTML helpers here (:func:`esc`, :func:`table`, :func:`page` …) serve the monthly report
too. Pages are self-contained (inline CSS, no scripts, fonts, images or links to fetch), so a
report opens the same on a regulator's offline machine as on ours, and prints cleanly on A4.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from proxy.evidence_words import Words, words
from proxy.trace_model import Message, OrderTrace, Trace

#: Plain print-friendly CSS: no colour is needed to read anything.
CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; color: #111;
       max-width: 60em; margin: 2em auto; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 16pt; border-bottom: 2px solid #333; padding-bottom: .2em; }
h2 { font-size: 13pt; margin-top: 1.6em; border-bottom: 1px solid #999; }
h3 { font-size: 11pt; margin-top: 1.2em; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1em; }
th, td { border: 1px solid #999; padding: .25em .4em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; }
code, pre, .mono { font-family: "DejaVu Sans Mono", monospace; font-size: 9.5pt;
                   overflow-wrap: anywhere; }
pre { background: #f4f4f4; border: 1px solid #ccc; padding: .5em; white-space: pre-wrap; }
.note { font-size: 9.5pt; color: #333; }
.lang { font-size: 9pt; color: #555; text-transform: uppercase; letter-spacing: .1em; }
nav a { margin-right: 1em; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  nav { display: none; }
  section.language + section.language { page-break-before: always; }
  h2, h3 { page-break-after: avoid; }
  tr, pre { page-break-inside: avoid; }
  th { background: none; }
  @page { size: A4; margin: 18mm 15mm; }
}
"""


def esc(value: object) -> str:
    """Any value as escaped HTML text (None as a dash)."""
    return "—" if value is None else html.escape(str(value), quote=True)


def code(value: object) -> str:
    """An escaped value in ``<code>``."""
    return f"<code>{esc(value)}</code>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: int = 0) -> str:
    """A table; headers are escaped, cells are HTML already built with :func:`esc`.

    The last ``numeric`` columns are right-aligned (figures).
    """
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = [
            f'<td class="num">{cell}</td>' if i >= len(row) - numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(headers)}">—</td></tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def paragraph(text: str) -> str:
    """An escaped paragraph."""
    return f"<p>{esc(text)}</p>"


def page(title: str, sections: Sequence[tuple[str, str]], lang: str = "it") -> bytes:
    """A whole page: ``sections`` are ``(language code, HTML)``, linked from the top."""
    links = " ".join(f'<a href="#{esc(code_)}">{esc(code_.upper())}</a>' for code_, _ in sections)
    body = "\n".join(
        f'<section class="language" id="{esc(code_)}" lang="{esc(code_)}">\n{content}\n</section>'
        for code_, content in sections
    )
    text = (
        f'<!DOCTYPE html>\n<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<nav>{links}</nav>\n{body}\n</body>\n</html>\n"
    )
    return text.encode("utf-8")


@dataclass(frozen=True, slots=True)
class Opened:
    """What the pack's opening of one message shows (None: shredded, no opening)."""

    file: str | None
    #: Whether the forwarded bytes contain each decoy the message carried, by decoy id.
    decoys_present: Mapping[str, bool]


def _carried(ids: tuple[str, ...], names: Mapping[str, str], w: Words) -> str:
    """The decoys a message carried; those outside the trace (the order's other decoy, when
    one decoy was asked about) are counted, not named."""
    known = [names[i] for i in ids if i in names]
    others = len(ids) - len(known)
    return ", ".join(known + ([w.other_decoys.format(count=others)] if others else [])) or "—"


def _events(trace: Trace, w: Words) -> list[tuple[str, str, str, str]]:
    """``(time, event, details, entry)`` rows of the timeline, in time order."""
    rows: list[tuple[str, str, str, str]] = []
    for order in trace.orders:
        names = {d.decoy_id: d.decoy for d in order.decoys}
        for d in order.decoys:
            for index in d.alias_entries:
                details = w.issued.format(decoy=d.decoy, kind=w.kind(d.kind), partner=d.partner)
                rows.append((d.issued_at or "", w.ev_issued, details, str(index)))
            if d.closed_at is not None:
                rows.append((d.closed_at, w.ev_closed, w.closed_note, "—"))
        for m in order.messages:
            carried = ", ".join(names.get(i, i) for i in m.decoy_ids) or "—"
            details = w.sent.format(route=m.route, op=m.operation, status=m.status, decoys=carried)
            rows.append((m.time, w.ev_sent, details, str(m.index)))
        for e in order.echoes:
            details = w.echo.format(path=e.path, detector=e.detector, request=e.request_id)
            rows.append((e.time, w.ev_echo, details, str(e.index)))
    for c in trace.contacts():
        details = w.contact.format(
            channel=w.word(c.channel),
            decoy=c.decoy,
            caller=w.word(c.caller),
            cls=w.word(c.classification),
            reason=w.word(c.reason),
            recorded=c.time,
        )
        rows.append((c.at, w.ev_contact, details, str(c.index)))
    # Same time: log order (a decoy is announced before the message that carries it).
    return sorted(rows, key=lambda r: (r[0], int(r[3]) if r[3].isdigit() else -1))


def _summary(trace: Trace, w: Words) -> str:
    contacts = trace.contacts()
    suspicious = sum(1 for c in contacts if c.classification == "suspicious")
    subject = trace.decoy if trace.decoy is not None else w.the_order
    lines = [
        w.summary.format(
            subject=subject,
            orders=len(trace.orders),
            messages=len(trace.messages()),
            contacts=len(contacts),
            suspicious=suspicious,
        )
    ]
    lines += [w.order_line.format(key=o.order_key) for o in trace.orders]
    return "".join(paragraph(line) for line in lines)


def _messages(order: OrderTrace, opened: Mapping[int, Opened], w: Words) -> str:
    rows = []
    for m in order.messages:
        seen = opened.get(m.index)
        rows.append(
            [
                esc(m.index),
                esc(m.time),
                esc(f"{m.route} · {m.operation}"),
                esc(m.status),
                "<br>".join(f"{code(p)} {esc(w.word(a))} ({esc(r)})" for p, r, a in m.fields),
                _opening(m, seen, w),
            ]
        )
    return table(w.columns(w.message_columns), rows)


def _opening(m: Message, seen: Opened | None, w: Words) -> str:
    if seen is None or seen.file is None:
        return esc(w.no_opening)
    present = [w.yes if seen.decoys_present[i] else w.no for i in seen.decoys_present]
    return f"{code(seen.file)}<br>{esc(w.decoy_in_body)}: {esc(', '.join(present) or '—')}"


def _section(trace: Trace, opened: Mapping[int, Opened], w: Words, generated: str) -> str:
    parts = [f'<p class="lang">{esc(w.language)}</p>', f"<h1>{esc(w.title)}</h1>"]
    parts.append(_summary(trace, w))
    parts.append(f"<h2>{esc(w.h_timeline)}</h2>")
    parts.append(
        table(w.columns(w.timeline_columns), ([esc(c) for c in row] for row in _events(trace, w)))
    )
    for order in trace.orders:
        parts.append(f"<h2>{esc(w.h_order)} {code(order.order_key)}</h2>")
        parts.append(f"<h3>{esc(w.h_decoys)}</h3>")
        parts.append(
            table(
                w.columns(w.decoy_columns),
                (
                    [code(d.decoy), esc(w.kind(d.kind)), esc(d.partner), esc(d.issued_at),
                     esc(d.closed_at), esc(", ".join(map(str, d.alias_entries)))]
                    for d in order.decoys
                ),
            )
        )  # fmt: skip
        parts.append(f"<h3>{esc(w.h_messages)}</h3>")
        parts.append(_messages(order, opened, w))
        parts.append(paragraph(w.messages_note))
    parts.append(f"<h2>{esc(w.h_contacts)}</h2>")
    contacts = (
        [esc(c.index), esc(c.at), esc(w.word(c.channel)), code(c.decoy), code(w.word(c.caller)),
         esc(w.word(c.classification)), esc(w.word(c.reason)), esc(c.caller_match), esc(c.source)]
        for c in trace.contacts()
    )  # fmt: skip
    parts.append(table(w.columns(w.contact_columns), contacts))
    parts.append(paragraph(w.caller_note))
    parts.append(f"<h2>{esc(w.h_verify)}</h2>")
    parts.append(paragraph(w.verify_intro))
    parts.append(f"<pre>{esc(w.verify_command)}</pre>")
    parts += [paragraph(text) for text in w.verify_notes]
    parts.append(f"<h2>{esc(w.h_limits)}</h2>")
    parts += [paragraph(text) for text in w.limits]
    parts.append(f'<p class="note">{esc(w.generated.format(at=generated))}</p>')
    return "\n".join(parts)


def report_html(trace: Trace, opened: Mapping[int, Opened], generated: str) -> bytes:
    """The bilingual report (Italian first: the complaint goes to AGCOM)."""
    sections = [(lang, _section(trace, opened, words(lang), generated)) for lang in ("it", "en")]
    return page(words("it").title + " / " + words("en").title, sections)
