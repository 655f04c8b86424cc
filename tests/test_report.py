"""``proxy.report``: the month's figures equal the leaves counted here, straight from the file.

The scenario (:mod:`tests.trace_world`) spans October and November 2026, with an intent at
23:59:59.5 on 31 October whose outcome is stamped in November.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proxy.report import ReportError, check_month, month_report, report_html, report_lines
from tests.audit.test_verify_support import rows
from tests.trace_world import PLANTED, World, build_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The scenario of :mod:`tests.trace_world`."""
    built = await build_world(tmp_path)
    yield built
    await built.close()


def counted(world: World, month: str) -> dict[str, Any]:
    """The report's figures computed independently: every leaf parsed, its ``time`` read."""
    db = Path(world.url.removeprefix("sqlite:///"))
    leaves = {int(i): json.loads(bytes(d)) for i, d in rows(db, "SELECT idx, data FROM audit_leaf")}
    mine = {i: leaf for i, leaf in leaves.items() if leaf["time"][:7] == month}
    tallies: dict[str, Counter[str]] = {k: Counter() for k in ("types", "messages", "fields", "decoys", "contacts", "suspicious_reasons", "echoes", "blocks")}  # fmt: skip
    for leaf in mine.values():
        tallies["types"][leaf["type"]] += 1
        if leaf["type"] == "intent":
            tallies["messages"][leaf["route"]] += 1
            tallies["fields"].update(f["action"] for f in leaf["fields"])
        if leaf["type"] == "alias":
            tallies["decoys"][leaf["decoy_kind"]] += 1
        if leaf["type"] == "contact":
            tallies["contacts"][leaf["classification"]] += 1
            if leaf["classification"] == "suspicious":
                tallies["suspicious_reasons"][leaf["reason"]] += 1
        if leaf["type"] in ("echo", "block"):
            tallies[leaf["type"] + ("es" if leaf["type"] == "echo" else "s")][leaf["route"]] += 1
    sizes = [int(s) for (s,) in rows(db, "SELECT size FROM audit_checkpoint") if int(s) - 1 in mine]
    out: dict[str, Any] = {"month": month, "tree_size": len(leaves), "entries": len(mine)}
    out.update({k: dict(sorted(v.items())) for k, v in tallies.items()})
    out["checkpoints"] = {"count": len(sizes), "latest_size": max(sizes) if sizes else None}
    return out


@pytest.mark.parametrize("month", ["2026-10", "2026-11"])
async def test_the_figures_match_the_leaves(world: World, month: str) -> None:
    """Every figure of both months equals the independent count."""
    report = await month_report(world.store, month)
    assert report.to_json() == counted(world, month)


async def test_the_scenario_in_figures(world: World) -> None:
    """What the scenario put in each month, by hand: four messages and a block in October,
    the fourth message's outcome and one more message in November, contacts on both sides."""
    october = (await month_report(world.store, "2026-10")).to_json()
    november = (await month_report(world.store, "2026-11")).to_json()
    assert october["messages"] == {"soap-wba": 1, "tmf622": 3}
    assert november["messages"] == {"tmf622": 1}
    assert october["fields"] == {"alias": 5, "drop": 4, "tokenise": 4}
    assert october["decoys"] == {"email": 1, "phone": 3} and november["decoys"] == {}
    assert october["contacts"] == {"expected": 2}
    assert november["contacts"] == {"suspicious": 4, "unattributed": 1}
    assert november["suspicious_reasons"] == {
        "after_order_closed": 1, "unknown_caller": 2, "withheld_caller": 1
    }  # fmt: skip
    assert october["blocks"] == {"tmf622": 1} and november["echoes"] == {"tmf622": 1}
    assert october["types"]["intent"] == 4 and october["types"]["outcome"] == 3
    assert november["types"]["outcome"] == 2
    assert october["entries"] + november["entries"] == october["tree_size"]
    assert november["checkpoints"]["latest_size"] == november["tree_size"]
    assert october["checkpoints"]["count"] + november["checkpoints"]["count"] >= 20


async def test_an_empty_month_and_a_malformed_one(world: World) -> None:
    """A month with no entries has zero figures; a month that is not YYYY-MM is refused."""
    empty = await month_report(world.store, "2026-09")
    assert (empty.entries, empty.checkpoints, empty.latest_checkpoint) == (0, 0, None)
    assert empty.to_json()["messages"] == {} and empty.tree_size > 0
    for bad in ("2026-13", "2026-1", "26-11", "2026-11-01", "nov"):
        with pytest.raises(ReportError, match="expected a month as YYYY-MM"):
            check_month(bad)
    with pytest.raises(ReportError):
        await month_report(world.store, "2026-00")


async def test_html_and_text_show_the_figures(world: World) -> None:
    """The page is bilingual and printable, shows each figure, and holds no personal value."""
    report = await month_report(world.store, "2026-11")
    page = report_html(report).decode()
    assert "@media print" in page and 'lang="it"' in page and 'lang="en"' in page
    assert "Relazione mensile di civetta" in page and "civetta monthly report" in page
    assert "<code>unknown_caller</code> (chiamante sconosciuto)" in page
    assert "Contacts on decoys" in page and "<script" not in page and "http" not in page
    assert f'<td class="num">{report.checkpoints}</td>' in page
    text = "\n".join(report_lines(report))
    assert "suspicious 4" in text and "unattributed 1" in text and "tmf622 1" in text
    for value in PLANTED:
        assert value not in page and value not in text
