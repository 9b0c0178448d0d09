"""Filters compiled to Cypher (lineage.query.cypher_compiler).

The text checks need no server. The answer checks store one data set both in
the memory backend (whose filters are the Python reference compiler) and in a
real Neo4j, then require the same ids from both for hand-written and for
randomly generated filter queries, with ordering and keyset pages.
"""

from __future__ import annotations

import random
import re

import pytest

from lineage.backends import memory
from lineage.backends.base import ListQuery
from lineage.errors import InternalError, InvalidArgumentError
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import ast, parse_filter
from lineage.query.cypher_compiler import (
    CypherFilter,
    code_point_key,
    compile_filter,
    like_to_cypher,
    property_key,
)

# -- LIKE -----------------------------------------------------------------------------


@pytest.mark.parametrize("pattern,expected", [
    ("abc", ("=", "abc")),
    ("", ("=", "")),
    ("abc%", ("STARTS WITH", "abc")),
    ("%abc", ("ENDS WITH", "abc")),
    ("%abc%", ("CONTAINS", "abc")),
    ("%%ab%%", ("CONTAINS", "ab")),
    ("%", ("ENDS WITH", "")),
    ("%%", ("ENDS WITH", "")),
    (r"50\%", ("=", "50%")),
    (r"a\_b%", ("STARTS WITH", "a_b")),
    ("a\\\\%", ("STARTS WITH", "a\\")),
    ("a_c", ("=~", "(?s)a.c")),
    ("a%c", ("=~", "(?s)a.*c")),
    ("%.*%", ("CONTAINS", ".*")),
    ("_(x|y)%", ("=~", "(?s).\\x{28}x\\x{7c}y\\x{29}.*")),
    ("é_\U0001F600", ("=~", "(?s)é.\U0001F600")),
])
def test_like_translation(pattern, expected):
    assert like_to_cypher(pattern) == expected


# -- code point order -----------------------------------------------------------------


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def test_code_point_key_orders_by_code_point_in_utf16():
    rng = random.Random(3)
    alphabet = ["a", "z", "\x00", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff", "\U00010000",
                "\U0001F600", "\U0010FFFF", "é"]
    words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))) for _ in range(400)}
    by_code_point = sorted(words)
    by_key = sorted(words, key=lambda w: _utf16(code_point_key(w)))
    assert by_key == by_code_point
    # UTF-16 order alone gets these wrong, which is why the key exists.
    assert _utf16("\uffff") > _utf16("\U00010000") and "\uffff" < "\U00010000"
    assert code_point_key("plain ascii é") == "plain ascii é"


# -- the generated text ---------------------------------------------------------------


def test_values_and_names_only_travel_as_parameters():
    query = ("name = 'x\\' OR 1=1 //' AND custom_properties.`} DETACH DELETE n //`.string_value = 'v' "
             "AND contexts_evil.name LIKE '%a_%' AND uri IN ('u1', 'u2') AND id > 3")
    compiled = compile_filter(parse_filter(query, "artifact"), "artifact")
    text = compiled.match + " WHERE " + compiled.where
    structure = re.sub(r"\$f\d+|\bj\d+\b", "_", text)
    for fragment in ("OR 1=1", "DETACH", "evil", "u1", "'", '"', "3", "%"):
        assert fragment not in structure, fragment
    assert "x' OR 1=1 //" in compiled.params.values()
    assert property_key("} DETACH DELETE n //", "string_value", True) in compiled.params.values()
    assert set(re.findall(r"\$(\w+)", text)) == set(compiled.params)


def test_neighbour_aliases_become_generated_variables():
    compiled = compile_filter(parse_filter(
        "contexts_a.name = 'x' AND contexts_b.name = 'y' AND contexts_a.id != contexts_b.id",
        "artifact"), "artifact")
    assert compiled.match == "MATCH (n:Artifact)"
    # One MATCH clause per alias, so two aliases may bind the same context.
    assert compiled.where.count("MATCH (n)-[:ATTRIBUTED_TO]->") == 2
    assert "j0" in compiled.where and "j1" in compiled.where


def test_an_id_equality_on_a_neighbour_anchors_the_match():
    compiled = compile_filter(parse_filter("contexts_r.id = 7 AND contexts_r.name = 'x'", "execution"),
                              "execution")
    assert compiled.match.startswith("MATCH (j0:Context {id: $f0})<-[:ASSOCIATED_WITH]-(n:Execution)")
    assert "EXISTS" not in compiled.where
    assert compiled.params["f0"] == 7


