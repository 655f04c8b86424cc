"""Tests for proxy.detect.chains: digit chains and the boundary rules around them."""

from __future__ import annotations

from proxy.detect.chains import (
    Chain,
    chains,
    digit_count,
    hangs_off_identifier,
    identifier_dropped,
    masked,
    split,
)


def test_chains_record_groups_and_the_plus() -> None:
    """A chain lists its digit groups and remembers a leading ``+``."""
    (chain,) = chains("tel +39 347-123 4567.")
    assert chain.international
    assert chain.groups == ((5, 7), (8, 11), (12, 15), (16, 20))
    assert chain.digits == 12


def test_chains_glued_to_letters_lose_the_glued_group() -> None:
    """Digits glued to a word are not a number of ours (``TIM0612345678001A``)."""
    assert chains("TIM0612345678001A") == []
    assert chains("347 1234567abc")[0].groups == ((0, 3),)


def test_a_phone_label_or_a_word_glued_to_a_number_does_not_hide_it() -> None:
    """``tel3471234567`` and ``…5678Recapito`` keep their groups; a longer word before does not
    count as a label, and a code's short or hexadecimal tail is still a code."""
    assert chains("tel3471234567")[0].groups == ((3, 13),)
    assert chains("CELL3471234567")[0].groups == ((4, 14),)
    assert chains("02 12345678Recapito")[0].groups == ((0, 2), (3, 11))
    assert chains("hotel3471234567") == []
    assert chains("0612345678abcdef") == []
    assert chains("0612345678001A") == []


def test_chains_do_not_start_on_the_minutes_of_a_time() -> None:
    """``08:00 321 0000000``: the chain starts at 321, not at the 00 after the colon."""
    assert [c.groups[0] for c in chains("08:00 321 0000000")] == [(0, 2), (6, 9)]


def test_short_chains_are_skipped_on_request() -> None:
    """``min_digits`` drops chains too short to matter before any further work."""
    assert chains("piano 3, interno 12, tel 3471234567", 7)[0].digits == 10


def test_digit_count_counts_ascii_digits() -> None:
    """The cheap pre-check counts digits only."""
    assert digit_count("a1b22c333") == 6


def test_identifier_tails_are_recognised_but_phone_labels_are_not() -> None:
    """``ord-2026-…`` hangs off an id; ``tel-347…`` does not; nor does a protected date."""
    assert hangs_off_identifier("ord-2026", 4, [])
    assert not hangs_off_identifier("tel-3471234567", 4, [])
    assert not hangs_off_identifier("12/03/2026-3471234567", 11, [(0, 10)])


def test_identifier_groups_are_dropped_up_to_the_first_space() -> None:
    """``ORD-2026-000123 3471234567`` keeps only the groups after the identifier."""
    text = "ORD-2026-000123 3471234567"
    (chain,) = chains(text)
    rest = identifier_dropped(chain, text, [])
    assert rest == Chain(16, 26, False, ((16, 26),))
    (whole_id,) = chains("ord-2026-000123")
    assert identifier_dropped(whole_id, "ord-2026-000123", []) is None


def test_split_removes_protected_groups() -> None:
    """Groups inside a protected span are taken out; the runs around them become chains."""
    text = "12/03/2026 3471234567"
    (chain,) = chains(text)
    assert [c.groups for c in split(chain, [(0, 10)])] == [((11, 21),)]


def test_masked_keeps_offsets() -> None:
    """Masking replaces characters one for one."""
    assert masked("ab 12/03/2026 cd", [(3, 13)]) == "ab ########## cd"
