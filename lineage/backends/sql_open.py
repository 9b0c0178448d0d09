"""Opening a relational store: connect, check the schema, create or migrate it.

The order matters for leaving no trace behind on failure: the database is
probed before anything is written, a foreign or too-new database is refused
untouched, and a SQLite file this call created is deleted again if the open
fails. Initialisation is serialised between clients (``BEGIN IMMEDIATE`` on
SQLite, a named lock on MySQL, an advisory lock on PostgreSQL) and, on a
fresh store, the lock is held until the first transaction (where the store's
built-in types are written) ends, so two clients never both see an empty
store.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from lineage import errors
from lineage.backends import sql_connect
from lineage.backends import sql_schema as schema
from lineage.backends.sql import (
    FINGERPRINT_TABLE_NAME,
    SqlBackend,
    _added_indexes,
    _create_fingerprint_table,
    fingerprints_as_text,
    upgrade_fingerprint_table,
)
from lineage.backends.sql_connect import Database
from lineage.backends.sql_exec import translate_error
from lineage.proto import metadata_store_pb2 as pb

__all__ = ["open_backend", "open_database"]

_INIT_ATTEMPTS = 20


def open_database(config: pb.ConnectionConfig) -> Database:
    """Connects to the database of a sqlite, mysql or postgresql config."""
    which = config.WhichOneof("config")
    if which == "sqlite":
        return sql_connect.open_sqlite(config.sqlite)
    if which == "mysql":
        return sql_connect.open_mysql(config.mysql)
    if which == "postgresql":
        return sql_connect.open_postgresql(config.postgresql)
    raise errors.InvalidArgumentError(f"ConnectionConfig.{which} is not a relational database")


def open_backend(config: pb.ConnectionConfig, migration_options: pb.MigrationOptions) -> Any:
    """See ``lineage.backends.sql.open_backend``."""
    database = open_database(config)
    try:
        backend = _prepare(database, migration_options)
    except BaseException:
        database.dispose()
        if database.created_file and database.path:
            sql_connect.remove_sqlite_file(database.path)
        raise
    return backend


def _prepare(database: Database, options: pb.MigrationOptions) -> Any:
    downgrade_to = options.downgrade_to_schema_version if options.HasField(
        "downgrade_to_schema_version") else -1
    for attempt in range(_INIT_ATTEMPTS):
        try:
            return _prepare_once(database, options, downgrade_to)
        except errors.AbortedError:
            # Another client is initialising the database right now.
            if attempt == _INIT_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _prepare_once(database: Database, options: pb.MigrationOptions, downgrade_to: int) -> Any:
    engine = database.engine
    holder = None  # DBAPI connection holding the server-side init lock
    keep_lock = False
    try:
        if database.init_lock is not None:
            holder = engine.raw_connection()
            try:
                database.init_lock[0](holder)
                holder.commit()
            except errors.StatusError:
                raise
            except Exception as e:
                raise translate_error(e, database.where) from e
        with engine.connect() as connection:
            try:
                if database.dialect == "sqlite" and not database.read_only:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                probe = schema.probe_schema(connection)
                state = _apply(database, connection, probe, options, downgrade_to)
                additions_present = False
                if state != "downgraded":
                    dbapi = connection.connection.dbapi_connection
                    as_text = fingerprints_as_text(dbapi, connection.dialect)
                    if as_text and not database.read_only:
                        # Under the init lock (servers) or BEGIN IMMEDIATE (SQLite): one upgrader.
                        upgrade_fingerprint_table(dbapi, connection.dialect)
                        as_text = False
                    # Read-only, hex rows are not read: lookups fingerprint executions in memory.
                    additions_present = not as_text and _has_additions(connection)
                connection.commit()
            except errors.StatusError:
                connection.rollback()
                raise
            except sa.exc.SQLAlchemyError as e:
                connection.rollback()
                raise translate_error(e, database.where) from e
        if state == "downgraded":
            return _Downgraded(database, downgrade_to)
        if database.dialect == "sqlite":
            sql_connect.enable_wal(database)
        has_fingerprints = (state == "fresh" and probe.state == "empty") or additions_present
        backend = SqlBackend(database, has_fingerprint_table=has_fingerprints)
        if holder is not None and state == "fresh":
            keep_lock = True
            release = database.init_lock[1]

            def release_init_lock(held=holder) -> None:
                try:
                    release(held)
                    held.commit()
                except Exception:  # noqa: BLE001 - the lock ends with the session anyway
                    held.invalidate()
                    return
                held.close()

            backend._after_first_transaction = release_init_lock
        return backend
    finally:
        if holder is not None and not keep_lock:
            try:
                database.init_lock[1](holder)
                holder.commit()
                holder.close()
            except Exception:  # noqa: BLE001 - closing the session releases the lock too
                holder.invalidate()


def _has_additions(connection) -> bool:
    """Whether the database holds everything lineage adds to MLMD's schema.

    When not, the backend adds it on its first write (an older store of
    lineage's may have the fingerprint table without the added indexes).
    """
    inspector = sa.inspect(connection)
    actual = {name.lower(): name for name in inspector.get_table_names()}
    if FINGERPRINT_TABLE_NAME.lower() not in actual:
        return False
    found: set[str] = set()
    for table in {index.table.name.lower() for index in _added_indexes}:
        if table not in actual:
            return False
        found.update(entry["name"] for entry in inspector.get_indexes(actual[table]))
    return all(index.name in found for index in _added_indexes)


def _apply(database: Database, connection, probe: schema.SchemaProbe, options: pb.MigrationOptions,
           downgrade_to: int) -> str:
    """Creates, checks, upgrades or downgrades the schema; returns what was done.

    Returns:
        "fresh" (schema created, or an MLMD schema without any type yet),
        "ready", or "downgraded".
    """
    where = database.where
    if probe.state == "foreign":
        raise errors.FailedPreconditionError(
            f"{where} is not an MLMD database: it holds other tables ("
            + ", ".join(sorted(probe.tables)) + "); use an empty database or an MLMD one")
    if probe.state == "partial":
        raise errors.AbortedError(f"{where}: only some of MLMD's tables exist; another client may be "
                                  "creating them")
    if probe.state == "empty":
        if downgrade_to >= 0:
            raise errors.FailedPreconditionError(
                f"{where} holds no MLMD schema to downgrade to version {downgrade_to}")
        if database.read_only:
            raise errors.FailedPreconditionError(
                f"{where} holds no MLMD schema and was opened with connection_mode READONLY")
        schema.create_schema(connection)
        _create_fingerprint_table(connection.connection.dbapi_connection, connection.dialect)
        return "fresh"
    version = probe.version
    assert version is not None
    if downgrade_to >= 0:
        if downgrade_to > schema.SCHEMA_VERSION:
            # MLMD's wording leads both messages here: callers match on it.
            raise errors.InvalidArgumentError(
                f"MLMD cannot be downgraded to schema_version {downgrade_to}: "
                f"MigrationOptions.downgrade_to_schema_version {downgrade_to} is newer than this "
                f"library's schema version {schema.SCHEMA_VERSION}")
        if version > schema.SCHEMA_VERSION:
            raise errors.FailedPreconditionError(
                f"{where} has schema version {version}, newer than this library's "
                f"{schema.SCHEMA_VERSION}; downgrade it with the library that wrote it")
        if database.read_only:
            raise errors.FailedPreconditionError(f"{where} was opened READONLY; it cannot be downgraded")
        if downgrade_to < version:
            from lineage.backends import sql_migrations

            sql_migrations.downgrade(connection, version, downgrade_to)
        return "downgraded"
    if version > schema.SCHEMA_VERSION:
        raise errors.FailedPreconditionError(
            f"{where} has MLMD schema version {version}, newer than the version this library "
            f"supports ({schema.SCHEMA_VERSION}); use a newer library or downgrade the database "
            "with the library that wrote it")
    if version < schema.SCHEMA_VERSION:
        if not options.enable_upgrade_migration:
            raise errors.FailedPreconditionError(
                f"Schema migration is disabled: {where} has MLMD schema version {version}, older "
                f"than {schema.SCHEMA_VERSION}; "
                "set MigrationOptions.enable_upgrade_migration (MetadataStore(..., "
                "enable_upgrade_migration=True)) to upgrade it")
        if database.read_only:
            raise errors.FailedPreconditionError(f"{where} was opened READONLY; it cannot be upgraded")
        from lineage.backends import sql_migrations

        sql_migrations.upgrade(connection, version, schema.SCHEMA_VERSION)
    type_count = connection.execute(sa.select(sa.func.count()).select_from(schema.type_table)).scalar()
    return "fresh" if not type_count else "ready"


class _Downgraded:
    """What opening with ``downgrade_to_schema_version`` returns: a closed store.

    ml-metadata cancels the connection after a downgrade; every use of this
    object raises ``CancelledError`` the same way, and ``close`` releases the
    database.
    """

    def __init__(self, database: Database, version: int):
        self._database = database
        self._version = version

    def close(self) -> None:
        """Releases the connections."""
        self._database.dispose()

    def _cancelled(self, *args, **kwargs):
        raise errors.CancelledError(
            f"{self._database.where} was downgraded to schema version {self._version}; the "
            "connection is cancelled. Open it with a library of that schema version.")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._cancelled
