"""Canary test (AUDIT.md, "How it is tested"): planted contacts appear in no file civetta wrote.

The real proxy (``civetta serve``, SQLite, the SHIPPED policies and partner directory) runs in
front of the sandbox (``civetta sandbox``), both processes. The OSS sends a TMF622 v4 order and
a SOAP 1.1 activation order built from ``tests/fixtures/``, in which the end customer's name,
phone numbers, e-mail addresses and codice fiscale (and every other personal phone number of the
fixture, the number to port included) are replaced by fake values unique to this run: a valid
codice fiscale (check character computed by python-stdnum), valid Italian numbers (phonenumbers),
in every spelling the fixture uses (separators, +39/0039 prefixes, fullwidth digits, mixed case,
inside the base64 attachment). The order is read back (tokens restored for the OSS) and the
sandbox's SOAP status callback comes back through the proxy's incumbent listener.

Then every file the proxy wrote is searched for every planted value in several spellings, as
UTF-8 and as base64 at every alignment: the SQLite database, its -wal and -shm (copied while the
proxy ran, when the WAL holds every frame, and again after it stopped), the key directory, its
stdout and stderr, and what ``civetta audit export`` (no openings), ``show`` and ``verify``
wrote. Zero hits. The sealed copies of the forwarded bytes are AES-GCM encrypted; the sandbox's
memory is not a file of the proxy.

Controls, so that zero hits means something: the sandbox received both orders and the fake OSS
the callback; the OSS got the customer's real name back (the values did cross the proxy, both
ways); values written in clear by design (route names, the partner id) ARE found in the
database; and the scanner finds a value written as UTF-8 and as base64 at every alignment.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
import shutil
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import phonenumbers
from aiohttp import web
from stdnum.it import codicefiscale

from proxy import testing
from proxy.testing import REPO, SCHEMAS, started_app
from tests.realproxy import free_port, launcher, run_cli, wait_ready

FIXTURES = REPO / "tests" / "fixtures"
POLICIES = REPO / "policies"
TMF_COLLECTION = "/tmf-api/productOrderingManagement/v4/productOrder"
SOAP_PATH = "/ws/wholesale/v1"
CALLBACK_PATH = "/ws/olo/notifications"
SUBMIT_ACTION = '"urn:wholesale:ordering:v1:SubmitActivationOrder"'
#: The installer whose contact stands in for the customer's (``policies/partners.yaml``).
PARTNER_ID = "installer-roma-01"

CONFIG = """\
listeners:
  oss: {{host: 127.0.0.1, port: {oss}}}
  incumbent: {{host: 127.0.0.1, port: {incumbent}, public_url: "http://127.0.0.1:{incumbent}"}}
  admin: {{host: 127.0.0.1, port: {admin}}}
routes:
  - name: tmf622-v4
    direction: outbound
    protocol: rest
    path_prefix: /tmf-api/productOrderingManagement/v4/
    upstream: http://127.0.0.1:{sandbox}
    timeouts: {{connect_s: 2, total_s: 10}}
  - name: wholesale-soap
    direction: outbound
    protocol: soap
    path_prefix: /ws/wholesale/v1
    methods: [POST]
    upstream: http://127.0.0.1:{sandbox}
    timeouts: {{connect_s: 2, total_s: 10}}
  - name: soap-callbacks
    direction: inbound
    protocol: soap
    path_prefix: /ws/olo/notifications
    methods: [POST]
    upstream: {oss_listener}
    timeouts: {{connect_s: 2, total_s: 10}}
minimisation:
  policies_dir: {policies}
  partners_file: {partners}
  operational_contacts: ["+39 06 4560 0000", noc@olo.example.it]
  watch: false
storage:
  url: sqlite:///var/civetta.db
keys:
  dir: var/keys
  generate: true
logging:
  level: info
  format: json
shutdown_timeout_s: 2
sandbox:
  host: 127.0.0.1
  port: {sandbox}
  notify_delay_s: 0.05
  soap_callback_url: http://127.0.0.1:{incumbent}/ws/olo/notifications
  schemas_dir: {schemas}
