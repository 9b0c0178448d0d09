"""The lineage engine: one method per RPC of ``lineage.v1.LineageService``.

``LineageService`` answers the questions MLMD cannot (unbounded
upstream/downstream, impact, diff, context DAGs, cache checks, purge, as-of)
on top of the ``Backend`` protocol. The in-process ``store.lineage`` facade
and the gRPC server call the same methods with the same request messages, so
an answer cannot differ by how it was asked. Each call runs in one backend
transaction.

Streaming RPCs (``Trace``, ``ContextDag``) return the chunks the server
sends one by one (``GraphChunks``, each chunk made when it is read); the
whole answer is computed in one reading transaction first, so the chunks
describe one moment of the store.
``Export`` instead returns an iterator that reads each chunk as it is asked
for, inside one transaction held until the last one, so a whole store never
sits in memory; ``Import`` takes any iterable of chunks.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, overload

from lineage import errors, traversal
from lineage.backends.base import ListQuery
from lineage.cache import fingerprint, input_key
from lineage.core import _now_ms, _reads, check_request, run_writing
from lineage.proto import lineage_service_pb2 as lsvc
from lineage.proto import metadata_store_pb2 as pb

if TYPE_CHECKING:
    from lineage.backends.base import Backend, Kind
    from lineage.core import MetadataService

__all__ = [
    "LineageService",
    "GraphChunks",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_SAMPLE_SIZE",
    "KIND_NAMES",
    "REUSABLE_EXECUTION_STATES",
    "property_value",
]

#: Records (nodes, events) per streamed graph chunk unless a request asks otherwise.
DEFAULT_CHUNK_SIZE = 2000
#: Records per backend call while a store is imported.
DEFAULT_TRANSFER_BATCH = 500
#: Nodes a purge answer lists as a sample unless the request asks otherwise.
DEFAULT_SAMPLE_SIZE = 10

#: NodeKind enum value -> backend kind name.
KIND_NAMES: dict[int, "Kind"] = {lsvc.ARTIFACT: "artifact", lsvc.EXECUTION: "execution", lsvc.CONTEXT: "context"}
_KIND_ENUMS = {name: value for value, name in KIND_NAMES.items()}

#: Execution states whose outputs a cache check may hand out again.
REUSABLE_EXECUTION_STATES = frozenset({pb.Execution.COMPLETE, pb.Execution.CACHED})

_DIRECTIONS = {lsvc.UPSTREAM: traversal.UPSTREAM, lsvc.DOWNSTREAM: traversal.DOWNSTREAM}

_STATE_ENUMS = {"artifact": pb.Artifact.State, "execution": pb.Execution.State}


def property_value(value: pb.Value) -> Any:
    """A Value as plain data: the scalar, a struct as a dict, a proto as {"type_url": ...}."""
    from google.protobuf import json_format

    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if which == "proto_value":
        return {"type_url": value.proto_value.type_url}
    return getattr(value, which)


def _walker(backend: "Backend") -> Callable[..., traversal.Reach]:
    """The backend's native traversal when it has one, else the generic walk over its events.

    A backend whose ``traverses_as_of`` is true also takes ``as_of_ms`` there and
    answers as the generic walk over ``_AsOf`` would.
    """
    native = getattr(backend, "traverse", None)
    return native if native is not None else functools.partial(traversal.traverse, backend)


class _AsOf:
    """A read-only view of a backend as it stood at one moment, for the generic walk.

    Only events recorded at or before the moment whose two nodes were both
    created by then are seen. Node records themselves are the current ones:
    the store keeps no property or state history.
    """

    def __init__(self, backend: "Backend", moment_ms: int):
        self._backend = backend
        self._moment = moment_ms

    def existing(self, kind: "Kind", ids: Iterable[int]) -> set[int]:
        """The ids among ``ids`` whose nodes were created at or before the moment."""
        return {n.id for n in self._backend.get_nodes(kind, ids) if n.create_time_since_epoch <= self._moment}

    def get_events(self, *, artifact_ids: Iterable[int] | None = None,
                   execution_ids: Iterable[int] | None = None) -> list[pb.Event]:
        events = [
            e for e in self._backend.get_events(artifact_ids=artifact_ids, execution_ids=execution_ids)
            if not e.HasField("milliseconds_since_epoch") or e.milliseconds_since_epoch <= self._moment
        ]
        if not events:
            return events
        artifacts = self.existing("artifact", {e.artifact_id for e in events})
        executions = self.existing("execution", {e.execution_id for e in events})
        return [e for e in events if e.artifact_id in artifacts and e.execution_id in executions]


@dataclasses.dataclass
class _Graph:
    """A graph answer as plain lists of the backend's protos, before it is put into chunks."""

    artifacts: list
    executions: list
    events: list
    artifact_types: list
    execution_types: list


