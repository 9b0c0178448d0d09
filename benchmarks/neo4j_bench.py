"""Neo4j benchmark: lineage on Neo4j beside ml-metadata on its SQLite file, in one run.

One script, two roles. With ``--impl mlmd`` or ``--impl lineage`` it runs the
phases below on one implementation and prints one JSON object (progress goes
to stderr): ml-metadata writes a SQLite file (``READWRITE_OPENCREATE``, as
``workload.py``'s ``mlmd-sqlite`` target), lineage writes the Neo4j database at
``--neo4j-uri``, which it empties first. Without ``--impl`` it runs ml-metadata,
then lineage (never both at once), ``--rounds`` times in turn, prints a table of
the medians of the rounds with the ratios and each round's ratios of the three
targets, and writes ``benchmarks/results/neo4j-<time>.json`` (every round
included). When no ``--neo4j-uri`` is
given it starts a private server with ``scripts/neo4j-local`` (its own folder
and port under the work directory) and stops it at the end.

The histories come from ``benchmarks/workload.py`` (imported, not repeated):
R pipeline runs of K chained steps, one ``PipelineRun`` context per run.

1. ``put_execution`` ingest: a fresh store, ``--runs`` x ``--steps`` executions,
   one ``put_execution`` per step (``Workload.put_run``).
2. ``put_lineage_subgraph`` ingest into another fresh store, the same
   records: first one run (K executions, K + 1 artifacts, its context) per
   call up to ``--small`` executions, then ``--batch-runs`` runs per call up
   to ``--large`` executions. A call links every node to every context it
   carries, so a call of several runs carries one context for all of them.
3. Downstream of one run's raw dataset (K + 1 artifacts, K executions, 2K
   events), timed when the store of phase 2 holds ``--small`` and again when
   it holds ``--large`` executions: lineage answers with
   ``store.lineage.downstream`` and with ``get_lineage_subgraph``;
   ml-metadata with ``get_lineage_subgraph`` DOWNSTREAM, ``max_num_hops=100``,
   field mask ``artifacts, executions, events``. Every answer is checked.

Before them, lineage's child measures the floors of the server: one read
statement and one durable write statement through the driver, nothing else.

Usage::

    python benchmarks/neo4j_bench.py                     # full sizes, three rounds of both, table
    python benchmarks/neo4j_bench.py --quick             # small sizes, a minute or two
    python benchmarks/neo4j_bench.py --impl lineage --neo4j-uri bolt://127.0.0.1:7687
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import Workload, day_of, load_api, log, percentile, run_name  # noqa: E402

__all__ = ["main", "measure", "subgraph_request"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
NEO4J_LOCAL = REPO / "scripts" / "neo4j-local"
SHARED_NEO4J_LIB = REPO / ".services" / "neo4j" / "lib"

FULL = {"runs": 2000, "steps": 10, "small": 10_000, "large": 100_000, "batch_runs": 10, "repeat": 30,
        "warmup": 1000}
QUICK = {"runs": 100, "steps": 10, "small": 1_000, "large": 5_000, "batch_runs": 10, "repeat": 10,
         "warmup": 20}

#: ml-metadata walks at most this many hops (it caps larger requests).
MLMD_MAX_HOPS = 100
#: The mask that asks get_lineage_subgraph for what a lineage ProvenanceGraph holds.
GRAPH_MASK = ["artifacts", "executions", "events"]


def _load() -> list[float]:
    """The 1, 5 and 15 minute load averages of the machine."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[dict[str, float], Any]:
    """Calls ``fn`` ``repeat`` times; returns wall and CPU medians and the last result.

    CPU time is this process's: all of ml-metadata's work, but only the client
    side of lineage's (the Neo4j server runs in its own process).
    """
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"median_ms": statistics.median(wall) * 1000.0, "min_ms": min(wall) * 1000.0,
            "cpu_median_ms": statistics.median(cpu) * 1000.0, "n": repeat}, result


