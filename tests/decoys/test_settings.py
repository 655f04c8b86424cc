"""The decoys: configuration section: parsed into settings, every mistake listed with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.config import load_config
from proxy.decoys.callers import ExpectedCaller
from proxy.decoys.settings import PhoneRange
from proxy.errors import ConfigError

BASE = """\
listeners:
  oss: {port: 18080}
  incumbent: {port: 18081}
  admin: {port: 18082}
routes:
  - {name: a, direction: outbound, protocol: rest, path_prefix: /x/, upstream: "http://127.0.0.1:9"}
"""


def load(tmp_path: Path, decoys: str) -> object:
    """Load a configuration whose decoys: section is ``decoys``."""
    path = tmp_path / "c.yaml"
    path.write_text(BASE + decoys)
    return load_config(path)


def errors(tmp_path: Path, decoys: str) -> list[str]:
    """The errors of such a configuration, file names shortened to ``c.yaml``."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, decoys)
    return [e.replace(str(tmp_path / "c.yaml"), "c.yaml") for e in caught.value.errors]


def test_a_full_section_is_parsed(tmp_path: Path) -> None:
    """Ranges, domain, durations, expected callers and the webhook reach the settings."""
    cfg = load(
        tmp_path,
        """\
decoys:
  phone_ranges:
    - {from: "+390299990000", to: "+390299990999"}
    - {from: "+390299991000", to: "+390299991099"}
  email_domain: Civetta-Alias.OLO.example.it
  quarantine_days: 120
  active_window_days: 45
  expected_callers: ["+39 06 1234 5678", "+3906999*", "@wholesale.incumbent.example.it"]
  alert_webhook: https://alerts.olo.example.it/civetta
  alert_timeout_s: 2.5
""",
    )
    settings = cfg.decoys  # type: ignore[attr-defined]
    assert settings.phone_ranges == (
        PhoneRange(390299990000, 390299990999),
        PhoneRange(390299991000, 390299991099),
    )
    assert settings.phone_ranges[0].size == 1000
    assert settings.email_domain == "civetta-alias.olo.example.it"
    assert (settings.quarantine_days, settings.active_window_days) == (120, 45)
    assert settings.expected_callers == (
        ExpectedCaller("number", "+390612345678"),
        ExpectedCaller("prefix", "+3906999"),
        ExpectedCaller("domain", "wholesale.incumbent.example.it"),
    )
    assert settings.alert_webhook == "https://alerts.olo.example.it/civetta"
    assert settings.alert_timeout_s == 2.5
    assert settings.kinds == {"phone", "email"}


def test_no_section_means_no_decoys(tmp_path: Path) -> None:
    """Decoys are off unless configured."""
    assert load(tmp_path, "").decoys is None  # type: ignore[attr-defined]


def test_every_range_mistake_is_listed_with_its_line(tmp_path: Path) -> None:
    """Invalid numbers, mixed lengths, reversed, oversized and overlapping ranges: all listed."""
    found = errors(
        tmp_path,
        """\
decoys:
  phone_ranges:
    - {from: "+390299990000", to: "+39029999000"}
    - {from: "+390299990100", to: "+390299990000"}
    - {from: "+390299990000", to: "+390299990099"}
    - {from: "+390299990050", to: "+390299990199"}
    - {from: "+390200000000", to: "+390299999999"}
    - {from: "+3900000000", to: "+3900000001"}
""",
    )
    assert found == [
        "c.yaml:9: expected from and to of one length, got two lengths",
        "c.yaml:10: expected from <= to, got from after to",
        "c.yaml:13: expected at most 1000000 numbers in a range, got 100000000",
        "c.yaml:14: expected a valid E.164 number, got another value",
        "c.yaml:14: expected a valid E.164 number, got another value",
        "c.yaml:12: expected disjoint ranges, got one overlapping range 2",
    ]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("decoys: {}\n", "c.yaml:7: expected phone_ranges or email_domain, got neither"),
        (
            "decoys: {email_domain: not_a_domain}\n",
            "c.yaml:7: expected a domain name, got another value",
        ),
        (
            "decoys:\n  email_domain: a.example.it\n  expected_callers: [tim.it]\n",
            "c.yaml:9: expected an E.164 number, a number prefix ending in '*' or an e-mail domain "
            "starting with '@', got another value",
        ),
        (
            "decoys: {email_domain: a.example.it, alert_webhook: ftp://x}\n",
            "c.yaml:7: at decoys.alert_webhook: 'ftp://x' does not match '^https?://'",
        ),
    ],
)
def test_other_mistakes(tmp_path: Path, section: str, message: str) -> None:
    """An empty section, a malformed domain, expected caller or webhook: each named at its line."""
    assert errors(tmp_path, section) == [message]
