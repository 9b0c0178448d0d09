"""put_lineage_subgraph: many executions, artifacts, events and contexts in one write."""

from __future__ import annotations

import pytest

from ._api import errors, lineage_only, metadata_store_pb2 as pb
from ._helpers import (
    ARTIFACT, CONTEXT, EXECUTION, INT, counts, event_key, fill, ids, make_type, now_ms,
    snapshot,
)

INPUT, OUTPUT = pb.Event.INPUT, pb.Event.OUTPUT


@pytest.fixture
def types(store):
    return (make_type(ARTIFACT, store, "A", {"p": INT}), make_type(EXECUTION, store, "E"),
            make_type(CONTEXT, store, "C"))


def test_writes_a_two_step_pipeline(store, types):
    artifact_type, execution_type, context_type = types
    executions = [pb.Execution(type_id=execution_type, name=f"e{i}") for i in range(2)]
    artifacts = [pb.Artifact(type_id=artifact_type, uri=f"/a{i}") for i in range(3)]
    contexts = [pb.Context(type_id=context_type, name="run"),
                pb.Context(type_id=context_type, name="pipeline")]
    edges = [(0, 0, pb.Event(type=INPUT)), (0, 1, pb.Event(type=OUTPUT)),
             (1, 1, pb.Event(type=INPUT)), (1, 2, pb.Event(type=OUTPUT))]
    before = now_ms()

    execution_ids, artifact_ids, context_ids = store.put_lineage_subgraph(
        executions, artifacts, contexts, edges)

    after = now_ms()
    assert (len(execution_ids), len(artifact_ids), len(context_ids)) == (2, 3, 2)
    assert [store.get_executions_by_id([i])[0].name for i in execution_ids] == ["e0", "e1"]
    assert [store.get_artifacts_by_id([i])[0].uri for i in artifact_ids] == ["/a0", "/a1", "/a2"]
    assert [store.get_contexts_by_id([i])[0].name for i in context_ids] == ["run", "pipeline"]

    e0, e1 = execution_ids
    a0, a1, a2 = artifact_ids
    stored_events = store.get_events_by_execution_ids(execution_ids)
    assert sorted(map(event_key, stored_events)) == sorted([
        (a0, e0, INPUT, ()), (a1, e0, OUTPUT, ()), (a1, e1, INPUT, ()), (a2, e1, OUTPUT, ())])
    for stored_event in stored_events:
        assert before - 1 <= stored_event.milliseconds_since_epoch <= after + 1
    for context_id in context_ids:
        assert sorted(ids(store.get_artifacts_by_context(context_id))) == sorted(artifact_ids)
        assert sorted(ids(store.get_executions_by_context(context_id))) == sorted(execution_ids)


def test_nothing_to_write(store, types):
    before = snapshot(store)
    assert store.put_lineage_subgraph([], [], [], []) == ([], [], [])
    assert snapshot(store) == before


def test_nodes_without_edges(store, types):
    artifact_type, execution_type, _ = types
    execution_ids, artifact_ids, context_ids = store.put_lineage_subgraph(
        [pb.Execution(type_id=execution_type)], [pb.Artifact(type_id=artifact_type)], [], [])
    assert context_ids == []
    assert store.get_events_by_execution_ids(execution_ids) == []
    assert counts(store) == (1, 1, 0)


def test_edges_may_refer_to_stored_nodes_by_id(store, types):
    artifact_type, execution_type, _ = types
    [old_artifact] = store.put_artifacts([pb.Artifact(type_id=artifact_type)])
    [old_execution] = store.put_executions([pb.Execution(type_id=execution_type)])

    execution_ids, artifact_ids, _ = store.put_lineage_subgraph(
        [pb.Execution(type_id=execution_type)], [pb.Artifact(type_id=artifact_type)], [],
        [(None, None, pb.Event(type=INPUT, artifact_id=old_artifact, execution_id=old_execution)),
         (0, None, pb.Event(type=INPUT, artifact_id=old_artifact)),
         (None, 0, pb.Event(type=OUTPUT, execution_id=old_execution))])

    [new_execution], [new_artifact] = execution_ids, artifact_ids
    assert sorted(map(event_key, store.get_events_by_artifact_ids([old_artifact, new_artifact]))) \
        == sorted([(old_artifact, old_execution, INPUT, ()),
                   (old_artifact, new_execution, INPUT, ()),
                   (new_artifact, old_execution, OUTPUT, ())])


