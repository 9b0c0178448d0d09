"""Scale benchmark: the same questions on stores of 10^4, 10^5 and 10^6 executions.

One script, three roles, like ``benchmarks/shapes.py``:

``--build --target NAME --size E``
    Builds the history of about ``E`` executions in the store of one target
    and writes its ids and load time under the cache directory. It runs under
    that target's interpreter (ml-metadata needs its own virtual environment).
``--target NAME --size E``
    Opens the built store and times every question; prints one JSON object.
(neither)
    Runs the children for ``--targets`` x ``--sizes`` one after the other,
    prints the growth table and writes it to ``benchmarks/results/``.

History (``ScaleWorkload``, built on the records of ``ShapeWorkload`` so its
query shapes apply unchanged): ``runs`` pipeline runs of ``steps`` chained
steps plus a ``Trainer`` writing a ``Model``; each run is a ``PipelineRun``
context, a child of one of ``runs // 100`` ``Pipeline`` contexts (the first
is ``bench``). Step 0 reads the run's own raw ``Dataset`` and one of four
shared raw datasets: ``hub`` is read by ``HUB_RUNS`` runs spread over the
history at every size (so its downstream has the same size everywhere), the
other runs read one of three daily datasets. At the end come one
``CHAIN``-step chain and four 50-step chains, each from its own raw dataset.
Each run is one ``put_lineage_subgraph`` call; so is each chain.

Loading (``--build``):
    ``lineage-sqlite``: ``put_lineage_subgraph`` per run into a SQLite file.
    That is the fastest path measured for SQLite: the client's work per
    record (checks, properties, fingerprints), not the calls, sets the pace,
    so the same records through one call per record kind for 100 runs at a
    time, or imported as an export stream, cost as much CPU or more
    (10^4 executions: 9.6 s per run, 11.7 s batched, 8.6 s imported).
    ``lineage-postgresql`` and ``lineage-neo4j``: ``lineage.copy.copy_store``
    from that file (the same records and ids; the copy is timed). PostgreSQL
    takes the nodes and events with ids reserved in one statement and large
    batches by ``COPY``; Neo4j commits the import every 100,000 records, so
    the server heap does not grow with the store.
    ``mlmd-sqlite`` and ``mlmd-postgresql``: ml-metadata's own
    ``put_lineage_subgraph`` per run, into its own file / database; with
    ``--clone-mlmd`` ml-metadata's store is instead a copy of lineage's
    (the SQLite file; for PostgreSQL a server-side ``CREATE DATABASE ...
    TEMPLATE``), which keeps MLMD's schema (the load figure is then the copy's).
SQLite stores are written under ``/dev/shm`` and then moved into the cache:
on this machine's disk a commit's fsync, not the work, sets the pace.
Built stores stay in ``--cache`` (SQLite files, the ids) and on the servers
(databases ``scale_<impl>_e<size>``; Neo4j holds one size at a time); with
``--reuse`` a child finds them there instead of building again.

Usage::

    python benchmarks/scale.py --sizes 10000,100000 --reuse
    python benchmarks/scale.py --sizes 10000 --targets lineage-sqlite,mlmd-sqlite
    python benchmarks/scale.py --sizes 10000,100000 --report     # the kept results, one table
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import ShapeWorkload, _timed  # noqa: E402
from workload import (  # noqa: E402
    NEO4J_URI_ENV,
    SERVER_URL_ENV,
    TARGETS,
    connection_config,
    empty_neo4j,
    load_api,
    log,
    rss_kib,
    run_name,
)

__all__ = ["ScaleWorkload", "main"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_CACHE = HERE / "results" / "scale-cache"
DEFAULT_TARGETS = "lineage-sqlite,mlmd-sqlite,lineage-postgresql,mlmd-postgresql,lineage-neo4j"

STEPS = 10
#: Runs that read the ``hub`` dataset, at every size.
HUB_RUNS = 800
#: Length of the long chain walked to its root, and of the short ones.
CHAIN = 500
SHORT_CHAINS = (50, 50, 50, 50)
#: ml-metadata's get_lineage_subgraph caps max_num_hops at 100.
MLMD_MAX_HOPS = 100
POINT_READS = 200
#: Records per backend call of the copy into PostgreSQL and Neo4j (fewer round trips).
COPY_BATCH = {"postgresql": 5000, "neo4j": 1000}
#: Where SQLite stores are written before they move into the cache.
BUILD_DIR = "/dev/shm"
#: Shapes whose answer is a fixed fraction of the store (or all of it): above
#: ``WHOLE_STORE_LIMIT`` executions they are left out unless ``--all-shapes``.
WHOLE_STORE = (
    "all artifacts", "all executions", "all contexts", "artifacts by type Model",
    "executions by type Step3", 'f: type = "Model"', "f: NOT type = Examples",
    "page all Examples by create time", "f: parent_contexts_a.name (contexts)",
    "f: accuracy > 0.99", "f: custom framework = tf", "f: type AND accuracy > 0.99",
    "f: day range (int)", "f: Model AND name IS NULL",
)
WHOLE_STORE_LIMIT = 20_000


def runs_for(size: int) -> int:
    """Pipeline runs of a history of about ``size`` executions."""
    chains = CHAIN + sum(SHORT_CHAINS)
    runs = (size - chains) // (STEPS + 1)
    if runs < HUB_RUNS:
        raise SystemExit(f"--size {size} is too small: at least {HUB_RUNS * (STEPS + 1) + chains}")
    return runs


def pg_database(impl: str, size: int) -> str:
    """The database name of a PostgreSQL store of one implementation and size."""
    return f"scale_{impl}_e{size}"


class ScaleWorkload(ShapeWorkload):
    """The records of ``ShapeWorkload``, written in bulk, with shared inputs and long chains."""

    def put_types(self) -> None:
        super().put_types()
        pb = self.pb
        chain = pb.ExecutionType(name="ChainStep")
        chain.properties["step"] = pb.INT
        self.chain_type = self.store.put_execution_type(chain)
        pipelines = max(1, self.runs // 100)
        names = ["bench"] + [f"pipeline-{p:04d}" for p in range(1, pipelines)]
        self.pipeline_ids = [self.pipeline_id] + self.store.put_contexts(
            [pb.Context(type_id=self.pipeline_type, name=n) for n in names[1:]])
        shared = []
        for name in ("hub", "daily-a", "daily-b", "daily-c"):
            a = pb.Artifact(type_id=self.dataset_type, uri=f"/data/shared/{name}", state=pb.Artifact.LIVE)
            a.properties["split"].string_value = "train"
            shared.append(a)
        self.shared_ids = self.store.put_artifacts(shared)
        self.hub_id = self.shared_ids[0]
        self.chain_tips: list[int] = []
        self.trainer_inputs: list[int] = []

    def reads_hub(self, run: int) -> bool:
        stride = max(1, self.runs // HUB_RUNS)
        return run % stride == 0 and run // stride < HUB_RUNS

    def _artifact(self, type_id: int, uri: str, step: int, day: int) -> Any:
        a = self.pb.Artifact(type_id=type_id, uri=uri, state=self.pb.Artifact.LIVE)
        if type_id == self.examples_type:
            a.properties["step"].int_value = step
        else:
            a.properties["split"].string_value = "train"
        a.properties["day"].int_value = day
        return a

    def put_bulk_run(self, run: int) -> None:
        """Writes one run (its steps, Trainer and Model) with one put_lineage_subgraph call."""
        pb = self.pb
        day = run % 365
        name = run_name(run)
        context = pb.Context(type_id=self.run_type, name=name)
        context.properties["pipeline"].string_value = "bench" if run % len(self.pipeline_ids) == 0 else "other"
        executions, artifacts, edges = [], [], []
        artifacts.append(self._artifact(self.dataset_type, f"/data/raw/{name}/day-{day:03d}", 0, day))
        for step in range(self.steps):
            e = pb.Execution(type_id=self.step_types[step], last_known_state=pb.Execution.COMPLETE)
            e.properties["step"].int_value = step
            e.properties["day"].int_value = day
            e.custom_properties["attempt"].int_value = 1
            executions.append(e)
            artifacts.append(self._artifact(
                self.examples_type, f"/pipelines/bench/{name}/step-{step:02d}/examples", step, day))
            edges.append((step, step, self._event(pb.Event.INPUT, "examples")))
            edges.append((step, step + 1, self._event(pb.Event.OUTPUT, "examples")))
        shared = self.hub_id if self.reads_hub(run) else self.shared_ids[1 + run % 3]
        read_shared = self._event(pb.Event.INPUT, "shared")
        read_shared.artifact_id = shared
        edges.append((0, None, read_shared))
        trainer = pb.Execution(type_id=self.trainer_type, last_known_state=pb.Execution.COMPLETE)
        trainer.properties["day"].int_value = day
        executions.append(trainer)
        model = pb.Artifact(type_id=self.model_type, uri=f"/models/{name}", state=pb.Artifact.LIVE)
        model.properties["accuracy"].double_value = ((run * 7919) % 10007) / 10007.0
        model.properties["day"].int_value = day
        model.custom_properties["framework"].string_value = ("tf", "torch", "jax")[run % 3]
        if run % 3:
            model.name = f"model-{name}"
        artifacts.append(model)
        edges.append((self.steps, self.steps, self._event(pb.Event.INPUT, "examples")))
        edges.append((self.steps, self.steps + 1, self._event(pb.Event.OUTPUT, "model")))
        execution_ids, artifact_ids, [context_id] = self.store.put_lineage_subgraph(
            executions, artifacts, [context], edges)
        self.execution_ids.extend(execution_ids)
        self.artifact_ids.extend(artifact_ids)
        self.raw_ids.append(artifact_ids[0])
        self.model_ids.append(artifact_ids[-1])
        self.trainer_inputs.append(artifact_ids[-2])
        self.context_ids.append(context_id)

    def put_chain(self, number: int, length: int) -> None:
        """Writes a chain of ``length`` steps from its own raw dataset, in one call."""
        pb = self.pb
        name = f"chain-{number}-{length}"
        context = pb.Context(type_id=self.run_type, name=name)
        context.properties["pipeline"].string_value = "chain"
        artifacts = [self._artifact(self.dataset_type, f"/data/raw/{name}", 0, 0)]
        executions, edges = [], []
        for step in range(length):
            e = pb.Execution(type_id=self.chain_type, last_known_state=pb.Execution.COMPLETE)
            e.properties["step"].int_value = step
            executions.append(e)
            artifacts.append(self._artifact(self.examples_type, f"/chains/{name}/{step:04d}", step, 0))
            edges.append((step, step, self._event(pb.Event.INPUT, "examples")))
            edges.append((step, step + 1, self._event(pb.Event.OUTPUT, "examples")))
        execution_ids, artifact_ids, _ = self.store.put_lineage_subgraph(executions, artifacts, [context], edges)
        self.execution_ids.extend(execution_ids)
        self.artifact_ids.extend(artifact_ids)
        self.chain_tips.append(artifact_ids[-1])

    def build(self) -> None:
        """Writes the whole history: runs, parent links in batches, then the chains."""
        pb = self.pb
        parents = []
        every = max(1, self.runs // 20)
        for run in range(self.runs):
            self.put_bulk_run(run)
            parents.append(pb.ParentContext(child_id=self.context_ids[-1],
                                            parent_id=self.pipeline_ids[run % len(self.pipeline_ids)]))
            if len(parents) >= 1000:
                self.store.put_parent_contexts(parents)
                parents = []
            if (run + 1) % every == 0:
                log(f"  {run + 1}/{self.runs} runs")
        if parents:
            self.store.put_parent_contexts(parents)
        for number, length in enumerate((CHAIN, *SHORT_CHAINS)):
            self.put_chain(number, length)

    def ids(self) -> dict[str, Any]:
        """What the questions need to know of the built store."""
        return {k: getattr(self, k) for k in (
            "artifact_ids", "execution_ids", "context_ids", "model_ids", "raw_ids", "trainer_inputs",
            "chain_tips", "hub_id", "trainer_type")}

    def restore(self, ids: dict[str, Any]) -> None:
        for k, v in ids.items():
            setattr(self, k, v)


# ---------------------------------------------------------------- one target

def _config(target_name: str, size: int, cache: Path) -> tuple[Any, Any, Any, str]:
    target = TARGETS[target_name]
    mlmd, pb, version = load_api(target.impl)
    workdir = cache / f"E{size}"
    workdir.mkdir(parents=True, exist_ok=True)
    config, _ = connection_config(pb, target, str(workdir))
    if target.backend == "postgresql":
        config.postgresql.dbname = pg_database(target.impl, size)
    return mlmd, pb, config, version


def _stamp(cache: Path, size: int, target_name: str) -> Path:
    return cache / f"E{size}" / f"{target_name}.json"


def build(target_name: str, size: int, cache: Path) -> dict[str, Any]:
    """Builds the store of one target and size; returns (and keeps) its ids and load time."""
    target = TARGETS[target_name]
    mlmd, pb, config, version = _config(target_name, size, cache)
    runs = runs_for(size)
    final_path = None
    if target.backend == "sqlite":
        # Built in memory-backed storage (one fsync per call dominates on disk), then moved.
        final_path = config.sqlite.filename_uri
        staging = Path(BUILD_DIR if os.path.isdir(BUILD_DIR) else final_path + ".d")
        staging.mkdir(parents=True, exist_ok=True)
        config.sqlite.filename_uri = str(staging / f"scale-{target_name}-{size}-{os.getpid()}.sqlite")
    if target.backend == "neo4j":
        empty_neo4j(config.neo4j.uri)
    t0 = time.perf_counter()
    if target.impl == "lineage" and target.backend != "sqlite":
        # The same records and ids as the SQLite store, through the copy path.
        from lineage.copy import copy_store

        # A batch of a large copy can outlast the default statement timeout on a busy machine.
        os.environ.setdefault("LINEAGE_STATEMENT_TIMEOUT", "600")
        source_stamp = json.loads(_stamp(cache, size, "lineage-sqlite").read_text())
        _, _, source_config, _ = _config("lineage-sqlite", size, cache)
        source = mlmd.MetadataStore(source_config)
        destination = mlmd.MetadataStore(config)
        batch = COPY_BATCH[target.backend]
        report = copy_store(source, destination, batch_size=batch)
        ids = source_stamp["ids"]
        how = f"lineage copy from lineage-sqlite ({report.records} records, batches of {batch})"
        if target.backend == "postgresql":
            # As after any bulk load: the planner gets statistics now, not when autovacuum wakes.
            _analyze_pg(config.postgresql.dbname)
            how += ", then ANALYZE"
    else:
        store = mlmd.MetadataStore(config)
        wl = ScaleWorkload(mlmd, pb, store, runs, STEPS)
        wl.put_types()
        log(f"[{target_name}] building {runs} runs x {STEPS + 1} executions + chains ...")
        wl.build()
        ids = wl.ids()
        how = "put_lineage_subgraph per run"
    if final_path is not None:
        _close(store)
        _move_sqlite(config.sqlite.filename_uri, final_path)
    seconds = time.perf_counter() - t0
    stamp = {"target": target_name, "version": version, "size": size, "runs": runs,
             "executions": len(ids["execution_ids"]), "artifacts": len(ids["artifact_ids"]),
             "load_s": seconds, "how": how, "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             "ids": ids}
    _stamp(cache, size, target_name).write_text(json.dumps(stamp))
    log(f"[{target_name}] E{size}: loaded in {seconds:.1f} s ({how})")
    return stamp


def _close(store: Any) -> None:
    close = getattr(store, "close", None)  # ml-metadata's store has none: it closes when dropped
    if close is not None:
        close()


def _move_sqlite(path: str, destination: str) -> None:
    """Moves a closed SQLite file, with its write-ahead log folded in first."""
    import sqlite3

    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode = DELETE")
    finally:
        connection.close()
    for suffix in ("-wal", "-shm", "-journal"):
        if os.path.exists(destination + suffix):
            os.remove(destination + suffix)
    shutil.move(path, destination)


def _recreate_pg(database: str) -> None:
    """Makes an empty PostgreSQL database (lineage's environment only: ml-metadata's has no driver)."""
    import sqlalchemy as sa

    url = sa.engine.make_url(os.environ[SERVER_URL_ENV["postgresql"]]).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            # Identifiers, not values: this script chose them.
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            connection.exec_driver_sql(f"CREATE DATABASE {database}")
    finally:
        engine.dispose()


def _analyze_pg(database: str) -> None:
    """Gathers the planner's statistics of one PostgreSQL database (counted in its load time)."""
    import sqlalchemy as sa

    url = sa.engine.make_url(os.environ[SERVER_URL_ENV["postgresql"]]).set(
        drivername="postgresql+psycopg", database=database)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def clone_for_mlmd(cache: Path, size: int, backend: str) -> None:
    """Makes ml-metadata's store of ``backend`` a copy of lineage's (the same MLMD schema).

    SQLite: a copy of the file; PostgreSQL: a server-side copy
    (``CREATE DATABASE ... TEMPLATE``). ml-metadata ignores what lineage adds.
    """
    source = _stamp(cache, size, f"lineage-{backend}")
    if not source.exists():
        raise SystemExit(f"--clone-mlmd needs lineage-{backend} built first")
    stamp = json.loads(source.read_text())
    t0 = time.perf_counter()
    if backend == "sqlite":
        # The files' paths, without importing ml-metadata (this runs in lineage's environment).
        _, pb, _ = load_api("lineage")
        workdir = str(cache / f"E{size}")
        _, ours = connection_config(pb, TARGETS["lineage-sqlite"], workdir)
        _, theirs = connection_config(pb, TARGETS["mlmd-sqlite"], workdir)
        shutil.copyfile(ours, theirs)
        how = "a copy of lineage-sqlite's file"
    else:
        import sqlalchemy as sa

        url = sa.engine.make_url(os.environ[SERVER_URL_ENV["postgresql"]]).set(drivername="postgresql+psycopg")
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                # Identifiers, not values: this script chose them.
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {pg_database('mlmd', size)} WITH (FORCE)")
                connection.exec_driver_sql(f"CREATE DATABASE {pg_database('mlmd', size)} "
                                           f"TEMPLATE {pg_database('lineage', size)}")
        finally:
            engine.dispose()
        how = "CREATE DATABASE ... TEMPLATE of lineage-postgresql's database"
    stamp.update(target=f"mlmd-{backend}", load_s=time.perf_counter() - t0, how=how)
    _stamp(cache, size, f"mlmd-{backend}").write_text(json.dumps(stamp))


