"""The meaning of the leaves: common fields, intent/outcome pairing, duplicates, erasures.

Fed one parsed leaf at a time, in index order; keeps only the open intents and the intent ids
seen (a few dozen bytes each), so a million leaves fit in memory. Leaf fields are those of
:mod:`proxy.audit.leaves`. Messages name entries, types and fields, never a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from proxy.audit.leaves import LEAF_TYPES, SCHEMA_VERSION
from proxy.audit.verify_report import Failure, FailureClass

_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z", re.ASCII)
_CLOSING = ("outcome", "recovery")


def parse_time(text: str) -> datetime:
    """Parse a leaf ``time`` (RFC 3339 UTC with microseconds, as leaves write it)."""
    if not _TIME.fullmatch(text):
        raise ValueError("expected RFC 3339 UTC time with microseconds, got another form")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OpenIntent:
    """An intent still waiting for its outcome."""

    index: int
    #: RFC 3339 in one fixed form: string order is time order, so parsing waits for the end.
    time: str


def _fail(check: str, index: int, message: str, intent_id: str | None = None) -> Failure:
    return Failure(FailureClass.SEMANTICS, check, message, index, None, intent_id)


class Semantics:
    """Checks leaves in order; ``feed`` and ``finish`` yield failures."""

    def __init__(self, *, incremental: bool, grace_s: float) -> None:
        self._incremental = incremental
        self._grace_s = grace_s
        self._open: dict[str, OpenIntent] = {}
        self._closed: set[str] = set()
        self._latest = ""
        self.erased: set[str] = set()
        #: Leaves per type.
        self.counts: dict[str, int] = {}
        #: Intents without outcome but within the grace period (set by ``finish``).
        self.pending = 0
        #: Outcomes (incremental runs only) whose intent lies before the starting size.
        self.earlier_intents = 0

    def feed(self, index: int, leaf: object) -> list[Failure]:
        """Check one parsed leaf; return what is wrong with it (usually nothing)."""
        return list(self._feed(index, leaf))

    def _feed(self, index: int, leaf: object) -> Iterator[Failure]:
        if not isinstance(leaf, dict):
            yield _fail("leaf_schema", index, "expected a JSON object, got another value")
            return
        kind = leaf.get("type")
        if kind not in LEAF_TYPES or not isinstance(kind, str):
            yield _fail("leaf_schema", index, "expected a known leaf type, got another")
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        intent_id = leaf.get("intent_id")
        iid = intent_id if isinstance(intent_id, str) else None
        problem = _common(leaf)
        if problem is not None:
            yield _fail("leaf_schema", index, f"expected {problem} in a {kind} leaf", iid)
            return
        moment = leaf["time"]
        self._latest = max(self._latest, moment)
        if kind == "log_init" and index != 0:
            yield _fail("log_init", index, "expected log_init only at entry 0, got a second one")
        elif index == 0 and kind != "log_init":
            yield _fail("log_init", index, f"expected log_init at entry 0, got {kind}")
        if kind == "intent" or kind in _CLOSING:
            if iid is None:
                yield _fail("leaf_schema", index, f"expected an intent_id string in a {kind} leaf")
                return
            yield from (
                self._intent(index, iid, moment) if kind == "intent" else self._close(index, leaf)
            )
        elif kind == "erasure" and isinstance(leaf.get("period"), str):
            self.erased.add(leaf["period"])

    def _intent(self, index: int, iid: str, moment: str) -> Iterator[Failure]:
        if iid in self._open or iid in self._closed:
            first = self._open[iid].index if iid in self._open else None
            where = f" (first at entry {first})" if first is not None else ""
            yield _fail(
                "duplicate_intent", index, f"expected a new intent id, got a repeat{where}", iid
            )
            return
        self._open[iid] = OpenIntent(index, moment)

    def _close(self, index: int, leaf: Mapping[str, object]) -> Iterator[Failure]:
        iid = str(leaf["intent_id"])
        kind = leaf["type"]
        opened = self._open.pop(iid, None)
        if opened is None:
            if iid in self._closed:
                yield _fail(
                    "duplicate_outcome", index, f"expected one outcome, got a second {kind}", iid
                )
            elif self._incremental:
                self.earlier_intents += 1
                self._closed.add(iid)
            else:
                yield _fail(
                    "orphan_outcome", index, f"expected an earlier intent for this {kind}", iid
                )
            return
        self._closed.add(iid)
        if kind == "recovery" and leaf.get("intent_index") != opened.index:
            yield _fail(
                "recovery_index",
                index,
                f"expected intent_index {opened.index} in the recovery, got another",
                iid,
            )

    def finish(self) -> Iterator[Failure]:
        """Yield the intents left without outcome, except those within the grace period."""
        latest = parse_time(self._latest) if self._latest else None
        pending = 0
        for iid, opened in self._open.items():
            age = (latest - parse_time(opened.time)).total_seconds() if latest else 0.0
            if age <= self._grace_s:
                pending += 1  # possibly still in flight
                continue
            yield _fail(
                "intent_without_outcome",
                opened.index,
                "expected an outcome or recovery for this intent, got none",
                iid,
            )
        self.pending = pending


def _common(leaf: Mapping[str, object]) -> str | None:
    """What a leaf lacks among the fields every leaf has, or None."""
    if leaf.get("v") != SCHEMA_VERSION or isinstance(leaf.get("v"), bool):
        return f"v {SCHEMA_VERSION}"
    replica, moment = leaf.get("replica"), leaf.get("time")
    if not isinstance(replica, str) or not replica:
        return "a replica string"
    if not isinstance(moment, str) or not _TIME.fullmatch(moment):
        return "an RFC 3339 UTC time"
    return None
