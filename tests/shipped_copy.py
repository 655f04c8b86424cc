"""Copies of the shipped policies that tests edit, and test configurations on them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from proxy.config import Config, MinimisationConfig
from proxy.testing import REPO, config

#: The partner directory the shipped policies name their partners in.
PARTNERS = REPO / "policies" / "partners.yaml"


def copy_shipped(root: Path) -> Path:
    """``root/policies``: a copy of the shipped policies and partner directory."""
    target = root / "policies"
    shutil.copytree(REPO / "policies", target)
    return target


def misspell(path: Path, good: str, bad: str) -> str:
    """Replace the first ``good`` in the policy file by ``bad``; the ``file:line: `` prefix of
    the errors about it, which name the line of its rule (the last ``- id:`` before it)."""
    text = path.read_text(encoding="utf-8")
    before = text[: text.index(good)]
    line = before[: before.rindex("- id: ")].count("\n") + 1
    path.write_text(text.replace(good, bad, 1), encoding="utf-8")
    return f"{path}:{line}: "


def shipped_config(tmp_path: Path, policies: Path, **minimisation: Any) -> Config:
    """The test configuration (keys under ``tmp_path``) on ``policies`` and the shipped partner
    directory, cross-checked against the repository's schemas unless ``minimisation`` says
    otherwise."""
    return config(tmp_path, [], minimisation=MinimisationConfig(policies, PARTNERS, **minimisation))
