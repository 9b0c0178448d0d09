"""The lineage API (``store.lineage``): provenance without MLMD's caps.

``upstream`` and ``downstream`` walk events as far as they go (or ``max_hops``)
from any number of starting nodes and return a ``ProvenanceGraph`` that can
be drawn (DOT, Mermaid), exported (networkx, JSON, MLMD's LineageGraph) or
ordered. ``impacted`` answers "what descends from this bad dataset",
``diff`` compares two artifacts and their inputs, and
``find_reusable_execution`` answers "did this step already run on these
inputs" from a fingerprint index, in time independent of history.

``purge`` deletes nodes with their edges (optionally everything downstream
of them), ``export_store`` / ``import_store`` move a whole store with its ids
and times (what ``lineage copy`` and ``lineage stats`` read), and ``as_of`` asks the walks about the store as it stood at a
moment. Every method builds one request of ``lineage.v1.LineageService`` and
makes one call: into ``lineage.lineage_service`` in-process, or to the
metadata server over gRPC, with the same answer either way.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

import networkx as nx
from lineage import errors, traversal
from lineage.arguments import refuse_surrogates
from lineage.cache import Inputs, canonical_value, input_key
from lineage.lineage_service import KIND_NAMES, GraphChunks, property_value
from lineage.proto import lineage_service_pb2 as lsvc
from lineage.proto import metadata_store_pb2 as pb

if TYPE_CHECKING:
    from lineage.metadata_store import MetadataStore

__all__ = [
    "Lineage", "ProvenanceGraph", "CacheHit", "ArtifactDiff", "PurgeReport", "NodeKey",
    "parse_duration", "as_of_ms",
]

#: A node of a provenance graph: ("artifact", id) or ("execution", id).
NodeKey = tuple[str, int]

def _properties(node) -> dict[str, Any]:
    merged = {k: property_value(v) for k, v in node.custom_properties.items()}
    merged.update((k, property_value(v)) for k, v in node.properties.items())
    return dict(sorted(merged.items()))


def _state_name(kind: str, node) -> str:
    if kind == "artifact":
        return pb.Artifact.State.Name(node.state)
    return pb.Execution.State.Name(node.last_known_state)


def _dot_text(text: str) -> str:
    """Escapes text for a quoted DOT label: backslashes, quotes and line breaks."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")


#: Characters a Mermaid quoted label cannot hold as they are, as Mermaid entity codes.
_MERMAID_ENTITIES = {
    "#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "\\": "#92;", "`": "#96;",
}


def _mermaid_text(text: str) -> str:
    """Escapes text for a quoted Mermaid label; line breaks become <br/>."""
    escaped = "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in text.replace("\r", ""))
    return escaped.replace("\n", "<br/>")


