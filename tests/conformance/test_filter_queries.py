"""Filter queries (ListOptions.filter_query) over attributes, properties and neighbours."""

from __future__ import annotations

import pytest

from ._api import errors, metadata_store_pb2 as pb, mlmd
from ._helpers import (
    ARTIFACT, BOOLEAN, CONTEXT, DOUBLE, EXECUTION, INT, KINDS, STRING, fill, make_type, names,
    snapshot, tick,
)

INPUT, OUTPUT = pb.Event.INPUT, pb.Event.OUTPUT


def build(store) -> dict[str, int]:
    """Writes the graph every query below runs on; returns a name -> id map.

    Artifacts d1, d2, d3 (DataSet) and m1 (Model, created 2+ ms later);
    executions t1, t2 (Trainer) and v1 (Evaluator); contexts exp1, exp2
    (Experiment) and pipe (Pipeline, parent of both experiments).
    Events: d1 -> t1 -> m1 -> v1 <- d2. exp1 holds d1, m1, t1; exp2 holds
    d2, m1, v1; pipe holds t1, t2, v1.
    """
    known: dict[str, int] = {}
    known["DataSet"] = make_type(ARTIFACT, store, "DataSet",
                                 {"day": INT, "split": STRING, "score": DOUBLE, "ok": BOOLEAN})
    known["Model"] = make_type(ARTIFACT, store, "Model")
    known["Trainer"] = make_type(EXECUTION, store, "Trainer", {"state": STRING})
    known["Evaluator"] = make_type(EXECUTION, store, "Evaluator")
    known["Experiment"] = make_type(CONTEXT, store, "Experiment", {"note": STRING})
    known["Pipeline"] = make_type(CONTEXT, store, "Pipeline")

    dataset = known["DataSet"]
    d1, d2, d3 = store.put_artifacts([
        fill(pb.Artifact(type_id=dataset, name="d1", uri="p/data", external_id="x1",
                         state=pb.Artifact.LIVE),
             {"day": 1, "split": "train", "score": 0.5, "ok": True}, {"cp": "x"}),
        fill(pb.Artifact(type_id=dataset, name="d2", uri="q/data", state=pb.Artifact.PENDING),
             {"day": 0, "split": "eval", "score": 1.5, "ok": False}, {"ci": 3}),
        fill(pb.Artifact(type_id=dataset, name="d3", uri="r/other"), {"day": 5}),
    ])
    tick()
    [m1] = store.put_artifacts([
        fill(pb.Artifact(type_id=known["Model"], name="m1", uri="m/model"), custom={"cp": "y"})])
    known.update(d1=d1, d2=d2, d3=d3, m1=m1)
    known["m1_created"] = store.get_artifacts_by_id([m1])[0].create_time_since_epoch

    t1, t2 = store.put_executions([
        fill(pb.Execution(type_id=known["Trainer"], name="t1",
                          last_known_state=pb.Execution.RUNNING), {"state": "training"}),
        pb.Execution(type_id=known["Trainer"], name="t2"),
    ])
    [v1] = store.put_executions([
        fill(pb.Execution(type_id=known["Evaluator"], name="v1",
                          last_known_state=pb.Execution.COMPLETE), custom={"threshold": 0.8})])
    known.update(t1=t1, t2=t2, v1=v1)

    store.put_events([
        pb.Event(artifact_id=d1, execution_id=t1, type=INPUT),
        pb.Event(artifact_id=m1, execution_id=t1, type=OUTPUT),
        pb.Event(artifact_id=m1, execution_id=v1, type=INPUT),
        pb.Event(artifact_id=d2, execution_id=v1, type=INPUT),
    ])

    exp1, exp2, pipe = store.put_contexts([
        fill(pb.Context(type_id=known["Experiment"], name="exp1"), {"note": "first"}),
        pb.Context(type_id=known["Experiment"], name="exp2"),
        pb.Context(type_id=known["Pipeline"], name="pipe"),
    ])
    known.update(exp1=exp1, exp2=exp2, pipe=pipe)
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=c)
         for a, c in ((d1, exp1), (m1, exp1), (d2, exp2), (m1, exp2))],
        [pb.Association(execution_id=e, context_id=c)
         for e, c in ((t1, exp1), (v1, exp2), (t1, pipe), (t2, pipe), (v1, pipe))])
    store.put_parent_contexts([pb.ParentContext(child_id=exp1, parent_id=pipe),
                               pb.ParentContext(child_id=exp2, parent_id=pipe)])
    return known


