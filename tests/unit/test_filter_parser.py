"""Parsing and checking of filter_query text (lineage.query.parser)."""

from __future__ import annotations

import re

import pytest

from lineage.errors import InvalidArgumentError
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import aliases, neighbours, parse_filter
from lineage.query.ast import (
    NODE_ATTRIBUTES,
    RELATIONS,
    And,
    Attribute,
    Comparison,
    Constant,
    HasProperty,
    InList,
    IsNull,
    Like,
    Neighbour,
    Not,
    Or,
    Property,
    attribute_type,
    neighbour_attributes,
)

ID = Attribute("id")
NAME = Attribute("name")


def cmp(field, op, value):
    return Comparison(field, op, value)


# --- attributes ---------------------------------------------------------------

ATTRIBUTE_LITERALS = {"int": "1", "double": "1.5", "string": '"x"', "bool": "TRUE", "enum": "UNKNOWN"}


@pytest.mark.parametrize(
    "kind,name",
    [(kind, name) for kind, attrs in NODE_ATTRIBUTES.items() for name in attrs],
)
def test_every_attribute_of_every_node_kind_parses(kind, name):
    literal = ATTRIBUTE_LITERALS[NODE_ATTRIBUTES[kind][name]]
    assert parse_filter(f"{name} = {literal}", kind).left == Attribute(name)
    assert attribute_type(kind, Attribute(name)) == NODE_ATTRIBUTES[kind][name]


def test_attribute_sets_per_kind():
    assert set(NODE_ATTRIBUTES["artifact"]) == {
        "id", "type_id", "type", "name", "uri", "state", "external_id",
        "create_time_since_epoch", "last_update_time_since_epoch"}
    assert set(NODE_ATTRIBUTES["execution"]) == {
        "id", "type_id", "type", "name", "last_known_state", "external_id",
        "create_time_since_epoch", "last_update_time_since_epoch"}
    assert set(NODE_ATTRIBUTES["context"]) == {
        "id", "type_id", "type", "name", "external_id",
        "create_time_since_epoch", "last_update_time_since_epoch"}


@pytest.mark.parametrize("kind,query,name", [
    ("execution", 'uri = "x"', "uri"),
    ("context", 'uri = "x"', "uri"),
    ("execution", "state = LIVE", "state"),
    ("context", "state = LIVE", "state"),
    ("artifact", "last_known_state = COMPLETE", "last_known_state"),
    ("context", "last_known_state = COMPLETE", "last_known_state"),
    ("artifact", "version = 1", "version"),
])
def test_attribute_not_valid_for_node_kind_is_rejected_by_name(kind, query, name):
    with pytest.raises(InvalidArgumentError, match=f"unknown field '{name}' for {kind}s"):
        parse_filter(query, kind)


def test_attribute_names_are_case_insensitive():
    assert parse_filter('NAME = "a"', "artifact") == cmp(NAME, "=", "a")
    assert parse_filter("Create_Time_Since_Epoch > 3", "context") == cmp(
        Attribute("create_time_since_epoch"), ">", 3)


def test_backquoted_attribute_name():
    assert parse_filter('`name` = "a"', "artifact") == cmp(NAME, "=", "a")


def test_unknown_node_kind_is_rejected():
    with pytest.raises(InvalidArgumentError, match="node_kind"):
        parse_filter("id = 1", "event")


# --- operators ------------------------------------------------------------------


@pytest.mark.parametrize("op,expected", [
    ("=", "="), ("!=", "!="), ("<>", "!="), ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">="),
])
def test_comparison_operators(op, expected):
    assert parse_filter(f"id {op} 7", "artifact") == cmp(ID, expected, 7)


def test_operators_without_spaces():
    assert parse_filter("id>=7", "artifact") == cmp(ID, ">=", 7)
    assert parse_filter("id!=7", "artifact") == cmp(ID, "!=", 7)


@pytest.mark.parametrize("query,expected", [
    ("1 < id", cmp(ID, ">", 1)),
    ("1 <= id", cmp(ID, ">=", 1)),
    ("1 > id", cmp(ID, "<", 1)),
    ("1 >= id", cmp(ID, "<=", 1)),
    ('"a" = name', cmp(NAME, "=", "a")),
    ('"a" != name', cmp(NAME, "!=", "a")),
])
def test_literal_on_the_left_is_moved_right(query, expected):
    assert parse_filter(query, "artifact") == expected


