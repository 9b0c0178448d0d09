"""Random and mutated filter queries: typed errors only, the same answers everywhere, within the bound.

A seeded generator writes filters over the fields, joins and operators of the
language; each is also mutated (a character dropped, doubled or replaced) to
make mostly malformed ones. Every query runs on the backend under test and on
the in-memory reference holding the same records. A query must either be
refused with ``InvalidArgumentError`` by both or answer the same ids on both;
any other error (a driver error, ``DeadlineExceededError`` at the 5-second
statement timeout set here) fails the test. The number of queries and the
time spent are bounded, so the test stays a few seconds per backend.
"""

from __future__ import annotations

import random
import time

import pytest

from ._api import IS_MLMD, errors, lineage_only, metadata_store_pb2 as pb, mlmd

pytestmark = lineage_only

_SEED = 17
_QUERIES = 120
_BUDGET_S = 25.0
_WORDS = ["a", "b", "ab", "a%", "%b", "x/y", "é", "a_b", "", "Run", "A"]


@pytest.fixture(autouse=True)
def _bounded(monkeypatch):
    # Read when the store opens: the fixtures below open theirs after this one.
    monkeypatch.setenv("LINEAGE_STATEMENT_TIMEOUT", "5")


def _seed(store) -> None:
    rng = random.Random(_SEED)
    data = pb.ArtifactType(name="Data")
    data.properties["n"] = pb.INT
    data.properties["d"] = pb.DOUBLE
    data.properties["s"] = pb.STRING
    data_type = store.put_artifact_type(data)
    step_type = store.put_execution_type(pb.ExecutionType(name="Step"))
    run_type = store.put_context_type(pb.ContextType(name="Run"))
    artifacts = []
    for i in range(24):
        artifact = pb.Artifact(type_id=data_type, uri=rng.choice(_WORDS) + f"/{i}",
                               state=rng.choice([pb.Artifact.LIVE, pb.Artifact.DELETED,
                                                 pb.Artifact.PENDING]))
        if rng.random() < 0.7:
            artifact.name = f"{rng.choice(_WORDS)}{i}"
        if rng.random() < 0.8:
            artifact.properties["n"].int_value = rng.randint(-3, 3)
        if rng.random() < 0.6:
            artifact.properties["d"].double_value = rng.choice([-1.5, 0.0, -0.0, 2.0, 3.25])
        if rng.random() < 0.6:
            artifact.properties["s"].string_value = rng.choice(_WORDS)
        if rng.random() < 0.4:
            artifact.custom_properties["c"].bool_value = rng.random() < 0.5
        artifacts.append(artifact)
    artifact_ids = store.put_artifacts(artifacts)
    execution_ids = store.put_executions(
        [pb.Execution(type_id=step_type, name=f"step{i}") for i in range(6)])
    context_ids = store.put_contexts([pb.Context(type_id=run_type, name=f"run{i}") for i in range(4)])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=rng.choice(context_ids))
         for a in artifact_ids if rng.random() < 0.8],
        [pb.Association(execution_id=e, context_id=rng.choice(context_ids)) for e in execution_ids])
    store.put_events([
        pb.Event(artifact_id=a, execution_id=rng.choice(execution_ids),
                 type=rng.choice([pb.Event.INPUT, pb.Event.OUTPUT]))
        for a in artifact_ids if rng.random() < 0.7])


def _literal(rng: random.Random, kind: str) -> str:
    if kind == "int":
        return str(rng.choice([-3, 0, 1, 2, 5, 30, 2**63 - 1]))
    if kind == "double":
        return rng.choice(["0.0", "-0.0", "2", "3.25", "-1.5", "1e3"])
    if kind == "bool":
        return rng.choice(["TRUE", "FALSE"])
    return "'" + rng.choice(_WORDS).replace("\\", "\\\\").replace("'", "\\'") + "'"


_FIELDS = [
    ("id", "int"), ("type_id", "int"), ("uri", "string"), ("name", "string"),
    ("type", "string"), ("create_time_since_epoch", "int"),
    ("properties.n.int_value", "int"), ("properties.d.double_value", "double"),
    ("properties.s.string_value", "string"), ("custom_properties.c.bool_value", "bool"),
    ("contexts_a.name", "string"), ("contexts_b.name", "string"), ("contexts_a.id", "int"),
    ("events_e.type", "event"), ("events_e.execution_id", "int"),
]


def _predicate(rng: random.Random) -> str:
    field, kind = rng.choice(_FIELDS)
    if kind == "event":
        return f"{field} {rng.choice(['=', '!='])} {rng.choice(['INPUT', 'OUTPUT'])}"
    roll = rng.random()
    if roll < 0.1:
        return f"{field} IS {rng.choice(['', 'NOT '])}NULL"
    if kind == "string" and roll < 0.35:
        pattern = "".join(rng.choice(["a", "b", "%", "_", "/", "\\\\%", "1"])
                          for _ in range(rng.randint(0, 6)))
        return f"{field} {rng.choice(['', 'NOT '])}LIKE '{pattern}'"
    if roll < 0.45:
        values = ", ".join(_literal(rng, kind) for _ in range(rng.randint(1, 3)))
        return f"{field} {rng.choice(['', 'NOT '])}IN ({values})"
    if kind == "bool":
        return f"{field} = {_literal(rng, kind)}"
    if roll < 0.5 and kind == "int":
        return f"{field} BETWEEN {_literal(rng, kind)} AND {_literal(rng, kind)}"
    return f"{field} {rng.choice(['=', '!=', '<', '<=', '>', '>='])} {_literal(rng, kind)}"


def _query(rng: random.Random, depth: int = 0) -> str:
    if depth > 2 or rng.random() < 0.4:
        text = _predicate(rng)
    else:
        joiner = rng.choice([" AND ", " OR "])
        text = joiner.join(_query(rng, depth + 1) for _ in range(rng.randint(2, 3)))
        text = f"({text})"
    return f"NOT {text}" if rng.random() < 0.15 else text


def _mutate(rng: random.Random, text: str) -> str:
    position = rng.randrange(len(text) + 1)
    roll = rng.random()
    if roll < 0.3:
        return text[:position] + text[position + 1:]
    if roll < 0.6:
        return text[:position] + rng.choice("()'\"%_=<>!.,` \\") + text[position:]
    return text[:position] + rng.choice(["AND", "OR", "NOT", "IN", "NULL", "1e999", "\u0000"]) + text[position:]


def _answer(store, query: str):
    try:
        return sorted(a.id for a in store.get_artifacts(
            list_options=mlmd.ListOptions(filter_query=query)))
    except errors.InvalidArgumentError:
        return "invalid"


@pytest.fixture
def reference(store):
    del store  # opened first, so both stores hand out ids in the same order
    reference = mlmd.MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    _seed(reference)
    yield reference
    reference.close()


@pytest.mark.skipif(IS_MLMD, reason="compares lineage backends with each other")
def test_random_and_mutated_filters(store, reference):
    _seed(store)
    rng = random.Random(_SEED)
    started = time.monotonic()
    checked = 0
    for _ in range(_QUERIES):
        if time.monotonic() - started > _BUDGET_S:
            break
        query = _query(rng)
        for text in (query, _mutate(rng, query)):
            expected = _answer(reference, text)
            assert _answer(store, text) == expected, text
            checked += 1
    assert checked >= 40
