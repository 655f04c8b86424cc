"""restore: tokens in responses become the originals again."""

from __future__ import annotations

from proxy.actions import restore
from proxy.actions.base import Syntax
from proxy.actions.tokenise import token_id
from tests.actions.support import KEYS, ORDER, env

MAPPING = {"tok_aaaaaaaaaaaaaaaaaaaaaaaa": "Mario Rossi", "42": "7"}


def test_whole_token_is_restored_with_its_id() -> None:
    """A value that is a token becomes the original; the decision carries the token id."""
    change = restore.build({}, Syntax.JSON).apply(
        "tok_aaaaaaaaaaaaaaaaaaaaaaaa", env(restore=MAPPING)
    )
    assert change.value == "Mario Rossi"
    assert change.record
    assert not change.removed
    assert change.token_id == token_id(KEYS.token, ORDER, "Mario Rossi")


def test_token_inside_text_is_restored() -> None:
    """An incumbent's note quoting the token gets the original back in place."""
    change = restore.build({}, Syntax.JSON).apply(
        "contattato tok_aaaaaaaaaaaaaaaaaaaaaaaa alle 9", env(restore=MAPPING)
    )
    assert change.value == "contattato Mario Rossi alle 9"


def test_short_token_is_restored_only_as_a_whole_value() -> None:
    """``42`` inside ``1420`` is a coincidence, not a token."""
    action = restore.build({}, Syntax.JSON)
    assert action.apply("42", env(restore=MAPPING)).value == "7"
    assert action.apply("1420", env(restore=MAPPING)).value is None


def test_value_without_tokens_is_unchanged() -> None:
    """No token, no change, no decision; an empty mapping is fine."""
    action = restore.build({}, Syntax.JSON)
    assert not action.apply("ACCETTATO", env(restore=MAPPING)).record
    assert action.apply("ACCETTATO", env()).value is None
