"""mask: keep the last N characters."""

from __future__ import annotations

import pytest

from proxy.actions import mask
from proxy.actions.base import ParamError, Syntax
from tests.actions.support import env


def test_default_keeps_last_four() -> None:
    """By default all but the last four characters become ``*``, separators included."""
    change = mask.build({}, Syntax.JSON).apply("347 123 4567", env())
    assert change.value == "********4567"
    assert change.removed
    assert change.allowed == "********4567"


def test_configurable_count_and_character() -> None:
    """``keep_last`` and ``mask_char`` are honoured."""
    change = mask.build({"keep_last": 2, "mask_char": "X"}, Syntax.JSON).apply("RSSMRA", env())
    assert change.value == "XXXXRA"


def test_keep_last_zero_hides_everything() -> None:
    """``keep_last: 0`` leaves only the length."""
    assert mask.build({"keep_last": 0}, Syntax.JSON).apply("abc", env()).value == "***"


def test_value_shorter_than_the_kept_part_is_unchanged() -> None:
    """Nothing to hide: no change, no removal."""
    change = mask.build({}, Syntax.JSON).apply("123", env())
    assert change.value is None
    assert not change.removed


@pytest.mark.parametrize(
    ("params", "message"),
    [({"keep_last": -1}, "non-negative"), ({"mask_char": "**"}, "exactly one character")],
)
def test_bad_parameters_are_refused(params: dict[str, object], message: str) -> None:
    """Parameter mistakes name the parameter and the expectation."""
    with pytest.raises(ParamError, match=message):
        mask.build(params, Syntax.JSON)
