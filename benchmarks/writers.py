"""Concurrent writers: N processes writing ``put_execution``s into one store for a fixed time.

For each backend and each N in ``--writers`` the store is emptied and seeded
(types, ``--datasets`` raw datasets, ``--shared`` shared contexts), then N
writer processes start together and call ``put_execution`` for ``--seconds``
seconds. Every call writes one execution and one new output artifact (both
named after the writer and the call), an input event from a shared raw
dataset, and links them to the writer's own context (created by its first
call) and, on every other call, to one of the shared contexts.

Printed per run: aggregate calls/s, the speed-up over one writer, and CPU
seconds per call on the client side (all writers together) and on the server
(``/proc/<pid>/stat`` of the process listening on the server's port, children
included, read before and after the run), so the ceiling of a machine shared
by clients and server is visible. After each run it checks: the store holds
exactly as many executions as calls succeeded, ids are unique, names are
unique, and no call raised.

Usage::

    python benchmarks/writers.py --backends neo4j,postgresql --writers 1,2,4,8 --seconds 10

Server URLs come from ``--neo4j-uri`` / ``--postgres-url`` / ``--mysql-url`` or
``NEO4J_URI`` / ``LINEAGE_POSTGRES_URL`` / ``LINEAGE_MYSQL_URL``. The Neo4j
database is emptied; PostgreSQL and MySQL runs use a database of their own
(``bench_writers``), created afresh for each run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_DB = "bench_writers"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- stores ----------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def _sql_admin(url: str):
    import sqlalchemy

    scheme = urllib.parse.urlsplit(url).scheme
    driver = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}[scheme]
    return sqlalchemy.create_engine(driver + url[len(scheme):], isolation_level="AUTOCOMMIT")


def reset_store(backend: str, url: str) -> str:
    """Empties the store the run writes; returns its URL."""
    if backend == "neo4j":
        import neo4j

        with neo4j.GraphDatabase.driver(url, notifications_min_severity="OFF") as driver:
            with driver.session() as session:
                while session.run("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*)").single()[0]:
                    pass
        return url
    import sqlalchemy

    engine = _sql_admin(url)
    with engine.connect() as conn:
        if backend == "postgresql":
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {_DB} WITH (FORCE)"))
        else:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {_DB}"))
        conn.execute(sqlalchemy.text(f"CREATE DATABASE {_DB}"))
    engine.dispose()
    return _with_database(url, _DB)


def seed(url: str, datasets: int, shared: int) -> dict[str, Any]:
    """Creates the types, the raw datasets and the shared contexts; returns their ids."""
    import lineage
    from lineage.proto import metadata_store_pb2 as pb

    store = lineage.connect(url)
    try:
        data_type = store.put_artifact_type(pb.ArtifactType(name="RawData"))
        model_type = store.put_artifact_type(pb.ArtifactType(name="Model"))
        step_type = store.put_execution_type(pb.ExecutionType(name="Step"))
        pipeline_type = store.put_context_type(pb.ContextType(name="Pipeline"))
        dataset_ids = store.put_artifacts(
            [pb.Artifact(type_id=data_type, uri=f"raw/{i}", name=f"raw-{i}") for i in range(datasets)])
        context_ids = store.put_contexts(
            [pb.Context(type_id=pipeline_type, name=f"shared-{i}") for i in range(shared)])
    finally:
        store.close()
    return {"model_type": model_type, "step_type": step_type, "pipeline_type": pipeline_type,
            "datasets": dataset_ids, "shared": context_ids}


def check_store(url: str, expected: int, ids: dict[str, list[int]]) -> dict[str, Any]:
    """Counts what the store holds after a run and compares it with what the writers were told."""
    import lineage

    store = lineage.connect(url)
    try:
        executions = store.get_executions()
        models = store.get_artifacts_by_type("Model")
        contexts = store.get_contexts()
    finally:
        store.close()
    problems = []
    if len(executions) != expected:
        problems.append(f"{len(executions)} executions stored, {expected} calls succeeded")
    for kind, stored in (("execution", executions), ("artifact", models), ("context", contexts)):
        stored_ids = [n.id for n in stored]
        if len(set(stored_ids)) != len(stored_ids):
            problems.append(f"duplicate {kind} ids stored")
        names = [(n.type_id, n.name) for n in stored if n.name]
        if len(set(names)) != len(names):
            problems.append(f"duplicate {kind} names stored")
    for kind in ("execution", "artifact"):
        returned = ids[kind]
        if len(set(returned)) != len(returned):
            problems.append(f"duplicate {kind} ids returned to writers")
    if sorted(ids["execution"]) != sorted(n.id for n in executions):
        problems.append("the ids returned to the writers are not the stored executions")
    if len(models) != expected:
        problems.append(f"{len(models)} output artifacts stored, {expected} calls succeeded")
    return {"problems": problems, "executions": len(executions)}


# -- server CPU -------------------------------------------------------------------------


def server_pid(url: str) -> int | None:
    """The process listening on the URL's port on this machine, or None."""
    port = urllib.parse.urlsplit(url).port
    if port is None:
        return None
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return None


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU of a process and its reaped children (PostgreSQL's connection processes)."""
    if pid is None:
        return None
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    # Fields 14-17 of stat(5): utime, stime, cutime, cstime; fields[0] is field 3.
    ticks = sum(int(v) for v in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


# -- one writer ---------------------------------------------------------------------------


def writer(url: str, worker: int, seconds: float, setup: dict[str, Any]) -> dict[str, Any]:
    """Runs in a writer process: waits for "go" on stdin, writes for ``seconds``, reports."""
    import lineage
    from lineage.proto import metadata_store_pb2 as pb

    store = lineage.connect(url)
    own = pb.Context(type_id=setup["pipeline_type"], name=f"writer-{worker}-{os.getpid()}")
    shared = [pb.Context(id=i) for i in setup["shared"]]
    # The whole stored dataset goes with its input event: put_execution upserts what it is given.
    datasets = store.get_artifacts_by_id(setup["datasets"])
    execution_ids: list[int] = []
    artifact_ids: list[int] = []
    failures: dict[str, int] = {}
    print("ready", flush=True)
    sys.stdin.readline()
    cpu0, start = time.process_time(), time.perf_counter()
    deadline = start + seconds
    call = 0
    while time.perf_counter() < deadline:
        name = f"w{worker}-{os.getpid()}-{call}"
        execution = pb.Execution(type_id=setup["step_type"], name=name,
                                 last_known_state=pb.Execution.COMPLETE)
        dataset = datasets[call % len(datasets)]
        pairs = [
            (dataset, pb.Event(type=pb.Event.INPUT)),
            (pb.Artifact(type_id=setup["model_type"], uri=f"models/{name}", name=name),
             pb.Event(type=pb.Event.OUTPUT)),
        ]
        contexts = [own] + ([shared[call // 2 % len(shared)]] if call % 2 else [])
        try:
            execution_id, ids, context_ids = store.put_execution(execution, pairs, contexts,
                                                                 force_reuse_context=True)
        except Exception as e:  # every failure is counted and reported, none is expected
            key = f"{type(e).__name__}: {str(e)[:200]}"
            failures[key] = failures.get(key, 0) + 1
        else:
            execution_ids.append(execution_id)
            artifact_ids.append(ids[1])
            if not own.HasField("id"):
                own = pb.Context(id=context_ids[0])
        call += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    store.close()
    return {"calls": len(execution_ids), "elapsed": elapsed, "cpu": cpu, "failures": failures,
            "execution_ids": execution_ids, "artifact_ids": artifact_ids}


# -- one run ------------------------------------------------------------------------------


def run(backend: str, base_url: str, writers: int, seconds: float, datasets: int, shared: int,
        python: str) -> dict[str, Any]:
    url = reset_store(backend, base_url)
    setup = seed(url, datasets, shared)
    pid = server_pid(base_url)
    procs = []
    for worker in range(writers):
        procs.append(subprocess.Popen(
            [python, *(["-S"] if sys.flags.no_site else []), __file__, "--worker", str(worker), "--url", url, "--seconds", str(seconds),
             "--setup", json.dumps(setup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    for proc in procs:
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a writer failed to start (exit {proc.wait()})")
    time.sleep(0.5)  # let the last writer's start-up settle before the server is measured
    server0 = cpu_seconds(pid)
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        results.append(json.loads(out.strip().splitlines()[-1]))
    time.sleep(0.5)  # PostgreSQL's connection processes are reaped after they exit
    server1 = cpu_seconds(pid)
    calls = sum(r["calls"] for r in results)
    wall = max(r["elapsed"] for r in results)
    failures: dict[str, int] = {}
    for r in results:
        for key, count in r["failures"].items():
            failures[key] = failures.get(key, 0) + count
    check = check_store(url, calls, {
        "execution": [i for r in results for i in r["execution_ids"]],
        "artifact": [i for r in results for i in r["artifact_ids"]],
    })
    if failures:
        check["problems"].append(f"calls raised: {failures}")
    return {
        "backend": backend, "writers": writers, "calls": calls, "seconds": wall,
        "calls_per_s": calls / wall,
        "client_cpu_ms_per_call": 1000 * sum(r["cpu"] for r in results) / max(calls, 1),
        "server_cpu_ms_per_call": (None if server0 is None else 1000 * (server1 - server0) / max(calls, 1)),
        "per_writer_calls": [r["calls"] for r in results],
        "problems": check["problems"],
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| backend | writers | calls/s | speed-up | client CPU ms/call | server CPU ms/call | checks |",
             "|---|---:|---:|---:|---:|---:|---|"]
    base: dict[str, float] = {}
    for row in rows:
        if row["writers"] == 1:
            base[row["backend"]] = row["calls_per_s"]
        one = base.get(row["backend"])
        speedup = f"{row['calls_per_s'] / one:.2f}x" if one else "-"
        server = "-" if row["server_cpu_ms_per_call"] is None else f"{row['server_cpu_ms_per_call']:.2f}"
        checks = "ok" if not row["problems"] else "; ".join(row["problems"])
        lines.append(f"| {row['backend']} | {row['writers']} | {row['calls_per_s']:.0f} | {speedup} | "
                     f"{row['client_cpu_ms_per_call']:.2f} | {server} | {checks} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="neo4j,postgresql")
    parser.add_argument("--writers", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1, help="runs of each size; the median is shown")
    parser.add_argument("--datasets", type=int, default=3)
    parser.add_argument("--shared", type=int, default=2)
    parser.add_argument("--neo4j-uri", default=os.environ.get("NEO4J_URI"))
    parser.add_argument("--postgres-url", default=os.environ.get("LINEAGE_POSTGRES_URL"))
    parser.add_argument("--mysql-url", default=os.environ.get("LINEAGE_MYSQL_URL"))
    parser.add_argument("--json", help="also write every run to this file")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(writer(args.url, args.worker, args.seconds, json.loads(args.setup))))
        return 0
    urls = {"neo4j": args.neo4j_uri, "postgresql": args.postgres_url, "mysql": args.mysql_url}
    rows = []
    every = []
    for backend in args.backends.split(","):
        if not urls.get(backend):
            log(f"{backend}: no URL given, skipped")
            continue
        for writers in [int(n) for n in args.writers.split(",")]:
            runs = []
            for _ in range(args.rounds):
                result = run(backend, urls[backend], writers, args.seconds, args.datasets, args.shared,
                             sys.executable)
                log(json.dumps(result))
                runs.append(result)
            every += runs
            median = sorted(runs, key=lambda r: r["calls_per_s"])[len(runs) // 2]
            median = {**median, "problems": sorted({p for r in runs for p in r["problems"]})}
            median["calls_per_s"] = statistics.median(r["calls_per_s"] for r in runs)
            rows.append(median)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(every, indent=1))
    return 1 if any(row["problems"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
