"""Fixtures of the conformance suite: one fresh, empty store per test.

A backend is a generator function ``factory(tmp_path)`` that yields a store
and cleans up after the ``yield``. It may call ``pytest.skip`` when the
server it needs cannot be reached. Adding a backend means adding one entry to
``LINEAGE_BACKENDS``; ``LINEAGE_CONFORMANCE_BACKENDS=name,name`` restricts a
run to some of them.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ._api import IS_MLMD, TARGET, metadata_store_pb2, mlmd

Factory = Callable[[pathlib.Path], Iterator[Any]]


def _closing(metadata_store) -> Iterator[Any]:
    """Yields the store, then closes it if it can be closed (MLMD's cannot)."""
    try:
        yield metadata_store
    finally:
        close = getattr(metadata_store, "close", None)
        if callable(close):
            close()


def _fake_database(tmp_path: pathlib.Path) -> Iterator[Any]:
    del tmp_path
    config = metadata_store_pb2.ConnectionConfig(
        fake_database=metadata_store_pb2.FakeDatabaseConfig())
    yield from _closing(mlmd.MetadataStore(config))


def _sqlite_file(tmp_path: pathlib.Path) -> Iterator[Any]:
    config = metadata_store_pb2.ConnectionConfig(
        sqlite=metadata_store_pb2.SqliteMetadataSourceConfig(
            filename_uri=str(tmp_path / "metadata.sqlite"),
            connection_mode=metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE,
        ))
    yield from _closing(mlmd.MetadataStore(config))


def _sqlite_memory(tmp_path: pathlib.Path) -> Iterator[Any]:
    del tmp_path
    config = metadata_store_pb2.ConnectionConfig(sqlite=metadata_store_pb2.SqliteMetadataSourceConfig())
    yield from _closing(mlmd.MetadataStore(config))


def _sql_server(kind: str) -> Factory:
    """A factory for one database on a real server, emptied before each test."""

    def factory(tmp_path: pathlib.Path) -> Iterator[Any]:
        del tmp_path
        import services

        url = services.sql_url(kind, "lineage_conformance")
        services.reset_sql_database(url)
        yield from _closing(mlmd.connect(url))

    return factory


def _neo4j(tmp_path: pathlib.Path) -> Iterator[Any]:
    del tmp_path
    import services

    settings = services.neo4j_settings()
    services.wipe_neo4j(settings)
    config = metadata_store_pb2.ConnectionConfig()
    config.neo4j.CopyFrom(settings)
    yield from _closing(mlmd.MetadataStore(config))


# Backends of our store: every one runs the whole suite.
LINEAGE_BACKENDS: dict[str, Factory] = {
    "memory": _fake_database,
    "sqlite-memory": _sqlite_memory,
    "sqlite-file": _sqlite_file,
    "mysql": _sql_server("mysql"),
    "postgresql": _sql_server("postgresql"),
    "neo4j": _neo4j,
}

# The reference: MLMD's fake database is an in-memory SQLite.
MLMD_BACKENDS: dict[str, Factory] = {
    "memory": _fake_database,
    "sqlite-file": _sqlite_file,
}


def _selected_backends() -> dict[str, Factory]:
    available = MLMD_BACKENDS if IS_MLMD else LINEAGE_BACKENDS
    wanted = os.environ.get("LINEAGE_CONFORMANCE_BACKENDS", "").strip()
    if not wanted:
        return available
    names = [name.strip() for name in wanted.split(",") if name.strip()]
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise pytest.UsageError(
            f"LINEAGE_CONFORMANCE_BACKENDS names unknown backends {unknown} for target "
            f"{TARGET!r}; known: {sorted(available)}")
    return {name: available[name] for name in names}


BACKENDS = _selected_backends()


def pytest_report_header(config):
    del config
    return f"conformance target: {TARGET}; backends: {', '.join(BACKENDS)}"


@pytest.fixture(params=sorted(BACKENDS))
def store(request, tmp_path):
    """A fresh, empty MetadataStore of the backend named by the parameter."""
    factory = BACKENDS[request.param]
    with contextlib.contextmanager(factory)(tmp_path) as metadata_store:
        yield metadata_store