@dataclasses.dataclass
class ProvenanceGraph:
    """Artifacts, executions and the events between them.

    Attributes:
        artifacts: Artifact protos, ascending by id.
        executions: Execution protos, ascending by id.
        events: Event protos linking them.
        artifact_types: The types of the artifacts.
        execution_types: The types of the executions.
    """

    artifacts: list[pb.Artifact]
    executions: list[pb.Execution]
    events: list[pb.Event]
    artifact_types: list[pb.ArtifactType] = dataclasses.field(default_factory=list)
    execution_types: list[pb.ExecutionType] = dataclasses.field(default_factory=list)

    def _edges(self) -> list[tuple[NodeKey, NodeKey, pb.Event]]:
        edges = []
        for event in self.events:
            artifact, execution = ("artifact", event.artifact_id), ("execution", event.execution_id)
            if event.type in traversal.INPUT_EVENT_TYPES:
                edges.append((artifact, execution, event))
            else:
                edges.append((execution, artifact, event))
        return edges

    def to_networkx(self) -> nx.DiGraph:
        """Returns a DiGraph along the flow of data.

        Nodes are ``("artifact", id)`` / ``("execution", id)`` with attributes
        kind, id, type, name, uri (artifacts), state and properties; edges carry
        the event type name and the input/output key.
        """
        graph = nx.DiGraph()
        for kind, nodes in (("artifact", self.artifacts), ("execution", self.executions)):
            for node in nodes:
                attrs = {
                    "kind": kind,
                    "id": node.id,
                    "type": node.type,
                    "name": node.name,
                    "state": _state_name(kind, node),
                    "properties": _properties(node),
                }
                if kind == "artifact":
                    attrs["uri"] = node.uri
                graph.add_node((kind, node.id), **attrs)
        for source, target, event in self._edges():
            if source in graph and target in graph:
                graph.add_edge(
                    source, target, event_type=pb.Event.Type.Name(event.type), key=input_key(event)
                )
        return graph

    def to_lineage_graph(self) -> pb.LineageGraph:
        """Returns the graph as MLMD's LineageGraph proto."""
        graph = pb.LineageGraph()
        graph.artifacts.extend(self.artifacts)
        graph.executions.extend(self.executions)
        graph.events.extend(self.events)
        graph.artifact_types.extend(self.artifact_types)
        graph.execution_types.extend(self.execution_types)
        return graph

    def to_dict(self) -> dict[str, Any]:
        """Returns plain data: {"nodes": [...], "edges": [...]} in a stable order."""
        graph = self.to_networkx()
        nodes = [
            {"key": f"{kind}:{node_id}", **data}
            for (kind, node_id), data in sorted(graph.nodes(data=True))
        ]
        edges = [
            {"source": f"{s[0]}:{s[1]}", "target": f"{t[0]}:{t[1]}", **data}
            for s, t, data in sorted(graph.edges(data=True))
        ]
        return {"nodes": nodes, "edges": edges}

    def to_json(self, indent: int | None = 2) -> str:
        """Returns ``to_dict()`` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, default=str)

    @staticmethod
    def _label_lines(data: dict[str, Any]) -> list[str]:
        title = data["name"] or f"{data['kind']} {data['id']}"
        return [f"{data['type']} #{data['id']}", title, data["state"]]

    def to_dot(self) -> str:
        """Returns Graphviz DOT text: artifacts as ellipses, executions as boxes, left to right."""
        graph = self.to_networkx()
        lines = ["digraph provenance {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
        for (kind, node_id), data in sorted(graph.nodes(data=True)):
            shape = "ellipse" if kind == "artifact" else "box"
            label = "\\n".join(_dot_text(line) for line in self._label_lines(data))
            lines.append(f'  "{kind}:{node_id}" [shape={shape}, label="{label}"];')
        for source, target, data in sorted(graph.edges(data=True)):
            label = _dot_text(data["key"] or data["event_type"].lower())
            lines.append(f'  "{source[0]}:{source[1]}" -> "{target[0]}:{target[1]}" [label="{label}"];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_mermaid(self) -> str:
        """Returns a Mermaid flowchart (left to right): artifacts rounded, executions square."""
        graph = self.to_networkx()
        lines = ["flowchart LR"]
        for (kind, node_id), data in sorted(graph.nodes(data=True)):
            label = "<br/>".join(_mermaid_text(line) for line in self._label_lines(data))
            node = f"{kind[0]}{node_id}"
            lines.append(f'  {node}(["{label}"])' if kind == "artifact" else f'  {node}["{label}"]')
        for source, target, data in sorted(graph.edges(data=True)):
            label = _mermaid_text(data["key"] or data["event_type"].lower())
            lines.append(f'  {source[0][0]}{source[1]} -->|"{label}"| {target[0][0]}{target[1]}')
        return "\n".join(lines) + "\n"

    def topological_order(self) -> list[NodeKey]:
        """Returns the nodes so that every node comes after its inputs.

        Raises:
            FailedPreconditionError: the events form a cycle (written by a faulty client).
        """
        graph = self.to_networkx()
        try:
            return list(nx.lexicographical_topological_sort(graph))
        except nx.NetworkXUnfeasible as e:
            cycle = nx.find_cycle(graph)
            raise errors.FailedPreconditionError(
                f"the provenance graph has a cycle through {[edge[0] for edge in cycle]}"
            ) from e

    def __len__(self) -> int:
        return len(self.artifacts) + len(self.executions)


@dataclasses.dataclass(frozen=True)
class CacheHit:
    """A completed execution whose outputs can be reused.

    Attributes:
        execution: The matching execution.
        outputs: Output key -> output artifacts ("" for events without a key).
    """

    execution: pb.Execution
    outputs: dict[str, list[pb.Artifact]]


@dataclasses.dataclass(frozen=True)
class ArtifactDiff:
    """Two artifacts of one type, side by side.

    Attributes:
        artifact_a: The first artifact.
        artifact_b: The second artifact.
        properties: Name -> (value in a, value in b) for every property that differs
            (None where one side lacks it); properties and custom properties together.
        inputs_only_a: Upstream artifact ids of a that b does not share.
        inputs_only_b: Upstream artifact ids of b that a does not share.
    """

    artifact_a: pb.Artifact
    artifact_b: pb.Artifact
    properties: dict[str, tuple[Any, Any]]
    inputs_only_a: list[int]
    inputs_only_b: list[int]

    @property
    def same(self) -> bool:
        """True when nothing differs but the ids."""
        return not (self.properties or self.inputs_only_a or self.inputs_only_b)


@dataclasses.dataclass(frozen=True)
class PurgeReport:
    """What a purge removed, or in a dry run would remove.

    Attributes:
        deleted: True when the records are gone; False for a dry run.
        counts: Records by kind: artifacts, executions, contexts, events,
            attributions, associations, parent_contexts.
        by_type: (kind, type name, node count), by kind then type name.
        sample: (kind, id, type name, name) of the first nodes, by kind then id.
    """

    deleted: bool
    counts: dict[str, int]
    by_type: list[tuple[str, str, int]]
    sample: list[tuple[str, int, str, str]]

    @property
    def nodes(self) -> int:
        """Artifacts, executions and contexts together."""
        return self.counts["artifacts"] + self.counts["executions"] + self.counts["contexts"]


_PURGE_COUNTS = ("artifacts", "executions", "contexts", "events", "attributions", "associations",
                 "parent_contexts")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_KIND_VALUES = {name: value for value, name in KIND_NAMES.items()}
_INT64 = (-(2**63), 2**63 - 1)


def parse_duration(text: str | datetime.timedelta) -> int:
    """Milliseconds in a duration such as ``90d``, ``12h``, ``30m``, ``45s`` or ``2w``.

    Raises:
        InvalidArgumentError: the text does not parse, or the duration is negative.
    """
    if isinstance(text, datetime.timedelta):
        if text < datetime.timedelta(0):
            raise errors.InvalidArgumentError(f"older_than {text} is negative")
        return int(text.total_seconds() * 1000)
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise errors.InvalidArgumentError(
            f"older_than {text!r} does not parse: give a number and a unit (ms, s, m, h, d, w), e.g. 90d")
    return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


def as_of_ms(moment: datetime.datetime | int) -> int:
    """Milliseconds since the epoch of an as-of moment; a naive datetime is taken as UTC.

    Raises:
        InvalidArgumentError: the moment is neither a datetime nor an int.
    """
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return int(moment.timestamp() * 1000)
    if isinstance(moment, int) and not isinstance(moment, bool):
        return moment
    raise errors.InvalidArgumentError(
        f"as_of must be a datetime or milliseconds since the epoch, got {type(moment).__name__}")


def _ids(values: Iterable[int], where: str) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise errors.InvalidArgumentError(f"{where} must be ids, got {values!r}")
    ids = list(values)
    for value in ids:
        if not isinstance(value, int) or isinstance(value, bool) or not _INT64[0] <= value <= _INT64[1]:
            raise errors.InvalidArgumentError(f"{where} holds {value!r}, not an id")
    return ids


def _to_value(value: Any, name: str) -> pb.Value:
    """A property value as a Value proto; checks it the way the fingerprint does."""
    canonical_value(value)
    if isinstance(value, pb.Value):
        return value
    if isinstance(value, bool):
        return pb.Value(bool_value=value)
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise errors.InvalidArgumentError(f"property {name!r} = {value} does not fit in 64 bits")
        return pb.Value(int_value=value)
    if isinstance(value, float):
        return pb.Value(double_value=value)
    return pb.Value(string_value=value)


def _set_max_nodes(request: Any, max_nodes: int | None) -> None:
    """Sets a request's max_nodes from the argument of that name, checked."""
    if max_nodes is None:
        return
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool):
        raise errors.InvalidArgumentError(f"max_nodes must be an int or None, got {max_nodes!r}")
    if max_nodes < 0:
        raise errors.InvalidArgumentError(f"max_nodes must be >= 0, got {max_nodes}")
    request.max_nodes = min(max_nodes, 2**63 - 1)


