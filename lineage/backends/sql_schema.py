"""MLMD's relational schema, version 10, as SQLAlchemy Core tables.

The tables, columns, types, keys and index names are the ones ml-metadata 1.17
creates on SQLite, MySQL/MariaDB and PostgreSQL, so a database written by
either library can be opened by the other. Where MLMD declares a column
differently per database, the column type here carries one variant per
dialect:

=====================  ============  ==========  ================
column                 SQLite        MySQL       PostgreSQL
=====================  ============  ==========  ================
plain integers         INT           INT         INTEGER
``*_since_epoch``      INT           BIGINT      BIGINT
``type_kind``          TINYINT(1)    TINYINT(1)  SMALLINT
``is_custom_property``,
``is_index_step``      TINYINT(1)    TINYINT(1)  BOOLEAN
``bool_value``         BOOLEAN       TINYINT(1)  BOOLEAN
``string_value``       TEXT          MEDIUMTEXT  TEXT
``byte_value``,
``proto_value``        BLOB          MEDIUMBLOB  BYTEA
=====================  ============  ==========  ================

``name``, ``version`` and ``external_id`` are VARCHAR(255) and the other text
columns TEXT everywhere. Ids and ``int_value`` are 32-bit INT on MySQL and
PostgreSQL, as MLMD declares them.

How ml-metadata 1.17.1 encodes values in these columns (observed):

* ``proto_value`` holds a serialized ``google.protobuf.Any``, base64-encoded
  on SQLite (stored as a TEXT value) and MySQL, raw on PostgreSQL. Its column
  type converts, so Python always sees the raw serialized bytes.
* A ``struct_value`` goes into ``string_value`` as ``mlmd-struct::`` followed
  by the base64 of the serialized ``google.protobuf.Struct``. ``byte_value``
  is never written.
* On MySQL, MLMD's client talks latin1 but sends UTF-8 bytes, so non-ASCII
  text lands double-encoded in utf8mb4 columns. Every text column type here
  reproduces that (see ``_MlmdText``); Python sees the original text.
* Its own nine built-in types (``mlmd.Dataset`` ... ``mlmd.Deploy``) are rows
  the store inserts on first connection, not part of the schema.

MLMD writes its PostgreSQL DDL with unquoted identifiers, so its tables there
are ``type``, ``artifact``, ``mlmdenv`` and so on. The table names and the
named unique constraints below are therefore declared unquoted: PostgreSQL
folds them to lower case exactly as it does for MLMD, while MySQL and SQLite
keep the mixed-case names. Unnamed unique constraints stay unnamed so each
database names them as it does for MLMD (``external_id`` in MySQL,
``artifact_external_id_key`` in PostgreSQL, ``sqlite_autoindex_Artifact_1``
in SQLite). Because of the case folding, ``MetaData.create_all`` must run with
``checkfirst=False``; ``create_schema`` does that after its own emptiness check.

Schema history (facts about MLMD's migrations, for a later upgrade path; the
same data is in ``SCHEMA_HISTORY``):

* v0 (ml-metadata 0.13.2, no ``MLMDEnv`` table): ``Type`` (id, name,
  is_artifact_type, input_type, output_type), ``TypeProperty``, ``Artifact``
  (id, type_id, uri), ``ArtifactProperty`` and ``ExecutionProperty`` (int,
  double and string values), ``Execution`` (id, type_id), ``Event``,
  ``EventPath``. MLMD recognises it by a readable ``Type.is_artifact_type``.
* v1: ``MLMDEnv(schema_version)`` added.
* v2: ``Type.is_artifact_type`` renamed ``type_kind`` (2 now means context).
* v3: ``Context`` and ``ContextProperty`` added.
* v4: ``Association`` and ``Attribution`` added.
* v5: ``Artifact`` gains state, name and both time columns, ``Execution``
  gains last_known_state, name and both time columns, each with a unique
  (type_id, name); ``Context`` gains both time columns.
* v6: ``ParentType`` and ``ParentContext`` added; ``Type`` gains version and
  description; the first secondary indexes, including ``idx_event_artifact_id``
  which v8 drops again.
* v7: property tables gain ``byte_value``; MySQL widens ``string_value`` to
  MEDIUMTEXT; ``idx_eventpath_event_id``.
* v8: the nine ``idx_<kind>_property_<int|double|string>`` indexes; ``Event``
  rebuilt with a unique (artifact_id, execution_id, type), keeping the row
  with the highest id among duplicates, and ``EventPath`` rows of dropped
  events deleted.
* v9: ``external_id`` (unique, indexed) on ``Type``, ``Artifact``,
  ``Execution`` and ``Context``.
* v10: property tables gain ``proto_value`` and ``bool_value``.
"""

