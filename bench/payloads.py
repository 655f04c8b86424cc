"""The request bodies the proxy benchmarks send: an ~8 KB SOAP 1.1 order and a ~4 KB TMF622 order.

The shared test fixtures are preferred when they exist
(``tests/fixtures/soap/activation_order_11.xml``, ``tests/fixtures/tmf/tmf622_v4_order.json``);
otherwise a realistic equivalent is generated here and padded to the nominal size with content
a real order carries (an attachment, installation notes). Every value is invented: the names,
numbers and codici fiscali below belong to nobody.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SOAP_FIXTURE = REPO / "tests" / "fixtures" / "soap" / "activation_order_11.xml"
TMF_FIXTURE = REPO / "tests" / "fixtures" / "tmf" / "tmf622_v4_order.json"

SOAP_ACTION = "urn:wholesale:ordering:v1:SubmitActivationOrder"
#: Path of the SOAP service on the incumbent (civetta's protected SOAP route prefix).
SOAP_PATH = "/ws/wholesale/v1"
#: Path of the TMF622 v4 collection (under civetta's protected TMF route prefix).
TMF_PATH = "/tmf-api/productOrderingManagement/v4/productOrder"
#: Prefix of civetta's unprotected benchmark route (and the reference's path for the same cell).
PASSTHROUGH_PREFIX = "/bench"

SOAP_SIZE = 8 * 1024
TMF_SIZE = 4 * 1024


@dataclass(frozen=True, slots=True)
class Payload:
    """One request body with the headers and paths that go with it."""

    #: Short name used in tables and JSON (``soap-8k``, ``tmf-4k``).
    name: str
    body: bytes
    #: Request headers besides Host and Content-Length (which the load generator sets).
    headers: tuple[tuple[str, str], ...]
    #: Path on a protected civetta route; the pass-through path is this under ``/bench``.
    path: str
    #: Where the body came from: a fixture's path or ``generated``.
    source: str

    @property
    def passthrough_path(self) -> str:
        """The same request on civetta's unprotected ``/bench/`` route (and on the reference)."""
        return PASSTHROUGH_PREFIX + self.path


_SOAP_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
               xmlns:hdr="http://wholesale.example.it/header/v1"
               xmlns:wsa="http://www.w3.org/2005/08/addressing"
               xmlns:ord="http://wholesale.example.it/ordering/v1">
  <soap:Header>
    <wsa:Action>urn:wholesale:ordering:v1:SubmitActivationOrder</wsa:Action>
    <wsa:MessageID>urn:uuid:6f1c2a9e-3b7d-4c21-9a55-0d2e8f4b7c11</wsa:MessageID>
    <wsa:To>https://wholesale.example.it/ws/wholesale/v1</wsa:To>
    <hdr:header>
      <hdr:activityName>ordering</hdr:activityName>
      <hdr:msgName>SubmitActivationOrder</hdr:msgName>
      <hdr:msgType>REQUEST</hdr:msgType>
      <hdr:senderURI>urn:olo:example:oss</hdr:senderURI>
      <hdr:destinationURI>urn:wholesale:incumbent</hdr:destinationURI>
      <hdr:correlationId>OLO-2025-0000481516</hdr:correlationId>
      <hdr:communicationPattern>SimpleResponse</hdr:communicationPattern>
      <hdr:timestamp>2025-03-14T09:26:53Z</hdr:timestamp>
    </hdr:header>
  </soap:Header>
  <soap:Body>
    <ord:SubmitActivationOrder>
      <ord:codiceOrdineOLO>OLO-2025-0000481516</ord:codiceOrdineOLO>
      <ord:dataOrdine>2025-03-14T09:26:53Z</ord:dataOrdine>
      <ord:tipoOrdine>MIGRAZIONE</ord:tipoOrdine>
      <ord:servizio>FTTH_GPON</ord:servizio>
      <ord:profilo>1000/300</ord:profilo>
      <ord:codiceMigrazione>TIM0612345678001A</ord:codiceMigrazione>
      <ord:numeroDaPortare>0612345678</ord:numeroDaPortare>
      <ord:sedeImpianto>
        <ord:particellaToponomastica>VIA</ord:particellaToponomastica>
        <ord:via>dei Cappellari</ord:via>
        <ord:civico>42</ord:civico>
        <ord:scala>B</ord:scala>
        <ord:piano>3</ord:piano>
        <ord:interno>7</ord:interno>
        <ord:cap>00186</ord:cap>
        <ord:comune>Roma</ord:comune>
        <ord:provincia>RM</ord:provincia>
        <ord:codiceIstat>058091</ord:codiceIstat>
        <ord:idCivicoNetMap>58091004217</ord:idCivicoNetMap>
      </ord:sedeImpianto>
      <ord:clienteFinale>
        <ord:personaFisica>
          <ord:nome>Giulia</ord:nome>
          <ord:cognome>Bianchetti</ord:cognome>
          <ord:codiceFiscale>BNCGLI85M52H501X</ord:codiceFiscale>
        </ord:personaFisica>
      </ord:clienteFinale>
      <ord:referenti>
        <ord:referente>
          <ord:nominativo>Giulia Bianchetti</ord:nominativo>
          <ord:telefono>+393471234567</ord:telefono>
          <ord:telefonoAlternativo>0612345678</ord:telefonoAlternativo>
          <ord:email>giulia.bianchetti@example.org</ord:email>
          <ord:fasciaReperibilita>08:00-13:00</ord:fasciaReperibilita>
        </ord:referente>
        <ord:referente>
          <ord:nominativo>Marco Bianchetti</ord:nominativo>
          <ord:telefono>3389876543</ord:telefono>
          <ord:fasciaReperibilita>14:00-19:00</ord:fasciaReperibilita>
        </ord:referente>
        <ord:referente>
          <ord:nominativo>Portineria Stabile</ord:nominativo>
          <ord:telefono>0687654321</ord:telefono>
          <ord:fasciaReperibilita>07:00-12:00</ord:fasciaReperibilita>
        </ord:referente>
      </ord:referenti>
      <ord:quartoReferente>
        <ord:nominativo>Centro operativo OLO</ord:nominativo>
        <ord:telefono>0699887766</ord:telefono>
      </ord:quartoReferente>
      <ord:appuntamento>
        <ord:dataAppuntamentoDesiderata>2025-03-21</ord:dataAppuntamentoDesiderata>
        <ord:fasciaOraria>08:00-13:00</ord:fasciaOraria>
      </ord:appuntamento>
      <ord:note>{note}</ord:note>
      <ord:allegato>
        <ord:nome>planimetria-appartamento.png</ord:nome>
        <ord:mimeType>image/png</ord:mimeType>
        <ord:contenuto>{attachment}</ord:contenuto>
      </ord:allegato>
    </ord:SubmitActivationOrder>
  </soap:Body>