def test_comparing_two_fields():
    expr = parse_filter("create_time_since_epoch = last_update_time_since_epoch", "context")
    assert expr == cmp(Attribute("create_time_since_epoch"), "=",
                       Attribute("last_update_time_since_epoch"))
    expr = parse_filter("contexts_a.id < contexts_b.id", "artifact")
    assert expr == cmp(Attribute("id", Neighbour("contexts", "a")), "<",
                       Attribute("id", Neighbour("contexts", "b")))


def test_comparing_two_literals_folds_to_a_constant():
    assert parse_filter("1 = 1", "artifact") == Constant(True)
    assert parse_filter('"a" > "b"', "artifact") == Constant(False)
    assert parse_filter("2 >= 1.5", "artifact") == Constant(True)


def test_like_and_not_like():
    assert parse_filter('name LIKE "a%"', "artifact") == Like(NAME, "a%")
    assert parse_filter('name NOT LIKE "a_"', "artifact") == Not(Like(NAME, "a_"))
    assert parse_filter('uri like "gs://%"', "artifact") == Like(Attribute("uri"), "gs://%")


def test_like_pattern_keeps_backslash_escapes():
    # In the query a backslash inside a string is itself escaped: "50\\%".
    assert parse_filter(r'name LIKE "50\\%"', "artifact") == Like(NAME, "50\\%")


def test_in_and_not_in():
    assert parse_filter("id IN (1, 2, 3)", "artifact") == InList(ID, (1, 2, 3))
    assert parse_filter("id IN (3)", "artifact") == InList(ID, (3,))
    assert parse_filter('name NOT IN ("a", "b")', "artifact") == Not(InList(NAME, ("a", "b")))


def test_in_list_drops_duplicates_and_mixes_int_and_double():
    assert parse_filter("id IN (1, 1, 2.5)", "artifact") == InList(ID, (1, 2.5))


def test_is_null_and_is_not_null():
    assert parse_filter("uri IS NULL", "artifact") == IsNull(Attribute("uri"))
    assert parse_filter("uri IS NOT NULL", "artifact") == IsNull(Attribute("uri"), True)
    assert parse_filter("NOT uri IS NULL", "artifact") == Not(IsNull(Attribute("uri")))


def test_between_becomes_two_comparisons():
    assert parse_filter("id BETWEEN 2 AND 5", "artifact") == And(
        (cmp(ID, ">=", 2), cmp(ID, "<=", 5)))
    assert parse_filter("id NOT BETWEEN 2 AND 5", "artifact") == Or(
        (cmp(ID, "<", 2), cmp(ID, ">", 5)))


def test_between_binds_its_and_before_the_logical_and():
    expr = parse_filter('id BETWEEN 1 AND 2 AND name = "a"', "artifact")
    assert expr == And((cmp(ID, ">=", 1), cmp(ID, "<=", 2), cmp(NAME, "=", "a")))


def test_boolean_property_tests():
    ok = Property("ok", "bool_value")
    has = HasProperty("ok")
    assert parse_filter("properties.ok.bool_value", "artifact") == And((has, cmp(ok, "=", True)))
    assert parse_filter("properties.ok.bool_value = FALSE", "artifact") == And(
        (has, cmp(ok, "=", False)))
    assert parse_filter("properties.ok.bool_value IS TRUE", "artifact") == And(
        (has, IsNull(ok, True), cmp(ok, "=", True)))
    assert parse_filter("properties.ok.bool_value IS NOT FALSE", "artifact") == And(
        (has, Or((IsNull(ok), cmp(ok, "!=", False)))))


def test_boolean_constants():
    assert parse_filter("TRUE", "artifact") == Constant(True)
    assert parse_filter("false", "context") == Constant(False)
    assert parse_filter("id = 1 OR TRUE", "artifact") == Or((cmp(ID, "=", 1), Constant(True)))


# --- precedence -----------------------------------------------------------------

