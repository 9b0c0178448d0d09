"""Lineage extension service benchmark: over gRPC vs in-process, and purge on each backend.

a. Downstream of a raw dataset with ~8,000 nodes below it (``--runs`` pipeline
   runs of ``--steps`` chained steps whose first step reads the dataset), asked
   in-process (``store.lineage.downstream``) and through a metadata server on
   loopback (``lineage serve`` in its own process; the client's
   ``store.lineage.downstream`` is one ``lineage.v1.LineageService/Trace``
   call, streamed in chunks). Memory and SQLite behind the server. Target:
   gRPC within 2x of in-process.
b. Purge of a raw dataset with everything downstream (~10,000 nodes) on
   SQLite, PostgreSQL and Neo4j: the time of the one purge call and the records
   it removes per second (nodes, events, attributions, associations), one
   fresh history per round.
c. ``as_of=`` walks (``--part as_of``): downstream of the raw dataset and
   upstream of the last output at 8,001 nodes, with and without ``as_of``
   (a moment after the last write, so both answers are the whole graph and
   must be equal), on the purge targets.

Usage::

    python benchmarks/lineage_service_bench.py                   # both parts, full sizes
    python benchmarks/lineage_service_bench.py --quick           # small sizes
    python benchmarks/lineage_service_bench.py --part purge --targets sqlite,neo4j

PostgreSQL comes from ``LINEAGE_POSTGRES_URL`` (a fresh database per round is
made next to the one it names), Neo4j from ``NEO4J_URI`` (its database is
emptied first). Results print as a table and go to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import lineage
from lineage.proto import metadata_store_pb2 as pb

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def build_history(store, runs: int, steps: int) -> int:
    """Writes ``runs`` chains of ``steps`` steps below one raw dataset; returns the dataset's id."""
    data = store.put_artifact_type(pb.ArtifactType(name="Data", properties={"step": pb.INT}))
    step_type = store.put_execution_type(pb.ExecutionType(name="Step", properties={"step": pb.INT}))
    run_type = store.put_context_type(pb.ContextType(name="Run"))
    [raw] = store.put_artifacts([pb.Artifact(type_id=data, uri="/raw", state=pb.Artifact.LIVE)])
    for run in range(runs):
        context = pb.Context(type_id=run_type, name=f"run-{run}")
        previous = raw
        for step in range(steps):
            execution = pb.Execution(type_id=step_type, last_known_state=pb.Execution.COMPLETE)
            execution.properties["step"].int_value = step
            [source] = store.get_artifacts_by_id([previous])
            output = pb.Artifact(type_id=data, uri=f"/runs/{run}/{step}", state=pb.Artifact.LIVE)
            output.properties["step"].int_value = step
            _, [_, made], [context_id] = store.put_execution(
                execution, [(source, pb.Event(type=pb.Event.INPUT)), (output, pb.Event(type=pb.Event.OUTPUT))],
                [context], reuse_context_if_already_exist=True)
            context.id = context_id
            previous = made
    return raw


def _shape(graph) -> tuple:
    return ([a.id for a in graph.artifacts], [e.id for e in graph.executions],
            [(e.artifact_id, e.execution_id, e.type) for e in graph.events])


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000.0


def _time(fn, repeat: int) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def _start_server(db_url: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", "0", "--db", db_url,
         "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"lineage serve did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def _client(port: int) -> lineage.MetadataStore:
    return lineage.MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=port))


