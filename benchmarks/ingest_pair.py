"""Ingest side by side: ml-metadata and lineage writing the same history at the same moment.

On a shared machine the load changes from minute to minute, so two runs one
after the other compare the load as much as the stores. Here one process per
system writes the history of ``shapes.py`` (every ``put_execution`` timed, then
50 ``put_lineage_subgraph`` calls) into a new database on the same server, both
started together; the ratio of their medians meets the same load on both sides.

Usage::

    python benchmarks/ingest_pair.py --server mysql --runs 300
    python benchmarks/ingest_pair.py --server postgresql --runs 300

With ``--target NAME`` it measures one target and prints JSON (the driver runs
itself that way, ml-metadata under its own interpreter).
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shapes import ShapeWorkload, time_subgraph_runs  # noqa: E402
from workload import TARGETS, connection_config, load_api, log, server_database  # noqa: E402

__all__ = ["main"]


def measure(name: str, runs: int, steps: int) -> dict:
    """Writes the history into a new database of one target; returns the ingest medians."""
    target = TARGETS[name]
    mlmd, pb, _ = load_api(target.impl)
    config, _ = connection_config(pb, target, tempfile.mkdtemp(prefix="lineage-ingest-"))
    store = mlmd.MetadataStore(config)
    workload = ShapeWorkload(mlmd, pb, store, runs, steps)
    workload.put_types()
    times: list[float] = []
    t0 = time.perf_counter()
    workload.ingest(times.append)
    ingest_s = time.perf_counter() - t0
    subgraph = time_subgraph_runs(workload)
    return {"target": name, "database": server_database(target), "calls": len(times), "ingest_s": ingest_s,
            "put_execution_ms": statistics.median(times) * 1000,
            "put_lineage_subgraph_ms": statistics.median(subgraph) * 1000}


def drive(args: argparse.Namespace) -> int:
    from run import drop_database, mlmd_python, server_urls

    server_urls({args.server})
    pythons = {f"mlmd-{args.server}": args.mlmd_python or mlmd_python(),
               f"lineage-{args.server}": sys.executable}
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    procs = {name: subprocess.Popen(
        [python, str(Path(__file__).resolve()), "--target", name, "--runs", str(args.runs),
         "--steps", str(args.steps)], stdout=subprocess.PIPE, text=True, env=env)
        for name, python in pythons.items()}
    results = {}
    for name, proc in procs.items():
        out, _ = proc.communicate()
        if proc.returncode != 0:
            log(f"{name} failed: exit {proc.returncode}")
            return 1
        results[name] = json.loads(out.strip().splitlines()[-1])
        drop_database(args.server, results[name]["database"])
    base, ours = results[f"mlmd-{args.server}"], results[f"lineage-{args.server}"]
    print(f"{args.server}, {ours['calls']} put_execution calls each, load {os.getloadavg()[0]:.1f}")
    for key in ("put_execution_ms", "put_lineage_subgraph_ms", "ingest_s"):
        print(f"  {key}: ml-metadata {base[key]:.1f}, lineage {ours[key]:.1f}, "
              f"ratio {base[key] / ours[key]:.2f}x")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", choices=("mysql", "postgresql"), default="postgresql")
    p.add_argument("--target", choices=sorted(t for t in TARGETS if TARGETS[t].backend in ("mysql", "postgresql")),
                   help="measure one target, print JSON")
    p.add_argument("--runs", type=int, default=300, help="pipeline runs (default 300: 3,300 executions)")
    p.add_argument("--steps", type=int, default=10, help="steps per run, before the Trainer")
    p.add_argument("--mlmd-python", help="interpreter with ml-metadata (default: scripts/mlmd-venv)")
    args = p.parse_args(argv)
    if args.target is None:
        return drive(args)
    json.dump(measure(args.target, args.runs, args.steps), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
