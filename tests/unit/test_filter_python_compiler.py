"""Evaluation of filters as Python predicates (lineage.query.python_compiler)."""

from __future__ import annotations

from collections import defaultdict

import pytest

from lineage.errors import InternalError, InvalidArgumentError
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import parse_filter
from lineage.query.ast import (
    And,
    Attribute,
    Comparison,
    Constant,
    HasProperty,
    InList,
    IsNull,
    Like,
    Not,
    Or,
    Property,
)
from lineage.query.python_compiler import compile_predicate


class DictSource:
    """Neighbours from a dict keyed by (node_kind, node_id, relation); counts look-ups."""

    def __init__(self):
        self.links: dict[tuple[str, int, str], list] = defaultdict(list)
        self.calls: list[tuple[str, int, str]] = []

    def add(self, node_kind, node_id, relation, *records):
        self.links[(node_kind, node_id, relation)].extend(records)
        return self

    def neighbours(self, node_kind, node_id, relation):
        self.calls.append((node_kind, node_id, relation))
        return iter(self.links.get((node_kind, node_id, relation), ()))


def artifact(id, **fields):
    props = fields.pop("props", {})
    custom = fields.pop("custom", {})
    a = pb.Artifact(id=id, type_id=fields.pop("type_id", 10), type=fields.pop("type", "DataSet"),
                    create_time_since_epoch=100 + id, last_update_time_since_epoch=200 + id,
                    **fields)
    _set_props(a.properties, props)
    _set_props(a.custom_properties, custom)
    return a


def execution(id, **fields):
    props = fields.pop("props", {})
    e = pb.Execution(id=id, type_id=20, type=fields.pop("type", "Trainer"), **fields)
    _set_props(e.properties, props)
    return e


def context(id, name, type="Experiment", **fields):
    return pb.Context(id=id, name=name, type_id=30, type=type,
                      create_time_since_epoch=1000 + id, **fields)


def _set_props(target, values):
    for key, value in values.items():
        if isinstance(value, bool):
            target[key].bool_value = value
        elif isinstance(value, int):
            target[key].int_value = value
        elif isinstance(value, float):
            target[key].double_value = value
        else:
            target[key].string_value = value


def select(query, kind, nodes, source=None):
    predicate = compile_predicate(parse_filter(query, kind), kind)
    return [n.id for n in nodes if predicate(n, source)]


def run(expr, node, kind="artifact", source=None):
    return compile_predicate(expr, kind)(node, source)


# --- three-valued logic on hand-built trees -----------------------------------------

NAMELESS = artifact(1)
NAMED = artifact(2, name="a")
NAME = Attribute("name")


@pytest.mark.parametrize("expr,nameless,named", [
    (Comparison(NAME, "=", "a"), False, True),
    (Comparison(NAME, "!=", "a"), False, False),       # UNKNOWN for the nameless one
    (Not(Comparison(NAME, "=", "a")), False, False),   # NOT UNKNOWN is UNKNOWN
    (Not(Comparison(NAME, "=", "b")), False, True),
    (Or((Comparison(NAME, "=", "a"), Constant(True))), True, True),   # UNKNOWN OR TRUE
    (Or((Comparison(NAME, "=", "a"), Constant(False))), False, True),  # UNKNOWN OR FALSE
    (And((Comparison(NAME, "=", "a"), Constant(False))), False, False),
    # Nested, where the top-level split into conjuncts does not apply: UNKNOWN AND TRUE.
    (Or((And((Comparison(NAME, "=", "a"), Constant(True))), Constant(False))), False, True),
    (Or((And((IsNull(NAME), Constant(True))), Constant(False))), True, False),
    (Not(And((Comparison(NAME, "=", "b"), Constant(False)))), True, True),  # NOT(UNKNOWN AND FALSE)
    (Not(Or((Comparison(NAME, "=", "b"), Constant(True)))), False, False),  # NOT(UNKNOWN OR TRUE)
    (Not(Or((Comparison(NAME, "=", "b"), Constant(False)))), False, True),  # NOT(UNKNOWN OR FALSE)
    (IsNull(NAME), True, False),
    (IsNull(NAME, negated=True), False, True),
    (Not(IsNull(NAME)), False, True),
    (InList(NAME, ("a", "b")), False, True),
    (Not(InList(NAME, ("b",))), False, True),
    (Like(NAME, "%"), False, True),
    (Not(Like(NAME, "%")), False, False),
    (Comparison(NAME, "=", Attribute("name")), False, True),
    (Comparison(Attribute("uri"), "=", NAME), False, False),  # NULL on either side
])
def test_kleene_logic(expr, nameless, named):
    assert run(expr, NAMELESS) is nameless
    assert run(expr, NAMED) is named


