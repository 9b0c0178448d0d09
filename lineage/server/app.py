"""Running the metadata server: bind, TLS, health, message limits, shutdown."""

from __future__ import annotations

import logging
import threading
import time
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from lineage import errors
from lineage.proto import metadata_store_pb2
from lineage.server.servicer import (
    LINEAGE_SERVICE_NAME, SERVICE_NAME, LineageServicer, MetadataStoreServicer, add_to_server)

__all__ = [
    "DEFAULT_WORKERS",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_GRACE_SECONDS",
    "ServerHandle",
    "serve",
    "server_credentials",
]

_log = logging.getLogger(__name__)

DEFAULT_WORKERS = 16
DEFAULT_MAX_MESSAGE_BYTES = 100 * 1024 * 1024
DEFAULT_GRACE_SECONDS = 10.0

# After the grace period gRPC cancels the calls still running, but their
# handler threads keep going until the service returns; wait this much longer
# for them before the store is closed underneath them.
_DRAIN_SECONDS = 5.0


def _pem(ssl_config: metadata_store_pb2.MetadataStoreServerConfig.SSLConfig, field: str) -> bytes | None:
    if not ssl_config.HasField(field) or not getattr(ssl_config, field):
        return None
    text = getattr(ssl_config, field)
    if "-----BEGIN" not in text:
        raise errors.InvalidArgumentError(
            f"ssl_config.{field} must hold the PEM contents (-----BEGIN ...), not a file name"
        )
    return text.encode("ascii")


def server_credentials(
    ssl_config: metadata_store_pb2.MetadataStoreServerConfig.SSLConfig,
) -> grpc.ServerCredentials:
    """Builds TLS credentials from MLMD's server ``ssl_config``.

    Args:
        ssl_config: ``server_key`` and ``server_cert`` hold PEM text; with
            ``client_verify`` every client must present a certificate signed
            by ``custom_ca``.

    Returns:
        Server credentials for ``grpc.Server.add_secure_port``.

    Raises:
        InvalidArgumentError: the key or certificate is missing, a field is
            not PEM text, or ``client_verify`` is set without ``custom_ca``.
    """
    key = _pem(ssl_config, "server_key")
    cert = _pem(ssl_config, "server_cert")
    custom_ca = _pem(ssl_config, "custom_ca")
    if key is None or cert is None:
        raise errors.InvalidArgumentError(
            "ssl_config needs both server_key and server_cert to serve over TLS"
        )
    if ssl_config.client_verify and custom_ca is None:
        raise errors.InvalidArgumentError(
            "ssl_config.client_verify needs ssl_config.custom_ca to verify client certificates"
        )
    return grpc.ssl_server_credentials(
        [(key, cert)],
        root_certificates=custom_ca,
        require_client_auth=bool(ssl_config.client_verify),
    )


def _address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"{host}:{port}"