"""

# --- fake values, unique per run -----------------------------------------------------------

_CONSONANTS = "bcdfglmnprstvz"
_VOWELS = "aeiou"
_FULLWIDTH = {chr(ord("0") + d): chr(0xFF10 + d) for d in range(10)}
_SEPARATORS = r"[ .\-/()]*"
#: Month letters of the codice fiscale, January to December.
_CF_MONTHS = "ABCDEHLMPRST"
#: Belfiore codes of a few comuni (Roma, Milano, Bologna, Torino, Napoli).
_BELFIORE = ("H501", "F205", "A944", "L219", "F839")
_MOBILE_PREFIXES = ("320", "328", "333", "338", "340", "345", "347", "349", "366", "380", "392")


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))


def _name(rng: random.Random) -> str:
    """A capitalised made-up name of 4 to 5 syllables: unique per run, never a real word."""
    return (_word(rng, rng.choice((4, 5))) + rng.choice("lnrs")).capitalize()


def _cf_part(word: str, given: bool) -> str:
    letters = [c for c in word.upper() if c.isalpha()]
    consonants = [c for c in letters if c not in "AEIOU"]
    vowels = [c for c in letters if c in "AEIOU"]
    if given and len(consonants) >= 4:
        return consonants[0] + consonants[2] + consonants[3]
    return "".join(consonants + vowels + ["X", "X", "X"])[:3]


def codice_fiscale(rng: random.Random, given: str, family: str, female: bool) -> str:
    """A codice fiscale for the name with a random birth date and comune; check character by
    python-stdnum, and valid by its rules."""
    day = rng.randint(1, 28) + (40 if female else 0)
    body = (
        _cf_part(family, False)
        + _cf_part(given, True)
        + f"{rng.randint(50, 99):02d}"
        + rng.choice(_CF_MONTHS)
        + f"{day:02d}"
        + rng.choice(_BELFIORE)
    )
    code = body + codicefiscale.calc_check_digit(body)
    assert codicefiscale.is_valid(code), code
    return code


def italian_number(rng: random.Random, like: str) -> str:
    """A valid Italian number of the same kind and length as ``like`` (national digits): a
    mobile for a mobile, a fixed number in the same district for a fixed one."""
    for _ in range(1000):
        head = rng.choice(_MOBILE_PREFIXES) if like.startswith("3") else like[:2]
        candidate = head + "".join(rng.choice(string.digits) for _ in range(len(like) - len(head)))
        parsed = phonenumbers.parse("+39" + candidate)
        if candidate != like and phonenumbers.is_valid_number(parsed):
            return candidate
    raise AssertionError(f"no valid Italian number like {like}")  # pragma: no cover


@dataclass(slots=True)
class Planted:
    """One planted value: what it is, every spelling in which it went into a message, and for
    a phone number its national significant number."""

    what: str
    spellings: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)

    def searched(self) -> set[str]:
        """The spellings searched for: as sent, lower and upper case; for a phone number also
        its digits alone, with 39, +39 and 0039 in front."""
        out: set[str] = set()
        for spelling in self.spellings:
            out |= {spelling, spelling.lower(), spelling.upper()}
        for number in self.numbers:
            out |= {number, "39" + number, "+39" + number, "0039" + number}
        return out


class Planting:
    """The replacements made in the fixtures, and what was planted."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.planted: dict[str, Planted] = {}

    def plant(self, what: str, spelling: str) -> str:
        """Record that ``spelling`` of ``what`` went into a message; return it."""
        self.planted.setdefault(what, Planted(what)).spellings.add(spelling)
        return spelling

    def text(self, text: str, what: str, old: str, new: str) -> str:
        """Replace every ``old`` by ``new`` (which must then be there)."""
        assert old in text, old
        return text.replace(old, self.plant(what, new))

    def number(self, text: str, what: str, old: str, new: str) -> str:
        """Replace the national number ``old`` by ``new`` in every spelling: any separators,
        an optional +39/0039 prefix kept as it is, ASCII or fullwidth digits, digit for digit."""
        pattern = re.compile(
            r"(?<![0-9\uff10-\uff19])((?:\+|00)?39 ?)?"
            + _SEPARATORS.join(f"[{d}{_FULLWIDTH[d]}]" for d in old)
            + r"(?![0-9\uff10-\uff19])"
        )

        def swap(match: re.Match[str]) -> str:
            prefix = match.group(1) or ""
            digits = iter(new)
            out = []
            for c in match.group(0)[len(prefix) :]:
                if c.isascii() and c.isdigit():
                    out.append(next(digits))
                elif c in _FULLWIDTH.values():
                    out.append(_FULLWIDTH[next(digits)])
                else:
                    out.append(c)
            return self.plant(what, prefix + "".join(out))

        replaced, count = pattern.subn(swap, text)
        assert count, f"{old} not found"
        self.planted[what].numbers.add(new)
        assert not pattern.search(replaced)
        return replaced