def test_a_name_equality_on_a_neighbour_anchors_the_match_and_keeps_each_node_once():
    compiled = compile_filter(parse_filter(
        "contexts_r.type = 'Run' AND contexts_r.name = 'x' AND name = 'e'", "execution"), "execution")
    # The context's terms are tested per bound context, then each node is kept once.
    assert compiled.match.startswith("MATCH (j0:Context {name: $f0})<-[:ASSOCIATED_WITH]-(n:Execution)")
    assert compiled.match.endswith("WITH DISTINCT n")
    assert "j0.type" in compiled.match and "j0" not in compiled.where
    assert "EXISTS" not in compiled.where and "n.name" in compiled.where
    assert compiled.params["f0"] == "x"


def test_a_name_does_not_anchor_an_alias_joined_with_another():
    compiled = compile_filter(parse_filter(
        "contexts_a.name = 'x' AND (contexts_a.id = 1 OR contexts_b.name = 'y')", "artifact"), "artifact")
    assert compiled.match == "MATCH (n:Artifact)"
    # An id still anchors where it is found.
    compiled = compile_filter(parse_filter("contexts_a.name = 'x' AND contexts_a.id = 2", "artifact"), "artifact")
    assert compiled.match.startswith("MATCH (j0:Context {id: $f")


def test_compile_is_cached_and_checks_its_input():
    expr = parse_filter("name = 'a'", "context")
    assert compile_filter(expr, "context") is compile_filter(expr, "context")
    assert isinstance(compile_filter(expr, "context"), CypherFilter)
    with pytest.raises(InvalidArgumentError, match="node_kind"):
        compile_filter(expr, "event")
    with pytest.raises(InternalError, match="no attribute"):
        compile_filter(ast.Comparison(ast.Attribute("uri"), "=", "x"), "context")


# -- answers against a real Neo4j -----------------------------------------------------

STRINGS = ["", "a", "A", "ab", "abc", "a%b", "a_b", "a\\b", "x'y", 'q"q', "line\nbreak", "é",
           "\uffff", "\U00010000", "\U0001F600z", "Train", "train", "mlmd", "%", "_"]


def build_history(backends, seed: int = 11) -> None:
    """Stores the same tricky data set in each backend, through the Backend API."""
    rng = random.Random(seed)

    def maybe(values, p=0.8):
        return rng.choice(values) if rng.random() < p else None

    types = {
        "artifact": [pb.ArtifactType(name=n, properties={"split": pb.STRING, "rows": pb.INT})
                     for n in ("Dataset", "Model", "\uffffType")],
        "execution": [pb.ExecutionType(name=n, properties={"lr": pb.DOUBLE, "ok": pb.BOOLEAN})
                      for n in ("Trainer", "trainer")],
        "context": [pb.ContextType(name=n) for n in ("Run", "Experiment")],
    }
    type_ids: dict[str, list[int]] = {}
    used_names: set[tuple[str, int, str]] = set()
    for b in backends:
        with b.transaction():
            for kind, given in types.items():
                type_ids[kind] = [b.insert_type(kind, t) for t in given]

    def fill(node, kind, index):
        type_index = rng.randrange(len(types[kind]))
        node.type_id = type_ids[kind][type_index]
        node.type = types[kind][type_index].name
        name = maybe(STRINGS)
        if name is not None or kind == "context":
            name = f"{name or ''}{index}" if kind == "context" or rng.random() < 0.5 else name
            # (type, name) is unique for non-empty names, as the store requires.
            if name and (kind, node.type_id, name) in used_names:
                name += str(index)
            used_names.add((kind, node.type_id, name))
            node.name = name
        if rng.random() < 0.4:
            node.external_id = f"ext-{kind}-{index}-{maybe(STRINGS) or ''}"
        node.create_time_since_epoch = rng.choice([100, 200, 300]) + rng.randint(0, 3)
        node.last_update_time_since_epoch = node.create_time_since_epoch + rng.choice([0, 50, 400])
        for is_custom, target in ((False, node.properties), (True, node.custom_properties)):
            for key in (("split", "rows", "lr", "ok") if not is_custom else ("x", "y", "w ird")):
                roll = rng.random()
                if roll < 0.2:
                    continue
                if key in ("split", "x", "w ird") or roll < 0.4:
                    target[key].string_value = rng.choice(STRINGS)
                elif key in ("rows", "y") or roll < 0.6:
                    target[key].int_value = rng.choice([-3, 0, 1, 7, 2**40])
                elif key == "lr" or roll < 0.8:
                    target[key].double_value = rng.choice([-0.5, 0.0, 1.0, 7.0, 2.5e10])
                elif roll < 0.9:
                    target[key].bool_value = rng.random() < 0.5
                else:
                    target[key].struct_value.update({"k": 1})

    artifacts, executions, contexts = [], [], []
    for i in range(60):
        a = pb.Artifact()
        fill(a, "artifact", i)
        if rng.random() < 0.9:
            a.uri = maybe(STRINGS, 1.0) + ("/" + str(i) if rng.random() < 0.5 else "")
        if rng.random() < 0.7:
            a.state = rng.choice(list(pb.Artifact.State.values()))
        artifacts.append(a)
    for i in range(40):
        e = pb.Execution()
        fill(e, "execution", i)
        if rng.random() < 0.7:
            e.last_known_state = rng.choice(list(pb.Execution.State.values()))
        executions.append(e)
    for i in range(15):
        c = pb.Context()
        fill(c, "context", i)
        contexts.append(c)
    events = []
    for _ in range(120):
        event = pb.Event(artifact_id=rng.randint(1, 60), execution_id=rng.randint(1, 40))
        if rng.random() < 0.9:
            event.type = rng.choice(list(pb.Event.Type.values()))
        if rng.random() < 0.8:
            event.milliseconds_since_epoch = rng.choice([10, 20, 30])
        events.append(event)
    attributions = sorted({(rng.randint(1, 60), rng.randint(1, 15)) for _ in range(90)})
    associations = sorted({(rng.randint(1, 40), rng.randint(1, 15)) for _ in range(50)})
    parents = sorted({(c, p) for c, p in ((rng.randint(1, 15), rng.randint(1, 15)) for _ in range(20))
                      if c != p})
    for b in backends:
        with b.transaction():
            b.insert_nodes("artifact", [_copy(a) for a in artifacts])
            b.insert_nodes("execution", [_copy(e) for e in executions])
            b.insert_nodes("context", [_copy(c) for c in contexts])
            b.insert_events(events)
            b.insert_attributions(attributions)
            b.insert_associations(associations)
            b.insert_parent_contexts(parents)


