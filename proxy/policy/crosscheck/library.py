"""The interface schemas on disk, and where a policy's selectors start in them.

:class:`SchemaLibrary` reads the JSON Schemas and XSD files under one directory (``schemas/``),
each once, XSD with the hardened parser; a name that leaves the directory is refused.
:func:`policy_roots` resolves a policy's ``schema:`` references (``file#/$defs/Name``,
``file.xsd#element``) against it, reporting each one that does not resolve at its line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from proxy.errors import CivettaError
from proxy.formats.soap import parse_xml
from proxy.policy.crosscheck.json_schema import JNode, JsonFile
from proxy.policy.crosscheck.xsd import XS, XNode, Xsd, XsdFile, clark_name
from proxy.policy.model import Policy


class SchemaError(CivettaError):
    """A schema named by a policy cannot be read or does not have the named entry."""


class SchemaLibrary:
    """The interface schemas under one directory (``schemas/``), each file read once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._json: dict[str, JsonFile] = {}
        self._xsd: dict[str, XsdFile] = {}

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):
            raise SchemaError(f"expected a schema inside {self.root}, got {name!r} outside it")
        if not path.is_file():
            raise SchemaError(f"expected a schema file {name!r} under {self.root}, got none")
        return path

    def json_file(self, name: str) -> JsonFile:
        """A JSON Schema file by its name under the root."""
        if name not in self._json:
            try:
                data = json.loads(self._path(name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SchemaError(
                    f"expected a JSON Schema in {name!r}, got {type(exc).__name__}"
                ) from exc
            if not isinstance(data, dict):
                raise SchemaError(f"expected a JSON Schema object in {name!r}, got another value")
            self._json[name] = JsonFile(name, data)
        return self._json[name]

    def xsd_file(self, name: str) -> XsdFile:
        """An XSD file by its name under the root, parsed with the hardened parser."""
        if name not in self._xsd:
            try:
                tree = parse_xml(self._path(name).read_bytes())
            except OSError as exc:
                raise SchemaError(
                    f"expected an XML Schema in {name!r}, got {type(exc).__name__}"
                ) from exc
            except CivettaError as exc:
                raise SchemaError(f"expected an XML Schema in {name!r}: {exc.message}") from exc
            if tree.getroot().tag != XS + "schema":
                raise SchemaError(f"expected an xs:schema root in {name!r}, got another element")
            self._xsd[name] = XsdFile(name, tree)
        return self._xsd[name]


@dataclass(slots=True)
class Roots:
    """Where a policy's selectors start, per family."""

    json: list[JNode]
    xsd: Xsd | None
    elements: list[XNode]
    #: Every global element of the XSD files (what responses may carry).
    everything: list[XNode]
    errors: list[str]


def policy_roots(policy: Policy, library: SchemaLibrary) -> Roots:
    """Where the policy's selectors start; an error per ``schema:`` entry that does not resolve."""
    out = Roots([], None, [], [], [])
    files: dict[str, XsdFile] = {}
    for ref in policy.schemas:
        try:
            if ref.file.endswith(".xsd"):
                files[ref.file] = library.xsd_file(ref.file)
            else:
                file = library.json_file(ref.file)
                node = file.pointer(ref.fragment or "")
                if not isinstance(node, dict):
                    raise SchemaError(f"expected {ref.ref!r} to name a schema, got nothing there")
                out.json.append(JNode(file, node))
        except SchemaError as exc:
            out.errors.append(f"{policy.file}:{ref.line}: at schema: {exc.message}")
    if files:
        out.xsd = Xsd(list(files.values()))
        out.everything = list(out.xsd.globals.values())
        for ref in policy.schemas:
            xsd = files.get(ref.file)
            if xsd is None:
                continue
            if ref.fragment is None:
                out.elements.extend(n for n in out.everything if n.xsd is xsd)
                continue
            found = out.xsd.globals.get(clark_name(xsd.tns, ref.fragment))
            if found is None:
                out.errors.append(
                    f"{policy.file}:{ref.line}: at schema: expected a global element "
                    f"{ref.fragment!r} in {ref.file!r}, got none"
                )
            else:
                out.elements.append(found)
    return out
