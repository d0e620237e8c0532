"""Serve the mock: ``python -m mock_api --host 127.0.0.1 --port 8808``.

Flag defaults are ``MockConfig``'s (``DEFAULTS``); only the serving flags (host,
port, log level) are the CLI's own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from pathlib import Path

import uvicorn

from .app import create_app
from .config import DEFAULTS, MB, MockConfig
from .memory import limit_arenas, settle_gc
from .server.serve import uvicorn_config

HOST = "127.0.0.1"
PORT = 8808
LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]


def port_number(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535: 99999 was taken modulo 65536 and served elsewhere."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mock_api", description="Offline mock of the Runware API for GLM-Image."
    )
    p.add_argument("--host", default=HOST, help=f"address to bind (default {HOST}, loopback only)")
    p.add_argument("--port", type=port_number, default=PORT, help="port to listen on (default %(default)s)")
    p.add_argument(
        "--require-key",
        metavar="KEY",
        default=DEFAULTS.require_key,
        help="accept only this API key (default: any non-empty key); "
        "or set MOCK_REQUIRE_KEY to keep it out of the process list",
    )
    p.add_argument(
        "--admin-key",
        metavar="KEY",
        default=DEFAULTS.admin_key,
        help="the key /__admin requires (default: the --require-key key, if any); or set MOCK_ADMIN_KEY",
    )
    p.add_argument(
        "--max-body-mb",
        type=float,
        default=DEFAULTS.max_body_bytes / MB,
        help="largest request body in MB (default %(default)g)",
    )
    p.add_argument(
        "--random-seed", type=int, default=DEFAULTS.random_seed, help="fix random seeds and imageUUIDs"
    )
    p.add_argument(
        "--replay",
        metavar="DIR",
        action="append",
        type=Path,
        default=[],
        help="replay a recording folder (repeatable); later folders win",
    )
    p.add_argument("--strict", action="store_true", help="an imageInference no recording matches is an error")
    p.add_argument(
        "--max-recorded-image-mb",
        type=float,
        default=DEFAULTS.max_recorded_image_bytes / MB,
        help="largest picture file of a --replay recording, in MB (default %(default)g)",
    )
    p.add_argument(
        "--max-reference-images",
        type=int,
        default=DEFAULTS.max_reference_images,
        help="most reference images one task may carry (default %(default)s)",
    )
    p.add_argument(
        "--max-reference-mp",
        type=float,
        default=DEFAULTS.max_reference_pixels / 1e6,
        help="most megapixels a reference or upload may declare (default %(default).3g)",
    )
    p.add_argument(
        "--cache-mb",
        type=int,
        default=DEFAULTS.cache_max_bytes // MB,
        help="budget of the rendered-image cache in MB (default %(default)s)",
    )
    p.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    w = p.add_argument_group("the wire: how long and how much a connection may hold")
    w.add_argument(
        "--header-timeout-s",
        type=float,
        default=DEFAULTS.header_timeout_s,
        help="a request's headers must arrive within this (default %(default)g)",
    )
    w.add_argument(
        "--body-timeout-s",
        type=float,
        default=DEFAULTS.body_timeout_s,
        help="a request's body must arrive within this of its start (default %(default)g)",
    )
    w.add_argument(
        "--send-timeout-s",
        type=float,
        default=DEFAULTS.send_timeout_s,
        help="a client must take each piece of an answer within this, or is dropped (default %(default)g)",
    )
    w.add_argument(
        "--keep-alive-s",
        type=float,
        default=DEFAULTS.keep_alive_s,
        help="an idle keep-alive connection is closed after this (default %(default)g)",
    )
    w.add_argument(
        "--max-inflight-body-mb",
        type=float,
        default=None,
        help="request bodies being read at once share this many MB (default: twice --max-body-mb)",
    )
    g = p.add_argument_group("async delivery, faults, outbound requests")
    g.add_argument(
        "--speed",
        type=float,
        default=DEFAULTS.speed,
        help="multiplies the simulated processing time of async/webhook/WebSocket jobs (0 = instant)",
    )
    g.add_argument(
        "--max-jobs-per-key",
        type=int,
        default=DEFAULTS.max_jobs_per_key,
        help="unfinished async/webhook/WebSocket tasks one API key may have at once (default %(default)s)",
    )
    g.add_argument(
        "--latency-ms", type=int, default=DEFAULTS.latency_ms, help="extra latency of every API request"
    )
    g.add_argument(
        "--fault-rate",
        type=float,
        default=DEFAULTS.fault_rate,
        help="share of API requests failed at random (0..1)",
    )
    g.add_argument(
        "--fault-seed",
        type=int,
        default=DEFAULTS.fault_seed,
        help="seed of the random faults (reproducible runs)",
    )
    g.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULTS.fault_kinds),
        help="comma-separated faults the random rate draws from (402,403,429,500,503,504,timeout,reset)",
    )
    g.add_argument(
        "--fault-timeout-s",
        type=float,
        default=DEFAULTS.fault_timeout_s,
        help="how long an injected timeout holds a request",
    )
    g.add_argument(
        "--account-balance",
        type=float,
        default=DEFAULTS.account_balance,
        help="the account's balance in USD (0: every imageInference gets 402 insufficientCredits)",
    )
    g.add_argument(
        "--allow-outbound",
        metavar="HOST",
        action="append",
        default=[],
        help="let webhooks/uploads reach HOST (a name, IP or network; '*' = anywhere) besides loopback",
    )
    p.add_argument(
        "--cors",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="let browser pages from ORIGIN (e.g. http://localhost:5173; '*' = any) call the API "
        "and fetch images (repeatable; never /__admin)",
    )
    g.add_argument(
        "--no-outbound",
        dest="send_outbound",
        action="store_false",
        help="send no request at all: webhookURL and uploadEndpoint are refused up front",
    )
    return p


def config_from_args(args: argparse.Namespace) -> MockConfig:
    return MockConfig(
        require_key=args.require_key or os.environ.get("MOCK_REQUIRE_KEY") or None,
        admin_key=args.admin_key or os.environ.get("MOCK_ADMIN_KEY") or None,
        max_body_bytes=int(args.max_body_mb * MB),
        random_seed=args.random_seed,
        replay_dirs=list(args.replay),
        strict=args.strict,
        max_recorded_image_bytes=int(args.max_recorded_image_mb * MB),
        cache_max_bytes=args.cache_mb * MB,
        max_reference_images=args.max_reference_images,
        max_reference_pixels=round(args.max_reference_mp * 1e6),
        header_timeout_s=args.header_timeout_s,
        body_timeout_s=args.body_timeout_s,
        send_timeout_s=args.send_timeout_s,
        keep_alive_s=args.keep_alive_s,
        max_inflight_body_bytes=int(args.max_inflight_body_mb * MB) if args.max_inflight_body_mb else None,
        speed=args.speed,
        max_jobs_per_key=args.max_jobs_per_key,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        fault_kinds=[k.strip() for k in args.fault_kinds.split(",") if k.strip()],
        fault_timeout_s=args.fault_timeout_s,
        allow_outbound=list(args.allow_outbound),
        cors_origins=list(args.cors),
        account_balance=args.account_balance,
        send_outbound=args.send_outbound,
    )


# Exit statuses: 2 for a bad flag or recording, 3 when the address cannot be listened on.
EXIT_BAD_CONFIG, EXIT_CANNOT_LISTEN = 2, 3


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything says it is serving (OSError when it cannot be)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limit_arenas()  # this process is only the mock: fewer malloc arenas, less fragmentation
    try:
        app = create_app(config_from_args(args))  # bad flag values raise ValueError too
    except ValueError as exc:
        print(f"mock_api: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        # Bound here, not by uvicorn: it printed nothing useful, and the line below came first.
        sock = listen(args.host, args.port)
    except OSError as exc:
        print(f"mock_api: cannot listen on {host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    settle_gc()
    port = sock.getsockname()[1]  # the one the system picked, for --port 0
    print(f"Runware mock for GLM-Image serving at http://{host}:{port} (POST /v1)", flush=True)
    # A held request (injected timeout, latency) must not keep Ctrl+C waiting for long.
    settings = uvicorn_config(
        app, host=args.host, port=port, log_level=args.log_level, timeout_graceful_shutdown=3
    )
    server = uvicorn.Server(settings)
    with sock, contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return 0 if server.started else EXIT_CANNOT_LISTEN


if __name__ == "__main__":
    raise SystemExit(main())
