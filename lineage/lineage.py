"""The lineage API (``store.lineage``): provenance without MLMD's caps.

``upstream`` and ``downstream`` walk events as far as they go (or ``max_hops``)
from any number of starting nodes and return a ``ProvenanceGraph`` that can
be drawn (DOT, Mermaid), exported (networkx, JSON, MLMD's LineageGraph) or
ordered. ``impacted`` answers "what descends from this bad dataset",
``diff`` compares two artifacts and their inputs, and
``find_reusable_execution`` answers "did this step already run on these
inputs" from a fingerprint index, in time independent of history.

Traversal uses a backend's native path when it has one (``traverse``) and the
generic breadth-first walk over Backend primitives otherwise.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import networkx as nx
from google.protobuf import json_format

from lineage import errors, traversal
from lineage.cache import Inputs, canonical_value, fingerprint, input_key
from lineage.proto import metadata_store_pb2 as pb

if TYPE_CHECKING:
    from lineage.metadata_store import MetadataStore

__all__ = ["Lineage", "ProvenanceGraph", "CacheHit", "ArtifactDiff", "NodeKey"]

#: A node of a provenance graph: ("artifact", id) or ("execution", id).
NodeKey = tuple[str, int]

_REUSABLE_STATES = frozenset({pb.Execution.COMPLETE, pb.Execution.CACHED})
_DEAD_ARTIFACT_STATES = frozenset(
    {pb.Artifact.DELETED, pb.Artifact.MARKED_FOR_DELETION, pb.Artifact.ABANDONED}
)


def _plain_value(value: pb.Value) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if which == "proto_value":
        return {"type_url": value.proto_value.type_url}
    return getattr(value, which)


def _properties(node) -> dict[str, Any]:
    merged = {k: _plain_value(v) for k, v in node.custom_properties.items()}
    merged.update((k, _plain_value(v)) for k, v in node.properties.items())
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


class Lineage:
    """Provenance queries over one MetadataStore (``store.lineage``)."""

    def __init__(self, store: "MetadataStore"):
        self._store = store
        service = getattr(store, "_service", None)
        if service is None:
            raise errors.UnimplementedError(
                "store.lineage needs an in-process store; open the database directly instead of "
                "through a gRPC client"
            )
        self._backend = service.backend

    # -- traversal ------------------------------------------------------------
    def _walk(self, artifact_ids, execution_ids, direction, max_hops, event_types) -> ProvenanceGraph:
        artifact_ids, execution_ids = list(artifact_ids), list(execution_ids)
        if not artifact_ids and not execution_ids:
            raise errors.InvalidArgumentError("give at least one of artifact_ids or execution_ids to start from")
        if max_hops is not None and max_hops < 0:
            raise errors.InvalidArgumentError(f"max_hops must be >= 0, got {max_hops}")
        backend = self._backend
        with backend.transaction(write=False):
            native = getattr(backend, "traverse", None)
            walk = native if native is not None else (lambda *a, **k: traversal.traverse(backend, *a, **k))
            reach = walk(
                artifact_ids, execution_ids, direction=direction, max_hops=max_hops, event_types=event_types
            )
            # Checked after the walk: a missing node has no events, so the walk is harmless,
            # and a native walk that brings the nodes it reaches along makes this check free.
            self._require("artifact", artifact_ids)
            self._require("execution", execution_ids)
            return self._graph(reach.artifact_ids, reach.execution_ids, reach.events)

    def _require(self, kind: str, ids: list[int]) -> None:
        found = {n.id for n in self._backend.get_nodes(kind, ids)}
        missing = sorted(set(ids) - found)
        if missing:
            raise errors.NotFoundError(f"no {kind} with id {', '.join(map(str, missing))}")

    def _graph(self, artifact_ids, execution_ids, events) -> ProvenanceGraph:
        backend = self._backend
        artifacts = backend.get_nodes("artifact", artifact_ids)
        executions = backend.get_nodes("execution", execution_ids)
        return ProvenanceGraph(
            artifacts=artifacts,
            executions=executions,
            events=sorted(events, key=lambda e: (e.execution_id, e.artifact_id, e.type)),
            artifact_types=backend.get_types("artifact", {a.type_id for a in artifacts}),
            execution_types=backend.get_types("execution", {e.type_id for e in executions}),
        )

    def upstream(
        self,
        artifact_ids: Iterable[int] = (),
        execution_ids: Iterable[int] = (),
        *,
        max_hops: int | None = None,
        event_types: Iterable[int] | None = None,
    ) -> ProvenanceGraph:
        """Everything the given nodes were made from, as far back as it goes.

        Args:
            artifact_ids: Starting artifacts.
            execution_ids: Starting executions.
            max_hops: Stop after this many hops (artifact -> execution is one); None: no limit.
            event_types: Follow only these Event.Type values (None: all).

        Returns:
            The starting nodes, their ancestors, and the events walked.

        Raises:
            InvalidArgumentError: nothing to start from, or a negative max_hops.
            NotFoundError: a starting id names no node.
        """
        return self._walk(artifact_ids, execution_ids, traversal.UPSTREAM, max_hops, event_types)

    def downstream(
        self,
        artifact_ids: Iterable[int] = (),
        execution_ids: Iterable[int] = (),
        *,
        max_hops: int | None = None,
        event_types: Iterable[int] | None = None,
    ) -> ProvenanceGraph:
        """Everything made from the given nodes, as far forward as it goes.

        Args and Raises: as ``upstream``.
        """
        return self._walk(artifact_ids, execution_ids, traversal.DOWNSTREAM, max_hops, event_types)

    def context_dag(self, context_id: int) -> ProvenanceGraph:
        """Every execution of a context with its input and output artifacts.

        Raises:
            NotFoundError: no context has this id.
        """
        backend = self._backend
        with backend.transaction(write=False):
            self._require("context", [context_id])
            execution_ids = [e for e, _ in backend.get_context_links("execution", context_ids=[context_id])]
            events = backend.get_events(execution_ids=execution_ids)
            return self._graph({e.artifact_id for e in events}, execution_ids, events)

    def impacted(self, artifact_id: int, artifact_type: str | None = None) -> list[pb.Artifact]:
        """Artifacts downstream of one (itself excluded), optionally of one type name.

        Raises:
            NotFoundError: no artifact has this id.
        """
        graph = self.downstream([artifact_id])
        return [
            a for a in graph.artifacts
            if a.id != artifact_id and (artifact_type is None or a.type == artifact_type)
        ]

    def diff(self, artifact_a: int, artifact_b: int) -> ArtifactDiff:
        """Compares two artifacts of one type: differing properties and upstream inputs.

        Raises:
            NotFoundError: an id names no artifact.
            InvalidArgumentError: the artifacts have different types.
        """
        backend = self._backend
        with backend.transaction(write=False):
            self._require("artifact", [artifact_a, artifact_b])
            a, b = (backend.get_nodes("artifact", [i])[0] for i in (artifact_a, artifact_b))
            if a.type_id != b.type_id:
                raise errors.InvalidArgumentError(
                    f"artifact {a.id} is a {a.type!r} and artifact {b.id} a {b.type!r}: diff compares "
                    "artifacts of one type"
                )
            props_a, props_b = _properties(a), _properties(b)
            differing = {
                name: (props_a.get(name), props_b.get(name))
                for name in sorted(set(props_a) | set(props_b))
                if props_a.get(name) != props_b.get(name)
            }
            for field in ("uri", "state", "name"):
                if getattr(a, field) != getattr(b, field):
                    differing[f"@{field}"] = (getattr(a, field), getattr(b, field))
            up_a = {x.id for x in self.upstream([a.id]).artifacts} - {a.id}
            up_b = {x.id for x in self.upstream([b.id]).artifacts} - {b.id}
            return ArtifactDiff(a, b, differing, sorted(up_a - up_b), sorted(up_b - up_a))

    # -- cache checks ---------------------------------------------------------
    def _execution_type(self, execution_type: str | int) -> pb.ExecutionType:
        backend = self._backend
        if isinstance(execution_type, int) and not isinstance(execution_type, bool):
            found = backend.get_types("execution", [execution_type])
        elif isinstance(execution_type, str):
            one = backend.find_type("execution", execution_type, None)
            found = [one] if one is not None else []
        else:
            raise errors.InvalidArgumentError(
                f"execution_type must be a type name or id, got {type(execution_type).__name__}"
            )
        if not found:
            raise errors.InvalidArgumentError(f"execution_type {execution_type!r} names no execution type")
        return found[0]

    @staticmethod
    def _checked_inputs(inputs: Inputs) -> list[int] | dict[str, list[int]]:
        """Returns the inputs as a list of ids or a dict of id lists, read exactly once.

        Reading once matters: a generator given as inputs can only be iterated once.
        """
        def ids_of(group: Any, where: str) -> list[int]:
            if isinstance(group, int) and not isinstance(group, bool):
                return [group]
            if isinstance(group, (str, bytes, Mapping)) or not isinstance(group, Iterable):
                raise errors.InvalidArgumentError(f"{where} must be artifact ids, got {group!r}")
            ids = list(group)
            for artifact_id in ids:
                if not isinstance(artifact_id, int) or isinstance(artifact_id, bool):
                    raise errors.InvalidArgumentError(f"{where} holds {artifact_id!r}, not an artifact id")
            return ids

        if isinstance(inputs, Mapping):
            return {key: ids_of(group, f"inputs[{key!r}]") for key, group in inputs.items()}
        if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
            raise errors.InvalidArgumentError(
                "inputs must be a list of artifact ids or a dict from input key to ids"
            )
        return ids_of(inputs, "inputs")

    @staticmethod
    def _checked_properties(properties: Mapping[str, Any] | None) -> dict[str, Any]:
        if properties is None:
            return {}
        if not isinstance(properties, Mapping):
            raise errors.InvalidArgumentError(
                f"properties must be a dict from property name to value, got {type(properties).__name__}"
            )
        for value in properties.values():
            canonical_value(value)
        return dict(properties)

    def cache_key(
        self, execution_type: str | int, inputs: Inputs, properties: Mapping[str, Any] | None = None
    ) -> str:
        """Returns the stable fingerprint (hex SHA-256) of a step, as the index stores it.

        Raises:
            InvalidArgumentError: unknown execution type or malformed inputs/properties.
        """
        inputs = self._checked_inputs(inputs)
        properties = self._checked_properties(properties)
        with self._backend.transaction(write=False):
            type_ = self._execution_type(execution_type)
        return fingerprint(type_.name, type_.version, inputs, properties)

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
            match has an output that is DELETED, MARKED_FOR_DELETION or ABANDONED.

        Raises:
            InvalidArgumentError: unknown execution type or malformed inputs or properties.
        """
        inputs = self._checked_inputs(inputs)
        properties = self._checked_properties(properties)
        backend = self._backend
        with backend.transaction(write=False):
            type_ = self._execution_type(execution_type)
            key = fingerprint(type_.name, type_.version, inputs, properties)
            for execution_id in backend.executions_by_fingerprint(key):
                found = backend.get_nodes("execution", [execution_id])
                if not found or found[0].last_known_state not in _REUSABLE_STATES:
                    continue
                outputs = self._live_outputs(found[0])
                if outputs is not None:
                    return CacheHit(found[0], outputs)
        return None

    def _live_outputs(self, execution: pb.Execution) -> dict[str, list[pb.Artifact]] | None:
        backend = self._backend
        events = [
            e for e in backend.get_events(execution_ids=[execution.id])
            if e.type in traversal.OUTPUT_EVENT_TYPES
        ]
        artifacts = {a.id: a for a in backend.get_nodes("artifact", {e.artifact_id for e in events})}
        outputs: dict[str, list[pb.Artifact]] = {}
        for event in events:
            artifact = artifacts[event.artifact_id]
            if artifact.state in _DEAD_ARTIFACT_STATES:
                return None
            bucket = outputs.setdefault(input_key(event), [])
            if artifact not in bucket:
                bucket.append(artifact)
        return outputs
