"""The gRPC servicers: ``ml_metadata.MetadataStoreService`` and ``lineage.v1.LineageService``.

Every RPC is a thin call into the same-named method of an in-process service
(``lineage.core.MetadataService``, and its ``lineage`` for the extension
service). The handlers are generated from the service descriptors, so a new
RPC in a .proto only needs its method in the core service.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterator

import grpc

from lineage import errors
from lineage.proto import (
    lineage_service_pb2,
    lineage_service_pb2_grpc,
    metadata_store_service_pb2,
    metadata_store_service_pb2_grpc,
)

__all__ = [
    "SERVICE_NAME", "RPC_NAMES", "LINEAGE_SERVICE_NAME", "LINEAGE_RPC_NAMES",
    "MetadataStoreServicer", "LineageServicer", "add_to_server",
]

_log = logging.getLogger(__name__)

_DESCRIPTOR = metadata_store_service_pb2.DESCRIPTOR.services_by_name["MetadataStoreService"]

#: Fully qualified gRPC service name, as health checks and reflection know it.
SERVICE_NAME: str = _DESCRIPTOR.full_name

#: Every RPC of the service, in declaration order.
RPC_NAMES: tuple[str, ...] = tuple(method.name for method in _DESCRIPTOR.methods)

_LINEAGE_DESCRIPTOR = lineage_service_pb2.DESCRIPTOR.services_by_name["LineageService"]

#: Fully qualified name of the lineage extension service.
LINEAGE_SERVICE_NAME: str = _LINEAGE_DESCRIPTOR.full_name

#: Every RPC of the lineage extension service, in declaration order.
LINEAGE_RPC_NAMES: tuple[str, ...] = tuple(method.name for method in _LINEAGE_DESCRIPTOR.methods)


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

    def _admit(self, rpc_name: str, request: Any, context: grpc.ServicerContext) -> None:
        """Counts a call as in flight, or aborts it: malformed, past its deadline, or during shutdown.

        A call whose client's deadline has passed already is not run: the
        client has given up on it, and a write it made would be one the
        client takes for failed.
        """
        if isinstance(request, _Malformed):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"{rpc_name}: the request is not a valid {request.type_name}: {request.detail}")
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"{rpc_name}: the client's deadline passed before it ran")
        with self._idle:
            refused = self._shutting_down
            if not refused:
                self._in_flight += 1
        if refused:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the metadata server is shutting down")

    def _dispatch_stream(self, rpc_name: str, request: Any, context: grpc.ServicerContext,
                         target: Any) -> Iterator[Any]:
        """Runs a server-streaming RPC, counted as in flight until its last message is sent.

        The answer may be a lazy iterator (``Export``), so failures raised while
        it is read are mapped to a status just as failures of the call itself.
        """
        self._admit(rpc_name, request, context)
        answer: Any = None
        try:
            status, answer = self._call(target, rpc_name, request)
            if status is None:
                iterator = iter(answer)
                while True:
                    status, message = self._guarded(rpc_name, lambda: next(iterator, _DONE))
                    if status is not None:
                        answer = message
                        break
                    if message is _DONE:
                        break
                    yield message
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                # An answer left unread (the client went away) ends its transaction now.
                close()
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()
        if status is not None:
            # abort() raises, so it stays outside the try block above.
            context.abort(status, answer)

    def _dispatch(self, rpc_name: str, request: Any, context: grpc.ServicerContext,
                  target: Any = None) -> Any:
        """Runs one RPC on ``target`` (default: the wrapped service), counted as in flight."""
        self._admit(rpc_name, request, context)
        try:
            status, message = self._call(self._service if target is None else target, rpc_name, request)
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()
        if status is None:
            return message
        # abort() raises, so it stays outside the try block above.
        context.abort(status, message)

    @staticmethod
    def _call(target: Any, rpc_name: str, request: Any) -> tuple[grpc.StatusCode | None, Any]:
        """Runs one RPC; returns (None, response) or (status, error message)."""
        method: Callable[[Any], Any] | None = getattr(target, rpc_name, None)
        if method is None:
            return grpc.StatusCode.UNIMPLEMENTED, f"{rpc_name} is not implemented by this server"
        return MetadataStoreServicer._guarded(rpc_name, lambda: method(request))

    @staticmethod
    def _guarded(rpc_name: str, work: Callable[[], Any]) -> tuple[grpc.StatusCode | None, Any]:
        """Runs ``work``; returns (None, its result) or (status, error message)."""
        try:
            return None, work()
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


#: Marks the end of a streamed answer.
_DONE = object()


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


class LineageServicer(lineage_service_pb2_grpc.LineageServiceServicer):
    """Serves ``lineage.v1.LineageService`` by calling the same-named methods of a lineage service.

    Calls go through the MetadataStoreServicer of the same server, so both
    services share its error mapping, in-flight count and shutdown. A
    streaming RPC's answer is sent chunk by chunk as the service yields it;
    ``Import`` reads the client's stream of chunks as it arrives.
    """

    def __init__(self, metadata: MetadataStoreServicer, service: Any):
        """Wraps a lineage service.

        Args:
            metadata: The server's MetadataStoreServicer.
            service: One method per RPC, such as ``lineage.lineage_service.LineageService``.
        """
        self._metadata = metadata
        self._service = service


def _make_lineage_handler(rpc_name: str, requests_stream: bool, responses_stream: bool) -> Callable[..., Any]:
    if responses_stream:
        def handler(self: LineageServicer, request: Any, context: grpc.ServicerContext) -> Any:
            return self._metadata._dispatch_stream(rpc_name, request, context, self._service)
    elif requests_stream:
        def handler(self: LineageServicer, requests: Any, context: grpc.ServicerContext) -> Any:
            return self._metadata._dispatch(rpc_name, _parsed(requests), context, self._service)
    else:
        def handler(self: LineageServicer, request: Any, context: grpc.ServicerContext) -> Any:
            return self._metadata._dispatch(rpc_name, request, context, self._service)

    handler.__name__ = rpc_name
    handler.__qualname__ = f"{LineageServicer.__name__}.{rpc_name}"
    handler.__doc__ = f"Serves {LINEAGE_SERVICE_NAME}/{rpc_name}."
    return handler


def _parsed(requests: Iterator[Any]) -> Iterator[Any]:
    """A client's stream of requests; one that did not parse ends it with InvalidArgumentError."""
    for request in requests:
        if isinstance(request, _Malformed):
            raise errors.InvalidArgumentError(f"a streamed message is not a valid {request.type_name}: {request.detail}")
        yield request