def test_index_and_matching_id_together_are_fine(store, types):
    artifact_type, execution_type, _ = types
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=artifact_type)])
    [execution_id] = store.put_executions([pb.Execution(type_id=execution_type)])
    store.put_lineage_subgraph(
        [pb.Execution(id=execution_id, type_id=execution_type)],
        [pb.Artifact(id=artifact_id, type_id=artifact_type)], [],
        [(0, 0, pb.Event(type=INPUT, artifact_id=artifact_id, execution_id=execution_id))])
    assert len(store.get_events_by_execution_ids([execution_id])) == 1


def test_updates_stored_nodes_given_with_ids(store, types):
    artifact_type, execution_type, context_type = types
    [artifact_id] = store.put_artifacts([fill(pb.Artifact(type_id=artifact_type, uri="/v1"),
                                              {"p": 1})])
    [execution_id] = store.put_executions([pb.Execution(type_id=execution_type)])
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="c")])

    result = store.put_lineage_subgraph(
        [pb.Execution(id=execution_id, type_id=execution_type,
                      last_known_state=pb.Execution.COMPLETE)],
        [pb.Artifact(id=artifact_id, type_id=artifact_type, uri="/v2")],
        [pb.Context(id=context_id, type_id=context_type, name="c")],
        [(0, 0, pb.Event(type=OUTPUT))])

    assert result == ([execution_id], [artifact_id], [context_id])
    [artifact] = store.get_artifacts_by_id([artifact_id])
    assert artifact.uri == "/v2" and dict(artifact.properties) == {}
    [execution] = store.get_executions_by_id([execution_id])
    assert execution.last_known_state == pb.Execution.COMPLETE
    assert ids(store.get_artifacts_by_context(context_id)) == [artifact_id]
    assert ids(store.get_executions_by_context(context_id)) == [execution_id]
    assert counts(store) == (1, 1, 1)


def test_stored_nodes_given_with_ids_still_need_their_type_id(store, types):
    # Unlike put_artifacts, put_executions and put_execution, this call does
    # not fill in the stored type of an update.
    artifact_type, execution_type, _ = types
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=artifact_type)])
    [execution_id] = store.put_executions([pb.Execution(type_id=execution_type)])
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_lineage_subgraph([pb.Execution(id=execution_id)], [], [], [])
    with pytest.raises(errors.InvalidArgumentError):
        store.put_lineage_subgraph([], [pb.Artifact(id=artifact_id, uri="/x")], [], [])
    assert snapshot(store) == before


@pytest.mark.parametrize("edge", [
    (5, 0), (0, 5), (-1, 0), (0, -1), (1, 0), (0, 2),
], ids=["execution-index-5", "artifact-index-5", "negative-execution-index",
        "negative-artifact-index", "execution-index-at-length", "artifact-index-at-length"])
def test_edge_index_out_of_range_is_out_of_range_and_writes_nothing(store, types, edge):
    artifact_type, execution_type, context_type = types
    before = snapshot(store)
    with pytest.raises(errors.OutOfRangeError):
        store.put_lineage_subgraph(
            [pb.Execution(type_id=execution_type)],
            [pb.Artifact(type_id=artifact_type), pb.Artifact(type_id=artifact_type)],
            [pb.Context(type_id=context_type, name="c")],
            [(0, 0, pb.Event(type=INPUT)), (edge[0], edge[1], pb.Event(type=OUTPUT))])
    assert snapshot(store) == before


def build_request(store, types, case):
    """A valid request mixing stored and new nodes, spoilt as ``case`` says."""
    artifact_type, execution_type, context_type = types
    stored_artifacts = store.put_artifacts([pb.Artifact(type_id=artifact_type)] * 2)
    stored_executions = store.put_executions([pb.Execution(type_id=execution_type)] * 2)
    executions = [pb.Execution(id=stored_executions[0], type_id=execution_type),
                  pb.Execution(type_id=execution_type)]
    artifacts = [pb.Artifact(id=stored_artifacts[0], type_id=artifact_type),
                 pb.Artifact(type_id=artifact_type)]
    execution_index, artifact_index, event = 1, 1, pb.Event(type=OUTPUT)
    if case == "no-execution":
        execution_index = None
    elif case == "no-artifact":
        artifact_index = None
    elif case == "execution-id-mismatch":
        execution_index, event.execution_id = 0, stored_executions[1]
    elif case == "artifact-id-mismatch":
        artifact_index, event.artifact_id = 0, stored_artifacts[1]
    elif case == "event-without-type":
        event.ClearField("type")
    elif case == "artifact-bad-property":
        artifacts[1].properties["p"].string_value = "x"
    elif case == "event-to-missing-execution":
        execution_index, event.execution_id = None, 10_000
    elif case == "event-to-missing-artifact":
        artifact_index, event.artifact_id = None, 10_000
    else:
        assert case == "valid"
    contexts = [pb.Context(type_id=context_type, name="c")]
    edges = [(0, 0, pb.Event(type=INPUT)), (execution_index, artifact_index, event)]
    return executions, artifacts, contexts, edges


