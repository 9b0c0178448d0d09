"""find_reusable_execution and cache_key: hits, every kind of miss, and index upkeep on write."""

from __future__ import annotations

import hashlib
import json

import lineage
import pytest

from engine_helpers import Builder, Event, event
from lineage.proto import metadata_store_pb2 as pb

Execution, Artifact = pb.Execution, pb.Artifact


class Steps:
    """Writes step runs with put_execution, the way a pipeline orchestrator does."""

    def __init__(self, store):
        self.store = store
        self.build = Builder(store)
        self.train = self.build.execution_type("Train", lr=pb.DOUBLE, epochs=pb.INT)
        self.evaluate = self.build.execution_type("Evaluate", lr=pb.DOUBLE, epochs=pb.INT)
        self.inputs = [self.build.artifact("Data", f"in{n}", uri=f"/in/{n}") for n in range(4)]

    def run(self, inputs, *, props=None, custom=None, state=Execution.COMPLETE, type_id=None,
            output_state=Artifact.LIVE, outputs=1):
        """One execution reading ``inputs`` (ids, or key -> ids) and writing ``outputs`` models.

        Returns:
            (execution id, output artifact ids).
        """
        execution = Execution(type_id=type_id or self.train, last_known_state=state)
        for source, values in ((execution.properties, props or {}), (execution.custom_properties, custom or {})):
            for name, value in values.items():
                if isinstance(value, float):
                    source[name].double_value = value
                elif isinstance(value, int):
                    source[name].int_value = value
                else:
                    source[name].string_value = value
        keyed = inputs.items() if isinstance(inputs, dict) else [(None, inputs)]
        pairs = []
        for key, ids in keyed:
            for index, artifact in enumerate(self.store.get_artifacts_by_id(ids)):
                read = Event(type=Event.INPUT)
                if key is not None:
                    read.path.steps.add().key = key
                read.path.steps.add().index = index
                pairs.append((artifact, read))
        model_type = self.build.artifact_type("Model")
        for n in range(outputs):
            wrote = Event(type=Event.OUTPUT)
            wrote.path.steps.add().key = "model"
            wrote.path.steps.add().index = n
            pairs.append((Artifact(type_id=model_type, uri=f"/models/{len(pairs)}", state=output_state), wrote))
        execution_id, artifact_ids, _ = self.store.put_execution(execution, pairs, [])
        return execution_id, artifact_ids[len(artifact_ids) - outputs:]


@pytest.fixture
def steps(store):
    return Steps(store)


def hit_id(store, *args, **kwargs):
    hit = store.lineage.find_reusable_execution(*args, **kwargs)
    return None if hit is None else hit.execution.id


def test_hit_returns_the_execution_and_its_live_outputs(store, steps):
    a1, a2 = steps.inputs[:2]
    execution_id, outputs = steps.run([a1, a2], props={"lr": 0.1}, outputs=2)
    hit = store.lineage.find_reusable_execution("Train", [a1, a2], {"lr": 0.1})
    assert hit is not None
    assert hit.execution == store.get_executions_by_id([execution_id])[0]
    assert hit.outputs == {"model": store.get_artifacts_by_id(outputs)}
    assert hit_id(store, steps.train, [a1, a2], {"lr": 0.1}) == execution_id
    assert hit_id(store, "Train", [a1, a2], {"lr": pb.Value(double_value=0.1)}) == execution_id


@pytest.mark.parametrize("question", [
    dict(inputs=[0, 2], props={"lr": 0.1}),
    dict(inputs=[0, 1, 2], props={"lr": 0.1}),
    dict(inputs=[0], props={"lr": 0.1}),
    dict(inputs=[], props={"lr": 0.1}),
    dict(inputs=[0, 1], props={"lr": 0.2}),
    dict(inputs=[0, 1], props=None),
    dict(inputs=[0, 1], props={"lr": 0.1, "epochs": 3}),
    dict(inputs=[0, 1], props={"lr": 1}),
    dict(inputs=[0, 1], props={"lr": "0.1"}),
    dict(inputs=[0, 1], props={"lr": 0.1}, type_name="Evaluate"),
], ids=["different-input", "extra-input", "missing-input", "no-inputs", "different-property",
        "no-properties", "extra-property", "int-for-double", "string-for-double", "different-type"])
def test_misses(store, steps, question):
    steps.run(steps.inputs[:2], props={"lr": 0.1})
    inputs = [steps.inputs[i] for i in question["inputs"]]
    assert store.lineage.find_reusable_execution(
        question.get("type_name", "Train"), inputs, question["props"]) is None


def test_custom_and_declared_properties_both_count(store, steps):
    a1 = steps.inputs[0]
    mixed, _ = steps.run([a1], props={"lr": 0.1}, custom={"note": "x"})
    assert hit_id(store, "Train", [a1], {"lr": 0.1}) is None
    assert hit_id(store, "Train", [a1], {"note": "x"}) is None
    assert hit_id(store, "Train", [a1], {"lr": 0.1, "note": "x"}) == mixed
    assert hit_id(store, "Train", [a1], {"lr": 0.1, "note": "y"}) is None

    a2 = steps.inputs[1]
    custom_only, _ = steps.run([a2], custom={"lr": 0.1})
    declared_only, _ = steps.run([steps.inputs[2]], props={"lr": 0.1})
    assert hit_id(store, "Train", [a2], {"lr": 0.1}) == custom_only
    assert hit_id(store, "Train", [steps.inputs[2]], {"lr": 0.1}) == declared_only


