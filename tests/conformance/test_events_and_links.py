"""Events, attributions, associations and parent contexts."""

from __future__ import annotations

import pytest

from ._api import errors, metadata_store_pb2 as pb
from ._helpers import (
    contexts_of_artifact, contexts_of_execution, event_key, ids, make_type, now_ms, snapshot,
    tick, ARTIFACT, CONTEXT, EXECUTION,
)

INPUT, OUTPUT = pb.Event.INPUT, pb.Event.OUTPUT


@pytest.fixture
def graph(store):
    """Three artifacts, two executions and three contexts, all unlinked."""
    artifact_type = make_type(ARTIFACT, store, "A")
    execution_type = make_type(EXECUTION, store, "E")
    context_type = make_type(CONTEXT, store, "C")
    artifacts = store.put_artifacts([pb.Artifact(type_id=artifact_type, uri=f"/a{i}")
                                     for i in range(3)])
    executions = store.put_executions([pb.Execution(type_id=execution_type)] * 2)
    contexts = store.put_contexts([pb.Context(type_id=context_type, name=f"c{i}")
                                   for i in range(3)])
    return artifacts, executions, contexts


def event(artifact_id, execution_id, event_type=INPUT, **fields):
    return pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=event_type,
                    **fields)


# --- events ------------------------------------------------------------------------------

def test_put_and_get_events(store, graph):
    (a0, a1, a2), (e0, e1), _ = graph
    events = [event(a0, e0, INPUT), event(a1, e0, OUTPUT), event(a1, e1, INPUT),
              event(a2, e1, OUTPUT)]
    before = now_ms()
    assert store.put_events(events) is None
    after = now_ms()

    by_execution = store.get_events_by_execution_ids([e0, e1])
    by_artifact = store.get_events_by_artifact_ids([a0, a1, a2])
    assert sorted(map(event_key, by_execution)) == sorted(map(event_key, events))
    assert sorted(map(event_key, by_artifact)) == sorted(map(event_key, events))
    for stored in by_execution:
        assert before - 1 <= stored.milliseconds_since_epoch <= after + 1

    assert sorted(map(event_key, store.get_events_by_execution_ids([e1]))) == sorted(
        map(event_key, events[2:]))
    assert sorted(map(event_key, store.get_events_by_artifact_ids([a1]))) == sorted(
        map(event_key, events[1:3]))


def test_get_events_for_missing_or_no_ids_is_empty(store, graph):
    (a0, _, a2), (e0, e1), _ = graph
    store.put_events([event(a0, e0)])
    assert store.get_events_by_execution_ids([10_000]) == []
    assert store.get_events_by_artifact_ids([10_000]) == []
    assert store.get_events_by_execution_ids([e1]) == []
    assert store.get_events_by_artifact_ids([a2]) == []
    assert store.get_events_by_execution_ids([]) == []
    assert store.get_events_by_artifact_ids([]) == []
    assert len(store.get_events_by_execution_ids([e0, 10_000])) == 1


def test_event_time_given_by_the_client_is_kept(store, graph):
    (a0, _, _), (e0, _), _ = graph
    store.put_events([event(a0, e0, milliseconds_since_epoch=12345)])
    [stored] = store.get_events_by_execution_ids([e0])
    assert stored.milliseconds_since_epoch == 12345


def test_event_path_round_trips(store, graph):
    (a0, a1, _), (e0, _), _ = graph
    with_path = event(a0, e0, OUTPUT)
    with_path.path.steps.add().key = "examples"
    with_path.path.steps.add().index = 3
    with_path.path.steps.add().key = ""
    store.put_events([with_path, event(a1, e0, INPUT)])
    stored = {e.artifact_id: e for e in store.get_events_by_execution_ids([e0])}
    assert stored[a0].path == with_path.path
    assert [s.WhichOneof("value") for s in stored[a0].path.steps] == ["key", "index", "key"]
    assert not stored[a1].HasField("path")


def test_paths_of_one_batch_stay_with_their_events(store, graph):
    # Events of one call are stored together: each path must land on its own
    # event, also between one artifact and one execution (two types).
    (a0, a1, a2), (e0, _), _ = graph
    given = []
    for artifact_id, type_, key in ((a2, OUTPUT, "c"), (a0, INPUT, "a"), (a0, OUTPUT, "b"), (a1, INPUT, "d")):
        one = event(artifact_id, e0, type_)
        one.path.steps.add().key = key
        one.path.steps.add().index = len(given)
        given.append(one)
    store.put_events(given)
    stored = {(e.artifact_id, e.type): e.path for e in store.get_events_by_execution_ids([e0])}
    assert stored == {(e.artifact_id, e.type): e.path for e in given}


@pytest.mark.parametrize("event_type", [
    t for t in pb.Event.Type.values() if t != pb.Event.UNKNOWN])
