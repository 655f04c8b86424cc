"""Real ``civetta`` processes, and the crash loop run on them (the crash and canary tests,
``bench/crash_loop.py``).

Two ways to start ``civetta serve`` (the same code path, :func:`proxy.cli.main` with ``serve``):

* ``exec``: the console script next to this interpreter, exactly as an operator starts it;
* ``fork``: a child of a *zygote*, a helper process that has imported civetta once and forks a
  fresh process per start (``python -m tests.realproxy zygote``). The child runs
  ``proxy.cli.main(["serve", "--config", FILE])`` with its output in files, exactly as the
  console script would, minus the 1-3 s that importing civetta costs on a busy 2-core machine,
  which is what makes a crash loop of many cycles affordable in ``make test``. Children die with
  the zygote (``PR_SET_PDEATHSIG``) and the zygote exits when its standard input closes, so
  nothing outlives the test, even a test process that was killed.

Every start is SIGKILLed or stopped by the caller; :class:`Launcher` kills whatever is left on
exit. Everything listens on loopback only.

The crash loop (:func:`crash_loop`, :class:`CrashChecker`) is described where it starts, below.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import itertools
import json
import os
import random
import signal
import socket
import statistics
import string
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import aiohttp
from aiohttp import web

from proxy.audit.note import Signer
from proxy.audit.records import commit_bytes
from proxy.audit.sealed import Vault
from proxy.audit.trust import TrustAnchor, write_trust
from proxy.audit.verify import VerifyOptions, verify_log
from proxy.audit.verify_store import StoreSealedChecker, StoreSource
from proxy.keys import KeyMaterial, load_keys
from proxy.storage.sqlite import SqliteStore
from proxy.testing import started_app

REPO = Path(__file__).resolve().parent.parent
#: The console script installed next to this interpreter (``.venv/bin/civetta``).
CIVETTA = str(Path(sys.executable).with_name("civetta"))
#: How long a process gets to become ready, and to exit after SIGTERM.
START_S = 30.0
STOP_S = 10.0
#: ``prctl`` option: the signal a child gets when its parent dies.
_PR_SET_PDEATHSIG = 1


class ProcessFailed(AssertionError):
    """A civetta process did not behave (exited early, never ready, did not stop)."""


def free_port() -> int:
    """A loopback port nobody listens on (bound once by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file (for failure messages)."""
    if not path.exists():
        return f"<{path.name}: no file>"
    text = path.read_text("utf-8", errors="replace").splitlines()
    return "\n".join(text[-lines:])


class Serve(ABC):
    """One started ``civetta serve`` (or ``sandbox``) process."""

    how: str
    command: str = "serve"
    pid: int
    stdout: Path
    stderr: Path

    @abstractmethod
    async def poll(self) -> int | None:
        """Its exit code, or None while it runs."""

    @abstractmethod
    async def kill(self) -> int:
        """SIGKILL (unless it already exited) and reap it; return its exit code."""

    @abstractmethod
    async def stop(self, timeout_s: float = STOP_S) -> int:
        """SIGTERM and wait; SIGKILL and raise :class:`ProcessFailed` after ``timeout_s``."""

    def output(self) -> str:
        """The end of what it wrote, for failure messages."""
        return f"--- stdout\n{tail(self.stdout)}\n--- stderr\n{tail(self.stderr)}"


class ExecServe(Serve):
    """``civetta serve`` started from the console script."""

    how = "exec"

    def __init__(self, proc: asyncio.subprocess.Process, stdout: Path, stderr: Path) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.stdout = stdout
        self.stderr = stderr

    async def poll(self) -> int | None:
        """See :class:`Serve`."""
        return self.proc.returncode

    async def kill(self) -> int:
        """See :class:`Serve`."""
        if self.proc.returncode is None:
            self.proc.kill()
        return await self.proc.wait()

    async def stop(self, timeout_s: float = STOP_S) -> int:
        """See :class:`Serve`."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout_s):
                return await self.proc.wait()
        except TimeoutError:
            await self.kill()
            raise ProcessFailed(
                f"civetta {self.command} still running {timeout_s} s after SIGTERM\n{self.output()}"
            ) from None


class Zygote:
    """The forking helper process and its line protocol (one JSON object per line each way)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls) -> Zygote:
        """Start ``python -m tests.realproxy zygote`` and wait until it has imported civetta."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.realproxy",
            "zygote",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
        )
        zygote = cls(proc)
        try:
            async with asyncio.timeout(START_S):
                hello = await zygote._read()
        except BaseException:
            await zygote.close()
            raise
        if hello.get("ready") is not True:
            await zygote.close()
            raise ProcessFailed(f"expected the zygote to say it is ready, got {hello!r}")
        return zygote

    async def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise ProcessFailed("expected an answer from the zygote, got end of file")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def request(self, **command: object) -> dict[str, Any]:
        """Send one command and read its answer (one at a time)."""
        async with self._lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(command).encode() + b"\n")
            await self.proc.stdin.drain()
            return await self._read()

    async def close(self) -> None:
        """Close its standard input: it kills and reaps its children, then exits."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            async with asyncio.timeout(STOP_S):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class ForkServe(Serve):
    """``civetta serve`` forked by the zygote. The pid stays ours until the zygote reaps it
    (a zombie keeps its pid), so signalling it by pid cannot hit another process."""

    how = "fork"

    def __init__(self, zygote: Zygote, pid: int, stdout: Path, stderr: Path) -> None:
        self.zygote = zygote
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.code: int | None = None

    async def poll(self) -> int | None:
        """See :class:`Serve`."""
        if self.code is None:
            self.code = (await self.zygote.request(op="poll", pid=self.pid))["code"]
        return self.code

    async def _reap(self) -> int:
        if self.code is None:
            self.code = int((await self.zygote.request(op="wait", pid=self.pid))["code"])
        return self.code

    async def kill(self) -> int:
        """See :class:`Serve`."""
        if self.code is None:
            os.kill(self.pid, signal.SIGKILL)
        return await self._reap()

    async def stop(self, timeout_s: float = STOP_S) -> int:
        """See :class:`Serve`."""
        if self.code is not None:
            return self.code
        os.kill(self.pid, signal.SIGTERM)
        reap = asyncio.ensure_future(self._reap())
        done, _ = await asyncio.wait({reap}, timeout=timeout_s)
        if not done:
            os.kill(self.pid, signal.SIGKILL)
            await reap
            raise ProcessFailed(
                f"civetta {self.command} still running {timeout_s} s after SIGTERM\n{self.output()}"
            )
        return reap.result()


class Launcher:
    """Starts ``civetta COMMAND`` (``serve``, ``sandbox``) on one configuration, by ``exec`` or
    ``fork``, in ``workdir`` (its output files go there); kills every process it started on
    exit."""

    def __init__(self, config: Path, workdir: Path, command: str = "serve") -> None:
        self.config = config
        self.workdir = workdir
        self.command = command
        self.stdout = workdir / f"{command}.stdout"
        self.stderr = workdir / f"{command}.stderr"
        self._zygote: Zygote | None = None
        self._started: list[Serve] = []

    async def start(self, how: str) -> Serve:
        """Start one process (``exec`` or ``fork``); its output is appended to the two files."""
        serve: Serve
        if how == "exec":
            with self.stdout.open("ab") as out, self.stderr.open("ab") as err:
                proc = await asyncio.create_subprocess_exec(
                    CIVETTA,
                    self.command,
                    "--config",
                    str(self.config),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=self.workdir,
                )
            serve = ExecServe(proc, self.stdout, self.stderr)
            serve.command = self.command
        elif how == "fork":
            if self._zygote is None:
                self._zygote = await Zygote.start()
            answer = await self._zygote.request(
                op="spawn",
                argv=[self.command, "--config", str(self.config)],
                cwd=str(self.workdir),
                stdout=str(self.stdout),
                stderr=str(self.stderr),
            )
            serve = ForkServe(self._zygote, int(answer["pid"]), self.stdout, self.stderr)
            serve.command = self.command
        else:
            raise ValueError(f"expected 'exec' or 'fork', got {how!r}")
        self._started.append(serve)
        return serve

    async def close(self) -> None:
        """Kill every process still running, then the zygote."""
        try:
            for serve in self._started:
                await serve.kill()
        finally:
            if self._zygote is not None:
                await self._zygote.close()
                self._zygote = None


@asynccontextmanager
async def launcher(config: Path, workdir: Path, command: str = "serve") -> AsyncIterator[Launcher]:
    """A :class:`Launcher` whose processes are all killed on exit, failures included."""
    started = Launcher(config, workdir, command)
    try:
        yield started
    finally:
        await started.close()


async def wait_ready(url: str, serve: Serve, timeout_s: float = START_S) -> float:
    """Poll ``url`` until it answers 200; return the seconds it took. Raise
    :class:`ProcessFailed` with the process's output if it exits or never gets ready."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    timeout = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while loop.time() - started < timeout_s:
            code = await serve.poll()
            if code is not None:
                raise ProcessFailed(
                    f"civetta {serve.command} ({serve.how}) exited with {code} before ready\n{serve.output()}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return loop.time() - started
            await asyncio.sleep(0.02)
    raise ProcessFailed(f"{url} not ready after {timeout_s} s\n{serve.output()}")


async def run_cli(*args: str, timeout_s: float = 120.0) -> tuple[int, str, str]:
    """``civetta ARGS…`` as a process: exit code, stdout, stderr (killed after ``timeout_s``)."""
    proc = await asyncio.create_subprocess_exec(
        CIVETTA,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


# --- the crash loop ------------------------------------------------------------------------
#
# A fake incumbent records every body it receives; ``civetta serve`` (SQLite, two routes to the
# fake: one pass-through, one protected by the permissive test policies) takes a bounded load of
# concurrent POSTs, each with a unique JSON body, and is SIGKILLed at a random moment; then it
# is started again. After every restart :class:`CrashChecker` runs the verifier and checks that
# every body the fake received is the sealed copy of a durable intent, and that every intent has
# exactly one outcome or recovery.

#: The routes the load alternates between (unprotected, protected).
CRASH_ROUTES = ("/crash/open/orders", "/crash/json/orders")
CRASH_REPLICA = "crash-1"
#: The outcome error of an intent whose caller was gone before forwarding (journal's doc).
NOT_SENT = "CIVETTA-NOT-SENT"
#: Requests one load worker sends at most in a cycle (a bound, never reached in 300 ms).
_MAX_PER_WORKER = 2_000

CRASH_CONFIG = """\
listeners:
  oss: {{host: 127.0.0.1, port: {oss}}}
  incumbent: {{host: 127.0.0.1, port: {incumbent}}}
  admin: {{host: 127.0.0.1, port: {admin}}}
routes:
  - name: crash-open
    direction: outbound
    protocol: rest
    path_prefix: /crash/open/
    methods: [POST]
    protected: false
    upstream: {upstream}
    timeouts: {{connect_s: 2, total_s: 10}}
  - name: crash-json
    direction: outbound
    protocol: rest
    path_prefix: /crash/json/
    methods: [POST]
    upstream: {upstream}
    timeouts: {{connect_s: 2, total_s: 10}}
minimisation:
  policies_dir: {policies}
  partners_file: {partners}
  watch: false
storage:
  url: sqlite:///var/civetta.db
keys:
  dir: var/keys
  generate: true
logging:
  level: info
  format: json
shutdown_timeout_s: 2
audit:
  replica: {replica}
"""


class CrashCheckFailed(AssertionError):
    """An invariant of the audit log did not hold after a crash."""


@dataclass(frozen=True, slots=True)
class CrashSettings:
    """How a crash loop runs.

    ``launcher``: ``exec`` (every start from the console script), ``fork`` (every start from
    the zygote) or ``mixed`` (the console script for the first start, every ``exec_every``-th
    and the last; the zygote otherwise). ``full_every``: every how many checks the verifier
    walks the whole log (the others start from the checkpoint verified last, which the log must
    extend); the last check is always full.
    """

    cycles: int = 50
    concurrency: int = 8
    load_s: tuple[float, float] = (0.05, 0.3)
    launcher: str = "mixed"
    exec_every: int = 10
    full_every: int = 10
    cli_verify: bool = True

    def how(self, start: int) -> str:
        """``exec`` or ``fork`` for the ``start``-th start (0-based; ``cycles`` is the last)."""
        if self.launcher != "mixed":
            return self.launcher
        last = start == self.cycles
        return "exec" if last or start % self.exec_every == 0 else "fork"


@dataclass(slots=True)
class CrashStats:
    """What a crash loop did (figures for the bench, and non-vacuity checks for the test)."""

    cycles: int = 0
    starts: dict[str, int] = field(default_factory=dict)
    ready_s: list[float] = field(default_factory=list)
    load_s: list[float] = field(default_factory=list)
    check_s: list[float] = field(default_factory=list)
    sent: int = 0
    answered: int = 0
    transport_errors: int = 0
    received: int = 0
    intents: int = 0
    outcomes: int = 0
    recoveries: int = 0
    recovered_received: int = 0
    not_sent: int = 0
    upstream_errors: int = 0
    leaves: int = 0
    full_verifications: int = 0
    incremental_verifications: int = 0
    cli_exit: int | None = None
    wall_s: float = 0.0

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary (lists as median and max)."""
        out: dict[str, object] = {}
        for name, value in asdict(self).items():
            if isinstance(value, list):
                out[name] = {
                    "median": round(statistics.median(value), 4) if value else None,
                    "max": round(max(value), 4) if value else None,
                }
            else:
                out[name] = value
        return out

    def summary(self) -> str:
        """A few lines for people."""

        def med(values: list[float]) -> str:
            return f"{statistics.median(values) * 1000:.0f} ms" if values else "-"

        starts = ", ".join(f"{n} {how}" for how, n in sorted(self.starts.items()))
        return (
            f"{self.cycles} SIGKILL cycles in {self.wall_s:.1f} s ({starts}); "
            f"ready median {med(self.ready_s)}, max {max(self.ready_s, default=0) * 1000:.0f} ms; "
            f"check median {med(self.check_s)}\n"
            f"OSS: {self.sent} POSTs sent, {self.answered} answered 201, "
            f"{self.transport_errors} cut by the kill\n"
            f"fake incumbent: {self.received} bodies received, every one a durable intent\n"
            f"log: {self.leaves} leaves, {self.intents} intents = {self.outcomes} outcomes "
            f"+ {self.recoveries} recoveries ({self.recovered_received} of them had reached the "
            f"incumbent); {self.not_sent} outcomes NOT-SENT, {self.upstream_errors} upstream errors\n"
            f"verifier: {self.full_verifications} full + {self.incremental_verifications} "
            f"incremental runs, all exit 0; CLI exit {self.cli_exit}"
        )


class FakeIncumbent:
    """A loopback upstream that records every body it received in full, then answers 201."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append(body)
        return web.json_response({"accepted": len(self.received)}, status=201)


def write_crash_config(path: Path, ports: Mapping[str, int], upstream: str) -> None:
    """The crash loop's configuration (relative paths: under ``path``'s directory)."""
    path.write_text(
        CRASH_CONFIG.format(
            upstream=upstream,
            policies=REPO / "tests" / "fixtures" / "policy" / "open",
            partners=REPO / "policies" / "partners.yaml",
            replica=CRASH_REPLICA,
            **ports,
        ),
        encoding="utf-8",
    )


@dataclass(slots=True)
class _Intent:
    index: int
    body: bytes
    key: str | None
    closers: list[tuple[str, object, object]] = field(default_factory=list)


def _key_of(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    key = document.get("key") if isinstance(document, dict) else None
    return key if isinstance(key, str) else None


class CrashChecker:
    """The invariants, checked against the SQLite file after each restart (and at the end).

    The log is read through civetta's own store and verifier, as ``civetta audit verify``
    does; the trust anchor comes from the key file, not from the log.
    """

    def __init__(self, workdir: Path, origin: str = "civetta.local/audit-log") -> None:
        self.workdir = workdir
        self.db = workdir / "var" / "civetta.db"
        self.keys_dir = workdir / "var" / "keys"
        self.origin = origin
        self._keys: KeyMaterial | None = None
        #: The checkpoint verified last (the next run must extend it), and the first one.
        self.held: bytes | None = None
        self.first_held: bytes | None = None
        self.next_index = 0
        self.intents: dict[str, _Intent] = {}
        self.by_body: dict[bytes, str] = {}
        self.by_key: dict[str, str] = {}
        self.received: set[bytes] = set()
        self.received_checked = 0
        self.checks = 0
        self.full = 0
        self.incremental = 0

    @property
    def keys(self) -> KeyMaterial:
        """The proxy's keys (read once the proxy has generated them)."""
        if self._keys is None:
            self._keys = load_keys(self.keys_dir, generate=False)
        return self._keys

    @property
    def anchor(self) -> TrustAnchor:
        """The trust anchor: the origin and the public key of the signing key file."""
        return TrustAnchor(self.origin, Signer(self.origin, self.keys.signing_key).verifier())

    async def check(
        self, received: Sequence[bytes], answers: Mapping[str, int | None], *, full: bool
    ) -> None:
        """Verify the log, read the new leaves, and check every invariant; raise
        :class:`CrashCheckFailed`. ``received``: everything the fake received so far;
        ``answers``: the OSS's statuses since the last check (None: cut by the kill)."""
        full = full or self.held is None
        store = SqliteStore(str(self.db))
        await store.open()
        try:
            sealed_key = self.keys.derive("sealed")
            options = VerifyOptions(
                held=self.held,
                incremental=not full,
                grace_s=0.0,
                sealed=StoreSealedChecker(store, sealed_key),
                workers=0,
            )
            report = await verify_log(StoreSource(store), self.anchor, options)
            if not report.ok or report.checkpoint is None:
                raise CrashCheckFailed(
                    f"expected the verifier to pass after restart {self.checks}, got exit "
                    f"{report.exit_code}:\n{report.summary()}\n{report.dumps()[:4000]}"
                )
            self.held = report.checkpoint
            if self.first_held is None:
                self.first_held = report.checkpoint
            head = await store.head()
            vault = Vault(store, sealed_key, lambda: datetime.now(UTC))
            for leaf in await store.leaves(self.next_index, head.size):
                await self._feed(leaf.index, leaf.data, vault)
            self.next_index = head.size
            pending = await store.pending_intents(None)
        finally:
            await store.close()
        if full:
            self.full += 1
        else:
            self.incremental += 1
        self.checks += 1
        if pending:
            raise CrashCheckFailed(
                f"expected no pending intent after a restart, got {len(pending)}: {pending[:5]}"
            )
        self._pairing()
        self._bodies(received)
        self._answers(answers)

    async def _feed(self, index: int, data: bytes, vault: Vault) -> None:
        leaf = json.loads(data)
        kind = leaf["type"]
        if kind == "intent":
            iid = leaf["intent_id"]
            body = leaf["body"]
            if iid in self.intents:
                raise CrashCheckFailed(f"expected one intent {iid}, got another at {index}")
            salt, opened = await vault.open(body["sealed_id"])
            if len(opened) != body["length"] or base64.b64decode(
                body["commitment"]
            ) != commit_bytes(salt, opened):
                raise CrashCheckFailed(f"expected intent {index}'s copy to open its commitment")
            if opened in self.by_body:
                raise CrashCheckFailed(
                    f"expected one intent per (unique) body, got {index} and "
                    f"{self.intents[self.by_body[opened]].index}"
                )
            key = _key_of(opened)
            self.intents[iid] = _Intent(index, opened, key)
            self.by_body[opened] = iid
            if key is not None:
                self.by_key[key] = iid
        elif kind in ("outcome", "recovery"):
            found = self.intents.get(leaf["intent_id"])
            if found is None:
                raise CrashCheckFailed(f"expected an intent before the {kind} at {index}")
            found.closers.append((kind, leaf.get("status"), leaf.get("error")))
        elif kind == "block":
            raise CrashCheckFailed(f"expected no refused message, got a block leaf at {index}")

    def _pairing(self) -> None:
        wrong = [(i.index, len(i.closers)) for i in self.intents.values() if len(i.closers) != 1]
        if wrong:
            raise CrashCheckFailed(
                "expected exactly one outcome or recovery per intent after a restart, got "
                f"(intent index, closers) {wrong[:10]} ({len(wrong)} intents)"
            )

    def _bodies(self, received: Sequence[bytes]) -> None:
        for body in received[self.received_checked :]:
            if body in self.received:
                raise CrashCheckFailed(
                    f"expected each body forwarded once, got {body[:80]!r} twice"
                )
            self.received.add(body)
            if body not in self.by_body:
                raise CrashCheckFailed(
                    f"expected every body the incumbent received to be a durable intent's "
                    f"sealed copy, got one without: {body[:200]!r}"
                )
        self.received_checked = len(received)
        for intent in self.intents.values():
            kind, status, error = intent.closers[0]
            if kind != "outcome":
                continue
            if status is not None and intent.body not in self.received:
                raise CrashCheckFailed(
                    f"expected the body of intent {intent.index} (outcome status {status}) "
                    "to have reached the incumbent, got no such body there"
                )
            if error == NOT_SENT and intent.body in self.received:
                raise CrashCheckFailed(
                    f"expected intent {intent.index} (outcome {NOT_SENT}) not to have reached "
                    "the incumbent, got its body there"
                )

    def _answers(self, answers: Mapping[str, int | None]) -> None:
        for key, status in answers.items():
            if status is None:
                continue
            if status != 201:
                raise CrashCheckFailed(f"expected 201 or a cut connection, got {status} for {key}")
            iid = self.by_key.get(key)
            closer = None if iid is None else self.intents[iid].closers[0]
            if closer is None or closer[:2] != ("outcome", 201):
                raise CrashCheckFailed(
                    f"expected the OSS's 201 for {key} to follow a durable outcome 201, got {closer}"
                )

    def tally(self, stats: CrashStats) -> None:
        """Copy the log's figures into ``stats``."""
        stats.leaves = self.next_index
        stats.intents = len(self.intents)
        stats.received = len(self.received)
        stats.full_verifications = self.full
        stats.incremental_verifications = self.incremental
        stats.outcomes = stats.recoveries = stats.recovered_received = 0
        stats.not_sent = stats.upstream_errors = 0
        for intent in self.intents.values():
            kind, status, error = intent.closers[0]
            if kind == "recovery":
                stats.recoveries += 1
                stats.recovered_received += intent.body in self.received
                continue
            stats.outcomes += 1
            if error == NOT_SENT:
                stats.not_sent += 1
            elif status is None:
                stats.upstream_errors += 1


async def _load(
    oss_url: str, run: str, cycle: int, concurrency: int, stop: asyncio.Event
) -> dict[str, int | None]:
    """POST unique bodies from ``concurrency`` workers until ``stop`` or the proxy dies;
    return each body's key with its status (None: the connection was cut)."""
    answers: dict[str, int | None] = {}
    counter = itertools.count()
    timeout = aiohttp.ClientTimeout(total=20)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:

        async def worker() -> None:
            for _ in range(_MAX_PER_WORKER):
                if stop.is_set():
                    return
                seq = next(counter)
                key = f"{run}.{cycle}.{seq}"
                body = json.dumps({"crash": run, "key": key, "note": "crash loop"}).encode()
                answers[key] = None
                try:
                    async with http.post(
                        oss_url + CRASH_ROUTES[seq % 2],
                        data=body,
                        headers={"Content-Type": "application/json"},
                    ) as resp:
                        await resp.read()
                        answers[key] = resp.status
                except (aiohttp.ClientError, TimeoutError):
                    return  # the proxy is gone

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answers


async def crash_loop(
    workdir: Path,
    settings: CrashSettings,
    rng: random.Random,
    progress: Callable[[str], None] | None = None,
) -> CrashStats:
    """Run the crash loop in ``workdir``; raise :class:`CrashCheckFailed` (or
    :class:`ProcessFailed`) at the first broken invariant; return the figures."""
    stats = CrashStats()
    started = time.perf_counter()
    run = "".join(rng.choice(string.ascii_lowercase) for _ in range(10))
    ports = {name: free_port() for name in ("oss", "incumbent", "admin")}
    oss_url = f"http://127.0.0.1:{ports['oss']}"
    readyz = f"http://127.0.0.1:{ports['admin']}/readyz"
    config = workdir / "civetta.yaml"
    fake = FakeIncumbent()
    checker = CrashChecker(workdir)
    answers: dict[str, int | None] = {}
    async with started_app(fake.app()) as upstream:
        write_crash_config(config, ports, upstream)
        async with launcher(config, workdir) as starter:
            for start in range(settings.cycles + 1):
                how = settings.how(start)
                serve = await starter.start(how)
                stats.starts[how] = stats.starts.get(how, 0) + 1
                stats.ready_s.append(await wait_ready(readyz, serve))
                at = time.perf_counter()
                full = start == settings.cycles or start % settings.full_every == 0
                await checker.check(fake.received, answers, full=full)
                stats.check_s.append(time.perf_counter() - at)
                if start == settings.cycles:
                    code = await serve.stop()
                    if code != 0:
                        raise ProcessFailed(f"expected exit 0 on SIGTERM, got {code}")
                    break
                stop = asyncio.Event()
                load = asyncio.ensure_future(_load(oss_url, run, start, settings.concurrency, stop))
                duration = rng.uniform(*settings.load_s)
                try:
                    await asyncio.sleep(duration)
                    await serve.kill()
                finally:
                    stop.set()
                    async with asyncio.timeout(60):
                        answers = await load
                stats.load_s.append(duration)
                stats.cycles += 1
                stats.sent += len(answers)
                stats.answered += sum(1 for s in answers.values() if s is not None)
                stats.transport_errors += sum(1 for s in answers.values() if s is None)
                if progress is not None:
                    progress(
                        f"cycle {start + 1}/{settings.cycles} ({how}): ready "
                        f"{stats.ready_s[-1] * 1000:.0f} ms, {len(answers)} POSTs in "
                        f"{duration * 1000:.0f} ms, {len(fake.received)} bodies so far"
                    )
        # Stopped: the same invariants once more, offline, with the whole log walked.
        await checker.check(fake.received, answers, full=True)
    checker.tally(stats)
    if settings.cli_verify:
        stats.cli_exit = await cli_verify(workdir, config, checker)
    stats.wall_s = time.perf_counter() - started
    return stats


async def cli_verify(workdir: Path, config: Path, checker: CrashChecker) -> int:
    """``civetta audit verify`` on the stopped proxy's log with the key file's trust anchor,
    the first checkpoint held elsewhere and no grace: raise unless it exits 0 and agrees."""
    trust, held, report = (
        workdir / "trust.txt",
        workdir / "held.checkpoint",
        workdir / "verify.json",
    )
    write_trust(checker.anchor, trust)
    assert checker.first_held is not None
    held.write_bytes(checker.first_held)
    code, out, err = await run_cli(
        "audit",
        "verify",
        "--config",
        str(config),
        "--trust",
        str(trust),
        "--held",
        str(held),
        "--grace",
        "0",
        "--json",
        str(report),
    )
    found = json.loads(report.read_text("utf-8")) if report.exists() else {}
    types = found.get("types", {})
    closed = types.get("outcome", 0) + types.get("recovery", 0)
    if (code, found.get("ok"), found.get("size")) != (0, True, checker.next_index) or (
        types.get("intent") != closed
    ):
        raise CrashCheckFailed(
            f"expected civetta audit verify to exit 0 on {checker.next_index} entries with one "
            f"outcome or recovery per intent, got exit {code}, size {found.get('size')}, "
            f"types {types}\n{out}\n{err}"
        )
    return code


# --- the zygote (runs in its own process) --------------------------------------------------


def _reply(answer: Mapping[str, object]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def _child(command: Mapping[str, Any], zygote: int) -> NoReturn:
    """The forked child: output to the files, then ``civetta serve`` as the console script
    runs it; never returns into the zygote's loop."""
    code = 70
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != zygote:  # the zygote died before prctl took effect
            os._exit(1)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(command["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        err = os.open(command["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(command["cwd"])
        from proxy.cli import main

        code = main([str(a) for a in command["argv"]])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _zygote() -> int:
    """Import civetta, then fork a ``civetta serve`` per ``spawn`` command until stdin closes."""
    import proxy.app
    import proxy.cli
    import proxy.storage.sqlite  # noqa: F401 - imported once here, inherited by every child

    children: set[int] = set()
    _reply({"ready": True})
    try:
        while line := sys.stdin.readline():
            command = json.loads(line)
            op = command["op"]
            if op == "spawn":
                sys.stdout.flush()
                sys.stderr.flush()
                me = os.getpid()
                pid = os.fork()
                if pid == 0:
                    _child(command, me)
                children.add(pid)
                _reply({"pid": pid})
            elif op in ("wait", "poll"):
                pid = int(command["pid"])
                if pid not in children:
                    _reply({"error": f"not a child: {pid}"})
                    continue
                done, status = os.waitpid(pid, 0 if op == "wait" else os.WNOHANG)
                if done == 0:
                    _reply({"code": None})
                    continue
                children.discard(pid)
                _reply({"code": os.waitstatus_to_exitcode(status)})
            else:
                _reply({"error": f"unknown op {op!r}"})
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["zygote"]:
        sys.exit("usage: python -m tests.realproxy zygote")
    sys.exit(_zygote())
