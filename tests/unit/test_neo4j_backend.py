"""The Neo4j backend against a real Neo4j server: storage, transactions, errors, durability.

The server is chosen by ``neo4j_settings()``: ``NEO4J_URI`` (with optional
``NEO4J_USER`` / ``NEO4J_PASSWORD``), else a testcontainers Neo4j when a
Docker engine answers, else ``scripts/neo4j-local start`` (stopped again when
the test process exits). Tests that stop, kill or reconfigure a server run
their own private one from ``scripts/neo4j-local`` on a free port.
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

neo4j = pytest.importorskip("neo4j")

import lineage  # noqa: E402
from lineage import core, errors, traversal  # noqa: E402
from lineage.backends import memory  # noqa: E402
from lineage.backends import neo4j as neo4j_backend  # noqa: E402
from lineage.backends.base import ListQuery  # noqa: E402
from lineage.proto import metadata_store_pb2 as pb  # noqa: E402
from lineage.query import parse_filter  # noqa: E402

import services  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "neo4j-local"
SHARED_LIB = REPO / ".services" / "neo4j" / "lib"

# -- choosing a server ----------------------------------------------------------------

# The server comes from tests/services.py: NEO4J_URI, a Docker engine, or scripts/neo4j-local.
neo4j_settings = services.neo4j_settings
wipe = services.wipe_neo4j


def count_graph(settings: pb.Neo4jDatabaseConfig) -> dict[str, int]:
    """Counts nodes by label and relationships by type, straight from the server."""
    auth = (settings.user, settings.password) if settings.user else None
    with neo4j.GraphDatabase.driver(settings.uri, auth=auth, notifications_min_severity="OFF") as driver:
        with driver.session(database=settings.database or None) as session:
            counts = {label: n for label, n in session.run(
                "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*)").values()}
            counts.update({rel: n for rel, n in session.run(
                "MATCH ()-[r]->() RETURN type(r), count(*)").values()})
            return counts


def connection_config(settings: pb.Neo4jDatabaseConfig) -> pb.ConnectionConfig:
    config = pb.ConnectionConfig()
    config.neo4j.CopyFrom(settings)
    return config


@pytest.fixture()
def settings() -> pb.Neo4jDatabaseConfig:
    """Settings of the shared test server, whose database is emptied for each test."""
    found = neo4j_settings()
    wipe(found)
    return found


@pytest.fixture()
def backend(settings):
    opened = neo4j_backend.open_backend(connection_config(settings), pb.MigrationOptions())
    yield opened
    opened.close()


@pytest.fixture()
def store(settings):
    with lineage.MetadataStore(connection_config(settings)) as opened:
        yield opened


# -- private servers for stop / kill / auth tests ---------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """A private scripts/neo4j-local server with its own home folder and port."""

    def __init__(self, home: pathlib.Path):
        self.home = home
        self.port = free_port()
        self.uri = f"bolt://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        # Reuse the jars the shared server fetched, so no Maven run is needed.
        if (SHARED_LIB / ".neo4j-local-stamp").exists() and not (home / "lib").exists():
            (home / "lib").symlink_to(SHARED_LIB)
        self.env = {**os.environ, "NEO4J_LOCAL_HOME": str(home), "NEO4J_LOCAL_PORT": str(self.port)}

    def _script(self, command: str) -> str:
        done = subprocess.run([str(SCRIPT), command], env=self.env, capture_output=True, text=True,
                              timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"scripts/neo4j-local {command} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> None:
        self._script("start")

    def stop(self) -> None:
        self._script("stop")

    def kill9(self) -> None:
        """SIGKILLs the JVM (pid from the script's pid file) and waits until it is gone."""
        pid = int((self.home / "run" / "neo4j-local.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                state = pathlib.Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
            except FileNotFoundError:
                return
            if state == "Z":
                return
            time.sleep(0.1)
        raise AssertionError(f"Neo4j pid {pid} survived SIGKILL")

    def config(self) -> pb.ConnectionConfig:
        return pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=self.uri))


@pytest.fixture(scope="module")
def private_server(tmp_path_factory):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java to run a private Neo4j server")
    server = LocalServer(tmp_path_factory.mktemp("neo4j-private"))
    try:
        server.start()
    except RuntimeError as e:
        pytest.skip(f"cannot start a private Neo4j server: {e}")
    yield server
    with contextlib.suppress(RuntimeError):
        server.stop()


# -- helpers --------------------------------------------------------------------------


def put_basic_types(store):
    dataset = store.put_artifact_type(pb.ArtifactType(
        name="Dataset", properties={"split": pb.STRING, "rows": pb.INT}))
    trainer = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    run = store.put_context_type(pb.ContextType(name="Run"))
    return dataset, trainer, run


def artifact(type_id, uri, **custom):
    a = pb.Artifact(type_id=type_id, uri=uri)
    for key, value in custom.items():
        a.custom_properties[key].string_value = value
    return a


def in_threads(work, args_list, timeout=120) -> list[BaseException]:
    """Runs ``work(*args)`` for every args in its own thread; returns what the threads raised."""
    failures: list[BaseException] = []

    def run(*args):
        try:
            work(*args)
        except BaseException as e:  # reported to the caller
            failures.append(e)

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return failures


# -- storage --------------------------------------------------------------------------


def test_open_creates_every_constraint_and_index(settings, backend):
    auth = (settings.user, settings.password) if settings.user else None
    with neo4j.GraphDatabase.driver(settings.uri, auth=auth) as driver, driver.session() as session:
        rows = session.run("SHOW INDEXES YIELD name, state").values()
    states = {name: state for name, state in rows}
    for name in neo4j_backend.SCHEMA_STATEMENTS:
        assert states.get(name) == "ONLINE", name


def test_ids_count_from_one_per_kind_and_types_share_one_sequence(store):
    dataset, trainer, run = put_basic_types(store)
    # Nine system types come first, as in MLMD.
    assert (dataset, trainer, run) == (10, 11, 12)
    assert store.put_artifacts([artifact(dataset, "/a"), artifact(dataset, "/b")]) == [1, 2]
    assert store.put_executions([pb.Execution(type_id=trainer)]) == [1]
    assert store.put_contexts([pb.Context(type_id=run, name="r")]) == [1]
    assert store.put_artifacts([artifact(dataset, "/c")]) == [3]


def _rich_artifact(type_id: int) -> pb.Artifact:
    a = pb.Artifact(type_id=type_id, type="Dataset", uri="gs://b/\U0001F600\uffff", name="n\x00ame",
                    external_id="ext-1", state=pb.Artifact.LIVE,
                    create_time_since_epoch=5, last_update_time_since_epoch=6)
    a.properties["split"].string_value = "tr`ain"
    a.properties["rows"].int_value = -(2**63)
    p = a.custom_properties
    p["big"].int_value = 2**63 - 1
    p["nan"].double_value = math.nan
    p["inf"].double_value = -math.inf
    p["flag"].bool_value = False
    p["s"].struct_value.update({"k": [1, "two", None, {"x": True}]})
    p["pr"].proto_value.Pack(pb.Event(artifact_id=7, type=pb.Event.OUTPUT))
    p[""].string_value = "empty name"
    p["we`ird\x00name"].string_value = "v"
    p["w ird %00name"].string_value = "v2"
    p["w ird \x00name"].string_value = "v3"
    return a


def test_nodes_round_trip_exactly(backend):
    with backend.transaction():
        type_id = backend.insert_type("artifact", pb.ArtifactType(name="Dataset"))
        given = _rich_artifact(type_id)
        [artifact_id] = backend.insert_nodes("artifact", [given])
    [stored] = backend.get_nodes("artifact", [artifact_id])
    # NaN breaks ==, so compare the wire bytes.
    assert stored.SerializeToString(deterministic=True) == given.SerializeToString(deterministic=True)
    assert stored.id == artifact_id == 1


def test_update_replaces_every_queryable_copy(backend):
    with backend.transaction():
        type_id = backend.insert_type("artifact", pb.ArtifactType(name="Dataset"))
        given = _rich_artifact(type_id)
        backend.insert_nodes("artifact", [given])

    def ids(query):
        return [n.id for n in backend.list_nodes("artifact", ListQuery(parse_filter(query, "artifact")))]

    assert ids("custom_properties.flag.bool_value = false") == [1]
    assert ids("custom_properties.`w ird %00name`.string_value = 'v2'") == [1]
    assert ids("custom_properties.`w ird %00name`.string_value = 'v3'") == []
    updated = pb.Artifact()
    updated.CopyFrom(given)
    del updated.custom_properties["flag"]
    updated.custom_properties["big"].string_value = "now a string"
    updated.ClearField("name")
    with backend.transaction():
        backend.update_nodes("artifact", [updated])
    assert ids("custom_properties.flag.bool_value = false") == []
    # A property the node lacks makes the whole filter false (MLMD joins on it).
    assert ids("custom_properties.flag.bool_value IS NULL") == []
    assert ids("custom_properties.big.int_value IS NULL") == [1]
    assert ids("custom_properties.big.string_value = 'now a string'") == [1]
    assert ids("name IS NULL") == [1]
    [stored] = backend.get_nodes("artifact", [1])
    assert stored.SerializeToString(deterministic=True) == updated.SerializeToString(deterministic=True)


def test_types_round_trip_with_parents(backend):
    with backend.transaction():
        base = backend.insert_type("execution", pb.ExecutionType(name="mlmd.Train"))
        given = pb.ExecutionType(name="Trainer", version="v1", external_id="t-1", description="d",
                                 properties={"lr": pb.DOUBLE})
        type_id = backend.insert_type("execution", given)
        backend.set_parent_type("execution", type_id, base)
    assert backend.find_type("execution", "Trainer", "v1") == given
    assert backend.find_type("execution", "Trainer", None) is None
    assert backend.find_type("artifact", "Trainer", "v1") is None
    assert backend.find_types_by_external_id("execution", ["t-1", "zzz"]) == [given]
    assert backend.get_types("execution") == [pb.ExecutionType(id=base, name="mlmd.Train"), given]
    assert backend.get_parent_types("execution", [type_id, base]) == {type_id: [base]}
    given.properties["epochs"] = pb.INT
    backend.update_type("execution", given)
    assert backend.get_types("execution", [type_id]) == [given]


def test_events_keep_write_order_and_follow_data(settings, backend):
    with backend.transaction():
        at = backend.insert_type("artifact", pb.ArtifactType(name="A"))
        et = backend.insert_type("execution", pb.ExecutionType(name="E"))
        a1, a2 = backend.insert_nodes("artifact", [pb.Artifact(type_id=at), pb.Artifact(type_id=at)])
        [e1] = backend.insert_nodes("execution", [pb.Execution(type_id=et)])
        events = [
            pb.Event(artifact_id=a2, execution_id=e1, type=pb.Event.OUTPUT, milliseconds_since_epoch=3),
            pb.Event(artifact_id=a1, execution_id=e1, type=pb.Event.INPUT, milliseconds_since_epoch=4),
            pb.Event(artifact_id=a1, execution_id=e1, milliseconds_since_epoch=5),  # no type
        ]
        events[1].path.steps.add().key = "examples"
        backend.insert_events(events)
    assert backend.get_events(artifact_ids=[a1, a2], execution_ids=[e1]) == events
    assert backend.get_events(artifact_ids=[a1]) == events[1:]
    counts = count_graph(settings)
    assert (counts.get("INPUT_TO"), counts.get("OUTPUT")) == (1, 2)


def test_context_links_and_fingerprints(backend):
    with backend.transaction():
        at = backend.insert_type("artifact", pb.ArtifactType(name="A"))
        et = backend.insert_type("execution", pb.ExecutionType(name="E"))
        ct = backend.insert_type("context", pb.ContextType(name="C"))
        a1, a2 = backend.insert_nodes("artifact", [pb.Artifact(type_id=at), pb.Artifact(type_id=at)])
        e1, e2 = backend.insert_nodes("execution", [pb.Execution(type_id=et), pb.Execution(type_id=et)])
        c1, c2, c3 = backend.insert_nodes("context", [pb.Context(type_id=ct, name=n) for n in "xyz"])
        backend.insert_attributions([(a1, c1), (a2, c1), (a1, c2)])
        backend.insert_attributions([(a1, c1)])  # again: still one link
        backend.insert_associations([(e1, c2)])
        backend.insert_parent_contexts([(c2, c1), (c3, c1)])
        backend.set_fingerprints({e1: ["f", "g"], e2: ["f"]})
        backend.set_fingerprints({e1: ["g", "h", "h"]})
    assert backend.get_context_links("artifact", node_ids=[a1]) == [(a1, c1), (a1, c2)]
    assert backend.get_context_links("artifact", context_ids=[c1]) == [(a1, c1), (a2, c1)]
    assert backend.get_context_links("execution", node_ids=[e1, e2], context_ids=[c2]) == [(e1, c2)]
    assert backend.get_parent_contexts(parent_ids=[c1]) == [(c2, c1), (c3, c1)]
    assert backend.get_parent_contexts(child_ids=[c3]) == [(c3, c1)]
    assert backend.executions_by_fingerprint("f") == [e2]
    assert backend.executions_by_fingerprint("h") == [e1]
    assert backend.executions_by_fingerprint("g") == [e1]
    assert backend.executions_by_fingerprint("nope") == []


# -- transactions ---------------------------------------------------------------------


def test_nested_transactions_join_and_roll_back_together(settings, backend):
    with backend.transaction():
        type_id = backend.insert_type("artifact", pb.ArtifactType(name="A"))
    with pytest.raises(RuntimeError):
        with backend.transaction():
            backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id)])
            with backend.transaction():
                backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id)])
            raise RuntimeError("boom")
    assert backend.get_nodes("artifact", [1, 2]) == []
    # The counter rolled back too: numbering goes on without a gap.
    with backend.transaction():
        assert backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id)]) == [1]


