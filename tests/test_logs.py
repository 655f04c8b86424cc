"""The log processor keeps personal data out of the logs."""

from __future__ import annotations

import io
import json

from proxy.logs import configure, drop_unsafe_keys, get_logger


def test_unknown_keys_are_dropped_and_named() -> None:
    """A key not on the allow-list is removed; its name (not its value) is reported."""
    out = drop_unsafe_keys(
        None, "info", {"event": "x", "route": "r", "phone": "+393471234567", "body": "b"}
    )
    assert out == {"event": "x", "route": "r", "dropped": ["body", "phone"]}


def test_rendered_line_never_contains_the_value() -> None:
    """End to end through structlog: the value of an unsafe key never reaches the stream."""
    stream = io.StringIO()
    configure("info", "json", stream)
    get_logger().info("request_completed", route="r", query_string="name=Mario+Rossi", status=200)
    line = json.loads(stream.getvalue())
    assert line["status"] == 200 and line["event"] == "request_completed"
    assert "Mario" not in stream.getvalue()
    assert line["dropped"] == ["query_string"]