def test_every_event_type_round_trips(store, graph, event_type):
    (a0, _, _), (e0, _), _ = graph
    store.put_events([event(a0, e0, event_type)])
    assert [e.type for e in store.get_events_by_artifact_ids([a0])] == [event_type]


@pytest.mark.parametrize("make_bad", [
    lambda a, e: pb.Event(artifact_id=a, execution_id=e),
    lambda a, e: pb.Event(artifact_id=a, execution_id=e, type=pb.Event.UNKNOWN),
    lambda a, e: pb.Event(execution_id=e, type=INPUT),
    lambda a, e: pb.Event(artifact_id=a, type=INPUT),
    lambda a, e: pb.Event(artifact_id=10_000, execution_id=e, type=INPUT),
    lambda a, e: pb.Event(artifact_id=a, execution_id=10_000, type=INPUT),
], ids=["no-type", "unknown-type", "no-artifact-id", "no-execution-id", "missing-artifact",
        "missing-execution"])
def test_invalid_event_is_invalid_argument_and_writes_nothing(store, graph, make_bad):
    (a0, a1, _), (e0, _), _ = graph
    store.put_events([event(a0, e0)])
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_events([event(a1, e0), make_bad(a1, e0)])
    assert snapshot(store) == before


def test_same_artifact_execution_and_type_twice_is_already_exists(store, graph):
    (a0, _, _), (e0, _), _ = graph
    store.put_events([event(a0, e0, INPUT)])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_events([event(a0, e0, INPUT, milliseconds_since_epoch=1)])
    assert snapshot(store) == before
    # Another type between the same two nodes is another event.
    store.put_events([event(a0, e0, OUTPUT)])
    assert sorted(e.type for e in store.get_events_by_execution_ids([e0])) == [INPUT, OUTPUT]


def test_duplicate_event_within_one_batch_writes_nothing(store, graph):
    (a0, a1, _), (e0, _), _ = graph
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_events([event(a0, e0), event(a1, e0), event(a1, e0)])
    assert snapshot(store) == before


def test_put_no_events_is_fine(store, graph):
    before = snapshot(store)
    store.put_events([])
    assert snapshot(store) == before


# --- attributions and associations -------------------------------------------------------

def test_attributions_and_associations_link_both_ways(store, graph):
    (a0, a1, a2), (e0, e1), (c0, c1, _) = graph
    result = store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a0, context_id=c0),
         pb.Attribution(artifact_id=a1, context_id=c0),
         pb.Attribution(artifact_id=a1, context_id=c1)],
        [pb.Association(execution_id=e0, context_id=c0),
         pb.Association(execution_id=e0, context_id=c1)])
    assert result is None

    assert sorted(ids(store.get_artifacts_by_context(c0))) == [a0, a1]
    assert ids(store.get_artifacts_by_context(c1)) == [a1]
    assert ids(store.get_executions_by_context(c0)) == [e0]
    assert ids(store.get_executions_by_context(c1)) == [e0]
    assert sorted(ids(store.get_contexts_by_artifact(a1))) == [c0, c1]
    assert ids(store.get_contexts_by_artifact(a0)) == [c0]
    assert sorted(ids(store.get_contexts_by_execution(e0))) == [c0, c1]
    assert contexts_of_artifact(store, a2) == []
    assert contexts_of_execution(store, e1) == []


def test_attributions_and_associations_are_idempotent(store, graph):
    (a0, _, _), (e0, _), (c0, _, _) = graph
    links = ([pb.Attribution(artifact_id=a0, context_id=c0)],
             [pb.Association(execution_id=e0, context_id=c0)])
    store.put_attributions_and_associations(*links)
    before = snapshot(store)
    store.put_attributions_and_associations(*links)
    store.put_attributions_and_associations(links[0] * 2, links[1] * 2)
    assert snapshot(store) == before
    assert ids(store.get_artifacts_by_context(c0)) == [a0]
    assert ids(store.get_executions_by_context(c0)) == [e0]


@pytest.mark.parametrize("attributions, associations", [
    ([pb.Attribution(artifact_id=1, context_id=10_000)], []),
    ([pb.Attribution(artifact_id=10_000, context_id=1)], []),
    ([], [pb.Association(execution_id=1, context_id=10_000)]),
    ([], [pb.Association(execution_id=10_000, context_id=1)]),
    ([pb.Attribution()], []),
    ([], [pb.Association()]),
], ids=["attribution-missing-context", "attribution-missing-artifact",
        "association-missing-context", "association-missing-execution",
        "attribution-without-ids", "association-without-ids"])
def test_link_to_a_missing_node_is_invalid_argument_and_writes_nothing(
        store, graph, attributions, associations):
    (a0, a1, _), (e0, e1), (c0, c1, _) = graph
    assert (a0, e0, c0) == (1, 1, 1)  # the parameters above refer to these ids
    store.put_attributions_and_associations([pb.Attribution(artifact_id=a0, context_id=c0)], [])
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_attributions_and_associations(
            [pb.Attribution(artifact_id=a1, context_id=c1)] + attributions,
            [pb.Association(execution_id=e1, context_id=c1)] + associations)
    assert snapshot(store) == before