@pytest.mark.parametrize("state, reusable", [
    (Execution.COMPLETE, True), (Execution.CACHED, True), (Execution.NEW, False), (Execution.RUNNING, False),
    (Execution.FAILED, False), (Execution.CANCELED, False), (Execution.UNKNOWN, False),
], ids=lambda v: Execution.State.Name(v) if isinstance(v, int) and not isinstance(v, bool) else str(v))
def test_only_complete_or_cached_executions_are_reused(store, steps, state, reusable):
    execution_id, _ = steps.run(steps.inputs[:1], state=state)
    assert hit_id(store, "Train", steps.inputs[:1]) == (execution_id if reusable else None)


@pytest.mark.parametrize("dead", [Artifact.DELETED, Artifact.MARKED_FOR_DELETION, Artifact.ABANDONED],
                         ids=lambda v: Artifact.State.Name(v))
def test_an_output_that_is_gone_spoils_the_match(store, steps, dead):
    execution_id, outputs = steps.run(steps.inputs[:1], outputs=2)
    assert hit_id(store, "Train", steps.inputs[:1]) == execution_id
    [second] = store.get_artifacts_by_id(outputs[1:])
    second.state = dead
    store.put_artifacts([second])
    assert hit_id(store, "Train", steps.inputs[:1]) is None
    # Written dead from the start, too.
    steps.run(steps.inputs[1:2], output_state=dead)
    assert hit_id(store, "Train", steps.inputs[1:2]) is None


def test_input_order_and_repeats_do_not_matter(store, steps):
    a1, a2, a3 = steps.inputs[:3]
    execution_id, _ = steps.run([a3, a1, a2])
    for order in ([a1, a2, a3], [a2, a3, a1], (a3, a2, a1), [a1, a1, a2, a3], iter([a2, a1, a3])):
        assert hit_id(store, "Train", order) == execution_id


def test_the_newest_match_wins_and_older_ones_stand_in(store, steps):
    inputs = steps.inputs[:2]
    older, _ = steps.run(inputs, props={"lr": 0.1})
    newer, newer_outputs = steps.run(inputs, props={"lr": 0.1})
    steps.run(inputs, props={"lr": 0.3})
    assert newer > older
    assert hit_id(store, "Train", inputs, {"lr": 0.1}) == newer
    [output] = store.get_artifacts_by_id(newer_outputs)
    output.state = Artifact.DELETED
    store.put_artifacts([output])
    assert hit_id(store, "Train", inputs, {"lr": 0.1}) == older
    [execution] = store.get_executions_by_id([older])
    execution.last_known_state = Execution.FAILED
    store.put_executions([execution])
    assert hit_id(store, "Train", inputs, {"lr": 0.1}) is None


def test_dict_inputs_match_by_event_path_key(store, steps):
    a1, a2, a3 = steps.inputs[:3]
    execution_id, _ = steps.run({"examples": [a1, a3], "schema": [a2]})
    assert hit_id(store, "Train", {"examples": [a3, a1], "schema": [a2]}) == execution_id
    assert hit_id(store, "Train", {"schema": a2, "examples": [a1, a3]}) == execution_id
    assert hit_id(store, "Train", [a1, a2, a3]) == execution_id
    assert hit_id(store, "Train", {"examples": [a1, a2], "schema": [a3]}) is None
    assert hit_id(store, "Train", {"examples": [a1, a2, a3]}) is None
    assert hit_id(store, "Train", {"examples": [a1, a3]}) is None
    assert hit_id(store, "Train", {"examples": [a1, a3], "schema": [a2], "extra": []}) is None

    unkeyed, _ = steps.run([steps.inputs[3]])
    assert hit_id(store, "Train", {"": [steps.inputs[3]]}) == unkeyed
    assert hit_id(store, "Train", {"x": [steps.inputs[3]]}) is None


def test_inputs_added_later_with_put_events_update_the_index(store, steps):
    a1, a2 = steps.inputs[:2]
    execution_id, _ = steps.run([a1])
    assert hit_id(store, "Train", [a1]) == execution_id
    assert hit_id(store, "Train", [a1, a2]) is None
    store.put_events([event(a2, execution_id, Event.INPUT, "late", 0)])
    assert hit_id(store, "Train", [a1, a2]) == execution_id
    assert hit_id(store, "Train", [a1]) is None
    # An output event changes nothing about the inputs.
    extra = steps.build.artifact("Model", "extra")
    store.put_events([event(extra, execution_id, Event.OUTPUT)])
    assert hit_id(store, "Train", [a1, a2]) == execution_id