A, B, C = cmp(ID, "=", 1), cmp(ID, "=", 2), cmp(ID, "=", 3)


@pytest.mark.parametrize("query,expected", [
    ("id = 1 OR id = 2 AND id = 3", Or((A, And((B, C))))),
    ("id = 1 AND id = 2 OR id = 3", Or((And((A, B)), C))),
    ("(id = 1 OR id = 2) AND id = 3", And((Or((A, B)), C))),
    ("NOT id = 1 AND id = 2", And((Not(A), B))),
    ("NOT id = 1 OR id = 2", Or((Not(A), B))),
    ("NOT (id = 1 OR id = 2)", Not(Or((A, B)))),
    ("NOT NOT id = 1", Not(Not(A))),
    ("id = 1 AND NOT id = 2", And((A, Not(B)))),
    ("id = 1 OR id = 2 OR id = 3", Or((A, B, C))),
    ("id = 1 AND (id = 2 AND id = 3)", And((A, B, C))),
    ("((id = 1))", A),
])
def test_precedence_and_parentheses(query, expected):
    assert parse_filter(query, "artifact") == expected


# --- keywords, whitespace, comments ------------------------------------------------


@pytest.mark.parametrize("query", [
    'name = "a" and id = 1',
    'name = "a" AnD id = 1',
    'name = "a"\n  AND\tid = 1',
    '  name="a"AND id=1  ',
    'name = "a" /* both */ AND id = 1 -- trailing comment',
    'name = "a" # hash comment\nAND id = 1',
])
def test_keyword_case_whitespace_and_comments(query):
    assert parse_filter(query, "artifact") == And((cmp(NAME, "=", "a"), cmp(ID, "=", 1)))


def test_keywords_inside_names_are_names():
    # "or"/"and"/"in" prefixes of a property name do not split it.
    expr = parse_filter("properties.order.int_value = 1 AND properties.android.int_value = 2",
                        "artifact")
    assert cmp(Property("order", "int_value"), "=", 1) in expr.items
    assert cmp(Property("android", "int_value"), "=", 2) in expr.items
    expr = parse_filter("custom_properties.in.string_value IS NULL", "artifact")
    assert IsNull(Property("in", "string_value", True)) in expr.items


# --- literals -------------------------------------------------------------------


@pytest.mark.parametrize("literal,value", [
    ('"abc"', "abc"),
    ("'abc'", "abc"),
    ('""', ""),
    (r'"say \"hi\""', 'say "hi"'),
    (r"'it\'s'", "it's"),
    ('"it\'s"', "it's"),
    ("'say \"hi\"'", 'say "hi"'),
    (r'"back\\slash"', "back\\slash"),
    (r'"tab\there"', "tab\there"),
    (r'"\x41\u00e9\U0001F600\101"', "A\u00e9\U0001F600A"),
    ('"""tri"ple"""', 'tri"ple'),
    ("'''multi\nline'''", "multi\nline"),
    (r'r"raw\d"', "raw\\d"),
    (r"R'raw\n'", "raw\\n"),
])
def test_string_literals(literal, value):
    assert parse_filter(f"name = {literal}", "artifact") == cmp(NAME, "=", value)


@pytest.mark.parametrize("literal,value", [
    ("0", 0),
    ("42", 42),
    ("-42", -42),
    ("- 42", -42),
    ("+42", 42),
    ("0x1F", 31),
    ("-0x10", -16),
    ("9223372036854775807", 2**63 - 1),
    ("-9223372036854775808", -(2**63)),
])
def test_integer_literals(literal, value):
    expr = parse_filter(f"id = {literal}", "artifact")
    assert expr == cmp(ID, "=", value) and type(expr.value) is int


@pytest.mark.parametrize("literal,value", [
    ("1.5", 1.5), ("-2.5", -2.5), (".5", 0.5), ("3.", 3.0), ("1e3", 1000.0),
    ("-2.5e-3", -0.0025), ("1E+2", 100.0),
])
def test_double_literals(literal, value):
    expr = parse_filter(f"properties.p.double_value = {literal}", "artifact")
    assert expr.items[1] == cmp(Property("p", "double_value"), "=", value)
    assert type(expr.items[1].value) is float