for _method in _LINEAGE_DESCRIPTOR.methods:
    if _method.client_streaming and _method.server_streaming:
        raise TypeError(f"{LINEAGE_SERVICE_NAME}/{_method.name} streams both ways; none may")
    setattr(LineageServicer, _method.name,
            _make_lineage_handler(_method.name, _method.client_streaming, _method.server_streaming))
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


def add_to_server(servicer: Any, server: grpc.Server) -> None:
    """Registers every RPC of a servicer of this module on ``server``.

    As the generated ``add_*Servicer_to_server`` functions, except that a
    request body that does not parse gets INVALID_ARGUMENT.

    Args:
        servicer: A MetadataStoreServicer or a LineageServicer.
        server: The gRPC server.
    """
    if isinstance(servicer, LineageServicer):
        descriptor, messages = _LINEAGE_DESCRIPTOR, lineage_service_pb2
    else:
        descriptor, messages = _DESCRIPTOR, metadata_store_service_pb2
    handlers = {}
    for method in descriptor.methods:
        request_class = getattr(messages, method.input_type.name)
        response_class = getattr(messages, method.output_type.name)
        if method.server_streaming:
            make = grpc.unary_stream_rpc_method_handler
        elif method.client_streaming:
            make = grpc.stream_unary_rpc_method_handler
        else:
            make = grpc.unary_unary_rpc_method_handler
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=_deserializer(request_class),
            response_serializer=response_class.SerializeToString)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(descriptor.full_name, handlers),))