def run(store, kind, query, known):
    nodes = kind.get_nodes(store, list_options=mlmd.ListOptions(
        filter_query=query.format(**known)))
    return names(nodes)


ARTIFACT_QUERIES = [
    # The two artifact queries of MLMD's getting-started guide.
    ('uri LIKE "%/data" AND properties.day.int_value > 0', ["d1"]),
    ('contexts_a.type = "Experiment" AND contexts_a.name = "exp1"', ["d1", "m1"]),
    # id
    ("id = {d1}", ["d1"]),
    ("id != {d1}", ["d2", "d3", "m1"]),
    ("id IN ({d1}, {d3})", ["d1", "d3"]),
    ("id NOT IN ({d1}, {d3})", ["d2", "m1"]),
    ("id > {d2}", ["d3", "m1"]),
    ("id >= {d2} AND id <= {d3}", ["d2", "d3"]),
    ("id < {d2}", ["d1"]),
    # type
    ("type_id = {Model}", ["m1"]),
    ("type_id != {Model}", ["d1", "d2", "d3"]),
    ("type = 'Model'", ["m1"]),
    ('type = "DataSet"', ["d1", "d2", "d3"]),
    ("type != 'DataSet'", ["m1"]),
    ("type IN ('Model', 'Nothing')", ["m1"]),
    ("type = 'model'", []),  # names compare exactly, case included
    ("type = 'Trainer'", []),  # an execution type's name
    ("type = 'Nothing' AND name = 'd1'", []),
    ("type = 'DataSet' AND name != 'd1'", ["d2", "d3"]),
    ("type IS NOT NULL", ["d1", "d2", "d3", "m1"]),
    # name, external_id
    ("name = 'd1'", ["d1"]),
    ("name != 'd1'", ["d2", "d3", "m1"]),
    ("name IN ('d1', 'm1')", ["d1", "m1"]),
    ("name LIKE 'd%'", ["d1", "d2", "d3"]),
    ("name > 'd2'", ["d3", "m1"]),
    ("external_id = 'x1'", ["d1"]),
    ("external_id IS NULL", ["d2", "d3", "m1"]),
    ("external_id IS NOT NULL", ["d1"]),
    ("external_id != 'x1'", []),  # NULL is neither equal nor unequal
    # uri
    ("uri = 'p/data'", ["d1"]),
    ('uri = "P/DATA"', []),
    ("uri != 'p/data'", ["d2", "d3", "m1"]),
    ("uri LIKE '%/data'", ["d1", "d2"]),
    ("uri LIKE '_/data'", ["d1", "d2"]),
    ("uri LIKE 'p%'", ["d1"]),
    ("uri NOT LIKE '%/data'", ["d3", "m1"]),
    ("uri IS NULL", []),
    # times
    ("create_time_since_epoch > 0", ["d1", "d2", "d3", "m1"]),
    ("create_time_since_epoch >= {m1_created}", ["m1"]),
    ("create_time_since_epoch < {m1_created}", ["d1", "d2", "d3"]),
    ("last_update_time_since_epoch >= {m1_created}", ["m1"]),
    ("last_update_time_since_epoch < 1", []),
    ("create_time_since_epoch = last_update_time_since_epoch", ["d1", "d2", "d3", "m1"]),
    # state (an enum, written bare); != and NOT IN also match a missing state
    ("state = LIVE", ["d1"]),
    ("state=PENDING", ["d2"]),
    ("state IN (LIVE, PENDING)", ["d1", "d2"]),
    ("state IS NULL", ["d3", "m1"]),
    ("state IS NOT NULL", ["d1", "d2"]),
    ("state != LIVE", ["d2", "d3", "m1"]),
    ("state NOT IN (LIVE)", ["d2", "d3", "m1"]),
    ("NOT (state = LIVE)", ["d2"]),
    ("NOT (state != LIVE)", ["d1"]),
    # properties: only nodes that have the property can match, even IS NULL
    ("properties.day.int_value >= 1", ["d1", "d3"]),
    ("properties.day.int_value = 0", ["d2"]),
    ("properties.day.int_value IN (0, 5)", ["d2", "d3"]),
    ("properties.day.int_value != 1", ["d2", "d3"]),
    ("NOT (properties.day.int_value = 1)", ["d2", "d3"]),
    ("properties.day.int_value > 0.5", ["d1", "d3"]),
    ("properties.day.int_value + 1 = 2", ["d1"]),
    ("properties.score.double_value > 1.0", ["d2"]),
    ("properties.score.double_value > 1", ["d2"]),
    ("properties.score.double_value < 1", ["d1"]),
    ("properties.ok.bool_value = true", ["d1"]),
    ("properties.ok.bool_value = false", ["d2"]),
    ("properties.split.string_value = 'train'", ["d1"]),
    ("properties.split.string_value LIKE 'tr%'", ["d1"]),
    ("properties.split.string_value IS NOT NULL", ["d1", "d2"]),
    ("properties.split.string_value IS NULL", []),
    ("properties.day.string_value IS NULL", ["d1", "d2", "d3"]),
    ("properties.day.string_value = '1'", []),
    ("properties.nope.int_value = 1", []),
    ("properties.`day`.int_value = 1", ["d1"]),
    ("properties.cp.string_value = 'x'", []),  # cp is a custom property
    # custom properties
    ("custom_properties.cp.string_value = 'x'", ["d1"]),
    ("custom_properties.cp.string_value != 'x'", ["m1"]),
    ("custom_properties.cp.string_value IS NOT NULL", ["d1", "m1"]),
    ("custom_properties.cp.string_value IS NULL", []),
    ("custom_properties.ci.int_value > 2", ["d2"]),
    ("custom_properties.`cp`.string_value = 'y'", ["m1"]),
    ("custom_properties.day.int_value = 1", []),  # day is a declared property
    # boolean structure
    ("properties.day.int_value = 1 OR properties.day.int_value = 5", ["d1", "d3"]),
    ("id = {d1} OR id = {d2} AND id = {d3}", ["d1"]),
    ("(id = {d1} OR id = {d2}) AND id = {d2}", ["d2"]),
    ("NOT id = {d1}", ["d2", "d3", "m1"]),
    ("NOT (id = {d1} OR id = {m1})", ["d2", "d3"]),
    ("uri like '%/data' and name = 'd2'", ["d2"]),
    ("name = 'd1' or name = 'd3'", ["d1", "d3"]),
    ("true", ["d1", "d2", "d3", "m1"]),
    ("id BETWEEN {d2} AND {d3}", ["d2", "d3"]),
    # contexts the artifact is attributed to; each alias is its own context
    ("contexts_a.name = 'exp1'", ["d1", "m1"]),
    ("contexts_a.id = {exp2}", ["d2", "m1"]),
    ("contexts_a.type = 'Experiment'", ["d1", "d2", "m1"]),
    ("contexts_a.type = 'Pipeline'", []),
    ("contexts_a.name = 'exp1' AND contexts_b.name = 'exp2'", ["m1"]),
    ("contexts_a.name = 'exp1' AND contexts_a.name = 'exp2'", []),
    ("contexts_a.name = 'exp1' OR contexts_b.name = 'exp2'", ["d1", "d2", "m1"]),
    ("contexts_a.name != 'exp1'", ["d2", "m1"]),
    ("NOT (contexts_a.name = 'exp1')", ["d2", "m1"]),
    ("contexts_a.create_time_since_epoch > 0", ["d1", "d2", "m1"]),
    ("contexts_a.last_update_time_since_epoch > 0", ["d1", "d2", "m1"]),
    ("contexts_a.name = 'exp1' AND name = 'm1'", ["m1"]),
    ("contexts_a.name = 'exp1' AND properties.day.int_value = 1", ["d1"]),
    # events of the artifact
    ("events_0.execution_id = {t1}", ["d1", "m1"]),
    ("events_0.type = INPUT", ["d1", "d2", "m1"]),
    ("events_0.type = OUTPUT", ["m1"]),
    ("events_0.type IN (INPUT, OUTPUT)", ["d1", "d2", "m1"]),
    ("events_0.type != INPUT", ["m1"]),
    ("events_0.milliseconds_since_epoch > 0", ["d1", "d2", "m1"]),
    ("events_0.type = OUTPUT AND events_0.execution_id = {t1}", ["m1"]),
    ("events_0.type = INPUT AND events_0.execution_id = {t1}", ["d1"]),
    ("events_0.type = INPUT AND events_1.type = OUTPUT", ["m1"]),
    ("events_0.execution_id = {v1} AND contexts_c.name = 'exp2'", ["d2", "m1"]),
]

