"""Builders of provenance histories and an independent reference walk.

Everything here writes and reads through the public MLMD-style store API only;
the reference walk knows nothing of ``lineage.traversal``.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Iterable

from conformance._helpers import snapshot  # noqa: F401  - re-exported for the tests

from lineage.proto import metadata_store_pb2 as pb

Event = pb.Event

#: Event types along which data flows from the artifact into the execution.
READS = frozenset({Event.INPUT, Event.DECLARED_INPUT, Event.INTERNAL_INPUT})
#: Event types along which data flows from the execution into the artifact.
WRITES = frozenset({Event.OUTPUT, Event.DECLARED_OUTPUT, Event.INTERNAL_OUTPUT, Event.PENDING_OUTPUT})

Node = tuple[str, int]


def event(artifact_id: int, execution_id: int, kind: int, key: str | None = None, index: int | None = None):
    """An Event, with a path of a key step and/or an index step when given."""
    message = Event(artifact_id=artifact_id, execution_id=execution_id, type=kind)
    if key is not None:
        message.path.steps.add().key = key
    if index is not None:
        message.path.steps.add().index = index
    return message


def set_value(value: pb.Value, python_value) -> None:
    """Fills a Value from a bool, int, float, str or dict (a struct)."""
    if isinstance(python_value, bool):
        value.bool_value = python_value
    elif isinstance(python_value, int):
        value.int_value = python_value
    elif isinstance(python_value, float):
        value.double_value = python_value
    elif isinstance(python_value, dict):
        value.struct_value.update(python_value)
    else:
        value.string_value = python_value


class Builder:
    """Writes nodes of a few fixed types into one store."""

    def __init__(self, store):
        self.store = store
        self.artifact_types: dict[str, int] = {}
        self.execution_types: dict[str, int] = {}
        self.context_types: dict[str, int] = {}

    def artifact_type(self, name: str, **properties: int) -> int:
        if name not in self.artifact_types:
            message = pb.ArtifactType(name=name)
            for prop, prop_type in properties.items():
                message.properties[prop] = prop_type
            self.artifact_types[name] = self.store.put_artifact_type(message)
        return self.artifact_types[name]

    def execution_type(self, name: str, version: str | None = None, **properties: int) -> int:
        label = f"{name}@{version}" if version else name
        if label not in self.execution_types:
            message = pb.ExecutionType(name=name)
            if version:
                message.version = version
            for prop, prop_type in properties.items():
                message.properties[prop] = prop_type
            self.execution_types[label] = self.store.put_execution_type(message)
        return self.execution_types[label]

    def context_type(self, name: str) -> int:
        if name not in self.context_types:
            self.context_types[name] = self.store.put_context_type(pb.ContextType(name=name))
        return self.context_types[name]

    def artifact(self, type_name: str = "Data", name: str | None = None, *, uri: str | None = None,
                 state: int = pb.Artifact.LIVE, properties: dict | None = None,
                 custom: dict | None = None) -> int:
        type_id = self.artifact_type(type_name, **{k: _prop_type(v) for k, v in (properties or {}).items()})
        message = pb.Artifact(type_id=type_id, state=state)
        if name is not None:
            message.name = name
        if uri is not None:
            message.uri = uri
        for prop, value in (properties or {}).items():
            set_value(message.properties[prop], value)
        for prop, value in (custom or {}).items():
            set_value(message.custom_properties[prop], value)
        return self.store.put_artifacts([message])[0]

    def execution(self, type_name: str = "Step", name: str | None = None, *,
                  state: int = pb.Execution.COMPLETE, properties: dict | None = None,
                  custom: dict | None = None, version: str | None = None) -> int:
        type_id = self.execution_type(
            type_name, version, **{k: _prop_type(v) for k, v in (properties or {}).items()})
        message = pb.Execution(type_id=type_id, last_known_state=state)
        if name is not None:
            message.name = name
        for prop, value in (properties or {}).items():
            set_value(message.properties[prop], value)
        for prop, value in (custom or {}).items():
            set_value(message.custom_properties[prop], value)
        return self.store.put_executions([message])[0]

    def context(self, name: str, type_name: str = "Run") -> int:
        return self.store.put_contexts([pb.Context(type_id=self.context_type(type_name), name=name)])[0]

    def link(self, *events) -> None:
        self.store.put_events(list(events))


def _prop_type(value) -> int:
    if isinstance(value, bool):
        return pb.BOOLEAN
    if isinstance(value, int):
        return pb.INT
    if isinstance(value, float):
        return pb.DOUBLE
    if isinstance(value, dict):
        return pb.STRUCT
    return pb.STRING


@dataclasses.dataclass
class History:
    """Ids written by a builder function, in write order."""

    artifacts: list[int] = dataclasses.field(default_factory=list)
    executions: list[int] = dataclasses.field(default_factory=list)
    contexts: list[int] = dataclasses.field(default_factory=list)


def random_history(store, seed: int, *, executions: int = 30, cyclic: bool = False) -> History:
    """A seeded random pipeline history; with ``cyclic``, a faulty client also closes cycles.

    Executions come in a topological order, each reading 0-3 existing artifacts
    and writing 1-2 new ones, over every input and output event type, with
    keyed paths. Two artifact types (Data, Model) and two execution types
    (Transform, Train); three contexts hold random executions and artifacts.
    With ``cyclic`` a few output events point from late executions back to
    early artifacts, and one artifact is both read and written by one execution.
    """
    rng = random.Random(seed)
    build = Builder(store)
    history = History()
    reads = sorted(READS)
    writes = sorted(WRITES)
    for n in range(3):
        history.artifacts.append(build.artifact("Data", f"raw{n}", uri=f"/raw/{n}",
                                                properties={"rows": rng.randrange(100)}))
    for n in range(executions):
        type_name = rng.choice(("Transform", "Transform", "Train"))
        execution_id = build.execution(type_name, f"e{n}", properties={"attempt": rng.randrange(3)},
                                       custom={"note": f"n{n % 4}"})
        history.executions.append(execution_id)
        chosen = rng.sample(history.artifacts, min(len(history.artifacts), rng.choice((0, 1, 2, 2, 3))))
        events = [event(a, execution_id, rng.choice(reads), f"in{i}", i) for i, a in enumerate(chosen)]
        for i in range(rng.choice((1, 1, 2))):
            made = build.artifact("Model" if type_name == "Train" else "Data", f"a{len(history.artifacts)}",
                                  uri=f"/out/{n}/{i}", properties={"rows": rng.randrange(100)})
            history.artifacts.append(made)
            events.append(event(made, execution_id, rng.choice(writes), "out", i))
        build.link(*events)
    if cyclic:
        taken = {(e.artifact_id, e.execution_id)
                 for e in store.get_events_by_execution_ids(history.executions)}
        early = history.artifacts[: len(history.artifacts) // 3]
        late = history.executions[len(history.executions) // 2:]
        for _ in range(5):
            pair = (rng.choice(early), rng.choice(late))
            if pair not in taken:
                taken.add(pair)
                build.link(event(pair[0], pair[1], rng.choice(writes), "back"))
        # One execution reads and writes the same artifact: a two-node cycle.
        loop_execution = rng.choice(history.executions)
        loop_artifact = next(e.artifact_id for e in store.get_events_by_execution_ids([loop_execution]))
        kinds = {e.type for e in store.get_events_by_execution_ids([loop_execution])
                 if e.artifact_id == loop_artifact}
        closing = sorted((READS if kinds & WRITES else WRITES) - kinds)
        build.link(event(loop_artifact, loop_execution, closing[0]))
    for n in range(3):
        context_id = build.context(f"run{n}")
        history.contexts.append(context_id)
        store.put_attributions_and_associations(
            [pb.Attribution(artifact_id=a, context_id=context_id) for a in rng.sample(history.artifacts, 5)],
            [pb.Association(execution_id=e, context_id=context_id)
             for e in rng.sample(history.executions, min(6, len(history.executions)))])
    return history


def chain(store, steps: int) -> History:
    """raw -> step0 -> a1 -> step1 -> ... -> a{steps}: ``steps`` executions in a line."""
    build = Builder(store)
    history = History(artifacts=[build.artifact("Data", "a0")])
    for n in range(steps):
        execution_id = build.execution("Step", f"step{n}")
        made = build.artifact("Data", f"a{n + 1}")
        build.link(event(history.artifacts[-1], execution_id, Event.INPUT, "x"),
                   event(made, execution_id, Event.OUTPUT, "y"))
        history.executions.append(execution_id)
        history.artifacts.append(made)
    return history


@dataclasses.dataclass
class Walk:
    """What the reference walk reached: node -> hops from the start, and the events walked."""

    distance: dict[Node, int]
    events: dict[tuple[int, int, int], pb.Event]

    def ids(self, kind: str) -> list[int]:
        return sorted(node_id for node_kind, node_id in self.distance if node_kind == kind)


def reference_walk(store, artifact_ids: Iterable[int] = (), execution_ids: Iterable[int] = (), *,
                   downstream: bool, max_hops: int | None = None,
                   event_types: Iterable[int] | None = None) -> Walk:
    """Breadth-first search over raw events, one public API call per node.

    Going downstream, an event leads from where the data comes from (the
    artifact of a read, the execution of a write) to where it goes; upstream
    the other way round. An event is walked when its leaving end is within
    ``max_hops - 1`` hops of the start, i.e. when the walk stands on it and may
    still take a step.
    """
    allowed = None if event_types is None else set(event_types)
    distance: dict[Node, int] = {}
    for node in [("artifact", a) for a in artifact_ids] + [("execution", e) for e in execution_ids]:
        distance[node] = 0
    frontier = sorted(distance)
    walked: dict[tuple[int, int, int], pb.Event] = {}
    hops = 0
    while frontier and (max_hops is None or hops < max_hops):
        reached = []
        for kind, node_id in frontier:
            if kind == "artifact":
                raw = store.get_events_by_artifact_ids([node_id])
            else:
                raw = store.get_events_by_execution_ids([node_id])
            for ev in raw:
                if allowed is not None and ev.type not in allowed:
                    continue
                source = ("artifact", ev.artifact_id) if ev.type in READS else ("execution", ev.execution_id)
                target = ("execution", ev.execution_id) if ev.type in READS else ("artifact", ev.artifact_id)
                leaving, arriving = (source, target) if downstream else (target, source)
                if leaving != (kind, node_id):
                    continue
                walked[(ev.artifact_id, ev.execution_id, ev.type)] = ev
                if arriving not in distance:
                    distance[arriving] = hops + 1
                    reached.append(arriving)
        frontier = reached
        hops += 1
    return Walk(distance, walked)


def event_keys(events) -> list[tuple[int, int, int]]:
    """(artifact_id, execution_id, type) of each event, in the order given."""
    return [(e.artifact_id, e.execution_id, e.type) for e in events]
