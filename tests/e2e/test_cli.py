"""The real thing as processes: ``civetta sandbox`` and ``civetta serve`` from a YAML file."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from proxy.testing import SCHEMAS
from tests.e2e.conftest import (
    ACTION_PREFIX,
    OPEN_POLICIES,
    OPERATIONAL,
    PARTNER,
    PARTNERS_FILE,
    SOAP11_PATH,
    free_port,
    pii_free_soap_order,
    pii_free_tmf_document,
)

#: The console script installed next to this interpreter (``.venv/bin/civetta``).
CIVETTA = str(Path(sys.executable).with_name("civetta"))
#: How long a process gets to become ready, and to exit after SIGTERM.
START_S = 15.0
STOP_S = 5.0
TMF_COLLECTION = "/tmf-api/productOrderingManagement/v4/productOrder"

CONFIG = """\
listeners:
  oss: {{host: 127.0.0.1, port: {oss}}}
  incumbent: {{host: 127.0.0.1, port: {incumbent}, public_url: "http://127.0.0.1:{incumbent}"}}
  admin: {{host: 127.0.0.1, port: {admin}}}
limits:
  max_body_bytes: 1048576
routes:
  - name: tmf622-v4
    direction: outbound
    protocol: rest
    path_prefix: /tmf-api/productOrderingManagement/v4/
    upstream: http://127.0.0.1:{sandbox}
    timeouts: {{connect_s: 2, total_s: 5}}
  - name: wholesale-soap
    direction: outbound
    protocol: soap
    path_prefix: /ws/wholesale/v1
    methods: [POST]
    upstream: http://127.0.0.1:{sandbox}
    timeouts: {{connect_s: 2, total_s: 5}}
  - name: tmf-listener
    direction: inbound
    protocol: rest
    path_prefix: /listener/
    methods: [POST]
    upstream: http://127.0.0.1:{oss_listener}
minimisation:
  policies_dir: {policies}
  partners_file: {partners}
  operational_contacts: {operational}
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
  schemas_dir: {schemas}
"""


@dataclass
class Process:
    """A started ``civetta`` command and the files its output goes to."""

    name: str
    proc: asyncio.subprocess.Process
    stdout: Path
    stderr: Path

    def output(self) -> str:
        """Everything the process wrote so far, standard output then standard error."""
        return self.stdout.read_text("utf-8") + self.stderr.read_text("utf-8")

    async def stop(self) -> int:
        """SIGTERM, then the exit code (the test fails if it takes longer than STOP_S)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_S):
                return await self.proc.wait()
        except TimeoutError:
            pytest.fail(f"civetta {self.name} still running {STOP_S} s after SIGTERM")


@asynccontextmanager
async def civetta(name: str, config: Path, workdir: Path) -> AsyncIterator[Process]:
    """Run ``civetta <name> --config <config>``; killed on exit if the test left it running."""
    out, err = workdir / f"{name}.stdout", workdir / f"{name}.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            CIVETTA, name, "--config", str(config), stdout=stdout, stderr=stderr, cwd=workdir
        )
    process = Process(name, proc, out, err)
    try:
        yield process
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def wait_ready(http: aiohttp.ClientSession, url: str, process: Process) -> None:
    """Poll ``url`` until it answers 200; fail with the process's output if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_S
    while loop.time() < deadline:
        if process.proc.returncode is not None:
            pytest.fail(f"civetta {process.name} exited early:\n{process.output()}")
        try:
            async with http.get(url) as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    pytest.fail(f"{url} not ready after {START_S} s:\n{process.output()}")


def log_events(text: str) -> list[dict[str, Any]]:
    """The JSON log lines of a process's standard output."""
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def write_config(path: Path, ports: dict[str, int]) -> None:
    """The YAML configuration on ``ports``, with the permissive test policies: these tests are
    about the processes, not minimisation (the partner's own contact may leave)."""
    path.write_text(
        CONFIG.format(
            schemas=SCHEMAS,
            policies=OPEN_POLICIES,
            partners=PARTNERS_FILE,
            operational=json.dumps(list(OPERATIONAL)),
            **ports,
        ),
        encoding="utf-8",
    )


