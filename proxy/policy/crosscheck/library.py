"""The interface schemas on disk, and where a policy's selectors start in them.

:class:`SchemaLibrary` reads the JSON Schemas and XSD files under one directory (``schemas/``),
each once while it is unchanged, XSD with the hardened parser; a name that leaves the directory
is refused. :func:`shared_library` keeps one per directory for the life of the process, so that
a proxy checking its policies at every start and reload, or a test suite starting many, reads
and walks the schemas once.
:func:`policy_roots` resolves a policy's ``schema:`` references (``file#/$defs/Name``,
``file.xsd#element``) against it, reporting each one that does not resolve at its line.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from proxy.errors import CivettaError
from proxy.formats.soap import parse_xml
from proxy.policy.crosscheck.json_schema import JNode, JsonFile
from proxy.policy.crosscheck.xsd import XS, XNode, Xsd, XsdFile, clark_name
from proxy.policy.model import Policy


class SchemaError(CivettaError):
    """A schema named by a policy cannot be read or does not have the named entry."""


#: What says a file is the one read before: a rewrite changes its mtime and ctime, a
#: replacement (``mv new old``) its inode.
Stamp = tuple[int, int, int, int]
F = TypeVar("F", JsonFile, XsdFile)


class SchemaLibrary:
    """The interface schemas under one directory (``schemas/``), each file read once while it
    is unchanged (a changed file is read again, with fresh memos); one thread at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._json: dict[str, tuple[Stamp, JsonFile]] = {}
        self._xsd: dict[str, tuple[Stamp, XsdFile]] = {}

    def _path(self, name: str) -> tuple[Path, Stamp]:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):
            raise SchemaError(f"expected a schema inside {self.root}, got {name!r} outside it")
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            raise SchemaError(f"expected a schema file {name!r} under {self.root}, got none")
        return path, (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def json_file(self, name: str) -> JsonFile:
        """A JSON Schema file by its name under the root."""
        return self._read(self._json, name, _read_json)

    def xsd_file(self, name: str) -> XsdFile:
        """An XSD file by its name under the root, parsed with the hardened parser."""
        return self._read(self._xsd, name, _read_xsd)

    def _read(
        self, cache: dict[str, tuple[Stamp, F]], name: str, read: Callable[[str, Path], F]
    ) -> F:
        path, stamp = self._path(name)
        known = cache.get(name)
        if known is not None and known[0] == stamp:
            return known[1]
        file = read(name, path)
        cache[name] = (stamp, file)
        return file


def _read_json(name: str, path: Path) -> JsonFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"expected a JSON Schema in {name!r}, got {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise SchemaError(f"expected a JSON Schema object in {name!r}, got another value")
    return JsonFile(name, data)


def _read_xsd(name: str, path: Path) -> XsdFile:
    try:
        tree = parse_xml(path.read_bytes())
    except OSError as exc:
        raise SchemaError(f"expected an XML Schema in {name!r}, got {type(exc).__name__}") from exc
    except CivettaError as exc:
        raise SchemaError(f"expected an XML Schema in {name!r}: {exc.message}") from exc
    if tree.getroot().tag != XS + "schema":
        raise SchemaError(f"expected an xs:schema root in {name!r}, got another element")
    return XsdFile(name, tree)


_SHARED: dict[Path, SchemaLibrary] = {}


def shared_library(root: Path) -> SchemaLibrary:
    """The process's library for ``root``: parsed files and the walks memoised on them serve
    every check, and a file changed on disk is read again."""
    key = root.resolve()
    library = _SHARED.get(key)
    if library is None:
        library = _SHARED[key] = SchemaLibrary(key)
    return library


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
