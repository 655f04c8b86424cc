"""A labelled corpus for the detectors: spellings that must be found, texts that must survive.

Every positive names the exact substring (``secret``) that a scrub must replace, in the
encoding it has in the text (a character reference stays a character reference). The numbers,
addresses and codes are made up; the codici fiscali and partite IVA carry valid check
characters so that they exercise the validation, not because they belong to anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from proxy.detect.spans import Kind


@dataclass(frozen=True, slots=True)
class Positive:
    """``text`` holds ``secret`` (once), which must be found as ``kind`` and nothing else."""

    text: str
    secret: str
    kind: Kind
    known: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Negative:
    """``text`` holds nothing to find, given what the message removed and allows."""

    text: str
    known: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


def _phone(template: str, secret: str) -> Positive:
    return Positive(template.format(secret), secret, "phone")


def _email(template: str, secret: str) -> Positive:
    return Positive(template.format(secret), secret, "email")


def _code(template: str, secret: str, kind: Kind) -> Positive:
    return Positive(template.format(secret), secret, kind)


def _known(template: str, secret: str, *known: str) -> Positive:
    return Positive(template.format(secret), secret, "removed_value", known)


_NOTE = "Guasto LED LOS rosso, richiamare il cliente al {} dopo le 18:00 del 12/03/2026."

PHONES = [
    _phone(_NOTE, "3471234567"),
    _phone("cell. {} (ore pasti)", "347 1234567"),
    _phone("Recapito: {}", "347 123 4567"),
    _phone("Recapito: {}", "347-123-4567"),
    _phone("Recapito: {}", "347.123.45.67"),
    _phone("Recapito: {}", "347/1234567"),
    _phone("Recapito: {}", "(347) 1234567"),
    _phone("Recapito: {}", "[347] 1234567"),
    _phone("Recapito: {}", "347 12 34 567"),
    _phone("chiamare il {}", "+39 347 1234567"),
    _phone("chiamare il {}", "+393471234567"),
    _phone("chiamare il {}", "0039 347 1234567"),
    _phone("chiamare il {}", "0039-347-1234567"),
    _phone("chiamare il {}", "+39.347.123.4567"),
    _phone("chiamare il {} oppure scrivere", "393471234567"),
    _phone("ufficio {}", "+39 (0)6 1234 5678"),
    _phone("ufficio {}", "+39-06-1234-5678"),
    _phone("fisso {}", "06 1234 5678"),
    _phone("fisso {}", "06-12345678"),
    _phone("fisso {}", "06/12345678"),
    _phone("fisso {}", "0612345678"),
    _phone("fisso {}", "02.8765.4321"),
    _phone("Torino {}", "011 123 4567"),
    _phone("Napoli {}", "081 5551234"),
    _phone("Bolzano {}", "0471 123456"),
    _phone("Tel: {}.", "+39 02 8765 4321"),
    _phone("dettato cifra per cifra: {}", "3 4 7 1 2 3 4 5 6 7"),
    _phone("scritto a mano: {}.", "３４７ １２３ ４５６７"),
    _phone("scritto a mano: {}.", "＋３９ ３４７ １２３４５６７"),
    _phone("incollato: {}", "347\u200b123\u200b4567"),
    _phone("incollato: {}", "347\u00ad1234567"),
    _phone("incollato: {}", "347\u20131234567"),
    _phone("incollato: {}", "347\u00a01234567"),
    _phone("incollato: {}", "347\u20601234567"),
    _phone("riferimento {}", "&#51;&#52;&#55;1234567"),
    _phone("riferimento {}", "&#x33;&#x34;&#x37; 123 4567"),
    _phone("riferimento {}", "&amp;#51;&amp;#52;&amp;#55;1234567"),
    _phone('{{"note": "{}"}}', "\\u0033\\u0034\\u00371234567"),
    _phone("<note><![CDATA[{}]]></note>", "347 123]]><![CDATA[4567"),
    _phone("richiamare tel-{} grazie", "3471234567"),
    _phone("richiamare tel.{} grazie", "3471234567"),
    _phone("TEL:{}", "3471234567"),
    _phone("marito {}", "338.987.6543"),
    _phone("London {}", "+44 20 7946 0958"),
    _phone("London {}", "+44 (0)20 7946 0958"),
    _phone("London {}", "0044 20 7946 0958"),
    _phone("Paris {}", "+33 1 23 45 67 89"),
    _phone("Berlin {}", "+49 30 12345678"),
    _phone("Zürich {}", "+41 44 668 18 00"),
    _phone("Madrid {}", "+34 612 345 678"),
    _phone("New York {}", "+1 (212) 555-0123"),
    _phone("alla fine: {}", "347~1234567"),
    _phone("ordine ORD-2026-000123 {} (cliente)", "347 1234567"),
    _phone("dal 12/03/2026 {}", "3471234567"),
    _phone("misura -27,5 dBm, tel {}", "06.12.34.56.78"),
    _phone("tel:{}", "+393471234567"),
    _phone("mobile:{};", "3471234567"),
    _phone("recapito {}", "(+39) 347 1234567"),
    _phone("recapito {} int. 204", "+39 06 1234 5678"),
    _phone("CELL-{}", "3471234567"),
    _phone("n.ro {}", "3471234567"),
]

EMAILS = [
    _email("scrivere a {} per conferma", "mario.rossi@example.it"),
    _email("scrivere a {} per conferma", "MARIO.ROSSI@EXAMPLE.IT"),
    _email("scrivere a {}", "Mario.Rossi+ordine123@Example.com"),
    _email("scrivere a {}.", "giulia_bianchi85@mail.example.org"),
    _email("scrivere a {}", "josé.garcía@exämple.it"),
    _email("scrivere a {}", "user@xn--exmple-cua.it"),
    _email("mail: {}", "mario.rossi [at] example [dot] it"),
    _email("mail: {}", "mario.rossi(at)example.it"),
    _email("mail: {}", "mario.rossi at example dot it"),
    _email("mail: {}", "mario.rossi chiocciola example punto it"),
    _email("mail: {}", "MARIO.ROSSI(AT)EXAMPLE(DOT)IT"),
    _email("mail: {}", "mario.rossi＠example.it"),
    _email("mail: {}", "mario.rossi&#64;example.it"),
    _email("mail: {}", "mario.rossi\\u0040example.it"),
    _email("mail: {}", "mario @ example.it"),
    _email("Da: <{}>", "mario.rossi@example.it"),
]

IDENTIFIERS = [
    _code("CF {}", "RSSMRA80A01H501U", "codice_fiscale"),
    _code("cf {} (minuscolo)", "rssmra80a01h501u", "codice_fiscale"),
    _code("CF: {}.", "RSS MRA 80A01 H501U", "codice_fiscale"),
    _code("omocodia {}", "RSSMRA80A01H5LMX", "codice_fiscale"),
    _code("intestataria {}", "BNCGLI85M52F205H", "codice_fiscale"),
    _code("CF: {}.", "VRDLGU72T10L219X", "codice_fiscale"),
    _code("CF {}", "ＲＳＳＭＲＡ８０Ａ０１Ｈ５０１Ｕ", "codice_fiscale"),
    _code("P.IVA {}", "52601810477", "partita_iva"),
    _code("VAT {}", "IT52601810477", "partita_iva"),
    _code("partita IVA: {}.", "90830160546", "partita_iva"),
    _code("P.IVA {}", "IT 13186090166", "partita_iva"),
]

KNOWN = [
    _known("chiedere di {} al citofono", "Giulia", "Giulia Bianchi"),
    _known("citofono {}, terzo piano", "BIANCHI", "Giulia Bianchi"),
    _known("sig. {} in portineria", "NICOLO SCIASCIA", "Nicolò Sciascià"),
    _known("codice cliente REF-{}", "3471234567", "+39 347 1234567"),
    _known("linea di casa {}", "06 1234 5679", "0612345679"),
    _known("cf {} (errato ma rimosso)", "rssmra80a01h501x", "RSSMRA80A01H501X"),
    _known("scrivere a {}", "mario+promo@example.it", "mario@example.it"),
    _known("il numero è {}", "+39 (0)6 1234 5679", "06 1234 5679"),
]

POSITIVES = [*PHONES, *EMAILS, *IDENTIFIERS, *KNOWN]

NEGATIVES = [
    Negative("Guasto: LED LOS rosso sull'ONT, nessun sincronismo."),
    Negative("attenuazione -27,5 dBm"),
    Negative("attenuazione ottica -27.5dBm in ricezione, -3 dBm in trasmissione"),
    Negative("profilo 1000/300 Mbps"),
    Negative("profilo 1000/300"),
    Negative("FTTH 2500/1000 Mbit/s, misurati 940,5 Mbps"),
    Negative("intervento del 12/03/2026"),
    Negative("intervento del 12/03/26 confermato"),
    Negative("data 2026-03-12"),
    Negative("rilevato il 2026-03-12T10:15:00+01:00 dal sistema"),
    Negative("12.03.2026 ore 14.30"),
    Negative("12-03-2026 alle 9:00"),
    Negative("fascia di reperibilità 08:00-13:00"),
    Negative("orario 8.30-12.30 e 14.00-18.00"),
    Negative("ordine ORD-2026-000123 in lavorazione"),
    Negative("rif. ord-2026-000123"),
    Negative("codiceOrdineOLO FV-2025-0004711"),
    Negative("errore WS-ORD-001"),
    Negative("codice migrazione TIM0612345678001A"),
    Negative("codice migrazione TLC0287654321002K"),
    Negative("CAP 00185 Roma"),
    Negative("idCivicoNetMap 38501127734"),
    Negative("id civico NetMap 0612345678"),
    Negative("codice ISTAT 015146"),
    Negative("pratica n. 0612345678"),
    Negative("IP 192.168.1.10"),
    Negative("OLT 10.20.30.40/24"),
    Negative("gateway 172.16.254.1:8080"),
    Negative("importo € 1.234,56"),
    Negative("canone 29,90 € al mese, attivazione EUR 1.234.567"),
    Negative("IBAN IT60 X054 2811 1010 0000 0123 456"),
    Negative("IBAN IT60X0542811101000000123456"),
    Negative("CF errato RSSMRA80A01H501X"),
    Negative("P.IVA errata 12345678901"),
    Negative("correlationId fv-7f3c2a1e-5b7d-4e0a-9c61-2f8e4d1a0b93"),
    Negative("uuid 12345678-1234-1234-1234-123456789012"),
    Negative("porta 1/1/3/12 dell'OLT"),
    Negative("versione firmware 3.14.159"),
    Negative("seriale ONT HWTC1A2B3C4D"),
    Negative("distanza 1.250 m dalla centrale"),
    Negative("piano 3, interno 12, scala C"),
    Negative("timestamp 1741776000"),
    Negative("MAC 00:1A:2B:3C:4D:5E"),
    Negative("temperatura 35 °C nel cabinet"),
    Negative("coordinate 41.9028, 12.4964"),
    Negative("mail non disponibile, usare la PEC"),
    Negative("sollecito n. 2 dopo 3 giorni"),
    Negative("NOC del partner +39 02 4567 8900", allowed=("+390245678900",)),
    Negative("numero da portare 0287654321", allowed=("0287654321",)),
    Negative("codice migrazione TLC0287654321002K", known=("0287654321",)),
    Negative(
        "scrivere a partner+ord123@partner.example.it",
        allowed=("partner+ord123@partner.example.it",),
    ),
    Negative("Via Garibaldi 12, MILANO", known=("Giuseppe Garibaldi",), allowed=("Via Garibaldi",)),
    Negative("tecnico: chiamare il NOC 02.4567.8900", allowed=("+39 02 4567 8900",)),
    Negative("Orari: lun-ven 9-18, dal 1/3 al 15/3"),
    Negative("scala 2/B, int. 15, tra il 2026 e il 2027"),
    Negative("Rx power -19.37 dBm Tx 2.31 dBm"),
    Negative("ordine n. 2026/000123, prot. 12345/2026"),
    Negative("sezione 3.2.1.4 del manuale, anni 1998-2005"),
    Negative("appuntamento 14/03/2026 08:00-13:00 confermato"),
    Negative("ticket TT-2026-0042 aperto alle 10:42:13"),
    Negative("VLAN 835, CVLAN 1021, SVLAN 2001"),
    Negative("GPON SN: 48575443A1B2C3D4, PON 0/1/2/3"),
    Negative("DAC 2026-03-28, DAD 2026-03-24, scadenza 31.12.2026 23:59"),
    Negative("sconto del 20% per 12 mesi, misura 12,5 / 13,1 / 12,9 dB"),
]