EXECUTION_QUERIES = [
    ('type = "Trainer" AND properties.state.string_value IS NOT NULL', ["t1"]),
    ("contexts_a.id = {exp1}", ["t1"]),
    ("name = 't1'", ["t1"]),
    ("type = 'Evaluator'", ["v1"]),
    ("type_id = {Trainer}", ["t1", "t2"]),
    ("last_known_state = RUNNING", ["t1"]),
    ("last_known_state IN (RUNNING, COMPLETE)", ["t1", "v1"]),
    ("last_known_state IS NULL", ["t2"]),
    ("last_known_state != RUNNING", ["t2", "v1"]),
    ("NOT (last_known_state = RUNNING)", ["v1"]),
    ("properties.state.string_value = 'training'", ["t1"]),
    ("custom_properties.threshold.double_value >= 0.8", ["v1"]),
    ("contexts_a.name = 'pipe'", ["t1", "t2", "v1"]),
    ("contexts_a.name = 'exp1'", ["t1"]),
    ("contexts_a.type = 'Pipeline' AND contexts_b.type = 'Experiment'", ["t1", "v1"]),
    ("events_0.artifact_id = {m1}", ["t1", "v1"]),
    ("events_0.type = OUTPUT", ["t1"]),
    ("events_0.type = INPUT AND events_0.artifact_id = {m1}", ["v1"]),
    ("create_time_since_epoch > 0 AND name LIKE 't%'", ["t1", "t2"]),
]

