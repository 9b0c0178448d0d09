"""put_execution: one atomic write of an execution with its artifacts, events and contexts."""

from __future__ import annotations

import pytest

from ._api import errors, metadata_store_pb2 as pb
from ._helpers import (
    ARTIFACT, CONTEXT, EXECUTION, INT, contexts_of_execution, counts,
    event_key, fill, ids, make_type, now_ms, snapshot, tick,
)

INPUT, OUTPUT = pb.Event.INPUT, pb.Event.OUTPUT


@pytest.fixture
def types(store):
    """(artifact type id, execution type id, context type id); the artifact type has INT p."""
    return (make_type(ARTIFACT, store, "A", {"p": INT}), make_type(EXECUTION, store, "E"),
            make_type(CONTEXT, store, "C"))


def test_creates_everything_and_links_it(store, types):
    artifact_type, execution_type, context_type = types
    before = now_ms()

    execution_id, artifact_ids, context_ids = store.put_execution(
        pb.Execution(type_id=execution_type, name="run"),
        [(pb.Artifact(type_id=artifact_type, uri="/in"), pb.Event(type=INPUT)),
         (pb.Artifact(type_id=artifact_type, uri="/out"), pb.Event(type=OUTPUT))],
        [pb.Context(type_id=context_type, name="c1"), pb.Context(type_id=context_type, name="c2")])

    after = now_ms()
    assert isinstance(execution_id, int)
    assert len(artifact_ids) == 2 and len(context_ids) == 2
    [execution] = store.get_executions_by_id([execution_id])
    assert execution.name == "run"
    stored_artifacts = {a.id: a for a in store.get_artifacts_by_id(artifact_ids)}
    assert [stored_artifacts[i].uri for i in artifact_ids] == ["/in", "/out"]
    assert [c.name for c in sorted(store.get_contexts_by_id(context_ids),
                                   key=lambda c: context_ids.index(c.id))] == ["c1", "c2"]

    events = store.get_events_by_execution_ids([execution_id])
    assert sorted(map(event_key, events)) == sorted([
        (artifact_ids[0], execution_id, INPUT, ()), (artifact_ids[1], execution_id, OUTPUT, ())])
    for stored_event in events:
        assert before - 1 <= stored_event.milliseconds_since_epoch <= after + 1

    for context_id in context_ids:
        assert sorted(ids(store.get_artifacts_by_context(context_id))) == sorted(artifact_ids)
        assert ids(store.get_executions_by_context(context_id)) == [execution_id]


def test_artifact_without_event_is_still_written_and_attributed(store, types):
    artifact_type, execution_type, context_type = types
    execution_id, [artifact_id], [context_id] = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(pb.Artifact(type_id=artifact_type, uri="/loose"), None)],
        [pb.Context(type_id=context_type, name="c")])
    assert store.get_events_by_execution_ids([execution_id]) == []
    assert ids(store.get_artifacts_by_context(context_id)) == [artifact_id]
    assert ids(store.get_executions_by_context(context_id)) == [execution_id]


@pytest.mark.parametrize("contexts", [None, []], ids=["none", "empty"])
def test_execution_alone(store, types, contexts):
    _, execution_type, _ = types
    execution_id, artifact_ids, context_ids = store.put_execution(
        pb.Execution(type_id=execution_type), [], contexts)
    assert (artifact_ids, context_ids) == ([], [])
    assert ids(store.get_executions()) == [execution_id]
    assert contexts_of_execution(store, execution_id) == []


def test_event_ids_may_be_given_when_they_match(store, types):
    artifact_type, execution_type, _ = types
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=artifact_type)])
    [execution_id] = store.put_executions([pb.Execution(type_id=execution_type)])
    store.put_execution(
        pb.Execution(id=execution_id, type_id=execution_type),
        [(pb.Artifact(id=artifact_id, type_id=artifact_type),
          pb.Event(type=INPUT, artifact_id=artifact_id, execution_id=execution_id))], [])
    assert [event_key(e) for e in store.get_events_by_execution_ids([execution_id])] == [
        (artifact_id, execution_id, INPUT, ())]


def test_updates_existing_execution_and_artifacts_by_id(store, types):
    artifact_type, execution_type, _ = types
    execution_id, [artifact_id], _ = store.put_execution(
        pb.Execution(type_id=execution_type, last_known_state=pb.Execution.RUNNING),
        [(fill(pb.Artifact(type_id=artifact_type, uri="/v1"), {"p": 1}), pb.Event(type=OUTPUT))],
        [])
    [created] = store.get_executions_by_id([execution_id])
    tick()

    again = store.put_execution(
        pb.Execution(id=execution_id, last_known_state=pb.Execution.COMPLETE),
        [(pb.Artifact(id=artifact_id, uri="/v2"), None)], [])

    assert again == (execution_id, [artifact_id], [])
    [execution] = store.get_executions_by_id([execution_id])
    [artifact] = store.get_artifacts_by_id([artifact_id])
    assert execution.last_known_state == pb.Execution.COMPLETE
    assert execution.last_update_time_since_epoch > created.last_update_time_since_epoch
    assert artifact.uri == "/v2"
    assert dict(artifact.properties) == {}  # an update without a mask replaces the artifact
    assert counts(store) == (1, 1, 0)
    assert len(store.get_events_by_execution_ids([execution_id])) == 1


