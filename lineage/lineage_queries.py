"""MLMD's own lineage RPCs, GetLineageSubgraph and GetLineageGraph, on any backend.

They keep MLMD's limits (GetLineageSubgraph starts from at most the first 101
matching nodes and walks at most 100 hops; GetLineageGraph takes at most 100
artifacts and honours the node budget the request gives); the unbounded API
lives in ``lineage.lineage``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable, Iterable

from lineage import errors
from lineage.backends.base import ListQuery
from lineage.proto import metadata_store_pb2 as pb
from lineage.traversal import BOTH, DOWNSTREAM, UPSTREAM, Reach, traverse

if TYPE_CHECKING:
    from lineage.backends.base import Backend
    from lineage.core import MetadataService

__all__ = ["lineage_subgraph", "lineage_graph", "MAX_STARTING_NODES"]

MAX_STARTING_NODES = 100
#: Hops walked when a request leaves max_num_hops unset, as in MLMD.
DEFAULT_MAX_HOPS = 100
#: The most hops GetLineageSubgraph walks; MLMD caps larger requests to it.
MAX_HOPS = 100

_DIRECTIONS = {
    pb.LineageSubgraphQueryOptions.UPSTREAM: UPSTREAM,
    pb.LineageSubgraphQueryOptions.DOWNSTREAM: DOWNSTREAM,
    pb.LineageSubgraphQueryOptions.BIDIRECTIONAL: BOTH,
    pb.LineageSubgraphQueryOptions.DIRECTION_UNSPECIFIED: BOTH,
}

_ALL_PATHS = tuple(field.name for field in pb.LineageGraph.DESCRIPTOR.fields)


def _matching_ids(service: "MetadataService", kind: str, query: str, limit: int | None = None) -> list[int]:
    from lineage.query import parse_filter

    expr = parse_filter(query, kind)
    nodes = service.backend.list_nodes(kind, ListQuery(filter=expr, limit=limit))
    return [n.id for n in nodes]


def _walker(backend: "Backend") -> Callable[..., Reach]:
    """The backend's native traversal when it has one, else the generic walk over its events."""
    native = getattr(backend, "traverse", None)
    return native if native is not None else functools.partial(traverse, backend)


def _fill_graph(
    service: "MetadataService",
    graph: pb.LineageGraph,
    artifact_ids: Iterable[int],
    execution_ids: Iterable[int],
    paths: Iterable[str],
    walked: Iterable[pb.Event] | None = None,
) -> None:
    """Writes the nodes, the events among them, and their contexts into ``graph``.

    Args:
        service: The store.
        graph: The graph to fill.
        artifact_ids: Artifacts to include.
        execution_ids: Executions to include.
        paths: LineageGraph fields to fill (empty: all).
        walked: When given, the events a walk went along: those between included
            nodes are the graph's events; otherwise every event among the nodes.
    """
    backend = service.backend
    wanted = set(paths) or set(_ALL_PATHS)
    artifact_ids, execution_ids = sorted(set(artifact_ids)), sorted(set(execution_ids))
    artifacts = backend.get_nodes("artifact", artifact_ids)
    executions = backend.get_nodes("execution", execution_ids)
    if "artifacts" in wanted:
        graph.artifacts.extend(artifacts)
    if "executions" in wanted:
        graph.executions.extend(executions)
    if "events" in wanted:
        artifacts_in, executions_in = set(artifact_ids), set(execution_ids)
        events = backend.get_events(artifact_ids=artifact_ids) if walked is None else sorted(
            walked, key=lambda e: (e.execution_id, e.artifact_id, e.type))
        graph.events.extend(
            e for e in events if e.artifact_id in artifacts_in and e.execution_id in executions_in)
    if not wanted & {"contexts", "attributions", "associations", "context_types"}:
        contexts: list[pb.Context] = []
    else:
        attributions = backend.get_context_links("artifact", node_ids=artifact_ids)
        associations = backend.get_context_links("execution", node_ids=execution_ids)
        context_ids = sorted({c for _, c in attributions} | {c for _, c in associations})
        contexts = backend.get_nodes("context", context_ids)
    if "contexts" in wanted:
        graph.contexts.extend(contexts)
    if "attributions" in wanted:
        graph.attributions.extend(pb.Attribution(artifact_id=a, context_id=c) for a, c in attributions)
    if "associations" in wanted:
        graph.associations.extend(pb.Association(execution_id=e, context_id=c) for e, c in associations)
    for kind, nodes in (("artifact", artifacts), ("execution", executions), ("context", contexts)):
        if f"{kind}_types" in wanted:
            type_ids = sorted({n.type_id for n in nodes})
            getattr(graph, f"{kind}_types").extend(
                service._with_base_types(kind, backend.get_types(kind, type_ids))
            )


