"""The log processor keeps personal data out of the logs."""

from __future__ import annotations

import io
import json

from structlog.testing import capture_logs

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


def test_a_logger_follows_reconfiguration() -> None:
    """A logger made before configure() (or used before another configure()) writes where and
    at the level the latest configuration says, and capture_logs still sees its events."""
    first, second = io.StringIO(), io.StringIO()
    log = get_logger("civetta.test")
    configure("info", "json", first)
    log.debug("policy_reloaded", count=0)  # below the level
    log.info("policy_reloaded", count=1)
    configure("warning", "json", second)
    log.info("policy_reloaded", count=2)  # filtered out now
    log.warning("audit_disabled")
    with capture_logs() as captured:
        log.warning("policy_reload_refused", count=3)
    log.error("audit_batch_failed", count=4)
    assert [json.loads(x)["count"] for x in first.getvalue().splitlines()] == [1]
    events = [json.loads(x)["event"] for x in second.getvalue().splitlines()]
    assert events == ["audit_disabled", "audit_batch_failed"]
    assert captured == [{"event": "policy_reload_refused", "count": 3, "log_level": "warning"}]
