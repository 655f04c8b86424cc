"""``civetta serve`` and ``civetta dev`` as processes refuse to start on policies that fail the
cross-check against the interface schemas: every ``file:line: message`` on standard error, a
non-zero exit, nothing listening, nothing opened, no child left running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path

from proxy.testing import SCHEMAS
from tests.e2e.conftest import free_port
from tests.e2e.test_cli import CONFIG, START_S, civetta, log_events
from tests.shipped_copy import copy_shipped, misspell

ORD = "{http://wholesale.example.it/ordering/v1}"


def broken_policies(root: Path) -> tuple[Path, list[str]]:
    """A copy of the shipped policies with a typo in two files: the copy and where each is."""
    policies = copy_shipped(root)
    soap = misspell(
        policies / "soap-wholesale.yaml",
        f"select: //{ORD}referente/{ORD}telefono\n",
        f"select: //{ORD}referenti/{ORD}telefono\n",
    )
    tmf = misspell(
        policies / "tmf622-product-order.yaml",
        "select: $..contactMedium[*].characteristic.phoneNumber\n",
        "select: $..contactMedium[*].characteristic.phoneNumbr\n",
    )
    # In file-name order, as the policies are read.
    return policies, [
        f"{soap}rule referente-telefono: //{ORD}referenti/{ORD}telefono: expected an element "
        f"the schema declares as a child of //{ORD}referenti, got {ORD}telefono",
        f"{tmf}rule phone: $..contactMedium[*].characteristic.phoneNumbr: expected a member the "
        "schema declares on $..contactMedium[*].characteristic, got 'phoneNumbr'",
    ]


def write_config(root: Path, policies: Path) -> tuple[Path, dict[str, int]]:
    """The e2e CLI configuration (sandbox included) on ``policies``, on free ports."""
    ports = {n: free_port() for n in ("oss", "incumbent", "admin", "sandbox", "oss_listener")}
    config = root / "civetta.yaml"
    text = CONFIG.format(
        schemas=SCHEMAS,
        policies=policies,
        partners=policies / "partners.yaml",
        operational=json.dumps([]),
        **ports,
    )
    config.write_text(text, encoding="utf-8")
    return config, ports


def listening(port: int) -> bool:
    """Whether something accepts connections on the loopback port."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def running_with(config: Path) -> list[int]:
    """Pids of processes whose command line names ``config`` (a leftover sandbox, a proxy)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if str(config).encode() in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
    return found


async def refused(command: str, tmp_path: Path) -> None:
    """Start ``civetta <command>`` on the broken policies and check the refusal."""
    policies, expected = broken_policies(tmp_path)
    config, ports = write_config(tmp_path, policies)
    async with civetta(command, config, tmp_path) as process:
        async with asyncio.timeout(START_S):
            code = await process.proc.wait()
    assert code == 2, process.output()
    assert process.stderr.read_text("utf-8").splitlines() == expected
    events = [e["event"] for e in log_events(process.stdout.read_text("utf-8"))]
    assert "listener_started" not in events and "proxy_started" not in events
    assert not (tmp_path / "var" / "civetta.db").exists()  # the store was never opened
    assert not any(listening(ports[name]) for name in ("oss", "incumbent", "admin"))
    assert running_with(config) == []


async def test_serve_refuses_to_start_listing_every_cross_check_error(tmp_path: Path) -> None:
    """Two selectors no schema element matches, in two files: both reported, exit 2."""
    await refused("serve", tmp_path)


async def test_dev_refuses_to_start_and_stops_its_sandbox(tmp_path: Path) -> None:
    """``civetta dev`` (what ``make run`` starts) refuses the same way; its sandbox child goes."""
    await refused("dev", tmp_path)
