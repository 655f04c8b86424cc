"""The partner directory: YAML and CSV, normalised, every error with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.errors import ConfigError
from proxy.partners import load_partners
from proxy.testing import REPO


def test_shipped_directory_loads_in_e164() -> None:
    """policies/partners.yaml loads; phone numbers are normalised to E.164."""
    directory = load_partners(REPO / "policies" / "partners.yaml")
    partner = directory.get("installer-roma-01")
    assert partner is not None
    assert partner.phone == "+390694801234"
    assert directory.get("nobody") is None
    assert directory.get(None) is None


def test_csv_directory(tmp_path: Path) -> None:
    """A CSV with the id,name,phone,email header is accepted."""
    path = tmp_path / "p.csv"
    path.write_text("id,name,phone,email\np1,Ditta,347 123 4567,a@b.example.it\n")
    assert load_partners(path).get("p1") is not None


def test_every_bad_entry_is_reported_with_its_line(tmp_path: Path) -> None:
    """Invalid phone, malformed e-mail, duplicate id and missing fields each give a file:line error."""
    path = tmp_path / "p.yaml"
    path.write_text(
        "partners:\n"
        "  - {id: a, name: A, phone: '+39 06 9480 1234', email: a@x.example.it}\n"
        "  - {id: b, name: B, phone: '123', email: b@x.example.it}\n"
        "  - {id: c, name: C, phone: '+39 06 9480 1234', email: not-an-email}\n"
        "  - {id: a, name: A2, phone: '+39 06 9480 1234', email: a@x.example.it}\n"
        "  - {id: d, name: D}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_partners(path)
    errors = info.value.errors
    assert [e.split(":")[1] for e in errors] == ["3", "4", "5", "6"]
    assert "valid phone number" in errors[0]
    assert "e-mail" in errors[1]
    assert "duplicate partner id 'a'" in errors[2]
    assert "phone, email" in errors[3]
    assert "123" not in errors[0]