def test_same_event_again_is_already_exists_and_writes_nothing(store, types):
    artifact_type, execution_type, _ = types
    execution_id, [artifact_id], _ = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(pb.Artifact(type_id=artifact_type), pb.Event(type=INPUT))], [])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_execution(
            pb.Execution(id=execution_id, last_known_state=pb.Execution.FAILED),
            [(pb.Artifact(id=artifact_id, uri="/changed"), pb.Event(type=INPUT))], [])
    assert snapshot(store) == before


def test_existing_context_given_in_full_is_updated_and_linked(store, types):
    artifact_type, execution_type, context_type = types
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="old")])
    context = pb.Context(id=context_id, type_id=context_type, name="renamed")
    context.custom_properties["note"].string_value = "x"

    execution_id, [artifact_id], context_ids = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(pb.Artifact(type_id=artifact_type), pb.Event(type=OUTPUT))], [context])

    assert context_ids == [context_id]
    [stored] = store.get_contexts_by_id([context_id])
    assert stored.name == "renamed"
    assert stored.custom_properties["note"].string_value == "x"
    assert ids(store.get_executions_by_context(context_id)) == [execution_id]
    assert ids(store.get_artifacts_by_context(context_id)) == [artifact_id]


def test_existing_context_given_by_id_only_needs_force_reuse_context(store, types):
    artifact_type, execution_type, context_type = types
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="keep")])
    before = snapshot(store)

    # Without force_reuse_context the context is upserted, so it must be whole.
    with pytest.raises(errors.InvalidArgumentError):
        store.put_execution(pb.Execution(type_id=execution_type), [],
                            [pb.Context(id=context_id)])
    assert snapshot(store) == before

    execution_id, _, context_ids = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(pb.Artifact(type_id=artifact_type), pb.Event(type=OUTPUT))],
        [pb.Context(id=context_id)], force_reuse_context=True)
    assert context_ids == [context_id]
    assert store.get_contexts_by_id([context_id]) == before["contexts"]
    assert ids(store.get_executions_by_context(context_id)) == [execution_id]


def test_force_reuse_context_does_not_update_the_context(store, types):
    _, execution_type, context_type = types
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="keep")])
    [stored] = store.get_contexts_by_id([context_id])
    changed = pb.Context()
    changed.CopyFrom(stored)
    changed.name = "other"
    changed.custom_properties["x"].int_value = 1
    tick()
    store.put_execution(pb.Execution(type_id=execution_type), [], [changed],
                        force_reuse_context=True)
    assert store.get_contexts_by_id([context_id]) == [stored]


def test_forced_reuse_of_a_missing_context_is_not_found(store, types):
    _, execution_type, _ = types
    before = snapshot(store)
    with pytest.raises(errors.NotFoundError):
        store.put_execution(pb.Execution(type_id=execution_type), [],
                            [pb.Context(id=10_000)], force_reuse_context=True)
    assert snapshot(store) == before


def test_context_update_of_a_missing_id_is_invalid_argument(store, types):
    _, execution_type, context_type = types
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_execution(pb.Execution(type_id=execution_type), [],
                            [pb.Context(id=10_000, type_id=context_type, name="x")])
    assert snapshot(store) == before


def test_new_context_with_a_taken_name_is_already_exists(store, types):
    artifact_type, execution_type, context_type = types
    store.put_contexts([pb.Context(type_id=context_type, name="taken")])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_execution(pb.Execution(type_id=execution_type),
                            [(pb.Artifact(type_id=artifact_type), pb.Event(type=OUTPUT))],
                            [pb.Context(type_id=context_type, name="taken")])
    assert snapshot(store) == before


def test_reuse_context_if_already_exist(store, types):
    artifact_type, execution_type, context_type = types
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="taken")])
    [stored] = store.get_contexts_by_id([context_id])
    request_context = pb.Context(type_id=context_type, name="taken", external_id="new-ext")

    execution_id, [artifact_id], context_ids = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(pb.Artifact(type_id=artifact_type), pb.Event(type=OUTPUT))],
        [request_context], reuse_context_if_already_exist=True)

    assert context_ids == [context_id]
    assert store.get_contexts_by_id([context_id]) == [stored]  # reused as stored
    assert counts(store) == (1, 1, 1)
    assert ids(store.get_executions_by_context(context_id)) == [execution_id]
    assert ids(store.get_artifacts_by_context(context_id)) == [artifact_id]


def test_same_new_context_twice_in_one_call(store, types):
    _, execution_type, context_type = types
    twice = [pb.Context(type_id=context_type, name="n")] * 2
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_execution(pb.Execution(type_id=execution_type), [], twice)
    assert snapshot(store) == before
    _, _, context_ids = store.put_execution(pb.Execution(type_id=execution_type), [], twice,
                                            reuse_context_if_already_exist=True)
    assert len(context_ids) == 2 and context_ids[0] == context_ids[1]
    assert len(store.get_contexts()) == 1


