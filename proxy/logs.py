"""structlog set-up with a processor that keeps personal data out of the logs.

Only keys on an allow-list reach the output. A key that is not on the list is dropped and its
name is reported under ``dropped``, so a developer who logs ``body=...`` or ``phone=...`` sees
the mistake in the output instead of leaking a value. Event names are snake_case past tense.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

#: Keys whose values never carry personal data: ids, names of routes and rules, numbers.
SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "request_id",
        "route",
        "direction",
        "method",
        "path",
        "status",
        "code",
        "reason",
        "latency_ms",
        "upstream_ms",
        "bytes_in",
        "bytes_out",
        "listener",
        "host",
        "port",
        "url",
        "tls",
        "mtls",
        "error",
        "error_type",
        "config",
        "count",
        "errors",
        "file",
        "key_id",
        "public_key",
        "storage",
        "origin",
        "size",
        "seconds",
        "signal",
        "version",
        "policy",
        "policy_hash",
        "rule",
        "action",
        "partner",
        "intent_id",
        "tree_size",
        "pid",
        "in_flight",
        "routes",
        "subscription_id",
        "kind",
        # Decoys (proxy.decoys): ids and classes, never a decoy, caller or partner contact.
        "contact_id",
        "decoy_id",
        "channel",
        "classification",
        "reloaded",
        "refused",
        "dropped",
    }
)


def drop_unsafe_keys(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Drop every key that is not known to be free of personal data; name what was dropped."""
    dropped = [k for k in event_dict if k not in SAFE_KEYS]
    for key in dropped:
        del event_dict[key]
    if dropped:
        event_dict["dropped"] = sorted(dropped)
    return event_dict


def configure(level: str = "info", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Configure structlog for the process (JSON lines by default)."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_unsafe_keys,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "civetta") -> Any:
    """A bound structlog logger."""
    return structlog.get_logger(name)