class GraphChunks(Sequence[lsvc.GraphChunk]):
    """A graph answer as the chunks a server streams, each built only when it is asked for.

    The server serializes one chunk at a time, so only that chunk's copy of
    the records exists at once. ``graph`` holds the answer's own protos: the
    in-process facade reads them there and copies nothing, while a chunk
    (``GraphChunk`` copies its records) is only made for the wire.
    """

    def __init__(self, graph: _Graph, size: int):
        self.graph = graph
        self._size = size
        fields = ("artifacts", "executions", "events")
        self._count = max([1] + [-(-len(getattr(graph, f)) // size) for f in fields])

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, n: int) -> lsvc.GraphChunk: ...

    @overload
    def __getitem__(self, n: slice) -> list[lsvc.GraphChunk]: ...

    def __getitem__(self, n):
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(self._count))]
        if n < 0:
            n += self._count
        if not 0 <= n < self._count:
            raise IndexError(n)
        graph, size = self.graph, self._size
        chunk = lsvc.GraphChunk()
        part = chunk.graph
        part.SetInParent()
        for field in ("artifacts", "executions", "events"):
            getattr(part, field).extend(getattr(graph, field)[n * size:(n + 1) * size])
        if n == 0:
            # Types go first.
            part.artifact_types.extend(graph.artifact_types)
            part.execution_types.extend(graph.execution_types)
        return chunk


def _max_nodes(request: Any) -> int | None:
    """The request's max_nodes, checked; None when unset."""
    if not request.HasField("max_nodes"):
        return None
    if request.max_nodes < 0:
        raise errors.InvalidArgumentError(f"max_nodes must be >= 0, got {request.max_nodes}")
    return request.max_nodes


def _bounded(artifact_ids: Iterable[int], execution_ids: Iterable[int], limit: int | None, what: str) -> None:
    """Refuses an answer of more than ``limit`` nodes, before a single node is read.

    The message gives the answer's size, so a caller learns how big it is
    without receiving it.
    """
    if limit is None:
        return
    artifacts, executions = len(set(artifact_ids)), len(set(execution_ids))
    if artifacts + executions > limit:
        raise errors.ResourceExhaustedError(
            f"{what} holds {artifacts + executions} nodes ({artifacts} artifacts, {executions} executions), "
            f"more than max_nodes {limit}: raise max_nodes, bound the walk with max_hops, or start "
            "from fewer nodes")


def _chunk_size(request: Any) -> int:
    if request.chunk_size < 0:
        raise errors.InvalidArgumentError(f"chunk_size must be >= 0, got {request.chunk_size}")
    return request.chunk_size or DEFAULT_CHUNK_SIZE