def test_a_failing_call_leaves_nothing_behind(settings, store):
    dataset, trainer, run = put_basic_types(store)
    before = count_graph(settings)
    bad_event = pb.Event(type=pb.Event.INPUT, artifact_id=999)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_execution(pb.Execution(type_id=trainer), [(artifact(dataset, "/a"), bad_event)],
                            [pb.Context(type_id=run, name="r1")])
    assert count_graph(settings) == before
    assert store.put_execution(pb.Execution(type_id=trainer), [(artifact(dataset, "/a"), None)],
                               [pb.Context(type_id=run, name="r1")]) == (1, [1], [1])


def test_uniqueness_constraints_hold_even_without_the_core(settings, backend):
    with backend.transaction():
        type_id = backend.insert_type("artifact", pb.ArtifactType(name="A"))
    for first, second in [
        (pb.Artifact(type_id=type_id, external_id="x"), pb.Artifact(type_id=type_id, external_id="x")),
        (pb.Artifact(type_id=type_id, name="n"), pb.Artifact(type_id=type_id, name="n")),
    ]:
        with pytest.raises(errors.AlreadyExistsError, match="constraint"):
            with backend.transaction():
                backend.insert_nodes("artifact", [first])
                backend.insert_nodes("artifact", [second])
        assert count_graph(settings).get("Artifact") is None
    # Empty names are not unique in MLMD, and the constraint lets them be.
    with backend.transaction():
        assert backend.insert_nodes(
            "artifact", [pb.Artifact(type_id=type_id, name=""), pb.Artifact(type_id=type_id, name="")]
        ) == [1, 2]


