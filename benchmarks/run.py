"""Side-by-side benchmark of lineage and ml-metadata.

Runs each target of ``benchmarks/workload.py`` in its own process, one after
the other (ml-metadata in its own virtual environment), prints a table of the
figures with ours / MLMD ratios and writes all results as JSON to
``benchmarks/results/``.

Usage::

    python benchmarks/run.py --quick --targets mlmd-fake
    python benchmarks/run.py --runs 2000 --steps 10 --targets mlmd-fake,lineage-memory
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

# workload.py sits beside this file; importing it costs nothing, as it loads
# ml-metadata or lineage only when a target runs.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import SERVER_URL_ENV, TARGETS, Target  # noqa: E402

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOAD = HERE / "workload.py"
RESULTS = HERE / "results"
MLMD_VENV_SCRIPT = REPO / "scripts" / "mlmd-venv"
MLMD_FALLBACK_PYTHON = Path("/tmp/mlmd-venv/bin/python")

FULL = {"runs": 2000, "steps": 10, "repeat": 5, "point_reads": 300}
QUICK = {"runs": 100, "steps": 5, "repeat": 3, "point_reads": 50}
DEFAULT_TARGETS = "mlmd-fake,lineage-memory,mlmd-sqlite,lineage-sqlite"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def mlmd_python() -> str:
    """Finds a Python interpreter that has ml-metadata installed.

    Returns:
        The interpreter path printed last by ``scripts/mlmd-venv`` when that
        script exists and succeeds, otherwise ``/tmp/mlmd-venv/bin/python``.

    Raises:
        SystemExit: If neither yields an existing interpreter.
    """
    if MLMD_VENV_SCRIPT.is_file():
        log(f"resolving the ml-metadata interpreter with {MLMD_VENV_SCRIPT} ...")
        proc = subprocess.run(
            [str(MLMD_VENV_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False
        )
        lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        if proc.returncode == 0 and lines and Path(lines[-1]).is_file():
            return lines[-1]
        log(f"{MLMD_VENV_SCRIPT} failed (exit {proc.returncode}); trying {MLMD_FALLBACK_PYTHON}")
    if MLMD_FALLBACK_PYTHON.is_file():
        return str(MLMD_FALLBACK_PYTHON)
    raise SystemExit(
        "no ml-metadata interpreter: create one with scripts/mlmd-venv or pass --mlmd-python"
    )


def server_urls(backends: set[str]) -> None:
    """Makes sure LINEAGE_MYSQL_URL / LINEAGE_POSTGRES_URL are set for the children.

    Unset ones come from ``scripts/sql-services start`` (MariaDB and
    PostgreSQL on loopback).
    """
    missing = [b for b in sorted(backends) if not os.environ.get(SERVER_URL_ENV[b])]
    if not missing:
        return
    log("starting the SQL servers with scripts/sql-services ...")
    proc = subprocess.run([str(REPO / "scripts" / "sql-services"), "start"], stdout=subprocess.PIPE,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("scripts/sql-services start failed; set LINEAGE_MYSQL_URL / LINEAGE_POSTGRES_URL")
    for line in proc.stdout.splitlines():
        scheme = line.split("://", 1)[0]
        if scheme in SERVER_URL_ENV and not os.environ.get(SERVER_URL_ENV[scheme]):
            os.environ[SERVER_URL_ENV[scheme]] = line.strip()


def drop_database(backend: str, database: str | None) -> None:
    """Drops the database a server target made (the workload cannot: ml-metadata's
    environment has no SQL driver)."""
    if not database:
        return
    import sqlalchemy as sa

    driver = "mysql+pymysql" if backend == "mysql" else "postgresql+psycopg"
    url = sa.engine.make_url(os.environ[SERVER_URL_ENV[backend]]).set(drivername=driver)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            # An identifier, not a value; the workload chose it.
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}{force}")
    finally:
        engine.dispose()


def run_one(python: str, target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """Runs one target in a child process.

    Args:
        python: Interpreter to run the workload with.
        target: The target.
        args: Parsed command line.

    Returns:
        The target's JSON results, or ``{"target", "failed"}`` when the child
        failed.
    """
    cmd = [
        python,
        str(WORKLOAD),
        "--target", target.name,
        "--runs", str(args.runs),
        "--steps", str(args.steps),
        "--repeat", str(args.repeat),
        "--point-reads", str(args.point_reads),
        "--seed", str(args.seed),
    ]
    if args.workdir:
        cmd += ["--workdir", args.workdir]
    env = dict(os.environ)
    # Each interpreter must import its own packages only.
    env.pop("PYTHONPATH", None)
    log(f"== {target.name}: {python}")
    tail: collections.deque[str] = collections.deque(maxlen=15)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert proc.stderr is not None and proc.stdout is not None
    for line in proc.stderr:
        sys.stderr.write(line)
        tail.append(line.rstrip())
    stdout = proc.stdout.read()
    code = proc.wait()
    if code != 0:
        # The full traceback went to stderr above; keep its last line.
        return {"target": target.name, "failed": f"exit {code}: {tail[-1] if tail else ''}"}
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        return {"target": target.name, "failed": f"unreadable output ({e}): {stdout[-300:]!r}"}


# ---------------------------------------------------------------- the table

def _get(result: dict[str, Any], *path: str) -> Any:
    node: Any = result
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _checked(section: str, label: str) -> Callable[[dict[str, Any]], tuple[float | None, str]]:
    """A metric reading the median of a checked query or read."""

    def read(result: dict[str, Any]) -> tuple[float | None, str]:
        entry = _get(result, section, label)
        if entry is None:
            err = _get(result, "errors", label)
            return None, ("error: " + err[:40]) if err else ""
        note = ""
        if not entry.get("ok", True):
            if "results" in entry:
                note = f"WRONG ({entry['results']} of {entry['expected']})"
            else:
                note = f"WRONG ({entry.get('wrong')} ids)"
        return entry["median_ms"], note

    return read


def _plain(*path: str, scale: float = 1.0) -> Callable[[dict[str, Any]], tuple[float | None, str]]:
    def read(result: dict[str, Any]) -> tuple[float | None, str]:
        value = _get(result, *path)
        return (None if value is None else value * scale), ""

    return read


# (label, unit, reader); ratios are ours / MLMD for every row.
METRICS: list[tuple[str, str, Callable[[dict[str, Any]], tuple[float | None, str]]]] = [
    ("ingest rate (higher = better)", "exec/s", _plain("ingest", "executions_per_s")),
    ("put_execution median", "ms", _plain("ingest", "put_execution", "median_ms")),
    ("put_execution p99", "ms", _plain("ingest", "put_execution", "p99_ms")),
    ("filter: property = value", "ms", _checked("queries", "filter_property")),
    ("filter: type AND uri LIKE", "ms", _checked("queries", "filter_type_uri")),
    ("get_artifacts_by_id (1 id)", "ms", _checked("point_reads", "get_artifacts_by_id")),
    ("get_executions_by_id (1 id)", "ms", _checked("point_reads", "get_executions_by_id")),
    ("RSS growth per 1k executions", "MiB",
     _plain("memory", "kib_per_1k_executions", scale=1 / 1024)),
    ("database file", "MiB", _plain("db_file_bytes", scale=1 / 2**20)),
]


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def build_table(results: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Lays out the figures: one column per target, one per ratio pair.

    Args:
        results: Target name to its results, in run order.

    Returns:
        Header and rows of cell strings.
    """
    names = list(results)
    pairs = [
        (n, TARGETS[n].baseline)
        for n in names
        if TARGETS[n].baseline in results
        and "failed" not in results[n]
        and "failed" not in results[TARGETS[n].baseline]
    ]
    header = ["metric", "unit", *names, *(f"{ours} / {base}" for ours, base in pairs)]
    rows = []
    for label, unit, read in METRICS:
        values = {n: read(results[n]) for n in names if "failed" not in results[n]}
        if all(v is None and not note for v, note in values.values()):
            continue
        row = [label, unit]
        for n in names:
            if "failed" in results[n]:
                row.append("failed")
                continue
            value, note = values[n]
            row.append(f"{fmt(value)} {note}".strip())
        for ours, base in pairs:
            a, b = values[ours][0], values[base][0]
            row.append(f"{a / b:.2f}x" if a is not None and b else "-")
        rows.append(row)
    return header, rows


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        print(title)
        for r in [header, ["-" * w for w in widths], *rows]:
            print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        return
    table = Table(title=title)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i < 2 else "right")
    for r in rows:
        table.add_row(*r)
    # A pipe or file gets the full width instead of rich's 80-column default.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, help=f"pipeline runs (default {FULL['runs']})")
    p.add_argument("--steps", type=int, help=f"steps per run (default {FULL['steps']})")
    p.add_argument("--repeat", type=int, help=f"repetitions per filter query (default {FULL['repeat']})")
    p.add_argument("--point-reads", type=int,
                   help=f"single-id reads per kind (default {FULL['point_reads']})")
    p.add_argument("--quick", action="store_true",
                   help="smoke-run sizes: " + ", ".join(f"{k}={v}" for k, v in QUICK.items()))
    p.add_argument("--targets", default=DEFAULT_TARGETS,
                   help=f"comma-separated, from: {', '.join(TARGETS)} (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed for the point-read ids")
    p.add_argument("--mlmd-python", help="interpreter with ml-metadata (default: scripts/mlmd-venv)")
    p.add_argument("--lineage-python", default=sys.executable,
                   help="interpreter with lineage (default: this one)")
    p.add_argument("--workdir", help="directory for database files (default: a temporary one)")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for key, default in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, default)
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be positive")
    args.target_list = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in args.target_list if t not in TARGETS]
    if unknown or not args.target_list:
        p.error(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Runs the requested targets and reports them.

    Returns:
        0 when every target ran and every result checked out, else 1.
    """
    args = parse_args(argv)
    pythons: dict[str, str] = {"lineage": args.lineage_python}
    if any(TARGETS[t].impl == "mlmd" for t in args.target_list):
        pythons["mlmd"] = args.mlmd_python or mlmd_python()

    started = dt.datetime.now(dt.timezone.utc)
    servers = {TARGETS[t].backend for t in args.target_list} & set(SERVER_URL_ENV)
    if servers:
        server_urls(servers)
    results: dict[str, dict[str, Any]] = {}
    for name in args.target_list:
        target = TARGETS[name]
        results[name] = run_one(pythons[target.impl], target, args)
        if target.backend in SERVER_URL_ENV:
            drop_database(target.backend, results[name].get("database"))

    settings = {k: getattr(args, k) for k in ("runs", "steps", "repeat", "point_reads", "seed")}
    report = {
        "started": started.isoformat(timespec="seconds"),
        "settings": settings,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "pythons": pythons,
        },
        "targets": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"bench-{stamp}-R{args.runs}-K{args.steps}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")

    title = (
        f"{args.runs} runs x {args.steps} steps = {args.runs * args.steps:,} executions; "
        f"medians of {args.repeat} queries and {args.point_reads} point reads"
    )
    header, rows = build_table(results)
    print_table(title, header, rows)
    for name, result in results.items():
        if "failed" in result:
            print(f"{name} failed: {result['failed']}")
        for label, err in (result.get("errors") or {}).items():
            print(f"{name} {label}: {err}")
    print(f"results: {path}")

    bad = any(
        "failed" in r
        or r.get("errors")
        or not all(e.get("ok", True) for s in ("queries", "point_reads") for e in r.get(s, {}).values())
        for r in results.values()
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
