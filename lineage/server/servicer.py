"""The gRPC servicer of ``ml_metadata.MetadataStoreService``.

Every RPC is a thin call into the same-named method of an in-process service
(``lineage.core.MetadataService``). The handlers are generated from the
service descriptor, so a new RPC in the .proto only needs its method in the
core service.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import grpc

from lineage import errors
from lineage.proto import metadata_store_service_pb2, metadata_store_service_pb2_grpc

__all__ = ["SERVICE_NAME", "RPC_NAMES", "MetadataStoreServicer", "add_to_server"]

_log = logging.getLogger(__name__)

_DESCRIPTOR = metadata_store_service_pb2.DESCRIPTOR.services_by_name["MetadataStoreService"]

#: Fully qualified gRPC service name, as health checks and reflection know it.
SERVICE_NAME: str = _DESCRIPTOR.full_name

#: Every RPC of the service, in declaration order.
RPC_NAMES: tuple[str, ...] = tuple(method.name for method in _DESCRIPTOR.methods)


class MetadataStoreServicer(metadata_store_service_pb2_grpc.MetadataStoreServiceServicer):
    """Serves every RPC by calling the same-named method of ``service``.

    ``lineage.errors.StatusError`` travels to the client with its own status
    code and message; any other exception becomes INTERNAL with a one-line
    message, and its traceback goes to the server log. Calls arriving after
    ``begin_shutdown`` get UNAVAILABLE, and ``wait_idle`` waits for those
    still running, so the store is never closed under a running call.
    """

    def __init__(self, service: Any):
        """Wraps a service.

        Args:
            service: An object with one method per RPC, such as
                ``lineage.core.MetadataService``; each takes the request
                message and returns the response message.
        """
        self._service = service
        self._idle = threading.Condition()
        self._in_flight = 0
        self._shutting_down = False

    @property
    def in_flight(self) -> int:
        """Number of calls currently inside the service."""
        with self._idle:
            return self._in_flight

    def begin_shutdown(self) -> None:
        """Refuses further calls with UNAVAILABLE."""
        with self._idle:
            self._shutting_down = True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Waits until no call is inside the service.

        Args:
            timeout: Seconds to wait at most; None waits for ever.

        Returns:
            True when idle, False when the timeout passed first.
        """
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def _dispatch(self, rpc_name: str, request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, _Malformed):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{rpc_name}: the request is not a valid {request.type_name}: {request.detail}")
        with self._idle:
            refused = self._shutting_down
            if not refused:
                self._in_flight += 1
        if refused:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the metadata server is shutting down")
        try:
            status, message = self._call(rpc_name, request)
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()
        if status is None:
            return message
        # abort() raises, so it stays outside the try block above.
        context.abort(status, message)

    def _call(self, rpc_name: str, request: Any) -> tuple[grpc.StatusCode | None, Any]:
        """Runs one RPC; returns (None, response) or (status, error message)."""
        method: Callable[[Any], Any] | None = getattr(self._service, rpc_name, None)
        if method is None:
            return grpc.StatusCode.UNIMPLEMENTED, f"{rpc_name} is not implemented by this server"
        try:
            return None, method(request)
        except errors.StatusError as e:
            status = e.grpc_status_code()
            if status == grpc.StatusCode.OK:
                # A failure must never reach the client as success.
                status = grpc.StatusCode.UNKNOWN
            _log.debug("%s failed with %s: %s", rpc_name, status.name, e.message)
            return status, e.message
        except Exception as e:  # noqa: BLE001 - every failure must reach the client as a status
            _log.exception("%s failed with an unexpected error", rpc_name)
            first_line = (str(e).strip().splitlines() or [""])[0]
            detail = f"{type(e).__name__}: {first_line}" if first_line else type(e).__name__
            return grpc.StatusCode.INTERNAL, f"{rpc_name}: internal error: {detail}"


def _make_handler(rpc_name: str) -> Callable[..., Any]:
    def handler(self: MetadataStoreServicer, request: Any, context: grpc.ServicerContext) -> Any:
        return self._dispatch(rpc_name, request, context)

    handler.__name__ = rpc_name
    handler.__qualname__ = f"{MetadataStoreServicer.__name__}.{rpc_name}"
    handler.__doc__ = f"Serves {SERVICE_NAME}/{rpc_name}."
    return handler


for _method in _DESCRIPTOR.methods:
    if _method.client_streaming or _method.server_streaming:
        raise TypeError(f"{SERVICE_NAME}/{_method.name} is streaming; only unary calls are served")
    setattr(MetadataStoreServicer, _method.name, _make_handler(_method.name))
del _method


class _Malformed:
    """Stands for a request body that did not parse, so the handler can answer INVALID_ARGUMENT."""

    def __init__(self, type_name: str, detail: str):
        self.type_name = type_name
        self.detail = detail


def _deserializer(message_class) -> Callable[[bytes], Any]:
    # gRPC answers INTERNAL when a deserializer raises; a body that is not the
    # request message is the client's mistake, so it is handed on instead.
    def parse(data: bytes) -> Any:
        try:
            return message_class.FromString(data)
        except Exception as e:  # noqa: BLE001 - DecodeError, or RecursionError on deep nesting
            return _Malformed(message_class.DESCRIPTOR.full_name, f"{type(e).__name__}: {e}")
    return parse


def add_to_server(servicer: MetadataStoreServicer, server: grpc.Server) -> None:
    """Registers every RPC of the servicer on ``server``.

    As the generated ``add_MetadataStoreServiceServicer_to_server``, except
    that a request body that does not parse gets INVALID_ARGUMENT.
    """
    handlers = {}
    for method in _DESCRIPTOR.methods:
        request_class = getattr(metadata_store_service_pb2, method.input_type.name)
        response_class = getattr(metadata_store_service_pb2, method.output_type.name)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name),
            request_deserializer=_deserializer(request_class),
            response_serializer=response_class.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