def test_concurrent_writers_get_distinct_gap_free_ids(store):
    dataset, _, _ = put_basic_types(store)
    found: list[int] = []

    def writer(n: int) -> None:
        for i in range(20):
            found.extend(store.put_artifacts([artifact(dataset, f"/{n}/{i}")]))

    assert not in_threads(writer, [(n,) for n in range(6)])
    assert sorted(found) == list(range(1, 121))
    assert len(store.get_artifacts()) == 120


def test_crossing_writers_queue_on_the_lock_instead_of_deadlocking(backend):
    with backend.transaction():
        type_id = backend.insert_type("artifact", pb.ArtifactType(name="A"))
        first, second = backend.insert_nodes(
            "artifact", [pb.Artifact(type_id=type_id), pb.Artifact(type_id=type_id)])
    def crossing(order: tuple[int, int], tag: str) -> None:
        for round_ in range(15):
            with backend.transaction():
                for node_id in order:
                    [node] = backend.get_nodes("artifact", [node_id])
                    changed = pb.Artifact()
                    changed.CopyFrom(node)
                    changed.custom_properties["last"].string_value = f"{tag}{round_}"
                    backend.update_nodes("artifact", [changed])

    failures = in_threads(crossing, [((first, second), "a"), ((second, first), "b")])
    # Every writer takes the one write lock first, so crossing updates cannot deadlock;
    # a thread whose snapshot went stale is told so and nothing else fails.
    assert all(isinstance(f, neo4j_backend.StaleSnapshotError) for f in failures), failures
    nodes = backend.get_nodes("artifact", [first, second])
    assert {n.custom_properties["last"].string_value for n in nodes} <= {"a14", "b14"} | {
        f"{tag}{r}" for tag in "ab" for r in range(15)}
    # Both nodes were last written by the same transaction.
    assert nodes[0].custom_properties["last"] == nodes[1].custom_properties["last"]


# -- the write buffer and round trips ------------------------------------------------------


class StatementLog:
    """Records every statement a backend sends: its text and whether it ran inside a transaction."""

    def __init__(self, backend, monkeypatch):
        self.sent: list[tuple[str, bool]] = []
        original = backend._send

        def counted(query, params):
            self.sent.append((query, backend._local.tx is not None))
            return original(query, params)

        monkeypatch.setattr(backend, "_send", counted)

    def clear(self) -> None:
        self.sent.clear()

    def __len__(self) -> int:
        return len(self.sent)


def _new_run(store):
    """Types, a raw dataset and a run's context; returns (dataset, trainer, raw id, raw, context)."""
    dataset, trainer, run = put_basic_types(store)
    [raw] = store.put_artifacts([artifact(dataset, "/raw")])
    return dataset, trainer, raw, store.get_artifacts_by_id([raw])[0], pb.Context(type_id=run, name="run-1")


def _put_step(store, trainer, dataset, previous, context, step):
    """One pipeline step as an orchestrator writes it: the input passed as the stored proto."""
    output = artifact(dataset, f"/out/{context.name}/{step}")
    _, [_, output.id], [context.id] = store.put_execution(
        pb.Execution(type_id=trainer, last_known_state=pb.Execution.COMPLETE),
        [(previous, pb.Event(type=pb.Event.INPUT)), (output, pb.Event(type=pb.Event.OUTPUT))],
        [context], reuse_context_if_already_exist=True)
    return output


def test_put_execution_in_a_pipeline_writes_in_one_statement(settings, store, monkeypatch):
    dataset, trainer, raw, previous, context = _new_run(store)
    previous = _put_step(store, trainer, dataset, previous, context, 0)
    before = count_graph(settings)
    log = StatementLog(store._service.backend, monkeypatch)
    _put_step(store, trainer, dataset, previous, context, 1)
    # The types, then the input with the context: auto-commit reads that lock nothing.
    # Every write goes in the one statement of the transaction, which touches no
    # counter (ids come from the block this client reserved at step 0).
    assert len(log) == 3, log.sent
    assert [in_tx for _, in_tx in log.sent] == [False, False, True]
    assert "Sequence" not in log.sent[-1][0]
    after = count_graph(settings)
    assert after["Execution"] == before["Execution"] + 1
    assert after["Artifact"] == before["Artifact"] + 1
    assert (after["INPUT_TO"], after["OUTPUT"]) == (before["INPUT_TO"] + 1, before["OUTPUT"] + 1)
    assert after["ATTRIBUTED_TO"] == before["ATTRIBUTED_TO"] + 1  # the input was linked already
    assert after["ASSOCIATED_WITH"] == before["ASSOCIATED_WITH"] + 1
    assert after["Fingerprint"] == before["Fingerprint"] + 2


def _four_step_run(store) -> int:
    """A raw dataset and four chained steps; returns the dataset's id."""
    dataset, trainer, raw, previous, context = _new_run(store)
    for step in range(4):
        previous = _put_step(store, trainer, dataset, previous, context, step)
    return raw


def test_downstream_sends_one_statement(store, monkeypatch):
    raw = _four_step_run(store)
    log = StatementLog(store._service.backend, monkeypatch)
    graph = store.lineage.downstream([raw])
    assert len(log) == 1 and not log.sent[0][1]
    assert [a.uri for a in graph.artifacts] == ["/raw"] + [f"/out/run-1/{i}" for i in range(4)]
    assert len(graph.executions) == 4 and len(graph.events) == 8
    assert [t.name for t in graph.artifact_types] == ["Dataset"]
    assert [t.name for t in graph.execution_types] == ["Trainer"]