</soap:Envelope>
"""

_NOTE = (
    "Citofono guasto: chiamare la cliente al cellulare prima di salire. Accesso al vano scala "
    "dal cortile interno; la chiave del locale contatori e' in portineria (orari 7-12). "
)


def _attachment(size: int) -> str:
    """Deterministic base64 of ``size`` pseudo-random bytes (stands in for a small image)."""
    rng = random.Random(0x0C1E77A)
    return base64.b64encode(bytes(rng.getrandbits(8) for _ in range(size))).decode("ascii")


def generated_soap(size: int = SOAP_SIZE) -> bytes:
    """A schema-shaped SOAP 1.1 ``SubmitActivationOrder`` padded to ``size`` bytes (±4)."""
    bare = _SOAP_HEAD.format(note=_NOTE, attachment="").encode("utf-8")
    room = max(0, size - len(bare))
    # base64 grows 4/3: pick the raw size whose encoding fills the room, then trim the note.
    attachment = _attachment(room * 3 // 4)
    body = _SOAP_HEAD.format(note=_NOTE, attachment=attachment).encode("utf-8")
    while len(body) > size and len(attachment) > 4:
        attachment = attachment[:-4]
        body = _SOAP_HEAD.format(note=_NOTE, attachment=attachment).encode("utf-8")
    return body


def _tmf_order(note_text: str) -> dict[str, Any]:
    """A TMF622 v4 ``ProductOrder_Create`` for an FTTH activation with a customer contact."""
    return {
        "externalId": "OLO-2025-0000481517",
        "priority": "4",
        "description": "Attivazione FTTH 1000/300 con migrazione da rame",
        "category": "residential",
        "requestedStartDate": "2025-03-21T08:00:00Z",
        "requestedCompletionDate": "2025-03-28T18:00:00Z",
        "notificationContact": "oss-notifiche@olo.example.net",
        "channel": [{"id": "B2B-API", "name": "API wholesale", "@referredType": "SalesChannel"}],
        "note": [
            {
                "id": "1",
                "author": "Sara Ferretti (back office)",
                "date": "2025-03-14T09:20:11Z",
                "text": note_text,
            }
        ],
        "relatedParty": [
            {
                "id": "CUST-77812",
                "name": "Luca Moretti",
                "role": "customer",
                "@referredType": "Individual",
            },
            {
                "id": "RES-0042",
                "name": "Installazioni Tiburtina srl",
                "role": "installer",
                "@referredType": "Organization",
            },
        ],
        "productOrderItem": [
            {
                "id": "1",
                "quantity": 1,
                "action": "add",
                "appointment": {
                    "id": "APP-5521",
                    "href": "https://olo.example.net/appointment/APP-5521",
                    "description": "Chiamare Luca al 3471112233, citofono Moretti",
                },
                "product": {
                    "isBundle": False,
                    "@type": "Product",
                    "productSpecification": {
                        "id": "FTTH-GPON-1000",
                        "href": "https://wholesale.example.it/productSpecification/FTTH-GPON-1000",
                        "name": "FTTH GPON 1000/300",
                        "version": "2.1",
                    },
                    "productCharacteristic": [
                        {"name": "profilo", "valueType": "string", "value": "1000/300"},
                        {
                            "name": "codiceMigrazione",
                            "valueType": "string",
                            "value": "TIM0612345679002B",
                        },
                        {"name": "numeroDaPortare", "valueType": "string", "value": "0612345679"},
                        {
                            "name": "referenteSopralluogo",
                            "valueType": "string",
                            "value": "Luca Moretti 3471112233",
                        },
                        {
                            "name": "fasciaReperibilita",
                            "valueType": "string",
                            "value": "08:00-13:00",
                        },
                    ],
                    "place": [
                        {
                            "role": "installationAddress",
                            "@type": "GeographicAddress",
                            "streetType": "VIA",
                            "streetName": "Tiburtina",
                            "streetNr": "1021",
                            "postcode": "00156",
                            "city": "Roma",
                            "stateOrProvince": "RM",
                            "country": "IT",
                            "geographicSubAddress": [
                                {
                                    "buildingName": "Scala C",
                                    "levelNumber": "2",
                                    "subUnit": [{"subUnitNumber": "11"}],
                                }
                            ],
                        }
                    ],
                    "relatedParty": [
                        {
                            "id": "CUST-77812",
                            "role": "onSiteContact",
                            "name": "Luca Moretti",
                            "@referredType": "Individual",
                            "contactMedium": [
                                {
                                    "mediumType": "phone",
                                    "preferred": True,
                                    "characteristic": {
                                        "phoneNumber": "+393471112233",
                                        "contactType": "mobile",
                                    },
                                },
                                {
                                    "mediumType": "email",
                                    "preferred": False,
                                    "characteristic": {"emailAddress": "luca.moretti@example.org"},
                                },
                            ],
                        }
                    ],
                },
                "productOffering": {"id": "OFF-FTTH-1000", "name": "Fibra 1000 wholesale"},
            }
        ],
        "@type": "ProductOrder",
        "@baseType": "ProductOrder",
        "@schemaLocation": "https://wholesale.example.it/schemas/tmf622/ProductOrder.schema.json",
    }


def generated_tmf(size: int = TMF_SIZE) -> bytes:
    """A TMF622 v4 product order as compact-ish JSON, padded to ``size`` bytes with its note."""
    base = "Sopralluogo concordato con il cliente; lasciare avviso in portineria se assente. "
    bare = json.dumps(_tmf_order(""), ensure_ascii=False, indent=1).encode("utf-8")
    room = max(0, size - len(bare))
    text = (base * (room // len(base) + 1))[:room]
    return json.dumps(_tmf_order(text), ensure_ascii=False, indent=1).encode("utf-8")


PARTNERS_FILE = REPO / "policies" / "partners.yaml"


def partner_id() -> str:
    """The first partner of the repository's directory (protected routes refuse unknown ones)."""
    try:
        text = PARTNERS_FILE.read_text("utf-8")
    except OSError:
        return "installer-roma-01"
    for line in text.splitlines():
        head, _, value = line.strip().partition(":")
        if head in ("- id", "id") and value.strip():
            return value.strip().strip("'\"")
    return "installer-roma-01"