def bench_grpc(targets: list[str], runs: int, steps: int, repeat: int, workdir: Path) -> list[dict]:
    rows = []
    for target in targets:
        if target == "memory":
            # The server's store is in its own memory: the same history is written there through
            # the client, and into a local in-memory store for the in-process side.
            process, port = _start_server("memory://")
            local = lineage.connect("memory://")
            remote = _client(port)
            log(f"[grpc/{target}] writing {runs}x{steps} twice")
            raw = build_history(local, runs, steps)
            assert build_history(remote, runs, steps) == raw
        elif target == "sqlite":
            url = f"sqlite:///{workdir / f'grpc-{uuid.uuid4().hex[:6]}.sqlite'}"
            local = lineage.connect(url)
            log(f"[grpc/{target}] writing {runs}x{steps}")
            raw = build_history(local, runs, steps)
            process, port = _start_server(url)
            remote = _client(port)
        else:
            raise SystemExit(f"unknown gRPC target {target!r}: memory or sqlite")
        try:
            # Warm both sides (connection, statement caches) before timing.
            here_graph, there_graph = local.lineage.downstream([raw]), remote.lineage.downstream([raw])
            # (Two memory stores differ in their timestamps: the shapes must be the same.)
            assert _shape(here_graph) == _shape(there_graph), "the gRPC answer differs from the in-process one"
            rounds_here, rounds_there = [], []
            for _ in range(repeat):
                # Alternate the two so that a noisy neighbour hits both alike.
                rounds_here += _time(lambda: local.lineage.downstream([raw]), 1)[0]
                rounds_there += _time(lambda: remote.lineage.downstream([raw]), 1)[0]
            here, there = _median_ms(rounds_here), _median_ms(rounds_there)
            rows.append({"part": "grpc", "target": target, "nodes": len(here_graph),
                         "events": len(here_graph.events), "in_process_ms": round(here, 1),
                         "grpc_ms": round(there, 1), "ratio": round(there / here, 2), "repeat": repeat,
                         "rpcs_per_question": 1})
            log(f"[grpc/{target}] {rows[-1]}")
        finally:
            remote.close()
            local.close()
            process.terminate()
            process.wait(10)
    return rows