def _merged_graph(chunks: Iterable[lsvc.GraphChunk]) -> ProvenanceGraph:
    """The whole graph from its streamed chunks, concatenated in order (the protos are not copied)."""
    if isinstance(chunks, GraphChunks):
        # In-process: the answer's own records, never put into chunks.
        whole = chunks.graph
        return ProvenanceGraph(
            artifacts=list(whole.artifacts), executions=list(whole.executions), events=list(whole.events),
            artifact_types=list(whole.artifact_types), execution_types=list(whole.execution_types))
    graphs = [chunk.graph for chunk in chunks]
    return ProvenanceGraph(
        artifacts=[a for g in graphs for a in g.artifacts],
        executions=[e for g in graphs for e in g.executions],
        events=[e for g in graphs for e in g.events],
        artifact_types=[t for g in graphs for t in g.artifact_types],
        execution_types=[t for g in graphs for t in g.execution_types],
    )


@refuse_surrogates
class Lineage:
    """Provenance queries over one MetadataStore (``store.lineage``), in-process or over gRPC."""

    def __init__(self, store: "MetadataStore"):
        self._store = store

    def _call(self, method: str, request: Any) -> Any:
        return self._store._call(method, request, lineage=True)

    # -- traversal ------------------------------------------------------------
    def _trace(self, direction, artifact_ids, execution_ids, max_hops, event_types, as_of,
               max_nodes) -> ProvenanceGraph:
        request = lsvc.TraceRequest(
            artifact_ids=_ids(artifact_ids, "artifact_ids"),
            execution_ids=_ids(execution_ids, "execution_ids"),
            direction=direction,
        )
        _set_max_nodes(request, max_nodes)
        if max_hops is not None:
            if not isinstance(max_hops, int) or isinstance(max_hops, bool):
                raise errors.InvalidArgumentError(f"max_hops must be an int or None, got {max_hops!r}")
            if max_hops < 0:
                raise errors.InvalidArgumentError(f"max_hops must be >= 0, got {max_hops}")
            request.max_hops = min(max_hops, 2**31 - 1)
        if event_types is not None:
            request.event_types.SetInParent()
            request.event_types.types.extend(_ids(event_types, "event_types"))
        if as_of is not None:
            request.as_of_ms = as_of_ms(as_of)
        return _merged_graph(self._call("Trace", request))

    def upstream(
        self,
        artifact_ids: Iterable[int] = (),
        execution_ids: Iterable[int] = (),
        *,
        max_hops: int | None = None,
        event_types: Iterable[int] | None = None,
        as_of: datetime.datetime | int | None = None,
        max_nodes: int | None = None,
    ) -> ProvenanceGraph:
        """Everything the given nodes were made from, as far back as it goes.

        Args:
            artifact_ids: Starting artifacts.
            execution_ids: Starting executions.
            max_hops: Stop after this many hops (artifact -> execution is one); None: no limit.
            event_types: Follow only these Event.Type values (None: all).
            as_of: Answer as the store stood then (a datetime, naive means UTC, or
                milliseconds since the epoch): only nodes created and events recorded
                at or before it. Node records are today's: no property history is kept.
            max_nodes: The most nodes (artifacts and executions) the answer may
                hold; None: no bound. The store counts the walk's nodes before it
                reads any, so a larger answer costs neither side its memory.

        Returns:
            The starting nodes, their ancestors, and the events walked.

        Raises:
            InvalidArgumentError: nothing to start from, a negative max_hops or
                max_nodes, or an as_of in the future or before the epoch.
            NotFoundError: a starting id names no node (at as_of, when given).
            ResourceExhaustedError: the answer holds more than max_nodes nodes;
                the message says how many.
        """
        return self._trace(lsvc.UPSTREAM, artifact_ids, execution_ids, max_hops, event_types, as_of,
                           max_nodes)

    def downstream(
        self,
        artifact_ids: Iterable[int] = (),
        execution_ids: Iterable[int] = (),
        *,
        max_hops: int | None = None,
        event_types: Iterable[int] | None = None,
        as_of: datetime.datetime | int | None = None,
        max_nodes: int | None = None,
    ) -> ProvenanceGraph:
        """Everything made from the given nodes, as far forward as it goes.

        Args and Raises: as ``upstream``.
        """
        return self._trace(lsvc.DOWNSTREAM, artifact_ids, execution_ids, max_hops, event_types, as_of,
                           max_nodes)

    def context_dag(self, context_id: int, *, max_nodes: int | None = None) -> ProvenanceGraph:
        """Every execution of a context with its input and output artifacts.

        Args:
            context_id: The context.
            max_nodes: The most nodes the answer may hold, as in ``upstream``.

        Raises:
            NotFoundError: no context has this id.
            ResourceExhaustedError: the answer holds more than max_nodes nodes.
        """
        [context_id] = _ids([context_id], "context_id")
        request = lsvc.ContextDagRequest(context_id=context_id)
        _set_max_nodes(request, max_nodes)
        return _merged_graph(self._call("ContextDag", request))

    def impacted(
        self, artifact_id: int, artifact_type: str | None = None, *,
        as_of: datetime.datetime | int | None = None, max_nodes: int | None = None,
    ) -> list[pb.Artifact]:
        """Artifacts downstream of one (itself excluded), optionally of one type name.

        ``max_nodes`` bounds the nodes the walk downstream may reach, as in ``upstream``.

        Raises:
            NotFoundError: no artifact has this id.
            InvalidArgumentError: as_of in the future or before the epoch, or a
                negative max_nodes.
            ResourceExhaustedError: the walk reaches more than max_nodes nodes.
        """
        [artifact_id] = _ids([artifact_id], "artifact_id")
        request = lsvc.ImpactedRequest(artifact_id=artifact_id)
        _set_max_nodes(request, max_nodes)
        if artifact_type is not None:
            request.artifact_type = artifact_type
        if as_of is not None:
            request.as_of_ms = as_of_ms(as_of)
        return list(self._call("Impacted", request).artifacts)

    def diff(self, artifact_a: int, artifact_b: int) -> ArtifactDiff:
        """Compares two artifacts of one type: differing properties and upstream inputs.

        Raises:
            NotFoundError: an id names no artifact.
            InvalidArgumentError: the artifacts have different types.
        """
        a, b = _ids([artifact_a, artifact_b], "artifact ids")
        response = self._call("Diff", lsvc.DiffRequest(artifact_a=a, artifact_b=b))
        properties = {
            d.name: (
                property_value(d.value_a) if d.HasField("value_a") else None,
                property_value(d.value_b) if d.HasField("value_b") else None,
            )
            for d in response.differences
        }
        return ArtifactDiff(response.artifact_a, response.artifact_b, properties,
                            list(response.inputs_only_a), list(response.inputs_only_b))

    # -- cache checks ---------------------------------------------------------
    @staticmethod
    def _checked_inputs(inputs: Inputs) -> list[int] | dict[str, list[int]]:
        """Returns the inputs as a list of ids or a dict of id lists, read exactly once.

        Reading once matters: a generator given as inputs can only be iterated once.
        """
        def ids_of(group: Any, where: str) -> list[int]:
            if isinstance(group, int) and not isinstance(group, bool):
                return _ids([group], where)
            if isinstance(group, (str, bytes, Mapping)) or not isinstance(group, Iterable):
                raise errors.InvalidArgumentError(f"{where} must be artifact ids, got {group!r}")
            return _ids(group, where)

        if isinstance(inputs, Mapping):
            return {key: ids_of(group, f"inputs[{key!r}]") for key, group in inputs.items()}
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
            raise errors.InvalidArgumentError(
                "inputs must be a list of artifact ids or a dict from input key to ids"
            )
        return ids_of(inputs, "inputs")

    def _step(self, execution_type: str | int, inputs: Inputs,
              properties: Mapping[str, Any] | None) -> lsvc.StepQuery:
        step = lsvc.StepQuery()
        if isinstance(execution_type, int) and not isinstance(execution_type, bool):
            step.type_id = execution_type
        elif isinstance(execution_type, str):
            step.type_name = execution_type
        else:
            raise errors.InvalidArgumentError(
                f"execution_type must be a type name or id, got {type(execution_type).__name__}"
            )
        checked = self._checked_inputs(inputs)
        if isinstance(checked, dict):
            step.keyed = True
            for key, ids in checked.items():
                step.keyed_inputs[str(key)].artifact_ids.extend(ids)
        else:
            step.input_ids.extend(checked)
        if properties is not None:
            if not isinstance(properties, Mapping):
                raise errors.InvalidArgumentError(
                    f"properties must be a dict from property name to value, got {type(properties).__name__}"
                )
            for name, value in properties.items():
                step.properties[str(name)].CopyFrom(_to_value(value, name))
        return step

    def cache_key(
        self, execution_type: str | int, inputs: Inputs, properties: Mapping[str, Any] | None = None
    ) -> str:
        """Returns the stable fingerprint (hex SHA-256) of a step, as the index stores it.

        Raises:
            InvalidArgumentError: unknown execution type or malformed inputs/properties.
        """
        step = self._step(execution_type, inputs, properties)
        return self._call("CacheKey", lsvc.CacheKeyRequest(step=step)).key

    def find_reusable_execution(
        self, execution_type: str | int, inputs: Inputs, properties: Mapping[str, Any] | None = None
    ) -> CacheHit | None:
        """Finds the newest completed run of a step on the same inputs and properties.

        Args:
            execution_type: The step's execution type, by name or id.
            inputs: Input artifact ids (order does not matter), or a dict from input
                key (the event path's key step) to ids.
            properties: Must equal the execution's properties and custom properties
                together; None means the execution has none.

        Returns:
            A CacheHit, or None when no COMPLETE/CACHED execution matches or every
            match has an output that is not LIVE.

        Raises:
            InvalidArgumentError: unknown execution type or malformed inputs or properties.
        """
        step = self._step(execution_type, inputs, properties)
        response = self._call("FindReusableExecution", lsvc.FindReusableExecutionRequest(step=step))
        if not response.HasField("execution"):
            return None
        return CacheHit(response.execution, {o.key: list(o.artifacts) for o in response.outputs})

    # -- purge ----------------------------------------------------------------
    def purge(
        self,
        kind: str,
        ids: Iterable[int] = (),
        filter_query: str | None = None,
        *,
        with_downstream: bool = False,
        older_than: str | datetime.timedelta | None = None,
        states: Iterable[str | int] | None = None,
        dry_run: bool = False,
        sample_size: int | None = None,
    ) -> PurgeReport:
        """Deletes nodes with their events, links and cache fingerprints, in one transaction.

        Args:
            kind: "artifact", "execution" or "context".
            ids: Nodes by id; every id must name a node.
            filter_query: Nodes by MLMD filter query; with ids, a node must match both.
            with_downstream: Also everything downstream of the selected artifacts or
                executions (a bad dataset and all it fed).
            older_than: Only selected nodes created longer ago than this ("90d", "12h",
                or a timedelta), by the store's clock.
            states: Only selected nodes in one of these states (names such as "LIVE"
                or enum values).
            dry_run: Count and sample only; nothing is deleted.
            sample_size: How many nodes the report lists (default 10).

        Returns:
            What was (or would be) removed.

        Raises:
            InvalidArgumentError: neither ids nor a filter, a malformed filter,
                duration or state, or a kind that cannot be purged that way.
            NotFoundError: an id names no node. Nothing is deleted on any error.
        """
        if kind not in _KIND_VALUES:
            raise errors.InvalidArgumentError(f"kind must be artifact, execution or context, got {kind!r}")
        request = lsvc.PurgeRequest(
            kind=_KIND_VALUES[kind], ids=_ids(ids, "ids"),
            with_downstream=bool(with_downstream), dry_run=bool(dry_run))
        if filter_query is not None:
            request.filter_query = filter_query
        if older_than is not None:
            request.older_than_ms = parse_duration(older_than)
        if sample_size is not None:
            request.sample_size = sample_size
        for state in states or ():
            request.states.append(_state_value(kind, state))
        response = self._call("Purge", request)
        return PurgeReport(
            deleted=response.deleted,
            counts={name: getattr(response, name) for name in _PURGE_COUNTS},
            by_type=[(KIND_NAMES[c.kind], c.type_name, c.count) for c in response.nodes],
            sample=[(KIND_NAMES[s.kind], s.id, s.type_name, s.name) for s in response.sample],
        )


    # -- a whole store ----------------------------------------------------------
    def export_store(self, chunk_size: int | None = None) -> Iterator[lsvc.StoreChunk]:
        """Streams every record of the store, ids and times included, as read in one transaction.

        The chunks are read as they are asked for (types first, the last one
        with ``end`` counting the whole stream); the store's transaction stays
        open until the iterator is exhausted or closed.

        Args:
            chunk_size: Records per chunk (default: the server's).

        Raises:
            InvalidArgumentError: a negative chunk size.
        """
        request = lsvc.ExportRequest()
        if chunk_size is not None:
            if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
                raise errors.InvalidArgumentError(f"chunk_size must be an int >= 1, got {chunk_size!r}")
            request.chunk_size = min(chunk_size, 2**31 - 1)
        return self._store._stream("Export", request)

    def import_store(self, chunks: Iterable[lsvc.StoreChunk], *, force: bool = False) -> lsvc.ImportResponse:
        """Writes an ``export_store`` stream into this store in one transaction, keeping ids and times.

        Args:
            chunks: The stream, in order, ending with the chunk that has ``end``.
            force: Also import into a store that holds records, or a stream with
                id gaps: types merge by name and version, nodes get new ids
                (the response's ``id_maps`` say which).

        Returns:
            The ImportResponse: counts written, whether ids were kept, id maps.

        Raises:
            FailedPreconditionError: the store is not empty, or ids cannot be kept,
                and not ``force``.
            InvalidArgumentError: a malformed stream, or one cut short.
            AlreadyExistsError: with ``force``, a name or external id clashes.
            Nothing is written on any error.
        """
        def with_options(stream: Iterable[lsvc.StoreChunk]) -> Iterator[lsvc.StoreChunk]:
            for number, chunk in enumerate(stream):
                if number == 0 and force:
                    chunk.options.force = True
                yield chunk

        # One attempt only: a retry could not read the stream again.
        return self._store._invoke("Import", with_options(chunks), lineage=True)


def _state_value(kind: str, state: str | int) -> int:
    """A state name or number as the enum value of the kind's state."""
    enum = {"artifact": pb.Artifact.State, "execution": pb.Execution.State}.get(kind)
    if enum is None:
        raise errors.InvalidArgumentError("states select artifacts or executions; contexts have no state")
    if isinstance(state, str):
        try:
            return enum.Value(state.upper())
        except ValueError as e:
            raise errors.InvalidArgumentError(
                f"state {state!r} is no {kind} state: use one of {', '.join(enum.keys())}") from e
    if isinstance(state, int) and not isinstance(state, bool):
        return state
    raise errors.InvalidArgumentError(f"state {state!r} is no {kind} state")
