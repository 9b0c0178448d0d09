"""conftest.py for a run of ml-metadata's own ``metadata_store_test.py`` (copied beside it at run time).

The test file opens every store through its module function
``_get_metadata_store(cli_args, **grpc_options)``: an in-memory SQLite store, or
with ``--use_grpc_backend`` a client of the server at ``--grpc_host``:``--grpc_port``.
This plugin keeps the file as it is and only chooses what that function opens:

- in-process (``--lineage_target NAME``, in lineage's environment): registers the
  ``ml_metadata`` alias (``lineage.compat``) before the file is imported, and
  opens a fresh, empty store of that backend for each call;
- gRPC (``--use_grpc_backend``, in ml-metadata's environment): the real
  ml-metadata client against the given server, as the file itself does;
- ``--lineage_target ml-metadata`` (in ml-metadata's environment): the file as
  it is, on ml-metadata itself: the reference counts.

Three gRPC-only tests of the file call the function without ``cli_args`` or
through ``self.self``; the plugin supplies both, so those tests check the client
options they are about instead of failing on a TypeError.
"""

from __future__ import annotations

import itertools

import pytest

TARGETS = ("memory", "sqlite-memory", "sqlite-file", "mysql", "postgresql", "neo4j")
REFERENCE = "ml-metadata"


def pytest_addoption(parser):
    parser.addoption("--use_grpc_backend", action="store_true", default=False)
    parser.addoption("--grpc_host", type=str, default=None)
    parser.addoption("--grpc_port", type=int, default=0)
    parser.addoption("--lineage_target", choices=(*TARGETS, REFERENCE), default="sqlite-memory")


def _in_process_lineage(config) -> bool:
    return not config.getoption("--use_grpc_backend") and config.getoption("--lineage_target") != REFERENCE


def pytest_configure(config):
    if _in_process_lineage(config):
        from lineage import compat

        compat.install()


def pytest_report_header(config):
    if config.getoption("--lineage_target") == REFERENCE:
        return "ml-metadata itself, in-process"
    if config.getoption("--use_grpc_backend"):
        return f"ml-metadata client against {config.getoption('--grpc_host')}:{config.getoption('--grpc_port')}"
    return f"lineage in-process through the ml_metadata alias, target {config.getoption('--lineage_target')}"


_counter = itertools.count()


def _fresh_config(target: str, tmp_path):
    """A ConnectionConfig of an empty store of ``target``."""
    from lineage.proto import metadata_store_pb2 as pb
    from lineage.urls import config_from_url

    config = pb.ConnectionConfig()
    if target == "memory":
        config.fake_database.SetInParent()
    elif target == "sqlite-memory":
        config.sqlite.SetInParent()
    elif target == "sqlite-file":
        config.sqlite.filename_uri = str(tmp_path / f"store-{next(_counter)}.sqlite")
        config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    elif target in ("mysql", "postgresql"):
        import services

        url = services.sql_url(target, "lineage_mlmd_own_tests")
        services.reset_sql_database(url)
        config = config_from_url(url)
    elif target == "neo4j":
        import services

        settings = services.neo4j_settings()
        services.wipe_neo4j(settings)
        config.neo4j.CopyFrom(settings)
    return config


@pytest.fixture(autouse=True)
def _target_store(request, tmp_path, monkeypatch):
    module = request.module
    original = module._get_metadata_store
    options = request.config.getoption
    default_args = {
        "use_grpc_backend": options("--use_grpc_backend"),
        "grpc_host": options("--grpc_host"),
        "grpc_port": options("--grpc_port"),
    }
    if request.instance is not None:
        request.instance.self = request.instance
    opened = []

    def get_metadata_store(cli_args=None, **grpc_options):
        cli_args = cli_args or default_args
        if not _in_process_lineage(request.config):
            store = original(cli_args, **grpc_options)
        else:
            store = module.mlmd.MetadataStore(_fresh_config(options("--lineage_target"), tmp_path))
        opened.append(store)
        return store

    monkeypatch.setattr(module, "_get_metadata_store", get_metadata_store)
    yield
    for store in opened:
        close = getattr(store, "close", None)
        if callable(close):
            close()
