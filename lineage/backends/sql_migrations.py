"""Upgrades and downgrades of MLMD's relational schema, one version at a time.

The tables of every version 0..10 are derived from version 10
(``lineage.backends.sql_schema``) by taking away what later versions added,
following ``sql_schema.SCHEMA_HISTORY``: a downgraded database has the tables,
columns, keys and indexes ml-metadata has at that version, so ml-metadata of
that age (or ml-metadata 1.17 with ``enable_upgrade_migration``) opens it.

A step between two adjacent versions creates and drops whole tables, adds and
drops indexes, and rebuilds a table whose columns or keys change: the old
table is renamed aside, the new one created under the real name, the rows
copied (with the step's data changes), and the old one dropped. That works
alike on SQLite, MySQL and PostgreSQL (SQLite cannot drop an indexed column in
place). Data that an older schema cannot hold is lost on the way down, as in
ml-metadata. On SQLite and PostgreSQL a migration is one transaction; MySQL
commits every DDL statement on its own.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql.elements import quoted_name

from lineage import errors
from lineage.backends import sql_schema as schema

__all__ = ["tables_at", "upgrade", "downgrade", "migrate"]

_ASIDE = "_lineage_old"

# Index names and the version that added them (and, for one, removed it).
_INDEX_SINCE = {
    **{name: 6 for name in (
        "idx_artifact_uri", "idx_artifact_create_time_since_epoch",
        "idx_artifact_last_update_time_since_epoch", "idx_event_execution_id",
        "idx_parentcontext_parent_context_id", "idx_type_name",
        "idx_execution_create_time_since_epoch", "idx_execution_last_update_time_since_epoch",
        "idx_context_create_time_since_epoch", "idx_context_last_update_time_since_epoch")},
    "idx_eventpath_event_id": 7,
    **{f"idx_{kind}_property_{value}": 8 for kind in ("artifact", "execution", "context")
       for value in ("int", "double", "string")},
    **{f"idx_{kind}_external_id": 9 for kind in ("type", "artifact", "execution", "context")},
}

# Tables and the version that added them.
_TABLE_SINCE = {
    "Type": 0, "TypeProperty": 0, "Artifact": 0, "ArtifactProperty": 0, "Execution": 0,
    "ExecutionProperty": 0, "Event": 0, "EventPath": 0, "MLMDEnv": 1, "Context": 3,
    "ContextProperty": 3, "Association": 4, "Attribution": 4, "ParentType": 6, "ParentContext": 6,
}

# Columns and the version that added them, per table (others exist since the table does).
_COLUMN_SINCE = {
    "Type": {"version": 6, "description": 6, "external_id": 9},
    "Artifact": {"state": 5, "name": 5, "create_time_since_epoch": 5,
                 "last_update_time_since_epoch": 5, "external_id": 9},
    "Execution": {"last_known_state": 5, "name": 5, "create_time_since_epoch": 5,
                  "last_update_time_since_epoch": 5, "external_id": 9},
    "Context": {"create_time_since_epoch": 5, "last_update_time_since_epoch": 5, "external_id": 9},
    **{table: {"byte_value": 7, "proto_value": 10, "bool_value": 10}
       for table in ("ArtifactProperty", "ExecutionProperty", "ContextProperty")},
}

# Unique constraints by their column lists, and the version that added them.
_UNIQUE_SINCE = {
    ("Artifact", ("type_id", "name")): 5,
    ("Execution", ("type_id", "name")): 5,
    ("Event", ("artifact_id", "execution_id", "type")): 8,
    **{(table, ("external_id",)): 9 for table in ("Type", "Artifact", "Execution", "Context")},
}


def _copy_column(column: sa.Column, version: int, table: str) -> sa.Column:
    copy = column._copy()
    if table.endswith("Property") and column.name == "string_value" and version < 7:
        # MySQL widened string_value to MEDIUMTEXT in version 7.
        copy.type = schema._MlmdText()
    if table == "Type" and column.name == "type_kind" and version < 2:
        copy.name = copy.key = "is_artifact_type"
    return copy


@functools.lru_cache(maxsize=None)
def tables_at(version: int) -> dict[str, sa.Table]:
    """Returns MLMD's tables at a schema version, by their mixed-case names.

    Raises:
        InvalidArgumentError: The version is outside 0..SCHEMA_VERSION.
    """
    if not 0 <= version <= schema.SCHEMA_VERSION:
        raise errors.InvalidArgumentError(
            f"schema version {version} is outside 0..{schema.SCHEMA_VERSION}")
    if version == schema.SCHEMA_VERSION:
        return {name: schema.metadata.tables[_key(name)] for name in schema.TABLE_NAMES}
    metadata = sa.MetaData()
    tables = {}
    for name in schema.TABLE_NAMES:
        if _TABLE_SINCE[name] > version:
            continue
        source = schema.metadata.tables[_key(name)]
        added = _COLUMN_SINCE.get(name, {})
        columns = [_copy_column(c, version, name) for c in source.columns if added.get(c.name, 0) <= version]
        kept = {c.name for c in source.columns if added.get(c.name, 0) <= version}
        extras = []
        for constraint in source.constraints:
            if isinstance(constraint, sa.UniqueConstraint):
                names = tuple(c.name for c in constraint.columns)
                if _UNIQUE_SINCE.get((name, names), 0) <= version and set(names) <= kept:
                    extras.append(sa.UniqueConstraint(*names, name=constraint.name))
        for index in source.indexes:
            if _INDEX_SINCE.get(index.name, 0) <= version:
                extras.append(_copy_index(index))
        if name == "Event" and 6 <= version < 8:
            extras.append(sa.Index("idx_event_artifact_id", "artifact_id"))
        tables[name] = sa.Table(source.name, metadata, *columns, *extras, **source.kwargs)
    return tables


def _copy_index(index: sa.Index) -> sa.Index:
    return sa.Index(index.name, *[c.name for c in index.columns], unique=index.unique,
                    **index.dialect_kwargs)


def _key(name: str) -> str:
    for key, table in schema.metadata.tables.items():
        if table.name == name:
            return key
    raise KeyError(name)


def upgrade(connection: Connection, from_version: int, to_version: int = schema.SCHEMA_VERSION) -> None:
    """Upgrades the schema in place from ``from_version`` to ``to_version``."""
    migrate(connection, from_version, to_version)


def downgrade(connection: Connection, from_version: int, to_version: int) -> None:
    """Downgrades the schema in place from ``from_version`` to ``to_version``."""
    migrate(connection, from_version, to_version)


def migrate(connection: Connection, from_version: int, to_version: int) -> None:
    """Moves the schema one version at a time from ``from_version`` to ``to_version``.

    Raises:
        InvalidArgumentError: A version is outside 0..SCHEMA_VERSION.
    """
    for version in (from_version, to_version):
        tables_at(version)
    step = 1 if to_version > from_version else -1
    for version in range(from_version, to_version, step):
        _step(connection, version, version + step)
    if to_version >= 1:
        env = tables_at(to_version)["MLMDEnv"]
        connection.execute(sa.delete(env))
        connection.execute(sa.insert(env).values(schema_version=to_version))


def _signature(table: sa.Table, dialect) -> str:
    """The table's DDL without indexes, for telling whether a rebuild is needed."""
    return str(CreateTable(table).compile(dialect=dialect))