class ServerHandle:
    """A running metadata server.

    Attributes:
        host: The host the server was bound to.
        port: The bound port (the real one when 0 was asked for).
        server: The underlying ``grpc.Server``.
        servicer: The MetadataStoreService servicer.
        health: The ``grpc.health.v1`` servicer.
    """

    def __init__(
        self,
        server: grpc.Server,
        executor: futures.ThreadPoolExecutor,
        servicer: MetadataStoreServicer,
        health_servicer: health.HealthServicer,
        host: str,
        port: int,
        grace: float,
    ):
        self.server = server
        self.servicer = servicer
        self.health = health_servicer
        self.host = host
        self.port = port
        self._executor = executor
        self._grace = grace
        self._stopped = threading.Event()
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """``host:port`` as the server listens on it."""
        return _address(self.host, self.port)

    def stop(self, grace: float | None = None, *, force: threading.Event | None = None) -> bool:
        """Stops accepting calls, lets running ones finish, then shuts down.

        Health checks report NOT_SERVING from the start of the shutdown.
        Safe to call more than once; later calls return at once.

        Args:
            grace: Seconds running calls may take to finish before they are
                cancelled; None uses the grace the server was started with.
            force: When this event gets set during the grace period, the
                remaining calls are cancelled at once.

        Returns:
            True when every call finished on its own, False when some had to
            be cancelled or were still running when the wait ended.
        """
        with self._lock:
            if self._stopped.is_set():
                return True
            self._stopped.set()
        grace = self._grace if grace is None else grace
        self.health.enter_graceful_shutdown()
        self.servicer.begin_shutdown()
        deadline = time.monotonic() + grace
        done = self.server.stop(grace)
        forced = False
        while not done.wait(max(0.0, min(0.1, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                break
            if force is not None and force.is_set():
                self.server.stop(0)
                forced = True
                break
        # Once the grace period is over (or cut short), calls still inside the
        # service are the ones gRPC cancels; done alone cannot tell, as gRPC
        # counts a cancelled call as finished while its handler still runs.
        over = forced or time.monotonic() >= deadline
        cut_off = self.servicer.in_flight if over else 0
        done.wait()
        drained = self.servicer.wait_idle(_DRAIN_SECONDS)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if not drained:
            _log.warning("%d call(s) still running after shutdown", self.servicer.in_flight)
        if cut_off:
            _log.warning("%d call(s) were cancelled by the shutdown", cut_off)
        return drained and cut_off == 0

    def wait(self, timeout: float | None = None) -> bool:
        """Blocks until ``stop`` was called.

        Returns:
            True when stopped, False when the timeout passed first.
        """
        return self._stopped.wait(timeout)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(
    service: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    workers: int = DEFAULT_WORKERS,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ssl_config: metadata_store_pb2.MetadataStoreServerConfig.SSLConfig | None = None,
    grace: float = DEFAULT_GRACE_SECONDS,
) -> ServerHandle:
    """Starts serving ``service`` over gRPC and returns at once.

    The service's lifetime stays with the caller: stopping the server does
    not close it.

    Args:
        service: One method per RPC of MetadataStoreService, e.g. a
            ``lineage.core.MetadataService``. It must be safe to call from
            several threads at once. Its ``lineage`` attribute, when present,
            is served as ``lineage.v1.LineageService`` on the same port.
        host: Interface to bind; ``0.0.0.0`` or ``::`` for all.
        port: TCP port; 0 picks a free one (see ``ServerHandle.port``).
        workers: Threads serving calls concurrently.
        max_message_bytes: Largest request or response; larger ones fail
            with RESOURCE_EXHAUSTED.
        ssl_config: Serve over TLS as this MLMD ``SSLConfig`` says; None or
            an empty config serves plaintext.
        grace: Default seconds ``ServerHandle.stop`` lets running calls finish.

    Returns:
        The handle of the running server.

    Raises:
        InvalidArgumentError: a setting is out of range or the TLS settings
            are incomplete.
        UnavailableError: the address cannot be bound.
    """
    if workers < 1:
        raise errors.InvalidArgumentError(f"workers must be at least 1, got {workers}")
    if max_message_bytes < 1:
        raise errors.InvalidArgumentError(
            f"max_message_bytes must be positive, got {max_message_bytes}"
        )
    if not 0 <= port <= 65535:
        raise errors.InvalidArgumentError(f"port must be in 0..65535, got {port}")
    credentials = None
    if ssl_config is not None and ssl_config.ListFields():
        credentials = server_credentials(ssl_config)

    executor = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lineage-grpc")
    server = grpc.server(
        executor,
        options=[
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            # One process per port: a second server on the same port must fail.
            ("grpc.so_reuseport", 0),
        ],
    )
    servicer = MetadataStoreServicer(service)
    add_to_server(servicer, server)
    # The lineage extension service, when the service offers it, on the same port.
    lineage_service = getattr(service, "lineage", None)
    served = [SERVICE_NAME]
    if lineage_service is not None:
        add_to_server(LineageServicer(servicer, lineage_service), server)
        served.append(LINEAGE_SERVICE_NAME)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)

    address = _address(host, port)
    try:
        if credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, credentials)
    except RuntimeError as e:
        executor.shutdown(wait=False)
        raise errors.UnavailableError(f"cannot listen on {address}: {e}") from e
    if not bound:
        executor.shutdown(wait=False)
        raise errors.UnavailableError(f"cannot listen on {address}")

    server.start()
    for name in ("", *served):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    _log.info("serving %s on %s (%s)", " and ".join(served), _address(host, bound),
              "TLS" if credentials is not None else "plaintext")
    return ServerHandle(server, executor, servicer, health_servicer, host, bound, grace)
