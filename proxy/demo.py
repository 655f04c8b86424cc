"""``civetta demo``: sample orders through the running proxy, shown side by side.

For each sample it sends what an OSS would send to the OSS-facing listener, then asks the
sandbox incumbent what it received (``/_sandbox/received``) and prints both, pretty-printed,
in two columns with the changed lines marked. Meant for a person at a terminal next to
``make run``; it sends only the samples it is given, to loopback addresses from the config.
"""

from __future__ import annotations

import base64
import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from lxml import etree

from proxy.config import Config
from proxy.formats.soap import parse_xml

TMF622 = "/tmf-api/productOrderingManagement/v4/productOrder"
SOAP11 = "/ws/wholesale/v1"
ACTIVATION = '"urn:wholesale:ordering:v1:SubmitActivationOrder"'
TICKET = '"urn:wholesale:ordering:v1:SubmitTroubleTicket"'


@dataclass(frozen=True, slots=True)
class Sample:
    """One message to send: where, how, and the file it comes from."""

    title: str
    path: str
    content_type: str
    file: str
    soap_action: str | None = None


SAMPLES = (
    Sample("TMF622 v4 product order", TMF622, "application/json", "tmf/tmf622_v4_order.json"),
    Sample(
        "TMF621 v4 trouble ticket",
        "/tmf-api/troubleTicket/v4/troubleTicket",
        "application/json",
        "tmf/tmf621_v4_ticket.json",
    ),
    Sample(
        "SOAP 1.1 activation order",
        SOAP11,
        "text/xml; charset=utf-8",
        "soap/activation_order_11.xml",
        ACTIVATION,
    ),
    Sample(
        "SOAP 1.1 trouble ticket",
        SOAP11,
        "text/xml; charset=utf-8",
        "soap/trouble_ticket_11.xml",
        TICKET,
    ),
)


def pretty(body: bytes, content_type: str) -> list[str]:
    """Readable lines of a JSON or XML body (other bodies as text)."""
    if "json" in content_type:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False).splitlines()
    if "xml" in content_type:
        tree = parse_xml(body)
        return etree.tostring(tree.getroot(), pretty_print=True, encoding="unicode").splitlines()
    return body.decode("utf-8", "replace").splitlines()


def side_by_side(left: list[str], right: list[str], width: int = 70) -> Iterator[str]:
    """Two aligned columns; ``*`` marks rows where the two differ."""
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        rows = max(i2 - i1, j2 - j1)
        for k in range(rows):
            a = left[i1 + k] if i1 + k < i2 else ""
            b = right[j1 + k] if j1 + k < j2 else ""
            mark = " " if tag == "equal" else "*"
            yield f"{mark} {a[:width]:<{width}} | {b[:width]}"


async def run_demo(cfg: Config, samples_dir: Path, partner: str, out: list[str]) -> int:
    """Send every sample; append the report lines to ``out``; return how many went through."""
    oss = f"http://{cfg.oss.host}:{cfg.oss.port}"
    sandbox = f"http://{cfg.sandbox.host}:{cfg.sandbox.port}"
    sent = 0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        for sample in SAMPLES:
            path = samples_dir / sample.file
            if not path.is_file():
                out.append(f"## {sample.title}: sample {path} not found, skipped")
                continue
            body = path.read_bytes()
            async with http.get(sandbox + "/_sandbox/received") as r:
                last = max((item["seq"] for item in (await r.json())["received"]), default=0)
            headers = {"Content-Type": sample.content_type, "X-Partner-Id": partner}
            if sample.soap_action is not None:
                headers["SOAPAction"] = sample.soap_action
            async with http.post(oss + sample.path, data=body, headers=headers) as r:
                status, answer_code = r.status, r.headers.get("X-Civetta-Error")
            out.append(
                f"## {sample.title} -> HTTP {status}" + (f" ({answer_code})" if answer_code else "")
            )
            async with http.get(sandbox + f"/_sandbox/received?since={last}") as r:
                received = (await r.json())["received"]
            if not received:
                out.append("   the incumbent received nothing (civetta refused the message)")
                continue
            got = base64.b64decode(received[0]["body_b64"])
            out.append(f"  {'what the OSS sent':<70} | what the incumbent received")
            out.extend(
                side_by_side(pretty(body, sample.content_type), pretty(got, sample.content_type))
            )
            sent += 1
    return sent