def tmf_order(marker: str) -> bytes:
    """The personal-data-free TMF622 v4 order with ``marker`` in the customer's name and in a
    note."""
    order = pii_free_tmf_document("tmf622_v4_order.json")
    order["relatedParty"][0]["name"] = f"Impianti {marker}"
    order["note"] = [{"text": f"Richiamare {marker} dopo le 18"}]
    return json.dumps(order).encode()


def soap_order(marker: str) -> bytes:
    """The personal-data-free SOAP 1.1 activation order with ``marker`` in the contact's name."""
    data = pii_free_soap_order()
    contact = f"<ns0:nominativo>{PARTNER.name}<".encode()
    named = data.replace(contact, f"<ns0:nominativo>{marker}<".encode())
    assert named != data
    return named


async def test_serve_and_sandbox_processes_forward_log_no_bodies_and_stop_on_sigterm(
    tmp_path: Path,
) -> None:
    """``civetta sandbox`` and ``civetta serve`` started from a YAML file forward a TMF and a SOAP
    order, log request_completed lines that carry no value from the messages, and exit 0 soon
    after SIGTERM."""
    ports = {n: free_port() for n in ("oss", "incumbent", "admin", "sandbox", "oss_listener")}
    config = tmp_path / "civetta.yaml"
    write_config(config, ports)
    marker = "Zq" + uuid.uuid4().hex[:12]
    sandbox_url = f"http://127.0.0.1:{ports['sandbox']}"
    oss_url = f"http://127.0.0.1:{ports['oss']}"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
        civetta("sandbox", config, tmp_path) as sandbox,
        civetta("serve", config, tmp_path) as proxy,
    ):
        await wait_ready(http, sandbox_url + "/_sandbox/health", sandbox)
        await wait_ready(http, f"http://127.0.0.1:{ports['admin']}/readyz", proxy)
        async with http.post(
            oss_url + TMF_COLLECTION,
            data=tmf_order(marker),
            headers={"Content-Type": "application/json"},
        ) as resp:
            assert resp.status == 201, await resp.text()
        async with http.get(
            f"{oss_url}{TMF_COLLECTION}?relatedParty.name=Impianti%20{marker}"
        ) as resp:
            assert resp.status == 200
            assert len(await resp.json()) == 1
        async with http.post(
            oss_url + SOAP11_PATH,
            data=soap_order(marker),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{ACTION_PREFIX}SubmitActivationOrder"',
            },
        ) as resp:
            assert resp.status == 200, await resp.text()
        async with http.get(sandbox_url + "/_sandbox/received") as resp:
            received = (await resp.json())["received"]
        assert [(r["method"], r["path"]) for r in received] == [
            ("POST", TMF_COLLECTION),
            ("GET", TMF_COLLECTION),
            ("POST", SOAP11_PATH),
        ]
        # The marker really crossed the proxy, so its absence from the logs below means something.
        assert marker in received[1]["query_string"]
        assert (await proxy.stop(), await sandbox.stop()) == (0, 0)
    events = log_events(proxy.stdout.read_text("utf-8"))
    completed = [e for e in events if e.get("event") == "request_completed"]
    assert [(e["route"], e["method"], e["status"]) for e in completed] == [
        ("tmf622-v4", "POST", 201),
        ("tmf622-v4", "GET", 200),
        ("wholesale-soap", "POST", 200),
    ]
    assert all(e["bytes_in"] > 0 for e in completed if e["method"] == "POST")
    assert not any("dropped" in e for e in events)
    assert (tmp_path / "var" / "civetta.db").is_file()
    for process in (proxy, sandbox):
        assert marker not in process.output(), f"civetta {process.name} logged a message value"