def lineage_subgraph(
    service: "MetadataService", options: pb.LineageSubgraphQueryOptions, read_mask: list[str],
    graph: pb.LineageGraph | None = None,
) -> pb.LineageGraph:
    """Answers GetLineageSubgraph, into ``graph`` when given (a response's own field: no copy).

    Raises:
        InvalidArgumentError: no starting nodes, a bad filter or a negative hop count.
        NotFoundError: the starting filter matches no node.
    """
    which = options.WhichOneof("starting_nodes")
    if which is None:
        raise errors.InvalidArgumentError(
            "LineageSubgraphQueryOptions.starting_nodes is required: set starting_artifacts or "
            "starting_executions"
        )
    start = getattr(options, which)
    if not start.filter_query:
        raise errors.InvalidArgumentError(f"LineageSubgraphQueryOptions.{which}.filter_query is required")
    max_hops = options.max_num_hops if options.HasField("max_num_hops") else DEFAULT_MAX_HOPS
    if max_hops < 0:
        raise errors.InvalidArgumentError(
            f"LineageSubgraphQueryOptions.max_num_hops must be >= 0, got {options.max_num_hops}"
        )
    # MLMD walks at most 100 hops, silently, whatever the request asks for.
    max_hops = min(max_hops, MAX_HOPS)
    kind = "artifact" if which == "starting_artifacts" else "execution"
    # MLMD 1.17 starts from the first 101 matches by id and silently ignores the
    # rest; a client that relies on that must get the same graph here.
    starting = _matching_ids(service, kind, start.filter_query, MAX_STARTING_NODES + 1)
    if not starting:
        raise errors.NotFoundError(
            f"LineageSubgraphQueryOptions.{which}.filter_query {start.filter_query!r} matches no {kind}"
        )
    stops: dict[str, set[int]] = {"artifact": set(), "execution": set()}
    excluded: dict[str, set[int]] = {"artifact": set(), "execution": set()}
    for field, ending_kind in (("ending_artifacts", "artifact"), ("ending_executions", "execution")):
        if options.HasField(field) and getattr(options, field).filter_query:
            ending = getattr(options, field)
            ids = set(_matching_ids(service, ending_kind, ending.filter_query))
            stops[ending_kind] = ids
            if not ending.include_ending_nodes:
                excluded[ending_kind] = ids
    start_artifacts = starting if kind == "artifact" else []
    start_executions = starting if kind == "execution" else []
    reach = _walker(service.backend)(
        start_artifacts, start_executions,
        direction=_DIRECTIONS[options.direction], max_hops=max_hops,
        stop_artifacts=stops["artifact"], stop_executions=stops["execution"],
    )
    # Ending nodes that are not kept are dropped, starting ones included.
    artifact_ids = reach.artifact_ids - excluded["artifact"]
    execution_ids = reach.execution_ids - excluded["execution"]
    # As in MLMD, the events are those the walk went along, not every event among
    # the nodes: one that only joins two nodes of the last hop (or ending nodes)
    # is left out.
    if graph is None:
        graph = pb.LineageGraph()
    _fill_graph(service, graph, artifact_ids, execution_ids, read_mask, reach.events)
    return graph


def lineage_graph(service: "MetadataService", options: pb.LineageGraphQueryOptions) -> pb.LineageGraph:
    """Answers the older GetLineageGraph: artifacts by filter, then both directions.

    Raises:
        InvalidArgumentError: no artifacts_options, or a bad filter or hop count.
    """
    if not options.HasField("artifacts_options"):
        raise errors.InvalidArgumentError("LineageGraphQueryOptions.artifacts_options is required")
    listing = options.artifacts_options
    from lineage.query import parse_filter

    expr = parse_filter(listing.filter_query, "artifact") if listing.filter_query else None
    page = listing.max_result_size if listing.max_result_size > 0 else MAX_STARTING_NODES
    starting = [
        a.id
        for a in service.backend.list_nodes(
            "artifact", ListQuery(filter=expr, limit=min(page, MAX_STARTING_NODES))
        )
    ]
    stop = options.stop_conditions
    if stop.max_num_hops < 0:
        raise errors.InvalidArgumentError(
            f"LineageGraphQueryOptions.stop_conditions.max_num_hops must be >= 0, got {stop.max_num_hops}"
        )
    max_hops = stop.max_num_hops if stop.HasField("max_num_hops") else 20
    boundary: dict[str, set[int]] = {"artifact": set(), "execution": set()}
    for field, kind in (("boundary_artifacts", "artifact"), ("boundary_executions", "execution")):
        if getattr(stop, field):
            # Nodes that fail the boundary filter end the walk and are left out.
            inside = set(_matching_ids(service, kind, getattr(stop, field)))
            every = {n.id for n in service.backend.list_nodes(kind, ListQuery())}
            boundary[kind] = every - inside
    reach = _walker(service.backend)(
        [a for a in starting if a not in boundary["artifact"]], [],
        direction=BOTH, max_hops=max_hops,
        stop_artifacts=boundary["artifact"], stop_executions=boundary["execution"],
    )
    artifact_ids = reach.artifact_ids - boundary["artifact"]
    execution_ids = reach.execution_ids - boundary["execution"]
    if options.max_node_size > 0 and len(artifact_ids) + len(execution_ids) > options.max_node_size:
        artifact_ids, execution_ids = _nearest(
            service, starting, artifact_ids, execution_ids, options.max_node_size
        )
    graph = pb.LineageGraph()
    _fill_graph(service, graph, artifact_ids, execution_ids, ())
    return graph


def _nearest(service, starting, artifact_ids, execution_ids, budget):
    """Keeps the ``budget`` nodes closest to the start, in breadth-first order."""
    kept_a: list[int] = []
    kept_e: list[int] = []
    frontier_a = [a for a in starting if a in artifact_ids]
    frontier_e: list[int] = []
    seen_a, seen_e = set(frontier_a), set()
    while (frontier_a or frontier_e) and len(kept_a) + len(kept_e) < budget:
        for a in frontier_a:
            if len(kept_a) + len(kept_e) < budget:
                kept_a.append(a)
        for e in frontier_e:
            if len(kept_a) + len(kept_e) < budget:
                kept_e.append(e)
        events = service.backend.get_events(artifact_ids=frontier_a, execution_ids=frontier_e)
        next_a = sorted({ev.artifact_id for ev in events if ev.artifact_id in artifact_ids} - seen_a)
        next_e = sorted({ev.execution_id for ev in events if ev.execution_id in execution_ids} - seen_e)
        seen_a.update(next_a)
        seen_e.update(next_e)
        frontier_a, frontier_e = next_a, next_e
    return set(kept_a), set(kept_e)