def test_downstream_of_a_missing_node_is_not_found_after_one_more_read(store, monkeypatch):
    raw = _four_step_run(store)
    log = StatementLog(store._service.backend, monkeypatch)
    with pytest.raises(errors.NotFoundError, match=str(raw + 1000)):
        store.lineage.downstream([raw, raw + 1000])
    assert len(log) == 2 and not any(in_tx for _, in_tx in log.sent)


def test_lineage_subgraph_sends_two_statements(store, monkeypatch):
    raw = _four_step_run(store)
    options = pb.LineageSubgraphQueryOptions(max_num_hops=100, direction=pb.LineageSubgraphQueryOptions.DOWNSTREAM)
    options.starting_artifacts.filter_query = f"id = {raw}"
    log = StatementLog(store._service.backend, monkeypatch)
    graph = store.get_lineage_subgraph(options, ["artifacts", "executions", "events"])
    # The starting filter and the walk, which brings the events, nodes and types along.
    assert len(log) == 2 and not any(in_tx for _, in_tx in log.sent), log.sent
    assert sorted(a.uri for a in graph.artifacts) == ["/out/run-1/0", "/out/run-1/1", "/out/run-1/2",
                                                      "/out/run-1/3", "/raw"]
    assert len(graph.executions) == 4 and len(graph.events) == 8
    assert not graph.contexts and not graph.artifact_types
    log.clear()
    # Types come with the walk too; only their base types cost one more read.
    graph = store.get_lineage_subgraph(options, ["artifacts", "artifact_types"])
    assert len(log) == 3 and "DERIVES_FROM" in log.sent[-1][0], log.sent
    assert [t.name for t in graph.artifact_types] == ["Dataset"] and not graph.events


def _plan_operators(settings, query: str, params: dict) -> list[str]:
    """The operators of the plan Neo4j chooses for ``query`` (EXPLAIN: nothing runs)."""
    auth = (settings.user, settings.password) if settings.user else None
    with neo4j.GraphDatabase.driver(settings.uri, auth=auth) as driver:
        with driver.session(database=settings.database or None) as session:
            plan = session.run("EXPLAIN " + query, params).consume().plan
    operators, pending = [], [plan]
    while pending:
        step = pending.pop()
        operators.append(step["operatorType"].split("@")[0])
        pending.extend(step.get("children", []))
    return operators


def test_listings_by_an_events_far_end_and_newest_first_start_from_an_index(settings, store, monkeypatch):
    dataset, trainer, raw, previous, context = _new_run(store)
    outputs = [previous := _put_step(store, trainer, dataset, previous, context, step) for step in range(3)]
    [first_step] = [e.execution_id for e in store.get_events_by_artifact_ids([raw])]
    backend = store._service.backend
    sent: list[tuple[str, dict]] = []
    original = backend._send
    monkeypatch.setattr(backend, "_send", lambda query, params: sent.append((query, params)) or original(query, params))

    found = store.get_artifacts(list_options=lineage.ListOptions(filter_query=f"events_0.execution_id = {first_step}"))
    assert sorted(a.uri for a in found) == ["/out/run-1/0", "/raw"]
    [(query, params)] = [(q, p) for q, p in sent if "INPUT_TO" in q]
    operators = _plan_operators(settings, query, params)
    # Starts from the execution's id, never from every artifact.
    assert "NodeUniqueIndexSeek" in operators and "NodeByLabelScan" not in operators, operators

    sent.clear()
    newest = store.get_artifacts(list_options=lineage.ListOptions(
        order_by=lineage.OrderByField.CREATE_TIME, is_asc=False, limit=2))
    assert [a.id for a in newest] == sorted((o.id for o in outputs), reverse=True)[:2]
    [(query, params)] = [(q, p) for q, p in sent if "ORDER BY" in q]
    operators = _plan_operators(settings, query, params)
    # Reads the create-time index in order and stops at the limit: no sort of every artifact.
    assert "NodeIndexScan" in operators and "NodeByLabelScan" not in operators, operators
    assert "Top" not in operators and "Sort" not in operators, operators


def test_nothing_reaches_the_server_before_commit(settings, backend):
    with backend.transaction():
        at = backend.insert_type("artifact", pb.ArtifactType(name="A"))
        et = backend.insert_type("execution", pb.ExecutionType(name="E"))
        ct = backend.insert_type("context", pb.ContextType(name="C"))
    with backend.transaction():
        a1, a2 = backend.insert_nodes("artifact", [artifact(at, "/a"), artifact(at, "/b")])
        [e1] = backend.insert_nodes("execution", [pb.Execution(type_id=et)])
        [c1] = backend.insert_nodes("context", [pb.Context(type_id=ct, name="c")])
        backend.insert_events([pb.Event(artifact_id=a1, execution_id=e1, type=pb.Event.INPUT)])
        backend.insert_attributions([(a1, c1)])
        backend.insert_associations([(e1, c1)])
        backend.set_fingerprints({e1: ["f"]})
        # Another connection sees nothing yet: the rows wait in this transaction's buffer.
        assert count_graph(settings) == {"Type": 3, "Sequence": 5}
    counts = count_graph(settings)
    assert (counts["Artifact"], counts["Execution"], counts["Context"], counts["Fingerprint"]) == (2, 1, 1, 1)
    assert (counts["INPUT_TO"], counts["ATTRIBUTED_TO"], counts["ASSOCIATED_WITH"]) == (1, 1, 1)
    assert backend.get_nodes("artifact", [a1, a2])[1].uri == "/b"


def test_large_writes_go_in_several_statements(settings, backend, monkeypatch):
    monkeypatch.setattr(neo4j_backend, "_FLUSH_ROWS", 7)
    log = StatementLog(backend, monkeypatch)
    with backend.transaction():
        at = backend.insert_type("artifact", pb.ArtifactType(name="A"))
        et = backend.insert_type("execution", pb.ExecutionType(name="E"))
        ct = backend.insert_type("context", pb.ContextType(name="C"))
        artifacts = backend.insert_nodes("artifact", [artifact(at, f"/{i}") for i in range(20)])
        executions = backend.insert_nodes("execution", [pb.Execution(type_id=et) for _ in range(5)])
        [context] = backend.insert_nodes("context", [pb.Context(type_id=ct, name="c")])
        backend.insert_events([pb.Event(artifact_id=a, execution_id=executions[i % 5], type=pb.Event.OUTPUT)
                               for i, a in enumerate(artifacts)])
        backend.insert_attributions([(a, context) for a in artifacts])
    flushes = [query for query, in_tx in log.sent if "UNWIND $rows0" in query and in_tx]
    assert len(flushes) >= 9  # 20 + 5 + 1 + 20 + 20 rows, at most 7 per statement
    assert artifacts == list(range(1, 21)) and executions == list(range(1, 6))
    counts = count_graph(settings)
    assert (counts["Artifact"], counts["Execution"], counts["OUTPUT"], counts["ATTRIBUTED_TO"]) == (20, 5, 20, 20)
    with backend.transaction():
        assert backend.insert_nodes("artifact", [artifact(at, "/next")]) == [21]
    assert [e.artifact_id for e in backend.get_events(execution_ids=[1])] == [1, 6, 11, 16]


