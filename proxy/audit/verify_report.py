"""The verifier's result: failure classes (one exit code each), failures, the report and summary.

Exit codes (documented in ``docs/compliance.md``):

====  ===============  ===================================================================
code  class            meaning
====  ===============  ===================================================================
0     ok               every check passed
2     usage            bad arguments, unreadable files, a store that does not open
10    signature        a checkpoint or key leaf not signed by a key valid at that size
11    leaf             stored bytes, subtree hashes or sealed copies do not match the tree
12    consistency      a checkpoint not extended by the log: rollback, fork, bad proof
13    semantics        leaves well hashed but wrong: pairing, duplicates, canonical form
====  ===============  ===================================================================

When failures of several classes are found, the exit code is that of the most fundamental one
(the lowest number): a bad signature makes every other finding moot, a modified leaf explains a
semantic oddity, and so on. Every failure is still listed in the report.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_USAGE = 2
#: Failures listed in a report; the counts stay exact beyond it.
MAX_LISTED = 100


class FailureClass(enum.IntEnum):
    """A class of verification failure; its value is the exit code."""

    SIGNATURE = 10
    LEAF = 11
    CONSISTENCY = 12
    SEMANTICS = 13

    @property
    def label(self) -> str:
        """The lower-case name used in reports."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Failure:
    """One finding: its class, a short stable check name, the entry (or range) and a message.

    ``index`` is the first leaf concerned (``end`` exclusive when only a range is known);
    ``intent_id`` is set when the leaf concerned belongs to an intent; ``checkpoint`` is the
    tree size of the checkpoint concerned, if any. Messages name indices, sizes and check
    names, never a value from a leaf.
    """

    cls: FailureClass
    check: str
    message: str
    index: int | None = None
    end: int | None = None
    intent_id: str | None = None
    checkpoint: int | None = None

    def to_json(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        out: dict[str, object] = {"class": self.cls.label, "check": self.check}
        if self.index is not None:
            out["index"] = self.index
        if self.end is not None:
            out["end"] = self.end
        if self.intent_id is not None:
            out["intent_id"] = self.intent_id
        if self.checkpoint is not None:
            out["checkpoint"] = self.checkpoint
        out["message"] = self.message
        return out

    def describe(self) -> str:
        """One line for people."""
        where = ""
        if self.index is not None:
            where = f" at entry {self.index}"
            if self.end is not None and self.end > self.index + 1:
                where = f" in entries {self.index}..{self.end - 1}"
        intent = f" (intent {self.intent_id})" if self.intent_id else ""
        checkpoint = f" (checkpoint of size {self.checkpoint})" if self.checkpoint else ""
        return f"[{self.cls.label}] {self.check}{where}{intent}{checkpoint}: {self.message}"


def _first(failures: Sequence[Failure]) -> Failure | None:
    if not failures:
        return None
    cls = min(f.cls for f in failures)
    same = [f for f in failures if f.cls == cls]
    # Within the deciding class, the earliest entry (failures without one last), and among
    # failures at one entry the one that names an intent.
    return min(same, key=lambda f: (f.index is None, f.index or 0, f.intent_id is None))


@dataclass(frozen=True, slots=True)
class Report:
    """What a verification run found; ``exit_code`` follows the failure-class precedence."""

    origin: str
    mode: str
    size: int
    from_size: int
    leaves_verified: int
    checkpoints_verified: int
    failures: tuple[Failure, ...]
    failure_counts: Mapping[str, int]
    counts: Mapping[str, int] = field(default_factory=dict)
    types: Mapping[str, int] = field(default_factory=dict)
    keys: tuple[Mapping[str, object], ...] = ()
    seconds: float = 0.0
    #: The largest stored checkpoint whose signature and root verified (to hold elsewhere).
    checkpoint: bytes | None = field(default=None, repr=False)
    checkpoint_size: int | None = None

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.failure_counts

    @property
    def first_failure(self) -> Failure | None:
        """The failure that decides the exit code (earliest entry of the lowest class)."""
        return _first(self.failures)

    @property
    def exit_code(self) -> int:
        """0, or the lowest failure class found."""
        first = self.first_failure
        return EXIT_OK if first is None else int(first.cls)

    def to_json(self) -> dict[str, object]:
        """The JSON report (see ``docs/compliance.md`` for the fields)."""
        first = self.first_failure
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "origin": self.origin,
            "mode": self.mode,
            "size": self.size,
            "from_size": self.from_size,
            "leaves_verified": self.leaves_verified,
            "checkpoints_verified": self.checkpoints_verified,
            "counts": dict(sorted(self.counts.items())),
            "types": dict(sorted(self.types.items())),
            "keys": [dict(k) for k in self.keys],
            "failure_counts": dict(sorted(self.failure_counts.items())),
            "first_failure": None if first is None else first.to_json(),
            "failures": [f.to_json() for f in self.failures],
            "checkpoint_size": self.checkpoint_size,
            "seconds": round(self.seconds, 3),
        }

    def dumps(self) -> str:
        """The JSON report as text."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def summary(self) -> str:
        """A few lines for people: verdict, sizes, counts, the deciding failure."""
        lines = []
        span = f"entries {self.from_size}..{self.size - 1}" if self.size else "no entries"
        verdict = "OK" if self.ok else f"FAILED (exit {self.exit_code})"
        lines.append(f"{self.mode} verification of {self.origin}: {verdict}")
        lines.append(
            f"  {span}: {self.leaves_verified} leaves re-hashed, "
            f"{self.checkpoints_verified} checkpoints verified in {self.seconds:.2f} s"
        )
        if self.types:
            lines.append(
                "  leaves: " + ", ".join(f"{k} {v}" for k, v in sorted(self.types.items()))
            )
        if self.counts:
            lines.append("  " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())))
        if not self.ok:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(self.failure_counts.items()))
            lines.append(f"  failures: {counts}")
            first = self.first_failure
            if first is not None:
                lines.append("  first: " + first.describe())
            extra = len(self.failures) - 1
            if extra > 0:
                lines.append(f"  ({extra} more listed in the JSON report)")
        return "\n".join(lines) + "\n"


class FailureLog:
    """Collects failures while a run goes on: exact counts, a bounded list."""

    __slots__ = ("_counts", "_limit", "_listed")

    def __init__(self, limit: int = MAX_LISTED) -> None:
        self._limit = limit
        self._listed: list[Failure] = []
        self._counts: dict[str, int] = {}

    def add(self, failure: Failure) -> None:
        """Record a failure."""
        label = failure.cls.label
        self._counts[label] = self._counts.get(label, 0) + 1
        if len(self._listed) < self._limit:
            self._listed.append(failure)
        elif failure.cls < max(f.cls for f in self._listed):
            # Keep the deciding class visible even after the list is full of lesser findings.
            worst = max(range(len(self._listed)), key=lambda i: self._listed[i].cls)
            self._listed[worst] = failure

    @property
    def failures(self) -> tuple[Failure, ...]:
        """The listed failures, in the order found."""
        return tuple(self._listed)

    @property
    def counts(self) -> dict[str, int]:
        """Failures per class label."""
        return dict(self._counts)
