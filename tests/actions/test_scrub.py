"""scrub: free text goes to the scrubber with known and allowed values."""

from __future__ import annotations

import pytest

from proxy.actions import scrub
from proxy.actions.base import Context, Env, Syntax
from proxy.errors import PolicyError
from tests.actions.support import KEYS, FakeScrubber, env


def test_text_is_handed_to_the_scrubber_with_known_and_allowed() -> None:
    """The scrubber sees the text, the known values and the allowed values as given."""
    fake = FakeScrubber()
    change = scrub.build({}, Syntax.JSON).apply(
        "chiamare Mario al 347 123 4567", env(known=["Mario"], allowed=["x"], scrubber=fake)
    )
    assert fake.calls == [("chiamare Mario al 347 123 4567", ("Mario",), ("x",))]
    assert change.value == "chiamare [omissis] al [omissis]"
    assert change.removed


def test_text_without_findings_is_unchanged() -> None:
    """No hit: no change and no decision."""
    change = scrub.build({}, Syntax.JSON).apply("LED LOS rosso, attenuazione -27,5 dBm", env())
    assert change.value is None
    assert not change.removed
    assert not change.record


def test_missing_scrubber_is_a_policy_error() -> None:
    """Free text cannot be forwarded unchecked."""
    action = scrub.build({}, Syntax.JSON)
    with pytest.raises(PolicyError, match="expected a scrubber"):
        action.apply("x", Env(Context(KEYS)))
