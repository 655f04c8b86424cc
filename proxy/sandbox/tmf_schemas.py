"""The TMF JSON Schemas of ``schemas/tmf/``, compiled once, validating by ``$defs`` name."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from proxy.sandbox.tmf_http import json_type
from proxy.sandbox.tmf_model import TmfProblem


class SchemaBook:
    """Every ``*.schema.json`` of a directory, keyed by file stem (``tmf622-v4`` ...)."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        registry: Registry[Any] = Registry()
        for document in documents.values():
            registry = registry.with_resource(document["$id"], Resource.from_contents(document))
        self._documents = documents
        self._registry = registry
        self._validators: dict[tuple[str, str], Draft202012Validator] = {}

    @classmethod
    def load(cls, directory: Path) -> SchemaBook:
        """Read and check every schema file in ``directory``.

        Checking against the metaschema takes most of a second, so a book is shared by every
        app of the process that loads the same, unchanged files (books are never edited, only
        their compiled validators cached).
        """
        paths = sorted(directory.resolve().glob("*.schema.json"))
        return _load(tuple((str(path), path.stat().st_mtime_ns) for path in paths))

    def definitions(self, key: str) -> dict[str, Any]:
        """The ``$defs`` of one schema file."""
        defs: dict[str, Any] = self._documents[key]["$defs"]
        return defs

    def _validator(self, key: str, definition: str) -> Draft202012Validator:
        cached = self._validators.get((key, definition))
        if cached is None:
            if definition not in self.definitions(key):
                raise KeyError(f"{key} has no $defs/{definition}")
            root = self._documents[key]["$id"]
            cached = Draft202012Validator(
                {"$ref": f"{root}#/$defs/{definition}"}, registry=self._registry
            )
            self._validators[(key, definition)] = cached
        return cached

    def problems(self, key: str, definition: str, instance: Any) -> list[str]:
        """Every violation of ``$defs/definition`` by ``instance``, described without values."""
        errors = self._validator(key, definition).iter_errors(instance)
        return sorted(describe(error) for error in errors)

    def check(self, key: str, definition: str, instance: Any) -> None:
        """Raise a 400 ``TmfProblem`` naming the JSON path of the most relevant violation."""
        error = best_match(self._validator(key, definition).iter_errors(instance))
        if error is not None:
            raise TmfProblem(400, "SBX-INVALID", "Invalid body", describe(error))


@functools.cache
def _load(files: tuple[tuple[str, int], ...]) -> SchemaBook:
    documents: dict[str, dict[str, Any]] = {}
    for name, _ in files:
        path = Path(name)
        document = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(document)
        documents[path.name.removesuffix(".schema.json")] = document
    return SchemaBook(documents)


def describe(error: ValidationError) -> str:
    """Say what is wrong and where, never echoing the offending value (it may be personal)."""
    path = error.json_path
    keyword = str(error.validator)
    expected: Any = error.validator_value
    if keyword == "required" and isinstance(expected, list):
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [name for name in expected if name not in present]
        return f"missing required property {missing[0]!r} at {path}"
    if keyword == "type":
        return f"expected {expected} at {path}, got {json_type(error.instance)}"
    if keyword == "enum" and isinstance(expected, list):
        return f"expected one of {', '.join(map(str, expected))} at {path}"
    if keyword == "const":
        return f"expected {expected} at {path}"
    if keyword == "minItems":
        count = len(error.instance) if isinstance(error.instance, list) else 0
        return f"expected at least {expected} item(s) at {path}, got {count}"
    return f"expected {keyword} {json.dumps(expected, default=str)[:80]} to hold at {path}"


TMF_SCHEMAS = web.AppKey("sandbox_tmf_schemas", SchemaBook)
