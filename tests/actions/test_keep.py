"""keep: operational values pass unchanged and are allowed for the egress guard."""

from __future__ import annotations

from proxy.actions import keep
from proxy.actions.base import Syntax
from proxy.engine import apply
from tests.actions.support import FakeScrubber, context, env, rule


def test_value_is_unchanged_and_allowed() -> None:
    """The codice migrazione survives and is recorded as allowed."""
    change = keep.build({}, Syntax.JSON).apply("FWB0645678901001A01Y", env())
    assert change.value is None
    assert change.record
    assert change.allowed == "FWB0645678901001A01Y"


def test_blank_value_needs_no_allowance() -> None:
    """Whitespace is not a value worth allowing."""
    assert keep.build({}, Syntax.JSON).apply("  ", env()) == keep.build({}, Syntax.JSON).apply(
        "", env()
    )
    assert not keep.build({}, Syntax.JSON).apply(" ", env()).record


def test_kept_value_is_not_scrubbed_by_a_broader_rule() -> None:
    """A scrub rule covering every characteristic leaves the kept number to port alone."""
    # The whole value is kept; the scrubber alone would still find the number inside it.
    doc = {
        "c": [
            {"name": "numeroDaPortare", "value": "DN 06 4567 8901"},
            {"name": "x", "value": "06 4567 8902"},
        ]
    }
    rules = [
        rule("$.c[?(@.name=='numeroDaPortare')].value", "keep", rule_id="port"),
        rule("$.c[*].value", "scrub", rule_id="free"),
    ]
    out = apply(rules, doc, context(scrubber=FakeScrubber()))
    assert out.document["c"][0]["value"] == "DN 06 4567 8901"
    assert out.document["c"][1]["value"] == "[omissis]"
    assert "DN 06 4567 8901" in out.allowed_values
    assert [(d.rule, d.action) for d in out.decisions] == [("port", "keep"), ("free", "scrub")]
