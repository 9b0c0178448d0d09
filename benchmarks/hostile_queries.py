"""Times hostile filter queries on each backend and checks the server is idle afterwards.

Two queries from the hardening review: a LIKE with many ``%`` segments over a
long uri, and a filter joining N context aliases, each with its own predicate,
on a store holding one artifact in one context. Each runs in a child process
killed after ``--kill-after`` seconds (a client that gives up); then the
server's own view is read: ``SHOW PROCESSLIST`` (MariaDB), ``pg_stat_activity``
(PostgreSQL), ``SHOW TRANSACTIONS`` (Neo4j), to see whether the query still runs.

    LINEAGE_MYSQL_URL=... LINEAGE_POSTGRES_URL=... NEO4J_URI=... \\
        .venv/bin/python benchmarks/hostile_queries.py --aliases 8,12,20 --segments 6,8,20

Run it with ``PYTHONPATH`` pointing at another checkout to time that one.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time


def _store(backend: str):
    import lineage

    if backend == "sqlite":
        return lineage.connect("sqlite:///" + os.path.join(os.environ.get("TMPDIR", "/tmp"), "lineage_hostile.sqlite"))
    if backend == "mysql":
        return lineage.connect(os.environ["LINEAGE_MYSQL_URL"].rsplit("/", 1)[0] + "/lineage_hostile")
    if backend == "postgresql":
        return lineage.connect(os.environ["LINEAGE_POSTGRES_URL"].rsplit("/", 1)[0] + "/lineage_hostile")
    if backend == "neo4j":
        return lineage.connect(os.environ["NEO4J_URI"])
    return lineage.connect("memory://")


def _seed(store, uri: str) -> None:
    from lineage.proto import metadata_store_pb2 as pb

    type_id = store.put_artifact_type(pb.ArtifactType(name="HostileData"))
    context_type = store.put_context_type(pb.ContextType(name="HostileRun"))
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=type_id, uri=uri)])
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="run")])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=artifact_id, context_id=context_id)], [])


def _query(backend: str, query: str, out) -> None:
    import lineage

    store = _store(backend)
    start = time.perf_counter()
    try:
        store.get_artifacts(list_options=lineage.ListOptions(filter_query=query))
        outcome = "ok"
    except Exception as e:  # noqa: BLE001 - reported, not handled
        outcome = type(e).__name__
    out.put((time.perf_counter() - start, outcome))


def _busy(backend: str) -> int:
    """Queries of the store still running on the server, as it reports them."""
    if backend == "mysql":
        import pymysql
        from urllib.parse import urlsplit

        parts = urlsplit(os.environ["LINEAGE_MYSQL_URL"])
        connection = pymysql.connect(host=parts.hostname, port=parts.port, user=parts.username,
                                     password=parts.password)
        with connection.cursor() as cursor:
            cursor.execute("SHOW FULL PROCESSLIST")
            rows = [r for r in cursor.fetchall() if r[4] == "Query" and "PROCESSLIST" not in (r[7] or "")]
        connection.close()
        return len(rows)
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(os.environ["LINEAGE_POSTGRES_URL"]) as connection:
            rows = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() "
                "AND datname = 'lineage_hostile'").fetchall()
        return rows[0][0]
    if backend == "neo4j":
        import neo4j

        from lineage.urls import config_from_url

        settings = config_from_url(os.environ["NEO4J_URI"]).neo4j
        auth = (settings.user, settings.password) if settings.user else None
        with neo4j.GraphDatabase.driver(settings.uri, auth=auth) as driver:
            records, _, _ = driver.execute_query(
                "SHOW TRANSACTIONS YIELD currentQuery, status WHERE NOT currentQuery STARTS WITH 'SHOW' "
                "RETURN count(*)")
        return records[0][0]
    return 0


def _run(backend: str, query: str, kill_after: float) -> tuple[float, str, int]:
    out = multiprocessing.Queue()
    child = multiprocessing.Process(target=_query, args=(backend, query, out))
    start = time.perf_counter()
    child.start()
    child.join(kill_after)
    if child.is_alive():
        child.kill()
        child.join()
        elapsed, outcome = time.perf_counter() - start, f"killed after {kill_after:g} s"
    else:
        elapsed, outcome = out.get()
    time.sleep(1.0)  # give the server a moment to notice a client that went away
    return elapsed, outcome, _busy(backend)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,mysql,postgresql,neo4j")
    parser.add_argument("--aliases", default="8,12,20")
    parser.add_argument("--segments", default="6,8,20")
    parser.add_argument("--uri-length", type=int, default=5000)
    parser.add_argument("--kill-after", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    import lineage

    print(f"lineage from {os.path.dirname(lineage.__file__)}; "
          f"LINEAGE_STATEMENT_TIMEOUT={os.environ.get('LINEAGE_STATEMENT_TIMEOUT', '(default)')}")
    uri = "a" * args.uri_length
    for backend in args.backends.split(","):
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
        import services

        if backend in ("mysql", "postgresql"):
            services.reset_sql_database(services.sql_url(backend, "lineage_hostile"))
        elif backend == "neo4j":
            services.wipe_neo4j(services.neo4j_settings())
        elif backend == "sqlite":
            services_path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "lineage_hostile.sqlite")
            if os.path.exists(services_path):
                os.remove(services_path)
        store = _store(backend)
        _seed(store, uri)
        queries = [(f"LIKE, {n} segments", "uri LIKE '" + "%a" * n + "b'")
                   for n in map(int, args.segments.split(","))]
        queries += [(f"{n} aliases", " AND ".join(f"contexts_c{i}.type = 'HostileRun'" for i in range(n)))
                    for n in map(int, args.aliases.split(","))]
        for label, query in queries:
            runs = [_run(backend, query, args.kill_after) for _ in range(args.repeat)]
            median = statistics.median(r[0] for r in runs)
            print(f"{backend:10} {label:18} median {median:8.3f} s  {runs[-1][1]:28} "
                  f"server busy after: {runs[-1][2]}", flush=True)
        close = getattr(store, "close", None)
        if close:
            close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
