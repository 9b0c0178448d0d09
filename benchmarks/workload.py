"""One benchmark target: build a store, ingest a pipeline history, time queries.

The same code drives ml-metadata and lineage through MLMD's Python API; only
the import block in :func:`load_api` differs. It runs in its own process
(ml-metadata needs its own virtual environment) and prints one JSON object on
stdout; progress goes to stderr.

Workload: ``runs`` pipeline runs of ``steps`` chained steps. Each run has one
``PipelineRun`` context. Step 0 reads a new raw ``Dataset`` artifact and every
step writes one ``Examples`` artifact that the next step reads. Each step has
its own execution type (``Step0`` .. ``StepK-1``), as each pipeline component
has its own type in TFX. Every step is written with a single
``put_execution`` call.

Usage::

    python benchmarks/workload.py --target mlmd-fake --runs 2000 --steps 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["TARGETS", "Target", "run_target", "main"]

PIPELINE = "bench"
DAYS = 365


@dataclass(frozen=True)
class Target:
    """A store to measure.

    Attributes:
        name: Name used on the command line and in the results.
        impl: ``"mlmd"`` (ml-metadata) or ``"lineage"`` (this project).
        backend: ``"fake"`` (in-memory), ``"sqlite"`` (a file), ``"mysql"``
            or ``"postgresql"`` (a new database on the server named by
            ``LINEAGE_MYSQL_URL`` / ``LINEAGE_POSTGRES_URL``), or ``"neo4j"``
            (the database of the server named by ``LINEAGE_NEO4J_URI``, emptied
            first).
        baseline: For a lineage target, the ml-metadata target it is
            compared with.
    """

    name: str
    impl: str
    backend: str
    baseline: str | None = None

    @property
    def in_memory(self) -> bool:
        """Whether the store keeps its records in process memory."""
        return self.backend == "fake"


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("mlmd-fake", "mlmd", "fake"),
        Target("mlmd-sqlite", "mlmd", "sqlite"),
        Target("lineage-memory", "lineage", "fake", baseline="mlmd-fake"),
        Target("lineage-sqlite", "lineage", "sqlite", baseline="mlmd-sqlite"),
        Target("mlmd-mysql", "mlmd", "mysql"),
        Target("lineage-mysql", "lineage", "mysql", baseline="mlmd-mysql"),
        Target("mlmd-postgresql", "mlmd", "postgresql"),
        Target("lineage-postgresql", "lineage", "postgresql", baseline="mlmd-postgresql"),
        Target("lineage-neo4j", "lineage", "neo4j", baseline="mlmd-sqlite"),
    )
}

#: Environment variables naming the server of each server backend.
SERVER_URL_ENV = {"mysql": "LINEAGE_MYSQL_URL", "postgresql": "LINEAGE_POSTGRES_URL"}

#: Environment variable naming the Neo4j server of the ``lineage-neo4j`` target. Neo4j
#: Community holds one database, so the target empties it instead of creating one.
NEO4J_URI_ENV = "LINEAGE_NEO4J_URI"


def empty_neo4j(uri: str) -> None:
    """Deletes every node and relationship of the Neo4j database at ``uri``; the schema stays."""
    import neo4j

    with neo4j.GraphDatabase.driver(uri, notifications_min_severity="OFF") as driver:
        with driver.session() as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def server_database(target: Target) -> str:
    """The database a server target writes: new for each run, dropped by run.py."""
    return f"bench_{target.name.replace('-', '_')}_{os.getpid()}"


def load_api(impl: str) -> tuple[Any, Any, str]:
    """Imports the store API of one implementation.

    Args:
        impl: ``"mlmd"`` or ``"lineage"``.

    Returns:
        The package (exposing ``MetadataStore`` and ``ListOptions``), its
        ``metadata_store_pb2`` module, and the package version.

    Raises:
        ValueError: If ``impl`` is unknown.
    """
    if impl == "mlmd":
        import ml_metadata as mlmd
        from ml_metadata.proto import metadata_store_pb2
    elif impl == "lineage":
        import lineage as mlmd
        from lineage.proto import metadata_store_pb2
    else:
        raise ValueError(f"unknown impl {impl!r}")
    version = getattr(mlmd, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("ml-metadata" if impl == "mlmd" else "lineage")
    return mlmd, metadata_store_pb2, version


def connection_config(pb: Any, target: Target, workdir: str) -> tuple[Any, str | None]:
    """Builds the ConnectionConfig of a target.

    Args:
        pb: The ``metadata_store_pb2`` module.
        target: The target; its backend picks the config.
        workdir: Directory for database files.

    Returns:
        The config and the database file path (None when in memory).

    Raises:
        ValueError: If the backend is unknown.
    """
    backend = target.backend
    if backend == "fake":
        return pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()), None
    if backend == "sqlite":
        path = os.path.join(workdir, f"{target.name}.sqlite")
        sqlite = pb.SqliteMetadataSourceConfig(
            filename_uri=path,
            connection_mode=pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE,
        )
        return pb.ConnectionConfig(sqlite=sqlite), path
    if backend == "neo4j":
        uri = os.environ.get(NEO4J_URI_ENV)
        if not uri:
            raise ValueError(f"{NEO4J_URI_ENV} must name the Neo4j server (its database is emptied)")
        return pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=uri)), None
    if backend in SERVER_URL_ENV:
        from urllib.parse import unquote, urlsplit

        url = os.environ.get(SERVER_URL_ENV[backend])
        if not url:
            raise ValueError(f"{SERVER_URL_ENV[backend]} must name the {backend} server")
        parts = urlsplit(url)
        database = server_database(target)
        config = pb.ConnectionConfig()
        if backend == "mysql":
            config.mysql.host = parts.hostname or "127.0.0.1"
            config.mysql.port = parts.port or 3306
            config.mysql.database = database
            config.mysql.user = unquote(parts.username or "")
            config.mysql.password = unquote(parts.password or "")
        else:
            config.postgresql.host = parts.hostname or "127.0.0.1"
            config.postgresql.port = str(parts.port or 5432)
            config.postgresql.dbname = database
            config.postgresql.user = unquote(parts.username or "")
            config.postgresql.password = unquote(parts.password or "")
        return config, None
    raise ValueError(f"unknown backend {backend!r}")


def rss_kib() -> dict[str, int]:
    """Reads the resident set size of this process from /proc.

    Returns:
        ``{"rss": current, "hwm": peak}`` in KiB; empty off Linux.
    """
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss"] = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    out["hwm"] = int(line.split()[1])
    except OSError:
        pass
    return out


class RssPeak:
    """The largest resident set of this process while a block runs, in KiB.

    The kernel's own peak (VmHWM) is updated lazily, at unmaps: after memory
    is freed it can read below an earlier VmRSS. A thread samples VmRSS
    instead, and the peak is the largest of its samples and VmHWM at the end.
    """

    def __init__(self, interval_s: float = 0.02):
        import threading

        self.peak = 0
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, rss_kib().get("rss", 0))

    def __enter__(self) -> "RssPeak":
        self.peak = rss_kib().get("rss", 0)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        now = rss_kib()
        self.peak = max(self.peak, now.get("rss", 0), now.get("hwm", 0))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def day_of(run: int) -> int:
    return run % DAYS


def run_name(run: int) -> str:
    return f"run-{run:06d}"


class Workload:
    """Writes the synthetic history and runs the measured calls.

    Args:
        mlmd: Package exposing ``MetadataStore`` and ``ListOptions``.
        pb: Its ``metadata_store_pb2`` module.
        store: An open ``MetadataStore``.
        runs: Number of pipeline runs.
        steps: Steps per run.
    """

    def __init__(self, mlmd: Any, pb: Any, store: Any, runs: int, steps: int) -> None:
        self.mlmd = mlmd
        self.pb = pb
        self.store = store
        self.runs = runs
        self.steps = steps
        self.artifact_ids: list[int] = []
        self.execution_ids: list[int] = []

    def put_types(self) -> None:
        """Registers the artifact, execution and context types."""
        pb = self.pb
        dataset = pb.ArtifactType(name="Dataset")
        dataset.properties["split"] = pb.STRING
        dataset.properties["day"] = pb.INT
        self.dataset_type = self.store.put_artifact_type(dataset)

        examples = pb.ArtifactType(name="Examples")
        examples.properties["step"] = pb.INT
        examples.properties["day"] = pb.INT
        self.examples_type = self.store.put_artifact_type(examples)

        self.step_types = []
        for step in range(self.steps):
            et = pb.ExecutionType(name=f"Step{step}")
            et.properties["step"] = pb.INT
            et.properties["day"] = pb.INT
            self.step_types.append(self.store.put_execution_type(et))

        ct = pb.ContextType(name="PipelineRun")
        ct.properties["pipeline"] = pb.STRING
        self.run_type = self.store.put_context_type(ct)

    def _event(self, kind: int, key: str) -> Any:
        ev = self.pb.Event(type=kind)
        ev.path.steps.add().key = key
        ev.path.steps.add().index = 0
        return ev

    def put_run(self, run: int, on_execution: Callable[[float], None]) -> None:
        """Writes one pipeline run, one ``put_execution`` call per step.

        Args:
            run: Run number.
            on_execution: Called after each stored execution with the wall
                time of its ``put_execution`` call in seconds.
        """
        pb = self.pb
        day = day_of(run)
        context = pb.Context(type_id=self.run_type, name=run_name(run))
        context.properties["pipeline"].string_value = PIPELINE

        raw = pb.Artifact(
            type_id=self.dataset_type,
            uri=f"/data/raw/{run_name(run)}/day-{day:03d}",
            state=pb.Artifact.LIVE,
        )
        raw.properties["split"].string_value = "train"
        raw.properties["day"].int_value = day
        previous = raw

        for step in range(self.steps):
            execution = pb.Execution(
                type_id=self.step_types[step],
                last_known_state=pb.Execution.COMPLETE,
            )
            execution.properties["step"].int_value = step
            execution.properties["day"].int_value = day
            execution.custom_properties["attempt"].int_value = 1

            output = pb.Artifact(
                type_id=self.examples_type,
                uri=f"/pipelines/{PIPELINE}/{run_name(run)}/step-{step:02d}/examples",
                state=pb.Artifact.LIVE,
            )
            output.properties["step"].int_value = step
            output.properties["day"].int_value = day

            pairs = [
                (previous, self._event(pb.Event.INPUT, "examples")),
                (output, self._event(pb.Event.OUTPUT, "examples")),
            ]
            # The run's context is new at step 0 and passed by id afterwards,
            # as a pipeline orchestrator does once it has registered the run.
            t0 = time.perf_counter()
            execution_id, artifact_ids, context_ids = self.store.put_execution(
                execution, pairs, [context], reuse_context_if_already_exist=True
            )
            elapsed = time.perf_counter() - t0
            self.execution_ids.append(execution_id)
            if step == 0:
                self.artifact_ids.append(artifact_ids[0])
                context.id = context_ids[0]
            self.artifact_ids.append(artifact_ids[1])
            # The next step passes the whole stored artifact: put_execution
            # upserts what it is given, so a bare id would erase the
            # artifact's uri and properties.
            output.id = artifact_ids[1]
            previous = output
            on_execution(elapsed)

    def filter_queries(self) -> list[tuple[str, str, int]]:
        """The timed filter queries.

        Returns:
            ``(label, filter_query, expected result count)`` triples.
        """
        target_day = 42 if self.runs > 42 else 0
        day_runs = sum(1 for r in range(self.runs) if day_of(r) == target_day)
        target_run = self.runs // 2
        return [
            (
                "filter_property",
                f"properties.day.int_value = {target_day}",
                day_runs * (self.steps + 1),
            ),
            (
                "filter_type_uri",
                f'type = "Examples" AND uri LIKE "%/{run_name(target_run)}/%"',
                self.steps,
            ),
        ]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Calls ``fn`` ``repeat`` times.

    Returns:
        Wall times in seconds and the last result.
    """
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def summary(times: list[float]) -> dict[str, Any]:
    """Median, min and max of wall times, in milliseconds."""
    ms = [t * 1000.0 for t in times]
    return {
        "median_ms": statistics.median(ms),
        "min_ms": min(ms),
        "max_ms": max(ms),
        "n": len(ms),
    }


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_target(
    target: Target,
    runs: int,
    steps: int,
    repeat: int,
    point_reads: int,
    workdir: str,
    seed: int = 0,
) -> dict[str, Any]:
    """Measures one target.

    Args:
        target: The store to measure.
        runs: Pipeline runs to ingest.
        steps: Steps per run.
        repeat: Repetitions of each filter query.
        point_reads: Number of single-id reads of each kind.
        workdir: Directory for database files.
        seed: Seed for choosing the ids of point reads.

    Returns:
        The results as a JSON-serialisable dict.
    """
    mlmd, pb, version = load_api(target.impl)
    config, db_path = connection_config(pb, target, workdir)
    if db_path is not None and os.path.exists(db_path):
        os.remove(db_path)  # a stale file would skew both ingest and queries
    if target.backend == "neo4j":
        empty_neo4j(config.neo4j.uri)  # likewise stale records
    result: dict[str, Any] = {
        "target": target.name,
        "impl": target.impl,
        "backend": target.backend,
        "version": version,
        "python": platform.python_version(),
        "runs": runs,
        "steps": steps,
        "executions": runs * steps,
        "errors": {},
    }
    if target.backend in SERVER_URL_ENV:
        result["database"] = server_database(target)

    mem_start = rss_kib()
    store = mlmd.MetadataStore(config)
    wl = Workload(mlmd, pb, store, runs, steps)
    wl.put_types()

    # Ingest: the whole history, one put_execution per execution.
    n_exec = runs * steps
    sample_every = max(1, n_exec // 20)
    mem_before = rss_kib()
    samples = [(0, mem_before.get("rss"))]
    call_times: list[float] = []
    count = 0

    def on_execution(seconds: float) -> None:
        nonlocal count
        call_times.append(seconds)
        count += 1
        if count % sample_every == 0:
            samples.append((count, rss_kib().get("rss")))

    log(f"[{target.name}] ingesting {runs} runs x {steps} steps ...")
    t_start = time.perf_counter()
    for run in range(runs):
        wl.put_run(run, on_execution)
        if (run + 1) % max(1, runs // 10) == 0:
            log(f"[{target.name}]   {run + 1}/{runs} runs")
    ingest_s = time.perf_counter() - t_start
    mem_after = rss_kib()

    result["ingest"] = {
        "seconds": ingest_s,
        "executions_per_s": n_exec / ingest_s,
        "artifacts": len(wl.artifact_ids),
        "put_execution": {
            **summary(call_times),
            "p99_ms": percentile(call_times, 0.99) * 1000.0,
        },
    }
    if mem_before.get("rss") is not None and mem_after.get("rss") is not None:
        growth = mem_after["rss"] - mem_before["rss"]
        result["memory"] = {
            "in_memory_store": target.in_memory,
            "rss_start_kib": mem_start.get("rss"),
            "rss_before_ingest_kib": mem_before["rss"],
            "rss_after_ingest_kib": mem_after["rss"],
            "rss_peak_kib": mem_after.get("hwm"),
            "rss_growth_kib": growth,
            "kib_per_1k_executions": growth * 1000.0 / n_exec,
            "samples": samples,
        }

    # Filter queries: median of `repeat` calls each, results checked.
    result["queries"] = {}
    for label, query, expected in wl.filter_queries():
        log(f"[{target.name}] {label}: {query}")
        options = mlmd.ListOptions(filter_query=query)
        try:
            times, got = timed(lambda: store.get_artifacts(list_options=options), repeat)
        except Exception as e:  # noqa: BLE001 - a failing query is a result
            result["errors"][label] = f"{type(e).__name__}: {e}"
            continue
        entry = summary(times)
        entry.update(query=query, results=len(got), expected=expected, ok=len(got) == expected)
        result["queries"][label] = entry

    # Point reads: one id per call, the same random ids on every target.
    rng = random.Random(seed)
    reads = {
        "get_artifacts_by_id": (store.get_artifacts_by_id, wl.artifact_ids),
        "get_executions_by_id": (store.get_executions_by_id, wl.execution_ids),
    }
    result["point_reads"] = {}
    for label, (method, ids) in reads.items():
        log(f"[{target.name}] {label} x {point_reads}")
        picks = [rng.choice(ids) for _ in range(point_reads)]
        times = []
        wrong = 0
        try:
            for i in picks:
                t0 = time.perf_counter()
                got = method([i])
                times.append(time.perf_counter() - t0)
                wrong += len(got) != 1 or got[0].id != i
        except Exception as e:  # noqa: BLE001 - a failing read is a result
            result["errors"][label] = f"{type(e).__name__}: {e}"
            continue
        entry = summary(times)
        entry.update(ok=wrong == 0, wrong=wrong)
        result["point_reads"][label] = entry

    if db_path is not None and os.path.exists(db_path):
        result["db_file_bytes"] = os.path.getsize(db_path)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: measures one target, prints JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", required=True, choices=sorted(TARGETS))
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--point-reads", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", help="directory for database files (default: a temporary one)")
    args = p.parse_args(argv)
    if args.runs < 1 or args.steps < 1 or args.repeat < 1 or args.point_reads < 1:
        p.error("--runs, --steps, --repeat and --point-reads must be positive")

    workdir = args.workdir or tempfile.mkdtemp(prefix="lineage-bench-")
    os.makedirs(workdir, exist_ok=True)
    try:
        result = run_target(
            TARGETS[args.target],
            args.runs,
            args.steps,
            args.repeat,
            args.point_reads,
            workdir,
            args.seed,
        )
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
