"""The MLMD-compatible Python API: ``MetadataStore`` and its list options.

Every public method turns its arguments into the request message of one RPC
of ``ml_metadata.MetadataStoreService``, sends it through ``_call`` and turns
the response back into plain values. ``_call`` goes either to an in-process
service (``lineage.core``, for a ``ConnectionConfig``) or over gRPC to a
metadata server (for a ``MetadataStoreClientConfig``); both paths raise
``lineage.errors`` classes, and both retry calls that end in ``AbortedError``.

Names, argument names, defaults and return shapes follow ml-metadata 1.17's
``ml_metadata.metadata_store.MetadataStore``, so existing callers only change
their imports.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import logging
import random
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Iterator, Protocol

import grpc
from google.protobuf import message as _message

from lineage import errors
from lineage.arguments import refuse_surrogates
from lineage.proto import (
    lineage_service_pb2_grpc,
    metadata_store_pb2,
    metadata_store_service_pb2,
    metadata_store_service_pb2_grpc,
)

if TYPE_CHECKING:
    from google.protobuf.message import Message

    from lineage.lineage import Lineage

__all__ = [
    "OrderByField",
    "ListOptions",
    "ExtraOptions",
    "MetadataStore",
    "downgrade_schema",
]

_log = logging.getLogger(__name__)

_pb = metadata_store_pb2
_svc = metadata_store_service_pb2

#: Page size requested from the service while collecting a listing.
_PAGE_SIZE = 100

#: Attempts per call when the configuration does not say otherwise.
_DEFAULT_MAX_NUM_RETRIES = 5

# Back-off between attempts after AbortedError: a conflicting transaction
# usually finishes within milliseconds, so the waits start small.
_BACKOFF_BASE_SEC = 0.02
_BACKOFF_CAP_SEC = 1.0

_LINEAGE_GRAPH_FIELDS = tuple(f.name for f in _pb.LineageGraph.DESCRIPTOR.fields)


@enum.unique
class OrderByField(enum.Enum):
    """Fields a listing can be ordered by; values are the proto enum numbers."""

    CREATE_TIME = _pb.ListOperationOptions.OrderByField.Field.CREATE_TIME
    UPDATE_TIME = _pb.ListOperationOptions.OrderByField.Field.LAST_UPDATE_TIME
    ID = _pb.ListOperationOptions.OrderByField.Field.ID


@dataclasses.dataclass
class ListOptions:
    """How to filter, order and bound a listing of nodes.

    Attributes:
        limit: Largest number of nodes to return; None (or 0) returns all.
        order_by: Field to sort by; None leaves the order to the store.
        is_asc: Sort ascending (the default) or descending.
        filter_query: A filter expression over node attributes and neighbours,
            in the syntax of ``ListOperationOptions.filter_query``.
    """

    limit: int | None = None
    order_by: OrderByField | None = None
    is_asc: bool = True
    filter_query: str | None = None


class ExtraOptions:
    """Per-call options of other MLMD deployments; accepted and ignored here."""

    def __init__(self, euc: Any = None):
        """Accepts and discards ``euc``, for signature compatibility.

        Args:
            euc: Ignored.
        """
        del euc


class _InvalidConfigError(errors.InvalidArgumentError, ValueError):
    """An unusable store configuration.

    It is also a ``ValueError`` because MLMD raises that for the same mistakes,
    so ``except ValueError`` in existing callers keeps working.
    """


_RUNTIME_VARIANTS: dict[type, type] = {}


def _also_runtime_error(error: errors.StatusError) -> errors.StatusError:
    """The same typed error, as an instance of a subclass that is also a ``RuntimeError``.

    MLMD raises ``RuntimeError`` whenever a database cannot be opened (an unset
    config, a schema it may not migrate), so ``except RuntimeError`` in existing
    callers keeps working.
    """
    cls = type(error)
    variant = _RUNTIME_VARIANTS.get(cls)
    if variant is None:
        variant = type(cls.__name__, (cls, RuntimeError), {"__doc__": cls.__doc__, "__module__": cls.__module__})
        _RUNTIME_VARIANTS[cls] = variant
    # Same frames and same cause (a driver's AuthError, say) as the original, so the
    # variant is that error and not a wrapper around it.
    return variant(error.message).with_traceback(error.__traceback__)


class _Service(Protocol):
    """The in-process service from ``lineage.core``: one method per RPC, plus close."""

    def close(self) -> None: ...


def _backoff_delay(attempt: int) -> float:
    """Returns a randomized, exponentially growing wait for retry ``attempt``."""
    ceiling = min(_BACKOFF_CAP_SEC, _BACKOFF_BASE_SEC * (2**attempt))
    return ceiling / 2 + random.uniform(0.0, ceiling / 2)


def _error_from_rpc(error: grpc.RpcError) -> errors.StatusError:
    """Maps a failed gRPC call to the matching ``lineage.errors`` class."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else None
    if not isinstance(code, grpc.StatusCode):
        code = grpc.StatusCode.UNKNOWN
    return errors.make_exception(details or code.name, code.value[0])


def _check_limit(limit: Any) -> None:
    # MLMD treats 0 like "no limit" and rejects only negative values.
    if limit is None:
        return
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise errors.InvalidArgumentError(
            f"list_options.limit must be a non-negative integer, got {limit!r}")