@dataclass(frozen=True, slots=True)
class Customer:
    """A made-up end customer."""

    given: str
    family: str
    codice_fiscale: str

    @classmethod
    def make(cls, rng: random.Random, female: bool) -> Customer:
        """Names and a codice fiscale unique to this run."""
        given, family = _name(rng), _name(rng)
        return cls(given, family, codice_fiscale(rng, given, family, female))


def tmf_order(planting: Planting, customer: Customer) -> bytes:
    """The TMF622 v4 fixture with Mario Rossi's data (and every personal number) replaced."""
    rng, c = planting.rng, customer
    text = (FIXTURES / "tmf" / "tmf622_v4_order.json").read_text("utf-8")
    suffix = f"{rng.randint(10, 99)}"
    email = f"{c.given}.{c.family}{suffix}@example.com"
    text = planting.text(text, "e-mail", "mario.rossi80@example.com", email.lower())
    text = planting.text(
        text, "e-mail", "Mario.Rossi80@Example.com", email.replace("example", "Example")
    )
    text = planting.text(text, "name", "Mario Rossi", f"{c.given} {c.family}")
    text = planting.text(text, "family name", "Rossi", c.family)
    planting.plant("given name", c.given)
    text = planting.text(text, "codice fiscale", "RSSMRA80A01H501U", c.codice_fiscale)
    for what, old in (
        ("phone: mobile", "3471234567"),
        ("phone: fixed line (number to port)", "0645678901"),
        ("phone: the neighbour's", "0645678902"),
    ):
        text = planting.number(text, f"{what} (TMF)", old, italian_number(rng, old))
    # Nothing of the fixture's customer is left: the planted values are the only ones.
    assert not [old for old in ("Mario", "Rossi", "RSSMRA") if old in text]
    return text.encode("utf-8")


def soap_order(planting: Planting, customer: Customer) -> bytes:
    """The SOAP 1.1 activation order with Giulia Bianchi's data (and every personal number but
    the OLO's NOC) replaced, in the base64 PDF attachment too."""
    rng, c = planting.rng, customer
    text = (FIXTURES / "soap" / "activation_order_11.xml").read_text("utf-8")
    attachment = re.search(r"<ns0:contenuto>([A-Za-z0-9+/=]+)</ns0:contenuto>", text)
    assert attachment is not None
    pdf = base64.b64decode(attachment.group(1)).decode("latin-1")
    numbers = {
        "phone: mobile": "3471234567",
        "phone: fixed line (number to port)": "0287654321",
        "phone: the husband's mobile": "3389876543",
        "phone: the office": "0245678912",
        "phone: the porter's lodge": "0266554433",
        "phone: the neighbour's": "0226134455",
        "phone: the sales agent's mobile": "3495551234",
    }
    fresh = {what: italian_number(rng, old) for what, old in numbers.items()}
    email = f"{c.given}.{c.family}{rng.randint(10, 99)}@example.it".lower()
    work = f"{c.given[0]}.{c.family}@Lavoro.Example.com"

    def replace(part: str, in_pdf: bool) -> str:
        part = planting.text(part, "name", "Giulia Bianchi", f"{c.given} {c.family}")
        part = planting.text(part, "codice fiscale", "BNCGLI85M52F205H", c.codice_fiscale)
        part = planting.text(part, "e-mail", "giulia.bianchi85@example.it", email)
        for what, old in numbers.items():
            if in_pdf and old not in ("3471234567", "0287654321"):
                continue  # the PDF holds only these two
            part = planting.number(part, f"{what} (SOAP)", old, fresh[what])
        if not in_pdf:
            part = planting.text(part, "e-mail", "G.Bianchi@Lavoro.Example.com", work)
            part = planting.text(part, "family name", "BIANCHI", c.family.upper())
            part = planting.text(part, "family name", "Bianchi", c.family)
            part = planting.text(part, "given name", "Giulia", c.given)
        return part

    pdf = replace(pdf, True)
    new_pdf = base64.b64encode(pdf.encode("latin-1")).decode("ascii")
    text = replace(text.replace(attachment.group(1), "@PDF@"), False).replace("@PDF@", new_pdf)
    assert not [old for old in ("Giulia", "Bianchi", "BNCGLI") if old in text + pdf]
    return text.encode("utf-8")