def test_unset_optional_attributes_are_null_not_empty():
    bare = artifact(1)
    empty = artifact(2, name="", uri="", external_id="")
    for field in ("name", "uri", "external_id"):
        attr = Attribute(field)
        assert run(IsNull(attr), bare) is True
        assert run(IsNull(attr), empty) is False
        assert run(Comparison(attr, "=", ""), bare) is False
        assert run(Comparison(attr, "=", ""), empty) is True
    assert run(IsNull(Attribute("state")), bare) is True
    assert run(IsNull(Attribute("state")), artifact(3, state=pb.Artifact.UNKNOWN)) is False


def test_missing_property_and_wrong_value_kind_are_null_in_the_tree():
    node = artifact(1, props={"day": 3})
    day_int, day_str = Property("day", "int_value"), Property("day", "string_value")
    other = Property("other", "int_value")
    assert run(Comparison(day_int, "=", 3), node) is True
    assert run(Comparison(day_str, "=", "3"), node) is False
    assert run(Not(Comparison(day_str, "=", "3")), node) is False  # UNKNOWN
    assert run(IsNull(day_str), node) is True
    assert run(IsNull(day_int), node) is False
    assert run(IsNull(other), node) is True
    assert run(Not(Comparison(other, "=", 1)), node) is False
    assert run(HasProperty("day"), node) is True
    assert run(HasProperty("day", is_custom=True), node) is False
    assert run(HasProperty("other"), node) is False


# --- properties through the parser (MLMD joins every mentioned property) ------------------


NODES = [
    artifact(1, name="a1", props={"day": 1, "split": "train"}, custom={"tag": "x", "my prop": 5}),
    artifact(2, name="a2", custom={"tag": 7}),
    artifact(3, name="A3", props={"day": 3, "ok": True, "score": 0.5}),
    artifact(4, name="a4", props={"day": "three", "ok": False}),
]


@pytest.mark.parametrize("query,expected", [
    ("properties.day.int_value = 1", [1]),
    ("properties.day.int_value >= 1", [1, 3]),
    ("properties.day.int_value IS NOT NULL", [1, 3]),
    # Only nodes that carry "day" take part, whatever its kind of value.
    ("properties.day.int_value IS NULL", [4]),
    ("properties.day.string_value IS NULL", [1, 3]),
    ("properties.day.string_value = 'three'", [4]),
    ("NOT properties.day.int_value = 1", [3]),
    ("properties.day.int_value != 1", [3]),
    ("properties.day.int_value = 1 OR name = 'a2'", [1]),
    ("properties.nope.int_value IS NULL", []),
    ("properties.day.double_value = 1", []),
    ("properties.score.double_value < 1", [3]),
    ("properties.score.double_value = 0.5", [3]),
    ("properties.ok.bool_value", [3]),
    ("properties.ok.bool_value = FALSE", [4]),
    ("NOT properties.ok.bool_value", [4]),
    ("properties.ok.bool_value IS NOT TRUE", [4]),
    ("properties.split.string_value LIKE 'tr%'", [1]),
    ("custom_properties.tag.string_value = 'x'", [1]),
    ("custom_properties.tag.int_value = 7", [2]),
    ("custom_properties.tag.int_value IS NULL", [1]),
    ("custom_properties.`my prop`.int_value IN (4, 5)", [1]),
    ("custom_properties.day.int_value = 1", []),   # "day" is a property, not a custom one
    ("properties.tag.string_value = 'x'", []),     # "tag" is custom only
])
def test_properties_and_custom_properties(query, expected):
    assert select(query, "artifact", NODES) == expected


# --- attributes and operators ----------------------------------------------------------