# -------------------------------------------------------------------- the stores
def _wipe_neo4j(uri: str) -> None:
    """Deletes every node and relationship of the database at ``uri`` (its schema stays)."""
    import neo4j

    with neo4j.GraphDatabase.driver(uri, notifications_min_severity="OFF") as driver:
        with driver.session() as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def _open_store(impl: str, mlmd: Any, pb: Any, args: argparse.Namespace, name: str) -> Any:
    """A fresh, empty store: a new SQLite file for ml-metadata, the emptied Neo4j database for lineage."""
    if impl == "mlmd":
        path = os.path.join(args.workdir, f"{name}.sqlite")
        if os.path.exists(path):
            os.remove(path)
        sqlite = pb.SqliteMetadataSourceConfig(
            filename_uri=path, connection_mode=pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
        return mlmd.MetadataStore(pb.ConnectionConfig(sqlite=sqlite))
    _wipe_neo4j(args.neo4j_uri)
    return mlmd.MetadataStore(pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(uri=args.neo4j_uri)))


def _close(store: Any) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


# ---------------------------------------------------------- phase 1: put_execution
def bench_put_execution(impl: str, mlmd: Any, pb: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Ingests ``runs`` x ``steps`` executions, one ``put_execution`` per step."""
    store = _open_store(impl, mlmd, pb, args, "put_execution")
    try:
        workload = Workload(mlmd, pb, store, args.runs, args.steps)
        workload.put_types()
        calls: list[float] = []
        load_before = _load()
        log(f"[{impl}] put_execution: {args.runs} runs x {args.steps} steps ...")
        c0, t0 = time.process_time(), time.perf_counter()
        for run in range(args.runs):
            workload.put_run(run, calls.append)
            if (run + 1) % max(1, args.runs // 10) == 0:
                log(f"[{impl}]   {run + 1}/{args.runs} runs, {len(calls) / (time.perf_counter() - t0):.0f}/s")
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        _close(store)
    return {
        "executions": len(calls),
        "seconds": seconds,
        "executions_per_s": len(calls) / seconds,
        "client_cpu_ms_per_execution": cpu * 1000.0 / len(calls),
        "median_ms": statistics.median(calls) * 1000.0,
        "p99_ms": percentile(calls, 0.99) * 1000.0,
        "load_before": load_before,
        "load_after": _load(),
    }


# ---------------------------------------------------- phase 2: put_lineage_subgraph
def subgraph_request(workload: Workload, runs: list[int], context: Any) -> tuple[list, list, list, list]:
    """One ``put_lineage_subgraph`` call holding whole runs of the workload.

    The records are those ``Workload.put_run`` writes for the same runs: each
    run's raw dataset, its K executions and their outputs, and the events
    between them. Every node is linked to ``context``.

    Returns:
        ``(executions, artifacts, contexts, event_edges)`` as the Python API takes them.
    """
    pb, steps = workload.pb, workload.steps
    executions, artifacts, edges = [], [], []
    for run in runs:
        day = day_of(run)
        raw = pb.Artifact(type_id=workload.dataset_type, uri=f"/data/raw/{run_name(run)}/day-{day:03d}",
                          state=pb.Artifact.LIVE)
        raw.properties["split"].string_value = "train"
        raw.properties["day"].int_value = day
        previous = len(artifacts)
        artifacts.append(raw)
        for step in range(steps):
            execution = pb.Execution(type_id=workload.step_types[step], last_known_state=pb.Execution.COMPLETE)
            execution.properties["step"].int_value = step
            execution.properties["day"].int_value = day
            execution.custom_properties["attempt"].int_value = 1
            output = pb.Artifact(type_id=workload.examples_type,
                                 uri=f"/pipelines/bench/{run_name(run)}/step-{step:02d}/examples",
                                 state=pb.Artifact.LIVE)
            output.properties["step"].int_value = step
            output.properties["day"].int_value = day
            edges.append((len(executions), previous, workload._event(pb.Event.INPUT, "examples")))
            previous = len(artifacts)
            edges.append((len(executions), previous, workload._event(pb.Event.OUTPUT, "examples")))
            executions.append(execution)
            artifacts.append(output)
    return executions, artifacts, [context], edges


def _ingest_subgraphs(impl: str, store: Any, workload: Workload, first_run: int, last_run: int,
                      runs_per_call: int, raws: dict[int, int]) -> dict[str, Any]:
    """Writes runs ``first_run`` .. ``last_run - 1``, ``runs_per_call`` runs per call."""
    pb = workload.pb
    calls: list[float] = []
    load_before = _load()
    c0, t0 = time.process_time(), time.perf_counter()
    for start in range(first_run, last_run, runs_per_call):
        runs = list(range(start, min(start + runs_per_call, last_run)))
        name = run_name(start) if runs_per_call == 1 else f"batch-{start:06d}"
        context = pb.Context(type_id=workload.run_type, name=name)
        context.properties["pipeline"].string_value = "bench"
        executions, artifacts, contexts, edges = subgraph_request(workload, runs, context)
        c1 = time.perf_counter()
        _, artifact_ids, _ = store.put_lineage_subgraph(executions, artifacts, contexts, edges)
        calls.append(time.perf_counter() - c1)
        for offset, run in enumerate(runs):
            raws[run] = artifact_ids[offset * (workload.steps + 1)]
        if len(calls) % max(1, (last_run - first_run) // runs_per_call // 5) == 0:
            done = (runs[-1] + 1 - first_run) * workload.steps
            log(f"[{impl}]   {done} executions, {done / (time.perf_counter() - t0):.0f}/s")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    executions = (last_run - first_run) * workload.steps
    return {
        "runs_per_call": runs_per_call,
        "executions_per_call": runs_per_call * workload.steps,
        "calls": len(calls),
        "executions": executions,
        "seconds": seconds,
        "executions_per_s": executions / seconds,
        "client_cpu_ms_per_execution": cpu * 1000.0 / executions,
        "call_median_ms": statistics.median(calls) * 1000.0,
        "load_before": load_before,
        "load_after": _load(),
    }


def _subgraph_options(pb: Any, artifact_id: int) -> Any:
    options = pb.LineageSubgraphQueryOptions(max_num_hops=MLMD_MAX_HOPS)
    options.starting_artifacts.filter_query = f"id = {artifact_id}"
    options.direction = pb.LineageSubgraphQueryOptions.Direction.Value("DOWNSTREAM")
    return options


def _size(graph: Any) -> dict[str, int]:
    return {"artifacts": len(graph.artifacts), "executions": len(graph.executions), "events": len(graph.events)}


def _downstream(impl: str, store: Any, pb: Any, raw: int, steps: int, repeat: int) -> dict[str, Any]:
    """Times downstream of one raw dataset; every answer's size is checked."""
    expected = {"artifacts": steps + 1, "executions": steps, "events": 2 * steps}
    result: dict[str, Any] = {"start_artifact": raw, "expected": expected}
    options = _subgraph_options(pb, raw)
    questions = {"subgraph": lambda: store.get_lineage_subgraph(options, GRAPH_MASK)}
    if impl == "lineage":
        questions["engine"] = lambda: store.lineage.downstream([raw])
    for label, ask in questions.items():
        ask()  # the first call compiles query plans; it is not timed
        stats, graph = _timed(ask, repeat)
        result[label] = {**stats, "size": _size(graph), "ok": _size(graph) == expected}
        log(f"[{impl}]   downstream via {label}: {stats['median_ms']:.2f} ms, {_size(graph)}")
    return result


def bench_subgraph(impl: str, mlmd: Any, pb: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Phase 2 and 3: batch ingest up to ``small`` then ``large`` executions, downstream at both."""
    store = _open_store(impl, mlmd, pb, args, "subgraph")
    try:
        steps = args.steps
        small_runs, large_runs = args.small // steps, args.large // steps
        workload = Workload(mlmd, pb, store, large_runs, steps)
        workload.put_types()
        raws: dict[int, int] = {}
        log(f"[{impl}] put_lineage_subgraph, one run per call, up to {small_runs * steps} executions ...")
        one_run = _ingest_subgraphs(impl, store, workload, 0, small_runs, 1, raws)
        # The same dataset at both sizes: a run in the middle of the first part.
        raw = raws[small_runs // 2]
        log(f"[{impl}] downstream of artifact {raw} at {small_runs * steps} executions")
        small = _downstream(impl, store, pb, raw, steps, args.repeat)
        log(f"[{impl}] put_lineage_subgraph, {args.batch_runs} runs per call, up to {large_runs * steps} ...")
        batches = _ingest_subgraphs(impl, store, workload, small_runs, large_runs, args.batch_runs, raws)
        log(f"[{impl}] downstream of artifact {raw} at {large_runs * steps} executions")
        large = _downstream(impl, store, pb, raw, steps, args.repeat)
    finally:
        _close(store)
    return {"one_run_per_call": one_run, "batches": batches,
            "downstream": {str(small_runs * steps): small, str(large_runs * steps): large}}


def bolt_floors(uri: str, repeat: int) -> dict[str, Any]:
    """The least a statement costs on this server through the driver, without lineage.

    A read (``RETURN $x``, auto-commit) is one Bolt round trip with nothing to
    do on the server; a durable write (auto-commit ``CREATE`` of one node) adds
    what a commit costs (its log write and flush). Each answer of the Neo4j
    backend takes at least one of the first, each write call at least one of
    the second, whatever its statements hold. The third writes, in one
    auto-commit statement, the records one pipeline step's ``put_execution``
    adds (an execution and its output artifact with the properties the backend
    gives them, the input and output events, two context links), under a label
    of its own without indexes or constraints: no put_execution on Neo4j can
    cost less.
    """
    import neo4j

    label = "LineageBenchFloor"
    step = (
        f"MATCH (c) WHERE elementId(c) = $context MATCH (p) WHERE elementId(p) = $previous "
        f"CREATE (a:{label}) SET a = $artifact CREATE (e:{label}) SET e = $execution "
        "CREATE (p)-[i:FLOOR_INPUT]->(e) SET i = $input CREATE (e)-[o:FLOOR_OUTPUT]->(a) SET o = $output "
        "CREATE (a)-[:FLOOR_LINK]->(c) CREATE (e)-[:FLOOR_LINK]->(c) RETURN elementId(a)"
    )
    result: dict[str, Any] = {}
    with neo4j.GraphDatabase.driver(uri, notifications_min_severity="OFF") as driver:
        with driver.session() as session:
            counter = iter(range(10**9))
            [[context, previous]] = session.run(
                f"CREATE (c:{label}) CREATE (p:{label}) RETURN elementId(c), elementId(p)").values()
            last = [previous]

            def put_step() -> None:
                i = next(counter)
                [[last[0]]] = session.run(step, _floor_step_params(i, context, last[0])).values()

            statements = {
                "read": lambda: session.run("RETURN $x", x=1).consume(),
                "write": lambda: session.run(f"CREATE (:{label} {{i: $i}})", i=next(counter)).consume(),
                "put_step": put_step,
            }
            for name, run in statements.items():
                for _ in range(20 * repeat):
                    run()
                result[name], _ = _timed(run, 50 * repeat)
                log(f"[lineage]   floor, one {name} statement: {result[name]['median_ms']:.3f} ms")
            session.run(f"MATCH (n:{label}) CALL (n) {{ DETACH DELETE n }} IN TRANSACTIONS").consume()
    return result


def _floor_step_params(i: int, context: str, previous: str) -> dict[str, Any]:
    """Records shaped as the Neo4j backend stores one pipeline step (see ``bolt_floors``)."""
    now = 1_800_000_000_000 + i
    proto = bytes(64)
    common = {"type_id": 11, "create_time_since_epoch": now, "last_update_time_since_epoch": now,
              "pnames": ["day", "step"], "p.i.step": i % 10, "p.i.day": i % 365, "proto": proto}
    artifact = {**common, "id": 2 * i, "type": "Examples", "uri": f"/pipelines/floor/{i}/examples", "state": 2}
    execution = {**common, "id": i, "type": "Step", "last_known_state": 3, "cnames": ["attempt"],
                 "c.i.attempt": 1}
    event = {"artifact_id": 2 * i, "execution_id": i, "proto": proto, "seq": 2 * i,
             "milliseconds_since_epoch": now}
    return {"context": context, "previous": previous, "artifact": artifact, "execution": execution,
            "input": {**event, "type": 3}, "output": {**event, "seq": 2 * i + 1, "type": 4}}


def warm_up(impl: str, mlmd: Any, pb: Any, args: argparse.Namespace) -> dict[str, Any]:
    """A little of every phase, untimed, on a store thrown away after.

    A Neo4j server compiles its query plans and its JVM its hot code on first
    use; the timed phases should meet a server in its steady state, as
    ml-metadata's compiled library always is.
    """
    store = _open_store(impl, mlmd, pb, args, "warmup")
    t0 = time.perf_counter()
    try:
        runs, steps = args.warmup, args.steps
        workload = Workload(mlmd, pb, store, 3 * runs, steps)
        workload.put_types()
        log(f"[{impl}] warming up: {runs} runs of each kind of ingest, {args.repeat} queries ...")
        for run in range(runs):
            workload.put_run(run, lambda seconds: None)
        raws: dict[int, int] = {}
        _ingest_subgraphs(impl, store, workload, runs, 2 * runs, 1, raws)
        _ingest_subgraphs(impl, store, workload, 2 * runs, 3 * runs, args.batch_runs, raws)
        # Queries are cheap next to ingest; many of them bring their code paths to steady state.
        _downstream(impl, store, pb, raws[runs], steps, 20 * args.repeat)
    finally:
        _close(store)
    return {"runs": args.warmup, "seconds": time.perf_counter() - t0}


def measure(impl: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs every phase on one implementation and returns the figures."""
    mlmd, pb, version = load_api(impl)
    result: dict[str, Any] = {"impl": impl, "version": version, "python": platform.python_version()}
    if impl == "lineage":
        try:
            import neo4j

            result["driver"] = neo4j.__version__
            import neo4j._rust  # noqa: F401  - present when neo4j-rust-ext is installed

            result["driver_rust_extension"] = True
        except ImportError:
            result["driver_rust_extension"] = False
    result["warmup"] = warm_up(impl, mlmd, pb, args)
    if impl == "lineage":
        result["floors"] = bolt_floors(args.neo4j_uri, args.repeat)
    result["put_execution"] = bench_put_execution(impl, mlmd, pb, args)
    result["subgraph"] = bench_subgraph(impl, mlmd, pb, args)
    return result


# --------------------------------------------------------------- a private server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def private_neo4j(workdir: str) -> Iterator[str]:
    """Runs a scripts/neo4j-local server of its own (folder, port) and yields its Bolt URI."""
    home = Path(workdir) / "neo4j"
    home.mkdir(parents=True, exist_ok=True)
    # The jars another server already fetched spare a Maven run.
    if (SHARED_NEO4J_LIB / ".neo4j-local-stamp").exists() and not (home / "lib").exists():
        (home / "lib").symlink_to(SHARED_NEO4J_LIB)
    env = {**os.environ, "NEO4J_LOCAL_HOME": str(home), "NEO4J_LOCAL_PORT": str(_free_port()),
           "NEO4J_LOCAL_HEAP_INITIAL": os.environ.get("NEO4J_LOCAL_HEAP_INITIAL", "1g"),
           "NEO4J_LOCAL_HEAP_MAX": os.environ.get("NEO4J_LOCAL_HEAP_MAX", "2g"),
           "NEO4J_LOCAL_PAGECACHE": os.environ.get("NEO4J_LOCAL_PAGECACHE", "1g")}
    done = subprocess.run([str(NEO4J_LOCAL), "start"], env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit("scripts/neo4j-local start failed")
    try:
        yield done.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(NEO4J_LOCAL), "stop"], env=env, stdout=subprocess.DEVNULL)


# ------------------------------------------------------------------- the report
def _ratio(numerator: float | None, denominator: float | None) -> str:
    return f"{numerator / denominator:.2f}x" if numerator and denominator else ""


def report_rows(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Table rows (figure, lineage, ml-metadata, ratio, note) and a list of failed checks."""
    from run import fmt

    rows, problems = [], []
    mine, ref = ours["put_execution"], theirs["put_execution"]
    pe_rate = ref["executions_per_s"]
    rows.append([f"put_execution ingest, executions/s ({mine['executions']:,})",
                 fmt(mine["executions_per_s"]), fmt(pe_rate), _ratio(mine["executions_per_s"], pe_rate),
                 "lineage / ml-metadata; target >= 1.0x"])
    rows.append(["  put_execution median / p99, ms", f"{fmt(mine['median_ms'])} / {fmt(mine['p99_ms'])}",
                 f"{fmt(ref['median_ms'])} / {fmt(ref['p99_ms'])}", _ratio(ref["median_ms"], mine["median_ms"]),
                 "ml-metadata / lineage (median)"])
    rows.append(["  client CPU per execution, ms", fmt(mine["client_cpu_ms_per_execution"]),
                 fmt(ref["client_cpu_ms_per_execution"]), "", "lineage: client only; the server is apart"])
    for key, title in (("one_run_per_call", "one run"), ("batches", "batches")):
        m, r = ours["subgraph"][key], theirs["subgraph"][key]
        rows.append([f"put_lineage_subgraph ingest, {m['executions_per_call']} executions per call, "
                     f"executions/s ({m['executions']:,})",
                     fmt(m["executions_per_s"]), fmt(r["executions_per_s"]),
                     _ratio(m["executions_per_s"], r["executions_per_s"]),
                     f"vs ml-metadata put_execution: {_ratio(m['executions_per_s'], pe_rate)} (target >= 5x)"])
        rows.append([f"  call median, ms ({title})", fmt(m["call_median_ms"]), fmt(r["call_median_ms"]),
                     _ratio(r["call_median_ms"], m["call_median_ms"]), "ml-metadata / lineage"])
    sizes = list(ours["subgraph"]["downstream"])
    for size in sizes:
        m, r = ours["subgraph"]["downstream"][size], theirs["subgraph"]["downstream"][size]
        for label, entry in (("lineage downstream", m["engine"]), ("lineage subgraph", m["subgraph"]),
                             ("mlmd subgraph", r["subgraph"])):
            if not entry["ok"]:
                problems.append(f"downstream at {size}: {label} found {entry['size']}, expected {m['expected']}")
        target = " (target >= 10x)" if size == sizes[-1] else ""
        rows.append([f"downstream of one raw dataset at {int(size):,} executions, ms: lineage.downstream "
                     "| mlmd get_lineage_subgraph", fmt(m["engine"]["median_ms"]), fmt(r["subgraph"]["median_ms"]),
                     _ratio(r["subgraph"]["median_ms"], m["engine"]["median_ms"]), f"ml-metadata / lineage{target}"])
        rows.append(["  same question, get_lineage_subgraph on both", fmt(m["subgraph"]["median_ms"]),
                     fmt(r["subgraph"]["median_ms"]), _ratio(r["subgraph"]["median_ms"], m["subgraph"]["median_ms"]),
                     "ml-metadata / lineage"])
    floors = ours.get("floors")
    if floors:
        rows.append(["floor: one read statement (RETURN $x), ms", fmt(floors["read"]["median_ms"]), "", "",
                     f"client CPU {fmt(floors['read']['cpu_median_ms'])} ms; any lineage answer on Neo4j "
                     f"costs at least this; a 10x downstream would need "
                     f"{fmt(theirs['subgraph']['downstream'][sizes[-1]]['subgraph']['median_ms'] / 10)} ms"])
        rows.append(["floor: one durable write (CREATE one node), ms", fmt(floors["write"]["median_ms"]), "",
                     "", "any write call costs at least this"])
        if "put_step" in floors:
            rows.append(["floor: one durable write of a put_execution's records (2 nodes, 4 relationships, "
                         "no indexes), ms", fmt(floors["put_step"]["median_ms"]), fmt(ref["median_ms"]),
                         _ratio(ref["median_ms"], floors["put_step"]["median_ms"]),
                         "ml-metadata: its whole put_execution (median); no put_execution on Neo4j costs less"])
    loads = [(phase["load_before"][:1], ref_phase["load_before"][:1]) for phase, ref_phase in (
        (ours["put_execution"], theirs["put_execution"]),
        (ours["subgraph"]["one_run_per_call"], theirs["subgraph"]["one_run_per_call"]),
        (ours["subgraph"]["batches"], theirs["subgraph"]["batches"]))]
    rows.append(["load average (1 min) at the start of each ingest phase",
                 " / ".join(str(m[0]) for m, _ in loads if m), " / ".join(str(r[0]) for _, r in loads if r), "",
                 f"{os.cpu_count()} CPUs; lineage client: neo4j {ours.get('driver', '?')}, Rust extension "
                 f"{'yes' if ours.get('driver_rust_extension') else 'no'}"])
    low, high = (ours["subgraph"]["downstream"][s] for s in (sizes[0], sizes[-1]))
    low_ref, high_ref = (theirs["subgraph"]["downstream"][s] for s in (sizes[0], sizes[-1]))
    rows.append([f"growth of downstream time, {int(sizes[0]):,} -> {int(sizes[-1]):,} executions",
                 _ratio(high["engine"]["median_ms"], low["engine"]["median_ms"]),
                 _ratio(high_ref["subgraph"]["median_ms"], low_ref["subgraph"]["median_ms"]), "",
                 f"lineage.downstream | mlmd get_lineage_subgraph; lineage get_lineage_subgraph: "
                 f"{_ratio(high['subgraph']['median_ms'], low['subgraph']['median_ms'])}"])
    return rows, problems


def run_child(python: str, impl: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one implementation's child process and returns its JSON."""
    cmd = [python, str(Path(__file__).resolve()), "--impl", impl, "--workdir", args.workdir]
    for key in FULL:
        cmd += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    if impl == "lineage":
        cmd += ["--neo4j-uri", args.neo4j_uri]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    log(f"== {impl}: {python}")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"the {impl} child failed with exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", choices=("mlmd", "lineage"), help="run one implementation and print JSON")
    p.add_argument("--quick", action="store_true",
                   help="small sizes: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()))
    p.add_argument("--runs", type=int, help=f"runs of the put_execution phase (default {FULL['runs']})")
    p.add_argument("--steps", type=int, help=f"steps per run (default {FULL['steps']})")
    p.add_argument("--small", type=int, help=f"executions at the first query (default {FULL['small']:,})")
    p.add_argument("--large", type=int, help=f"executions at the second query (default {FULL['large']:,})")
    p.add_argument("--batch-runs", type=int, help=f"runs per call after --small (default {FULL['batch_runs']})")
    p.add_argument("--repeat", type=int, help=f"calls per query figure (default {FULL['repeat']})")
    p.add_argument("--warmup", type=int, help=f"runs of each ingest before timing (default {FULL['warmup']})")
    p.add_argument("--rounds", type=int, default=3,
                   help="times both children run, taking turns; the table holds the medians (default 3)")
    p.add_argument("--neo4j-uri", help="Neo4j server for lineage; it is emptied (default: start a private one)")
    p.add_argument("--workdir", help="directory for the SQLite files and the private server "
                                     "(default: a temporary one)")
    p.add_argument("--mlmd-python", help="interpreter with ml-metadata (default: LINEAGE_MLMD_PYTHON, "
                                         "else scripts/mlmd-venv)")
    p.add_argument("--lineage-python", default=sys.executable)
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, default in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    for key in (*FULL, "rounds"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be positive")
    if args.small % args.steps or args.large % args.steps or args.large <= args.small:
        p.error("--small and --large must be multiples of --steps, --large above --small")
    if args.impl == "lineage" and not args.neo4j_uri:
        p.error("--impl lineage needs --neo4j-uri")
    return args


def main(argv: list[str] | None = None) -> int:
    """Runs one child (``--impl``) or both and the report; non-zero when a check failed."""
    args = parse_args(argv)
    own_workdir = args.workdir is None
    if own_workdir:
        args.workdir = tempfile.mkdtemp(prefix="lineage-neo4j-bench-")
    try:
        if args.impl:
            json.dump(measure(args.impl, args), sys.stdout)
            sys.stdout.write("\n")
            return 0
        return _run_both(args)
    finally:
        if own_workdir:
            shutil.rmtree(args.workdir, ignore_errors=True)


def _run_both(args: argparse.Namespace) -> int:
    from run import mlmd_python, print_table

    mlmd = args.mlmd_python or os.environ.get("LINEAGE_MLMD_PYTHON") or mlmd_python()
    started = dt.datetime.now(dt.timezone.utc)
    load_start = _load()
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with contextlib.ExitStack() as stack:
        if not args.neo4j_uri:
            args.neo4j_uri = stack.enter_context(private_neo4j(args.workdir))
        # The two children take turns, so a slow spell of a shared machine falls on both.
        for number in range(1, args.rounds + 1):
            log(f"== round {number} of {args.rounds}")
            theirs_round = run_child(mlmd, "mlmd", args)
            rounds.append((run_child(args.lineage_python, "lineage", args), theirs_round))
    ours, theirs = (_median_tree([pair[side] for pair in rounds]) for side in (0, 1))
    rows, problems = report_rows(ours, theirs)
    for (mine, ref), number in zip(rounds, range(1, len(rounds) + 1)):
        problems += [f"round {number}: {p}" for p in report_rows(mine, ref)[1]]
    if len(rounds) > 1:
        per_round = [_round_ratios(mine, ref) for mine, ref in rounds]
        medians = [statistics.median(column) for column in zip(*per_round)]
        rows.append(["target ratios of each round: put_execution | batches vs ml-metadata "
                     "put_execution | downstream at the larger size",
                     "  ".join(" | ".join(f"{r:.2f}x" for r in ratios) for ratios in per_round), "",
                     " | ".join(f"{m:.2f}x" for m in medians),
                     "medians of the rounds' ratios; the rows above divide medians of the figures"])
    settings = {k: getattr(args, k) for k in FULL}
    report = {
        "started": started.isoformat(timespec="seconds"),
        "settings": {**settings, "rounds": args.rounds},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "load_at_start": load_start, "load_at_end": _load(),
                    "pythons": {"mlmd": mlmd, "lineage": args.lineage_python}},
        "lineage": ours,
        "mlmd": theirs,
        "rounds": [{"lineage": mine, "mlmd": ref} for mine, ref in rounds],
        "problems": problems,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"neo4j-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print_table(f"lineage {ours['version']} on Neo4j beside ml-metadata {theirs['version']} on SQLite, "
                f"one run of {args.rounds} round(s), medians of the rounds, {os.cpu_count()} CPUs, "
                f"load {load_start} -> {_load()}",
                ["figure (medians)", "lineage (Neo4j)", "ml-metadata (SQLite file)", "ratio", "note"], rows)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(f"results: {path}")
    return 1 if problems else 0


def _median_tree(trees: list[Any]) -> Any:
    """One result from several rounds: the median of every number, the first of anything else."""
    first = trees[0]
    if isinstance(first, dict):
        return {key: _median_tree([tree[key] for tree in trees if key in tree]) for key in first}
    if isinstance(first, bool):
        return all(trees)
    if all(isinstance(tree, int) for tree in trees):
        return statistics.median_low(trees)  # counts stay whole
    if isinstance(first, (int, float)):
        return statistics.median(trees)
    return first


def _round_ratios(mine: dict[str, Any], ref: dict[str, Any]) -> tuple[float, float, float]:
    """One round's ratios of the three targets: put_execution, batches, downstream at the larger size."""
    pe_rate = ref["put_execution"]["executions_per_s"]
    size = list(mine["subgraph"]["downstream"])[-1]
    return (
        mine["put_execution"]["executions_per_s"] / pe_rate,
        mine["subgraph"]["batches"]["executions_per_s"] / pe_rate,
        ref["subgraph"]["downstream"][size]["subgraph"]["median_ms"]
        / mine["subgraph"]["downstream"][size]["engine"]["median_ms"],
    )


if __name__ == "__main__":
    sys.exit(main())