def _copy(message):
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


@pytest.fixture(scope="module")
def pair():
    """(memory backend, Neo4j backend) holding the same data set."""
    from test_neo4j_backend import connection_config, neo4j_settings, wipe

    from lineage.backends import neo4j as neo4j_backend

    settings = neo4j_settings()
    wipe(settings)
    graph = neo4j_backend.open_backend(connection_config(settings), pb.MigrationOptions())
    reference = memory.MemoryBackend()
    build_history([reference, graph])
    yield reference, graph
    graph.close()


def ids(backend, kind, query, **options):
    expr = parse_filter(query, kind) if query else None
    return [n.id for n in backend.list_nodes(kind, ListQuery(filter=expr, **options))]


HAND_WRITTEN = {
    "artifact": [
        "name = 'a'", "name != 'a'", "name < 'b'", "name >= '\uffff'", "name > '\U00010000'",
        "name < '\U00010000'", "name IS NULL", "NOT name IS NULL", "name IN ('a', 'A', '')",
        "name NOT IN ('a', 'A')", "name LIKE 'a%'", "name LIKE '%b'", "name LIKE '%\\\\%'",
        "name LIKE 'a\\\\_b'", "name LIKE 'a_b'", "name LIKE '_'", "name LIKE ''", "name NOT LIKE '%a%'",
        "uri LIKE '%/1_'", "uri LIKE '%\\n%'", "uri = ''", "uri IS NULL", "external_id LIKE 'ext-%'",
        "state = LIVE", "state != LIVE", "state IN (LIVE, DELETED)", "state NOT IN (LIVE)",
        "state IS NULL", "type = 'Model'", "type > 'Model'", "type_id = 10", "id BETWEEN 5 AND 20",
        "id NOT BETWEEN 5 AND 20", "create_time_since_epoch = last_update_time_since_epoch",
        "create_time_since_epoch < last_update_time_since_epoch AND id > 4",
        "properties.split.string_value = 'a'", "properties.split.string_value > 'a'",
        "properties.rows.int_value >= 1", "properties.rows.int_value IS NULL",
        "custom_properties.x.string_value LIKE '%b%'", "custom_properties.x.int_value > 0",
        "custom_properties.x.int_value IS NULL", "custom_properties.y.double_value < 10",
        "custom_properties.y.bool_value = true", "custom_properties.y.bool_value",
        "custom_properties.y.bool_value IS FALSE", "custom_properties.y.bool_value IS NOT TRUE",
        "custom_properties.`w ird`.string_value = name",
        "custom_properties.`w ird`.string_value < name",
        "custom_properties.x.string_value = 'a' OR name = 'a'",
        "NOT (custom_properties.x.string_value = 'a' OR name = 'a')",
        "name = 'a' OR name IS NULL", "(name = 'a' OR uri = 'a') AND NOT state = LIVE",
        "contexts_a.name LIKE 'a%'", "contexts_a.id = 3", "contexts_a.id = 3 AND contexts_a.name LIKE '%3'",
        "contexts_a.id = 3 AND contexts_b.id = 4", "contexts_a.id = 3 AND contexts_b.id = 3",
        "contexts_a.id = 3 OR contexts_b.id = 4", "contexts_a.id != contexts_b.id",
        "contexts_a.type = 'Run' AND contexts_a.name != 'x'",
        "NOT contexts_a.name = 'x'", "contexts_a.create_time_since_epoch > create_time_since_epoch",
        "events_e.type = OUTPUT", "events_e.type = INPUT AND events_f.type = OUTPUT",
        "events_e.execution_id = 3", "events_e.milliseconds_since_epoch IS NULL",
        "events_e.type IS NULL OR events_e.type != INPUT",
        "events_e.execution_id = 5 AND contexts_c.name LIKE '%'",
        "TRUE", "FALSE", "NOT FALSE", "1 = 1 AND name = 'a'",
    ],
    "execution": [
        "last_known_state = COMPLETE", "last_known_state != COMPLETE", "last_known_state IS NULL",
        "properties.lr.double_value > 1", "properties.lr.double_value = 7",
        "properties.ok.bool_value = false", "properties.ok.bool_value IS NULL",
        "type = 'trainer'", "type < 'trainer'", "name LIKE '%'",
        "contexts_a.name = 'x'", "contexts_a.id = 2", "events_e.artifact_id > 30",
        "events_e.artifact_id = events_f.artifact_id AND events_e.type != events_f.type",
    ],
    "context": [
        "name LIKE '%1%'", "parent_contexts_p.id = 1", "child_contexts_c.name LIKE 'a%'",
        "parent_contexts_p.id = child_contexts_c.id",
        "artifacts_a.uri LIKE '%/%'", "artifacts_a.state = LIVE", "artifacts_a.id = 4",
        "executions_x.last_known_state = COMPLETE", "executions_x.id = 2 AND artifacts_a.id = 7",
        "artifacts_a.external_id IS NULL", "executions_x.external_id IS NOT NULL",
        "NOT artifacts_a.id > 10", "type = 'Run'",
    ],
}