ARTS = [
    artifact(1, name="a1", uri="gs://b/1", state=pb.Artifact.LIVE),
    artifact(2, name="a2", uri="gs://b/2", type="Model", type_id=11),
    artifact(3, name="A3", state=pb.Artifact.DELETED, external_id="ext-3"),
    artifact(4, name="b_4%", uri="s3://c/4", state=pb.Artifact.PENDING),
]


@pytest.mark.parametrize("query,expected", [
    ("id = 2", [2]),
    ("id != 2", [1, 3, 4]),
    ("id > 2", [3, 4]),
    ("id >= 2.5", [3, 4]),
    ("id IN (1, 4, 9)", [1, 4]),
    ("id NOT IN (1, 4)", [2, 3]),
    ("id BETWEEN 2 AND 3", [2, 3]),
    ("id NOT BETWEEN 2 AND 3", [1, 4]),
    ("type = 'Model'", [2]),
    ("type_id = 10", [1, 3, 4]),
    ("create_time_since_epoch > 102", [3, 4]),
    ("id - 1 = 0", [1]),                       # numeric offsets fold into the literal
    ("name = 'a1'", [1]),
    ("name = 'A1'", []),                       # case-sensitive
    ("name > 'a1'", [2, 4]),
    ("uri IS NULL", [3]),
    ("uri != 'gs://b/1'", [2, 4]),             # NULL uri is UNKNOWN, not "different"
    ("external_id = 'ext-3'", [3]),
    ("external_id IS NULL", [1, 2, 4]),
    ("state = LIVE", [1]),
    ("state != LIVE", [2, 3, 4]),              # MLMD: a NULL state is "not LIVE"
    ("NOT state = LIVE", [3, 4]),              # ...but NOT keeps SQL semantics
    ("state IN (LIVE, PENDING)", [1, 4]),
    ("state NOT IN (LIVE, PENDING)", [2, 3]),
    ("state IS NULL", [2]),
    ("TRUE", [1, 2, 3, 4]),
    ("FALSE", []),
    ("id = 1 OR id = 2 AND name = 'a1'", [1]),
    ("(id = 1 OR id = 2) AND name = 'a2'", [2]),
    ("NOT (id = 1 OR uri IS NULL)", [2, 4]),
])
def test_attributes_and_operators(query, expected):
    if expected is None:
        with pytest.raises(InvalidArgumentError):
            parse_filter(query, "artifact")
        return
    assert select(query, "artifact", ARTS) == expected


@pytest.mark.parametrize("pattern,expected", [
    ("a%", [1, 2]),
    ("A%", [3]),            # case-sensitive
    ("%1", [1]),
    ("a_", [1, 2]),
    ("__", [1, 2, 3]),
    ("_", []),
    ("%", [1, 2, 3, 4]),
    ("b\\\\_%", [4]),       # escaped _ matches only a literal underscore
    ("%\\\\%", [4]),        # escaped % matches only a literal percent sign
    ("b.4%", []),           # regex characters are literal
])
def test_like(pattern, expected):
    assert select(f'name LIKE "{pattern}"', "artifact", ARTS) == expected


def test_like_spans_newlines_and_matches_whole_value():
    node = artifact(1, name="line1\nline2")
    assert select("name LIKE 'line1%'", "artifact", [node]) == [1]
    assert select("name LIKE 'line1'", "artifact", [node]) == []
    assert select("name LIKE 'a\\\\%b_'", "artifact", [artifact(1, name="a%bc")]) == [1]
    assert select("name LIKE 'a\\\\%b_'", "artifact", [artifact(1, name="axbc")]) == []


def test_executions_and_contexts_attributes():
    exes = [execution(1, name="e1", last_known_state=pb.Execution.COMPLETE),
            execution(2, name="e2", last_known_state=pb.Execution.FAILED),
            execution(3)]
    assert select("last_known_state = COMPLETE", "execution", exes) == [1]
    assert select("last_known_state != COMPLETE", "execution", exes) == [2, 3]
    assert select("last_known_state NOT IN (COMPLETE, FAILED)", "execution", exes) == [3]
    assert select("name IS NULL", "execution", exes) == [3]
    ctxs = [context(1, "exp1"), context(2, "exp2", type="Pipeline", external_id="p")]
    assert select("type = 'Pipeline'", "context", ctxs) == [2]
    assert select("external_id IS NULL", "context", ctxs) == [1]
    assert select("create_time_since_epoch = 1001", "context", ctxs) == [1]