def test_int_field_accepts_double_literal_and_double_field_accepts_int():
    assert parse_filter("id > 1.5", "artifact") == cmp(ID, ">", 1.5)
    expr = parse_filter("properties.p.double_value > 1", "artifact")
    assert expr.items[1] == cmp(Property("p", "double_value"), ">", 1)


# --- enums ----------------------------------------------------------------------


def test_artifact_state_names_resolve_to_proto_numbers():
    state = Attribute("state")
    assert parse_filter("state = LIVE", "artifact") == cmp(state, "=", pb.Artifact.LIVE)
    assert parse_filter("state = MARKED_FOR_DELETION", "artifact") == cmp(
        state, "=", pb.Artifact.MARKED_FOR_DELETION)
    assert parse_filter("state IN (LIVE, DELETED)", "artifact") == InList(
        state, (pb.Artifact.LIVE, pb.Artifact.DELETED))


def test_execution_state_and_event_type_resolve():
    assert parse_filter("last_known_state = COMPLETE", "execution") == cmp(
        Attribute("last_known_state"), "=", pb.Execution.COMPLETE)
    ev = Attribute("type", Neighbour("events", "0"))
    assert parse_filter("events_0.type = INPUT", "artifact") == cmp(ev, "=", pb.Event.INPUT)
    assert parse_filter("events_0.type = DECLARED_OUTPUT", "execution") == cmp(
        ev, "=", pb.Event.DECLARED_OUTPUT)


def test_enum_on_joined_records_resolves():
    st = Attribute("state", Neighbour("artifacts", "a"))
    assert parse_filter("artifacts_a.state = LIVE", "context") == cmp(st, "=", pb.Artifact.LIVE)
    lks = Attribute("last_known_state", Neighbour("executions", "e"))
    assert parse_filter("executions_e.last_known_state = FAILED", "context") == cmp(
        lks, "=", pb.Execution.FAILED)


def test_enum_value_on_the_left():
    assert parse_filter("LIVE = state", "artifact") == cmp(Attribute("state"), "=", 2)


def test_enum_not_equal_and_not_in_also_match_null():
    state = Attribute("state")
    assert parse_filter("state != LIVE", "artifact") == Or(
        (cmp(state, "!=", pb.Artifact.LIVE), IsNull(state)))
    assert parse_filter("state <> LIVE", "artifact") == Or(
        (cmp(state, "!=", pb.Artifact.LIVE), IsNull(state)))
    assert parse_filter("state NOT IN (LIVE, PENDING)", "artifact") == Or(
        (Not(InList(state, (pb.Artifact.LIVE, pb.Artifact.PENDING))), IsNull(state)))
    # Plain NOT keeps SQL semantics: a NULL state does not match.
    assert parse_filter("NOT state = LIVE", "artifact") == Not(cmp(state, "=", pb.Artifact.LIVE))


@pytest.mark.parametrize("query", ["state = 2", "state > 1", "state IN (1, 2)"])
def test_enum_fields_refuse_numbers(query):
    # MLMD accepts only enum names; a number is as likely a typo as a value.
    with pytest.raises(InvalidArgumentError, match="takes an enum name"):
        parse_filter(query, "artifact")


@pytest.mark.parametrize("query,expected", [
    ("properties.n.int_value + 1 = 2", cmp(Property("n", "int_value"), "=", 1)),
    ("properties.n.int_value - 1 > 2", cmp(Property("n", "int_value"), ">", 3)),
    ("3 < properties.n.int_value + 1", cmp(Property("n", "int_value"), ">", 2)),
    ("id + 0.5 = 2", cmp(Attribute("id"), "=", 1.5)),
])
def test_numeric_offsets_fold_into_the_literal(query, expected):
    parsed = parse_filter(query, "artifact")
    # A property condition comes behind its HasProperty guard.
    comparison = parsed.items[-1] if isinstance(parsed, And) else parsed
    assert comparison == expected


@pytest.mark.parametrize("query", ['name + 1 = 2', "id + id = 2", "id + 1 = id + 2"])
def test_unsupported_arithmetic_is_invalid_argument(query):
    with pytest.raises(InvalidArgumentError):
        parse_filter(query, "artifact")