class LineageService:
    """Implements the RPCs of ``lineage.v1.LineageService`` over one store.

    Method names match the RPC names; each takes the request proto and returns
    the response proto (a list of chunks for streaming RPCs), raising
    ``lineage.errors.*`` on failure.
    """

    def __init__(self, metadata: "MetadataService"):
        self._metadata = metadata
        self.backend = metadata.backend

    # -- shared pieces ----------------------------------------------------------
    def _require(self, kind: "Kind", ids: Iterable[int]) -> list:
        ids = sorted(set(ids))
        found = self.backend.get_nodes(kind, ids)
        missing = sorted(set(ids) - {n.id for n in found})
        if missing:
            raise errors.NotFoundError(f"no {kind} with id {', '.join(map(str, missing))}")
        return found

    @staticmethod
    def _moment(request: Any) -> int | None:
        """The request's as_of_ms, checked; None when unset."""
        if not request.HasField("as_of_ms"):
            return None
        moment = request.as_of_ms
        if moment < 0:
            raise errors.InvalidArgumentError(f"as_of_ms {moment} is before the Unix epoch")
        if moment > _now_ms():
            raise errors.InvalidArgumentError(
                f"as_of_ms {moment} is in the future; the store cannot know what it will hold")
        return moment

    def _graph(self, artifact_ids, execution_ids, events) -> _Graph:
        backend = self.backend
        artifacts = backend.get_nodes("artifact", artifact_ids)
        executions = backend.get_nodes("execution", execution_ids)
        return _Graph(
            artifacts=artifacts,
            executions=executions,
            events=sorted(events, key=lambda e: (e.execution_id, e.artifact_id, e.type)),
            artifact_types=backend.get_types("artifact", {a.type_id for a in artifacts}),
            execution_types=backend.get_types("execution", {e.type_id for e in executions}),
        )

    def _walk(self, request: lsvc.TraceRequest) -> _Graph:
        limit = _max_nodes(request)
        artifact_ids, execution_ids = list(request.artifact_ids), list(request.execution_ids)
        if not artifact_ids and not execution_ids:
            raise errors.InvalidArgumentError("give at least one of artifact_ids or execution_ids to start from")
        if request.direction not in _DIRECTIONS:
            raise errors.InvalidArgumentError("TraceRequest.direction must be UPSTREAM or DOWNSTREAM")
        max_hops = request.max_hops if request.HasField("max_hops") else None
        if max_hops is not None and max_hops < 0:
            raise errors.InvalidArgumentError(f"max_hops must be >= 0, got {max_hops}")
        event_types = list(request.event_types.types) if request.HasField("event_types") else None
        moment = self._moment(request)
        options = dict(direction=_DIRECTIONS[request.direction], max_hops=max_hops, event_types=event_types)
        if moment is None:
            reach = _walker(self.backend)(artifact_ids, execution_ids, **options)
        else:
            view = _AsOf(self.backend, moment)
            # A node made after the moment did not exist then: it cannot be a starting point.
            for kind, ids in (("artifact", artifact_ids), ("execution", execution_ids)):
                self._require(kind, ids)
                absent = sorted(set(ids) - view.existing(kind, ids))
                if absent:
                    raise errors.NotFoundError(
                        f"no {kind} with id {', '.join(map(str, absent))} existed at as_of_ms {moment}")
            if getattr(self.backend, "traverses_as_of", False):
                reach = self.backend.traverse(artifact_ids, execution_ids, as_of_ms=moment, **options)
            else:
                reach = traversal.traverse(view, artifact_ids, execution_ids, **options)
        # Checked after the walk: a missing node has no events, so the walk is harmless,
        # and a native walk that brings the nodes it reaches along makes this check free.
        self._require("artifact", artifact_ids)
        self._require("execution", execution_ids)
        where = "upstream" if request.direction == lsvc.UPSTREAM else "downstream"
        _bounded(reach.artifact_ids, reach.execution_ids, limit, f"the walk {where}")
        return self._graph(reach.artifact_ids, reach.execution_ids, reach.events)

    # -- traversal --------------------------------------------------------------
    @_reads
    def Trace(self, request: lsvc.TraceRequest) -> GraphChunks:
        size = _chunk_size(request)
        return GraphChunks(self._walk(request), size)

    @_reads
    def Impacted(self, request: lsvc.ImpactedRequest) -> lsvc.ImpactedResponse:
        if not request.HasField("artifact_id"):
            raise errors.InvalidArgumentError("ImpactedRequest.artifact_id is required")
        walk = lsvc.TraceRequest(artifact_ids=[request.artifact_id], direction=lsvc.DOWNSTREAM)
        if request.HasField("as_of_ms"):
            walk.as_of_ms = request.as_of_ms
        if request.HasField("max_nodes"):
            walk.max_nodes = request.max_nodes
        graph = self._walk(walk)
        wanted = request.artifact_type if request.HasField("artifact_type") else None
        response = lsvc.ImpactedResponse()
        response.artifacts.extend(
            a for a in graph.artifacts
            if a.id != request.artifact_id and (wanted is None or a.type == wanted))
        return response

    @_reads
    def ContextDag(self, request: lsvc.ContextDagRequest) -> GraphChunks:
        if not request.HasField("context_id"):
            raise errors.InvalidArgumentError("ContextDagRequest.context_id is required")
        size = _chunk_size(request)
        limit = _max_nodes(request)
        backend = self.backend
        self._require("context", [request.context_id])
        execution_ids = [e for e, _ in backend.get_context_links("execution", context_ids=[request.context_id])]
        events = backend.get_events(execution_ids=execution_ids)
        _bounded({e.artifact_id for e in events}, execution_ids, limit, f"context {request.context_id}")
        return GraphChunks(self._graph({e.artifact_id for e in events}, execution_ids, events), size)

    @_reads
    def Diff(self, request: lsvc.DiffRequest) -> lsvc.DiffResponse:
        for field in ("artifact_a", "artifact_b"):
            if not request.HasField(field):
                raise errors.InvalidArgumentError(f"DiffRequest.{field} is required")
        ids = (request.artifact_a, request.artifact_b)
        self._require("artifact", ids)
        a, b = (self.backend.get_nodes("artifact", [i])[0] for i in ids)
        if a.type_id != b.type_id:
            raise errors.InvalidArgumentError(
                f"artifact {a.id} is a {a.type!r} and artifact {b.id} a {b.type!r}: diff compares "
                "artifacts of one type")
        response = lsvc.DiffResponse(artifact_a=a, artifact_b=b)
        values_a, values_b = _property_values(a), _property_values(b)
        for name in sorted(set(values_a) | set(values_b)):
            value_a, value_b = values_a.get(name), values_b.get(name)
            plain_a = None if value_a is None else property_value(value_a)
            plain_b = None if value_b is None else property_value(value_b)
            if plain_a != plain_b:
                difference = response.differences.add(name=name)
                if value_a is not None:
                    difference.value_a.CopyFrom(value_a)
                if value_b is not None:
                    difference.value_b.CopyFrom(value_b)
        for field in ("uri", "state", "name"):
            if getattr(a, field) != getattr(b, field):
                difference = response.differences.add(name=f"@{field}")
                for side, node in ((difference.value_a, a), (difference.value_b, b)):
                    if field == "state":
                        side.int_value = node.state
                    else:
                        side.string_value = getattr(node, field)
        up_a, up_b = ({x.id for x in self._walk(lsvc.TraceRequest(
            artifact_ids=[i], direction=lsvc.UPSTREAM)).artifacts} - {i} for i in ids)
        response.inputs_only_a.extend(sorted(up_a - up_b))
        response.inputs_only_b.extend(sorted(up_b - up_a))
        return response

    # -- cache checks -----------------------------------------------------------
    def _step(self, step: lsvc.StepQuery) -> tuple[str, pb.ExecutionType]:
        """The fingerprint a step query asks about, and its execution type."""
        backend = self.backend
        which = step.WhichOneof("execution_type")
        if which == "type_id":
            found = backend.get_types("execution", [step.type_id])
        elif which == "type_name":
            one = backend.find_type("execution", step.type_name, None)
            found = [one] if one is not None else []
        else:
            raise errors.InvalidArgumentError("StepQuery.execution_type is required: set type_name or type_id")
        if not found:
            raise errors.InvalidArgumentError(
                f"execution_type {getattr(step, which)!r} names no execution type")
        type_ = found[0]
        if step.keyed:
            inputs: Any = {key: list(ids.artifact_ids) for key, ids in step.keyed_inputs.items()}
        else:
            inputs = list(step.input_ids)
        return fingerprint(type_.name, type_.version, inputs, dict(step.properties)), type_

    @_reads
    def CacheKey(self, request: lsvc.CacheKeyRequest) -> lsvc.CacheKeyResponse:
        return lsvc.CacheKeyResponse(key=self._step(request.step)[0])

    @_reads
    def FindReusableExecution(
        self, request: lsvc.FindReusableExecutionRequest
    ) -> lsvc.FindReusableExecutionResponse:
        backend = self.backend
        key, _ = self._step(request.step)
        response = lsvc.FindReusableExecutionResponse()
        for execution_id in backend.executions_by_fingerprint(key):
            found = backend.get_nodes("execution", [execution_id])
            if not found or found[0].last_known_state not in REUSABLE_EXECUTION_STATES:
                continue
            outputs = self._live_outputs(found[0])
            if outputs is not None:
                response.execution.CopyFrom(found[0])
                for output_key, artifacts in outputs.items():
                    response.outputs.add(key=output_key, artifacts=artifacts)
                break
        return response

    def _live_outputs(self, execution: pb.Execution) -> dict[str, list[pb.Artifact]] | None:
        """The execution's outputs by key, or None when one of them is not LIVE.

        Orchestrators (TFX, KFP) publish outputs as LIVE once a step succeeded;
        an output in any other state (PENDING, UNKNOWN, or on its way out) may
        not hold what the step wrote, so the run is not reused.
        """
        backend = self.backend
        events = [e for e in backend.get_events(execution_ids=[execution.id])
                  if e.type in traversal.OUTPUT_EVENT_TYPES]
        artifacts = {a.id: a for a in backend.get_nodes("artifact", {e.artifact_id for e in events})}
        outputs: dict[str, list[pb.Artifact]] = {}
        for event in events:
            artifact = artifacts[event.artifact_id]
            if artifact.state != pb.Artifact.LIVE:
                return None
            bucket = outputs.setdefault(input_key(event), [])
            if artifact not in bucket:
                bucket.append(artifact)
        return outputs

    # -- a whole store --------------------------------------------------------------
    def Export(self, request: lsvc.ExportRequest) -> Iterator[lsvc.StoreChunk]:
        """Streams every record; the chunks are read lazily inside one transaction."""
        from lineage.transfer import export_store

        check_request(request, writes=False)
        size = _chunk_size(request)
        return export_store(self.backend, size)

    def Import(self, chunks: Iterable[lsvc.StoreChunk]) -> lsvc.ImportResponse:
        """Writes an Export stream in one writing transaction: all of it or nothing."""
        from lineage.transfer import StoreImporter

        importer = StoreImporter(self._metadata, DEFAULT_TRANSFER_BATCH)
        try:
            # Not retried on a stale snapshot as other writes are: the stream is read once.
            with self.backend.transaction(write=True):
                return importer.run(chunks)
        except BaseException:
            if importer.committed:
                # The store was empty before; parts of the import were committed.
                self.backend.empty_store(importer.kept_type_ids)
            raise

    # -- purge ------------------------------------------------------------------
    def Purge(self, request: lsvc.PurgeRequest) -> lsvc.PurgeResponse:
        check_request(request, writes=False)
        if request.dry_run:
            with self.backend.transaction(write=False):
                return self._purge(request, delete=False)
        return run_writing(self.backend, lambda: self._purge(request, delete=True))

    def _selected(self, request: lsvc.PurgeRequest, kind: "Kind") -> list:
        """The nodes a purge request selects before following anything downstream."""
        backend = self.backend
        if not request.ids and not request.filter_query:
            raise errors.InvalidArgumentError(
                "a purge needs ids or a filter_query: it never selects a whole store by default")
        if request.HasField("older_than_ms") and request.older_than_ms < 0:
            raise errors.InvalidArgumentError(f"older_than_ms must be >= 0, got {request.older_than_ms}")
        # Ages count from when the call came in, not from when its reads are done.
        cutoff = _now_ms() - request.older_than_ms if request.HasField("older_than_ms") else None
        if request.states and kind == "context":
            raise errors.InvalidArgumentError("states select artifacts or executions; contexts have no state")
        enum = _STATE_ENUMS.get(kind)
        for state in request.states:
            if state not in enum.values():
                raise errors.InvalidArgumentError(f"states holds {state}, which is no {kind} state")
        if request.ids:
            nodes = self._require(kind, request.ids)
        if request.filter_query:
            from lineage.query import parse_filter

            matching = backend.list_nodes(kind, ListQuery(filter=parse_filter(request.filter_query, kind)))
            if request.ids:
                wanted = set(request.ids)
                matching = [n for n in matching if n.id in wanted]
            nodes = matching
        if cutoff is not None:
            nodes = [n for n in nodes if n.create_time_since_epoch < cutoff]
        if request.states:
            states = set(request.states)
            field = "state" if kind == "artifact" else "last_known_state"
            nodes = [n for n in nodes if getattr(n, field) in states]
        return nodes

    def _purge(self, request: lsvc.PurgeRequest, delete: bool) -> lsvc.PurgeResponse:
        backend = self.backend
        if request.kind not in KIND_NAMES:
            raise errors.InvalidArgumentError("PurgeRequest.kind is required: ARTIFACT, EXECUTION or CONTEXT")
        kind = KIND_NAMES[request.kind]
        if request.sample_size < 0:
            raise errors.InvalidArgumentError(f"sample_size must be >= 0, got {request.sample_size}")
        if request.with_downstream and kind == "context":
            raise errors.InvalidArgumentError(
                "with_downstream follows events from artifacts or executions; a context has none")
        roots = self._selected(request, kind)
        ids: dict[str, set[int]] = {"artifact": set(), "execution": set(), "context": set()}
        ids[kind] = {n.id for n in roots}
        if request.with_downstream and roots:
            reach = _walker(backend)(ids["artifact"], ids["execution"], direction=traversal.DOWNSTREAM)
            ids["artifact"] |= reach.artifact_ids
            ids["execution"] |= reach.execution_ids
        artifacts, executions, contexts = (sorted(ids[k]) for k in ("artifact", "execution", "context"))
        events = backend.get_events(artifact_ids=artifacts, execution_ids=executions) if (
            artifacts or executions) else []
        attributions = set(backend.get_context_links("artifact", node_ids=artifacts, context_ids=contexts))
        associations = set(backend.get_context_links("execution", node_ids=executions, context_ids=contexts))
        parents = set(backend.get_parent_contexts(child_ids=contexts, parent_ids=contexts))

        response = lsvc.PurgeResponse(
            artifacts=len(artifacts), executions=len(executions), contexts=len(contexts),
            events=len(events), attributions=len(attributions), associations=len(associations),
            parent_contexts=len(parents), deleted=delete,
        )
        sample_size = request.sample_size if request.HasField("sample_size") else DEFAULT_SAMPLE_SIZE
        for kind_name, node_ids in (("artifact", artifacts), ("execution", executions), ("context", contexts)):
            nodes = backend.get_nodes(kind_name, node_ids)
            by_type: dict[str, int] = {}
            for node in nodes:
                by_type[node.type] = by_type.get(node.type, 0) + 1
            for type_name in sorted(by_type):
                response.nodes.add(kind=_KIND_ENUMS[kind_name], type_name=type_name, count=by_type[type_name])
            for node in nodes[: max(0, sample_size - len(response.sample))]:
                response.sample.add(kind=_KIND_ENUMS[kind_name], id=node.id, type_name=node.type, name=node.name)
        if delete:
            # Executions that keep living but lose inputs or outputs get their cache
            # fingerprints recomputed from what is left, so no lookup can hit a purged record.
            gone = set(executions)
            survivors = {e.execution_id for e in events if e.execution_id not in gone}
            for kind_name, node_ids in (("artifact", artifacts), ("execution", executions), ("context", contexts)):
                if node_ids:
                    backend.delete_nodes(kind_name, node_ids)
            self._metadata._refresh_fingerprints(survivors)
        return response


def _property_values(node) -> dict[str, pb.Value]:
    """Properties and custom properties together; a property wins over a custom one of its name."""
    merged = dict(node.custom_properties.items())
    merged.update(node.properties.items())
    return merged

