"""Builders and state probes shared by the conformance tests.

Everything here goes through the public store API only.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._api import errors, metadata_store_pb2 as pb

INT, DOUBLE, STRING = pb.INT, pb.DOUBLE, pb.STRING
STRUCT, PROTO, BOOLEAN = pb.STRUCT, pb.PROTO, pb.BOOLEAN


def now_ms() -> int:
    """Wall-clock time in milliseconds since the epoch, as the store records it."""
    return time.time_ns() // 1_000_000


def tick() -> None:
    """Lets the millisecond clock move on, so that later writes get later times."""
    start = now_ms()
    while now_ms() < start + 2:
        time.sleep(0.001)


def set_value(value: Any, python_value: Any) -> None:
    """Fills a ``Value`` message from a Python value (bool, int, float, str, dict)."""
    if isinstance(python_value, bool):
        value.bool_value = python_value
    elif isinstance(python_value, int):
        value.int_value = python_value
    elif isinstance(python_value, float):
        value.double_value = python_value
    elif isinstance(python_value, str):
        value.string_value = python_value
    elif isinstance(python_value, dict):
        value.struct_value.update(python_value)
    else:
        raise TypeError(f"no Value field for {type(python_value).__name__}")


def fill(node: Any, properties: dict | None = None, custom: dict | None = None) -> Any:
    """Sets ``properties`` and ``custom_properties`` of ``node``; returns it."""
    for name, python_value in (properties or {}).items():
        set_value(node.properties[name], python_value)
    for name, python_value in (custom or {}).items():
        set_value(node.custom_properties[name], python_value)
    return node


@dataclasses.dataclass(frozen=True)
class NodeKind:
    """The per-kind corners of the API, so one test covers all three kinds."""

    name: str
    type_cls: Any
    node_cls: Any
    put_type: Callable
    get_type: Callable
    get_types: Callable
    get_types_by_id: Callable
    get_types_by_external_ids: Callable
    put_nodes: Callable
    get_nodes: Callable
    get_nodes_by_id: Callable
    get_nodes_by_type: Callable
    get_node_by_type_and_name: Callable
    get_nodes_by_external_ids: Callable

    def __str__(self) -> str:
        return self.name

    def new_node(self, type_id: int | None = None, name: str | None = None, **fields) -> Any:
        """A node message; contexts get a name when none is given, as they need one."""
        node = self.node_cls(**fields)
        if type_id is not None:
            node.type_id = type_id
        if name is not None:
            node.name = name
        elif self.name == "context" and "id" not in fields:
            node.name = f"context-{next(_context_numbers)}"
        return node


_context_numbers = itertools.count(1)


def _kind(name: str, singular: str, plural: str, type_cls, node_cls) -> NodeKind:
    def method(template: str) -> Callable:
        attribute = template.format(s=singular, p=plural)
        return lambda store, *args, **kwargs: getattr(store, attribute)(*args, **kwargs)

    return NodeKind(
        name=name,
        type_cls=type_cls,
        node_cls=node_cls,
        put_type=method("put_{s}_type"),
        get_type=method("get_{s}_type"),
        get_types=method("get_{s}_types"),
        get_types_by_id=method("get_{s}_types_by_id"),
        get_types_by_external_ids=method("get_{s}_types_by_external_ids"),
        put_nodes=method("put_{p}"),
        get_nodes=method("get_{p}"),
        get_nodes_by_id=method("get_{p}_by_id"),
        get_nodes_by_type=method("get_{p}_by_type"),
        get_node_by_type_and_name=method("get_{s}_by_type_and_name"),
        get_nodes_by_external_ids=method("get_{p}_by_external_ids"),
    )


ARTIFACT = _kind("artifact", "artifact", "artifacts", pb.ArtifactType, pb.Artifact)
EXECUTION = _kind("execution", "execution", "executions", pb.ExecutionType, pb.Execution)
CONTEXT = _kind("context", "context", "contexts", pb.ContextType, pb.Context)
KINDS = (ARTIFACT, EXECUTION, CONTEXT)


def make_type(kind: NodeKind, store, name: str, properties: dict | None = None, **fields) -> int:
    """Registers a type of ``kind`` with ``properties`` (name -> PropertyType)."""
    node_type = kind.type_cls(name=name, **fields)
    for prop, prop_type in (properties or {}).items():
        node_type.properties[prop] = prop_type
    return kind.put_type(store, node_type)


def ids(nodes: Iterable[Any]) -> list[int]:
    return [node.id for node in nodes]


def names(nodes: Iterable[Any]) -> list[str]:
    return [node.name for node in nodes]


def by_id(messages: Iterable[Any]) -> list[Any]:
    return sorted(messages, key=lambda message: message.id)


def event_key(event: Any) -> tuple:
    """An event without its timestamp, for order-free comparison."""
    return (event.artifact_id, event.execution_id, event.type,
            tuple((step.WhichOneof("value"), step.index, step.key) for step in event.path.steps))


def snapshot(store) -> dict[str, Any]:
    """Everything the public API can see, in a canonical order.

    Two equal snapshots mean that no write happened in between, which is how
    the tests check that a refused call left the store untouched.
    """
    artifacts = by_id(store.get_artifacts())
    executions = by_id(store.get_executions())
    contexts = by_id(store.get_contexts())
    state: dict[str, Any] = {
        "artifact_types": by_id(store.get_artifact_types()),
        "execution_types": by_id(store.get_execution_types()),
        "context_types": by_id(store.get_context_types()),
        "artifacts": artifacts,
        "executions": executions,
        "contexts": contexts,
        "events": sorted(
            (event_key(e) + (e.milliseconds_since_epoch,)
             for e in store.get_events_by_execution_ids(ids(executions))),
        ),
    }
    links = []
    for context in contexts:
        links.append((
            context.id,
            sorted(ids(store.get_artifacts_by_context(context.id))),
            sorted(ids(store.get_executions_by_context(context.id))),
            sorted(ids(store.get_parent_contexts_by_context(context.id))),
            sorted(ids(store.get_children_contexts_by_context(context.id))),
        ))
    state["links"] = links
    return state


def counts(store) -> tuple[int, int, int]:
    """(artifacts, executions, contexts) in the store."""
    return (len(store.get_artifacts()), len(store.get_executions()), len(store.get_contexts()))


def contexts_of_artifact(store, artifact_id: int) -> list[int]:
    """Ids of the contexts an artifact is attributed to ([] when none)."""
    try:
        return sorted(ids(store.get_contexts_by_artifact(artifact_id)))
    except errors.NotFoundError:
        return []


def contexts_of_execution(store, execution_id: int) -> list[int]:
    """Ids of the contexts an execution is associated with ([] when none)."""
    try:
        return sorted(ids(store.get_contexts_by_execution(execution_id)))
    except errors.NotFoundError:
        return []
