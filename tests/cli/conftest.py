"""Fixtures of the ``lineage`` command tests: empty stores by URL, and a runner for the command.

Every command names its store with ``--db URL``. A test gets the URL of a
fresh, empty store from the ``store_url`` fixture, parametrized over every
backend that can run here:

* ``memory``: a named in-process store. ``memory://`` stores live only as long
  as their process, so within a test ``memory://NAME`` URLs are resolved to
  one shared store per name (by wrapping ``lineage.connect``) and commands run
  in-process through ``lineage.cli.main``.
* ``sqlite``: a file in the test's temporary folder, once the SQL backend exists.
* ``mysql`` / ``postgresql``: a fresh database on the servers named by
  ``LINEAGE_MYSQL_URL`` / ``LINEAGE_POSTGRES_URL`` (scripts/sql-services), once
  the SQL backend exists; dropped afterwards.
* ``neo4j``: the server named by ``NEO4J_URI`` (scripts/neo4j-local), wiped first.

A backend that cannot run is skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

import lineage
from lineage import cli

ALL_BACKENDS = ("memory", "sqlite", "mysql", "postgresql", "neo4j")


class _SharedMemoryStore(lineage.MetadataStore):
    """A memory store that outlives each command that opens it: close() keeps it."""

    def close(self) -> None:
        """Keeps the store for the next command of the test."""


@pytest.fixture
def shared_memory(monkeypatch):
    """Resolves ``memory://NAME`` to one store per name for the duration of a test."""
    stores: dict[str, lineage.MetadataStore] = {}
    real_connect = lineage.connect

    def connect(url: str = "memory://", **kwargs):
        name = urlsplit(url).netloc if url.startswith("memory://") else ""
        if not name:
            return real_connect(url, **kwargs)
        if name not in stores:
            stores[name] = _SharedMemoryStore(lineage.config_from_url("memory://"))
        return stores[name]

    monkeypatch.setattr(lineage, "connect", connect)
    yield stores
    for store in stores.values():
        lineage.MetadataStore.close(store)


def _sql_backend_reason() -> str | None:
    if importlib.util.find_spec("lineage.backends.sql") is None:
        return "the SQL backend (lineage.backends.sql) is not in this build yet"
    return None


def _fresh_sql_database(kind: str, request) -> str:
    reason = _sql_backend_reason()
    if reason:
        pytest.skip(reason)
    env = "LINEAGE_MYSQL_URL" if kind == "mysql" else "LINEAGE_POSTGRES_URL"
    base = os.environ.get(env, "").strip()
    if not base:
        pytest.skip(f"{env} is not set (scripts/sql-services start prints it)")
    parts = urlsplit(base)
    name = f"lineage_cli_{uuid.uuid4().hex[:12]}"
    if kind == "mysql":
        import pymysql

        def admin(sql: str) -> None:
            connection = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username,
                                         password=parts.password or "", autocommit=True)
            with connection, connection.cursor() as cursor:
                cursor.execute(sql)
    else:
        import psycopg

        def admin(sql: str) -> None:
            with psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                                 password=parts.password or "", dbname=parts.path.lstrip("/") or "postgres",
                                 autocommit=True) as connection:
                connection.execute(sql)
    # Database names cannot be bound parameters; this one is generated above from hex digits only.
    admin(f"CREATE DATABASE {name}")
    request.addfinalizer(lambda: admin(f"DROP DATABASE {name}"))
    return urlunsplit(parts._replace(path=f"/{name}"))


def _neo4j_url() -> str:
    pytest.importorskip("neo4j")
    uri = os.environ.get("NEO4J_URI", "").strip()
    if not uri:
        pytest.skip("NEO4J_URI is not set (scripts/neo4j-local start prints it)")
    import neo4j

    user, password = os.environ.get("NEO4J_USER", ""), os.environ.get("NEO4J_PASSWORD", "")
    auth = (user, password) if user else None
    with neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as driver:
        with driver.session() as session:
            session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    if not user:
        return uri
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.netloc}"))


def make_store_url(backend: str, request, tmp_path, tag: str = "a") -> str:
    """Returns the URL of a fresh, empty store of ``backend`` (skips when it cannot run)."""
    if backend == "memory":
        request.getfixturevalue("shared_memory")
        return f"memory://cli-{tag}-{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        reason = _sql_backend_reason()
        if reason:
            pytest.skip(reason)
        url = f"sqlite:///{tmp_path / f'{tag}.sqlite'}"
        lineage.connect(url).close()  # the file exists, as a store, from here on
        return url
    if backend in ("mysql", "postgresql"):
        return _fresh_sql_database(backend, request)
    if backend == "neo4j":
        return _neo4j_url()
    raise ValueError(backend)


@pytest.fixture(params=ALL_BACKENDS)
def store_url(request, tmp_path) -> str:
    """The URL of a fresh, empty store, once per backend."""
    return make_store_url(request.param, request, tmp_path)


@dataclasses.dataclass
class Result:
    """What one run of the command did."""

    code: int
    out: str
    err: str

    def json(self):
        import json

        return json.loads(self.out)


@pytest.fixture
def run(capsys, monkeypatch):
    """Runs ``lineage ARGS...`` in this process and returns its exit code and output."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("LINEAGE_DB", raising=False)

    def invoke(*argv: str) -> Result:
        capsys.readouterr()
        try:
            code = cli.main(list(argv))
        except SystemExit as e:  # argparse ends usage errors this way
            code = e.code if isinstance(e.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def demo_store(store_url, run, tmp_path):
    """A store holding the demo's history; returns (url, the demo's --json summary)."""
    result = run("demo", "--db", store_url, "-o", str(tmp_path / "demo.html"), "--json")
    assert result.code == 0, result.err
    return store_url, result.json()