CONTEXT_QUERIES = [
    ("name = 'exp2'", ["exp2"]),
    ("type = 'Experiment'", ["exp1", "exp2"]),
    ("type = 'Pipeline'", ["pipe"]),
    ("id IN ({exp1}, {pipe})", ["exp1", "pipe"]),
    ("properties.note.string_value = 'first'", ["exp1"]),
    ("properties.note.string_value IS NOT NULL", ["exp1"]),
    ("parent_contexts_a.name = 'pipe'", ["exp1", "exp2"]),
    ("parent_contexts_a.type = 'Pipeline'", ["exp1", "exp2"]),
    ("parent_contexts_a.id IS NULL", []),
    ("child_contexts_a.name = 'exp2'", ["pipe"]),
    ("child_contexts_a.id = {exp1}", ["pipe"]),
    ("child_contexts_a.name = 'exp1' AND child_contexts_b.name = 'exp2'", ["pipe"]),
    ("artifacts_a.name = 'd1'", ["exp1"]),
    ("artifacts_a.uri = 'p/data'", ["exp1"]),
    ("artifacts_a.uri LIKE '%/data'", ["exp1", "exp2"]),
    ("artifacts_a.type = 'DataSet'", ["exp1", "exp2"]),
    ("artifacts_a.state = LIVE", ["exp1"]),
    ("artifacts_a.id = {m1}", ["exp1", "exp2"]),
    ("executions_a.name = 't2'", ["pipe"]),
    ("executions_a.last_known_state = COMPLETE", ["exp2", "pipe"]),
    ("executions_a.type = 'Trainer'", ["exp1", "pipe"]),
    ("executions_a.name = 'v1' AND artifacts_b.name = 'd2'", ["exp2"]),
    ("name LIKE 'exp%' AND parent_contexts_p.name = 'pipe'", ["exp1", "exp2"]),
]