def test_a_constraint_broken_in_the_buffer_fails_at_commit_and_keeps_counters(settings, backend):
    with backend.transaction():
        type_id = backend.insert_type("artifact", pb.ArtifactType(name="A"))
        backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id, external_id="x")])
    with pytest.raises(errors.AlreadyExistsError, match="constraint"):
        with backend.transaction():
            assert backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id)]) == [2]
            backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id, external_id="x")])
    assert count_graph(settings)["Artifact"] == 1
    with backend.transaction():
        assert backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id)]) == [2]


def _sequences(settings) -> dict[str, tuple]:
    auth = (settings.user, settings.password) if settings.user else None
    with neo4j.GraphDatabase.driver(settings.uri, auth=auth) as driver, driver.session() as session:
        return {name: (value, locked) for name, value, locked in session.run(
            "MATCH (s:Sequence) RETURN s.name, s.next, s.locked").values()}


def test_a_read_only_call_after_writes_takes_no_lock(settings, store, monkeypatch):
    dataset, _, _ = put_basic_types(store)
    [first] = store.put_artifacts([artifact(dataset, "/a")])
    before, sequences = count_graph(settings), _sequences(settings)
    assert all(locked is None for _, locked in sequences.values())
    log = StatementLog(store._service.backend, monkeypatch)
    assert [a.uri for a in store.get_artifacts_by_id([first])] == ["/a"]
    assert len(log) == 1 and not log.sent[0][1] and "Sequence" not in log.sent[0][0]
    assert count_graph(settings) == before and _sequences(settings) == sequences
    assert store.put_artifacts([artifact(dataset, "/b")]) == [first + 1]


def test_writing_calls_touch_no_store_wide_node(settings, store):
    dataset, trainer, run = put_basic_types(store)
    [raw] = store.put_artifacts([artifact(dataset, "/raw")])
    previous = store.get_artifacts_by_id([raw])[0]
    context = pb.Context(type_id=run, name="r")
    previous = _put_step(store, trainer, dataset, previous, context, 0)
    sequences = _sequences(settings)
    assert set(sequences) == {"artifact", "context", "event", "execution", "type"}
    # Ids come from the blocks reserved by the first calls: no counter moves.
    for step in range(1, 4):
        previous = _put_step(store, trainer, dataset, previous, context, step)
    assert _sequences(settings) == sequences
    assert [e.id for e in store.get_executions()] == [1, 2, 3, 4]
    # Closing gives the unused ids back: the next client numbers on without a gap.
    store.close()
    assert _sequences(settings)["execution"][0] == 5
    with _other_store(settings) as other:
        [execution_id] = other.put_executions([pb.Execution(type_id=trainer)])
    assert execution_id == 5


def _other_store(settings):
    return lineage.MetadataStore(connection_config(settings))


def test_a_node_deleted_between_read_and_write_makes_the_call_run_again(settings, store, monkeypatch):
    dataset, trainer, raw, previous, context = _new_run(store)
    previous = _put_step(store, trainer, dataset, previous, context, 0)
    backend = store._service.backend
    flush = backend._flush
    deleted = []

    def delete_the_input_first() -> None:
        # Another client purges the input after this call read it, before it writes.
        if not deleted:
            with _other_store(settings) as other:
                other.lineage.purge("artifact", [previous.id])
            deleted.append(previous.id)
        flush()

    monkeypatch.setattr(backend, "_flush", delete_the_input_first)
    before = count_graph(settings)
    # The first run's write matched no input and was rolled back; the second run reads
    # afresh and answers as a single caller would after the purge.
    with pytest.raises(errors.StatusError) as caught:
        _put_step(store, trainer, dataset, previous, context, 1)
    assert not isinstance(caught.value, errors.AbortedError), caught.value
    assert deleted == [previous.id]
    after = count_graph(settings)
    assert after["Execution"] == before["Execution"] and after["Artifact"] == before["Artifact"] - 1


def test_a_call_that_writes_nothing_confirms_its_snapshot(settings, store):
    dataset, _, _ = put_basic_types(store)
    [made] = store.put_artifacts([artifact(dataset, "/made")])
    [mine] = store.get_artifacts_by_id([made])
    store.put_artifacts([mine])  # the snapshot now holds the artifact as stored
    with _other_store(settings) as other:
        [theirs] = other.get_artifacts_by_id([made])
        theirs.uri = "/theirs"
        other.put_artifacts([theirs])
    # Unchanged against the snapshot, changed against the store: the call must write it back.
    assert store.put_artifacts([mine]) == [made]
    assert store.get_artifacts_by_id([made])[0].uri == "/made"


def test_an_error_from_a_stale_snapshot_is_not_reported(settings, store):
    dataset, _, _ = put_basic_types(store)
    [made] = store.put_artifacts([artifact(dataset, "/made")])
    with _other_store(settings) as other:
        other.put_artifact_type(pb.ArtifactType(
            name="Dataset", properties={"split": pb.STRING, "rows": pb.INT, "owner": pb.STRING}),
            can_add_fields=True)
    # This thread's snapshot holds the type without "owner": the check fails on it, the
    # backend finds the snapshot stale, and the call runs again on what is stored.
    given = artifact(dataset, "/owned")
    given.properties["owner"].string_value = "me"
    [owned] = store.put_artifacts([given])
    assert owned == made + 1
    assert store.get_artifacts_by_id([owned])[0].properties["owner"].string_value == "me"
    # A real error still comes out as itself.
    given.properties["nobody"].string_value = "x"
    with pytest.raises(errors.InvalidArgumentError, match="nobody"):
        store.put_artifacts([given])


def test_contended_writers_lose_no_writes(settings, store):
    dataset, trainer, run = put_basic_types(store)

    def pipeline(n: int) -> None:
        [raw] = store.put_artifacts([artifact(dataset, f"/raw/{n}")])
        previous = store.get_artifacts_by_id([raw])[0]
        context = pb.Context(type_id=run, name=f"run-{n}")
        for step in range(8):
            previous = _put_step(store, trainer, dataset, previous, context, step)

    assert not in_threads(pipeline, [(n,) for n in range(4)])
    artifacts = store.get_artifacts()
    assert sorted(a.id for a in artifacts) == list(range(1, 4 * 9 + 1))
    assert len(store.get_executions()) == 32 and len(store.get_contexts()) == 4
    for n in range(4):
        [context] = [c for c in store.get_contexts() if c.name == f"run-{n}"]
        assert len(store.get_artifacts_by_context(context.id)) == 9
        assert len(store.get_executions_by_context(context.id)) == 8


