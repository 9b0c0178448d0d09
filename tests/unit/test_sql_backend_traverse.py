"""Native traversal of the relational backend against the generic breadth-first walk.

``SqlBackend.traverse`` (hop by hop, by recursive query, or both) must give
exactly what ``lineage.traversal.traverse`` gives over the same backend: the
same nodes, the same events in the same order, the same depth; for every
direction, hop limit, event type filter and stop set, on graphs with long
chains, fan-in, fan-out and cycles a faulty client could write.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator

import pytest

import lineage
from lineage import errors, traversal
from lineage.backends import sql_traverse
from lineage.proto import metadata_store_pb2 as pb

from test_sql_backend import backend_of, databases, sql_services  # noqa: F401  (fixtures)

EVENT_TYPES = [t for t in pb.Event.Type.values() if t != pb.Event.UNKNOWN]


def build_graph(store: lineage.MetadataStore, seed: int) -> tuple[list[int], list[int]]:
    """Chains, fans and cycles; returns (artifact ids, execution ids)."""
    rng = random.Random(seed)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="A"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
    artifacts = store.put_artifacts([pb.Artifact(type_id=artifact_type, uri=f"/{i}") for i in range(60)])
    executions = store.put_executions([pb.Execution(type_id=execution_type) for _ in range(45)])
    events: dict[tuple[int, int, int], pb.Event] = {}

    def link(artifact: int, execution: int, event_type: int) -> None:
        event = pb.Event(artifact_id=artifact, execution_id=execution, type=event_type)
        event.path.steps.add().key = f"k{len(events) % 3}"
        events[(artifact, execution, event_type)] = event

    # A long chain: a0 -> e0 -> a1 -> e1 -> ... (20 executions deep).
    for step in range(20):
        link(artifacts[step], executions[step], pb.Event.INPUT)
        link(artifacts[step + 1], executions[step], pb.Event.OUTPUT)
    # Random wiring, every event type, including cycles.
    for _ in range(120):
        link(rng.choice(artifacts[20:]), rng.choice(executions[15:]), rng.choice(EVENT_TYPES))
    # An explicit cycle back into the chain.
    link(artifacts[5], executions[30], pb.Event.OUTPUT)
    link(artifacts[18], executions[30], pb.Event.INPUT)
    ordered = list(events.values())
    rng.shuffle(ordered)
    for start in range(0, len(ordered), 25):
        store.put_events(ordered[start:start + 25])
    return artifacts, executions


def _cases(artifacts: list[int], executions: list[int], count: int, seed: int) -> Iterator[dict]:
    rng = random.Random(seed)
    for _ in range(count):
        starts_a = rng.sample(artifacts, rng.choice([0, 1, 1, 2, 4]))
        starts_e = rng.sample(executions, rng.choice([0, 0, 1, 2]))
        if not starts_a and not starts_e:
            starts_a = [rng.choice(artifacts)]
        yield {
            "artifact_ids": starts_a,
            "execution_ids": starts_e,
            "direction": rng.choice([traversal.UPSTREAM, traversal.DOWNSTREAM, traversal.BOTH]),
            "max_hops": rng.choice([None, None, 0, 1, 2, 3, 7, 12, 40]),
            "event_types": rng.choice([None, None, [pb.Event.INPUT, pb.Event.OUTPUT],
                                       [pb.Event.DECLARED_OUTPUT, pb.Event.INTERNAL_INPUT, pb.Event.OUTPUT],
                                       []]),
            "stop_artifacts": set(rng.sample(artifacts, rng.choice([0, 0, 2, 6]))) or None,
            "stop_executions": set(rng.sample(executions, rng.choice([0, 0, 1, 4]))) or None,
        }


def _as_tuple(reach: traversal.Reach):
    return (sorted(reach.artifact_ids), sorted(reach.execution_ids),
            [e.SerializeToString(deterministic=True) for e in reach.events], reach.depth)


@pytest.fixture
def graph(databases) -> Iterator[tuple]:
    store = lineage.MetadataStore(databases.config())
    try:
        yield store, *build_graph(store, seed=11)
    finally:
        store.close()


def test_every_strategy_matches_the_generic_walk(graph):
    store, artifacts, executions = graph
    backend = backend_of(store)
    cases = list(_cases(artifacts, executions, 120, seed=5))
    deep = 0
    with backend.transaction():
        for case in cases:
            expected = traversal.traverse(backend, **case)
            deep += expected.depth > 6
            for strategy in sql_traverse.STRATEGIES:
                got = sql_traverse.traverse(backend, strategy=strategy, **case)
                assert _as_tuple(got) == _as_tuple(expected), (strategy, case)
            switched = sql_traverse.traverse(backend, strategy="hops", switch_after=3, **case)
            assert _as_tuple(switched) == _as_tuple(expected), case
            assert _as_tuple(backend.traverse(**case)) == _as_tuple(expected), case
    assert deep >= 5  # some walks go deep


def test_the_lineage_api_walks_the_stored_graph(graph):
    store, artifacts, executions = graph
    graph_up = store.lineage.upstream(artifact_ids=[artifacts[20]])
    assert {a.id for a in graph_up.artifacts} >= set(artifacts[:21])
    assert {e.id for e in graph_up.executions} >= set(executions[:20])
    down = store.lineage.downstream(artifact_ids=[artifacts[0]], max_hops=3)
    # a0 -> e0 -> a1 -> e1: three hops.
    assert {a.id for a in down.artifacts} == {artifacts[0], artifacts[1]}
    assert {e.id for e in down.executions} == {executions[0], executions[1]}


def test_walks_deeper_than_database_recursion_limits(databases):
    """MariaDB stops recursive queries after 1000 rounds unless told otherwise."""
    store = lineage.MetadataStore(databases.config())
    backend = backend_of(store)
    steps = 1100
    try:
        with backend.transaction():
            artifact_type = backend.insert_type("artifact", pb.ArtifactType(name="A"))
            execution_type = backend.insert_type("execution", pb.ExecutionType(name="E"))
            artifacts = backend.insert_nodes("artifact", [pb.Artifact(type_id=artifact_type, type="A")
                                                          for _ in range(steps + 1)])
            executions = backend.insert_nodes("execution", [pb.Execution(type_id=execution_type, type="E")
                                                            for _ in range(steps)])
            events = []
            for step, execution in enumerate(executions):
                events.append(pb.Event(artifact_id=artifacts[step], execution_id=execution,
                                       type=pb.Event.INPUT, milliseconds_since_epoch=1))
                events.append(pb.Event(artifact_id=artifacts[step + 1], execution_id=execution,
                                       type=pb.Event.OUTPUT, milliseconds_since_epoch=1))
            backend.insert_events(events)
        with backend.transaction():
            reach = backend.traverse([artifacts[-1]], direction=traversal.UPSTREAM)
            assert reach.depth == 2 * steps
            assert reach.artifact_ids == set(artifacts) and reach.execution_ids == set(executions)
            assert _as_tuple(reach) == _as_tuple(traversal.traverse(backend, [artifacts[-1]]))
            bounded = backend.traverse([artifacts[-1]], max_hops=1500)
            assert bounded.depth == 1500 and len(bounded.execution_ids) == 750
    finally:
        store.close()


def test_bad_arguments_are_invalid(graph):
    store, artifacts, _ = graph
    backend = backend_of(store)
    with backend.transaction():
        with pytest.raises(errors.InvalidArgumentError, match="max_hops"):
            backend.traverse([artifacts[0]], max_hops=-1)
        with pytest.raises(errors.InvalidArgumentError, match="direction"):
            backend.traverse([artifacts[0]], direction="sideways")


def test_sqlite_statistics_leave_the_walk_on_its_event_indexes(tmp_path):
    """Once the store has statistics, a recursive walk still looks events up by index.

    With statistics on Event, SQLite puts a Bloom filter on the walk's joins,
    built by scanning every event at every step, so the walk slows as the
    store grows. The node tables keep theirs (listings by type need them).
    """
    path = tmp_path / "store.sqlite"
    store, artifact_type, execution_type = _sqlite_file_store(path)
    previous = store.put_artifacts([pb.Artifact(type_id=artifact_type, uri="/0")])[0]
    # Enough writes for the backend to gather statistics (it does so every
    # time the store has grown by as many nodes again, from 1,000 on).
    for step in range(700):
        _, [_, output], _ = store.put_execution(
            pb.Execution(type_id=execution_type),
            [(pb.Artifact(id=previous), pb.Event(type=pb.Event.INPUT)),
             (pb.Artifact(type_id=artifact_type, uri=f"/{step + 1}"), pb.Event(type=pb.Event.OUTPUT))],
            [])
        previous = output
    reach, plan = _traced_upstream(store, path, previous)
    assert len(reach.artifacts) == 26

    reader = sqlite3.connect(path)
    analysed = {row[0] for row in reader.execute("SELECT tbl FROM sqlite_stat1")}
    assert {"Artifact", "Execution"} <= analysed and "Event" not in analysed
    assert any("Event USING INDEX" in step for step in plan), plan
    assert not any("BLOOM" in step for step in plan), plan


def test_sqlite_walk_finds_the_makers_of_a_much_read_artifact_by_index(tmp_path):
    """Going upstream from a dataset many executions read looks up its OUTPUT events directly.

    MLMD's unique index on Event is (artifact_id, execution_id, type): through
    it, finding a dataset's maker steps through every read of the dataset.
    """
    path = tmp_path / "store.sqlite"
    store, artifact_type, execution_type = _sqlite_file_store(path)
    _, [dataset], _ = store.put_execution(
        pb.Execution(type_id=execution_type),
        [(pb.Artifact(type_id=artifact_type, uri="/raw"), pb.Event(type=pb.Event.OUTPUT))], [])
    for step in range(50):
        store.put_execution(pb.Execution(type_id=execution_type),
                            [(pb.Artifact(id=dataset), pb.Event(type=pb.Event.INPUT)),
                             (pb.Artifact(type_id=artifact_type, uri=f"/{step}"),
                              pb.Event(type=pb.Event.OUTPUT))], [])
    reach, plan = _traced_upstream(store, path, dataset)
    assert len(reach.executions) == 1
    # Every look-up of an artifact's events, in the recursive step and after
    # it, names the type too.
    by_artifact = [step for step in plan if "Event" in step and "artifact_id=?" in step]
    assert by_artifact and all("idx_lineage_event_artifact_type_execution (artifact_id=? AND type=?)" in step
                               for step in by_artifact), plan


def _sqlite_file_store(path) -> tuple[lineage.MetadataStore, int, int]:
    """A store in a SQLite file, with an artifact type and an execution type."""
    store = lineage.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
        filename_uri=str(path))))
    return (store, store.put_artifact_type(pb.ArtifactType(name="A")),
            store.put_execution_type(pb.ExecutionType(name="E")))


def _traced_upstream(store: lineage.MetadataStore, path, artifact_id: int):
    """Walks upstream of an artifact, closes the store; returns the reach and the walk's plan."""
    walks: list[str] = []
    # A SQLite file has one connection, serving every transaction.
    backend_connection = backend_of(store)._checkout()[0].driver_connection
    backend_connection.set_trace_callback(
        lambda text: walks.append(text) if "RECURSIVE" in text else None)
    reach = store.lineage.upstream(artifact_ids=[artifact_id], max_hops=50)
    backend_connection.set_trace_callback(None)
    store.close()
    assert walks
    plan = [row[3] for row in sqlite3.connect(path).execute("EXPLAIN QUERY PLAN " + walks[-1])]
    return reach, plan
