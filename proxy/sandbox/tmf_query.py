"""TMF list queries, as pure functions: attribute filters, ``fields``, ``offset``/``limit``.

Filters follow the TMF630 basics: ``?state=acknowledged`` keeps resources whose attribute equals
the value; a dotted name descends into objects and arrays (``?relatedParty.name=Mario Rossi``
matches if any related party has that name); a comma separates alternatives
(``?state=held,inProgress``); several parameters must all match. Operators such as
``creationDate.gt`` are not supported: they are read as paths and match nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from proxy.sandbox.tmf_model import JsonObject, TmfProblem

#: Query parameters that are not attribute filters.
RESERVED = frozenset({"fields", "offset", "limit", "sort", "before", "after", "filter"})
#: Attributes every projection keeps, so that a client can still follow the resource.
ALWAYS = ("id", "href", "@type")


def scalar_text(value: Any) -> str | None:
    """A JSON scalar as it would be written in a query string; ``None`` for objects/arrays."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return json.dumps(value)
    return None


def values_at(document: Any, path: Sequence[str]) -> Iterator[Any]:
    """Every value at the dotted ``path``, descending through arrays on the way and at the end."""
    if isinstance(document, list):
        for element in document:
            yield from values_at(element, path)
        return
    if not path:
        yield document
        return
    if isinstance(document, dict) and path[0] in document:
        yield from values_at(document[path[0]], path[1:])


def matches(document: Any, name: str, expected: str) -> bool:
    """Whether any value at the dotted attribute ``name`` equals one of ``expected``'s items."""
    alternatives = {item.strip() for item in expected.split(",")}
    return any(scalar_text(v) in alternatives for v in values_at(document, name.split(".")))


def select(resources: Iterable[JsonObject], filters: Iterable[tuple[str, str]]) -> list[JsonObject]:
    """The resources matching every ``(attribute, value)`` filter; reserved names are skipped."""
    wanted = [(name, value) for name, value in filters if name not in RESERVED]
    return [r for r in resources if all(matches(r, name, value) for name, value in wanted)]


def project(resource: JsonObject, fields: str | None) -> JsonObject:
    """The first-level attributes named in ``fields`` (plus id, href, @type); all if ``None``."""
    if fields is None or not fields.strip():
        return resource
    names = {name.strip() for name in fields.split(",")} | set(ALWAYS)
    return {key: value for key, value in resource.items() if key in names}


def non_negative(raw: str | None, name: str) -> int | None:
    """The integer query parameter ``name``, or ``None`` if absent; 400 if malformed."""
    if raw is None:
        return None
    try:
        number = int(raw)
    except ValueError:
        number = -1
    if number < 0:
        raise TmfProblem(
            400, "SBX-BAD-QUERY", "Bad Request", f"expected a non-negative integer for {name}"
        )
    return number


def page(items: Sequence[JsonObject], offset: int | None, limit: int | None) -> list[JsonObject]:
    """The slice ``[offset, offset + limit)`` of ``items``."""
    start = offset or 0
    stop = None if limit is None else start + limit
    return list(items[start:stop])