async def test_sigterm_drains_the_request_in_flight(tmp_path: Path) -> None:
    """On SIGTERM ``civetta serve`` turns not-ready, still answers the request it is forwarding,
    and only then exits 0."""
    ports = {n: free_port() for n in ("oss", "incumbent", "admin", "sandbox", "oss_listener")}
    config = tmp_path / "civetta.yaml"
    write_config(config, ports)
    sandbox_url = f"http://127.0.0.1:{ports['sandbox']}"
    readyz = f"http://127.0.0.1:{ports['admin']}/readyz"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
        civetta("sandbox", config, tmp_path) as sandbox,
        civetta("serve", config, tmp_path) as proxy,
    ):
        await wait_ready(http, sandbox_url + "/_sandbox/health", sandbox)
        await wait_ready(http, readyz, proxy)
        script = {"path_prefix": TMF_COLLECTION, "delay_s": 1.5, "times": 1}
        async with http.post(sandbox_url + "/_sandbox/script", json=script) as resp:
            assert resp.status == 204

        async def slow_get() -> int:
            async with http.get(f"http://127.0.0.1:{ports['oss']}{TMF_COLLECTION}") as resp:
                await resp.read()
                return resp.status

        in_flight = asyncio.create_task(slow_get())
        for _ in range(100):
            async with http.get(sandbox_url + "/_sandbox/received") as resp:
                if (await resp.json())["received"]:
                    break
            await asyncio.sleep(0.02)
        proxy.proc.send_signal(signal.SIGTERM)
        statuses = []
        for _ in range(100):
            async with http.get(readyz) as resp:
                statuses.append(resp.status)
            if statuses[-1] == 503:
                break
            await asyncio.sleep(0.01)
        assert statuses[-1] == 503
        assert not in_flight.done()
        assert await in_flight == 200
        assert (await proxy.stop(), await sandbox.stop()) == (0, 0)
    completed = [
        e for e in log_events(proxy.stdout.read_text("utf-8")) if e["event"] == "request_completed"
    ]
    assert [(e["method"], e["status"]) for e in completed] == [("GET", 200)]


async def run_check(config: Path) -> tuple[int, str, str]:
    """``civetta config check --config <config>``: exit code, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        CIVETTA,
        "config",
        "check",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(START_S):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


BROKEN = """\
listeners:
  oss: {host: 127.0.0.1, port: 8080}
  incumbent: {host: 127.0.0.1, port: 8081}
  admin: {host: 127.0.0.1, port: 8082}
routes:
  - name: soap
    direction: outbound
    protocol: soapx
    path_prefix: /ws/
    upstream: http://127.0.0.1:9
    colour: blue
  - name: rest
    direction: sideways
    protocol: rest
    path_prefix: /tmf-api/
    upstream: http://127.0.0.1:9
"""


async def test_config_check_lists_every_error_as_file_line_and_exits_2(tmp_path: Path) -> None:
    """``civetta config check`` on a broken file exits 2 and prints one ``file:line: message``
    per problem, each pointing at the right line."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    code, out, err = await run_check(broken)
    assert code == 2
    assert "ok" not in out
    lines = err.splitlines()
    pattern = re.compile(rf"{re.escape(str(broken))}:(\d+): (.+)")
    found = [pattern.fullmatch(line) for line in lines]
    assert all(found), lines
    by_line = {int(m.group(1)): m.group(2) for m in found if m}
    assert "routes[0].protocol" in by_line[8]
    assert "routes[1].direction" in by_line[13]
    assert any("colour" in message for message in by_line.values())
    assert len(lines) == 3


async def test_config_check_accepts_a_valid_file(tmp_path: Path) -> None:
    """``civetta config check`` on a valid file exits 0 and names the routes it loaded."""
    config = tmp_path / "civetta.yaml"
    ports = {n: free_port() for n in ("oss", "incumbent", "admin", "sandbox", "oss_listener")}
    write_config(config, ports)
    code, out, err = await run_check(config)
    assert (code, err) == (0, "")
    assert out.strip() == f"{config}: ok (3 routes)"
