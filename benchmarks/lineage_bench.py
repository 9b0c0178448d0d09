"""Lineage benchmark: lineage's engine beside ml-metadata on the same histories.

One script, two roles. With ``--impl mlmd`` or ``--impl lineage`` it builds the
histories in a fresh in-memory store of that implementation, times the
questions and prints one JSON object (progress goes to stderr); it runs under
the interpreter of that implementation (ml-metadata needs its own virtual
environment). Without ``--impl`` it runs both children one after the other and
prints a table with the ratios.

The histories come from ``benchmarks/workload.py`` (imported, not repeated):

a. Downstream at 20,000 executions: 2,000 pipeline runs of 10 chained steps.
   ``one run``: downstream of one run's raw dataset (21 nodes).
   ``shared input``: one more dataset that step 0 of every run also reads, so
   that everything written descends from it (40,001 nodes).
   lineage: ``store.lineage.downstream``; ml-metadata: ``get_lineage_subgraph``
   DOWNSTREAM with ``max_num_hops=100`` (its maximum), with the field mask
   ``artifacts, executions, events`` (what the lineage answer holds) and with
   every field. lineage also answers the very same ``get_lineage_subgraph``.
b. A 150-step chain (one pipeline run of 150 steps) traced to its root from
   its last artifact. ml-metadata walks at most 100 hops (50 steps) whatever is
   asked: the table shows what it returns at its maximum and when asked for more.
c. Cache lookups: N executions read one input artifact, each with other
   properties (N = 100 and 5,000). lineage: ``find_reusable_execution``;
   ml-metadata (and lineage through the same calls): an event scan,
   ``get_events_by_artifact_ids`` on the input, ``get_executions_by_id`` on
   the readers, compare type, state and properties, then check the match's
   inputs and outputs.

Usage::

    python benchmarks/lineage_bench.py                 # both, full sizes, table
    python benchmarks/lineage_bench.py --quick         # small sizes, seconds
    python benchmarks/lineage_bench.py --impl lineage  # one child, JSON only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import Workload, load_api, log  # noqa: E402

__all__ = ["main", "measure"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

FULL = {"runs": 2000, "steps": 10, "chain": 150, "fanouts": "100,5000", "repeat": 15, "lookups": 200}
QUICK = {"runs": 200, "steps": 10, "chain": 150, "fanouts": "100,1000", "repeat": 5, "lookups": 50}

#: ml-metadata walks at most this many hops (it logs and caps larger requests).
MLMD_MAX_HOPS = 100
#: The mask that asks get_lineage_subgraph for what a lineage ProvenanceGraph holds.
GRAPH_MASK = ["artifacts", "executions", "events"]


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000.0


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[dict[str, float], Any]:
    """Calls ``fn`` ``repeat`` times; returns wall and CPU medians and the last result.

    Both stores run in this process (ml-metadata's C++ core included), so CPU
    time counts the same work as wall time without the waits of a busy machine.
    """
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return _stats(wall, cpu), result


def _stats(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {"median_ms": _median_ms(wall), "min_ms": min(wall) * 1000.0,
            "cpu_median_ms": _median_ms(cpu), "n": len(wall)}


def _new_store(mlmd, pb):
    return mlmd.MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))


def _subgraph_options(pb, artifact_id: int, direction: str, hops: int):
    options = pb.LineageSubgraphQueryOptions(max_num_hops=hops)
    options.starting_artifacts.filter_query = f"id = {artifact_id}"
    options.direction = pb.LineageSubgraphQueryOptions.Direction.Value(direction)
    return options


def _graph_size(graph) -> dict[str, int]:
    return {"artifacts": len(graph.artifacts), "executions": len(graph.executions), "events": len(graph.events)}


# -------------------------------------------------------------- (a) downstream
def bench_downstream(impl: str, mlmd, pb, runs: int, steps: int, repeat: int) -> dict[str, Any]:
    """Downstream of one raw dataset in a history of ``runs * steps`` executions."""
    store = _new_store(mlmd, pb)
    workload = Workload(mlmd, pb, store, runs, steps)
    workload.put_types()
    log(f"[{impl}] (a) ingesting {runs} runs x {steps} steps ...")
    t0 = time.perf_counter()
    for run in range(runs):
        workload.put_run(run, lambda seconds: None)
    ingest_s = time.perf_counter() - t0

    # Each run wrote its raw dataset first, then one artifact per step.
    raw = workload.artifact_ids[(runs // 2) * (steps + 1)]
    shared = store.put_artifacts([pb.Artifact(type_id=workload.dataset_type, uri="/data/shared",
                                              state=pb.Artifact.LIVE)])[0]
    first_steps = workload.execution_ids[::steps]
    batch = 500
    for i in range(0, len(first_steps), batch):
        store.put_events([pb.Event(artifact_id=shared, execution_id=e, type=pb.Event.INPUT)
                          for e in first_steps[i:i + batch]])
    # From the shared dataset: one read per run, then each run's chain without its
    # raw dataset's read, which lies upstream of step 0 and is not walked.
    expected = {
        "one_run": {"artifacts": steps + 1, "executions": steps, "events": 2 * steps},
        "shared_input": {"artifacts": runs * steps + 1, "executions": runs * steps,
                         "events": runs + (2 * steps - 1) * runs},
    }

    result: dict[str, Any] = {"ingest_s": ingest_s, "executions": runs * steps}
    for label, start, times in (("one_run", raw, repeat), ("shared_input", shared, max(3, repeat // 3))):
        entry: dict[str, Any] = {"expected": expected[label]}
        for mask_label, mask in (("masked", GRAPH_MASK), ("all_fields", None)):
            log(f"[{impl}] (a) {label}: get_lineage_subgraph ({mask_label}) x {times}")
            options = _subgraph_options(pb, start, "DOWNSTREAM", MLMD_MAX_HOPS)
            stats, graph = _timed(lambda: store.get_lineage_subgraph(options, mask), times)
            entry[f"subgraph_{mask_label}"] = {**stats, "size": _graph_size(graph)}
        if impl == "lineage":
            log(f"[{impl}] (a) {label}: store.lineage.downstream x {times}")
            stats, graph = _timed(lambda: store.lineage.downstream([start]), times)
            entry["engine"] = {**stats, "size": _graph_size(graph)}
        result[label] = entry
    return result


# ---------------------------------------------------------------- (b) deep chain
def bench_chain(impl: str, mlmd, pb, steps: int, repeat: int) -> dict[str, Any]:
    """A chain of ``steps`` steps traced upstream from its last artifact."""
    store = _new_store(mlmd, pb)
    workload = Workload(mlmd, pb, store, 1, steps)
    workload.put_types()
    workload.put_run(0, lambda seconds: None)
    root, tip = workload.artifact_ids[0], workload.artifact_ids[-1]
    result: dict[str, Any] = {"steps": steps, "nodes_in_chain": 2 * steps + 1}
    for hops in (MLMD_MAX_HOPS, 2 * steps):
        log(f"[{impl}] (b) get_lineage_subgraph UPSTREAM max_num_hops={hops} x {repeat}")
        options = _subgraph_options(pb, tip, "UPSTREAM", hops)
        stats, graph = _timed(lambda: store.get_lineage_subgraph(options, GRAPH_MASK), repeat)
        result[f"subgraph_hops_{hops}"] = {
            **stats, "size": _graph_size(graph), "reaches_root": root in {a.id for a in graph.artifacts},
            "steps_short_of_root": min(a.id for a in graph.artifacts) - root,
        }
    if impl == "lineage":
        log(f"[{impl}] (b) store.lineage.upstream x {repeat}")
        stats, graph = _timed(lambda: store.lineage.upstream([tip]), repeat)
        result["engine"] = {**stats, "size": _graph_size(graph),
                            "reaches_root": root in {a.id for a in graph.artifacts}}
    return result


# ------------------------------------------------------------ (c) cache lookups
def _fan_out(mlmd, pb, store, fanout: int) -> tuple[int, int, list[int]]:
    """``fanout`` COMPLETE Trainer executions read one input, each with its own seed."""
    examples = pb.ArtifactType(name="Examples")
    examples_type = store.put_artifact_type(examples)
    model_type = store.put_artifact_type(pb.ArtifactType(name="Model"))
    trainer = pb.ExecutionType(name="Trainer")
    trainer.properties["seed"] = pb.INT
    trainer.properties["lr"] = pb.DOUBLE
    trainer_type = store.put_execution_type(trainer)
    [input_id] = store.put_artifacts([pb.Artifact(type_id=examples_type, uri="/examples",
                                                  state=pb.Artifact.LIVE)])
    [stored_input] = store.get_artifacts_by_id([input_id])
    execution_ids = []
    for seed in range(fanout):
        execution = pb.Execution(type_id=trainer_type, last_known_state=pb.Execution.COMPLETE)
        execution.properties["seed"].int_value = seed
        execution.properties["lr"].double_value = 0.01
        read = pb.Event(type=pb.Event.INPUT)
        read.path.steps.add().key = "examples"
        wrote = pb.Event(type=pb.Event.OUTPUT)
        wrote.path.steps.add().key = "model"
        model = pb.Artifact(type_id=model_type, uri=f"/models/{seed}", state=pb.Artifact.LIVE)
        execution_id, _, _ = store.put_execution(execution, [(stored_input, read), (model, wrote)], [])
        execution_ids.append(execution_id)
    return trainer_type, input_id, execution_ids


def scan_lookup(pb, store, type_id: int, input_ids: list[int], properties: dict[str, Any]):
    """The cache check a client of plain MLMD writes: scan the readers of the inputs.

    Returns:
        The newest COMPLETE/CACHED execution of the type that read exactly these
        inputs, with exactly these properties and no dead output, or None.
    """
    reads = {pb.Event.INPUT, pb.Event.DECLARED_INPUT, pb.Event.INTERNAL_INPUT}
    dead = {pb.Artifact.DELETED, pb.Artifact.MARKED_FOR_DELETION, pb.Artifact.ABANDONED}
    readers = {e.execution_id for e in store.get_events_by_artifact_ids(input_ids) if e.type in reads}
    candidates = []
    for execution in store.get_executions_by_id(sorted(readers)):
        if execution.type_id != type_id or execution.last_known_state not in (
                pb.Execution.COMPLETE, pb.Execution.CACHED):
            continue
        given = {**{k: v for k, v in execution.custom_properties.items()},
                 **{k: v for k, v in execution.properties.items()}}
        if given.keys() != properties.keys():
            continue
        if all(getattr(given[k], given[k].WhichOneof("value")) == v for k, v in properties.items()):
            candidates.append(execution)
    for execution in sorted(candidates, key=lambda e: e.id, reverse=True):
        events = store.get_events_by_execution_ids([execution.id])
        if {e.artifact_id for e in events if e.type in reads} != set(input_ids):
            continue
        outputs = [e.artifact_id for e in events if e.type not in reads]
        if all(a.state not in dead for a in store.get_artifacts_by_id(outputs)):
            return execution
    return None


def bench_cache(impl: str, mlmd, pb, fanouts: list[int], lookups: int, seed: int) -> dict[str, Any]:
    """Cache lookups among ``fanout`` executions that read the same input."""
    result: dict[str, Any] = {}
    for fanout in fanouts:
        store = _new_store(mlmd, pb)
        log(f"[{impl}] (c) writing a fan-out of {fanout} executions ...")
        type_id, input_id, execution_ids = _fan_out(mlmd, pb, store, fanout)
        rng = random.Random(seed)
        # Nine hits for every miss (a seed nobody ran).
        seeds = [rng.randrange(fanout) if i % 10 else fanout + i for i in range(lookups)]
        entry: dict[str, Any] = {}
        methods: dict[str, Callable[[int], Any]] = {
            "scan": lambda s: scan_lookup(pb, store, type_id, [input_id], {"seed": s, "lr": 0.01}),
        }
        if impl == "lineage":
            methods["engine"] = lambda s: store.lineage.find_reusable_execution(
                "Trainer", [input_id], {"seed": s, "lr": 0.01})
        # The scan costs O(fanout) per call: fewer calls keep the 5,000 case short.
        for label, method in methods.items():
            count = lookups if label == "engine" else max(10, min(lookups, 20_000 // fanout))
            wall, cpu, wrong = [], [], 0
            log(f"[{impl}] (c) fan-out {fanout}: {label} x {count}")
            for s in seeds[:count]:
                c0, t0 = time.process_time(), time.perf_counter()
                found = method(s)
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                execution = getattr(found, "execution", found)
                want = execution_ids[s] if s < fanout else None
                wrong += (execution.id if execution is not None else None) != want
            entry[label] = {**_stats(wall, cpu), "wrong": wrong}
        result[str(fanout)] = entry
    return result


def measure(impl: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs every part on one implementation and returns the figures."""
    mlmd, pb, version = load_api(impl)
    fanouts = [int(n) for n in str(args.fanouts).split(",") if n.strip()]
    return {
        "impl": impl,
        "version": version,
        "python": platform.python_version(),
        "downstream": bench_downstream(impl, mlmd, pb, args.runs, args.steps, args.repeat),
        "chain": bench_chain(impl, mlmd, pb, args.chain, args.repeat),
        "cache": bench_cache(impl, mlmd, pb, fanouts, args.lookups, args.seed),
    }


# ------------------------------------------------------------------- the report
def _size(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "-"
    size = entry["size"]
    return f"{size['artifacts']}a/{size['executions']}e/{size['events']}ev"


def _cells(mine: dict[str, Any] | None, ref: dict[str, Any] | None) -> list[str]:
    """lineage wall, lineage CPU, ml-metadata wall, ml-metadata CPU, and the two speed-ups."""
    from run import fmt

    cells = []
    for entry in (mine, ref):
        cells += ["", ""] if entry is None else [fmt(entry["median_ms"]), fmt(entry["cpu_median_ms"])]
    for field in ("median_ms", "cpu_median_ms"):
        slow, fast = (ref or {}).get(field), (mine or {}).get(field)
        cells.append(f"{slow / fast:.1f}x" if slow is not None and fast else "")
    return cells


def report_rows(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """Table rows (figure, 6 timing cells, answer) and a list of failed checks."""
    rows, problems = [], []
    down_ours, down_theirs = ours["downstream"], theirs["downstream"]
    executions = f"{down_ours['executions']:,}"
    for label, title in (("one_run", "one run's raw dataset"), ("shared_input", "a dataset every run reads")):
        mine, ref = down_ours[label], down_theirs[label]
        expected = mine["expected"]
        for name, entry in (("lineage downstream", mine["engine"]), ("lineage subgraph", mine["subgraph_masked"]),
                            ("mlmd subgraph", ref["subgraph_masked"]),
                            ("lineage subgraph, all fields", mine["subgraph_all_fields"]),
                            ("mlmd subgraph, all fields", ref["subgraph_all_fields"])):
            if entry["size"] != expected:
                problems.append(f"(a) {title}: {name} found {entry['size']}, expected {expected}")
        rows.append([f"(a) downstream of {title} ({executions} executions): lineage.downstream | "
                     "get_lineage_subgraph, mask artifacts+executions+events",
                     *_cells(mine["engine"], ref["subgraph_masked"]), _size(mine["engine"])])
        rows.append(["(a)   same question, get_lineage_subgraph (mask) on both",
                     *_cells(mine["subgraph_masked"], ref["subgraph_masked"]), _size(ref["subgraph_masked"])])
        rows.append(["(a)   same question, get_lineage_subgraph (every field) on both",
                     *_cells(mine["subgraph_all_fields"], ref["subgraph_all_fields"]), ""])
    chain_ours, chain_theirs = ours["chain"], theirs["chain"]
    steps = chain_ours["steps"]
    engine, capped = chain_ours["engine"], chain_theirs[f"subgraph_hops_{MLMD_MAX_HOPS}"]
    asked_more = chain_theirs[f"subgraph_hops_{2 * steps}"]
    if not engine["reaches_root"] or engine["size"]["artifacts"] != steps + 1:
        problems.append(f"(b) lineage.upstream did not trace the chain to its root: {engine}")
    rows.append([f"(b) {steps}-step chain from its tip: lineage.upstream | get_lineage_subgraph UPSTREAM "
                 f"at its max ({MLMD_MAX_HOPS} hops)", *_cells(engine, capped),
                 f"lineage {_size(engine)}, root reached; ml-metadata {_size(capped)}, "
                 f"{capped['steps_short_of_root']} steps short of the root"])
    rows.append([f"(b)   ml-metadata asked for {2 * steps} hops", *_cells(None, asked_more),
                 f"ml-metadata {_size(asked_more)}, {asked_more['steps_short_of_root']} steps short of the root"])
    cache_ours, cache_theirs = ours["cache"], theirs["cache"]
    fanouts = sorted(cache_ours, key=int)
    for fanout in fanouts:
        mine, ref = cache_ours[fanout], cache_theirs[fanout]
        for name, entry in (("lineage find_reusable_execution", mine["engine"]), ("lineage scan", mine["scan"]),
                            ("mlmd scan", ref["scan"])):
            if entry["wrong"]:
                problems.append(f"(c) fan-out {fanout}: {name} answered {entry['wrong']} lookups wrongly")
        rows.append([f"(c) cache lookup, fan-out {int(fanout):,}: find_reusable_execution | event scan",
                     *_cells(mine["engine"], ref["scan"]),
                     f"{mine['engine']['n']} / {ref['scan']['n']} lookups, all right" if not (
                         mine["engine"]["wrong"] or ref["scan"]["wrong"]) else "WRONG answers"])
        rows.append([f"(c)   same, event scan on both", *_cells(mine["scan"], ref["scan"]), ""])
    low, high = cache_ours[fanouts[0]]["engine"], cache_ours[fanouts[-1]]["engine"]
    rows.append([f"(c)   find_reusable_execution at {int(fanouts[-1]):,} / at {int(fanouts[0]):,}",
                 f"{high['median_ms'] / low['median_ms']:.2f}x", f"{high['cpu_median_ms'] / low['cpu_median_ms']:.2f}x",
                 "", "", "", "", "target: within 2x"])
    return rows, problems


def run_child(python: str, impl: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one implementation's child process and returns its JSON."""
    cmd = [python, str(Path(__file__).resolve()), "--impl", impl, "--runs", str(args.runs),
           "--steps", str(args.steps), "--chain", str(args.chain), "--fanouts", str(args.fanouts),
           "--repeat", str(args.repeat), "--lookups", str(args.lookups), "--seed", str(args.seed)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    log(f"== {impl}: {python}")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE.parent)
    if done.returncode != 0:
        raise SystemExit(f"the {impl} child failed with exit {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", choices=("mlmd", "lineage"), help="run one implementation and print JSON")
    p.add_argument("--quick", action="store_true", help="small sizes: " + ", ".join(
        f"{k}={v}" for k, v in QUICK.items()))
    p.add_argument("--runs", type=int, help=f"pipeline runs for (a) (default {FULL['runs']})")
    p.add_argument("--steps", type=int, help=f"steps per run for (a) (default {FULL['steps']})")
    p.add_argument("--chain", type=int, help=f"chain length for (b) (default {FULL['chain']})")
    p.add_argument("--fanouts", help=f"fan-outs for (c) (default {FULL['fanouts']})")
    p.add_argument("--repeat", type=int, help=f"calls per traversal figure (default {FULL['repeat']})")
    p.add_argument("--lookups", type=int, help=f"cache lookups per fan-out (default {FULL['lookups']})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mlmd-python", help="interpreter with ml-metadata (default: LINEAGE_MLMD_PYTHON, "
                                         "else scripts/mlmd-venv)")
    p.add_argument("--lineage-python", default=sys.executable)
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, default in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
    for key in ("runs", "steps", "chain", "repeat", "lookups"):
        if getattr(args, key) < 1:
            p.error(f"--{key} must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Runs one child (``--impl``) or both and the report; non-zero when a check failed."""
    args = parse_args(argv)
    if args.impl:
        json.dump(measure(args.impl, args), sys.stdout)
        sys.stdout.write("\n")
        return 0

    from run import mlmd_python, print_table

    mlmd = args.mlmd_python or os.environ.get("LINEAGE_MLMD_PYTHON") or mlmd_python()
    started = dt.datetime.now(dt.timezone.utc)
    theirs = run_child(mlmd, "mlmd", args)
    ours = run_child(args.lineage_python, "lineage", args)
    rows, problems = report_rows(ours, theirs)
    settings = {k: getattr(args, k) for k in ("runs", "steps", "chain", "fanouts", "repeat", "lookups", "seed")}
    report = {
        "started": started.isoformat(timespec="seconds"),
        "settings": settings,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "pythons": {"mlmd": mlmd, "lineage": args.lineage_python}},
        "lineage": ours,
        "mlmd": theirs,
        "problems": problems,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"lineage-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    header = ["figure (medians in ms)", "lineage", "lineage cpu", "ml-metadata", "ml-metadata cpu",
              "lineage faster", "faster (cpu)", "answer"]
    print_table(f"lineage {ours['version']} beside ml-metadata {theirs['version']}, same data, one run",
                header, rows)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(f"results: {path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