def test_contexts_of_a_node_without_contexts_is_not_found(store, graph):
    # Unlike the other list getters, these two report "nothing" as NotFound,
    # whether or not the artifact or execution exists.
    (a0, _, _), (e0, _), _ = graph
    for call, node_id in ((store.get_contexts_by_artifact, a0),
                          (store.get_contexts_by_execution, e0),
                          (store.get_contexts_by_artifact, 10_000),
                          (store.get_contexts_by_execution, 10_000)):
        with pytest.raises(errors.NotFoundError):
            call(node_id)


def test_nodes_of_a_missing_or_empty_context_is_empty(store, graph):
    _, _, (c0, _, _) = graph
    assert store.get_artifacts_by_context(c0) == []
    assert store.get_executions_by_context(c0) == []
    assert store.get_artifacts_by_context(10_000) == []
    assert store.get_executions_by_context(10_000) == []


def test_executions_by_context_default_to_newest_first(store, graph):
    _, _, (c0, _, _) = graph
    execution_type = store.get_execution_type("E").id
    newer = []
    for _ in range(3):
        tick()
        newer += store.put_executions([pb.Execution(type_id=execution_type)])
    # Two created in one call share a creation time; the id breaks the tie.
    newer += store.put_executions([pb.Execution(type_id=execution_type)] * 2)
    store.put_attributions_and_associations(
        [], [pb.Association(execution_id=e, context_id=c0) for e in newer])
    assert ids(store.get_executions_by_context(c0)) == sorted(newer, reverse=True)


def test_artifacts_by_context_default_to_id_order(store, graph):
    _, _, (c0, _, _) = graph
    artifact_type = store.get_artifact_type("A").id
    new = store.put_artifacts([pb.Artifact(type_id=artifact_type)] * 3)
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=c0) for a in reversed(new)], [])
    assert ids(store.get_artifacts_by_context(c0)) == new


# --- parent contexts ---------------------------------------------------------------------

def parent(child_id, parent_id):
    return pb.ParentContext(child_id=child_id, parent_id=parent_id)


def test_parent_contexts_link_both_ways(store, graph):
    _, _, (c0, c1, c2) = graph
    assert store.put_parent_contexts([parent(c1, c0), parent(c2, c0), parent(c2, c1)]) is None
    assert ids(store.get_parent_contexts_by_context(c1)) == [c0]
    assert sorted(ids(store.get_parent_contexts_by_context(c2))) == [c0, c1]
    assert store.get_parent_contexts_by_context(c0) == []
    assert sorted(ids(store.get_children_contexts_by_context(c0))) == [c1, c2]
    assert ids(store.get_children_contexts_by_context(c1)) == [c2]
    assert store.get_children_contexts_by_context(c2) == []


def test_parents_and_children_of_a_missing_context_are_empty(store, graph):
    assert store.get_parent_contexts_by_context(10_000) == []
    assert store.get_children_contexts_by_context(10_000) == []


def test_duplicate_parent_context_is_already_exists(store, graph):
    _, _, (c0, c1, c2) = graph
    store.put_parent_contexts([parent(c1, c0)])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_parent_contexts([parent(c2, c0), parent(c1, c0)])
    with pytest.raises(errors.AlreadyExistsError):
        store.put_parent_contexts([parent(c2, c1), parent(c2, c1)])
    assert snapshot(store) == before


@pytest.mark.parametrize("links", [
    [(0, 0)],
    [(1, 10_000)],
    [(10_000, 0)],
    [(None, 0)],
    [(1, None)],
    [(2, 1), (1, 0), (0, 2)],
    [(1, 0), (0, 1)],
], ids=["self", "missing-parent", "missing-child", "no-child-id", "no-parent-id",
        "cycle-of-three", "cycle-of-two"])
def test_bad_parent_context_is_invalid_argument_and_writes_nothing(store, graph, links):
    _, _, contexts = graph

    def resolve(index):
        return contexts[index] if index is not None and index < 10 else index

    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_parent_contexts([
            pb.ParentContext(child_id=resolve(child), parent_id=resolve(parent_))
            for child, parent_ in links])
    assert snapshot(store) == before


def test_parent_context_closing_a_cycle_with_stored_links_is_invalid_argument(store, graph):
    _, _, (c0, c1, c2) = graph
    store.put_parent_contexts([parent(c1, c0), parent(c2, c1)])
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_parent_contexts([parent(c0, c1)])
    with pytest.raises(errors.InvalidArgumentError):
        store.put_parent_contexts([parent(c0, c2)])
    assert snapshot(store) == before
    # A second path to an ancestor is no cycle.
    store.put_parent_contexts([parent(c2, c0)])
    assert sorted(ids(store.get_parent_contexts_by_context(c2))) == [c0, c1]