@pytest.mark.parametrize("kind,query", [(k, q) for k, qs in HAND_WRITTEN.items() for q in qs])
def test_hand_written_filters_match_the_reference(pair, kind, query):
    reference, graph = pair
    assert ids(graph, kind, query) == ids(reference, kind, query)


def _literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = "".join(c if c.isascii() and c.isalnum() or c == " " else "\\U%08x" % ord(c) for c in value)
    return f"'{escaped}'"


def random_filter(rng: random.Random, kind: str) -> str:
    """A random filter over the data set's fields; some do not type-check, which is fine."""
    fields = {
        "string": ["name", "external_id", "type", "properties.split.string_value",
                   "custom_properties.x.string_value", "custom_properties.`w ird`.string_value"],
        "int": ["id", "type_id", "create_time_since_epoch", "last_update_time_since_epoch",
                "properties.rows.int_value", "custom_properties.y.int_value",
                "custom_properties.x.int_value"],
        "double": ["properties.lr.double_value", "custom_properties.y.double_value"],
        "bool": ["custom_properties.y.bool_value", "properties.ok.bool_value"],
    }
    if kind == "artifact":
        fields["string"] += ["uri", "contexts_a.name", "contexts_b.name"]
        fields["int"] += ["contexts_a.id", "events_e.execution_id", "events_e.milliseconds_since_epoch"]
        fields["enum"] = ["state", "events_e.type"]
    elif kind == "execution":
        fields["string"] += ["contexts_a.type"]
        fields["int"] += ["events_e.artifact_id", "contexts_a.id"]
        fields["enum"] = ["last_known_state", "events_e.type"]
    else:
        fields["string"] += ["parent_contexts_p.name", "artifacts_a.uri", "executions_x.name"]
        fields["int"] += ["child_contexts_c.id", "artifacts_a.id", "executions_x.id"]
        fields["enum"] = ["artifacts_a.state", "executions_x.last_known_state"]
    literals = {
        "string": lambda: rng.choice(STRINGS + ["Dataset", "Run", "ext-", "\U0001F600z"]),
        "int": lambda: rng.choice([0, 1, 3, 5, 10, 11, 20, 101, 150, 300, 2**40]),
        "double": lambda: rng.choice([0.0, 1.0, 2.5, 7, 1e10]),
        "bool": lambda: rng.random() < 0.5,
        "enum": lambda: rng.choice(["LIVE", "DELETED", "COMPLETE", "FAILED", "INPUT", "OUTPUT",
                                    "UNKNOWN", "NEW", "PENDING"]),
    }

    def atom() -> str:
        kind_ = rng.choice(list(fields))
        field = rng.choice(fields[kind_])
        roll = rng.random()
        if roll < 0.1:
            return f"{field} IS {'NOT ' if rng.random() < 0.5 else ''}NULL"
        if kind_ == "enum":
            value = literals["enum"]()
            if roll < 0.3:
                return f"{field} {'NOT ' if rng.random() < 0.4 else ''}IN ({value}, {literals['enum']()})"
            return f"{field} {rng.choice(['=', '!='])} {value}"
        if kind_ == "string" and roll < 0.35:
            pattern = rng.choice(["%", "_", "a", "\\\\%", "\\\\_", "b", "%%", "1"])
            pattern += rng.choice(["", "%", "_", "a", "b%"])
            return f"{field} {'NOT ' if rng.random() < 0.3 else ''}LIKE {_literal(pattern)}"
        if roll < 0.45:
            values = ", ".join(_literal(literals[kind_]()) for _ in range(rng.randint(1, 3)))
            return f"{field} {'NOT ' if rng.random() < 0.3 else ''}IN ({values})"
        if roll < 0.55:
            return f"{field} {rng.choice(['=', '!=', '<', '>='])} {rng.choice(fields[kind_])}"
        if roll < 0.6:
            return f"{field} BETWEEN {_literal(literals[kind_]())} AND {_literal(literals[kind_]())}"
        return f"{field} {rng.choice(['=', '!=', '<', '<=', '>', '>='])} {_literal(literals[kind_]())}"

    def expr(depth: int) -> str:
        roll = rng.random()
        if depth > 2 or roll < 0.4:
            return atom()
        if roll < 0.55:
            return f"NOT ({expr(depth + 1)})"
        joiner = " AND " if roll < 0.8 else " OR "
        return "(" + joiner.join(expr(depth + 1) for _ in range(rng.randint(2, 3))) + ")"

    return expr(0)


