"""context_dag, impacted and diff, against answers computed from raw API reads."""

from __future__ import annotations

import pytest

from engine_helpers import Builder, Event, event, event_keys, random_history, reference_walk
from lineage import errors
from lineage.proto import metadata_store_pb2 as pb


# ---------------------------------------------------------------- context_dag
@pytest.mark.parametrize("cyclic", [False, True], ids=["dag", "cyclic"])
@pytest.mark.parametrize("seed", range(3))
def test_context_dag_is_the_contexts_executions_with_their_events(store, seed, cyclic):
    history = random_history(store, seed, cyclic=cyclic)
    for context_id in history.contexts:
        execution_ids = sorted(e.id for e in store.get_executions_by_context(context_id))
        raw_events = store.get_events_by_execution_ids(execution_ids)
        dag = store.lineage.context_dag(context_id)
        assert [e.id for e in dag.executions] == execution_ids
        assert [a.id for a in dag.artifacts] == sorted({e.artifact_id for e in raw_events})
        assert sorted(event_keys(dag.events)) == sorted(event_keys(raw_events))
        assert len(set(event_keys(dag.events))) == len(dag.events)
        assert list(dag.executions) == store.get_executions_by_id(execution_ids)


def test_context_dag_ignores_artifacts_only_attributed(store):
    build = Builder(store)
    run = build.context("run")
    attributed = build.artifact(name="attributed-only")
    read = build.artifact(name="read")
    step = build.execution(name="step")
    made = build.artifact(name="made")
    build.link(event(read, step, Event.INPUT), event(made, step, Event.OUTPUT))
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=attributed, context_id=run)],
        [pb.Association(execution_id=step, context_id=run)])
    dag = store.lineage.context_dag(run)
    assert [a.id for a in dag.artifacts] == [read, made]
    assert dag.topological_order() == [("artifact", read), ("execution", step), ("artifact", made)]


def test_context_dag_of_an_empty_context(store):
    run = Builder(store).context("empty")
    dag = store.lineage.context_dag(run)
    assert len(dag) == 0 and list(dag.events) == []


# ------------------------------------------------------------------- impacted
@pytest.mark.parametrize("cyclic", [False, True], ids=["dag", "cyclic"])
@pytest.mark.parametrize("seed", range(3))
def test_impacted_is_everything_downstream_but_itself(store, seed, cyclic):
    history = random_history(store, seed, cyclic=cyclic)
    types = {a.id: a.type for a in store.get_artifacts()}
    nonempty = 0
    for artifact_id in history.artifacts[::3]:
        walk = reference_walk(store, [artifact_id], downstream=True)
        below = [a for a in walk.ids("artifact") if a != artifact_id]
        impacted = store.lineage.impacted(artifact_id)
        assert [a.id for a in impacted] == below
        assert impacted == store.get_artifacts_by_id(below)
        for type_name in ("Model", "Data", "NoSuchType"):
            assert [a.id for a in store.lineage.impacted(artifact_id, type_name)] == [
                a for a in below if types[a] == type_name]
        nonempty += bool(below)
    assert nonempty


def test_impacted_excludes_the_start_even_inside_a_cycle(store):
    build = Builder(store)
    a, b = build.artifact(name="a"), build.artifact("Model", name="b")
    e1, e2 = build.execution(name="e1"), build.execution(name="e2")
    build.link(event(a, e1, Event.INPUT), event(b, e1, Event.OUTPUT),
               event(b, e2, Event.INPUT), event(a, e2, Event.OUTPUT))
    assert [x.id for x in store.lineage.impacted(a)] == [b]
    assert [x.id for x in store.lineage.impacted(a, "Model")] == [b]
    assert store.lineage.impacted(a, "Data") == []


# ----------------------------------------------------------------------- diff
@pytest.fixture
def twins(store):
    """Two Model artifacts from two training runs that share one input and differ in another."""
    build = Builder(store)
    shared = build.artifact("Data", "shared")
    old_data, new_data = build.artifact("Data", "old"), build.artifact("Data", "new")
    upstream_of_new = build.artifact("Data", "raw-of-new")
    prep = build.execution("Prep", "prep")
    build.link(event(upstream_of_new, prep, Event.INPUT), event(new_data, prep, Event.OUTPUT))
    models = []
    for n, (data, lr) in enumerate(((old_data, 0.1), (new_data, 0.2))):
        model = build.artifact("Model", f"model{n}", uri=f"/models/{n}",
                               properties={"lr": lr, "layers": 3}, custom={"note": "x" if n else "y"})
        train = build.execution("Train", f"train{n}")
        build.link(event(shared, train, Event.INPUT), event(data, train, Event.INPUT),
                   event(model, train, Event.OUTPUT))
        models.append(model)
    return {"shared": shared, "old": old_data, "new": new_data, "raw": upstream_of_new,
            "a": models[0], "b": models[1]}


def test_diff_reports_properties_and_inputs_that_differ(store, twins):
    result = store.lineage.diff(twins["a"], twins["b"])
    assert result.artifact_a.id == twins["a"] and result.artifact_b.id == twins["b"]
    assert result.properties == {
        "lr": (0.1, 0.2), "note": ("y", "x"), "@uri": ("/models/0", "/models/1"), "@name": ("model0", "model1")}
    assert result.inputs_only_a == [twins["old"]]
    assert result.inputs_only_b == sorted([twins["new"], twins["raw"]])
    assert not result.same


def test_diff_of_an_artifact_with_itself_is_empty(store, twins):
    result = store.lineage.diff(twins["a"], twins["a"])
    assert result.properties == {} and result.inputs_only_a == [] and result.inputs_only_b == []
    assert result.same


def test_diff_sees_a_property_present_on_one_side_only(store):
    build = Builder(store)
    a = build.artifact("Data", "a", properties={"rows": 1})
    b = build.artifact("Data", "b", custom={"extra": True})
    result = store.lineage.diff(a, b)
    assert result.properties["rows"] == (1, None)
    assert result.properties["extra"] == (None, True)


def test_diff_of_two_types_is_invalid(store, twins):
    with pytest.raises(errors.InvalidArgumentError, match="type"):
        store.lineage.diff(twins["a"], twins["shared"])