def test_a_lost_acknowledgement_of_a_commit_is_resolved(settings, store, monkeypatch):
    dataset, _, _ = put_basic_types(store)
    store.put_artifacts([artifact(dataset, "/first")])
    backend = store._service.backend
    original = backend._send
    dropped = []

    def drop_once(query, params, after_running):
        if "$expected" in query and not dropped:
            dropped.append(query)
            if after_running:
                original(query, params)
            raise neo4j.exceptions.ServiceUnavailable("connection lost (test)")
        return original(query, params)

    # The connection breaks after the server committed: the call must not run twice.
    monkeypatch.setattr(backend, "_send", lambda q, p: drop_once(q, p, True))
    assert store.put_artifacts([artifact(dataset, "/second")]) == [2]
    # It breaks before the statement reached the server: it is sent again.
    dropped.clear()
    monkeypatch.setattr(backend, "_send", lambda q, p: drop_once(q, p, False))
    assert store.put_artifacts([artifact(dataset, "/third")]) == [3]
    assert [a.uri for a in store.get_artifacts()] == ["/first", "/second", "/third"]


def test_a_reader_does_not_block_writers(store):
    dataset, _, _ = put_basic_types(store)
    [first] = store.put_artifacts([artifact(dataset, "/a")])
    backend = store._service.backend
    reading = threading.Event()
    done = threading.Event()

    def reader() -> None:
        # A reading transaction runs auto-commit reads and locks nothing.
        with backend.transaction(write=False):
            backend.get_nodes("artifact", [first])
            backend.find_nodes("artifact", uri="/a")
            reading.set()
            done.wait(30)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert reading.wait(30)
        started = time.monotonic()
        assert store.put_artifacts([artifact(dataset, "/b")]) == [first + 1]
        assert time.monotonic() - started < 10
    finally:
        done.set()
        thread.join()


def _random_ops(rng, backends, known, tx_index):
    """One transaction of random writes and reads, the same on every backend; reads must agree."""
    from lineage.query import parse_filter

    def both(method, *args, **kwargs):
        results = [getattr(b, method)(*args, **kwargs) for b in backends]
        for result in results[1:]:
            assert result == results[0], (method, args, kwargs)
        return results[0]

    types = known["types"]

    def some(count):
        return [rng.randint(1, known["serial"] + 1) for _ in range(count)]

    for _ in range(rng.randint(5, 25)):
        op = rng.random()
        if op < 0.2:
            kind = rng.choice(["artifact", "execution", "context"])
            nodes = []
            for _ in range(rng.randint(1, 3)):
                known["serial"] += 1
                n = known["serial"]
                node = neo4j_backend.NODE_CLASSES[kind](type_id=types[kind])
                if kind == "context" or rng.random() < 0.5:
                    node.name = f"n{n}"
                if kind == "artifact":
                    node.uri = f"/u/{n % 7}"
                if rng.random() < 0.3:
                    node.external_id = f"x{n}"
                node.custom_properties["p"].int_value = n % 5
                nodes.append(node)
            ids = None
            for b in backends:
                copies = [type(node)() for node in nodes]
                for copy, node in zip(copies, nodes):
                    copy.CopyFrom(node)
                got = b.insert_nodes(kind, copies)
                assert ids is None or got == ids
                ids = got
            known[kind].extend(ids)
        elif op < 0.3 and known["artifact"] and known["execution"]:
            events = [pb.Event(artifact_id=rng.choice(known["artifact"]),
                               execution_id=rng.choice(known["execution"]),
                               type=rng.choice([pb.Event.INPUT, pb.Event.OUTPUT, pb.Event.DECLARED_INPUT]),
                               milliseconds_since_epoch=tx_index)
                      for _ in range(rng.randint(1, 3))]
            for b in backends:
                b.insert_events([pb.Event.FromString(e.SerializeToString()) for e in events])
        elif op < 0.4 and known["context"]:
            source = rng.choice(["artifact", "execution", "context"])
            if known[source]:
                pairs = [(rng.choice(known[source]), rng.choice(known["context"])) for _ in range(2)]
                if source == "context":
                    pairs = [(a, b) for a, b in pairs if a != b]
                    both("insert_parent_contexts", pairs)
                else:
                    both("insert_attributions" if source == "artifact" else "insert_associations", pairs)
        elif op < 0.45 and known["artifact"]:
            [node] = backends[0].get_nodes("artifact", [rng.choice(known["artifact"])])
            changed = pb.Artifact()
            changed.CopyFrom(node)
            changed.uri = f"/changed/{tx_index}"
            changed.custom_properties["p"].int_value = 9
            for b in backends:
                b.update_nodes("artifact", [pb.Artifact.FromString(changed.SerializeToString())])
        elif op < 0.5 and known["execution"]:
            execution_id = rng.choice(known["execution"])
            both("set_fingerprints", {execution_id: [f"k{rng.randint(0, 3)}", f"k{rng.randint(0, 3)}"]})
        elif op < 0.6:
            kind = rng.choice(["artifact", "execution", "context"])
            both("get_nodes", kind, some(3))
        elif op < 0.7:
            kind = rng.choice(["artifact", "execution", "context"])
            [n, m] = some(2)
            criteria = rng.choice([
                {"type_ids": [types[kind]]},
                {"name": f"n{n}"},
                {"type_ids": [types[kind]], "name": f"n{n}"},
                {"external_ids": [f"x{n}", f"x{m}", "nope"]},
            ] + ([{"uri": f"/u/{n % 7}"}, {"uri": f"/u/{n % 7}", "type_ids": [types[kind]]}]
                 if kind == "artifact" else []))
            both("find_nodes", kind, **criteria)
        elif op < 0.77:
            both("get_events", artifact_ids=some(2), execution_ids=some(rng.randint(0, 2)))
        elif op < 0.85:
            kind = rng.choice(["artifact", "execution"])
            ids = some(3)
            both("get_context_links", kind, **rng.choice([{"node_ids": ids}, {"context_ids": ids},
                                                          {"node_ids": ids[:1], "context_ids": ids[1:]}]))
            both("get_parent_contexts", **rng.choice([{"child_ids": ids}, {"parent_ids": ids}]))
        elif op < 0.9:
            kind = rng.choice(["artifact", "execution", "context"])
            query = ListQuery(parse_filter("custom_properties.p.int_value >= 2", kind), limit=50)
            both("list_nodes", kind, query)
        elif op < 0.95:
            both("executions_by_fingerprint", f"k{rng.randint(0, 3)}")
        elif known["artifact"]:
            start = rng.sample(known["artifact"], 1)
            direction = rng.choice([traversal.UPSTREAM, traversal.DOWNSTREAM, traversal.BOTH])
            native = backends[0].traverse(start, direction=direction)
            generic = traversal.traverse(backends[1], start, direction=direction)
            assert (native.artifact_ids, native.execution_ids, native.events) == (
                generic.artifact_ids, generic.execution_ids, generic.events)