def _step(connection: Connection, old_version: int, new_version: int) -> None:
    dialect = connection.dialect
    old, new = tables_at(old_version), tables_at(new_version)
    if new_version < old_version:
        _before_downgrade(connection, old, new_version)
    for name in schema.TABLE_NAMES:
        before, after = old.get(name), new.get(name)
        if before is None and after is None:
            continue
        if after is None:
            connection.execute(sa.schema.DropTable(before))
        elif before is None:
            connection.execute(CreateTable(after))
            for index in after.indexes:
                connection.execute(CreateIndex(index))
            if name == "MLMDEnv":
                connection.execute(sa.insert(after).values(schema_version=new_version))
        elif _signature(before, dialect) != _signature(after, dialect):
            _rebuild(connection, before, after, old_version, new_version)
        else:
            old_indexes = {i.name: i for i in before.indexes}
            new_indexes = {i.name: i for i in after.indexes}
            for index_name in sorted(set(old_indexes) - set(new_indexes)):
                connection.execute(sa.schema.DropIndex(old_indexes[index_name]))
            for index_name in sorted(set(new_indexes) - set(old_indexes)):
                connection.execute(CreateIndex(new_indexes[index_name]))


def _before_downgrade(connection: Connection, old: dict[str, sa.Table], new_version: int) -> None:
    """Removes rows the older schema has no place for."""
    if new_version == 2:
        # Context types exist from version 3 on; they go with the contexts.
        type_table, properties = old["Type"], old["TypeProperty"]
        context_types = sa.select(type_table.c.id).where(type_table.c.type_kind == schema.TYPE_KIND_CONTEXT)
        connection.execute(sa.delete(properties).where(properties.c.type_id.in_(context_types)))
        connection.execute(sa.delete(type_table).where(type_table.c.type_kind == schema.TYPE_KIND_CONTEXT))