@pytest.mark.parametrize("query, expected", ARTIFACT_QUERIES, ids=[q for q, _ in ARTIFACT_QUERIES])
def test_artifact_query(store, query, expected):
    known = build(store)
    assert run(store, ARTIFACT, query, known) == expected


@pytest.mark.parametrize("query, expected", EXECUTION_QUERIES,
                         ids=[q for q, _ in EXECUTION_QUERIES])
def test_execution_query(store, query, expected):
    known = build(store)
    assert run(store, EXECUTION, query, known) == expected


@pytest.mark.parametrize("query, expected", CONTEXT_QUERIES, ids=[q for q, _ in CONTEXT_QUERIES])
def test_context_query(store, query, expected):
    known = build(store)
    assert run(store, CONTEXT, query, known) == expected


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_empty_filter_query_matches_everything(store, kind):
    build(store)
    assert kind.get_nodes(store, list_options=mlmd.ListOptions(filter_query="")) == \
        kind.get_nodes(store)


def test_values_in_a_query_are_data(store):
    known = build(store)
    type_id = known["Model"]
    tricky = ["o'neil", 'say "hi"', "50%_off", "x' OR '1'='1"]
    store.put_artifacts([pb.Artifact(type_id=type_id, name=n, uri=n) for n in tricky])
    before = snapshot(store)

    assert run(store, ARTIFACT, "name = \"o'neil\"", {}) == ["o'neil"]
    assert run(store, ARTIFACT, "name = 'say \"hi\"'", {}) == ['say "hi"']
    assert run(store, ARTIFACT, 'name = "x\' OR \'1\'=\'1"', {}) == ["x' OR '1'='1"]
    assert run(store, ARTIFACT, "uri LIKE '50%'", {}) == ["50%_off"]
    assert run(store, ARTIFACT, "name = 'x' OR '1'='1'", {}) == names(store.get_artifacts())
    assert run(store, ARTIFACT, "name = \"d1'; DROP TABLE Artifact; --\"", {}) == []
    assert snapshot(store) == before


COMMON_BAD_QUERIES = [
    "a == 'a'", "a", "a = 'a'", "'a'", "type_id", "id = 'a'", "type_id = 'a'", "type = 1",
    "name = 1", "name = a", "external_id = 1", "create_time_since_epoch = 'a'",
    "last_update_time_since_epoch = a", "id = 1 AND", "(id = 1", "id = 1)",
    "name = 'unterminated", "contexts", "contexts_0", "properties", "properties.foo",
    "properties.foo.", "properties.foo.int = 1", "properties.foo = 1",
    "custom_properties.foo.string", "custom_properties.bar", "artifacts", "executions",
    "id", "NOT", "id IN ()", "id = 1 id = 2",
]