def test_reads_in_a_writing_transaction_see_its_buffer(backend):
    import random

    reference = memory.MemoryBackend()
    backends = [backend, reference]
    known = {"artifact": [], "execution": [], "context": [], "serial": 0, "types": {}}
    for b in backends:
        with b.transaction():
            for kind, cls in (("artifact", pb.ArtifactType), ("execution", pb.ExecutionType),
                              ("context", pb.ContextType)):
                known["types"][kind] = b.insert_type(kind, cls(name=kind))
    rng = random.Random(11)
    for tx_index in range(40):
        snapshot = {k: list(v) if isinstance(v, list) else v for k, v in known.items()}
        try:
            with contextlib.ExitStack() as stack:
                for b in backends:
                    stack.enter_context(b.transaction())
                _random_ops(rng, backends, known, tx_index)
                if rng.random() < 0.2:
                    raise RuntimeError("roll back")
        except RuntimeError:
            known.update(snapshot)
    # After commits and rollbacks, both stores hold the same records.
    for kind in ("artifact", "execution", "context"):
        ids = list(range(1, known["serial"] + 2))
        assert backend.get_nodes(kind, ids) == reference.get_nodes(kind, ids)
        assert backend.get_events(artifact_ids=ids, execution_ids=ids) == \
            reference.get_events(artifact_ids=ids, execution_ids=ids)
    assert known["artifact"] and known["execution"] and known["context"]


def test_flush_statements_keep_order_and_bound_rows(monkeypatch):
    monkeypatch.setattr(neo4j_backend, "_FLUSH_ROWS", 4)
    parts = [("UNWIND $rows AS r CREATE (n:A) SET n = r", list(range(6)), True),
             ("UNWIND $rows AS r MATCH (a:A {id: r}) SET a.x = 1", [1, 2], True),
             ("UNWIND $rows AS r UNWIND r AS k CREATE (:F {k: k})", [[7]], False)]
    statements = list(neo4j_backend._flush_statements(parts))
    assert [sorted(params) for _, params, _ in statements] == [["rows0"], ["rows0", "rows1"], ["rows0"]]
    assert [len(rows) for _, params, _ in statements for rows in params.values()] == [4, 2, 2, 1]
    assert statements[1][0] == (
        "WITH [] AS counts UNWIND $rows0 AS r CREATE (n:A) SET n = r "
        "WITH head(collect(counts)) + count(*) AS counts "
        "UNWIND $rows1 AS r MATCH (a:A {id: r}) SET a.x = 1 "
        "WITH head(collect(counts)) + count(*) AS counts RETURN counts")
    assert statements[1][1] == {"rows0": [4, 5], "rows1": [1, 2]}
    # Each statement tells the row count each checked part must return.
    assert [expected for _, _, expected in statements] == [[4], [2, 2], [None]]
    assert statements[2][1] == {"rows0": [[7]]}


# -- traversal ------------------------------------------------------------------------


def _random_history(backends, seed: int):
    """Writes the same random graph, with cycles and all event types, into each backend."""
    import random

    rng = random.Random(seed)
    types = list(pb.Event.Type.values())
    for b in backends:
        with b.transaction():
            at = b.insert_type("artifact", pb.ArtifactType(name="A"))
            et = b.insert_type("execution", pb.ExecutionType(name="E"))
            b.insert_nodes("artifact", [pb.Artifact(type_id=at) for _ in range(40)])
            b.insert_nodes("execution", [pb.Execution(type_id=et) for _ in range(30)])
    events = []
    for _ in range(140):
        event = pb.Event(artifact_id=rng.randint(1, 40), execution_id=rng.randint(1, 30))
        if rng.random() < 0.95:
            event.type = rng.choice(types)
        if rng.random() < 0.3:
            event.path.steps.add().index = rng.randint(0, 3)
        events.append(event)
    for b in backends:
        with b.transaction():
            b.insert_events(events)
    return rng


def test_records_parsed_in_one_batch_equal_records_parsed_one_by_one():
    # Lengths on both sides of every framing boundary, empty records and absent ones.
    records = [pb.Event(artifact_id=i, execution_id=2 * i, type=pb.Event.OUTPUT) for i in (1, 300, 2**40)]
    records += [pb.Artifact(uri="u" * n, id=n) for n in (0, 120, 127, 128, 4000, 4095, 4096, 20000)]
    for cls in (pb.Event, pb.Artifact):
        datas = [r.SerializeToString() for r in records if isinstance(r, cls)] + [b"", None]
        alone = []
        for data in datas:
            one = cls()
            one.ParseFromString(data or b"")
            alone.append(one)
        assert neo4j_backend._parse_many(cls, datas) == alone
    nodes = neo4j_backend._parse_nodes("execution", [7, 8], [pb.Execution(name="a").SerializeToString(), None])
    assert nodes == [pb.Execution(id=7, name="a"), pb.Execution(id=8)]


def test_native_traversal_matches_the_generic_one(backend):
    reference = memory.MemoryBackend()
    rng = _random_history([backend, reference], seed=7)
    cases = 0
    for _ in range(60):
        kwargs = dict(
            direction=rng.choice([traversal.UPSTREAM, traversal.DOWNSTREAM, traversal.BOTH]),
            max_hops=rng.choice([None, 0, 1, 2, 5]),
            event_types=rng.choice([None, [pb.Event.INPUT, pb.Event.OUTPUT], [pb.Event.DECLARED_OUTPUT]]),
            stop_artifacts=rng.choice([None, set(rng.sample(range(1, 41), 5))]),
            stop_executions=rng.choice([None, set(rng.sample(range(1, 31), 5))]),
        )
        starts = (rng.sample(range(1, 41), rng.randint(0, 3)), rng.sample(range(1, 31), rng.randint(0, 2)))
        generic = traversal.traverse(reference, *starts, **kwargs)
        # Both native strategies, whichever traverse() would pick for these arguments.
        args = (set(starts[0]), set(starts[1]), kwargs["direction"], kwargs["max_hops"],
                kwargs["event_types"], kwargs["stop_artifacts"] or set(), kwargs["stop_executions"] or set())
        with backend.transaction():
            walks = [backend.traverse(*starts, **kwargs), backend._traverse_at_once(*args),
                     backend._traverse_by_hop(*args)]
        for native in walks:
            assert native.artifact_ids == generic.artifact_ids, kwargs
            assert native.execution_ids == generic.execution_ids, kwargs
            assert native.events == generic.events, kwargs
            assert native.depth == generic.depth, kwargs
        cases += bool(generic.events)
    assert cases > 20  # most cases walked somewhere


def test_traversal_rejects_bad_arguments(backend):
    with pytest.raises(errors.InvalidArgumentError, match="max_hops"):
        backend.traverse([1], max_hops=-1)
    with pytest.raises(errors.InvalidArgumentError, match="direction"):
        backend.traverse([1], direction="sideways")


def test_lineage_api_uses_the_native_traversal(store):
    dataset, trainer, _ = put_basic_types(store)
    [raw_id] = store.put_artifacts([artifact(dataset, "/raw")])
    previous = store.get_artifacts_by_id([raw_id])[0]
    for step in range(5):
        _, [_, out_id], _ = store.put_execution(
            pb.Execution(type_id=trainer),
            [(previous, pb.Event(type=pb.Event.INPUT)),
             (artifact(dataset, f"/out{step}"), pb.Event(type=pb.Event.OUTPUT))],
            [])
        previous = store.get_artifacts_by_id([out_id])[0]
    backend = store._service.backend
    native = backend.traverse
    calls = []
    backend.traverse = lambda *args, **kwargs: calls.append(kwargs) or native(*args, **kwargs)
    try:
        graph = store.lineage.downstream(artifact_ids=[raw_id])
    finally:
        del backend.traverse
    assert len(calls) == 1
    assert [a.uri for a in graph.artifacts] == ["/raw"] + [f"/out{i}" for i in range(5)]
    assert len(graph.executions) == 5 and len(graph.events) == 10


