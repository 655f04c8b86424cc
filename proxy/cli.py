"""The ``civetta`` command line.

``serve`` runs the proxy; ``sandbox`` the simulated incumbent; ``dev`` both (what ``make run``
starts); ``config check`` validates a configuration; ``keys generate`` makes key files.
Exit codes: 0 success, 1 a check failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from proxy import __version__
from proxy.cli_audit import register as register_audit
from proxy.cli_decoys import register as register_decoys
from proxy.cli_policy import register as register_policy
from proxy.cli_trace import register as register_trace
from proxy.config import Config, load_config
from proxy.errors import ConfigError
from proxy.logs import configure, get_logger


def _config(path: str) -> Config:
    return load_config(Path(path))


def _cmd_serve(args: argparse.Namespace) -> int:
    from proxy.app import serve

    cfg = _config(args.config)
    configure(cfg.log_level, cfg.log_format)
    asyncio.run(serve(cfg))
    return 0


async def _run_sandbox(cfg: Config) -> None:
    from proxy.sandbox.app import SandboxSettings, build_app

    sb = cfg.sandbox
    app = build_app(
        SandboxSettings(
            sb.schemas_dir, notify_delay_s=sb.notify_delay_s, soap_callback_url=sb.soap_callback_url
        )
    )
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, sb.host, sb.port, reuse_address=True).start()
    log = get_logger("civetta.sandbox")
    log.info("sandbox_started", host=sb.host, port=sb.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    log.info("sandbox_stopped")


def _cmd_sandbox(args: argparse.Namespace) -> int:
    cfg = _config(args.config)
    configure(cfg.log_level, cfg.log_format)
    asyncio.run(_run_sandbox(cfg))
    return 0


def _cmd_dev(args: argparse.Namespace) -> int:
    """The sandbox in a child process next to the proxy, both stopped together."""
    cfg = _config(args.config)
    child = subprocess.Popen([sys.executable, "-m", "proxy", "sandbox", "--config", args.config])
    try:
        return _cmd_serve(args)
    finally:
        child.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=cfg.shutdown_timeout_s)
        if child.poll() is None:
            child.kill()


def _cmd_demo(args: argparse.Namespace) -> int:
    from proxy.demo import run_demo

    cfg = _config(args.config)
    lines: list[str] = []
    sent = asyncio.run(run_demo(cfg, Path(args.samples), args.partner, lines))
    print("\n".join(lines))
    return 0 if sent else 1


def _cmd_config_check(args: argparse.Namespace) -> int:
    cfg = _config(args.config)
    print(f"{cfg.source}: ok ({len(cfg.routes)} routes)")
    return 0


def _cmd_keys_generate(args: argparse.Namespace) -> int:
    from proxy.keys import load_keys

    keys = load_keys(Path(args.dir), generate=True)
    made = ", ".join(keys.generated) or "nothing (keys already present)"
    print(f"{args.dir}: generated {made}; public key {keys.public_key_raw().hex()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for the docs and the tests)."""
    parser = argparse.ArgumentParser(
        prog="civetta", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--version", action="version", version=f"civetta {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default=os.environ.get("CIVETTA_CONFIG", "config.example.yaml"))
        return p

    with_config(sub.add_parser("serve", help="run the proxy")).set_defaults(func=_cmd_serve)
    with_config(sub.add_parser("sandbox", help="run the simulated incumbent")).set_defaults(
        func=_cmd_sandbox
    )
    with_config(sub.add_parser("dev", help="run the sandbox and the proxy together")).set_defaults(
        func=_cmd_dev
    )
    demo = with_config(
        sub.add_parser("demo", help="send sample orders through a running proxy and compare")
    )
    demo.add_argument("--samples", default="tests/fixtures", help="directory with tmf/ and soap/")
    demo.add_argument("--partner", default="installer-roma-01", help="sent as X-Partner-Id")
    demo.set_defaults(func=_cmd_demo)
    config = sub.add_parser("config", help="configuration tools").add_subparsers(
        dest="config_command", required=True
    )
    with_config(config.add_parser("check", help="validate a configuration")).set_defaults(
        func=_cmd_config_check
    )
    keys = sub.add_parser("keys", help="key files").add_subparsers(
        dest="keys_command", required=True
    )
    gen = keys.add_parser("generate", help="create missing key files (0600)")
    gen.add_argument("--dir", default="var/keys")
    gen.set_defaults(func=_cmd_keys_generate)
    register_audit(sub, keys)
    register_decoys(sub)
    register_policy(sub)
    register_trace(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``civetta`` console script."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as err:
        for line in err.errors:
            print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code
