"""Concurrent writers on the relational backend: no lost writes, no duplicates.

Several processes write one SQLite file; several threads and several processes
write one MariaDB or PostgreSQL database, contending for the same context
(reused by name, so concurrent first inserts collide and are retried as
aborted transactions by the Python API). Several clients also open one brand
new database at the same moment: exactly one set of built-in types results.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading

import pytest

import lineage
from lineage.backends.sql import type_name_lock
from lineage.proto import metadata_store_pb2 as pb

from test_sql_backend import databases, server_databases, sql_services  # noqa: F401  (fixtures)

# Run in a separate process: argv = [config JSON, worker id, calls]. Writes
# `calls` executions, each reading one shared and one own artifact and writing
# one new artifact, all in the shared context "shared-run".
WORKER = r"""
import json, sys
from google.protobuf import json_format
import lineage
from lineage.proto import metadata_store_pb2 as pb

config = json_format.ParseDict(json.loads(sys.argv[1]), pb.ConnectionConfig())
worker, calls = int(sys.argv[2]), int(sys.argv[3])
config.retry_options.max_num_retries = 20
store = lineage.MetadataStore(config)
artifact_type = store.put_artifact_type(pb.ArtifactType(name="Data"))
execution_type = store.put_execution_type(pb.ExecutionType(name="Step"))
context_type = store.put_context_type(pb.ContextType(name="Run"))
written = []
for call in range(calls):
    execution = pb.Execution(type_id=execution_type, name=f"w{worker}-c{call}")
    output = pb.Artifact(type_id=artifact_type, uri=f"/w{worker}/c{call}")
    execution_id, artifact_ids, context_ids = store.put_execution(
        execution, [(output, pb.Event(type=pb.Event.OUTPUT))],
        [pb.Context(type_id=context_type, name="shared-run")],
        reuse_context_if_already_exist=True)
    written.append([execution_id, artifact_ids[0], context_ids[0]])