def test_enum_names_are_case_sensitive():
    with pytest.raises(InvalidArgumentError, match="'live' is not a valid Artifact.State value"):
        parse_filter("state = live", "artifact")


# --- properties -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["int_value", "double_value", "string_value", "bool_value"])
@pytest.mark.parametrize("node_kind", ["artifact", "execution", "context"])
def test_property_value_kinds(kind, node_kind):
    literal = {"int_value": "1", "double_value": "1.5", "string_value": '"s"',
               "bool_value": "TRUE"}[kind]
    for prefix, custom in (("properties", False), ("custom_properties", True)):
        expr = parse_filter(f"{prefix}.p.{kind} = {literal}", node_kind)
        assert expr.items[0] == HasProperty("p", custom)
        assert expr.items[1].left == Property("p", kind, custom)


def test_backquoted_property_names_keep_spaces_dashes_and_case():
    expr = parse_filter("properties.`my prop`.int_value = 1 AND "
                        "custom_properties.`a-b.c`.string_value = 'x' AND "
                        "custom_properties.MixedCase.int_value = 2", "artifact")
    assert expr.items[:3] == (HasProperty("my prop"), HasProperty("a-b.c", True),
                              HasProperty("MixedCase", True))
    assert expr.items[3].left == Property("my prop", "int_value")
    assert expr.items[4].left == Property("a-b.c", "string_value", True)
    assert expr.items[5].left == Property("MixedCase", "int_value", True)


def test_property_name_may_start_with_a_digit():
    expr = parse_filter("properties.1st.int_value = 1", "artifact")
    assert expr.items[1].left == Property("1st", "int_value")


def test_every_mentioned_property_is_required_once():
    expr = parse_filter("properties.day.int_value = 1 OR properties.day.string_value IS NULL "
                        "OR custom_properties.day.int_value = 2", "execution")
    assert expr.items[:2] == (HasProperty("day"), HasProperty("day", True))
    assert isinstance(expr.items[2], Or)


def test_properties_and_custom_properties_are_distinct():
    p = parse_filter("properties.x.int_value = 1", "artifact")
    c = parse_filter("custom_properties.x.int_value = 1", "artifact")
    assert p != c
    assert p.items[1].left.is_custom is False and c.items[1].left.is_custom is True


# --- joins ---------------------------------------------------------------------


@pytest.mark.parametrize("kind,relation", [
    (kind, relation) for kind, relations in RELATIONS.items() for relation in relations])
def test_every_join_and_every_joined_attribute(kind, relation):
    for attr, type_ in neighbour_attributes(kind, relation).items():
        expr = parse_filter(f"{relation}_x.{attr} = {ATTRIBUTE_LITERALS[type_]}", kind)
        assert expr.left == Attribute(attr, Neighbour(relation, "x"))
        assert attribute_type(kind, expr.left) == type_


@pytest.mark.parametrize("kind,query", [
    ("artifact", 'artifacts_a.name = "x"'),
    ("artifact", 'executions_a.name = "x"'),
    ("artifact", 'parent_contexts_a.name = "x"'),
    ("artifact", 'child_contexts_a.name = "x"'),
    ("execution", 'artifacts_a.name = "x"'),
    ("execution", 'parent_contexts_a.name = "x"'),
    ("context", 'contexts_a.name = "x"'),
    ("context", "events_a.type = INPUT"),
])
def test_join_not_valid_for_node_kind(kind, query):
    with pytest.raises(InvalidArgumentError, match=f"{kind}s cannot be filtered by"):
        parse_filter(query, kind)


@pytest.mark.parametrize("kind,query,attr", [
    ("artifact", "contexts_a.type_id = 1", "type_id"),
    ("artifact", "contexts_a.external_id = 'x'", "external_id"),
    ("artifact", "contexts_a.uri = 'x'", "uri"),
    ("artifact", "events_a.artifact_id = 1", "artifact_id"),
    ("execution", "events_a.execution_id = 1", "execution_id"),
    ("artifact", "events_a.id = 1", "id"),
    ("context", "parent_contexts_a.state = LIVE", "state"),
    ("context", "executions_a.uri = 'x'", "uri"),
])
def test_attribute_not_valid_for_joined_record(kind, query, attr):
    with pytest.raises(InvalidArgumentError, match=f"unknown attribute '{attr}'"):
        parse_filter(query, kind)