@refuse_surrogates
class MetadataStore:
    """A store of artifacts, executions, contexts, their types and lineage.

    Usable as a context manager; leaving the block closes the store.
    """

    def __init__(
        self,
        config: metadata_store_pb2.ConnectionConfig | metadata_store_pb2.MetadataStoreClientConfig,
        enable_upgrade_migration: bool = False,
    ):
        """Connects to a database or to a metadata server.

        Args:
            config: A ``ConnectionConfig`` opens the database in this process;
                a ``MetadataStoreClientConfig`` talks to a metadata server over
                gRPC.
            enable_upgrade_migration: Upgrade an older database schema to the
                current one. Only valid with a ``ConnectionConfig``; the server
                upgrades its own database.

        Raises:
            InvalidArgumentError: ``config`` is neither config type, or
                ``enable_upgrade_migration`` was asked of a gRPC client. The
                error is also a ``ValueError``.
            FailedPreconditionError: The database schema is older than this
                library and ``enable_upgrade_migration`` is False.

            Every error opening a ``ConnectionConfig`` (none set, a driver or
            server missing, a schema it may not migrate) is also a
            ``RuntimeError``, as MLMD raises.
        """
        self._config = config
        self._max_num_retries = _DEFAULT_MAX_NUM_RETRIES
        self._service: _Service | None = None
        self._channel: grpc.Channel | None = None
        self._stub: metadata_store_service_pb2_grpc.MetadataStoreServiceStub | None = None
        self._lineage_stub: lineage_service_pb2_grpc.LineageServiceStub | None = None
        self._timeout_sec: float | None = None
        self._closed = False

        if isinstance(config, _pb.ConnectionConfig):
            from lineage import core

            migration = _pb.MigrationOptions(enable_upgrade_migration=enable_upgrade_migration)
            if config.HasField("retry_options"):
                self._max_num_retries = config.retry_options.max_num_retries
            try:
                self._service = core.open_service(config, migration)
            except errors.StatusError as e:
                raise _also_runtime_error(e) from e.__cause__
            return

        if not isinstance(config, _pb.MetadataStoreClientConfig):
            raise _InvalidConfigError(
                "config must be a ConnectionConfig or a MetadataStoreClientConfig, "
                f"got {type(config).__name__}")
        if enable_upgrade_migration:
            raise _InvalidConfigError(
                "enable_upgrade_migration is not allowed with a MetadataStoreClientConfig; "
                "the metadata server upgrades its own database")
        if config.HasField("client_timeout_sec"):
            self._timeout_sec = config.client_timeout_sec
        self._channel = _open_channel(config)
        self._stub = metadata_store_service_pb2_grpc.MetadataStoreServiceStub(self._channel)
        self._lineage_stub = lineage_service_pb2_grpc.LineageServiceStub(self._channel)

    def __repr__(self) -> str:
        if self._stub is not None:
            where = f"grpc {_target(self._config)}"
        else:
            where = self._config.WhichOneof("config") or "default"
        state = ", closed" if self._closed else ""
        return f"<MetadataStore {where}{state}>"

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the channel or the database connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._channel is not None:
            self._channel.close()
        if self._service is not None:
            self._service.close()

    @property
    def pipeline_asset(self) -> None:
        """The pipeline asset of the store; always None, as in open-source MLMD."""
        return None

    @functools.cached_property
    def lineage(self) -> Lineage:
        """The lineage engine over this store: traversal, DAG export, cache checks, purge.

        Works the same in-process and against a metadata server (its
        ``lineage.v1.LineageService``).
        """
        from lineage.lineage import Lineage

        return Lineage(self)

    # -- plumbing ---------------------------------------------------------

    def _call(self, method_name: str, request: Message, *, lineage: bool = False) -> Any:
        """Sends ``request`` to RPC ``method_name`` and returns its response.

        With ``lineage`` the RPC is one of ``lineage.v1.LineageService``; a
        streaming one returns the list of its chunks.

        A call that ends in ``AbortedError`` (a conflicting concurrent
        transaction) is sent again after a short randomized back-off. As in
        MLMD, ``max_num_retries`` bounds the total number of attempts.

        Raises:
            AbortedError: Every attempt was aborted.
            FailedPreconditionError: The store was closed.
            StatusError: Whatever the service raised.
        """
        attempts = max(1, self._max_num_retries)
        attempt = 0
        while True:
            try:
                return self._invoke(method_name, request, lineage)
            except errors.AbortedError:
                attempt += 1
                if attempt >= attempts:
                    _log.warning("%s still aborted after %d attempts", method_name, attempts)
                    raise
                delay = _backoff_delay(attempt - 1)
                _log.info("%s aborted; retrying in %.3f s", method_name, delay)
                time.sleep(delay)

    def _invoke(self, method_name: str, request: Message, lineage: bool = False) -> Any:
        if self._closed:
            raise errors.FailedPreconditionError(
                f"{method_name}: the MetadataStore is closed")
        if self._stub is not None:
            rpc = getattr(self._lineage_stub if lineage else self._stub, method_name)
            try:
                response = rpc(request, timeout=self._timeout_sec)
                if not isinstance(response, _message.Message):
                    # A server stream: its chunks arrive while it is read, errors included.
                    response = list(response)
                return response
            except grpc.RpcError as e:
                raise _error_from_rpc(e) from e
        service = self._service.lineage if lineage else self._service
        return getattr(service, method_name)(request)

    def _stream(self, method_name: str, request: Message) -> Iterator[Any]:
        """Yields the messages of a streaming lineage RPC as they arrive, never all at once.

        Not retried: part of the answer may already have been handed on.
        Closing the iterator early ends the call (and its transaction).

        Raises:
            FailedPreconditionError: The store was closed.
            StatusError: Whatever the service raised, also while streaming.
        """
        if self._closed:
            raise errors.FailedPreconditionError(f"{method_name}: the MetadataStore is closed")
        if self._stub is None:
            answer = getattr(self._service.lineage, method_name)(request)
            try:
                yield from answer
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()
            return
        call = getattr(self._lineage_stub, method_name)(request, timeout=self._timeout_sec)
        try:
            yield from call
        except grpc.RpcError as e:
            raise _error_from_rpc(e) from e
        finally:
            call.cancel()

    def _list(
        self,
        method_name: str,
        field_name: str,
        request: Any,
        list_options: ListOptions | None,
    ) -> list:
        """Collects a paged listing, following next_page_token until done or at the limit."""
        limit = None
        if list_options is not None:
            _check_limit(list_options.limit)
            options = request.options
            options.max_result_size = _PAGE_SIZE
            options.order_by_field.is_asc = list_options.is_asc
            if list_options.order_by is not None:
                options.order_by_field.field = OrderByField(list_options.order_by).value
            if list_options.filter_query:
                options.filter_query = list_options.filter_query
            limit = list_options.limit or None

        results: list = []
        while True:
            if limit is not None:
                # Ask only for what is still missing so no result is thrown away.
                request.options.max_result_size = min(_PAGE_SIZE, limit - len(results))
            response = self._call(method_name, request)
            results.extend(getattr(response, field_name))
            if limit is not None and len(results) >= limit:
                return results[:limit]
            if not response.next_page_token:
                return results
            request.options.next_page_token = response.next_page_token

    # -- types --------------------------------------------------------------

    def put_artifact_type(
        self,
        artifact_type: metadata_store_pb2.ArtifactType,
        can_add_fields: bool = False,
        can_omit_fields: bool = False,
        extra_options: ExtraOptions | None = None,
    ) -> int:
        """Creates an artifact type, or updates the stored one of the same name and version.

        An update must stay compatible with stored artifacts: no property may
        change its value type.

        Args:
            artifact_type: The type; ``name`` is required, ``version`` optional.
            can_add_fields: Allow properties the stored type lacks.
            can_omit_fields: Allow leaving out properties the stored type has.
            extra_options: Ignored.

        Returns:
            The id of the type.

        Raises:
            AlreadyExistsError: The type conflicts with the stored one.
            InvalidArgumentError: No name, or a property has no value type.
        """
        request = _svc.PutArtifactTypeRequest(
            artifact_type=artifact_type,
            can_add_fields=can_add_fields,
            can_omit_fields=can_omit_fields,
        )
        return self._call("PutArtifactType", request).type_id

    def put_execution_type(
        self,
        execution_type: metadata_store_pb2.ExecutionType,
        can_add_fields: bool = False,
        can_omit_fields: bool = False,
        extra_options: ExtraOptions | None = None,
    ) -> int:
        """Creates an execution type, or updates the stored one of the same name and version.

        Args:
            execution_type: The type; ``name`` is required, ``version`` optional.
            can_add_fields: Allow properties the stored type lacks.
            can_omit_fields: Allow leaving out properties the stored type has.
            extra_options: Ignored.

        Returns:
            The id of the type.

        Raises:
            AlreadyExistsError: The type conflicts with the stored one.
            InvalidArgumentError: No name, or a property has no value type.
        """
        request = _svc.PutExecutionTypeRequest(
            execution_type=execution_type,
            can_add_fields=can_add_fields,
            can_omit_fields=can_omit_fields,
        )
        return self._call("PutExecutionType", request).type_id

    def put_context_type(
        self,
        context_type: metadata_store_pb2.ContextType,
        can_add_fields: bool = False,
        can_omit_fields: bool = False,
        extra_options: ExtraOptions | None = None,
    ) -> int:
        """Creates a context type, or updates the stored one of the same name and version.

        Args:
            context_type: The type; ``name`` is required, ``version`` optional.
            can_add_fields: Allow properties the stored type lacks.
            can_omit_fields: Allow leaving out properties the stored type has.
            extra_options: Ignored.

        Returns:
            The id of the type.

        Raises:
            AlreadyExistsError: The type conflicts with the stored one.
            InvalidArgumentError: No name, or a property has no value type.
        """
        request = _svc.PutContextTypeRequest(
            context_type=context_type,
            can_add_fields=can_add_fields,
            can_omit_fields=can_omit_fields,
        )
        return self._call("PutContextType", request).type_id

    def get_artifact_type(
        self,
        type_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.ArtifactType:
        """Fetches an artifact type by name and version.

        Args:
            type_name: Name of the type.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.

        Returns:
            The stored type.

        Raises:
            NotFoundError: No such type.
        """
        request = _svc.GetArtifactTypeRequest(type_name=type_name)
        if type_version:
            request.type_version = type_version
        return self._call("GetArtifactType", request).artifact_type

    def get_execution_type(
        self,
        type_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.ExecutionType:
        """Fetches an execution type by name and version.

        Args:
            type_name: Name of the type.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.

        Returns:
            The stored type.

        Raises:
            NotFoundError: No such type.
        """
        request = _svc.GetExecutionTypeRequest(type_name=type_name)
        if type_version:
            request.type_version = type_version
        return self._call("GetExecutionType", request).execution_type

    def get_context_type(
        self,
        type_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.ContextType:
        """Fetches a context type by name and version.

        Args:
            type_name: Name of the type.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.

        Returns:
            The stored type.

        Raises:
            NotFoundError: No such type.
        """
        request = _svc.GetContextTypeRequest(type_name=type_name)
        if type_version:
            request.type_version = type_version
        return self._call("GetContextType", request).context_type

    def get_artifact_types(
        self, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ArtifactType]:
        """Returns every artifact type.

        Args:
            extra_options: Ignored.
        """
        return list(self._call("GetArtifactTypes", _svc.GetArtifactTypesRequest()).artifact_types)

    def get_execution_types(
        self, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ExecutionType]:
        """Returns every execution type.

        Args:
            extra_options: Ignored.
        """
        response = self._call("GetExecutionTypes", _svc.GetExecutionTypesRequest())
        return list(response.execution_types)

    def get_context_types(
        self, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ContextType]:
        """Returns every context type.

        Args:
            extra_options: Ignored.
        """
        return list(self._call("GetContextTypes", _svc.GetContextTypesRequest()).context_types)

    def get_artifact_types_by_id(
        self, type_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ArtifactType]:
        """Fetches artifact types by id; unknown ids are skipped.

        Args:
            type_ids: Ids to look up.
            extra_options: Ignored.

        Returns:
            The types found, not aligned with ``type_ids``.
        """
        request = _svc.GetArtifactTypesByIDRequest(type_ids=type_ids)
        return list(self._call("GetArtifactTypesByID", request).artifact_types)

    def get_execution_types_by_id(
        self, type_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ExecutionType]:
        """Fetches execution types by id; unknown ids are skipped.

        Args:
            type_ids: Ids to look up.
            extra_options: Ignored.

        Returns:
            The types found, not aligned with ``type_ids``.
        """
        request = _svc.GetExecutionTypesByIDRequest(type_ids=type_ids)
        return list(self._call("GetExecutionTypesByID", request).execution_types)

    def get_context_types_by_id(
        self, type_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ContextType]:
        """Fetches context types by id; unknown ids are skipped.

        Args:
            type_ids: Ids to look up.
            extra_options: Ignored.

        Returns:
            The types found, not aligned with ``type_ids``.
        """
        request = _svc.GetContextTypesByIDRequest(type_ids=type_ids)
        return list(self._call("GetContextTypesByID", request).context_types)

    def get_artifact_types_by_external_ids(
        self, external_ids: Iterable[str], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ArtifactType]:
        """Fetches artifact types by external id; unknown ids are skipped.

        Args:
            external_ids: External ids to look up.
            extra_options: Ignored.

        Returns:
            The types found.
        """
        request = _svc.GetArtifactTypesByExternalIdsRequest(external_ids=external_ids)
        return list(self._call("GetArtifactTypesByExternalIds", request).artifact_types)

    def get_execution_types_by_external_ids(
        self, external_ids: Iterable[str], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ExecutionType]:
        """Fetches execution types by external id; unknown ids are skipped.

        Args:
            external_ids: External ids to look up.
            extra_options: Ignored.

        Returns:
            The types found.
        """
        request = _svc.GetExecutionTypesByExternalIdsRequest(external_ids=external_ids)
        return list(self._call("GetExecutionTypesByExternalIds", request).execution_types)

    def get_context_types_by_external_ids(
        self, external_ids: Iterable[str], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.ContextType]:
        """Fetches context types by external id; unknown ids are skipped.

        Args:
            external_ids: External ids to look up.
            extra_options: Ignored.

        Returns:
            The types found.
        """
        request = _svc.GetContextTypesByExternalIdsRequest(external_ids=external_ids)
        return list(self._call("GetContextTypesByExternalIds", request).context_types)

    # -- writing nodes and edges ---------------------------------------------

    def put_artifacts(
        self,
        artifacts: Sequence[metadata_store_pb2.Artifact],
        field_mask_paths: Sequence[str] | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[int]:
        """Inserts artifacts without an id and updates those with one.

        Args:
            artifacts: Artifacts to write. New ones need ``type_id``; a name
                must be unique within its type.
            field_mask_paths: When non-empty, updates change only these fields
                (e.g. ``"uri"``, ``"properties.p"``); inserts ignore it.
            extra_options: Ignored.

        Returns:
            The artifact ids, aligned with ``artifacts``.

        Raises:
            AlreadyExistsError: A name is taken within its type.
            InvalidArgumentError: A type is missing, changed, or a property
                does not match it.
        """
        request = _svc.PutArtifactsRequest(artifacts=artifacts)
        if field_mask_paths:
            request.update_mask.paths.extend(field_mask_paths)
        return list(self._call("PutArtifacts", request).artifact_ids)

    def put_executions(
        self,
        executions: Sequence[metadata_store_pb2.Execution],
        field_mask_paths: Sequence[str] | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[int]:
        """Inserts executions without an id and updates those with one.

        Args:
            executions: Executions to write. New ones need ``type_id``; a name
                must be unique within its type.
            field_mask_paths: When non-empty, updates change only these fields;
                inserts ignore it.
            extra_options: Ignored.

        Returns:
            The execution ids, aligned with ``executions``.

        Raises:
            AlreadyExistsError: A name is taken within its type.
            InvalidArgumentError: A type is missing, changed, or a property
                does not match it.
        """
        request = _svc.PutExecutionsRequest(executions=executions)
        if field_mask_paths:
            request.update_mask.paths.extend(field_mask_paths)
        return list(self._call("PutExecutions", request).execution_ids)

    def put_contexts(
        self,
        contexts: Sequence[metadata_store_pb2.Context],
        field_mask_paths: Sequence[str] | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[int]:
        """Inserts contexts without an id and updates those with one.

        Args:
            contexts: Contexts to write. New ones need ``type_id`` and a name
                unique within the type.
            field_mask_paths: When non-empty, updates change only these fields;
                inserts ignore it.
            extra_options: Ignored.

        Returns:
            The context ids, aligned with ``contexts``.

        Raises:
            AlreadyExistsError: A name is taken within its type.
            InvalidArgumentError: A type or name is missing, or a property
                does not match the type.
        """
        request = _svc.PutContextsRequest(contexts=contexts)
        if field_mask_paths:
            request.update_mask.paths.extend(field_mask_paths)
        return list(self._call("PutContexts", request).context_ids)

    def put_events(
        self,
        events: Sequence[metadata_store_pb2.Event],
        extra_options: ExtraOptions | None = None,
    ) -> None:
        """Records events linking artifacts and executions.

        Args:
            events: Events; each names an existing ``artifact_id`` and
                ``execution_id`` and has a ``type``.
            extra_options: Ignored.

        Raises:
            InvalidArgumentError: An id does not exist or the type is missing.
            AlreadyExistsError: The same event is already stored.
        """
        self._call("PutEvents", _svc.PutEventsRequest(events=events))

    def put_execution(
        self,
        execution: metadata_store_pb2.Execution,
        artifact_and_events: Sequence[
            tuple[metadata_store_pb2.Artifact, metadata_store_pb2.Event | None]
        ],
        contexts: Sequence[metadata_store_pb2.Context] | None,
        reuse_context_if_already_exist: bool = False,
        reuse_artifact_if_already_exist_by_external_id: bool = False,
        force_reuse_context: bool = False,
        force_update_time: bool = False,
        extra_options: ExtraOptions | None = None,
    ) -> tuple[int, list[int], list[int]]:
        """Writes one execution with its artifacts, events and contexts atomically.

        Args:
            execution: The execution to insert or update.
            artifact_and_events: ``(artifact, event)`` pairs; the event may be
                None or left out (a 1-tuple) to write only the artifact. The
                event's ids are filled in from the written nodes. Empty entries
                are skipped.
            contexts: Contexts to insert or update; the execution and every
                artifact are attached to each of them. May be None.
            reuse_context_if_already_exist: A new context whose name is already
                taken in its type reuses the stored one instead of failing.
            reuse_artifact_if_already_exist_by_external_id: A new artifact whose
                ``external_id`` is already stored updates that artifact.
            force_reuse_context: Contexts with an id are used as stored, without
                writing their fields.
            force_update_time: Bump the execution's update time even when
                nothing in it changed.
            extra_options: Ignored.

        Returns:
            ``(execution_id, artifact_ids, context_ids)``, the lists aligned
            with the inputs.

        Raises:
            InvalidArgumentError: A node or event does not fit the store.
            AlreadyExistsError: A new node collides with a stored one.
        """
        request = _svc.PutExecutionRequest(
            execution=execution,
            contexts=contexts,
            options=_svc.PutExecutionRequest.Options(
                reuse_context_if_already_exist=reuse_context_if_already_exist,
                reuse_artifact_if_already_exist_by_external_id=(
                    reuse_artifact_if_already_exist_by_external_id),
                force_reuse_context=force_reuse_context,
                force_update_time=force_update_time,
            ),
        )
        for pair in artifact_and_events:
            if not pair:
                continue
            entry = request.artifact_event_pairs.add(artifact=pair[0])
            if len(pair) > 1 and pair[1] is not None:
                entry.event.CopyFrom(pair[1])
        response = self._call("PutExecution", request)
        return response.execution_id, list(response.artifact_ids), list(response.context_ids)

    def put_lineage_subgraph(
        self,
        executions: Sequence[metadata_store_pb2.Execution],
        artifacts: Sequence[metadata_store_pb2.Artifact],
        contexts: Sequence[metadata_store_pb2.Context],
        event_edges: Sequence[tuple[int | None, int | None, metadata_store_pb2.Event]],
        reuse_context_if_already_exist: bool = False,
        reuse_artifact_if_already_exist_by_external_id: bool = False,
        extra_options: ExtraOptions | None = None,
    ) -> tuple[list[int], list[int], list[int]]:
        """Writes executions, artifacts, contexts and the events between them atomically.

        Every execution and artifact is attached to every context.

        Args:
            executions: Executions to insert or update.
            artifacts: Artifacts to insert or update.
            contexts: Contexts to insert or reuse.
            event_edges: ``(execution_index, artifact_index, event)`` triples.
                An index points into ``executions`` / ``artifacts``; None means
                the event names the node by id instead. Where both are given
                they must agree.
            reuse_context_if_already_exist: A new context whose name is already
                taken in its type reuses the stored one instead of failing.
            reuse_artifact_if_already_exist_by_external_id: A new artifact whose
                ``external_id`` is already stored updates that artifact.
            extra_options: Ignored.

        Returns:
            ``(execution_ids, artifact_ids, context_ids)`` aligned with the inputs.

        Raises:
            InvalidArgumentError: A node or event does not fit the store.
            AlreadyExistsError: A new node collides with a stored one.
            OutOfRangeError: An index is outside its list.
        """
        request = _svc.PutLineageSubgraphRequest(
            executions=executions,
            artifacts=artifacts,
            contexts=contexts,
            options=_svc.PutLineageSubgraphRequest.Options(
                reuse_context_if_already_exist=reuse_context_if_already_exist,
                reuse_artifact_if_already_exist_by_external_id=(
                    reuse_artifact_if_already_exist_by_external_id),
            ),
        )
        for execution_index, artifact_index, event in event_edges:
            edge = request.event_edges.add(event=event)
            if execution_index is not None:
                edge.execution_index = execution_index
            if artifact_index is not None:
                edge.artifact_index = artifact_index
        response = self._call("PutLineageSubgraph", request)
        return (
            list(response.execution_ids),
            list(response.artifact_ids),
            list(response.context_ids),
        )

    def put_attributions_and_associations(
        self,
        attributions: Sequence[metadata_store_pb2.Attribution],
        associations: Sequence[metadata_store_pb2.Association],
        extra_options: ExtraOptions | None = None,
    ) -> None:
        """Attaches artifacts and executions to contexts; existing links are kept.

        Args:
            attributions: Artifact-to-context links.
            associations: Execution-to-context links.
            extra_options: Ignored.

        Raises:
            InvalidArgumentError: A link names a node that does not exist.
        """
        request = _svc.PutAttributionsAndAssociationsRequest(
            attributions=attributions, associations=associations)
        self._call("PutAttributionsAndAssociations", request)

    def put_parent_contexts(
        self,
        parent_contexts: Sequence[metadata_store_pb2.ParentContext],
        extra_options: ExtraOptions | None = None,
    ) -> None:
        """Records parent-child links between contexts.

        Args:
            parent_contexts: The links; both ids must exist.
            extra_options: Ignored.

        Raises:
            InvalidArgumentError: An id does not exist, or the link would make
                a cycle.
            AlreadyExistsError: The link is already stored.
        """
        request = _svc.PutParentContextsRequest(parent_contexts=parent_contexts)
        self._call("PutParentContexts", request)

    # -- reading nodes -----------------------------------------------------------

    def get_artifacts(
        self,
        list_options: ListOptions | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Artifact]:
        """Lists artifacts.

        Args:
            list_options: Filter, order and limit; None lists all.
            extra_options: Ignored.

        Returns:
            The matching artifacts.

        Raises:
            InvalidArgumentError: ``list_options`` is invalid.
        """
        return self._list("GetArtifacts", "artifacts", _svc.GetArtifactsRequest(), list_options)

    def get_executions(
        self,
        list_options: ListOptions | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Execution]:
        """Lists executions.

        Args:
            list_options: Filter, order and limit; None lists all.
            extra_options: Ignored.

        Returns:
            The matching executions.

        Raises:
            InvalidArgumentError: ``list_options`` is invalid.
        """
        return self._list("GetExecutions", "executions", _svc.GetExecutionsRequest(), list_options)

    def get_contexts(
        self,
        list_options: ListOptions | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Context]:
        """Lists contexts.

        Args:
            list_options: Filter, order and limit; None lists all.
            extra_options: Ignored.

        Returns:
            The matching contexts.

        Raises:
            InvalidArgumentError: ``list_options`` is invalid.
        """
        return self._list("GetContexts", "contexts", _svc.GetContextsRequest(), list_options)

    def get_artifacts_by_id(
        self, artifact_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Artifact]:
        """Fetches artifacts by id; unknown ids are skipped.

        Args:
            artifact_ids: Ids to look up.
            extra_options: Ignored.

        Returns:
            The artifacts found, not aligned with ``artifact_ids``.
        """
        request = _svc.GetArtifactsByIDRequest(artifact_ids=artifact_ids)
        return list(self._call("GetArtifactsByID", request).artifacts)

    def get_artifacts_and_types_by_artifact_ids(
        self, artifact_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> tuple[list[metadata_store_pb2.Artifact], list[metadata_store_pb2.ArtifactType]]:
        """Fetches artifacts by id together with their types, in one call.

        Args:
            artifact_ids: Ids to look up; unknown ids are skipped.
            extra_options: Ignored.

        Returns:
            ``(artifacts, artifact_types)``: the artifacts found and the
            distinct types they use.
        """
        request = _svc.GetArtifactsByIDRequest(
            artifact_ids=artifact_ids, populate_artifact_types=True)
        response = self._call("GetArtifactsByID", request)
        return list(response.artifacts), list(response.artifact_types)

    def get_executions_by_id(
        self, execution_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Execution]:
        """Fetches executions by id; unknown ids are skipped.

        Args:
            execution_ids: Ids to look up.
            extra_options: Ignored.

        Returns:
            The executions found, not aligned with ``execution_ids``.
        """
        request = _svc.GetExecutionsByIDRequest(execution_ids=execution_ids)
        return list(self._call("GetExecutionsByID", request).executions)

    def get_contexts_by_id(
        self, context_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Context]:
        """Fetches contexts by id; unknown ids are skipped.

        Args:
            context_ids: Ids to look up.
            extra_options: Ignored.

        Returns:
            The contexts found, not aligned with ``context_ids``.
        """
        request = _svc.GetContextsByIDRequest(context_ids=context_ids)
        return list(self._call("GetContextsByID", request).contexts)

    def get_artifacts_by_type(
        self,
        type_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Artifact]:
        """Returns the artifacts of one type.

        Args:
            type_name: Name of the type.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.
        """
        request = _svc.GetArtifactsByTypeRequest(type_name=type_name)
        if type_version:
            request.type_version = type_version
        return list(self._call("GetArtifactsByType", request).artifacts)

    def get_executions_by_type(
        self,
        type_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Execution]:
        """Returns the executions of one type.

        Args:
            type_name: Name of the type.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.
        """
        request = _svc.GetExecutionsByTypeRequest(type_name=type_name)
        if type_version:
            request.type_version = type_version
        return list(self._call("GetExecutionsByType", request).executions)

    def get_contexts_by_type(
        self,
        type_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Context]:
        """Returns the contexts of one type.

        Args:
            type_name: Name of the type.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.
        """
        request = _svc.GetContextsByTypeRequest(type_name=type_name)
        if type_version:
            request.type_version = type_version
        return list(self._call("GetContextsByType", request).contexts)

    def get_artifact_by_type_and_name(
        self,
        type_name: str,
        artifact_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.Artifact | None:
        """Fetches the artifact with a given name within a type.

        Args:
            type_name: Name of the type.
            artifact_name: Name of the artifact.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.

        Returns:
            The artifact, or None when there is none.
        """
        request = _svc.GetArtifactByTypeAndNameRequest(
            type_name=type_name, artifact_name=artifact_name)
        if type_version:
            request.type_version = type_version
        response = self._call("GetArtifactByTypeAndName", request)
        return response.artifact if response.HasField("artifact") else None

    def get_execution_by_type_and_name(
        self,
        type_name: str,
        execution_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.Execution | None:
        """Fetches the execution with a given name within a type.

        Args:
            type_name: Name of the type.
            execution_name: Name of the execution.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.

        Returns:
            The execution, or None when there is none.
        """
        request = _svc.GetExecutionByTypeAndNameRequest(
            type_name=type_name, execution_name=execution_name)
        if type_version:
            request.type_version = type_version
        response = self._call("GetExecutionByTypeAndName", request)
        return response.execution if response.HasField("execution") else None

    def get_context_by_type_and_name(
        self,
        type_name: str,
        context_name: str,
        type_version: str | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.Context | None:
        """Fetches the context with a given name within a type.

        Args:
            type_name: Name of the type.
            context_name: Name of the context.
            type_version: Version; None or empty means the unversioned type.
            extra_options: Ignored.

        Returns:
            The context, or None when there is none.
        """
        request = _svc.GetContextByTypeAndNameRequest(
            type_name=type_name, context_name=context_name)
        if type_version:
            request.type_version = type_version
        response = self._call("GetContextByTypeAndName", request)
        return response.context if response.HasField("context") else None

    def get_artifacts_by_uri(
        self, uri: str, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Artifact]:
        """Returns the artifacts stored under one URI.

        Args:
            uri: The exact URI.
            extra_options: Ignored.
        """
        request = _svc.GetArtifactsByURIRequest(uris=[uri])
        return list(self._call("GetArtifactsByURI", request).artifacts)

    def get_artifacts_by_external_ids(
        self, external_ids: Iterable[str], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Artifact]:
        """Fetches artifacts by external id; unknown ids are skipped.

        Args:
            external_ids: External ids to look up.
            extra_options: Ignored.
        """
        request = _svc.GetArtifactsByExternalIdsRequest(external_ids=external_ids)
        return list(self._call("GetArtifactsByExternalIds", request).artifacts)

    def get_executions_by_external_ids(
        self, external_ids: Iterable[str], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Execution]:
        """Fetches executions by external id; unknown ids are skipped.

        Args:
            external_ids: External ids to look up.
            extra_options: Ignored.
        """
        request = _svc.GetExecutionsByExternalIdsRequest(external_ids=external_ids)
        return list(self._call("GetExecutionsByExternalIds", request).executions)

    def get_contexts_by_external_ids(
        self, external_ids: Iterable[str], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Context]:
        """Fetches contexts by external id; unknown ids are skipped.

        Args:
            external_ids: External ids to look up.
            extra_options: Ignored.
        """
        request = _svc.GetContextsByExternalIdsRequest(external_ids=external_ids)
        return list(self._call("GetContextsByExternalIds", request).contexts)

    # -- reading edges and neighbourhoods -------------------------------------

    def get_events_by_artifact_ids(
        self, artifact_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Event]:
        """Returns the events touching any of the given artifacts.

        Args:
            artifact_ids: Artifact ids.
            extra_options: Ignored.
        """
        request = _svc.GetEventsByArtifactIDsRequest(artifact_ids=artifact_ids)
        return list(self._call("GetEventsByArtifactIDs", request).events)

    def get_events_by_execution_ids(
        self, execution_ids: Iterable[int], extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Event]:
        """Returns the events touching any of the given executions.

        Args:
            execution_ids: Execution ids.
            extra_options: Ignored.
        """
        request = _svc.GetEventsByExecutionIDsRequest(execution_ids=execution_ids)
        return list(self._call("GetEventsByExecutionIDs", request).events)

    def get_contexts_by_artifact(
        self, artifact_id: int, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Context]:
        """Returns the contexts an artifact is attributed to.

        Args:
            artifact_id: The artifact.
            extra_options: Ignored.
        """
        request = _svc.GetContextsByArtifactRequest(artifact_id=artifact_id)
        return list(self._call("GetContextsByArtifact", request).contexts)

    def get_contexts_by_execution(
        self, execution_id: int, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Context]:
        """Returns the contexts an execution is associated with.

        Args:
            execution_id: The execution.
            extra_options: Ignored.
        """
        request = _svc.GetContextsByExecutionRequest(execution_id=execution_id)
        return list(self._call("GetContextsByExecution", request).contexts)

    def get_artifacts_by_context(
        self,
        context_id: int,
        list_options: ListOptions | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Artifact]:
        """Lists the artifacts attributed to a context.

        Args:
            context_id: The context.
            list_options: Filter, order and limit; None lists all in the
                store's own order.
            extra_options: Ignored.

        Raises:
            InvalidArgumentError: ``list_options`` is invalid.
        """
        request = _svc.GetArtifactsByContextRequest(context_id=context_id)
        return self._list("GetArtifactsByContext", "artifacts", request, list_options)

    def get_executions_by_context(
        self,
        context_id: int,
        list_options: ListOptions | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> list[metadata_store_pb2.Execution]:
        """Lists the executions associated with a context.

        Args:
            context_id: The context.
            list_options: Filter, order and limit; None lists all, newest
                first (create time, descending).
            extra_options: Ignored.

        Raises:
            InvalidArgumentError: ``list_options`` is invalid.
        """
        if list_options is None:
            list_options = ListOptions(order_by=OrderByField.CREATE_TIME, is_asc=False)
        request = _svc.GetExecutionsByContextRequest(context_id=context_id)
        return self._list("GetExecutionsByContext", "executions", request, list_options)

    def get_parent_contexts_by_context(
        self, context_id: int, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Context]:
        """Returns the parents of a context.

        Args:
            context_id: The child context.
            extra_options: Ignored.
        """
        request = _svc.GetParentContextsByContextRequest(context_id=context_id)
        return list(self._call("GetParentContextsByContext", request).contexts)

    def get_children_contexts_by_context(
        self, context_id: int, extra_options: ExtraOptions | None = None
    ) -> list[metadata_store_pb2.Context]:
        """Returns the children of a context.

        Args:
            context_id: The parent context.
            extra_options: Ignored.
        """
        request = _svc.GetChildrenContextsByContextRequest(context_id=context_id)
        return list(self._call("GetChildrenContextsByContext", request).contexts)

    # -- lineage -----------------------------------------------------------------

    def get_lineage_subgraph(
        self,
        query_options: metadata_store_pb2.LineageSubgraphQueryOptions,
        field_mask_paths: Sequence[str] | None = None,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.LineageGraph:
        """Traces the lineage around a set of starting nodes.

        Args:
            query_options: Starting nodes, hop limit, direction and stop
                conditions of the trace.
            field_mask_paths: ``LineageGraph`` fields to fill, e.g.
                ``["artifacts", "events"]``; the ``*_types`` fields bring the
                types of the nodes in the graph. None or empty fills all.
            extra_options: Ignored.

        Returns:
            The traced graph with the requested fields.

        Raises:
            InvalidArgumentError: The query options or a path are invalid.
        """
        paths = list(field_mask_paths) if field_mask_paths else list(_LINEAGE_GRAPH_FIELDS)
        wanted = set(paths)
        request = _svc.GetLineageSubgraphRequest(lineage_subgraph_query_options=query_options)
        # As below, a kind's types come only with its nodes.
        filled = [p for p in paths if not p.endswith("_types") or p.replace("_types", "s") in wanted]
        if self._service is not None and filled:
            # The service in this process fills every field the mask names, types
            # included, in one transaction.
            request.read_mask.paths.extend(filled)
            return self._call("GetLineageSubgraph", request).lineage_subgraph
        # A remote MLMD server leaves the types out; they are fetched below by node type ids.
        request.read_mask.paths.extend(p for p in paths if not p.endswith("_types"))
        skeleton = self._call("GetLineageSubgraph", request).lineage_subgraph

        graph = _pb.LineageGraph()
        if wanted & {"artifacts", "artifact_types"}:
            ids = [a.id for a in skeleton.artifacts]
            artifacts, artifact_types = (
                self.get_artifacts_and_types_by_artifact_ids(ids) if ids else ([], []))
            if "artifacts" in wanted:
                graph.artifacts.extend(artifacts)
            if "artifact_types" in wanted:
                graph.artifact_types.extend(artifact_types)
        if wanted & {"executions", "execution_types"}:
            ids = [e.id for e in skeleton.executions]
            executions = self.get_executions_by_id(ids) if ids else []
            if "executions" in wanted:
                graph.executions.extend(executions)
            if "execution_types" in wanted and executions:
                type_ids = sorted({e.type_id for e in executions})
                graph.execution_types.extend(self.get_execution_types_by_id(type_ids))
        if wanted & {"contexts", "context_types"}:
            ids = [c.id for c in skeleton.contexts]
            contexts = self.get_contexts_by_id(ids) if ids else []
            if "contexts" in wanted:
                graph.contexts.extend(contexts)
            if "context_types" in wanted and contexts:
                type_ids = sorted({c.type_id for c in contexts})
                graph.context_types.extend(self.get_context_types_by_id(type_ids))
        if "events" in wanted:
            graph.events.extend(skeleton.events)
        if "associations" in wanted:
            graph.associations.extend(skeleton.associations)
        if "attributions" in wanted:
            graph.attributions.extend(skeleton.attributions)
        return graph

    def get_lineage_graph(
        self,
        query_options: metadata_store_pb2.LineageGraphQueryOptions,
        extra_options: ExtraOptions | None = None,
    ) -> metadata_store_pb2.LineageGraph:
        """Traces the lineage around the artifacts chosen by a listing query.

        This is the older ``GetLineageGraph`` RPC, which MLMD's Python layer
        does not expose.

        Args:
            query_options: The starting artifacts (``artifacts_options``), stop
                conditions and node budget of the trace.
            extra_options: Ignored.

        Returns:
            The traced graph, with nodes, types and edges.

        Raises:
            InvalidArgumentError: The query options are invalid.
        """
        request = _svc.GetLineageGraphRequest(options=query_options)
        return self._call("GetLineageGraph", request).subgraph


def _target(config: metadata_store_pb2.MetadataStoreClientConfig) -> str:
    host = config.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # a bare IPv6 address
    return f"{host}:{config.port}"


def _open_channel(config: metadata_store_pb2.MetadataStoreClientConfig) -> grpc.Channel:
    """Opens an insecure or TLS channel as ``config`` describes."""
    options: list[tuple[str, Any]] = []
    if config.HasField("channel_arguments"):
        arguments = config.channel_arguments
        if arguments.HasField("max_receive_message_length"):
            options.append(("grpc.max_receive_message_length",
                            arguments.max_receive_message_length))
        if arguments.HasField("http2_max_ping_strikes"):
            options.append(("grpc.http2.max_ping_strikes", arguments.http2_max_ping_strikes))

    target = _target(config)
    if not config.HasField("ssl_config"):
        return grpc.insecure_channel(target, options=options)

    ssl = config.ssl_config

    def pem(field: str) -> bytes | None:
        return getattr(ssl, field).encode() if ssl.HasField(field) else None

    credentials = grpc.ssl_channel_credentials(
        root_certificates=pem("custom_ca"),
        private_key=pem("client_key"),
        certificate_chain=pem("server_cert"),
    )
    return grpc.secure_channel(target, credentials, options=options)


def downgrade_schema(
    config: metadata_store_pb2.ConnectionConfig, downgrade_to_schema_version: int
) -> None:
    """Migrates a database down to an older schema version, in one transaction.

    Afterwards only a library of that older version can open the database.

    Args:
        config: Connection to the database.
        downgrade_to_schema_version: The schema version to go back to; at
            least 0 and below the current version.

    Raises:
        InvalidArgumentError: The version is negative or not older than the
            current one, or ``config`` is not a ``ConnectionConfig``.
    """
    if downgrade_to_schema_version < 0:
        # Leads with MLMD's wording: callers match on it.
        raise errors.InvalidArgumentError(
            "downgrade_to_schema_version not specified: it must be 0 or more, "
            f"got {downgrade_to_schema_version}")
    if not isinstance(config, _pb.ConnectionConfig):
        raise _InvalidConfigError(
            f"config must be a ConnectionConfig, got {type(config).__name__}")
    from lineage import core

    core.downgrade_schema(config, downgrade_to_schema_version)
