"""The policies of a configuration loaded with every problem: files, partners, cross-check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from proxy.checked_policies import load_checked
from proxy.config import Config, MinimisationConfig
from proxy.testing import SCHEMAS, config
from tests.shipped_copy import copy_shipped

GOOD = "select: $..note[*].text\n"


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A copy of the shipped policies and partner directory."""
    return copy_shipped(tmp_path)


def configured(tmp_path: Path, policies: Path, **minimisation: Any) -> Config:
    """The test configuration on ``policies`` with their own partner directory."""
    settings = MinimisationConfig(policies, policies / "partners.yaml", **minimisation)
    return config(tmp_path, [], minimisation=settings)


def test_shipped_policies_load_checked_without_problems(tmp_path: Path, policies: Path) -> None:
    """What ``serve`` starts with: every policy, the partners, no error."""
    checked = load_checked(configured(tmp_path, policies, schemas_dir=SCHEMAS))
    assert checked.errors == ()
    assert checked.policies is not None and len(checked.policies.policies) == 12
    assert checked.partners is not None and len(checked.partners) == 2


def test_partner_and_cross_check_problems_are_listed_together(
    tmp_path: Path, policies: Path
) -> None:
    """One pass shows the operator everything: the partner file's error and the typo's."""
    partners = policies / "partners.yaml"
    partners.write_text(partners.read_text().replace('"+39 02 3659 8800"', '"12"'))
    policy = policies / "tmf621-trouble-ticket.yaml"
    policy.write_text(policy.read_text().replace(GOOD, GOOD.replace("text", "txt"), 1))
    checked = load_checked(configured(tmp_path, policies))
    assert checked.partners is None and checked.policies is not None
    first, second = checked.errors
    assert first.startswith(f"{partners}:") and "valid phone number" in first
    assert second.startswith(f"{policy}:") and second.endswith("got 'txt'")


def test_a_policy_file_that_does_not_load_is_not_cross_checked(
    tmp_path: Path, policies: Path
) -> None:
    """The load error is what is reported; there are no policies to check."""
    (policies / "broken.yaml").write_text("name: broken\nmatch: {method: POST, path: /x}\n")
    checked = load_checked(configured(tmp_path, policies))
    assert checked.policies is None
    (error,) = checked.errors
    assert error.startswith(f"{policies / 'broken.yaml'}:1: ")


def test_without_the_cross_check_no_schemas_are_needed(tmp_path: Path, policies: Path) -> None:
    """Off by configuration or for a command that does not check: the directory is not read."""
    gone = tmp_path / "gone"
    policy = policies / "tmf621-trouble-ticket.yaml"
    policy.write_text(policy.read_text().replace(GOOD, GOOD.replace("text", "txt"), 1))
    off = configured(tmp_path, policies, schemas_dir=gone, crosscheck=False)
    assert load_checked(off).errors == ()
    on = configured(tmp_path, policies, schemas_dir=gone)
    assert load_checked(on, crosscheck=False).errors == ()
    (missing,) = load_checked(on).errors
    assert missing.startswith("<test>: minimisation.schemas_dir: expected a directory")
    (typo,) = load_checked(off, SCHEMAS, crosscheck=True).errors
    assert typo.startswith(f"{policy}:") and typo.endswith("got 'txt'")