def _nodes(graph: Any) -> int:
    """Artifacts + executions of a LineageGraph or a ProvenanceGraph."""
    return len(graph.artifacts) + len(graph.executions)


def questions(target_name: str, wl: ScaleWorkload, size: int, all_shapes: bool,
              ) -> list[tuple[str, Callable[[], int]]]:
    """The timed questions of one store: ``(label, call returning an answer size)``."""
    impl = TARGETS[target_name].impl
    pb, store = wl.pb, wl.store
    out = [(label, call) for label, call in wl.shapes()
           if all_shapes or size <= WHOLE_STORE_LIMIT or label not in WHOLE_STORE]
    mid = wl.runs // 2
    ctx, model, tip = wl.context_ids[mid], wl.model_ids[mid], wl.chain_tips[0]
    rng = random.Random(size)
    art_picks = [rng.choice(wl.artifact_ids) for _ in range(POINT_READS)]
    exe_picks = [rng.choice(wl.execution_ids) for _ in range(POINT_READS)]

    def point(method: Callable[[list[int]], list[Any]], picks: list[int]) -> Callable[[], int]:
        it = iter(picks * 1000)
        return lambda: len(method([next(it)]))

    def subgraph(start: int, direction: Any, hops: int = MLMD_MAX_HOPS) -> Callable[[], int]:
        options = pb.LineageSubgraphQueryOptions(max_num_hops=hops, direction=direction)
        options.starting_artifacts.filter_query = f"id = {start}"
        return lambda: _nodes(store.get_lineage_subgraph(options))

    up, down = pb.LineageSubgraphQueryOptions.UPSTREAM, pb.LineageSubgraphQueryOptions.DOWNSTREAM
    day = mid % 365
    out += [
        ("point read: artifact by id", point(store.get_artifacts_by_id, art_picks)),
        ("point read: execution by id", point(store.get_executions_by_id, exe_picks)),
        ("executions of one run", lambda: len(store.get_executions_by_context(ctx))),
        ("subgraph upstream of model (100 hops)", subgraph(model, up)),
        ("subgraph downstream of hub (100 hops)", subgraph(wl.hub_id, down)),
        ("subgraph chain tip upstream (100 hops)", subgraph(tip, up)),
    ]
    if impl == "lineage":
        lin = store.lineage
        out += [
            ("lineage: upstream of model", lambda: _nodes(lin.upstream([model]))),
            ("lineage: downstream of hub", lambda: _nodes(lin.downstream([wl.hub_id]))),
            ("lineage: 500-step chain to root", lambda: _nodes(lin.upstream([tip]))),
            ("cache check", lambda: int(lin.find_reusable_execution(
                "Trainer", {"examples": [wl.trainer_inputs[mid]]}, {"day": day}) is not None)),
        ]
    else:
        from lineage_bench import scan_lookup

        out.append(("cache check", lambda: int(scan_lookup(
            pb, store, wl.trainer_type, [wl.trainer_inputs[mid]], {"day": day}) is not None)))
    return out


