"""YAML documents that remember where each value came from.

Configuration and policy files are validated with every error reported as
``file:line: message``. :func:`load_yaml` parses with PyYAML's safe loader, rejects duplicate
keys (a duplicated key silently dropping a rule is how personal data slips through), and keeps
the line of every mapping key and sequence item so that later checks can point at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from proxy.errors import ConfigError

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """A parsed YAML document plus the line of every node in it."""

    name: str
    data: Any
    lines: Mapping[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: Iterable[str | int]) -> int:
        """Line (1-based) of ``path``, or of its closest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def where(self, path: Iterable[str | int]) -> str:
        """``file:line`` for ``path``."""
        return f"{self.name}:{self.line_of(path)}"


def _walk(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], errors: list[str], name: str
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _walk(key_node, (*path, "<key>"), {}, errors, name)
            if not isinstance(key, (str, int)):
                errors.append(
                    f"{name}:{key_node.start_mark.line + 1}: expected a string key, got {type(key).__name__}"
                )
                continue
            if key in out:
                errors.append(f"{name}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
                continue
            out[key] = _walk(value_node, (*path, key), lines, errors, name)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines, errors, name) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return yaml.SafeLoader("").construct_object(node, deep=True)


def load_yaml(text: str, name: str) -> Source:
    """Parse one YAML document; raise :class:`ConfigError` listing every problem found."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError([f"{name}:{line}: invalid YAML: {exc.problem or exc.context}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}:1: invalid YAML: {type(exc).__name__}"]) from exc
    if node is None:
        return Source(name, None, {(): 1})
    lines: dict[PathKey, int] = {}
    errors: list[str] = []
    data = _walk(node, (), lines, errors, name)
    if errors:
        raise ConfigError(errors)
    return Source(name, data, lines)


def load_yaml_file(path: Path, display: str | None = None) -> Source:
    """Read and parse ``path``; unreadable files become a :class:`ConfigError`."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [
                f"{name}:1: cannot read: {type(exc).__name__}: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8'}"
            ]
        ) from exc
    return load_yaml(text, name)


def _describe(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def schema_errors(source: Source, schema: Mapping[str, Any]) -> list[str]:
    """Every JSON Schema violation of ``source.data`` as ``file:line: at PATH: message``."""
    validator = jsonschema.Draft202012Validator(schema)
    found = sorted(
        validator.iter_errors(source.data),
        key=lambda e: (source.line_of(e.absolute_path), list(map(str, e.absolute_path))),
    )
    out: list[str] = []
    for err in found:
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            # Point at the misspelt key itself, not at the mapping that holds it.
            known = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
            for extra in (k for k in err.instance if k not in known):
                at = [*path, extra]
                out.append(f"{source.where(at)}: at {_describe(path)}: unexpected key {extra!r}")
            continue
        out.append(f"{source.where(path)}: at {_describe(path)}: {_message(err)}")
    return out


def _message(err: jsonschema.ValidationError) -> str:
    """A message that names the expectation; the offending value is config text, shown briefly."""
    if err.validator == "enum" and isinstance(err.validator_value, list):
        return f"expected one of {', '.join(map(repr, err.validator_value))}"
    if err.validator == "type":
        return f"expected {err.validator_value}, got {type(err.instance).__name__}"
    return str(err.message)