def test_properties_of_joined_records_are_rejected():
    with pytest.raises(InvalidArgumentError, match="properties of joined contexts"):
        parse_filter('contexts_a.properties.note.string_value = "n"', "artifact")
    with pytest.raises(InvalidArgumentError, match="properties of joined artifacts"):
        parse_filter("artifacts_a.custom_properties.n.int_value = 1", "context")


def test_alias_forms():
    assert parse_filter('contexts_1.name = "x"', "artifact").left.neighbour == Neighbour(
        "contexts", "1")
    assert parse_filter('contexts_a_b.name = "x"', "artifact").left.neighbour == Neighbour(
        "contexts", "a_b")
    # parent_/child_ prefixes are not read as contexts_ with a longer alias.
    assert parse_filter('parent_contexts_p.name = "x"', "context").left.neighbour == Neighbour(
        "parent_contexts", "p")


def test_aliases_are_case_insensitive():
    expr = parse_filter('contexts_A.name = "x" AND contexts_a.id = 1', "artifact")
    assert aliases(expr) == {"contexts_a": "contexts"}


def test_aliases_and_neighbours_helpers():
    expr = parse_filter('events_in.type = INPUT AND (contexts_a.name = "x" OR '
                        'contexts_b.id = events_in.execution_id) AND contexts_a.id > 0',
                        "artifact")
    assert aliases(expr) == {"events_in": "events", "contexts_a": "contexts",
                             "contexts_b": "contexts"}
    assert neighbours(expr) == (Neighbour("events", "in"), Neighbour("contexts", "a"),
                                Neighbour("contexts", "b"))
    assert aliases(parse_filter("id = 1", "artifact")) == {}


def test_same_suffix_on_different_relations_is_two_neighbours():
    expr = parse_filter('contexts_a.name = "x" AND events_a.type = INPUT', "artifact")
    assert aliases(expr) == {"contexts_a": "contexts", "events_a": "events"}


# --- caching and immutability --------------------------------------------------------


def test_parsed_queries_are_cached_and_hashable():
    q = 'contexts_a.name = "x" AND properties.p.int_value IN (1, 2)'
    first = parse_filter(q, "artifact")
    assert parse_filter(q, "artifact") is first
    assert hash(first) == hash(parse_filter(q + " ", "artifact"))
    with pytest.raises(AttributeError):
        first.items = ()


def test_same_text_for_two_kinds_is_parsed_per_kind():
    assert parse_filter('uri = "x"', "artifact") == cmp(Attribute("uri"), "=", "x")
    with pytest.raises(InvalidArgumentError):
        parse_filter('uri = "x"', "context")


# --- malformed queries -------------------------------------------------------------