# -- connection errors ----------------------------------------------------------------


def test_nothing_listening_is_unavailable_naming_the_uri():
    uri = f"bolt://127.0.0.1:{free_port()}"
    with pytest.raises(errors.UnavailableError, match=uri.replace(".", r"\.")) as caught:
        lineage.MetadataStore(pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=uri)))
    assert caught.value.__cause__ is not None


@pytest.mark.parametrize("uri,match", [
    ("", "uri is required"),
    ("http://127.0.0.1:7687", "not a Neo4j URI"),
    ("bolt://127.0.0.1:notaport", "not a Neo4j URI"),
])
def test_bad_uri_is_invalid(uri, match):
    with pytest.raises(errors.InvalidArgumentError, match=match):
        lineage.MetadataStore(pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=uri)))


def test_unknown_database_is_not_found(settings):
    config = connection_config(settings)
    config.neo4j.database = "nosuchdb"
    with pytest.raises(errors.NotFoundError, match="nosuchdb"):
        lineage.MetadataStore(config)


def test_schema_downgrade_is_unimplemented(settings):
    with pytest.raises(errors.UnimplementedError, match="downgrade_to_schema_version"):
        core.downgrade_schema(connection_config(settings), 0)


# -- private servers: restarts, crashes, credentials ---------------------------------------


@pytest.mark.slow
def test_server_stopped_mid_session_is_unavailable_then_recovers(private_server):
    with lineage.MetadataStore(private_server.config()) as store:
        dataset, _, _ = put_basic_types(store)
        store.put_artifacts([artifact(dataset, "/kept")])
        private_server.stop()
        try:
            with pytest.raises(errors.UnavailableError) as caught:
                store.get_artifacts()
            assert caught.value.__cause__ is not None
            with pytest.raises(errors.UnavailableError):
                store.put_artifacts([artifact(dataset, "/lost")])
        finally:
            private_server.start()
        # The same store reconnects once the server is back.
        assert [a.uri for a in store.get_artifacts()] == ["/kept"]


@pytest.mark.slow
def test_acknowledged_writes_survive_restart_and_sigkill(private_server):
    wipe(private_server.config().neo4j)
    with lineage.MetadataStore(private_server.config()) as store:
        dataset, trainer, run = put_basic_types(store)
        store.put_execution(pb.Execution(type_id=trainer),
                            [(artifact(dataset, "/a", note="é\U0001F600"), pb.Event(type=pb.Event.OUTPUT))],
                            [pb.Context(type_id=run, name="run-1")])
        before = (store.get_artifacts(), store.get_executions(), store.get_contexts(),
                  store.get_events_by_execution_ids([1]))
    private_server.stop()
    private_server.start()
    with lineage.MetadataStore(private_server.config()) as store:
        assert (store.get_artifacts(), store.get_executions(), store.get_contexts(),
                store.get_events_by_execution_ids([1])) == before
        acknowledged = [store.put_artifacts([artifact(dataset, f"/crash/{i}")])[0] for i in range(25)]
        private_server.kill9()
    private_server.start()
    with lineage.MetadataStore(private_server.config()) as store:
        uris = {a.id: a.uri for a in store.get_artifacts()}
        assert [uris.get(i) for i in acknowledged] == [f"/crash/{i}" for i in range(25)]
        # Counters survived too: the next id follows every acknowledged one (the killed
        # client could not give its unused ids back).
        [after] = store.put_artifacts([artifact(dataset, "/after")])
        assert after > acknowledged[-1] and after not in uris


def _launch_with_auth(home: pathlib.Path, lib: pathlib.Path, port: int) -> subprocess.Popen:
    """Starts a Neo4j JVM with authentication on (the script always turns it off)."""
    conf = home / "conf"
    conf.mkdir(parents=True)
    (conf / "neo4j.conf").write_text("\n".join([
        f"server.directories.data={home}/data",
        f"server.directories.logs={home}/logs",
        f"server.directories.run={home}/run",
        f"server.directories.lib={lib}",
        "server.default_listen_address=127.0.0.1",
        f"server.bolt.listen_address=127.0.0.1:{port}",
        "server.http.enabled=false",
        "dbms.security.auth_enabled=true",
        "dbms.usage_report.enabled=false",
        "server.memory.pagecache.size=64m",
        "",
    ]))
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    return subprocess.Popen(
        [java, "-Xms256m", "-Xmx512m", "-cp", f"{lib}/*", "org.neo4j.server.CommunityEntryPoint",
         f"--home-dir={home}", f"--config-dir={conf}"],
        stdout=(home / "console.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _start_with_password(home: pathlib.Path, lib: pathlib.Path, port: int, password: str,
                         timeout_s: float) -> subprocess.Popen:
    """Starts a Neo4j with authentication on and sets the ``neo4j`` user's password.

    A new server insists on a password change before anything else, so the
    server counts as up once that change went through.
    """
    process = _launch_with_auth(home, lib, port)
    uri = f"bolt://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with neo4j.GraphDatabase.driver(uri, auth=("neo4j", "neo4j")) as driver:
                    driver.verify_connectivity()
                    with driver.session(database="system") as session:
                        session.run(f"ALTER CURRENT USER SET PASSWORD FROM 'neo4j' TO '{password}'").consume()
                return process
            except neo4j.exceptions.ServiceUnavailable:
                console = (home / "console.log").read_text(errors="replace")[-3000:]
                assert process.poll() is None and time.monotonic() < deadline, (
                    f"Neo4j with auth did not start:\n{console}")
                time.sleep(1)
    except BaseException:
        _stop(process)
        raise


def _stop(process: subprocess.Popen) -> None:
    """Stops a server started by ``_launch_with_auth``."""
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(30)


@pytest.mark.slow
def test_credentials_are_checked(private_server, tmp_path):
    lib = private_server.home / "lib"
    port = free_port()
    uri = f"bolt://127.0.0.1:{port}"
    process = _start_with_password(tmp_path, lib.resolve(), port, "lineage-secret", 180)
    try:
        def config(user: str, password: str) -> pb.ConnectionConfig:
            return pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=uri, user=user, password=password))

        with pytest.raises(errors.UnauthenticatedError, match="'neo4j'") as caught:
            lineage.MetadataStore(config("neo4j", "wrong-password"))
        assert isinstance(caught.value.__cause__, neo4j.exceptions.AuthError)
        with pytest.raises(errors.UnauthenticatedError):
            lineage.MetadataStore(pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=uri)))
        with lineage.MetadataStore(config("neo4j", "lineage-secret")) as store:
            dataset, _, _ = put_basic_types(store)
            assert store.put_artifacts([artifact(dataset, "/ok")]) == [1]
    finally:
        _stop(process)
