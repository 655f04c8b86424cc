"""JSON Patch Query: a filter followed by a pointer into the selected item."""

from __future__ import annotations

from proxy.formats.patch import parse_json_patch


def test_filter_ends_where_the_sub_path_begins() -> None:
    """``/note?id=77456/text`` is pointer ``/note``, filter ``id=77456``, sub-path ``/text``."""
    (op,) = parse_json_patch(
        [{"op": "replace", "path": "/note?id=77456/text", "value": "x"}], query=True
    )
    assert (op.path, op.query, op.subpath) == ("/note", "id=77456", "/text")
    assert op.target == "/note?id=77456/text"


def test_filter_without_sub_path_round_trips() -> None:
    """Without a sub-path the written form is unchanged."""
    (op,) = parse_json_patch([{"op": "remove", "path": "/note?id=1&author=x"}], query=True)
    assert (op.query, op.subpath, op.target) == ("id=1&author=x", "", "/note?id=1&author=x")
