"""Key files are generated 0600, reused, and refused when readable by others."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from proxy.errors import ConfigError
from proxy.keys import SECRET_KEY, SIGNING_KEY, load_keys


def test_keys_are_generated_once_with_private_permissions(tmp_path: Path) -> None:
    """First load creates both files 0600 in a 0700 directory; the second reuses them."""
    first = load_keys(tmp_path / "keys", generate=True)
    assert set(first.generated) == {SIGNING_KEY, SECRET_KEY}
    for name in (SIGNING_KEY, SECRET_KEY):
        assert stat.S_IMODE((tmp_path / "keys" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    second = load_keys(tmp_path / "keys", generate=True)
    assert second.generated == ()
    assert second.public_key_raw() == first.public_key_raw()
    assert second.derive("commit") == first.derive("commit") != first.derive("vault")


def test_missing_keys_without_generation_is_an_error(tmp_path: Path) -> None:
    """With generation off, a missing key is a configuration error naming the command to run."""
    with pytest.raises(ConfigError, match="civetta keys generate"):
        load_keys(tmp_path, generate=False)


def test_world_readable_key_is_refused(tmp_path: Path) -> None:
    """A key file others can read is refused, like ssh refuses one."""
    load_keys(tmp_path, generate=True)
    os.chmod(tmp_path / SIGNING_KEY, 0o644)
    with pytest.raises(ConfigError, match="expected permissions 0600, got 0644"):
        load_keys(tmp_path, generate=True)