MALFORMED = [
    # (query, node kind, message fragment, column or None)
    ("", "artifact", "the query is empty", None),
    ("   ", "artifact", "the query is empty", None),
    ("id = 1 AND", "artifact", "unexpected end of query; expected one of: a field name", 11),
    ('name = "a1', "artifact", "unclosed string literal", 8),
    ("name = 'a1\"", "artifact", "unclosed string literal", 8),
    ("id == 1", "artifact", "unexpected '='", 5),
    ("id IN ()", "artifact", "unexpected ')'", 8),
    ("id IN (1,)", "artifact", "unexpected ')'", 10),
    ("id IN 1", "artifact", 'expected "("', 7),
    ("(id = 1", "artifact", 'unexpected end of query; expected ")"', 8),
    ("id = 1)", "artifact", "expected end of query", 7),
    ("id = 1 AND AND id = 2", "artifact", "unexpected keyword AND", 12),
    ("id = 1 id = 2", "artifact", "unexpected 'id'", 8),
    ("name NOT = 'x'", "artifact", "expected one of: IN, LIKE, BETWEEN", 10),
    ("id = 1;", "artifact", "unexpected character ';'", 7),
    ("`name = 1", "artifact", "unclosed backquoted name", 1),
    ("id = 1 /* open", "artifact", "unclosed /* comment", 8),
    ("name = NULL", "artifact", "NULL cannot be an operand of =; use IS NULL", 8),
    ("name = 1", "artifact", "cannot compare name (a string) with an integer", 8),
    ('id = "1"', "artifact", "cannot compare id (an integer) with a string", 6),
    ('state = "LIVE"', "artifact", "write enum values unquoted", 9),
    ("state = FOO", "artifact", "'FOO' is not a valid Artifact.State value", 9),
    ("events_0.type = LIVE", "artifact", "'LIVE' is not a valid Event.Type value", 17),
    ("properties.ok.bool_value = 1", "artifact", "a boolean) with an integer", 28),
    ("name", "artifact", "name is a string, not a condition", 1),
    ("42", "artifact", "'42' is not a condition", 1),
    ("id LIKE '1%'", "artifact", "LIKE needs a string field; id is an integer", 1),
    ("name LIKE uri", "artifact", "the pattern of LIKE must be a string literal", 11),
    ("id IS TRUE", "artifact", "IS TRUE needs a boolean field", 1),
    ("id = 99999999999999999999", "artifact", "out of the 64-bit range", 6),
    (r'name = "a\%"', "artifact", r"illegal escape sequence \% in a string literal", 10),
    ('name = b"x"', "artifact", "unexpected '\"x\"'", 9),
    ("properties.day = 1", "artifact", "is not a property value; write properties.<name>.<", 1),
    ("properties.day.foo_value = 1", "artifact", "unknown property value kind 'foo_value'", 1),
    ("contexts.name = 'x'", "artifact", "joins are written contexts_<alias>.<attribute>", 1),
    ("contexts_.name = 'x'", "artifact", "unknown field 'contexts_.name'", 1),
    ("name.x = 1", "artifact", "attribute 'name' has no fields", 1),
    ("id IN (1, name)", "artifact", "IN takes literals only", 11),
    ("id BETWEEN 1", "artifact", "unexpected end of query; expected AND", 13),
    ("NOT", "context", "unexpected end of query", 4),
    ("id = 1 AND\n  nme = 'x'", "context", "unknown field 'nme' for contexts", 3),
]


@pytest.mark.parametrize("query,kind,fragment,column", MALFORMED)
def test_malformed_queries_raise_invalid_argument_with_location(query, kind, fragment, column):
    with pytest.raises(InvalidArgumentError) as info:
        parse_filter(query, kind)
    message = info.value.message
    assert f"`{query}`" in message  # quotes the query
    assert fragment in message
    if column is not None:
        assert re.search(rf"\(line \d+, column {column}\)", message), message
        # A caret under the offending column of the offending line.
        caret_line = message.splitlines()[-1]
        assert caret_line.index("^") == column + 1  # two spaces of indent
    assert info.value.error_code == 3  # INVALID_ARGUMENT


def test_error_on_second_line_reports_that_line():
    with pytest.raises(InvalidArgumentError) as info:
        parse_filter("id = 1 AND\n  nme = 'x'", "context")
    assert "(line 2, column 3)" in info.value.message
    assert info.value.message.splitlines()[-2] == "    nme = 'x'"


def test_lone_trailing_backslash_in_like_pattern_is_rejected():
    with pytest.raises(InvalidArgumentError, match="ends with a lone backslash"):
        parse_filter(r'name LIKE "a\\"', "artifact")


def test_non_string_query_is_rejected():
    with pytest.raises(InvalidArgumentError, match="must be a string"):
        parse_filter(b"id = 1", "artifact")  # type: ignore[arg-type]


def test_deep_nesting_is_refused_but_moderate_nesting_works():
    assert parse_filter("NOT " * 100 + "id = 1", "artifact") is not None
    assert parse_filter("(" * 500 + "id = 1" + ")" * 500, "artifact") == cmp(ID, "=", 1)
    with pytest.raises(InvalidArgumentError, match="nests NOT and parentheses more than"):
        parse_filter("NOT (" * 300 + "id = 1" + ")" * 300, "artifact")
