"""The ``serve`` command: parse arguments, open the store, serve until a signal."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Sequence

from google.protobuf import text_format

from lineage import errors
from lineage.proto import metadata_store_pb2
from lineage.server.app import (
    DEFAULT_GRACE_SECONDS,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_WORKERS,
    serve,
)

__all__ = ["main", "build_parser", "load_server_config"]

_log = logging.getLogger("lineage.server")

_MB = 1024 * 1024

#: Loopback only unless --host says otherwise: the server has no authentication
#: of its own, so exposing it is a decision (with TLS and client certificates).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

_MEMORY_WARNING = """\
************************************************************************
* WARNING: no --config or --db given: serving an IN-MEMORY store.      *
* Everything written to this server is LOST when it exits.             *
* Pass --db sqlite:///path/metadata.sqlite (or another store URL) or   *
* --config server_config.pbtxt to keep the data.                       *
************************************************************************"""


def build_parser(prog: str = "lineage serve") -> argparse.ArgumentParser:
    """Returns the argument parser of the ``serve`` command."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve ml_metadata.MetadataStoreService over gRPC, as MLMD's "
        "metadata_store_server does.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"interface to listen on (default {DEFAULT_HOST}: this machine only). "
                        "The server authenticates nobody: before listening on other interfaces "
                        "(0.0.0.0), give a --config whose ssl_config sets server_cert, server_key, "
                        "custom_ca and client_verify: true, so only clients holding a certificate "
                        "from that CA get in")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one and prints it)")
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--config", metavar="FILE",
                       help="MetadataStoreServerConfig in protobuf text format: connection_config, "
                       "migration_options and ssl_config (PEM contents inline)")
    store.add_argument("--db", metavar="URL",
                       help="store URL such as sqlite:///metadata.sqlite, "
                       "postgresql://user@host/db or memory://")
    parser.add_argument("--max-message-mb", type=float, default=DEFAULT_MAX_MESSAGE_BYTES / _MB,
                        metavar="N",
                        help="largest request or response in MiB (default %(default)g)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                        help="threads serving calls concurrently (default %(default)d)")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_SECONDS, metavar="SECONDS",
                        help="on SIGTERM/SIGINT, how long running calls may take to finish "
                        "(default %(default)g)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="server log level on stderr (default %(default)s)")
    return parser


def load_server_config(path: str) -> metadata_store_pb2.MetadataStoreServerConfig:
    """Reads a MetadataStoreServerConfig text proto.

    Raises:
        InvalidArgumentError: the file cannot be read or parsed.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise errors.InvalidArgumentError(f"--config {path!r} cannot be read: {e.strerror}") from e
    config = metadata_store_pb2.MetadataStoreServerConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as e:
        raise errors.InvalidArgumentError(
            f"--config {path!r} is not a valid MetadataStoreServerConfig text proto: {e}"
        ) from e
    return config


def _resolve_config(args: argparse.Namespace) -> tuple[metadata_store_pb2.MetadataStoreServerConfig, bool]:
    """Returns the server config the arguments describe and whether it is in memory."""
    if args.config:
        config = load_server_config(args.config)
    else:
        config = metadata_store_pb2.MetadataStoreServerConfig()
        if args.db:
            from lineage.urls import config_from_url

            config.connection_config.CopyFrom(config_from_url(args.db))
    if not config.connection_config.WhichOneof("config"):
        config.connection_config.fake_database.SetInParent()
        return config, True
    return config, False


def _shown_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the metadata server until SIGTERM or SIGINT.

    Prints ``lineage metadata server listening on HOST:PORT`` on stdout once
    ready. The first signal stops accepting calls and lets running ones
    finish within the grace period; a second one cancels them at once.

    Args:
        argv: The arguments after ``serve``; None reads ``sys.argv[1:]``.

    Returns:
        0 after a clean shutdown, 1 when the store or the server could not
        start, 2 for bad arguments (reported by argparse).
    """
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.max_message_mb <= 0:
        parser.error("--max-message-mb must be positive")
    if args.grace < 0:
        parser.error("--grace must not be negative")
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    from lineage.core import open_service

    try:
        config, in_memory = _resolve_config(args)
        if in_memory:
            print(_MEMORY_WARNING, file=sys.stderr, flush=True)
        service = open_service(config.connection_config, config.migration_options)
    except errors.StatusError as e:
        print(f"lineage serve: error: {e.message}", file=sys.stderr, flush=True)
        return 1

    stop = threading.Event()
    force = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        del frame
        if stop.is_set():
            force.set()
        else:
            _log.info("received %s: shutting down", signal.Signals(signum).name)
            stop.set()

    previous = {}
    in_main_thread = threading.current_thread() is threading.main_thread()
    try:
        try:
            handle = serve(
                service, args.host, args.port,
                workers=args.workers,
                max_message_bytes=int(args.max_message_mb * _MB),
                ssl_config=config.ssl_config if config.HasField("ssl_config") else None,
                grace=args.grace,
            )
        except errors.StatusError as e:
            print(f"lineage serve: error: {e.message}", file=sys.stderr, flush=True)
            return 1
        if in_main_thread:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(signum, on_signal)
        print(f"lineage metadata server listening on {_shown_host(args.host)}:{handle.port}",
              flush=True)
        # Short waits keep the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
        clean = handle.stop(args.grace, force=force)
        _log.info("stopped%s", "" if clean else " (some calls were cancelled)")
        return 0
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        service.close()