def test_new_artifact_with_a_taken_external_id_is_already_exists(store, types):
    artifact_type, execution_type, _ = types
    store.put_artifacts([pb.Artifact(type_id=artifact_type, external_id="x", uri="/v1")])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        store.put_execution(
            pb.Execution(type_id=execution_type),
            [(pb.Artifact(type_id=artifact_type, external_id="x", uri="/v2"),
              pb.Event(type=OUTPUT))], [])
    assert snapshot(store) == before


def test_reuse_artifact_if_already_exist_by_external_id(store, types):
    artifact_type, execution_type, _ = types
    [existing] = store.put_artifacts(
        [pb.Artifact(type_id=artifact_type, external_id="x", uri="/v1")])

    execution_id, artifact_ids, _ = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(pb.Artifact(type_id=artifact_type, external_id="x", uri="/v2"), pb.Event(type=OUTPUT)),
         (pb.Artifact(type_id=artifact_type, external_id="fresh"), pb.Event(type=OUTPUT))],
        [], reuse_artifact_if_already_exist_by_external_id=True)

    assert artifact_ids[0] == existing
    assert artifact_ids[1] != existing
    [reused] = store.get_artifacts_by_id([existing])
    assert reused.uri == "/v2"  # the stored artifact is updated from the request
    assert sorted(e.artifact_id for e in store.get_events_by_execution_ids([execution_id])) == \
        sorted(artifact_ids)
    assert counts(store) == (2, 1, 0)


def build_request(store, types, case):
    """A valid put_execution request, spoilt as ``case`` says ("valid": left alone)."""
    artifact_type, execution_type, context_type = types
    [other_artifact] = store.put_artifacts([pb.Artifact(type_id=artifact_type)])
    [other_execution] = store.put_executions([pb.Execution(type_id=execution_type)])
    execution = pb.Execution(type_id=execution_type, name="new")
    artifact = pb.Artifact(type_id=artifact_type, uri="/new")
    event = pb.Event(type=OUTPUT)
    context = pb.Context(type_id=context_type, name="new")
    if case == "event-artifact-id-mismatch":
        event.artifact_id = other_artifact
    elif case == "event-execution-id-mismatch":
        event.execution_id = other_execution
    elif case == "event-without-type":
        event.ClearField("type")
    elif case == "artifact-without-type":
        artifact.ClearField("type_id")
    elif case == "artifact-bad-property":
        artifact.properties["p"].string_value = "not an int"
    elif case == "execution-without-type":
        execution.ClearField("type_id")
    elif case == "context-without-name":
        context.ClearField("name")
    elif case == "context-without-type":
        context.ClearField("type_id")
    elif case == "artifact-unknown-id":
        artifact.id = 10_000
    else:
        assert case == "valid"
    return execution, [(artifact, event)], [context]


def test_the_request_spoilt_below_is_valid(store, types):
    execution_id, [artifact_id], [context_id] = store.put_execution(
        *build_request(store, types, "valid"))
    assert len(store.get_events_by_execution_ids([execution_id])) == 1
    assert ids(store.get_artifacts_by_context(context_id)) == [artifact_id]


@pytest.mark.parametrize("case", [
    "event-artifact-id-mismatch", "event-execution-id-mismatch", "event-without-type",
    "artifact-without-type", "artifact-bad-property", "execution-without-type",
    "context-without-name", "context-without-type", "artifact-unknown-id",
])
def test_invalid_input_is_invalid_argument_and_writes_nothing(store, types, case):
    request = build_request(store, types, case)
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_execution(*request)
    assert snapshot(store) == before


def test_unchanged_execution_keeps_its_update_time_unless_forced(store, types):
    _, execution_type, _ = types
    execution_id, _, _ = store.put_execution(pb.Execution(type_id=execution_type), [], [])
    [stored] = store.get_executions_by_id([execution_id])
    tick()
    store.put_execution(stored, [], [])
    assert store.get_executions_by_id([execution_id]) == [stored]

    tick()
    before = now_ms()
    store.put_execution(stored, [], [], force_update_time=True)
    [forced] = store.get_executions_by_id([execution_id])
    assert forced.last_update_time_since_epoch >= before - 1
    assert forced.last_update_time_since_epoch > stored.last_update_time_since_epoch
    assert forced.create_time_since_epoch == stored.create_time_since_epoch


def test_same_new_artifact_twice_makes_two_artifacts(store, types):
    artifact_type, execution_type, _ = types
    artifact = pb.Artifact(type_id=artifact_type, uri="/same")
    _, artifact_ids, _ = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(artifact, pb.Event(type=INPUT)), (artifact, pb.Event(type=INPUT))], [])
    assert len(set(artifact_ids)) == 2
    assert len(store.get_artifacts_by_uri("/same")) == 2
