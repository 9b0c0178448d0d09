"""Breadth-first provenance traversal over Backend primitives.

Hops alternate between artifacts and executions along events. Going
downstream an artifact reaches the executions that read it (input events) and
an execution the artifacts it wrote (output events); upstream is the reverse.
Every node is visited once, so a cycle written by a faulty client neither
loops nor repeats nodes. This is the generic path every backend supports; a
backend may offer a native one with the same answers.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from lineage import errors
from lineage.backends.base import Backend
from lineage.proto import metadata_store_pb2 as pb

__all__ = [
    "INPUT_EVENT_TYPES",
    "OUTPUT_EVENT_TYPES",
    "UPSTREAM",
    "DOWNSTREAM",
    "BOTH",
    "Reach",
    "traverse",
    "leaving_types",
]

INPUT_EVENT_TYPES = frozenset({pb.Event.DECLARED_INPUT, pb.Event.INPUT, pb.Event.INTERNAL_INPUT})
OUTPUT_EVENT_TYPES = frozenset(
    {pb.Event.DECLARED_OUTPUT, pb.Event.OUTPUT, pb.Event.INTERNAL_OUTPUT, pb.Event.PENDING_OUTPUT}
)

UPSTREAM, DOWNSTREAM, BOTH = "upstream", "downstream", "both"


@dataclasses.dataclass
class Reach:
    """What a traversal reached.

    Attributes:
        artifact_ids: Every artifact reached, starting ones included.
        execution_ids: Every execution reached, starting ones included.
        events: The events walked, each once.
        depth: The number of hops of the deepest node reached.
    """

    artifact_ids: set[int] = dataclasses.field(default_factory=set)
    execution_ids: set[int] = dataclasses.field(default_factory=set)
    events: list[pb.Event] = dataclasses.field(default_factory=list)
    depth: int = 0


def leaving_types(direction: str) -> tuple[frozenset[int] | None, frozenset[int] | None]:
    """The event types that lead away from an artifact, and from an execution, in ``direction``.

    None means every type: walking both ways follows any event, whatever its type.
    """
    if direction == BOTH:
        return None, None
    if direction == DOWNSTREAM:
        return INPUT_EVENT_TYPES, OUTPUT_EVENT_TYPES
    return OUTPUT_EVENT_TYPES, INPUT_EVENT_TYPES


def traverse(
    backend: Backend,
    artifact_ids: Iterable[int] = (),
    execution_ids: Iterable[int] = (),
    *,
    direction: str = UPSTREAM,
    max_hops: int | None = None,
    event_types: Iterable[int] | None = None,
    stop_artifacts: set[int] | None = None,
    stop_executions: set[int] | None = None,
) -> Reach:
    """Walks events breadth-first from the given nodes.

    Args:
        backend: Where the events live.
        artifact_ids: Starting artifacts.
        execution_ids: Starting executions.
        direction: UPSTREAM, DOWNSTREAM or BOTH.
        max_hops: Stop after this many hops; None walks until nothing new is found.
        event_types: Follow only events of these types (None: every type).
        stop_artifacts: Artifacts that are reached but not walked through.
        stop_executions: Executions that are reached but not walked through.

    Returns:
        A Reach with every node and event met.

    Raises:
        InvalidArgumentError: ``max_hops`` is negative or the direction is unknown.
    """
    if max_hops is not None and max_hops < 0:
        raise errors.InvalidArgumentError(f"max_hops must be >= 0, got {max_hops}")
    if direction not in (UPSTREAM, DOWNSTREAM, BOTH):
        raise errors.InvalidArgumentError(f"direction must be upstream, downstream or both, got {direction!r}")
    from_artifact, from_execution = leaving_types(direction)
    allowed = None if event_types is None else frozenset(event_types)
    reach = Reach(set(artifact_ids), set(execution_ids))
    seen_events: set[tuple[int, int, int]] = set()
    artifacts = set(reach.artifact_ids) - (stop_artifacts or set())
    executions = set(reach.execution_ids) - (stop_executions or set())
    hops = 0
    while (artifacts or executions) and (max_hops is None or hops < max_hops):
        next_artifacts: set[int] = set()
        next_executions: set[int] = set()
        events = backend.get_events(artifact_ids=sorted(artifacts), execution_ids=sorted(executions))
        for event in events:
            kind = event.type
            if allowed is not None and kind not in allowed:
                continue
            walked = False
            if event.artifact_id in artifacts and (from_artifact is None or kind in from_artifact):
                walked = True
                if event.execution_id not in reach.execution_ids:
                    next_executions.add(event.execution_id)
            if event.execution_id in executions and (from_execution is None or kind in from_execution):
                walked = True
                if event.artifact_id not in reach.artifact_ids:
                    next_artifacts.add(event.artifact_id)
            if walked:
                key = (event.artifact_id, event.execution_id, kind)
                if key not in seen_events:
                    seen_events.add(key)
                    reach.events.append(event)
        if not next_artifacts and not next_executions:
            break
        hops += 1
        reach.depth = hops
        reach.artifact_ids |= next_artifacts
        reach.execution_ids |= next_executions
        artifacts = next_artifacts - (stop_artifacts or set())
        executions = next_executions - (stop_executions or set())
    return reach
