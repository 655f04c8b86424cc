"""The partner directory: resellers and installers whose contact stands in for the customer's.

A YAML file (``partners: [{id, name, phone, email}, …]``) or a CSV file with the header
``id,name,phone,email``. Every entry is checked — phone numbers must be valid and are stored in
E.164 (the incumbent calls them: a wrong one suspends the order), e-mail addresses must be
well-formed, ids unique — and every problem is reported as ``file:line: message``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from proxy.actions.base import Partner
from proxy.errors import ConfigError
from proxy.yamlsource import load_yaml

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class PartnerDirectory:
    """Partners by id."""

    partners: Mapping[str, Partner]
    source: str = "<none>"

    def get(self, partner_id: str | None) -> Partner | None:
        """The partner with ``partner_id``, or None."""
        return None if partner_id is None else self.partners.get(partner_id)

    def __len__(self) -> int:
        return len(self.partners)


def _check(rows: Iterable[tuple[int, Mapping[str, object]]], name: str) -> PartnerDirectory:
    errors: list[str] = []
    found: dict[str, Partner] = {}
    for line, row in rows:
        where = f"{name}:{line}"
        missing = [k for k in ("id", "name", "phone", "email") if not str(row.get(k) or "").strip()]
        if missing:
            errors.append(f"{where}: expected {', '.join(missing)} for every partner, got none")
            continue
        pid, pname = str(row["id"]).strip(), str(row["name"]).strip()
        phone, email = str(row["phone"]).strip(), str(row["email"]).strip()
        if not _ID.fullmatch(pid):
            errors.append(
                f"{where}: expected an id of letters, digits, '.', '_' or '-', got another"
            )
            continue
        if pid in found:
            errors.append(f"{where}: duplicate partner id {pid!r}")
            continue
        try:
            parsed = phonenumbers.parse(phone, "IT")
            valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            errors.append(
                f"{where}: expected a valid phone number for partner {pid!r}, got an invalid one"
            )
            continue
        if not _EMAIL.fullmatch(email):
            errors.append(
                f"{where}: expected an e-mail address for partner {pid!r}, got a malformed one"
            )
            continue
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        found[pid] = Partner(pid, pname, e164, email)
    if errors:
        raise ConfigError(errors)
    return PartnerDirectory(found, name)


def load_partners(path: Path) -> PartnerDirectory:
    """Load a YAML or CSV partner directory, reporting every problem as ``file:line``."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [f"{name}:1: cannot read the partner directory: {type(exc).__name__}"]
        ) from exc
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or {"id", "name", "phone", "email"} - set(reader.fieldnames):
            raise ConfigError([f"{name}:1: expected a header with id,name,phone,email"])
        return _check(((reader.line_num, row) for row in reader), name)
    source = load_yaml(text, name)
    data = source.data
    if not isinstance(data, dict) or not isinstance(data.get("partners"), list):
        raise ConfigError([f"{name}:1: expected a mapping with a 'partners' list"])
    rows: list[tuple[int, Mapping[str, object]]] = []
    for i, item in enumerate(data["partners"]):
        if not isinstance(item, dict):
            raise ConfigError([f"{source.where(('partners', i))}: expected a mapping per partner"])
        rows.append((source.line_of(("partners", i)), item))
    return _check(rows, name)