def _postgres_url(base: str, name: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(sa.engine.make_url(base).set(drivername="postgresql+psycopg"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_postgres(base: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(sa.engine.make_url(base).set(drivername="postgresql+psycopg"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_neo4j(uri: str) -> None:
    import neo4j

    with neo4j.GraphDatabase.driver(uri, notifications_min_severity="OFF") as driver:
        with driver.session() as session:
            session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def _purge_store(target: str, workdir: Path):
    """A fresh store of the target and a cleanup function."""
    if target == "sqlite":
        url = f"sqlite:///{workdir / f'purge-{uuid.uuid4().hex[:6]}.sqlite'}"
        return lineage.connect(url), lambda: None
    if target == "postgresql":
        base = os.environ.get("LINEAGE_POSTGRES_URL")
        if not base:
            raise SystemExit("set LINEAGE_POSTGRES_URL for the postgresql target")
        name = f"bench_purge_{uuid.uuid4().hex[:8]}"
        store = lineage.connect(_postgres_url(base, name))
        return store, lambda: _drop_postgres(base, name)
    if target == "neo4j":
        uri = os.environ.get("NEO4J_URI")
        if not uri:
            raise SystemExit("set NEO4J_URI for the neo4j target")
        _empty_neo4j(uri)
        parts = urlsplit(uri)
        return lineage.connect(urlunsplit(parts._replace(scheme="bolt"))), lambda: _empty_neo4j(uri)
    raise SystemExit(f"unknown purge target {target!r}: sqlite, postgresql or neo4j")


def bench_purge(targets: list[str], runs: int, steps: int, rounds: int, workdir: Path) -> list[dict]:
    rows = []
    for target in targets:
        seconds, dry_seconds, records, nodes = [], [], 0, 0
        for round_ in range(rounds):
            store, cleanup = _purge_store(target, workdir)
            try:
                log(f"[purge/{target}] round {round_ + 1}: writing {runs}x{steps}")
                raw = build_history(store, runs, steps)
                start = time.perf_counter()
                dry = store.lineage.purge("artifact", [raw], with_downstream=True, dry_run=True)
                dry_seconds.append(time.perf_counter() - start)
                start = time.perf_counter()
                report = store.lineage.purge("artifact", [raw], with_downstream=True)
                seconds.append(time.perf_counter() - start)
                assert report.counts == dry.counts and not store.get_artifacts_by_id([raw])
                nodes = report.nodes
                records = nodes + sum(report.counts[k] for k in ("events", "attributions", "associations"))
            finally:
                store.close()
                cleanup()
        median = statistics.median(seconds)
        rows.append({"part": "purge", "target": target, "nodes": nodes, "records": records,
                     "purge_s": round(median, 3), "dry_run_s": round(statistics.median(dry_seconds), 3),
                     "nodes_per_s": round(nodes / median), "records_per_s": round(records / median),
                     "rounds": rounds, "each_s": [round(s, 3) for s in seconds]})
        log(f"[purge/{target}] {rows[-1]}")
    return rows


def bench_as_of(targets: list[str], runs: int, steps: int, repeat: int, workdir: Path) -> list[dict]:
    """Downstream of the raw dataset and upstream of the last output, with and without ``as_of``."""
    rows = []
    for target in targets:
        store, cleanup = _purge_store(target, workdir)
        try:
            log(f"[as_of/{target}] writing {runs}x{steps}")
            raw = build_history(store, runs, steps)
            last = max(a.id for a in store.get_artifacts())
            now = int(time.time() * 1000)
            for name, walk, start in (("downstream", store.lineage.downstream, raw),
                                      ("upstream", store.lineage.upstream, last)):
                plain, graph = _time(lambda: walk([start]), repeat)
                dated, dated_graph = _time(lambda: walk([start], as_of=now), repeat)
                assert _shape(graph) == _shape(dated_graph)
                rows.append({"part": "as_of", "target": target, "walk": name, "nodes": len(graph),
                             "plain_ms": round(_median_ms(plain), 1), "as_of_ms": round(_median_ms(dated), 1),
                             "ratio": round(_median_ms(dated) / _median_ms(plain), 2), "repeat": repeat})
                log(f"[as_of/{target}] {rows[-1]}")
        finally:
            store.close()
            cleanup()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("grpc", "purge", "as_of", "all"), default="all")
    p.add_argument("--quick", action="store_true", help="400 nodes, 3 repeats, 1 round")
    p.add_argument("--grpc-targets", default="memory,sqlite")
    p.add_argument("--targets", default="sqlite,postgresql,neo4j", help="purge targets")
    p.add_argument("--repeat", type=int, default=15, help="downstream calls per side (a)")
    p.add_argument("--rounds", type=int, default=3, help="fresh histories purged per target (b)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    grpc_size, purge_size = (400, 10), (500, 10)  # 8,001 and 10,001 nodes
    if args.quick:
        grpc_size, purge_size, args.repeat, args.rounds = (20, 10), (20, 10), 3, 1
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("grpc", "all"):
            rows += bench_grpc(args.grpc_targets.split(","), *grpc_size, args.repeat, Path(tmp))
        if args.part in ("purge", "all"):
            rows += bench_purge(args.targets.split(","), *purge_size, args.rounds, Path(tmp))
        if args.part in ("as_of", "all"):
            rows += bench_as_of(args.targets.split(","), *grpc_size, args.repeat, Path(tmp))
    for row in rows:
        if row["part"] == "grpc":
            print(f"downstream {row['nodes']} nodes, {row['target']:>10}: in-process {row['in_process_ms']} ms, "
                  f"gRPC {row['grpc_ms']} ms, ratio {row['ratio']} (median of {row['repeat']}, "
                  f"{row['rpcs_per_question']} RPC)")
        elif row["part"] == "as_of":
            print(f"{row['walk']} {row['nodes']} nodes, {row['target']:>10}: {row['plain_ms']} ms, "
                  f"as_of {row['as_of_ms']} ms, ratio {row['ratio']} (median of {row['repeat']})")
        else:
            print(f"purge {row['nodes']} nodes / {row['records']} records, {row['target']:>10}: "
                  f"{row['purge_s']} s ({row['nodes_per_s']} nodes/s, {row['records_per_s']} records/s), "
                  f"dry run {row['dry_run_s']} s (median of {row['rounds']})")
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / f"lineage_service_{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(rows, indent=2))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
