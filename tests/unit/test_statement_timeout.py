"""Every backend stops a query at the statement timeout, on the server, and says which limit.

The query is expensive by construction and within every documented limit:
four aliases tied by a cycle of ``<`` over one artifact's 300 contexts, which
no assignment satisfies, so a database enumerates increasing chains (about
C(300, 4) = 3.3e8 of them) until it gives up. With ``LINEAGE_STATEMENT_TIMEOUT=1`` the call must fail with
``DeadlineExceededError`` within seconds, and the server's own view
(``pg_stat_activity``, ``SHOW PROCESSLIST``, ``SHOW TRANSACTIONS``) must show
nothing of it still running.
"""

from __future__ import annotations

import contextlib
import time

import pytest
import services

import lineage
from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

_ALIASES = "abcd"
HOSTILE = " AND ".join(
    f"contexts_{a}.id < contexts_{b}.id" for a, b in zip(_ALIASES, _ALIASES[1:] + _ALIASES[0]))


def _config(backend: str, tmp_path) -> pb.ConnectionConfig:
    if backend == "memory":
        return pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig())
    if backend == "sqlite":
        return pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
            filename_uri=str(tmp_path / "metadata.sqlite")))
    if backend == "neo4j":
        settings = services.neo4j_settings()
        services.wipe_neo4j(settings)
        config = pb.ConnectionConfig()
        config.neo4j.CopyFrom(settings)
        return config
    url = services.sql_url(backend, "lineage_timeout")
    services.reset_sql_database(url)
    from lineage.urls import config_from_url

    return config_from_url(url)


def _seed(store) -> None:
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="Data"))
    context_type = store.put_context_type(pb.ContextType(name="Run"))
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=artifact_type)])
    context_ids = store.put_contexts(
        [pb.Context(type_id=context_type, name=f"run{i}") for i in range(300)])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=artifact_id, context_id=c) for c in context_ids], [])


def _running(backend: str, config: pb.ConnectionConfig) -> list:
    """Statements of the store the server still runs, as the server reports them."""
    if backend == "postgresql":
        import psycopg

        settings = config.postgresql
        with psycopg.connect(host=settings.host, port=settings.port, user=settings.user,
                             password=settings.password, dbname=settings.dbname) as connection:
            return connection.execute(
                "SELECT query FROM pg_stat_activity WHERE state = 'active' "
                "AND pid <> pg_backend_pid() AND datname = %s", (settings.dbname,)).fetchall()
    if backend == "mysql":
        import pymysql

        settings = config.mysql
        connection = pymysql.connect(host=settings.host, port=settings.port, user=settings.user,
                                     password=settings.password)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW FULL PROCESSLIST")
                return [row for row in cursor.fetchall()
                        if row[3] == settings.database and row[4] == "Query"]
        finally:
            connection.close()
    if backend == "neo4j":
        import neo4j

        settings = config.neo4j
        auth = (settings.user, settings.password) if settings.user else None
        with neo4j.GraphDatabase.driver(settings.uri, auth=auth) as driver:
            records, _, _ = driver.execute_query(
                "SHOW TRANSACTIONS YIELD currentQuery WHERE currentQuery CONTAINS 'contexts' "
                "OR currentQuery CONTAINS 'ATTRIBUTED_TO' RETURN currentQuery")
            return [r for r in records if "SHOW TRANSACTIONS" not in r[0]]
    return []


@pytest.mark.parametrize("backend", ["memory", "sqlite", "mysql", "postgresql", "neo4j"])
def test_a_hostile_query_stops_at_the_statement_timeout(backend, tmp_path, monkeypatch):
    config = _config(backend, tmp_path)
    if backend != "memory":
        # A cold server may take longer than the test's limit to open a store.
        with contextlib.closing(lineage.MetadataStore(config)) as store:
            _seed(store)
    # The limit is read when a store opens.
    monkeypatch.setenv("LINEAGE_STATEMENT_TIMEOUT", "1")
    with contextlib.closing(lineage.MetadataStore(config)) as store:
        if backend == "memory":
            _seed(store)
        start = time.monotonic()
        with pytest.raises(errors.DeadlineExceededError, match="LINEAGE_STATEMENT_TIMEOUT"):
            store.get_artifacts(list_options=lineage.ListOptions(filter_query=HOSTILE))
        elapsed = time.monotonic() - start
        # A well-behaved query still runs on the same store afterwards.
        assert len(store.get_artifacts()) == 1
    assert elapsed < 15, f"stopped only after {elapsed:.1f} s"
    deadline = time.monotonic() + 5
    while _running(backend, config) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running(backend, config) == []