# --- joins -----------------------------------------------------------------------------

EXP1 = context(101, "exp1")
EXP2 = context(102, "exp2")
PIPE = context(103, "pipe", type="Pipeline")


@pytest.fixture
def linked():
    """Artifacts 1..4 with contexts: 1 in exp1+pipe, 2 in exp2, 3 in none, 4 in exp1+exp2."""
    source = DictSource()
    source.add("artifact", 1, "contexts", EXP1, PIPE)
    source.add("artifact", 2, "contexts", EXP2)
    source.add("artifact", 4, "contexts", EXP1, EXP2)
    nodes = [artifact(1, name="a1"), artifact(2, name="a2"), artifact(3, name="a3"),
             artifact(4, name="a4")]
    return nodes, source


@pytest.mark.parametrize("query,expected", [
    ('contexts_a.name = "exp1"', [1, 4]),
    ('contexts_a.type = "Experiment" AND contexts_a.name = "exp1"', [1, 4]),
    # One alias is one context: no single context is both exp1 and exp2.
    ('contexts_a.name = "exp1" AND contexts_a.name = "exp2"', []),
    # Two aliases may pick two contexts.
    ('contexts_a.name = "exp1" AND contexts_b.name = "exp2"', [4]),
    ('contexts_a.type = "Pipeline" AND contexts_a.name = "exp1"', []),
    ('contexts_a.type = "Pipeline" AND contexts_b.name = "exp1"', [1]),
    # Existential: some context is not exp1.
    ('NOT contexts_a.name = "exp1"', [1, 2, 4]),
    ('contexts_a.name != "exp1"', [1, 2, 4]),
    # Inner join: artifact 3 has no context, so even the OR's other side cannot save it.
    ('contexts_a.name = "exp1" OR name = "a3"', [1, 4]),
    ('contexts_a.id IS NOT NULL', [1, 2, 4]),
    ('contexts_a.id = contexts_b.id', [1, 2, 4]),
    ('contexts_a.id < contexts_b.id', [1, 4]),
    ('contexts_a.name IN ("exp2", "pipe") AND name != "a2"', [1, 4]),
    ('contexts_a.create_time_since_epoch > 1102', [1]),
    ('(contexts_a.name = "exp1" OR contexts_a.name = "exp2") AND contexts_b.type = "Pipeline"',
     [1]),
    ('contexts_a.name LIKE "exp%" AND NOT contexts_b.name LIKE "exp%"', [1]),
])
def test_context_joins_of_artifacts(linked, query, expected):
    nodes, source = linked
    assert select(query, "artifact", nodes, source) == expected


def test_events_join_for_artifacts_and_executions():
    source = DictSource()
    e_in = pb.Event(artifact_id=1, execution_id=7, type=pb.Event.INPUT,
                    milliseconds_since_epoch=50)
    e_out = pb.Event(artifact_id=2, execution_id=7, type=pb.Event.OUTPUT,
                     milliseconds_since_epoch=60)
    e_in2 = pb.Event(artifact_id=2, execution_id=8, type=pb.Event.INPUT)
    source.add("artifact", 1, "events", e_in)
    source.add("artifact", 2, "events", e_out, e_in2)
    source.add("execution", 7, "events", e_in, e_out)
    source.add("execution", 8, "events", e_in2)
    arts = [artifact(1), artifact(2), artifact(3)]
    exes = [execution(7), execution(8)]
    assert select("events_0.type = INPUT", "artifact", arts, source) == [1, 2]
    assert select("events_0.type = OUTPUT", "artifact", arts, source) == [2]
    assert select("events_0.type != INPUT", "artifact", arts, source) == [2]
    assert select("events_0.type = OUTPUT AND events_0.execution_id = 8", "artifact", arts,
                  source) == []
    assert select("events_0.type = OUTPUT AND events_1.execution_id = 8", "artifact", arts,
                  source) == [2]
    assert select("events_0.milliseconds_since_epoch IS NULL", "artifact", arts, source) == [2]
    assert select("events_0.milliseconds_since_epoch >= 55", "artifact", arts, source) == [2]
    assert select("events_x.type IN (INPUT, OUTPUT)", "artifact", arts, source) == [1, 2]
    assert select("events_0.type = INPUT AND events_0.artifact_id = 2", "execution", exes,
                  source) == [8]
    assert select("events_0.type = OUTPUT", "execution", exes, source) == [7]