def test_the_request_spoilt_below_is_valid(store, types):
    execution_ids, artifact_ids, _ = store.put_lineage_subgraph(
        *build_request(store, types, "valid"))
    assert sorted(map(event_key, store.get_events_by_execution_ids(execution_ids))) == sorted([
        (artifact_ids[0], execution_ids[0], INPUT, ()),
        (artifact_ids[1], execution_ids[1], OUTPUT, ())])


@pytest.mark.parametrize("case", [
    "no-execution", "no-artifact", "execution-id-mismatch", "artifact-id-mismatch",
    "event-without-type", "artifact-bad-property",
    # MLMD 1.17.1 does not check ids given only in event_edges[].event: it
    # stores a dangling event to a node that does not exist. put_events refuses
    # the same event with InvalidArgumentError, and so do we here.
    pytest.param("event-to-missing-execution", marks=lineage_only),
    pytest.param("event-to-missing-artifact", marks=lineage_only),
])
def test_bad_edge_or_node_is_invalid_argument_and_writes_nothing(store, types, case):
    request = build_request(store, types, case)
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_lineage_subgraph(*request)
    assert snapshot(store) == before


def test_duplicate_events_are_already_exists_and_write_nothing(store, types):
    artifact_type, execution_type, _ = types
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_lineage_subgraph(
            [pb.Execution(type_id=execution_type)], [pb.Artifact(type_id=artifact_type)], [],
            [(0, 0, pb.Event(type=INPUT)), (0, 0, pb.Event(type=INPUT))])
    assert snapshot(store) == before


def test_new_context_with_a_taken_name(store, types):
    _, execution_type, context_type = types
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="taken")])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_lineage_subgraph([pb.Execution(type_id=execution_type)], [],
                                   [pb.Context(type_id=context_type, name="taken")], [])
    assert snapshot(store) == before

    execution_ids, _, context_ids = store.put_lineage_subgraph(
        [pb.Execution(type_id=execution_type)], [],
        [pb.Context(type_id=context_type, name="taken", external_id="ignored")], [],
        reuse_context_if_already_exist=True)
    assert context_ids == [context_id]
    assert store.get_contexts_by_id([context_id]) == before["contexts"]
    assert ids(store.get_executions_by_context(context_id)) == execution_ids


def test_a_context_is_reused_only_by_its_type_and_name(store, types):
    _, execution_type, context_type = types
    other_type = make_type(CONTEXT, store, "D")
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="taken")])

    _, _, context_ids = store.put_lineage_subgraph(
        [pb.Execution(type_id=execution_type)], [],
        [pb.Context(type_id=other_type, name="taken"), pb.Context(type_id=context_type, name="taken"),
         pb.Context(type_id=context_type, name="free")], [],
        reuse_context_if_already_exist=True)

    assert context_ids[1] == context_id
    assert len(set(context_ids)) == 3
    assert [(c.type_id, c.name) for c in store.get_contexts_by_id([context_ids[0], context_ids[2]])] == [
        (other_type, "taken"), (context_type, "free")]


def test_a_name_differing_only_in_case_is_taken_where_the_schema_says_so(store, types, request):
    # MLMD's MySQL schema keys (type_id, name) in a case-insensitive collation:
    # there "Taken" is "taken", a clash or a reuse; everywhere else a new name.
    _, execution_type, context_type = types
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="taken")])
    case_insensitive = request.node.callspec.params.get("store") == "mysql"
    before = snapshot(store)

    if case_insensitive:
        with pytest.raises(errors.AlreadyExistsError, match=f"context {context_id}"):
            store.put_contexts([pb.Context(type_id=context_type, name="Taken")])
        assert snapshot(store) == before
    _, _, [reused_or_new] = store.put_lineage_subgraph(
        [pb.Execution(type_id=execution_type)], [], [pb.Context(type_id=context_type, name="Taken")], [],
        reuse_context_if_already_exist=True)

    assert (reused_or_new == context_id) == case_insensitive


def test_new_artifact_with_a_taken_external_id(store, types):
    artifact_type, _, _ = types
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=artifact_type, external_id="x")])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_lineage_subgraph([], [pb.Artifact(type_id=artifact_type, external_id="x")],
                                   [], [])
    assert snapshot(store) == before

    _, artifact_ids, _ = store.put_lineage_subgraph(
        [], [pb.Artifact(type_id=artifact_type, external_id="x", uri="/updated")], [], [],
        reuse_artifact_if_already_exist_by_external_id=True)
    assert artifact_ids == [artifact_id]
    assert store.get_artifacts_by_id([artifact_id])[0].uri == "/updated"
    assert counts(store) == (1, 0, 0)
