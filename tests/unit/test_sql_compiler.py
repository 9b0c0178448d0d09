"""Filter queries compiled to SQL (``lineage.query.sql_compiler``) against the Python compiler.

The same random graph is written to the in-memory backend (filters run as
Python predicates) and to SQLite, MariaDB and PostgreSQL (filters run as SQL);
hundreds of golden and generated queries must return the same ids
everywhere, through the public API, including ordered and limited pages.
The graph holds the awkward cases: NULLs, text differing only in case,
accents or trailing spaces, LIKE wildcards and backslashes in the data,
struct values hidden in ``string_value``, every value kind, and neighbours
of every relation.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

import lineage
from lineage import errors
from lineage.query import parse_filter
from lineage.query.sql_compiler import compile_filter

from test_sql_backend import Databases, build_history, memory_store, sql_services  # noqa: F401

SEED = 2024
TARGETS = ("sqlite-memory", "mariadb", "postgresql")


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[lineage.MetadataStore, dict]]:
    store = memory_store()
    ids = build_history(store, seed=SEED, size=40)
    yield store, ids
    store.close()


@pytest.fixture(scope="module", params=TARGETS)
def sql_store(request, tmp_path_factory, sql_services, reference) -> Iterator[lineage.MetadataStore]:  # noqa: F811
    services = sql_services if request.param in ("mariadb", "postgresql") else None
    databases = Databases(request.param, tmp_path_factory.mktemp("compiler"), services)
    store = lineage.MetadataStore(databases.config())
    try:
        assert build_history(store, seed=SEED, size=40) == reference[1]
        yield store
    finally:
        store.close()
        databases.close()


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t") + "'"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _atoms(store: lineage.MetadataStore, ids: dict, kind: str, rng: random.Random) -> list[str]:
    """Conditions over the data actually stored, so that many of them match something."""
    nodes = getattr(store, f"get_{kind}s")()
    atoms: list[str] = []
    some = rng.sample(nodes, min(6, len(nodes)))
    atoms += [f"id = {n.id}" for n in some[:2]]
    atoms.append("id IN (" + ", ".join(str(n.id) for n in some) + ")")
    atoms += [f"id > {some[0].id}", f"id <= {some[1].id}", f"type_id = {some[2].type_id}"]
    atoms += [f"type = '{kind}-type-1'", f"type != '{kind}-type-0'", f"type LIKE '{kind}-type-%'",
              f"type IN ('{kind}-type-2', 'nope')", f"type < '{kind}-type-1'"]
    names = [n.name for n in nodes if n.HasField("name")]
    for name in rng.sample(names, min(4, len(names))):
        atoms += [f"name = {_quote(name)}", f"name LIKE {_quote(_like_escape(name[:4]) + '%')}",
                  f"name >= {_quote(name)}", f"name = {_quote(name.upper())}"]
    atoms += ["name IS NULL", "name IS NOT NULL", "name LIKE '%-1_'", "name LIKE '%\\_%'",
              "external_id IS NULL", "external_id LIKE 'art-ext-1%'", "name != 'art-3'"]
    atoms += ["create_time_since_epoch > 0", "last_update_time_since_epoch >= create_time_since_epoch"]
    if kind == "artifact":
        uris = [n.uri for n in nodes if n.uri]
        for uri in rng.sample(uris, min(6, len(uris))):
            atoms += [f"uri = {_quote(uri)}", f"uri = {_quote(uri + ' ')}",
                      f"uri LIKE {_quote(_like_escape(uri[:6]) + '%')}",
                      f"uri LIKE {_quote('%' + _like_escape(uri[-3:]))}",
                      f"uri LIKE {_quote(_like_escape(uri).upper())}",
                      f"uri LIKE {_quote('_' + _like_escape(uri[1:]))}", f"uri > {_quote(uri)}"]
        atoms += ["uri LIKE '%\\%%'", "uri LIKE '%x_y%'", "uri LIKE '%\\\\%'", "uri LIKE '%日本%'",
                  "uri LIKE '%/_'", "uri LIKE '%/__'", "uri LIKE '%é%'", "uri LIKE '%%'", "uri LIKE '%DATA%'",
                  "NOT uri LIKE '%data%'", "uri = ''", "uri IS NULL",
                  "state = LIVE", "state != DELETED", "state IN (PENDING, MARKED_FOR_DELETION)",
                  "state IS NULL", "NOT state IN (LIVE)"]
        relations = ["contexts", "events"]
    elif kind == "execution":
        atoms += ["last_known_state = COMPLETE", "last_known_state != RUNNING", "last_known_state IS NULL",
                  "last_known_state IN (NEW, FAILED, CACHED)", "name LIKE '%\\\\%'", "name LIKE '%\\t%'"]
        relations = ["contexts", "events"]
    else:
        relations = ["parent_contexts", "child_contexts", "artifacts", "executions"]
    for name in ("p0", "p1", "p2", "p3", "c0", "c1", "d0", "c 1", "updated"):
        prefix = "custom_properties" if name[0] in "cdu" else "properties"
        field = f"{prefix}.`{name}`" if " " in name else f"{prefix}.{name}"
        atoms += [f"{field}.int_value > 3", f"{field}.int_value = 0", f"{field}.int_value IS NULL",
                  f"{field}.double_value < 0.5", f"{field}.double_value >= 1",
                  f"{field}.string_value = 'a'", f"{field}.string_value = 'A'", f"{field}.string_value = 'a '",
                  f"{field}.string_value LIKE 's%'", f"{field}.string_value IS NULL",
                  f"{field}.string_value IS NOT NULL", f"{field}.string_value LIKE 'mlmd-struct::%'",
                  f"{field}.string_value LIKE '%struct%'", f"NOT {field}.string_value LIKE '%a%'",
                  f"{field}.string_value < 'm'", f"{field}.string_value IN ('', ' ', 'é')",
                  f"{field}.bool_value = true", f"{field}.bool_value = false", f"{field}.bool_value IS NULL"]
    contexts = store.get_contexts()
    for relation in relations:
        alias = f"{relation}_a"
        if relation == "events":
            other = "execution_id" if kind == "artifact" else "artifact_id"
            other_ids = ids["execution" if kind == "artifact" else "artifact"]
            atoms += [f"{alias}.type = INPUT", f"{alias}.type IN (OUTPUT, DECLARED_OUTPUT)",
                      f"{alias}.{other} = {rng.choice(other_ids)}", f"{alias}.milliseconds_since_epoch > 0",
                      f"NOT {alias}.type = INPUT", f"{alias}.type != INPUT AND events_b.type = INPUT"]
        elif relation in ("contexts", "parent_contexts", "child_contexts"):
            context = rng.choice(contexts)
            atoms += [f"{alias}.id = {context.id}", f"{alias}.name = {_quote(context.name)}",
                      f"{alias}.name LIKE 'ctx-1%'", f"{alias}.type = 'context-type-1'",
                      f"{alias}.name LIKE 'ctx-%' AND {relation}_b.name LIKE 'ctx-2%'",
                      f"{alias}.name = {relation}_b.name", f"{alias}.create_time_since_epoch > 0",
                      # One context both ways: an equality alone may become a set of ids, not here.
                      f"{alias}.id = {context.id} AND {alias}.name LIKE 'ctx-2%'",
                      f"{alias}.name = {_quote(context.name)} AND {alias}.type = 'context-type-1'",
                      f"{alias}.id = {context.id} AND {relation}_b.name LIKE 'ctx-2%'"]
        elif relation == "artifacts":
            atoms += [f"{alias}.uri LIKE '/data/%'", f"{alias}.state = LIVE", f"{alias}.type = 'artifact-type-0'",
                      f"{alias}.external_id IS NOT NULL", f"{alias}.name LIKE 'art-1%'"]
        else:
            atoms += [f"{alias}.last_known_state = COMPLETE", f"{alias}.type = 'execution-type-2'",
                      f"{alias}.name IS NULL", f"{alias}.id > {rng.choice(ids['execution'])}"]
    return atoms


def _combine(atoms: list[str], rng: random.Random) -> str:
    parts = rng.sample(atoms, rng.choice([1, 1, 2, 2, 3]))
    text = parts[0]
    for part in parts[1:]:
        text = f"{text} {rng.choice(['AND', 'OR', 'AND NOT'])} ({part})" if rng.random() < 0.5 else \
            f"({text}) {rng.choice(['AND', 'OR'])} {part}"
    return f"NOT ({text})" if rng.random() < 0.15 else text


def _queries(store, ids, kind: str) -> list[str]:
    rng = random.Random(f"{SEED}-{kind}")
    atoms = _atoms(store, ids, kind, rng)
    queries = list(atoms)
    queries += [_combine(atoms, rng) for _ in range(150)]
    return queries


def _run(store, kind: str, query: str, **options):
    getter = getattr(store, f"get_{kind}s")
    try:
        return [n.id for n in getter(list_options=lineage.ListOptions(filter_query=query, **options))]
    except errors.StatusError as e:
        return f"{type(e).__name__}"


@pytest.mark.parametrize("kind", ["artifact", "execution", "context"])
def test_sql_answers_every_query_like_the_python_compiler(reference, sql_store, kind):
    store, ids = reference
    queries = _queries(store, ids, kind)
    mismatches = []
    matched = 0
    for query in queries:
        expected = _run(store, kind, query)
        got = _run(sql_store, kind, query)
        matched += bool(expected) and not isinstance(expected, str)
        if got != expected:
            mismatches.append((query, expected, got))
    assert not mismatches, "\n".join(f"{q!r}: python {e} sql {g}" for q, e, g in mismatches[:20])
    # The queries are not trivially empty: most atoms match something.
    assert matched > len(queries) // 3


@pytest.mark.parametrize("kind", ["artifact", "execution", "context"])
def test_ordered_limited_pages_match(reference, sql_store, kind):
    store, ids = reference
    rng = random.Random(kind)
    for query in rng.sample(_queries(store, ids, kind), 25) + [None]:
        for is_asc in (True, False):
            options = {"limit": 7, "order_by": lineage.OrderByField.ID, "is_asc": is_asc}
            if query is None:
                getter = getattr(store, f"get_{kind}s")
                expected = [n.id for n in getter(list_options=lineage.ListOptions(**options))]
                got = [n.id for n in getattr(sql_store, f"get_{kind}s")(list_options=lineage.ListOptions(**options))]
            else:
                expected = _run(store, kind, query, **options)
                got = _run(sql_store, kind, query, **options)
            assert got == expected, (query, is_asc)


# ------------------------------------------------------------- the SQL --

_DIALECTS = {"sqlite": sqlite.dialect(), "mysql": mysql.pymysql.dialect(),
             "postgresql": postgresql.psycopg.dialect()}


@pytest.mark.parametrize("dialect", sorted(_DIALECTS))
def test_values_are_bound_parameters_never_sql_text(dialect):
    literal = "zq'; DROP TABLE Artifact; --"
    query = (f"uri = {_quote(literal)} AND name LIKE 'zq\\\\%x' AND properties.p.int_value = 987654 "
             f"AND contexts_c.name IN ('zqctx', 'zqother') AND custom_properties.q.double_value < 4.25")
    clause = compile_filter(parse_filter(query, "artifact"), "artifact", dialect)
    statement = sa.select(clause.node.c.id).select_from(clause.from_).where(clause.where)
    compiled = statement.compile(dialect=_DIALECTS[dialect])
    text = compiled.string
    for value in ("zq", "987654", "4.25", "DROP"):
        assert value not in text, (value, text)
    params = compiled.construct_params()
    flattened = [v.decode() if isinstance(v, bytes) else v for v in params.values()]
    for value in (literal, "zq\\%x", 987654, "zqctx", 4.25):
        assert value in flattened, value


@pytest.mark.parametrize("dialect", sorted(_DIALECTS))
def test_text_comparisons_are_case_sensitive_in_the_sql(dialect):
    clause = compile_filter(parse_filter("name LIKE 'a%' AND uri < 'b'", "artifact"), "artifact", dialect)
    text = str(sa.select(clause.node.c.id).select_from(clause.from_).where(clause.where)
               .compile(dialect=_DIALECTS[dialect]))
    # SQLite takes the ESCAPE clause only for a pattern that escapes something.
    assert ("ESCAPE" in text) == (dialect != "sqlite")
    escaped = compile_filter(parse_filter(r"name LIKE 'a\\%%'", "artifact"), "artifact", dialect)
    assert "ESCAPE" in str(sa.select(escaped.node.c.id).select_from(escaped.from_).where(escaped.where)
                           .compile(dialect=_DIALECTS[dialect]))
    if dialect == "postgresql":
        assert re.search(r'COLLATE "C"', text)
    if dialect == "mysql":
        assert "utf8mb4_bin" in text and "AS BINARY" in text


def test_unknown_kind_or_dialect_is_invalid():
    expr = parse_filter("id = 1", "artifact")
    with pytest.raises(errors.InvalidArgumentError, match="node_kind"):
        compile_filter(expr, "model", "sqlite")
    with pytest.raises(errors.InvalidArgumentError, match="dialect_name"):
        compile_filter(expr, "artifact", "oracle")