from __future__ import annotations

import base64
import dataclasses
import warnings
from typing import Literal, Union

import sqlalchemy as sa
from sqlalchemy.dialects import mysql as _mysql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement, quoted_name
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, UserDefinedType

from lineage import errors

__all__ = [
    "SCHEMA_VERSION",
    "TABLE_NAMES",
    "V0_TABLE_NAMES",
    "metadata",
    "type_table",
    "type_property_table",
    "parent_type_table",
    "artifact_table",
    "artifact_property_table",
    "execution_table",
    "execution_property_table",
    "context_table",
    "context_property_table",
    "event_table",
    "event_path_table",
    "attribution_table",
    "association_table",
    "parent_context_table",
    "mlmd_env_table",
    "TYPE_KIND_EXECUTION",
    "TYPE_KIND_ARTIFACT",
    "TYPE_KIND_CONTEXT",
    "SchemaStep",
    "SCHEMA_HISTORY",
    "SchemaProbe",
    "probe_schema",
    "read_schema_version",
    "create_schema",
]

#: The MLMD schema version these tables implement (ml-metadata 1.17).
SCHEMA_VERSION = 10

#: ``Type.type_kind`` values.
TYPE_KIND_EXECUTION = 0
TYPE_KIND_ARTIFACT = 1
TYPE_KIND_CONTEXT = 2

_MYSQL = ("mysql", "mariadb")


class _Declared(UserDefinedType):
    """A type emitted under a fixed declared name (SQLite keeps it verbatim).

    SQLAlchemy has no spelling for SQLite's ``INT`` or ``TINYINT(1)``, and
    SQLite reports the declared name back, so MLMD's exact words are kept.
    """

    cache_ok = True

    def __init__(self, spec: str):
        self.spec = spec

    def get_col_spec(self, **kw) -> str:
        return self.spec


class _Flag(TypeDecorator):
    """A boolean MLMD stores as an integer on SQLite and MySQL.

    Python values are always ``bool`` (or None), whatever the database keeps.
    """

    impl = sa.Boolean
    cache_ok = True

    def __init__(self, sqlite_spec: str):
        super().__init__()
        self.sqlite_spec = sqlite_spec

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return _Declared(self.sqlite_spec)
        if dialect.name in _MYSQL:
            return _mysql.TINYINT(1)
        return sa.Boolean()

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite" or dialect.name in _MYSQL:
            return int(bool(value))
        return bool(value)

    def process_result_value(self, value, dialect):
        return None if value is None else bool(value)


class _Latin1In(ColumnElement):
    """A bound text value as MLMD's MySQL client sends it (see ``_MlmdText``)."""

    inherit_cache = True
    _traverse_internals = [("inner", InternalTraversal.dp_clauseelement)]

    def __init__(self, inner):
        self.inner = inner
        self.type = inner.type


class _Latin1Out(ColumnElement):
    """A text column as MLMD's MySQL client receives it (see ``_MlmdText``)."""

    inherit_cache = True
    _traverse_internals = [("inner", InternalTraversal.dp_clauseelement)]

    def __init__(self, inner):
        self.inner = inner
        self.type = inner.type


@compiles(_Latin1In)
@compiles(_Latin1Out)
def _compile_passthrough(element, compiler, **kw):
    return compiler.process(element.inner, **kw)


@compiles(_Latin1In, "mysql")
@compiles(_Latin1In, "mariadb")
def _compile_latin1_in(element, compiler, **kw):
    return f"CAST({compiler.process(element.inner, **kw)} AS CHAR CHARACTER SET latin1)"


@compiles(_Latin1Out, "mysql")
@compiles(_Latin1Out, "mariadb")
def _compile_latin1_out(element, compiler, **kw):
    column_sql = compiler.process(element.inner, **kw)
    if reads_text_through_session(compiler.dialect) and not kw.get(TEXT_IN_SQL):
        return column_sql
    return mlmd_text_sql(column_sql)


# Set on a SQLAlchemy dialect whose connections all have
# character_set_results = latin1 (``read_text_through_session``).
_SESSION_RESULTS_LATIN1 = "lineage_session_results_latin1"

#: A compile keyword: MLMD's text is converted back in the statement even on
#: a dialect ``read_text_through_session`` marked (``Compiled.text_in_sql``).
TEXT_IN_SQL = "lineage_text_in_sql"

