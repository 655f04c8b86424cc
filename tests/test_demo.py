"""``civetta demo`` against a running proxy and sandbox: side by side, changes marked."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from yarl import URL

from proxy.config import Listener, MinimisationConfig, Protocol, SandboxConfig
from proxy.demo import run_demo, side_by_side
from proxy.testing import REPO, config, route, started_proxy, started_sandbox


def test_side_by_side_marks_only_changed_rows() -> None:
    """Equal lines are unmarked; replaced lines carry '*' with both versions on one row."""
    rows = list(side_by_side(["a", "b", "c"], ["a", "X", "c"], width=5))
    assert [r[0] for r in rows] == [" ", "*", " "]
    assert rows[1].endswith("| X")


async def test_demo_shows_what_the_incumbent_received(tmp_path: Path) -> None:
    """Each sample goes through the shipped policies; the report shows minimised rows marked."""
    async with started_sandbox(notify_delay_s=0.0) as (sandbox_url, _app):
        routes = [
            route("tmf622", "/tmf-api/productOrderingManagement/v4/", sandbox_url),
            route("tmf621", "/tmf-api/troubleTicket/v4/", sandbox_url),
            route(
                "soap", "/ws/wholesale/v1", sandbox_url, protocol=Protocol.SOAP, methods=["POST"]
            ),
        ]
        cfg = config(
            tmp_path,
            routes,
            minimisation=MinimisationConfig(REPO / "policies", REPO / "policies" / "partners.yaml"),
        )
        async with started_proxy(cfg) as proxy:
            port = int(proxy.oss_url.rsplit(":", 1)[1])
            sandbox = URL(sandbox_url)
            assert sandbox.port is not None
            demo_cfg = dataclasses.replace(
                cfg,
                oss=Listener("oss", "127.0.0.1", port),
                sandbox=SandboxConfig(host="127.0.0.1", port=sandbox.port),
            )
            lines: list[str] = []
            sent = await run_demo(demo_cfg, REPO / "tests" / "fixtures", "installer-roma-01", lines)
    report = "\n".join(lines)
    assert sent == 4, report
    assert report.count("-> HTTP 20") == 4
    assert any(line.startswith("*") for line in lines)
    # The partner's contact stands where the customer's was, on the incumbent's side.
    assert any(line.startswith("*") and "+390694801234" in line.split("|", 1)[1] for line in lines)


def test_demo_is_a_command() -> None:
    """``civetta demo`` is registered with its options."""
    from proxy.cli import build_parser

    args = build_parser().parse_args(["demo", "--partner", "p1"])
    assert args.partner == "p1"
    assert args.samples == "tests/fixtures"