def _identifier(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _rebuild(connection: Connection, before: sa.Table, after: sa.Table, old_version: int,
             new_version: int) -> None:
    dialect = connection.dialect
    aside_name = quoted_name(before.name + _ASIDE, quote=False)
    aside = sa.Table(aside_name, sa.MetaData(), *[c._copy() for c in before.columns])
    connection.exec_driver_sql(
        f"ALTER TABLE {_identifier(connection, before.name)} RENAME TO {_identifier(connection, aside_name)}")
    _free_names(connection, before, aside_name)
    connection.execute(CreateTable(after))
    columns = []
    sources = []
    for column in after.columns:
        source = _source_column(aside, column.name)
        if source is not None:
            columns.append(column.name)
            sources.append(source)
    select = sa.select(*sources)
    if after.name == "Event" and new_version >= 8 > old_version:
        # Version 8 makes (artifact_id, execution_id, type) unique; the newest event wins.
        newest = sa.select(sa.func.max(aside.c.id)).group_by(
            aside.c.artifact_id, aside.c.execution_id, aside.c.type)
        select = select.where(aside.c.id.in_(newest))
    if columns:
        connection.execute(sa.insert(after).from_select(columns, select))
    connection.execute(sa.schema.DropTable(aside))
    for index in after.indexes:
        connection.execute(CreateIndex(index))
    if after.name == "Event" and new_version >= 8 > old_version:
        path = tables_at(new_version)["EventPath"]
        connection.execute(sa.delete(path).where(path.c.event_id.not_in(sa.select(after.c.id))))
    if dialect.name == "postgresql" and "id" in after.c and after.c.id.autoincrement is True:
        connection.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence(%(t)s, 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {_identifier(connection, after.name)}), 0) + 1, false)",
            {"t": str(after.name).lower()})


def _source_column(aside: sa.Table, name: str):
    if name in aside.c:
        return aside.c[name]
    if name == "type_kind" and "is_artifact_type" in aside.c:
        return aside.c.is_artifact_type
    if name == "is_artifact_type" and "type_kind" in aside.c:
        return aside.c.type_kind
    return None


def _free_names(connection: Connection, before: sa.Table, aside_name: str) -> None:
    """Renames or drops what the set-aside table holds under names the new one needs."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        for index in before.indexes:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {_identifier(connection, index.name)}")
    elif dialect == "postgresql":
        table = str(aside_name).lower()
        # Indexes (constraint indexes included: renaming one renames its
        # constraint) and the sequences the table's columns own.
        rows = connection.exec_driver_sql(
            "SELECT c.relname, 'i' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = %(t)s "
            "UNION SELECT c.relname, 'S' FROM pg_class c JOIN pg_depend d ON d.objid = c.oid "
            "JOIN pg_class t ON t.oid = d.refobjid WHERE t.relname = %(t)s AND c.relkind = 'S'",
            {"t": table}).all()
        for relation, kind in rows:
            statement = "INDEX" if kind == "i" else "SEQUENCE"
            connection.exec_driver_sql(
                f"ALTER {statement} {_identifier(connection, relation)} RENAME TO "
                f"{_identifier(connection, relation + _ASIDE)}")
    # MySQL names indexes and constraints per table: nothing clashes.