#: What a connection of such a dialect runs once, when it opens.
SESSION_RESULTS_LATIN1_SQL = "SET character_set_results = latin1"
#: What such a connection runs around a statement that converts text in SQL (``Compiled.text_in_sql``).
SESSION_RESULTS_UTF8_SQL = "SET character_set_results = utf8mb4"


def read_text_through_session(dialect) -> None:
    """Makes statements of a MySQL ``dialect`` select text columns as stored.

    Its connections must each have run ``SESSION_RESULTS_LATIN1_SQL``: the
    server then sends a text column converted to latin1, which gives back the
    UTF-8 bytes MLMD's client sent (``_MlmdText``), and the driver decodes
    them as UTF-8. The conversion in SQL had cost the server a quarter of a
    small read: a context's 12 artifacts and their 25 properties, two
    prepared statements, took 363 us that way and 277 us this way. Bytes
    that are not UTF-8 (text another client stored as real UTF-8, outside
    ASCII) fail to decode, which the SQL conversion does not: the statement
    then runs again converting in SQL (``Compiled.text_in_sql``), the
    session's results in utf8mb4 meanwhile. Only for a driver that reads
    the whole result before it decodes any of it (mysqlclient): PyMySQL
    decodes while reading, and a failure leaves the rest of the result on
    the connection.
    """
    setattr(dialect, _SESSION_RESULTS_LATIN1, True)


def reads_text_through_session(dialect) -> bool:
    """Whether ``read_text_through_session`` marked ``dialect``."""
    return getattr(dialect, _SESSION_RESULTS_LATIN1, False)


def mlmd_text_sql(column_sql: str) -> str:
    """The SQL of the text MLMD stored in a MySQL text column (see ``_MlmdText``).

    The column's bytes go back through latin1 and the server reads them as
    UTF-8; the driver then decodes the utf8mb4 result in C, about twice as
    fast as a Python decode per value on a listing. Bytes that are not UTF-8
    (text another client stored as real UTF-8, outside ASCII) become ``?``
    on MariaDB; MySQL 8 makes the whole value NULL, and then the column as
    stored, that client's text, is read instead.
    """
    return f"COALESCE(CONVERT(CAST(CONVERT({column_sql} USING latin1) AS BINARY) USING utf8mb4), {column_sql})"


class _MlmdText(TypeDecorator):
    """Text, stored on MySQL the way ml-metadata's MySQL client stores it.

    ml-metadata 1.17.1 talks to MySQL over a latin1 connection but sends and
    expects UTF-8 bytes, so the server takes each byte for a latin1 character:
    in a utf8mb4 column ``é`` ends up as ``Ã©``, in a latin1 column as its two
    raw bytes. On MySQL this type reproduces that whatever the connection's
    character set: values are bound as UTF-8 bytes cast to latin1 and read
    back converted to latin1 bytes, which the server then reads as UTF-8
    (``mlmd_text_sql``). Text other clients stored as real UTF-8 may not
    survive that trip, exactly as it would not for ml-metadata. Elsewhere it
    is a plain VARCHAR/TEXT.
    """

    impl = sa.Text
    cache_ok = True

    def __init__(self, length: int | None = None, mysql_medium: bool = False):
        super().__init__()
        self.length = length
        self.mysql_medium = mysql_medium

    def load_dialect_impl(self, dialect):
        if self.length is not None:
            return sa.String(self.length)
        if self.mysql_medium and dialect.name in _MYSQL:
            return _mysql.MEDIUMTEXT()
        return sa.Text()

    def bind_expression(self, bindvalue):
        return _Latin1In(bindvalue)

    def column_expression(self, column):
        return _Latin1Out(column)

    def process_bind_param(self, value, dialect):
        if value is not None and dialect.name in _MYSQL:
            return value.encode("utf-8")
        return value

    def bind_processor(self, dialect):
        # Elsewhere the text is bound as it is: no Python call per value.
        return super().bind_processor(dialect) if dialect.name in _MYSQL else None

    def result_processor(self, dialect, coltype):
        # Every driver returns str already: no Python call per value.
        return None


