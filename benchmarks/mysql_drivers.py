"""MySQL drivers side by side: the rows of lineage's own read statements, fetched by each.

Builds (or reuses) a lineage store on the MariaDB/MySQL server of
``LINEAGE_MYSQL_URL`` with the pipeline history of ``workload.py``, records
the SQL text and parameters lineage sends for three read shapes (every
artifact, 100 artifacts by id, the events of 100 artifacts), then runs those
same statements with each installed driver and reports the median time to
execute and fetch all rows. A second table times the public calls end to end
with the store on each driver it can choose (mysqlclient, PyMySQL).

Usage::

    LINEAGE_MYSQL_URL=mysql://user:pw@127.0.0.1:3306/x python benchmarks/mysql_drivers.py \
        --database bench_drivers --runs 910
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import Workload, log  # noqa: E402

__all__ = ["main"]

DRIVERS = ("mysqlclient", "pymysql", "mysql-connector-c", "mariadb")


def _url(database: str) -> str:
    parts = urlsplit(os.environ["LINEAGE_MYSQL_URL"])
    return urlunsplit(parts._replace(path=f"/{database}"))


def _shapes(store: Any) -> list[tuple[str, Any]]:
    first = max(1, len(store.get_artifacts()) // 2)
    ids = list(range(first, first + 100))
    return [("all artifacts", store.get_artifacts),
            ("artifacts by 100 ids", lambda: store.get_artifacts_by_id(ids)),
            ("events by 100 artifact ids", lambda: store.get_events_by_artifact_ids(ids))]


def _build(url: str, runs: int, steps: int) -> None:
    import lineage
    from lineage.proto import metadata_store_pb2 as pb

    store = lineage.connect(url)
    try:
        if store.get_artifacts():
            return
        wl = Workload(lineage, pb, store, runs, steps)
        wl.put_types()
        log(f"ingesting {runs} runs x {steps + 1} executions ...")
        for run in range(runs):
            wl.put_run(run, lambda seconds: None)
    finally:
        store.close()


def _capture(url: str) -> dict[str, list[tuple[str, Any]]]:
    """The statements lineage runs for each shape (PyMySQL's cursor, instrumented)."""
    import pymysql.cursors

    import lineage

    hidden = sys.modules.pop("MySQLdb", None)
    sys.modules["MySQLdb"] = None  # type: ignore[assignment]  # the store takes PyMySQL

    seen: list[tuple[str, Any]] = []
    execute = pymysql.cursors.Cursor.execute

    def recording(self, query, args=None):
        seen.append((query, args))
        return execute(self, query, args)

    try:
        store = lineage.connect(url)
    finally:
        del sys.modules["MySQLdb"]
        if hidden is not None:
            sys.modules["MySQLdb"] = hidden
    pymysql.cursors.Cursor.execute = recording
    try:
        out = {}
        for label, call in _shapes(store):
            call()
            seen.clear()
            call()
            out[label] = [(q, {k: list(v) if isinstance(v, tuple) else v for k, v in (a or {}).items()})
                          for q, a in seen]
        return out
    finally:
        pymysql.cursors.Cursor.execute = execute
        store.close()


def _positional(query: str, params: dict[str, Any]) -> tuple[str, tuple]:
    """``%(name)s`` with lists expanded to ``(%s, ...)``: every driver's 'format' style."""
    import re

    values: list[Any] = []

    def sub(match):
        value = params[match.group(1)]
        if isinstance(value, list):
            values.extend(value)
            return "(" + ", ".join(["%s"] * len(value)) + ")"
        values.append(value)
        return "%s"

    return re.sub(r"%\((\w+)\)s", sub, query), tuple(values)


def _connect(driver: str, url: str):
    parts = urlsplit(url)
    kw = dict(host=parts.hostname, port=parts.port or 3306, user=parts.username,
              password=parts.password or "", database=parts.path.lstrip("/"))
    if driver == "pymysql":
        import pymysql
        return pymysql.connect(charset="utf8mb4", **kw)
    if driver == "mysqlclient":
        import MySQLdb
        return MySQLdb.connect(charset="utf8mb4", binary_prefix=True, **kw)
    if driver == "mysql-connector-c":
        import mysql.connector
        return mysql.connector.connect(use_pure=False, charset="utf8mb4", **kw)
    import mariadb
    return mariadb.connect(**kw)


def _fetch_times(statements: dict, url: str, repeat: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for driver in DRIVERS:
        try:
            connection = _connect(driver, url)
        except Exception as e:  # noqa: BLE001 - an absent or broken driver is a result
            log(f"{driver}: unavailable ({type(e).__name__}: {str(e)[:120]})")
            continue
        results[driver] = {}
        for label, pairs in statements.items():
            prepared = [_positional(q, p) for q, p in pairs]

            def once():
                for query, params in prepared:
                    cursor = connection.cursor()
                    cursor.execute(query, params)
                    cursor.fetchall()
                    cursor.close()
                connection.commit()

            once()
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                once()
                times.append(time.perf_counter() - t0)
            results[driver][label] = statistics.median(times) * 1000
        connection.close()
    return results


def _calls(url: str, repeat: int) -> dict[str, float]:
    """Median ms of each public call, in this process's choice of driver."""
    import lineage

    store = lineage.connect(url)
    try:
        out = {}
        for label, call in _shapes(store):
            call()
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                call()
                times.append(time.perf_counter() - t0)
            out[label] = statistics.median(times) * 1000
        return out
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="bench_mysql_drivers")
    parser.add_argument("--runs", type=int, default=910)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--calls", choices=DRIVERS[:2], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    url = _url(args.database)
    if args.calls:
        if args.calls == "pymysql":
            sys.modules["MySQLdb"] = None  # type: ignore[assignment]
        print(json.dumps(_calls(url, args.repeat)))
        return 0
    _build(url, args.runs, args.steps)
    fetch = _fetch_times(_capture(url), url, args.repeat)
    calls = {}
    for driver in DRIVERS[:2]:
        done = subprocess.run([sys.executable, __file__, "--database", args.database, "--repeat",
                               str(args.repeat), "--calls", driver], capture_output=True, text=True)
        if done.returncode == 0:
            calls[driver] = json.loads(done.stdout.strip().splitlines()[-1])
        else:
            log(f"{driver}: calls failed: {done.stderr[-300:]}")
    labels = list(next(iter(fetch.values())))
    print(f"execute + fetchall of lineage's statements, median ms of {args.repeat}")
    print(f"{'shape':28s}" + "".join(f"{d:>20s}" for d in fetch))
    for label in labels:
        print(f"{label:28s}" + "".join(f"{fetch[d][label]:20.2f}" for d in fetch))
    print(f"\npublic call end to end, median ms of {args.repeat}")
    print(f"{'shape':28s}" + "".join(f"{d:>20s}" for d in calls))
    for label in labels:
        print(f"{label:28s}" + "".join(f"{calls[d][label]:20.2f}" for d in calls))
    print(json.dumps({"fetch_ms": fetch, "call_ms": calls}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