def test_properties_changed_later_with_put_executions_update_the_index(store, steps):
    a1 = steps.inputs[0]
    execution_id, _ = steps.run([a1], props={"lr": 0.1}, state=Execution.RUNNING)
    assert hit_id(store, "Train", [a1], {"lr": 0.1}) is None
    [execution] = store.get_executions_by_id([execution_id])
    execution.last_known_state = Execution.COMPLETE
    execution.properties["lr"].double_value = 0.2
    execution.custom_properties["tag"].string_value = "final"
    store.put_executions([execution])
    assert hit_id(store, "Train", [a1], {"lr": 0.1}) is None
    assert hit_id(store, "Train", [a1], {"lr": 0.2}) is None
    assert hit_id(store, "Train", [a1], {"lr": 0.2, "tag": "final"}) == execution_id
    # An update through a field mask is indexed as well.
    execution.properties["lr"].double_value = 0.3
    store.put_executions([execution], field_mask_paths=["properties.lr"])
    assert hit_id(store, "Train", [a1], {"lr": 0.3, "tag": "final"}) == execution_id


def test_put_lineage_subgraph_writes_are_indexed(store, steps):
    a1 = steps.inputs[0]
    [stored_input] = store.get_artifacts_by_id([a1])
    execution = Execution(type_id=steps.train, last_known_state=Execution.COMPLETE)
    execution.properties["epochs"].int_value = 5
    execution_ids, _, _ = store.put_lineage_subgraph(
        [execution], [stored_input], [], [(0, 0, Event(type=Event.INPUT))])
    assert hit_id(store, "Train", [a1], {"epochs": 5}) == execution_ids[0]


def test_fan_out_finds_each_run_by_its_properties(store, steps):
    shared = steps.inputs[0]
    runs = {n: steps.run([shared], props={"epochs": n})[0] for n in range(60)}
    for n, execution_id in runs.items():
        assert hit_id(store, "Train", [shared], {"epochs": n}) == execution_id
    assert hit_id(store, "Train", [shared], {"epochs": 60}) is None


def test_versioned_types_are_told_apart(store, steps):
    a1 = steps.inputs[0]
    v2 = steps.build.execution_type("Train", "v2", lr=pb.DOUBLE)
    unversioned, _ = steps.run([a1])
    versioned, _ = steps.run([a1], type_id=v2)
    assert hit_id(store, "Train", [a1]) == unversioned
    assert hit_id(store, v2, [a1]) == versioned
    assert store.lineage.cache_key("Train", [a1]) != store.lineage.cache_key(v2, [a1])


# ------------------------------------------------------------------ cache_key
def test_cache_key_is_stable_and_canonical(store, steps):
    a1, a2 = steps.inputs[:2]
    key = store.lineage.cache_key("Train", [a1, a2], {"lr": 0.1, "epochs": 3})
    assert len(key) == 64 and int(key, 16) >= 0
    assert store.lineage.cache_key("Train", [a2, a1], {"epochs": 3, "lr": 0.1}) == key
    assert store.lineage.cache_key(steps.train, (a1, a2, a2), {"lr": pb.Value(double_value=0.1), "epochs": 3}) == key
    assert store.lineage.cache_key("Train", [a1, a2], {"lr": 0.1, "epochs": 3}) == key
    assert store.lineage.cache_key("Train", {"": [a1, a2]}, {"lr": 0.1, "epochs": 3}) != key
    assert store.lineage.cache_key("Train", [a1, a2], {"lr": 0.1, "epochs": 4}) != key
    assert store.lineage.cache_key("Train", [a1, a2], {"lr": 0.1, "epochs": 3.0}) != key
    assert store.lineage.cache_key("Train", [a1, a2], {"lr": 0.1, "epochs": True}) != key
    assert store.lineage.cache_key("Evaluate", [a1, a2], {"lr": 0.1, "epochs": 3}) != key
    assert store.lineage.cache_key("Train", {"x": a1, "y": a2}) == store.lineage.cache_key(
        "Train", {"y": [a2], "x": [a1]})
    assert store.lineage.cache_key("Train", {"x": a1, "y": a2}) != store.lineage.cache_key(
        "Train", {"x": a2, "y": a1})


def test_cache_key_is_the_same_in_another_store(store):
    memory = lineage.MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    try:
        keys = []
        for target in (store, memory):
            build = Builder(target)
            build.execution_type("Train", lr=pb.DOUBLE)
            a1, a2 = build.artifact(name="x"), build.artifact(name="y")
            ids = (a1, a2)
            keys.append(target.lineage.cache_key("Train", {"examples": [a1], "schema": a2}, {"lr": 0.5}))
    finally:
        memory.close()
    assert keys[0] == keys[1]
    # Persistent backends store fingerprints, so their format must not drift: SHA-256 of
    # a compact JSON array of a format tag, the type, the keyed inputs and the typed properties.
    document = ["lineage-cache-v1", "Train", "", True, [["examples", [ids[0]]], ["schema", [ids[1]]]],
                [["lr", {"double": "0.5"}]]]
    text = json.dumps(document, separators=(",", ":"))
    assert keys[0] == hashlib.sha256(text.encode()).hexdigest()