class _ProtoValue(TypeDecorator):
    """Serialized ``google.protobuf.Any`` bytes, encoded as MLMD encodes them.

    MLMD writes ``proto_value`` as base64 text on SQLite (a TEXT value in a
    BLOB column) and MySQL (base64 bytes in MEDIUMBLOB), and as raw bytes on
    PostgreSQL. Python values are always the raw serialized bytes.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return _Declared("BLOB")
        if dialect.name in _MYSQL:
            return _mysql.MEDIUMBLOB()
        return sa.LargeBinary()

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return base64.b64encode(bytes(value)).decode("ascii")
        if dialect.name in _MYSQL:
            return base64.b64encode(bytes(value))
        return bytes(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite" or dialect.name in _MYSQL:
            return base64.b64decode(value)
        return bytes(value)


def _int():
    return sa.Integer().with_variant(_Declared("INT"), "sqlite")


def _epoch():
    # MLMD keeps times as INT on SQLite (64-bit anyway) and BIGINT elsewhere.
    return sa.BigInteger().with_variant(_Declared("INT"), "sqlite")


def _tinyint():
    return (
        sa.SmallInteger()
        .with_variant(_mysql.TINYINT(1), *_MYSQL)
        .with_variant(_Declared("TINYINT(1)"), "sqlite")
    )


def _varchar():
    return _MlmdText(length=255)


def _text():
    return _MlmdText()


def _medium_text():
    return _MlmdText(mysql_medium=True)


def _medium_blob():
    return sa.LargeBinary().with_variant(_mysql.MEDIUMBLOB(), *_MYSQL)


def _name(text: str) -> quoted_name:
    # Unquoted, so that PostgreSQL folds it to lower case as it does for MLMD.
    return quoted_name(text, quote=False)


def _id_column() -> sa.Column:
    # nullable=True only drops an explicit NOT NULL from the DDL: MLMD's SQLite
    # `INTEGER PRIMARY KEY AUTOINCREMENT` reports notnull=0, and the primary key
    # makes the column NOT NULL on MySQL and PostgreSQL anyway.
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True, nullable=True)


def _time_columns() -> list[sa.Column]:
    return [
        sa.Column("create_time_since_epoch", _epoch(), nullable=False, server_default=sa.text("0")),
        sa.Column(
            "last_update_time_since_epoch", _epoch(), nullable=False, server_default=sa.text("0")
        ),
    ]


metadata = sa.MetaData()

type_table = sa.Table(
    _name("Type"),
    metadata,
    _id_column(),
    sa.Column("name", _varchar(), nullable=False),
    sa.Column("version", _varchar()),
    sa.Column("type_kind", _tinyint(), nullable=False),
    sa.Column("description", _text()),
    sa.Column("input_type", _text()),
    sa.Column("output_type", _text()),
    sa.Column("external_id", _varchar()),
    sa.UniqueConstraint("external_id"),
    sa.Index("idx_type_name", "name"),
    sa.Index("idx_type_external_id", "external_id"),
    sqlite_autoincrement=True,
)

type_property_table = sa.Table(
    _name("TypeProperty"),
    metadata,
    sa.Column("type_id", _int(), primary_key=True, autoincrement=False, nullable=False),
    sa.Column("name", _varchar(), primary_key=True, nullable=False),
    sa.Column("data_type", _int()),
)

parent_type_table = sa.Table(
    _name("ParentType"),
    metadata,
    sa.Column("type_id", _int(), primary_key=True, autoincrement=False, nullable=False),
    sa.Column("parent_type_id", _int(), primary_key=True, autoincrement=False, nullable=False),
)

artifact_table = sa.Table(
    _name("Artifact"),
    metadata,
    _id_column(),
    sa.Column("type_id", _int(), nullable=False),
    sa.Column("uri", _text()),
    sa.Column("state", _int()),
    sa.Column("name", _varchar()),
    sa.Column("external_id", _varchar()),
    *_time_columns(),
    sa.UniqueConstraint("external_id"),
    sa.UniqueConstraint("type_id", "name", name=_name("UniqueArtifactTypeName")),
    sa.Index("idx_artifact_uri", "uri", mysql_length={"uri": 255}),
    sa.Index("idx_artifact_create_time_since_epoch", "create_time_since_epoch"),
    sa.Index("idx_artifact_last_update_time_since_epoch", "last_update_time_since_epoch"),
    sa.Index("idx_artifact_external_id", "external_id"),
    sqlite_autoincrement=True,
)

execution_table = sa.Table(
    _name("Execution"),
    metadata,
    _id_column(),
    sa.Column("type_id", _int(), nullable=False),
    sa.Column("last_known_state", _int()),
    sa.Column("name", _varchar()),
    sa.Column("external_id", _varchar()),
    *_time_columns(),
    sa.UniqueConstraint("external_id"),
    sa.UniqueConstraint("type_id", "name", name=_name("UniqueExecutionTypeName")),
    sa.Index("idx_execution_create_time_since_epoch", "create_time_since_epoch"),
    sa.Index("idx_execution_last_update_time_since_epoch", "last_update_time_since_epoch"),
    sa.Index("idx_execution_external_id", "external_id"),
    sqlite_autoincrement=True,
)

context_table = sa.Table(
    _name("Context"),
    metadata,
    _id_column(),
    sa.Column("type_id", _int(), nullable=False),
    sa.Column("name", _varchar(), nullable=False),
    sa.Column("external_id", _varchar()),
    *_time_columns(),
    sa.UniqueConstraint("external_id"),
    # MLMD leaves this one unnamed (unlike Artifact's and Execution's).
    sa.UniqueConstraint("type_id", "name"),
    sa.Index("idx_context_create_time_since_epoch", "create_time_since_epoch"),
    sa.Index("idx_context_last_update_time_since_epoch", "last_update_time_since_epoch"),
    sa.Index("idx_context_external_id", "external_id"),
    sqlite_autoincrement=True,
)


def _property_table(table_name: str, owner_column: str, index_prefix: str) -> sa.Table:
    table = sa.Table(
        _name(table_name),
        metadata,
        sa.Column(owner_column, _int(), primary_key=True, autoincrement=False, nullable=False),
        sa.Column("name", _varchar(), primary_key=True, nullable=False),
        sa.Column("is_custom_property", _Flag("TINYINT(1)"), primary_key=True, nullable=False),
        sa.Column("int_value", _int()),
        sa.Column("double_value", sa.Double()),
        sa.Column("string_value", _medium_text()),
        sa.Column("byte_value", _medium_blob()),
        sa.Column("proto_value", _ProtoValue()),
        sa.Column("bool_value", _Flag("BOOLEAN")),
    )
    for suffix, value_column, extra in (
        ("int", "int_value", {}),
        ("double", "double_value", {}),
        ("string", "string_value", {"mysql_length": {"string_value": 255}}),
    ):
        # Only SQLite gets partial indexes; MLMD's MySQL/PostgreSQL ones are full.
        sa.Index(
            f"idx_{index_prefix}_property_{suffix}",
            table.c.name,
            table.c.is_custom_property,
            table.c[value_column],
            sqlite_where=table.c[value_column].isnot(None),
            **extra,
        )
    return table


artifact_property_table = _property_table("ArtifactProperty", "artifact_id", "artifact")
execution_property_table = _property_table("ExecutionProperty", "execution_id", "execution")
context_property_table = _property_table("ContextProperty", "context_id", "context")

event_table = sa.Table(
    _name("Event"),
    metadata,
    _id_column(),
    sa.Column("artifact_id", _int(), nullable=False),
    sa.Column("execution_id", _int(), nullable=False),
    sa.Column("type", _int(), nullable=False),
    sa.Column("milliseconds_since_epoch", _epoch()),
    sa.UniqueConstraint("artifact_id", "execution_id", "type", name=_name("UniqueEvent")),
    sa.Index("idx_event_execution_id", "execution_id"),
    sqlite_autoincrement=True,
)

event_path_table = sa.Table(
    _name("EventPath"),
    metadata,
    sa.Column("event_id", _int(), nullable=False),
    sa.Column("is_index_step", _Flag("TINYINT(1)"), nullable=False),
    sa.Column("step_index", _int()),
    sa.Column("step_key", _text()),
    sa.Index("idx_eventpath_event_id", "event_id"),
)

attribution_table = sa.Table(
    _name("Attribution"),
    metadata,
    _id_column(),
    sa.Column("context_id", _int(), nullable=False),
    sa.Column("artifact_id", _int(), nullable=False),
    sa.UniqueConstraint("context_id", "artifact_id"),
    sqlite_autoincrement=True,
)

association_table = sa.Table(
    _name("Association"),
    metadata,
    _id_column(),
    sa.Column("context_id", _int(), nullable=False),
    sa.Column("execution_id", _int(), nullable=False),
    sa.UniqueConstraint("context_id", "execution_id"),
    sqlite_autoincrement=True,
)

parent_context_table = sa.Table(
    _name("ParentContext"),
    metadata,
    sa.Column("context_id", _int(), primary_key=True, autoincrement=False, nullable=False),
    sa.Column("parent_context_id", _int(), primary_key=True, autoincrement=False, nullable=False),
    sa.Index("idx_parentcontext_parent_context_id", "parent_context_id"),
)

mlmd_env_table = sa.Table(
    _name("MLMDEnv"),
    metadata,
    # A plain INTEGER PRIMARY KEY on SQLite (a rowid alias, notnull=0); no
    # AUTO_INCREMENT or sequence elsewhere.
    sa.Column("schema_version", sa.Integer(), primary_key=True, autoincrement=False, nullable=True),
)

#: Every table of schema version 10, in MLMD's creation order.
TABLE_NAMES: tuple[str, ...] = (
    "Type",
    "TypeProperty",
    "ParentType",
    "Artifact",
    "ArtifactProperty",
    "Execution",
    "ExecutionProperty",
    "Event",
    "EventPath",
    "MLMDEnv",
    "Context",
    "ContextProperty",
    "ParentContext",
    "Association",
    "Attribution",
)

#: The tables of an ml-metadata 0.13.2 database (schema version 0).
V0_TABLE_NAMES: tuple[str, ...] = (
    "Type",
    "TypeProperty",
    "Artifact",
    "ArtifactProperty",
    "Execution",
    "ExecutionProperty",
    "Event",
    "EventPath",
)


# ------------------------------------------------------------------ history --


@dataclasses.dataclass(frozen=True)
class SchemaStep:
    """What MLMD's migration to ``version`` changes, as facts.

    Attributes:
        version: The schema version the step produces.
        changes: Changes common to every database.
        sqlite: How SQLite does it, where that differs.
        mysql: How MySQL does it, where that differs.
        postgresql: How PostgreSQL does it, where that differs.
    """

    version: int
    changes: tuple[str, ...]
    sqlite: tuple[str, ...] = ()
    mysql: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()


_REBUILD = "rebuilt as <Table>Temp (new DDL), rows copied, old table dropped, Temp renamed"

#: MLMD's upgrade steps 1..10 (downgrades reverse them; PostgreSQL has none to 0).
SCHEMA_HISTORY: tuple[SchemaStep, ...] = (
    SchemaStep(
        1,
        ("create MLMDEnv(schema_version INTEGER PRIMARY KEY) and insert one row, 0",),
        postgresql=("schema_version INT PRIMARY KEY",),
    ),
    SchemaStep(
        2,
        ("Type.is_artifact_type renamed type_kind (TINYINT(1) NOT NULL; 2 = context type)",),
        sqlite=("Type " + _REBUILD,),
        mysql=("ALTER TABLE Type CHANGE COLUMN",),
        postgresql=("ALTER TABLE Type RENAME COLUMN",),
    ),
    SchemaStep(
        3,
        (
            "create Context(id, type_id INT NOT NULL, name VARCHAR(255) NOT NULL,"
            " UNIQUE(type_id, name))",
            "create ContextProperty(context_id, name, is_custom_property, int_value,"
            " double_value, string_value; PRIMARY KEY(context_id, name, is_custom_property))",
        ),
        postgresql=("ContextProperty.is_custom_property is SMALLINT in this step",),
    ),
    SchemaStep(
        4,
        (
            "create Association(id, context_id, execution_id, UNIQUE(context_id, execution_id))",
            "create Attribution(id, context_id, artifact_id, UNIQUE(context_id, artifact_id))",
        ),
    ),
    SchemaStep(
        5,
        (
            "Artifact: + state INT, name VARCHAR(255), create_time_since_epoch,"
            " last_update_time_since_epoch (NOT NULL DEFAULT 0), UNIQUE(type_id, name)",
            "Execution: + last_known_state INT, name VARCHAR(255), both time columns,"
            " UNIQUE(type_id, name)",
            "Context: + both time columns",
        ),
        sqlite=("Artifact and Execution " + _REBUILD, "Context via ALTER TABLE ADD COLUMN"),
        mysql=(
            "time columns BIGINT; constraints named UniqueArtifactTypeName,"
            " UniqueExecutionTypeName",
        ),
        postgresql=(
            "time columns BIGINT; constraints named UniqueArtifactTypeName,"
            " UniqueExecutionTypeName",
        ),
    ),
    SchemaStep(
        6,
        (
            "create ParentType(type_id, parent_type_id; PRIMARY KEY both)",
            "create ParentContext(context_id, parent_context_id; PRIMARY KEY both)",
            "Type: + version VARCHAR(255), description TEXT",
            "indexes idx_artifact_uri, idx_artifact_create_time_since_epoch,"
            " idx_artifact_last_update_time_since_epoch, idx_event_artifact_id,"
            " idx_event_execution_id, idx_parentcontext_parent_context_id, idx_type_name,"
            " idx_execution_create_time_since_epoch,"
            " idx_execution_last_update_time_since_epoch,"
            " idx_context_create_time_since_epoch, idx_context_last_update_time_since_epoch",
        ),
        sqlite=("Type " + _REBUILD,),
        mysql=("idx_artifact_uri on uri(255)",),
    ),
    SchemaStep(
        7,
        (
            "ArtifactProperty, ExecutionProperty, ContextProperty: + byte_value",
            "index idx_eventpath_event_id on EventPath(event_id)",
        ),
        sqlite=("byte_value BLOB",),
        mysql=("byte_value MEDIUMBLOB; string_value widened from TEXT to MEDIUMTEXT",),
        postgresql=("byte_value BYTEA; string_value re-declared TEXT",),
    ),
    SchemaStep(
        8,
        (
            "indexes idx_<artifact|execution|context>_property_<int|double|string> on"
            " (name, is_custom_property, <int|double|string>_value)",
            "Event " + _REBUILD + "; adds UNIQUE(artifact_id, execution_id, type);"
            " duplicates are copied in descending id order and later ones skipped, so the"
            " highest id survives; idx_event_artifact_id disappears with the old table",
            "idx_event_execution_id recreated; EventPath rows whose event_id is gone are deleted",
        ),
        sqlite=("property indexes are partial: WHERE <value column> IS NOT NULL",),
        mysql=(
            "string index on string_value(255)",
            "unique constraint named UniqueEvent; duplicates skipped with INSERT IGNORE",
        ),
        postgresql=("unique constraint named UniqueEvent; duplicates skipped with ON CONFLICT",),
    ),
    SchemaStep(
        9,
        (
            "Type, Artifact, Execution, Context: + external_id VARCHAR(255) UNIQUE",
            "indexes idx_type_external_id, idx_artifact_external_id,"
            " idx_execution_external_id, idx_context_external_id",
        ),
        sqlite=(
            "Type, Artifact, Execution, Context " + _REBUILD,
            "their secondary indexes are created again afterwards",
        ),
        mysql=(
            "ALTER TABLE ADD; unique constraints named UniqueTypeExternalId,"
            " UniqueArtifactExternalId, UniqueExecutionExternalId, UniqueContextExternalId"
            " (a fresh v10 database names them external_id)",
        ),
        postgresql=(
            "Type, Artifact, Execution, Context " + _REBUILD,
            "the rebuilt time columns are declared INT, not BIGINT",
            "rebuilt tables get new SERIAL sequences (<table>temp_id_seq) that the copied"
            " ids do not advance",
        ),
    ),
    SchemaStep(
        10,
        ("ArtifactProperty, ExecutionProperty, ContextProperty: + proto_value, bool_value",),
        sqlite=("proto_value BLOB, bool_value BOOLEAN",),
        mysql=("proto_value MEDIUMBLOB, bool_value BOOLEAN (TINYINT(1))",),
        postgresql=("proto_value BYTEA, bool_value BOOLEAN",),
    ),
)


# -------------------------------------------------------------- inspection --

Bind = Union[Engine, Connection]
SchemaState = Literal["empty", "mlmd", "partial", "foreign"]


@dataclasses.dataclass(frozen=True)
class SchemaProbe:
    """What a database holds, as far as MLMD's schema is concerned.

    Attributes:
        state: ``"empty"`` (no tables at all), ``"mlmd"`` (an MLMD database of
            ``version``), ``"partial"`` (some MLMD tables but neither an
            ``MLMDEnv`` table nor a complete v0 schema: an interrupted or
            concurrent initialisation) or ``"foreign"`` (tables exist, none of
            them MLMD's).
        version: The schema version when ``state == "mlmd"``, else None.
        tables: Every table name found, as the database reports it.
    """

    state: SchemaState
    version: int | None
    tables: tuple[str, ...]


def _run(bind: Bind, work):
    """Runs ``work(connection)`` in a transaction, wrapping driver errors."""
    try:
        if isinstance(bind, Engine):
            with bind.begin() as connection:
                return work(connection)
        return work(bind)
    except errors.StatusError:
        raise
    except sa.exc.OperationalError as e:
        raise errors.UnavailableError(f"database unavailable: {e}") from e
    except sa.exc.SQLAlchemyError as e:
        raise errors.InternalError(f"database error: {e}") from e


def _probe(connection: Connection) -> SchemaProbe:
    inspector = sa.inspect(connection)
    found = tuple(inspector.get_table_names())
    # PostgreSQL reports MLMD's tables in lower case.
    by_folded = {name.lower(): name for name in found}
    if not found:
        return SchemaProbe("empty", None, found)
    if "mlmdenv" in by_folded:
        rows = connection.execute(sa.select(mlmd_env_table.c.schema_version)).all()
        if not rows:
            raise errors.AbortedError(
                "MLMDEnv exists but holds no schema_version; another client may be "
                "initialising the database, retry"
            )
        if len(rows) > 1:
            raise errors.DataLossError(
                "MLMDEnv holds more than one schema_version: "
                + ", ".join(str(row[0]) for row in rows)
            )
        return SchemaProbe("mlmd", int(rows[0][0]), found)
    mlmd_present = [name for name in TABLE_NAMES if name.lower() in by_folded]
    if not mlmd_present:
        return SchemaProbe("foreign", None, found)
    if all(name.lower() in by_folded for name in V0_TABLE_NAMES):
        with warnings.catch_warnings():
            # Only names matter here; SQLAlchemy warns about SQLite's TINYINT(1).
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            columns = inspector.get_columns(by_folded["type"])
        type_columns = {column["name"].lower() for column in columns}
        if "is_artifact_type" in type_columns:
            return SchemaProbe("mlmd", 0, found)
    return SchemaProbe("partial", None, found)


def probe_schema(bind: Bind) -> SchemaProbe:
    """Classifies a database: empty, MLMD (with version), partial or foreign.

    Args:
        bind: An engine or an open connection.

    Returns:
        The probe result.

    Raises:
        AbortedError: ``MLMDEnv`` exists but is empty.
        DataLossError: ``MLMDEnv`` has more than one row.
        UnavailableError: The database cannot be reached.
        InternalError: Any other database error.
    """
    return _run(bind, _probe)


def read_schema_version(bind: Bind) -> int | None:
    """Returns the MLMD schema version stored in a database.

    A database holding only an ml-metadata 0.13.2 schema (no ``MLMDEnv``)
    reads as version 0, as MLMD does.

    Args:
        bind: An engine or an open connection.

    Returns:
        The version, or None when the database has no tables at all.

    Raises:
        FailedPreconditionError: The database holds tables but is not an MLMD
            database.
        AbortedError: Only part of MLMD's tables exist, or ``MLMDEnv`` is empty
            (both happen while another client initialises the database).
        DataLossError: ``MLMDEnv`` has more than one row.
        UnavailableError: The database cannot be reached.
        InternalError: Any other database error.
    """
    probe = probe_schema(bind)
    if probe.state == "foreign":
        raise errors.FailedPreconditionError(
            "not an MLMD database: it holds tables but none of MLMD's ("
            + ", ".join(sorted(probe.tables))
            + ")"
        )
    if probe.state == "partial":
        present = sorted(t for t in probe.tables if t.lower() in {n.lower() for n in TABLE_NAMES})
        raise errors.AbortedError(
            "only some of MLMD's tables exist (" + ", ".join(present) + "); another client "
            "may be initialising the database, retry"
        )
    return probe.version


def create_schema(bind: Bind, *, allow_foreign_tables: bool = False) -> None:
    """Creates schema version ``SCHEMA_VERSION`` and records it in ``MLMDEnv``.

    Args:
        bind: An engine (the work runs in one transaction where the database
            allows transactional DDL) or an open connection (the caller owns
            the transaction).
        allow_foreign_tables: Also create the schema when the database already
            holds tables that are not MLMD's (MLMD itself does so).

    Raises:
        AlreadyExistsError: The database already holds MLMD tables.
        FailedPreconditionError: The database holds other tables and
            ``allow_foreign_tables`` is false.
        UnavailableError: The database cannot be reached.
        InternalError: Any other database error.
    """

    def work(connection: Connection) -> None:
        probe = _probe(connection)
        if probe.state in ("mlmd", "partial"):
            raise errors.AlreadyExistsError(
                "the database already holds MLMD tables"
                + (f" (schema version {probe.version})" if probe.version is not None else "")
            )
        if probe.state == "foreign" and not allow_foreign_tables:
            raise errors.FailedPreconditionError(
                "the database is not empty and not an MLMD database ("
                + ", ".join(sorted(probe.tables))
                + ")"
            )
        # checkfirst would look the mixed-case names up verbatim, which misses
        # PostgreSQL's folded ones; emptiness was checked above instead.
        metadata.create_all(connection, checkfirst=False)
        connection.execute(sa.insert(mlmd_env_table).values(schema_version=SCHEMA_VERSION))

    _run(bind, work)