@pytest.mark.parametrize("kind", ["artifact", "execution", "context"])
def test_random_filters_match_the_reference(pair, kind):
    reference, graph = pair
    rng = random.Random(f"filters-{kind}")
    checked = nonempty = 0
    while checked < 250:
        query = random_filter(rng, kind)
        try:
            expected = ids(reference, kind, query)
        except InvalidArgumentError:
            continue
        checked += 1
        nonempty += bool(expected)
        assert ids(graph, kind, query) == expected, query
    assert nonempty > 60  # the generator reaches the data


@pytest.mark.parametrize("field", ["id", "create_time_since_epoch", "last_update_time_since_epoch"])
@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("query", ["", "name IS NOT NULL", "contexts_a.id = 3 OR contexts_a.id = 5"])
def test_ordering_and_keyset_pages_match_the_reference(pair, field, ascending, query):
    reference, graph = pair
    for kind in ("artifact", "execution"):
        options = dict(order_field=field, ascending=ascending)
        expected = ids(reference, kind, query, **options)
        assert ids(graph, kind, query, **options) == expected
        # Walk the listing in pages of 7 through keyset cursors.
        pages: list[int] = []
        after = None
        while True:
            page_nodes = graph.list_nodes(kind, ListQuery(
                filter=parse_filter(query, kind) if query else None, limit=7, after=after, **options))
            pages.extend(n.id for n in page_nodes)
            if len(page_nodes) < 7:
                break
            last = page_nodes[-1]
            after = (getattr(last, field), last.id)
        assert pages == expected
    # A cursor whose value and id disagree still means "strictly after (value, id)".
    for cursor in [(5, 9), (9, 5), (0, 0), (10**6, 1)]:
        options = dict(order_field="id", ascending=ascending, after=cursor)
        assert ids(graph, "artifact", query, **options) == ids(reference, "artifact", query, **options)