# --- the scan ------------------------------------------------------------------------------


def base64_needles(value: bytes) -> list[bytes]:
    """What base64 text holds wherever ``value`` was encoded: the characters that depend on
    its bytes only, for each of the three alignments it can have in the encoded data."""
    needles = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value)
        first = -(-shift * 8 // 6)
        last = (shift + len(value)) * 8 // 6
        needles.append(encoded[first:last])
    return needles


def needles(values: Iterable[str]) -> dict[bytes, str]:
    """Each value's UTF-8 bytes and base64 forms, with a description for messages."""
    out: dict[bytes, str] = {}
    for value in values:
        raw = value.encode("utf-8")
        out[raw] = f"{value!r} as UTF-8"
        for needle in base64_needles(raw):
            out[needle] = f"{value!r} as base64"
    return out


def hits(files: Iterable[Path], wanted: dict[bytes, str]) -> list[str]:
    """``file: what`` for every needle found in a file."""
    found = []
    for path in files:
        data = path.read_bytes()
        found += [f"{path}: {what}" for needle, what in wanted.items() if needle in data]
    return found


def files_under(*roots: Path) -> list[Path]:
    """Every regular file under the roots."""
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def test_the_scanner_finds_a_value_as_utf8_and_as_base64_at_every_alignment(
    tmp_path: Path,
) -> None:
    """A value written in clear, or base64-encoded after 0 to 5 other bytes and before some,
    is found by :func:`hits`; a file without it is not."""
    value = "Zuvelarin Motesacol +39 347 555 0199"
    files = []
    for offset in range(6):
        path = tmp_path / f"b64-{offset}"
        path.write_bytes(base64.b64encode(b"x" * offset + value.encode() + b"tail"))
        files.append(path)
    clear = tmp_path / "clear"
    clear.write_bytes(b"\x00\x01" + value.encode() + b"\xff")
    other = tmp_path / "other"
    other.write_bytes(base64.b64encode(b"Zuvelarin Motesacox +39 347 555 0198"))
    wanted = needles([value])
    assert all(hits([path], wanted) for path in [*files, clear])
    assert hits([other], wanted) == []
    assert all(len(needle) >= 20 for needle in wanted)


# --- the test ------------------------------------------------------------------------------


@dataclass(slots=True)
class OssListener:
    """The OSS's notification listener: records what the proxy delivers."""

    received: list[bytes] = field(default_factory=list)

    def app(self) -> web.Application:
        """Answers every POST with an empty SOAP 1.1 envelope."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.read())
        envelope = (
            '<?xml version="1.0"?><soap-env:Envelope xmlns:soap-env='
            '"http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body/></soap-env:Envelope>'
        )
        return web.Response(text=envelope, content_type="text/xml", charset="utf-8")


async def _poll(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    for _ in range(int(timeout_s / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()


def _snapshot(source: Path, target: Path) -> None:
    """Copy the proxy's var directory as it is now (the WAL with every frame)."""
    shutil.copytree(source, target)


async def test_planted_contacts_appear_in_no_file_the_proxy_wrote(tmp_path: Path) -> None:
    """Orders full of unique fake personal data go through the real proxy (shipped policies) to
    the sandbox and back; afterwards no file the proxy wrote (database, WAL, SHM, keys, logs,
    evidence export without openings, CLI output) holds any planted value in any searched
    spelling, as UTF-8 or base64. Controls: the traffic went through, and values written in
    clear by design are found."""
    rng = random.Random()
    planting = Planting(rng)
    tmf = tmf_order(planting, Customer.make(rng, female=False))
    soap = soap_order(planting, Customer.make(rng, female=True))
    searched = {s for p in planting.planted.values() for s in p.searched()}
    # A planted value must not be something the proxy may write legitimately (its inputs).
    inputs = b"".join(p.read_bytes() for p in files_under(POLICIES))
    assert not [s for s in searched if s.encode() in inputs]

    proxy_dir, sandbox_dir = tmp_path / "proxy", tmp_path / "sandbox"
    proxy_dir.mkdir()
    sandbox_dir.mkdir()
    oss = OssListener()
    ports = {n: free_port() for n in ("oss", "incumbent", "admin", "sandbox")}
    oss_url = f"http://127.0.0.1:{ports['oss']}"
    sandbox_url = f"http://127.0.0.1:{ports['sandbox']}"
    config = proxy_dir / "civetta.yaml"
    request_ids: list[str] = []
    async with (
        started_app(oss.app()) as oss_listener,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http,
        launcher(config, sandbox_dir, "sandbox") as sandboxes,
        launcher(config, proxy_dir) as proxies,
    ):
        config.write_text(
            CONFIG.format(
                policies=POLICIES,
                partners=POLICIES / "partners.yaml",
                schemas=SCHEMAS,
                oss_listener=oss_listener,
                **ports,
            ),
            encoding="utf-8",
        )
        sandbox = await sandboxes.start("exec")
        proxy = await proxies.start("exec")
        await wait_ready(sandbox_url + "/_sandbox/health", sandbox)
        await wait_ready(f"http://127.0.0.1:{ports['admin']}/readyz", proxy)

        headers = {"Content-Type": "application/json", "X-Partner-Id": PARTNER_ID}
        async with http.post(oss_url + TMF_COLLECTION, data=tmf, headers=headers) as resp:
            created = await resp.text()
            assert resp.status == 201, created
            request_ids.append(resp.headers["X-Request-ID"])
        order_id = json.loads(created)["id"]
        async with http.get(f"{oss_url}{TMF_COLLECTION}/{order_id}", headers=headers) as resp:
            read_back = await resp.text()
            assert resp.status == 200, read_back
            request_ids.append(resp.headers["X-Request-ID"])
        soap_headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": SUBMIT_ACTION,
            "X-Partner-Id": PARTNER_ID,
        }
        async with http.post(oss_url + SOAP_PATH, data=soap, headers=soap_headers) as resp:
            answer = await resp.text()
            assert resp.status == 200, answer
            request_ids.append(resp.headers["X-Request-ID"])
        assert await _poll(lambda: bool(oss.received)), "no SOAP callback reached the OSS"
        async with http.get(sandbox_url + "/_sandbox/received") as resp:
            received = (await resp.json())["received"]
        _snapshot(proxy_dir / "var", tmp_path / "snapshot-running")
        assert await proxy.stop() == 0
        assert await sandbox.stop() == 0

    # Controls: the orders reached the incumbent, minimised, and the customer's name came back.
    assert [(r["method"], r["path"]) for r in received] == [
        ("POST", TMF_COLLECTION),
        ("GET", f"{TMF_COLLECTION}/{order_id}"),
        ("POST", SOAP_PATH),
    ]
    sent = b"".join(base64.b64decode(r["body_b64"]) for r in received)
    assert b"Impianti Roma Sud" in sent  # the partner stands in for the customer
    names = planting.planted["name"].spellings
    # The customer's name came back to the OSS, restored, in the 201 and in the GET's answer.
    assert all(any(name in answer for name in names) for answer in (created, read_back))
    assert not any(name.encode() in sent for name in names)
    assert oss.received

    # What compliance runs writes files too: evidence without openings (each request, and
    # every entry), ``show`` of every entry, ``verify``. Independent reads: run together.
    outputs = tmp_path / "proxy-cli"
    outputs.mkdir()
    audit = ("audit",)
    commands = {
        **{
            f"export-{n}": (
                *audit,
                "export",
                "--out",
                str(outputs / f"export-{n}"),
                "--request-id",
                rid,
            )
            for n, rid in enumerate(request_ids)
        },
        "export-all": (*audit, "export", "--out", str(outputs / "export-all"), "--all"),
        "show": (*audit, "show", "--json", "--since", "2000-01-01", "--until", "2100-01-01"),
        "verify": (*audit, "verify", "--json", str(outputs / "verify.json"), "--grace", "0"),
    }
    results = await asyncio.gather(
        *(run_cli(*command, "--config", str(config)) for command in commands.values())
    )
    for name, (code, stdout, stderr) in zip(commands, results, strict=True):
        assert code == 0, f"{name}: {stdout}{stderr}"
        (outputs / f"{name}.out").write_text(stdout + stderr, encoding="utf-8")
    assert all(any((outputs / name).iterdir()) for name in commands if name.startswith("export"))
    shown = [
        json.loads(line)
        for line in (outputs / "show.out").read_text().splitlines()
        if line.startswith("{")
    ]
    assert {row.get("request_id") for row in shown} >= set(request_ids)

    written = files_under(proxy_dir, tmp_path / "snapshot-running", outputs)
    names_of = {p.name for p in written}
    assert {"civetta.db", "civetta.db-wal", "signing.key", "secret.key", "serve.stdout"} <= names_of
    assert (tmp_path / "snapshot-running" / "civetta.db-wal").stat().st_size > 0
    # Control: what is written in clear by design is found by the same scan.
    database = [p for p in written if p.name.startswith("civetta.db")]
    for by_design in ("tmf622-v4", "wholesale-soap", "soap-callbacks", PARTNER_ID):
        assert hits(database, needles([by_design])), by_design
    wanted = needles(searched)
    assert min(len(needle) for needle in wanted) >= 9  # long enough never to match by chance
    found = hits(written, wanted)
    size = sum(p.stat().st_size for p in written)
    print(
        f"{len(planting.planted)} planted values, {len(searched)} spellings, {len(wanted)} "
        f"needles; {len(written)} files, {size} bytes: {len(found)} hits"
    )
    for path in written:
        print(f"  {path.relative_to(tmp_path)} {path.stat().st_size}")
    assert found == [], "\n".join(found)


