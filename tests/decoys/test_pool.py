"""The pools: which contacts are decoys, random candidates, free decoys, exhaustion."""

from __future__ import annotations

import pytest

from proxy.decoys.pool import DecoyPool, PoolExhausted
from proxy.decoys.settings import PhoneRange
from tests.decoys.conftest import DOMAIN, FIRST, LAST, decoy_settings

POOL = DecoyPool(decoy_settings())
ALL = {f"+39029999000{i}" for i in range(10)}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (FIRST, ("phone", FIRST)),
        ("02 9999 0009", ("phone", LAST)),
        ("+39 02 9999 0005", ("phone", "+390299990005")),
        ("+390299990010", None),
        ("+393471234567", None),
        (f"O-ABC@{DOMAIN.upper()}", ("email", f"o-abc@{DOMAIN}")),
        (f"mario@{DOMAIN}", None),
        ("o-abc@other.example.it", None),
        ("not a contact", None),
    ],
)
def test_canonical_recognises_only_the_pools_own(text: str, found: tuple[str, str] | None) -> None:
    """A decoy in any spelling maps to its canonical form; anything else is not a decoy."""
    assert POOL.canonical(text) == found


def test_random_phone_candidates_are_distinct_and_in_range() -> None:
    """Candidates are distinct numbers of the ranges; asking for more than exist gives all."""
    picks = POOL.random("phone", 5)
    assert len(set(picks)) == 5 and set(picks) <= ALL
    assert set(POOL.random("phone", 50)) == ALL
    assert POOL.size("phone") == 10 and POOL.size("email") is None


def test_random_picks_cover_several_ranges() -> None:
    """With two ranges, both are drawn from (a pool is the union of its ranges)."""
    pool = DecoyPool(
        decoy_settings(
            phone_ranges=(
                PhoneRange(390299990000, 390299990004),
                PhoneRange(390288880000, 390288880004),
            )
        )
    )
    picks = set(pool.random("phone", 10))
    assert len(picks) == 10 and any(p.startswith("+3902888") for p in picks)


def test_aliases_are_random_and_of_the_domain() -> None:
    """E-mail decoys are o-<16 base32 characters>@domain, never twice the same."""
    aliases = POOL.random("email", 100)
    assert len(set(aliases)) == 100
    for alias in aliases:
        local, _, domain = alias.partition("@")
        assert domain == DOMAIN and local.startswith("o-") and len(local) == 18
        assert POOL.canonical(alias) == ("email", alias)


@pytest.mark.parametrize("live", [set(), {FIRST}, ALL - {LAST}, ALL - {FIRST, LAST}])
def test_free_offers_only_decoys_not_live(live: set[str]) -> None:
    """Free decoys exclude live ones, by sampling while the pool is mostly free and by
    enumeration when it is mostly used."""
    free = POOL.free("phone", live, 8)
    assert free and not set(free) & live and set(free) <= ALL
    assert len(free) == min(8, 10 - len(live))


def test_a_full_pool_has_nothing_free() -> None:
    """Every number live: nothing to offer (the service then refuses the order)."""
    assert POOL.free("phone", ALL, 8) == []


def test_a_kind_without_pool_is_refused() -> None:
    """No domain configured: asking for e-mail decoys is an error, not an empty answer."""
    pool = DecoyPool(decoy_settings(email_domain=None))
    assert pool.kinds == {"phone"}
    with pytest.raises(PoolExhausted):
        pool.random("email", 1)
