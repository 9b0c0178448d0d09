"""Benchmark of ``lineage copy``: an ml-metadata SQLite file into SQLite and into Neo4j.

1. ml-metadata 1.17.1 itself (in its own virtual environment) writes the
   benchmark workload of ``benchmarks/workload.py`` into a SQLite file:
   ``--runs`` pipeline runs of ``--steps`` steps, one ``put_execution`` each
   (default 10,000 x 10 = 100,000 executions). The file is kept next to a
   stamp and reused while runs and steps are unchanged.
2. ``lineage.copy.copy_store`` copies that file into a new SQLite file, and
   into Neo4j when ``--neo4j URL`` is given (the database must be empty, or
   ``--wipe-neo4j`` empties it first).
3. Each copy is timed (read / write+verify phases and the total) and reported
   as records per second; the counts of source and destination are then
   compared again by an independent census of both stores.

Usage::

    python benchmarks/copy_bench.py                       # 100,000 executions, SQLite -> SQLite
    python benchmarks/copy_bench.py --neo4j bolt://127.0.0.1:7687 --wipe-neo4j
    python benchmarks/copy_bench.py --runs 200 --steps 5  # a quick look

Results are printed as JSON and written to ``benchmarks/results/copy-*.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

__all__ = ["main"]

STAMP_SUFFIX = ".stamp.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- step 1: the source, written by ml-metadata ------------------------------------------
def build_mlmd_file(path: Path, runs: int, steps: int) -> dict[str, Any]:
    """Writes the workload with ml-metadata (runs inside ml-metadata's venv).

    Returns:
        What was written: runs, steps, executions, artifacts, seconds.
    """
    from workload import Workload, load_api

    mlmd, pb, version = load_api("mlmd")
    if path.exists():
        path.unlink()
    config = pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
        filename_uri=str(path), connection_mode=pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE))
    store = mlmd.MetadataStore(config)
    workload = Workload(mlmd, pb, store, runs, steps)
    workload.put_types()
    started = time.perf_counter()
    for run in range(runs):
        workload.put_run(run, lambda seconds: None)
        if (run + 1) % max(1, runs // 20) == 0:
            log(f"[ml-metadata {version}] {run + 1}/{runs} runs written")
    return {"runs": runs, "steps": steps, "executions": len(workload.execution_ids),
            "artifacts": len(workload.artifact_ids), "seconds": time.perf_counter() - started,
            "ml_metadata": version}


def mlmd_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    from run import mlmd_python as find

    return find()


def ensure_source(path: Path, runs: int, steps: int, python: str | None) -> dict[str, Any]:
    """Reuses the ml-metadata file when its stamp matches, else builds it in ml-metadata's venv."""
    stamp = path.with_name(path.name + STAMP_SUFFIX)
    if path.exists() and stamp.exists():
        made = json.loads(stamp.read_text())
        if (made.get("runs"), made.get("steps")) == (runs, steps):
            log(f"reusing {path} ({made['executions']} executions written by ml-metadata {made['ml_metadata']})")
            return made
    interpreter = mlmd_python(python)
    log(f"writing {runs} x {steps} executions with ml-metadata ({interpreter}) into {path} ...")
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    done = subprocess.run(
        [interpreter, __file__, "--build-mlmd", str(path), "--runs", str(runs), "--steps", str(steps)],
        stdout=subprocess.PIPE, text=True, check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ml-metadata could not write the source (exit {done.returncode})")
    made = json.loads(done.stdout.strip().splitlines()[-1])
    stamp.write_text(json.dumps(made) + "\n")
    return made


# -- step 2: the copies ---------------------------------------------------------------
def wipe_neo4j(url: str) -> None:
    """Deletes every node and relationship of the Neo4j database a store URL names."""
    import neo4j

    from lineage.urls import config_from_url

    settings = config_from_url(url).neo4j
    auth = (settings.user, settings.password) if settings.user else None
    with neo4j.GraphDatabase.driver(settings.uri, auth=auth, notifications_min_severity="OFF") as driver:
        with driver.session(database=settings.database or None) as session:
            session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()


def timed_copy(source_url: str, destination_url: str, batch_size: int) -> dict[str, Any]:
    """Copies one store into another, timing each phase; checks the counts independently afterwards."""
    import lineage
    from lineage.copy import copy_store, count_records

    phase_started: dict[str, float] = {}
    last_log = [0.0]

    def on_progress(phase: str, done: int, total: int) -> None:
        now = time.perf_counter()
        phase_started.setdefault(phase, now)
        if now - last_log[0] > 10 or done == total:
            last_log[0] = now
            log(f"  {phase:<6} {done:>9,}/{total:,}")

    log(f"copy {source_url} -> {destination_url}")
    with lineage.connect(source_url) as source, lineage.connect(destination_url) as destination:
        started = time.perf_counter()
        report = copy_store(source, destination, batch_size=batch_size, on_progress=on_progress)
        finished = time.perf_counter()
    phases = sorted(phase_started.items(), key=lambda item: item[1])
    seconds = {name: (phases[i + 1][1] if i + 1 < len(phases) else finished) - at
               for i, (name, at) in enumerate(phases)}
    log("  counting both stores independently ...")
    with lineage.connect(source_url) as source, lineage.connect(destination_url) as destination:
        source_counts, destination_counts = count_records(source), count_records(destination)
    return {
        "source": source_url,
        "destination": destination_url,
        "counts": report.counts,
        "records": report.records,
        "ids_kept": report.ids_kept,
        "seconds": finished - started,
        "phase_seconds": seconds,
        "records_per_s": report.records / (finished - started),
        "executions_per_s": report.counts["executions"] / (finished - started),
        "counts_verified": source_counts == destination_counts == report.counts,
        "source_counts": source_counts,
        "destination_counts": destination_counts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="pipeline runs (default 10,000)")
    parser.add_argument("--steps", type=int, default=10, help="steps per run (default 10)")
    parser.add_argument("--workdir", type=Path, default=HERE / "results" / "copy-work",
                        help="where the SQLite files go")
    parser.add_argument("--neo4j", metavar="URL", help="also copy into this Neo4j store (bolt://host:port)")
    parser.add_argument("--wipe-neo4j", action="store_true", help="empty the Neo4j database first")
    parser.add_argument("--skip-sqlite", action="store_true", help="copy only into Neo4j")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--mlmd-python", help="interpreter with ml-metadata (default: scripts/mlmd-venv)")
    parser.add_argument("--build-mlmd", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.build_mlmd is not None:
        print(json.dumps(build_mlmd_file(args.build_mlmd, args.runs, args.steps)))
        return 0

    source_path = args.workdir / f"mlmd-R{args.runs}-K{args.steps}.sqlite"
    made = ensure_source(source_path, args.runs, args.steps, args.mlmd_python)
    # Read-only: the benchmark must not change the file ml-metadata wrote.
    source_url = f"sqlite:///{source_path}?mode=ro"
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "source": made,
        "copies": [],
    }
    sqlite_copy = args.workdir / f"copy-R{args.runs}-K{args.steps}.sqlite"
    sqlite_copy.unlink(missing_ok=True)
    destinations = [] if args.skip_sqlite else [f"sqlite:///{sqlite_copy}"]
    if args.neo4j:
        if args.wipe_neo4j:
            wipe_neo4j(args.neo4j)
        destinations.append(args.neo4j)
    for destination in destinations:
        try:
            results["copies"].append(timed_copy(source_url, destination, args.batch_size))
        except Exception as e:  # a failed copy is a result too: record it and go on
            log(f"  failed: {type(e).__name__}: {e}")
            results["copies"].append({"source": source_url, "destination": destination,
                                      "error": f"{type(e).__name__}: {e}", "counts_verified": False})

    out = HERE / "results" / f"copy-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-R{args.runs}-K{args.steps}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    for copy in results["copies"]:
        if "error" in copy:
            log(f"{copy['destination']}: FAILED: {copy['error']}")
            continue
        log(f"{copy['destination']}: {copy['records']:,} records in {copy['seconds']:.1f} s "
            f"({copy['records_per_s']:,.0f} records/s, {copy['executions_per_s']:,.0f} executions/s); "
            f"counts verified: {copy['counts_verified']}")
    return 0 if all(c["counts_verified"] for c in results["copies"]) else 1


if __name__ == "__main__":
    sys.exit(main())