BAD_QUERIES = (
    [(ARTIFACT, q) for q in COMMON_BAD_QUERIES] +
    [(EXECUTION, q) for q in COMMON_BAD_QUERIES] +
    [(CONTEXT, q) for q in COMMON_BAD_QUERIES] +
    [(ARTIFACT, q) for q in (
        "uri = 1", "state", "state = 'LIVE'", "state = 1", "state = RUNNING", "state IN LIVE",
        "events_0.artifact_id = 1", "events_0.type = SOME_ENUM", "events_0.foo = 1", "events",
        "contexts_0.foo = 1", "contexts_0.id.bar", "contexts_a.type_id = 1",
        "last_known_state = RUNNING", "parent_contexts_a.name = 'x'",
        "child_contexts_a.name = 'x'", "artifacts_a.name = 'x'", "executions_a.name = 'x'",
    )] +
    [(EXECUTION, q) for q in (
        "uri = 'x'", "state = LIVE", "last_known_state", "last_known_state = 'RUNNING'",
        "last_known_state = 1", "last_known_state = LIVE", "last_known_state IN ()",
        "last_known_state NOT IN (PENDING)", "events_0.execution_id = 1",
        "parent_contexts_a.name = 'x'", "artifacts_a.name = 'x'",
    )] +
    [(CONTEXT, q) for q in (
        "uri = 'x'", "state = LIVE", "last_known_state = RUNNING", "events_0.type = INPUT",
        "events_0.execution_id = 1", "contexts_a.name = 'x'", "parent_contexts",
        "parent_contexts_0.foo = 1", "child_contexts_0.id.bar", "artifacts_0.foo = 1",
        "executions_0.id.bar",
    )]
)


@pytest.mark.parametrize("kind, query", BAD_QUERIES,
                         ids=[f"{kind}:{query}" for kind, query in BAD_QUERIES])
def test_malformed_query_is_invalid_argument(store, kind, query):
    build(store)
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        kind.get_nodes(store, list_options=mlmd.ListOptions(filter_query=query))
    assert snapshot(store) == before


def test_malformed_query_in_by_context_calls_is_invalid_argument(store):
    known = build(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.get_artifacts_by_context(known["exp1"],
                                       list_options=mlmd.ListOptions(filter_query="uri ="))
    with pytest.raises(errors.InvalidArgumentError):
        store.get_executions_by_context(known["exp1"],
                                        list_options=mlmd.ListOptions(filter_query="uri = 'x'"))


def test_filter_with_by_context_calls(store):
    known = build(store)
    artifacts = store.get_artifacts_by_context(
        known["exp1"], list_options=mlmd.ListOptions(filter_query="type = 'Model'"))
    assert names(artifacts) == ["m1"]
    executions = store.get_executions_by_context(
        known["pipe"], list_options=mlmd.ListOptions(
            filter_query="contexts_x.name = 'exp2' OR name = 't2'"))
    assert names(executions) == ["t2", "v1"]


def test_type_filter_matches_every_version_of_the_name(store):
    plain = make_type(ARTIFACT, store, "Versioned")
    v2 = make_type(ARTIFACT, store, "Versioned", version="v2")
    store.put_artifacts([pb.Artifact(type_id=plain, name="plain"),
                         pb.Artifact(type_id=v2, name="v2")])
    assert run(store, ARTIFACT, "type = 'Versioned'", {}) == ["plain", "v2"]
    assert run(store, ARTIFACT, f"type_id = {v2}", {}) == ["v2"]


def test_a_context_name_shared_by_two_types_matches_each_node_once(store):
    """Two contexts of different types may share a name; a node in both is one answer."""
    known = build(store)
    [twin] = store.put_contexts([pb.Context(type_id=known["Pipeline"], name="exp1")])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=known["d1"], context_id=twin)],
        [pb.Association(execution_id=known["t1"], context_id=twin)])
    assert run(store, ARTIFACT, "contexts_a.name = 'exp1'", known) == ["d1", "m1"]
    assert run(store, EXECUTION, "contexts_a.name = 'exp1'", known) == ["t1"]
    assert run(store, ARTIFACT, "contexts_a.name = 'exp1' AND contexts_a.type = 'Pipeline'", known) == ["d1"]
    assert run(store, ARTIFACT, "contexts_a.name = 'exp1' AND NOT(contexts_a.type = 'Pipeline')",
               known) == ["d1", "m1"]
    assert run(store, CONTEXT, "child_contexts_a.name = 'exp1'", known) == ["pipe"]