def measure(target_name: str, size: int, cache: Path, repeat: int, all_shapes: bool) -> dict[str, Any]:
    """Opens the built store of one target and size and times every question."""
    stamp = json.loads(_stamp(cache, size, target_name).read_text())
    mlmd, pb, config, version = _config(target_name, size, cache)
    before = rss_kib()
    store = mlmd.MetadataStore(config)
    wl = ScaleWorkload(mlmd, pb, store, stamp["runs"], STEPS)
    wl.restore(stamp["ids"])
    result: dict[str, Any] = {"target": target_name, "version": version, "size": size,
                              "executions": stamp["executions"], "load_s": stamp["load_s"],
                              "load_how": stamp["how"], "shapes": {}, "errors": {}}
    for label, call in questions(target_name, wl, size, all_shapes):
        try:
            times, cpu, answer = _timed(call, POINT_READS if label.startswith("point") else repeat)
        except Exception as e:  # noqa: BLE001 - a failing question is a result
            result["errors"][label] = f"{type(e).__name__}: {e}"[:300]
            log(f"[{target_name} E{size}] {label}: {result['errors'][label]}")
            continue
        median = statistics.median(times) * 1000
        result["shapes"][label] = {"median_ms": median, "cpu_ms": statistics.median(cpu) * 1000,
                                   "size": answer, "n": len(times)}
        log(f"[{target_name} E{size}] {label}: {median:.2f} ms, {answer} results, {len(times)} calls")
    after = rss_kib()
    if after.get("hwm") and before.get("rss"):
        result["client_peak_rss_mib"] = after["hwm"] / 1024
        result["client_rss_growth_mib"] = (after["hwm"] - before["rss"]) / 1024
    return result


