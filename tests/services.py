"""Real servers for tests: MariaDB, PostgreSQL and Neo4j, found or started.

Each server is taken from its environment variable when set
(``LINEAGE_MYSQL_URL``, ``LINEAGE_POSTGRES_URL``, ``NEO4J_URI``), else from a
Docker engine for Neo4j when one answers (testcontainers), else started with the
project's own scripts. A test that cannot get its server is skipped with the
reason locally and fails under CI (the ``CI`` variable set).
"""

from __future__ import annotations

import atexit
import os
import pathlib
import subprocess
from urllib.parse import urlsplit, urlunsplit

import pytest

from lineage.proto import metadata_store_pb2 as pb

__all__ = ["sql_url", "reset_sql_database", "neo4j_settings", "wipe_neo4j", "require"]

ROOT = pathlib.Path(__file__).resolve().parents[1]
_SQL_ENV = {"mysql": "LINEAGE_MYSQL_URL", "postgresql": "LINEAGE_POSTGRES_URL"}
_found: dict[str, object] = {}
_failures: dict[str, str] = {}


def require(reason: str) -> None:
    """Skips the calling test, or fails it under CI, where nothing may be skipped."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _start_sql_services() -> dict[str, str]:
    done = subprocess.run(
        [str(ROOT / "scripts" / "sql-services"), "start"], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/sql-services start failed:\n{done.stderr[-2000:]}")
    urls = {}
    for line in done.stdout.splitlines():
        for kind in _SQL_ENV:
            if line.startswith(f"{kind}://"):
                urls[kind] = line.strip()
    return urls


def sql_url(kind: str, database: str) -> str:
    """Returns a URL of the ``kind`` server ("mysql" or "postgresql") naming ``database``."""
    if kind not in _found and kind not in _failures:
        url = os.environ.get(_SQL_ENV[kind], "").strip()
        try:
            if not url:
                url = _start_sql_services()[kind]
            _found[kind] = url
        except Exception as e:  # any start-up failure becomes the skip reason
            _failures[kind] = f"no {kind} server for tests: {type(e).__name__}: {e}"
    if kind not in _found:
        require(_failures[kind])
    parts = urlsplit(str(_found[kind]))
    return urlunsplit(parts._replace(path=f"/{database}"))


def reset_sql_database(url: str) -> None:
    """Empties every table of a test database but MLMDEnv, restarting its ids at 1."""
    import sqlalchemy as sa

    parts = urlsplit(url)
    driver = {"mysql": "mysql+pymysql", "postgresql": "postgresql+psycopg"}[parts.scheme]
    engine = sa.create_engine(urlunsplit(parts._replace(scheme=driver)))
    try:
        with engine.begin() as connection:
            tables = [t for t in sa.inspect(connection).get_table_names() if t.lower() != "mlmdenv"]
            if not tables:
                return
            if parts.scheme == "mysql":
                connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
                for table in tables:
                    connection.exec_driver_sql(f"TRUNCATE TABLE `{table}`")
                connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
            else:
                quoted = ", ".join(f'"{t}"' for t in tables)
                connection.exec_driver_sql(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
    except sa.exc.OperationalError as e:
        if "Unknown database" in str(e) or "does not exist" in str(e):
            return  # a first run: the store creates the database
        raise
    finally:
        engine.dispose()


def _docker_neo4j() -> pb.Neo4jDatabaseConfig | None:
    """Starts a Neo4j container when a Docker engine answers; None otherwise."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # no client library, no socket, no engine: all mean "no Docker"
        return None
    from testcontainers.community.neo4j import Neo4jContainer

    container = Neo4jContainer("neo4j:5.26-community")
    container.start()
    atexit.register(container.stop)
    return pb.Neo4jDatabaseConfig(
        uri=container.get_connection_url(), user=container.username, password=container.password
    )


def _script_neo4j() -> pb.Neo4jDatabaseConfig:
    """Starts (or finds) the scripts/neo4j-local server; stops it at exit if it started it."""
    script = str(ROOT / "scripts" / "neo4j-local")
    running = subprocess.run([script, "status"], capture_output=True, text=True).returncode == 0
    done = subprocess.run([script, "start"], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"scripts/neo4j-local start failed:\n{done.stderr[-2000:]}")
    if not running:
        atexit.register(subprocess.run, [script, "stop"], capture_output=True)
    return pb.Neo4jDatabaseConfig(uri=done.stdout.strip().splitlines()[-1])


def neo4j_settings() -> pb.Neo4jDatabaseConfig:
    """Returns connection settings of a Neo4j server for tests, starting one if needed."""
    if "neo4j" not in _found and "neo4j" not in _failures:
        uri = os.environ.get("NEO4J_URI", "").strip()
        try:
            import neo4j

            if uri:
                found = pb.Neo4jDatabaseConfig(
                    uri=uri, user=os.environ.get("NEO4J_USER", ""),
                    password=os.environ.get("NEO4J_PASSWORD", ""),
                )
            else:
                found = _docker_neo4j() or _script_neo4j()
            auth = (found.user, found.password) if found.user else None
            with neo4j.GraphDatabase.driver(found.uri, auth=auth) as driver:
                driver.verify_connectivity()
            _found["neo4j"] = found
        except Exception as e:  # any start-up failure becomes the skip reason
            _failures["neo4j"] = f"no Neo4j server for tests: {type(e).__name__}: {e}"
    if "neo4j" not in _found:
        require(_failures["neo4j"])
    return _found["neo4j"]  # type: ignore[return-value]


def wipe_neo4j(settings: pb.Neo4jDatabaseConfig) -> None:
    """Deletes every node and relationship (id counters included); keeps the schema."""
    import neo4j

    auth = (settings.user, settings.password) if settings.user else None
    with neo4j.GraphDatabase.driver(settings.uri, auth=auth, notifications_min_severity="OFF") as driver:
        with driver.session(database=settings.database or None) as session:
            session.run("MATCH (n) DETACH DELETE n").consume()