# --- request ids -------------------------------------------------------------------------


async def test_a_request_id_holding_a_phone_number_or_codice_fiscale_is_not_written_in_clear(
    tmp_path: Path,
) -> None:
    """An OSS that uses the customer's phone number or codice fiscale as its X-Request-ID (a
    correlation id some OSSs derive from the customer) must not get it into the audit log in
    clear, just as an e-mail-like id is not (a gap found by this canary, fixed in 7dc8205)."""
    rng = random.Random()
    customer = Customer.make(rng, female=False)
    planted = ("+39" + italian_number(rng, "3471234567"), customer.codice_fiscale)

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    upstream = web.Application()
    upstream.router.add_post("/{tail:.*}", accept)
    async with started_app(upstream) as upstream_url:
        cfg = testing.config(tmp_path, [testing.route("plain", "/plain/", upstream_url)])
        async with (
            testing.started_proxy(cfg) as proxy,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        ):
            for value in planted:
                async with http.post(
                    proxy.oss_url + "/plain/orders",
                    data=b'{"note": "nothing personal"}',
                    headers={"Content-Type": "application/json", "X-Request-ID": value},
                ) as resp:
                    assert resp.status == 204
            store = proxy.state.store
            written = b"".join(
                leaf.data for leaf in await store.leaves(0, (await store.head()).size)
            )
    assert b'"type":"intent"' in written  # the requests were audited
    assert [value for value in planted if value.encode() in written] == []