# ---------------------------------------------------------------- driver

def _child(python: str, args: argparse.Namespace, target: str, size: int, build_it: bool) -> dict[str, Any]:
    cmd = [python, str(Path(__file__).resolve()), "--target", target, "--size", str(size),
           "--cache", str(args.cache), "--repeat", str(args.repeat)]
    if build_it:
        cmd.append("--build")
    if args.all_shapes:
        cmd.append("--all-shapes")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE.parent, check=False)
    if proc.returncode != 0:
        return {"target": target, "size": size, "failed": f"exit {proc.returncode}"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if not build_it:
        # Kept so that --report can put runs of different sizes in one table.
        _result_path(args.cache, size, target).write_text(json.dumps(result))
    return result


def _result_path(cache: Path, size: int, target: str) -> Path:
    return cache / f"E{size}" / f"{target}.result.json"


def _neo4j_holds(cache: Path) -> Path:
    return cache / "neo4j-holds.json"


def _is_built(args: argparse.Namespace, target: str, size: int) -> bool:
    stamp = _stamp(args.cache, size, target)
    if not args.reuse or not stamp.exists():
        return False
    if TARGETS[target].backend == "neo4j":
        # Neo4j Community has one database: it holds the size built last.
        holds = _neo4j_holds(args.cache)
        return holds.exists() and json.loads(holds.read_text()) == {
            "size": size, "uri": os.environ.get(NEO4J_URI_ENV)}
    if TARGETS[target].backend == "postgresql":
        import sqlalchemy as sa

        url = sa.engine.make_url(os.environ[SERVER_URL_ENV["postgresql"]]).set(drivername="postgresql+psycopg")
        engine = sa.create_engine(url)
        try:
            with engine.connect() as c:
                found = c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": pg_database(TARGETS[target].impl, size)}).first()
        finally:
            engine.dispose()
        return found is not None
    return True


def growth_table(results: list[dict[str, Any]], sizes: list[int]) -> tuple[list[str], list[list[str]]]:
    """Per target and question: the median at each size and the ratio largest / smallest."""
    from run import fmt

    header = ["target", "question", *(f"E{s:.0e} ms".replace("+0", "") for s in sizes),
              f"x {sizes[-1] // sizes[0]} size", "answer sizes"]
    rows = []
    by = {(r["target"], r["size"]): r for r in results if "failed" not in r}
    targets = list(dict.fromkeys(r["target"] for r in results))
    for target in targets:
        first = by.get((target, sizes[0]))
        if first is None:
            continue
        rows.append([target, "load (s)", *(fmt(by[(target, s)]["load_s"]) if (target, s) in by else "-"
                                           for s in sizes), "", ""])
        for label in first["shapes"]:
            cells = [by[(target, s)]["shapes"].get(label) if (target, s) in by else None for s in sizes]
            medians = [fmt(c["median_ms"]) if c else "-" for c in cells]
            known = [c for c in cells if c]
            ratio = f"{known[-1]['median_ms'] / known[0]['median_ms']:.2f}x" if len(known) > 1 else "-"
            answers = "/".join(str(c["size"]) if c else "-" for c in cells)
            rows.append([target, label, *medians, ratio, answers])
        rows.append([target, "client peak RSS (MiB)",
                     *(fmt(by[(target, s)].get("client_peak_rss_mib")) if (target, s) in by else "-"
                       for s in sizes), "", ""])
    return header, rows


def check_answers(results: list[dict[str, Any]]) -> list[str]:
    """Questions whose answer size differs between targets of the same size (the capped
    ml-metadata hops aside, which differ by design only past 100 hops)."""
    problems = []
    by_size: dict[tuple[int, str], dict[str, int]] = {}
    for r in results:
        for label, entry in r.get("shapes", {}).items():
            by_size.setdefault((r["size"], label), {})[r["target"]] = entry["size"]
    for (size, label), answers in sorted(by_size.items()):
        if len(set(answers.values())) > 1:
            problems.append(f"E{size} {label}: {answers}")
    return problems


def drive(args: argparse.Namespace) -> int:
    from run import mlmd_python, print_table

    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    sizes = sorted(int(s) for s in args.sizes.split(","))
    pythons = {"lineage": sys.executable}
    if any(TARGETS[t].impl == "mlmd" for t in targets):
        pythons["mlmd"] = args.mlmd_python or os.environ.get("LINEAGE_MLMD_PYTHON") or mlmd_python()
    started = dt.datetime.now(dt.timezone.utc)
    results = []
    built: set[tuple[str, int]] = set()
    for size in sizes:
        for target in targets:
            if args.report:
                path = _result_path(args.cache, size, target)
                if path.exists():
                    results.append(json.loads(path.read_text()))
                continue
            python = pythons[TARGETS[target].impl]
            if (target, size) not in built and not _is_built(args, target, size):
                log(f"== build {target} E{size}")
                if TARGETS[target].backend == "postgresql":
                    _recreate_pg(pg_database(TARGETS[target].impl, size))
                if (TARGETS[target].impl == "lineage" and TARGETS[target].backend != "sqlite"
                        and ("lineage-sqlite", size) not in built and not _is_built(args, "lineage-sqlite", size)):
                    _child(sys.executable, args, "lineage-sqlite", size, True)
                    built.add(("lineage-sqlite", size))
                if TARGETS[target].impl == "mlmd" and args.clone_mlmd:
                    clone_for_mlmd(args.cache, size, TARGETS[target].backend)
                else:
                    _child(python, args, target, size, True)
                built.add((target, size))
                if TARGETS[target].backend == "neo4j":
                    _neo4j_holds(args.cache).write_text(json.dumps(
                        {"size": size, "uri": os.environ.get(NEO4J_URI_ENV)}))
            log(f"== measure {target} E{size}")
            results.append(_child(python, args, target, size, False))
    header, rows = growth_table(results, sizes)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    title = (f"growth {' -> '.join(str(s) for s in sizes)} executions; wall medians; load {load:.1f}")
    print_table(title, header, rows)
    problems = check_answers(results)
    for p in problems:
        print(f"answers differ: {p}")
    for r in results:
        for label, err in (r.get("errors") or {}).items():
            print(f"{r['target']} E{r['size']} {label}: {err}")
        if "failed" in r:
            print(f"{r['target']} E{r['size']} failed: {r['failed']}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"scale-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps({"started": started.isoformat(timespec="seconds"),
                                "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load1": load},
                                "settings": {k: str(v) for k, v in vars(args).items()},
                                "results": results}, indent=2) + "\n")
    print(f"results: {path}")
    return 1 if any("failed" in r or r.get("errors") for r in results) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", choices=sorted(TARGETS), help="one child: build or measure this target")
    p.add_argument("--size", type=int, help="with --target: executions of the store")
    p.add_argument("--build", action="store_true", help="with --target: build the store, print its stamp")
    p.add_argument("--targets", default=DEFAULT_TARGETS, help="comma-separated targets")
    p.add_argument("--sizes", default="10000,100000", help="comma-separated store sizes (executions)")
    p.add_argument("--repeat", type=int, default=5, help="most calls per question")
    p.add_argument("--reuse", action="store_true", help="reuse stores already built in --cache")
    p.add_argument("--report", action="store_true",
                   help="measure nothing: print the table of the results kept in --cache")
    p.add_argument("--all-shapes", action="store_true",
                   help=f"also time shapes whose answer grows with the store above {WHOLE_STORE_LIMIT} executions")
    p.add_argument("--clone-mlmd", action="store_true",
                   help="make ml-metadata's SQLite and PostgreSQL stores copies of lineage's (same schema) "
                        "instead of loading them through ml-metadata, call by call")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="directory of built SQLite files and ids")
    p.add_argument("--mlmd-python", help="interpreter with ml-metadata (default: scripts/mlmd-venv)")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    args = p.parse_args(argv)
    args.cache = args.cache.resolve()
    if args.target is None:
        return drive(args)
    if args.size is None:
        p.error("--target needs --size")
    if args.build:
        stamp = build(args.target, args.size, args.cache)
        json.dump({k: v for k, v in stamp.items() if k != "ids"}, sys.stdout)
    else:
        json.dump(measure(args.target, args.size, args.cache, args.repeat, args.all_shapes), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
