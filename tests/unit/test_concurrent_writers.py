"""Writers in several processes racing on the same new names, on Neo4j, PostgreSQL and MariaDB.

Each worker process starts on a signal, then for every round: creates the
same new artifact, execution and context types; creates a context under a
name every worker uses (without reuse: one of them makes it, the others get
AlreadyExistsError, as a lone caller would for a taken name); and writes an
execution into a context created under a shared name with reuse. The client
retries nothing (``max_num_retries = 1``): whatever conflicts the store meets
must be resolved inside the call. MLMD's relational schema has no unique key on
type names, so on the SQL servers only the backend's own locking keeps a type
name from being created twice.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import pytest
from google.protobuf import json_format

import lineage
from lineage.proto import metadata_store_pb2 as pb
from lineage.urls import config_from_url

import services

WORKERS = 4
ROUNDS = 4

# argv = [config JSON, worker id, rounds]; prints one JSON line of outcomes: an id, or an error class name.
WORKER = r"""
import json, sys
from google.protobuf import json_format
import lineage
from lineage.proto import metadata_store_pb2 as pb

config = json_format.ParseDict(json.loads(sys.argv[1]), pb.ConnectionConfig())
worker, rounds = int(sys.argv[2]), int(sys.argv[3])
config.retry_options.max_num_retries = 1
store = lineage.MetadataStore(config)
outcomes = []

def attempt(what, call):
    try:
        outcomes.append([what, call()])
    except Exception as e:
        outcomes.append([what, type(e).__name__ + ": " + str(e)[:300]])

print("ready", flush=True)
sys.stdin.readline()
for r in range(rounds):
    attempt(f"artifact_type {r}", lambda: store.put_artifact_type(pb.ArtifactType(name=f"Data{r}")))
    attempt(f"execution_type {r}", lambda: store.put_execution_type(pb.ExecutionType(name=f"Step{r}")))
    attempt(f"context_type {r}", lambda: store.put_context_type(pb.ContextType(name=f"Run{r}")))
    context_type = store.get_context_type(f"Run{r}").id
    attempt(f"context {r}", lambda: store.put_contexts([pb.Context(type_id=context_type, name=f"only-{r}")])[0])
    execution_type = store.get_execution_type(f"Step{r}").id
    artifact_type = store.get_artifact_type(f"Data{r}").id

    def put():
        execution_id, [artifact_id], [context_id] = store.put_execution(
            pb.Execution(type_id=execution_type, name=f"w{worker}-r{r}"),
            [(pb.Artifact(type_id=artifact_type, uri=f"/w{worker}/r{r}"), pb.Event(type=pb.Event.OUTPUT))],
            [pb.Context(type_id=context_type, name=f"shared-{r}")], reuse_context_if_already_exist=True)
        return [execution_id, artifact_id, context_id]

    attempt(f"execution {r}", put)
store.close()
print(json.dumps(outcomes))
"""


def _neo4j_config() -> pb.ConnectionConfig:
    settings = services.neo4j_settings()
    services.wipe_neo4j(settings)
    return pb.ConnectionConfig(neo4j=settings)


def _sql_config(kind: str) -> pb.ConnectionConfig:
    url = services.sql_url(kind, "lineage_racing_writers")
    services.reset_sql_database(url)
    return config_from_url(url)


@pytest.fixture(params=["neo4j", "postgresql", "mysql"])
def config(request) -> pb.ConnectionConfig:
    config = _neo4j_config() if request.param == "neo4j" else _sql_config(request.param)
    # The store exists (schema, built-in types) before the race starts.
    lineage.MetadataStore(config).close()
    return config


def _race(config: pb.ConnectionConfig) -> list[list[list]]:
    text = json.dumps(json_format.MessageToDict(config))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, text, str(worker), str(ROUNDS)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for worker in range(WORKERS)]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=600)
            assert proc.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_racing_writers_get_what_a_lone_caller_gets(config):
    results = _race(config)
    outcomes = collections.defaultdict(list)
    for worker in results:
        for what, outcome in worker:
            outcomes[what].append(outcome)
    store = lineage.MetadataStore(config)
    try:
        for r in range(ROUNDS):
            # Types: an upsert; every writer gets the one stored type's id.
            for kind, get in (("artifact_type", store.get_artifact_types),
                              ("execution_type", store.get_execution_types),
                              ("context_type", store.get_context_types)):
                got = outcomes[f"{kind} {r}"]
                assert all(isinstance(i, int) for i in got), got
                name = {"artifact_type": "Data", "execution_type": "Step", "context_type": "Run"}[kind] + str(r)
                stored = [t.id for t in get() if t.name == name]
                assert len(stored) == 1 and set(got) == set(stored), (got, stored)
            # A taken name: one writer makes the context, the others are told it exists.
            got = outcomes[f"context {r}"]
            made = [i for i in got if isinstance(i, int)]
            refused = [e for e in got if not isinstance(e, int)]
            assert len(made) == 1, got
            assert all(e.startswith("AlreadyExistsError") for e in refused), got
            stored = [c.id for c in store.get_contexts() if c.name == f"only-{r}"]
            assert stored == made
            # Reuse by name: every execution lands in the one shared context.
            got = outcomes[f"execution {r}"]
            assert all(isinstance(i, list) for i in got), got
            assert len({context_id for _, _, context_id in got}) == 1
            [shared] = [c for c in store.get_contexts() if c.name == f"shared-{r}"]
            assert {context_id for _, _, context_id in got} == {shared.id}
            linked = store.get_executions_by_context(shared.id)
            assert sorted(e.id for e in linked) == sorted(e for e, _, _ in got)
        executions = store.get_executions()
        artifacts = store.get_artifacts()
        contexts = store.get_contexts()
        # No lost or doubled writes; ids and names unique.
        assert len(executions) == WORKERS * ROUNDS
        for nodes in (executions, artifacts, contexts):
            ids = [n.id for n in nodes]
            assert len(set(ids)) == len(ids) and all(i > 0 for i in ids)
            names = [(n.type_id, n.name) for n in nodes if n.name]
            assert len(set(names)) == len(names)
        assert len(artifacts) == WORKERS * ROUNDS
        assert len(contexts) == 2 * ROUNDS
    finally:
        store.close()
