"""PATCH bodies applied to a resource, as pure functions.

Three kinds, chosen by ``Content-Type``:

- ``application/merge-patch+json`` (RFC 7396), and plain ``application/json``, which TMF
  treats as a merge patch;
- ``application/json-patch+json`` (RFC 6902), applied with the ``jsonpatch`` package;
- ``application/json-patch-query+json`` (TMF v5): RFC 6902 whose paths may select array
  elements by attribute, e.g. ``/note?id=77456/text``; each selection is expanded to the
  plain pointers of the matching elements before applying.

Every operation is applied to a copy; an error names the operation's index and path, never a
value (a failed ``test`` would otherwise echo the document).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from proxy.sandbox.tmf_http import JSON, JSON_PATCH, JSON_PATCH_QUERY, MERGE_PATCH, json_type
from proxy.sandbox.tmf_model import JsonObject, TmfProblem
from proxy.sandbox.tmf_query import scalar_text


def _problem(message: str) -> TmfProblem:
    return TmfProblem(400, "SBX-BAD-PATCH", "Bad Request", message)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _operations(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise _problem(f"expected an array of operations at $, got {json_type(body)}")
    for index, op in enumerate(body):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            raise _problem(f"expected an object with a string op at $[{index}]")
        if not isinstance(op.get("path"), str):
            raise _problem(f"expected a string path at $[{index}].path")
    return body


def apply_json_patch(document: JsonObject, body: Any) -> JsonObject:
    """RFC 6902, atomically: the document is untouched if any operation fails."""
    result: Any = copy.deepcopy(document)
    for index, op in enumerate(_operations(body)):
        try:
            result = jsonpatch.apply_patch(result, [op], in_place=False)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise _problem(
                f"operation $[{index}] ({op['op']} {op['path']}) cannot be applied: "
                f"{type(exc).__name__}"
            ) from exc
    if not isinstance(result, dict):
        raise _problem(f"expected the patched resource to be an object, got {json_type(result)}")
    return result


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def expand_query_path(document: Any, path: str) -> list[str]:
    """Plain JSON pointers for a TMF query path; the last index first, so removals stay valid."""
    pointers = [("", document)]
    for raw in path.split("/")[1:]:
        name, _, condition = raw.partition("?")
        step: list[tuple[str, Any]] = []
        for pointer, node in pointers:
            child = node.get(_unescape(name)) if isinstance(node, dict) else None
            here = f"{pointer}/{_escape(_unescape(name))}"
            if not condition:
                step.append((here, child))
                continue
            attribute, _, wanted = condition.partition("=")
            if not isinstance(child, list):
                continue
            for index, element in enumerate(child):
                if isinstance(element, dict) and scalar_text(element.get(attribute)) == wanted:
                    step.append((f"{here}/{index}", element))
        pointers = step
    return sorted((pointer for pointer, _ in pointers), reverse=True)


def apply_json_patch_query(document: JsonObject, body: Any) -> JsonObject:
    """TMF json-patch-query: expand each selecting path, then apply as RFC 6902."""
    expanded: list[dict[str, Any]] = []
    for index, op in enumerate(_operations(body)):
        if "?" not in op["path"]:
            expanded.append(op)
            continue
        pointers = expand_query_path(document, op["path"])
        if not pointers:
            raise _problem(f"operation $[{index}] ({op['op']} {op['path']}) selects nothing")
        expanded.extend({**op, "path": pointer} for pointer in pointers)
    return apply_json_patch(document, expanded)


def apply_patch(media_type: str, document: JsonObject, body: Any) -> JsonObject:
    """Apply ``body`` of the given media type to ``document``; a 400 if it cannot be applied."""
    if media_type in (MERGE_PATCH, JSON):
        if not isinstance(body, dict):
            raise _problem(f"expected a merge patch object at $, got {json_type(body)}")
        patched: JsonObject = merge_patch(document, body)
        return patched
    if media_type == JSON_PATCH:
        return apply_json_patch(document, body)
    if media_type == JSON_PATCH_QUERY:
        return apply_json_patch_query(document, body)
    raise ValueError(media_type)
