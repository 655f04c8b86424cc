"""Configuration loading: the example is valid; every error is reported as file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.config import SOURCE_SCHEMAS, Direction, Protocol, load_config
from proxy.errors import ConfigError
from proxy.testing import REPO

VALID = """\
listeners:
  oss: {port: 18080}
  incumbent: {port: 18081}
  admin: {port: 18082}
routes:
  - name: a
    direction: outbound
    protocol: rest
    path_prefix: /tmf-api/x/
    upstream: http://127.0.0.1:9
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_example_config_is_valid() -> None:
    """config.example.yaml, which `make run` uses, loads with its routes in both directions."""
    cfg = load_config(REPO / "config.example.yaml")
    assert {r.direction for r in cfg.routes} == {Direction.OUTBOUND, Direction.INBOUND}
    assert any(r.protocol is Protocol.SOAP for r in cfg.routes)
    assert cfg.storage_url.startswith("sqlite:///") and cfg.storage_url.endswith("var/civetta.db")


def test_defaults_fill_a_minimal_config(tmp_path: Path) -> None:
    """Omitted keys take documented defaults: protected routes, all usual methods, sqlite."""
    cfg = load_config(write(tmp_path, VALID))
    (route,) = cfg.routes
    assert route.protected is True
    assert "POST" in route.methods and "PATCH" in route.methods
    assert cfg.storage_url == "sqlite:///" + str(tmp_path / "var/civetta.db")


def test_every_schema_error_is_listed_with_its_line(tmp_path: Path) -> None:
    """Two mistakes on different lines give two file:line messages, in line order."""
    text = VALID.replace("protocol: rest", "protocol: grpc").replace("port: 18082", "port: 99999")
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    errors = info.value.errors
    assert len(errors) == 2
    assert errors[0].startswith(f"{tmp_path / 'c.yaml'}:4: at listeners.admin.port")
    assert errors[1].startswith(f"{tmp_path / 'c.yaml'}:8: at routes[0].protocol: expected one of")


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    """A misspelt key is refused rather than ignored."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID + "    protectd: false\n"))
    assert "protectd" in info.value.errors[0]
    assert info.value.errors == [
        f"{tmp_path / 'c.yaml'}:11: at routes[0]: unexpected key 'protectd'"
    ]


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    """A duplicated key would silently drop a setting: it is an error with its line."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, VALID + "    path_prefix: /other/\n"))
    assert info.value.errors == [f"{tmp_path / 'c.yaml'}:11: duplicate key 'path_prefix'"]


def test_semantic_errors_are_collected(tmp_path: Path) -> None:
    """Duplicate names, clashing prefixes, missing TLS files and equal ports are all reported."""
    text = VALID.replace("port: 18081", "port: 18080") + (
        "  - name: a\n"
        "    direction: outbound\n"
        "    protocol: rest\n"
        "    path_prefix: /tmf-api/x/\n"
        "    upstream: https://127.0.0.1:9\n"
        "    tls: {ca_file: missing.pem}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    joined = "\n".join(info.value.errors)
    assert "distinct ports" in joined
    assert ":11: duplicate route name" in joined
    assert "expected a readable file" in joined
    assert "same prefix and methods as route 'a'" in joined


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    """A syntax error names the line where the parser stopped."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "listeners:\n  oss: [1, 2\n"))
    assert info.value.errors[0].startswith(f"{tmp_path / 'c.yaml'}:3: invalid YAML")


def test_route_prefix_matches_on_segment_boundary(tmp_path: Path) -> None:
    """A prefix without a trailing slash matches itself and sub-paths, not longer names."""
    cfg = load_config(write(tmp_path, VALID.replace("/tmf-api/x/", "/ws/order")))
    (route,) = cfg.routes
    assert route.matches_path("/ws/order")
    assert route.matches_path("/ws/order/x")
    assert not route.matches_path("/ws/orders")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", None),  # the repository's schemas/, which an installed package does not have
        ("sandbox: {schemas_dir: sb}\n", "sb"),  # where `policy check` has always looked
        ("sandbox: {schemas_dir: sb}\nminimisation: {schemas_dir: ifaces}\n", "ifaces"),
        ("minimisation: {schemas_dir: /srv/civetta/schemas}\n", "/srv/civetta/schemas"),
    ],
)
def test_the_schemas_directory_of_the_cross_check(
    tmp_path: Path, extra: str, expected: str | None
) -> None:
    """``minimisation.schemas_dir``, else ``sandbox.schemas_dir``, relative to the file; the
    cross-check is on unless switched off in so many words."""
    cfg = load_config(write(tmp_path, VALID + extra))
    want = SOURCE_SCHEMAS if expected is None else tmp_path / expected
    assert cfg.minimisation.schemas_dir == want
    assert SOURCE_SCHEMAS == REPO / "schemas"
    assert cfg.minimisation.crosscheck is True
    off = load_config(write(tmp_path, VALID + "minimisation: {crosscheck: false}\n"))
    assert off.minimisation.crosscheck is False


def test_the_example_names_the_schemas_and_keeps_the_cross_check_on() -> None:
    """config.example.yaml says where the schemas are rather than relying on a default."""
    cfg = load_config(REPO / "config.example.yaml")
    assert cfg.minimisation.schemas_dir == REPO / "schemas" == cfg.sandbox.schemas_dir
    assert cfg.minimisation.crosscheck is True
    text = (REPO / "config.example.yaml").read_text(encoding="utf-8")
    assert "\n  schemas_dir: schemas" in text.split("\nminimisation:", 1)[1].split("\n\n")[0]