store.close()
print(json.dumps(written))
"""


def _config_json(config: pb.ConnectionConfig) -> str:
    from google.protobuf import json_format

    return json.dumps(json_format.MessageToDict(config))


def _spawn(config: pb.ConnectionConfig, worker: int, calls: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WORKER, _config_json(config), str(worker), str(calls)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _prepare(config: pb.ConnectionConfig) -> None:
    """Registers the types first, so the workers race on the shared context only
    (``test_concurrent_writers`` races on new type names)."""
    store = lineage.MetadataStore(config)
    store.put_artifact_type(pb.ArtifactType(name="Data"))
    store.put_execution_type(pb.ExecutionType(name="Step"))
    store.put_context_type(pb.ContextType(name="Run"))
    store.close()


def _collect(processes: list[subprocess.Popen]) -> list[list[list[int]]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _check_everything_is_there(config: pb.ConnectionConfig, written: list[list[list[int]]]) -> None:
    store = lineage.MetadataStore(config)
    try:
        executions = store.get_executions()
        artifacts = store.get_artifacts()
        contexts = store.get_contexts()
        expected = sum(len(w) for w in written)
        assert len(executions) == expected
        assert len(artifacts) == expected
        assert len(contexts) == 1 and contexts[0].name == "shared-run"
        assert {ids[2] for w in written for ids in w} == {contexts[0].id}
        assert sorted(ids[0] for w in written for ids in w) == [e.id for e in executions]
        assert len(store.get_executions_by_context(contexts[0].id)) == expected
        events = store.get_events_by_execution_ids([e.id for e in executions])
        assert len(events) == expected
        assert len(store.get_artifact_types()) == 1 and len(store.get_execution_types()) == 1
        assert len(store.get_artifact_types_by_id(range(1, 30))) == 5  # 4 built-in + Data
    finally:
        store.close()


def test_several_processes_write_one_sqlite_file(tmp_path):
    config = pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(filename_uri=str(tmp_path / "shared.sqlite")))
    _prepare(config)
    processes = [_spawn(config, worker, 25) for worker in range(4)]
    _check_everything_is_there(config, _collect(processes))


def test_several_processes_write_one_server_database(server_databases):
    config = server_databases.config()
    _prepare(config)
    processes = [_spawn(config, worker, 15) for worker in range(4)]
    _check_everything_is_there(config, _collect(processes))


def test_several_threads_share_one_store(databases):
    config = databases.config()
    config.retry_options.max_num_retries = 20
    store = lineage.MetadataStore(config)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="Data"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="Step"))
    context_type = store.put_context_type(pb.ContextType(name="Run"))
    written: list[list[list[int]]] = [[] for _ in range(6)]
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for call in range(12):
                execution_id, artifact_ids, context_ids = store.put_execution(
                    pb.Execution(type_id=execution_type, name=f"t{worker}-c{call}"),
                    [(pb.Artifact(type_id=artifact_type, uri=f"/t{worker}/{call}"), pb.Event(type=pb.Event.OUTPUT))],
                    [pb.Context(type_id=context_type, name="shared-run")],
                    reuse_context_if_already_exist=True)
                written[worker].append([execution_id, artifact_ids[0], context_ids[0]])
                # Reads interleave with the writes of other threads.
                assert store.get_executions_by_id([execution_id])[0].name == f"t{worker}-c{call}"
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    try:
        assert not failures, failures[0]
        if databases.target == "sqlite-memory":
            executions = store.get_executions()
            assert len(executions) == 72 and len(store.get_contexts()) == 1
            return
    finally:
        store.close()
    _check_everything_is_there(config, written)


OPENER = r"""
import json, sys
from google.protobuf import json_format
import lineage
from lineage.proto import metadata_store_pb2 as pb
config = json_format.ParseDict(json.loads(sys.argv[1]), pb.ConnectionConfig())
print("ready", flush=True)
sys.stdin.readline()  # every client starts opening at the same moment
store = lineage.MetadataStore(config)
print(len(store.get_artifact_types_by_id(range(1, 40))) + len(store.get_execution_types_by_id(range(1, 40))))
store.close()
"""


def test_clients_opening_a_new_database_together_make_one_set_of_types(databases):
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database belongs to one client")
    config = databases.config()
    processes = [subprocess.Popen([sys.executable, "-c", OPENER, _config_json(config)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(5)]
    for process in processes:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
        assert out.strip().splitlines()[-1] == "9"
    store = lineage.MetadataStore(config)
    try:
        assert len(store.get_artifact_types_by_id(range(1, 40))) == 4
        assert len(store.get_execution_types_by_id(range(1, 40))) == 5
    finally:
        store.close()


def test_a_type_name_lock_on_mysql_ends_with_its_transaction(server_databases):
    if server_databases.target != "mariadb":
        pytest.skip("named locks are MySQL's; PostgreSQL's advisory lock is transaction-scoped")
    config = server_databases.config()
    store = lineage.MetadataStore(config)
    backend = store._service.backend
    engine = server_databases.engine(config)

    def holder(type_name: str):
        name = type_name_lock(config.mysql.database, "artifact", type_name, None)
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT IS_USED_LOCK(%(n)s)", {"n": name}).scalar()

    try:
        for outcome in ("commit", "rollback", "commit again"):
            type_name = f"Data {outcome}"
            with contextlib.suppress(RuntimeError):
                with backend.transaction():
                    backend.insert_type("artifact", pb.ArtifactType(name=type_name))
                    assert holder(type_name) is not None
                    if outcome == "rollback":
                        raise RuntimeError(outcome)
            # Released with the transaction, though its pooled connection lives on.
            assert holder(type_name) is None
        assert [t.name for t in store.get_artifact_types()] == ["Data commit", "Data commit again"]
    finally:
        store.close()
        engine.dispose()