def test_context_relations():
    parent, child, other = context(1, "parent"), context(2, "child"), context(3, "other")
    art = artifact(10, name="model", state=pb.Artifact.LIVE, uri="gs://m")
    exe = execution(20, name="train", last_known_state=pb.Execution.RUNNING)
    source = DictSource()
    source.add("context", 2, "parent_contexts", parent)
    source.add("context", 1, "child_contexts", child)
    source.add("context", 1, "artifacts", art)
    source.add("context", 3, "executions", exe)
    ctxs = [parent, child, other]
    assert select('parent_contexts_p.name = "parent"', "context", ctxs, source) == [2]
    assert select('child_contexts_c.name = "child"', "context", ctxs, source) == [1]
    assert select("artifacts_a.state = LIVE AND artifacts_a.uri LIKE 'gs://%'", "context", ctxs,
                  source) == [1]
    assert select("artifacts_a.state != LIVE", "context", ctxs, source) == []
    assert select("executions_e.last_known_state = RUNNING", "context", ctxs, source) == [3]
    assert select("executions_e.name = 'train' OR artifacts_a.name = 'model'", "context", ctxs,
                  source) == []   # no context has both an artifact and an execution
    assert select("child_contexts_c.id > 0 AND artifacts_a.id > 0", "context", ctxs,
                  source) == [1]


# --- evaluation strategy -------------------------------------------------------------


def test_alias_free_queries_never_touch_the_source(linked):
    nodes, source = linked
    assert select("id > 1", "artifact", nodes, source) == [2, 3, 4]
    assert source.calls == []
    assert select("id > 1", "artifact", nodes, None) == [2, 3, 4]


def test_node_conditions_run_before_neighbours_are_fetched(linked):
    nodes, source = linked
    assert select('name = "a4" AND contexts_a.name = "exp1"', "artifact", nodes, source) == [4]
    assert source.calls == [("artifact", 4, "contexts")]


def test_each_relation_is_fetched_once_per_node(linked):
    nodes, source = linked
    select('contexts_a.name = "exp1" AND contexts_b.name = "exp2" AND contexts_c.id > 0',
           "artifact", nodes, source)
    assert sorted(source.calls) == [("artifact", i, "contexts") for i in (1, 2, 3, 4)]


def test_joined_query_without_a_source_is_an_internal_error(linked):
    nodes, _ = linked
    predicate = compile_predicate(parse_filter('contexts_a.name = "x"', "artifact"), "artifact")
    with pytest.raises(InternalError):
        predicate(nodes[0], None)


def test_many_aliases_prune_before_combining():
    # Eight contexts, four aliases each pinned to one name: 8**4 combinations if unpruned.
    ctxs = [context(200 + i, f"c{i}") for i in range(8)]
    source = DictSource().add("artifact", 1, "contexts", *ctxs)
    query = ("contexts_a.name = 'c1' AND contexts_b.name = 'c2' AND contexts_c.name = 'c3' "
             "AND contexts_d.name = 'c4' AND contexts_a.id < contexts_b.id "
             "AND contexts_c.id < contexts_d.id")
    assert select(query, "artifact", [artifact(1)], source) == [1]


def test_compiled_predicates_are_cached_and_reusable():
    expr = parse_filter("id > 1", "artifact")
    predicate = compile_predicate(expr, "artifact")
    assert compile_predicate(expr, "artifact") is predicate
    assert [predicate(a, None) for a in ARTS] == [False, True, True, True]


def test_unknown_node_kind_is_rejected():
    with pytest.raises(InvalidArgumentError, match="node_kind"):
        compile_predicate(Constant(True), "event")
