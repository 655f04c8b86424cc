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


class _Logger:
    """structlog's lazy logger, assembled once per configuration instead of once per event.

    ``structlog.get_logger`` returns a proxy that assembles a new bound logger (context, output
    logger, filtering wrapper) for every event it logs: most of the cost of the one line each
    request writes, and all of it when the level filters the line out. This keeps the assembled
    logger while structlog's configuration is the one it was assembled under (the processors,
    wrapper, logger factory and context class, compared by identity), so :func:`configure` and
    ``structlog.testing.capture_logs`` still take effect from the next event on.
    """

    __slots__ = ("_bound", "_key", "_lazy")

    def __init__(self, name: str) -> None:
        self._lazy: Any = structlog.get_logger(name)
        self._key: tuple[Any, ...] = ()
        self._bound: Any = None

    def _current(self) -> Any:
        config = structlog.get_config()
        key = (
            config["processors"],
            config["wrapper_class"],
            config["logger_factory"],
            config["context_class"],
        )
        old = self._key
        if (
            not old
            or key[0] is not old[0]
            or key[1] is not old[1]
            or key[2] is not old[2]
            or key[3] is not old[3]
        ):
            self._bound, self._key = self._lazy.bind(), key
        return self._bound

    # The levels the proxy logs at, spelled out: ``__getattr__`` is only reached after a
    # failed normal look-up, which costs more than the call it forwards.
    def debug(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at debug level."""
        return self._current().debug(event, **kw)

    def info(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at info level."""
        return self._current().info(event, **kw)

    def warning(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at warning level."""
        return self._current().warning(event, **kw)

    def error(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at error level."""
        return self._current().error(event, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current(), name)


def get_logger(name: str = "civetta") -> Any:
    """A structlog logger (``info``, ``warning``, ``bind`` …) that follows the configuration."""
    return _Logger(name)