def _common() -> tuple[tuple[str, str], ...]:
    return (
        ("Accept", "*/*"),
        ("User-Agent", "olo-oss/4.2 (bench)"),
        ("X-Partner-Id", partner_id()),
    )


def soap_payload() -> Payload:
    """The SOAP 1.1 activation order (fixture if present, else generated)."""
    if SOAP_FIXTURE.is_file():
        body, source = SOAP_FIXTURE.read_bytes(), str(SOAP_FIXTURE.relative_to(REPO))
    else:
        body, source = generated_soap(), "generated"
    headers = (
        ("Content-Type", "text/xml; charset=utf-8"),
        ("SOAPAction", f'"{SOAP_ACTION}"'),
        *_common(),
    )
    return Payload(f"soap-{round(len(body) / 1024)}k", body, headers, SOAP_PATH, source)


def tmf_payload() -> Payload:
    """The TMF622 v4 product order (fixture if present, else generated)."""
    if TMF_FIXTURE.is_file():
        body, source = TMF_FIXTURE.read_bytes(), str(TMF_FIXTURE.relative_to(REPO))
    else:
        body, source = generated_tmf(), "generated"
    headers = (("Content-Type", "application/json;charset=utf-8"), *_common())
    return Payload(f"tmf-{round(len(body) / 1024)}k", body, headers, TMF_PATH, source)


def all_payloads() -> dict[str, Payload]:
    """Every payload by its kind (``soap``, ``tmf``)."""
    return {"soap": soap_payload(), "tmf": tmf_payload()}


if __name__ == "__main__":
    for kind, p in all_payloads().items():
        print(f"{kind}: {p.name} {len(p.body)} bytes from {p.source}, path {p.path}")
