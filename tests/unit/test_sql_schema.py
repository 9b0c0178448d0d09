"""``lineage.backends.sql_schema`` against the schema ml-metadata 1.17.1 creates.

For SQLite, MariaDB and PostgreSQL alike, ml-metadata (run by its own python,
``LINEAGE_MLMD_PYTHON``) creates one database and our ``create_schema``
another; the catalogs must agree table by table: columns, declared types,
nullability, defaults, primary keys, unique constraints and indexes. Then
ml-metadata writes records into a database whose schema we created, and our
tables must read them back with the right Python types.

Server URLs come from ``LINEAGE_MYSQL_URL`` / ``LINEAGE_POSTGRES_URL``; when
unset, ``scripts/sql-services`` is started (and stopped again at the end if it
was not running before).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lineage import errors
from lineage.backends import sql_schema as schema

ROOT = Path(__file__).resolve().parents[2]
SQL_SERVICES = ROOT / "scripts" / "sql-services"
DEFAULT_MLMD_PYTHON = "/tmp/mlmd-venv/bin/python"
# Non-ASCII text, including UTF-8 bytes (C3 81 for "\u00c1") that cp1252 leaves
# undefined, and a character outside the BMP.
UNUSUAL_TEXT = "h\u00e9llo \u00c1 \u00fcber \u20ac \u2713 \u65e5\u672c \U0001f600"

# Run by ml-metadata's python. Reads a JSON request on stdin:
#   {"config": {...ConnectionConfig fields...}, "write_sample": bool,
#    "read_artifact_id": int (optional)}
# opens (creating if needed) the store, optionally writes a small graph and/or
# reads one artifact with its events, and prints the result as JSON.
MLMD_SCRIPT = r"""
import json, sys
from google.protobuf import json_format
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

request = json.load(sys.stdin)
config = json_format.ParseDict(request["config"], pb.ConnectionConfig())
store = metadata_store.MetadataStore(config)
reply = {}
if request.get("write_sample"):
    artifact_type = pb.ArtifactType(name="SchemaSample", version="v1", description="d")
    artifact_type.properties["size"] = pb.INT
    artifact_type.properties["label"] = pb.STRING
    reply["artifact_type_id"] = store.put_artifact_type(artifact_type)
    reply["execution_type_id"] = store.put_execution_type(pb.ExecutionType(name="SchemaStep"))
    reply["context_type_id"] = store.put_context_type(pb.ContextType(name="SchemaRun"))

    artifact = pb.Artifact(
        type_id=reply["artifact_type_id"], uri="file:///sample", name="a1",
        external_id="ext-a1", state=pb.Artifact.LIVE)
    artifact.properties["size"].int_value = 3
    artifact.properties["label"].string_value = sys.argv[1]
    artifact.custom_properties["ratio"].double_value = 0.5
    artifact.custom_properties["flag"].bool_value = True
    artifact.custom_properties["payload"].proto_value.Pack(pb.Value(string_value="packed"))
    [reply["artifact_id"]] = store.put_artifacts([artifact])
    payload = artifact.custom_properties["payload"].proto_value
    reply["payload_any"] = payload.SerializeToString().hex()

    execution = pb.Execution(type_id=reply["execution_type_id"],
                             last_known_state=pb.Execution.COMPLETE)
    [reply["execution_id"]] = store.put_executions([execution])
    event = pb.Event(artifact_id=reply["artifact_id"], execution_id=reply["execution_id"],
                     type=pb.Event.OUTPUT)
    event.path.steps.add().index = 0
    event.path.steps.add().key = "k"
    store.put_events([event])

    parent, child = store.put_contexts([
        pb.Context(type_id=reply["context_type_id"], name="run-1"),
        pb.Context(type_id=reply["context_type_id"], name="run-1/part"),
    ])
    reply["context_ids"] = [parent, child]
    store.put_attributions_and_associations(
        [pb.Attribution(context_id=parent, artifact_id=reply["artifact_id"])],
        [pb.Association(context_id=parent, execution_id=reply["execution_id"])])
    store.put_parent_contexts([pb.ParentContext(child_id=child, parent_id=parent)])
if "read_artifact_id" in request:
    [artifact] = store.get_artifacts_by_id([request["read_artifact_id"]])
    reply["artifact"] = json_format.MessageToDict(artifact, preserving_proto_field_name=True)
    reply["payload_any"] = (
        artifact.custom_properties["payload"].proto_value.SerializeToString().hex())
    events = store.get_events_by_artifact_ids([artifact.id])
    reply["events"] = [json_format.MessageToDict(e, preserving_proto_field_name=True)
                       for e in events]
print(json.dumps(reply))
"""


# ----------------------------------------------------------------- helpers --


def _mlmd_python() -> str:
    path = os.environ.get("LINEAGE_MLMD_PYTHON", DEFAULT_MLMD_PYTHON)
    if not Path(path).is_file():
        pytest.fail(
            f"no python with ml-metadata 1.17.1 at {path!r}: set LINEAGE_MLMD_PYTHON to "
            "the interpreter of a virtual environment holding ml-metadata==1.17.1"
        )
    return path


def run_mlmd(config: dict[str, Any], **request: Any) -> dict[str, Any]:
    """Opens a store with ml-metadata 1.17.1 in a subprocess; returns its JSON reply."""
    done = subprocess.run(
        [_mlmd_python(), "-c", MLMD_SCRIPT, UNUSUAL_TEXT],
        input=json.dumps({"config": config, **request}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"ml-metadata failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _normalise_sql(text: str | None) -> str | None:
    if text is None:
        return None
    return " ".join(re.sub(r'[`"]', "", text).split()).lower().rstrip(";").strip()


# -------------------------------------------------- catalog descriptions --
# Each returns {table name: facts}, with facts compared by equality.


def describe_sqlite(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:
        tables = {}
        for name, sql in db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name != 'sqlite_sequence'"
        ):
            columns = [
                {"cid": cid, "name": col, "type": decl, "notnull": notnull,
                 "default": default, "pk": pk}
                for cid, col, decl, notnull, default, pk in db.execute(
                    "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)",
                    (name,),
                )
            ]
            indexes = {}
            for _, index, unique, origin, partial in db.execute(
                "SELECT seq, name, \"unique\", origin, partial FROM pragma_index_list(?)", (name,)
            ):
                index_columns = [
                    row[0]
                    for row in db.execute(
                        "SELECT name FROM pragma_index_info(?) ORDER BY seqno", (index,)
                    )
                ]
                index_sql = db.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
                ).fetchone()[0]
                where = None
                if index_sql and " where " in _normalise_sql(index_sql):
                    where = _normalise_sql(index_sql).split(" where ", 1)[1]
                indexes[index] = {
                    "unique": unique, "origin": origin, "partial": partial,
                    "columns": index_columns, "where": where,
                }
            tables[name] = {
                "columns": columns,
                "indexes": indexes,
                "autoincrement": "AUTOINCREMENT" in sql.upper(),
            }
        return tables
    finally:
        db.close()


def describe_mysql(engine: sa.Engine, database: str) -> dict[str, Any]:
    with engine.connect() as c:
        tables = {
            name: {"engine": eng, "collation": coll, "columns": [], "indexes": {},
                   "constraints": {}}
            for name, eng, coll in c.execute(
                sa.text(
                    "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = :db"
                ),
                {"db": database},
            )
        }
        for row in c.execute(
            sa.text(
                "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, "
                "COLUMN_DEFAULT, EXTRA, COLLATION_NAME FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = :db ORDER BY TABLE_NAME, ORDINAL_POSITION"
            ),
            {"db": database},
        ):
            tables[row[0]]["columns"].append(tuple(row[1:]))
        for table, index, non_unique, seq, column, sub_part in c.execute(
            sa.text(
                "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART "
                "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = :db "
                "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
            ),
            {"db": database},
        ):
            entry = tables[table]["indexes"].setdefault(
                index, {"non_unique": non_unique, "columns": []}
            )
            entry["columns"].append((column, sub_part))
        for table, constraint, kind in c.execute(
            sa.text(
                "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE "
                "FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = :db"
            ),
            {"db": database},
        ):
            tables[table]["constraints"][constraint] = kind
        return tables


def describe_postgresql(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as c:
        tables = {
            name: {"columns": [], "indexes": {}, "constraints": {}}
            for (name,) in c.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                )
            )
        }
        for row in c.execute(
            sa.text(
                "SELECT table_name, ordinal_position, column_name, data_type, "
                "character_maximum_length, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = 'public' "
                "ORDER BY table_name, ordinal_position"
            )
        ):
            tables[row[0]]["columns"].append(tuple(row[1:]))
        for table, index, definition in c.execute(
            sa.text(
                "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            )
        ):
            tables[table]["indexes"][index] = definition
        for table, constraint, kind, columns in c.execute(
            sa.text(
                "SELECT tc.table_name, tc.constraint_name, tc.constraint_type, "
                "       array_agg(k.column_name::text ORDER BY k.ordinal_position) "
                "FROM information_schema.table_constraints tc "
                "JOIN information_schema.key_column_usage k "
                "  ON k.constraint_name = tc.constraint_name "
                " AND k.table_schema = tc.table_schema AND k.table_name = tc.table_name "
                "WHERE tc.table_schema = 'public' "
                "GROUP BY tc.table_name, tc.constraint_name, tc.constraint_type"
            )
        ):
            tables[table]["constraints"][constraint] = (kind, list(columns))
        sequences = {
            name: (data_type, start, increment)
            for name, data_type, start, increment in c.execute(
                sa.text(
                    "SELECT sequence_name, data_type, start_value, increment "
                    "FROM information_schema.sequences WHERE sequence_schema = 'public'"
                )
            )
        }
        tables["<sequences>"] = sequences
        return tables


# ---------------------------------------------------------------- servers --


class SqlServices:
    """Server URLs for tests: from the environment, or started on demand."""

    ENV = {"mariadb": "LINEAGE_MYSQL_URL", "postgresql": "LINEAGE_POSTGRES_URL"}
    SCHEME = {"mariadb": "mysql", "postgresql": "postgresql"}

    def __init__(self) -> None:
        self._urls: dict[str, str] = {}
        self._started: list[str] = []

    def url(self, server: str) -> str:
        """Returns ``scheme://user:password@host:port/db`` for ``server``."""
        if server in self._urls:
            return self._urls[server]
        url = os.environ.get(self.ENV[server])
        if not url:
            was_running = (
                subprocess.run(
                    [str(SQL_SERVICES), "status", server], capture_output=True, timeout=60
                ).returncode
                == 0
            )
            done = subprocess.run(
                [str(SQL_SERVICES), "start", server], capture_output=True, text=True, timeout=900
            )
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines:
                pytest.fail(
                    f"scripts/sql-services start {server} failed (exit {done.returncode}):\n"
                    f"{done.stderr[-3000:]}"
                )
            url = lines[-1]
            if not was_running:
                self._started.append(server)
        if not url.startswith(self.SCHEME[server] + "://"):
            pytest.fail(f"{self.ENV[server]}={url!r} is not a {self.SCHEME[server]}:// URL")
        self._urls[server] = url
        return url

    def stop_started(self) -> None:
        for server in self._started:
            subprocess.run([str(SQL_SERVICES), "stop", server], capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def sql_services() -> Iterator[SqlServices]:
    """Shared access to the MariaDB and PostgreSQL test servers."""
    services = SqlServices()
    yield services
    services.stop_started()


# ------------------------------------------------------------- databases --


class Flavor:
    """A database kind: fresh empty databases, their catalogs, MLMD configs."""

    name: str

    def new_database(self) -> tuple[sa.Engine, dict[str, Any], Callable[[], Any]]:
        """Returns (engine, MLMD ConnectionConfig dict, describe()) for a new empty DB."""
        raise NotImplementedError

    def close(self) -> None:
        """Drops every database made."""


class SqliteFlavor(Flavor):
    name = "sqlite"

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.engines: list[sa.Engine] = []

    def new_database(self):
        path = self.tmp_path / f"{uuid.uuid4().hex[:8]}.sqlite"
        engine = sa.create_engine(f"sqlite:///{path}")
        self.engines.append(engine)
        config = {"sqlite": {"filename_uri": str(path), "connection_mode": "READWRITE_OPENCREATE"}}
        return engine, config, lambda: describe_sqlite(path)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


class ServerFlavor(Flavor):
    def __init__(self, name: str, url: str) -> None:
        self.name = name
        driver = "mysql+pymysql" if name == "mariadb" else "postgresql+psycopg"
        self.url = sa.engine.make_url(url).set(drivername=driver)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.made: list[tuple[str, sa.Engine]] = []

    def new_database(self):
        database = f"lineage_schema_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {database}"))
        engine = sa.create_engine(self.url.set(database=database))
        self.made.append((database, engine))
        u = self.url
        if self.name == "mariadb":
            config = {"mysql": {"host": u.host, "port": u.port or 3306, "database": database,
                                "user": u.username, "password": u.password}}
            return engine, config, lambda: describe_mysql(engine, database)
        config = {"postgresql": {"host": u.host, "port": str(u.port or 5432), "dbname": database,
                                 "user": u.username, "password": u.password}}
        return engine, config, lambda: describe_postgresql(engine)

    def close(self) -> None:
        for database, engine in self.made:
            engine.dispose()
            with self.admin.connect() as c:
                if self.name == "postgresql":
                    c.execute(sa.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
                else:
                    c.execute(sa.text(f"DROP DATABASE IF EXISTS {database}"))
        self.admin.dispose()


@pytest.fixture(params=["sqlite", "mariadb", "postgresql"])
def flavor(request, tmp_path, sql_services) -> Iterator[Flavor]:
    if request.param == "sqlite":
        made: Flavor = SqliteFlavor(tmp_path)
    else:
        made = ServerFlavor(request.param, sql_services.url(request.param))
    try:
        yield made
    finally:
        made.close()


# ------------------------------------------------------------------ tests --


@pytest.mark.interop
def test_schema_matches_mlmd_catalog(flavor: Flavor) -> None:
    mlmd_engine, mlmd_config, describe_mlmd = flavor.new_database()
    run_mlmd(mlmd_config)
    ours_engine, _, describe_ours = flavor.new_database()
    schema.create_schema(ours_engine)

    theirs = describe_mlmd()
    ours = describe_ours()
    # Guards against comparing two empty catalogs.
    assert {t.lower() for t in theirs if not t.startswith("<")} == {
        t.lower() for t in schema.TABLE_NAMES
    }
    assert sorted(ours) == sorted(theirs)
    for table in sorted(theirs):
        assert ours[table] == theirs[table], f"table {table} differs on {flavor.name}"

    assert schema.read_schema_version(mlmd_engine) == schema.SCHEMA_VERSION
    assert schema.read_schema_version(ours_engine) == schema.SCHEMA_VERSION


@pytest.mark.interop
def test_mlmd_writes_into_our_schema_and_we_read_it(flavor: Flavor) -> None:
    engine, config, _ = flavor.new_database()
    schema.create_schema(engine)
    ids = run_mlmd(config, write_sample=True)

    with engine.connect() as c:
        t = schema.type_table
        kinds = dict(c.execute(sa.select(t.c.name, t.c.type_kind)).all())
        assert kinds["SchemaSample"] == schema.TYPE_KIND_ARTIFACT
        assert kinds["SchemaStep"] == schema.TYPE_KIND_EXECUTION
        assert kinds["SchemaRun"] == schema.TYPE_KIND_CONTEXT
        sample = c.execute(sa.select(t).where(t.c.id == ids["artifact_type_id"])).one()
        assert (sample.version, sample.description) == ("v1", "d")
        type_properties = dict(
            c.execute(
                sa.select(schema.type_property_table.c.name, schema.type_property_table.c.data_type)
                .where(schema.type_property_table.c.type_id == ids["artifact_type_id"])
            ).all()
        )
        assert type_properties == {"size": 1, "label": 3}  # PropertyType INT, STRING

        a = schema.artifact_table
        artifact = c.execute(sa.select(a).where(a.c.id == ids["artifact_id"])).one()
        assert (artifact.type_id, artifact.uri, artifact.name, artifact.external_id) == (
            ids["artifact_type_id"], "file:///sample", "a1", "ext-a1",
        )
        assert artifact.state == 2  # Artifact.LIVE
        assert artifact.create_time_since_epoch > 1_600_000_000_000
        assert artifact.last_update_time_since_epoch >= artifact.create_time_since_epoch

        p = schema.artifact_property_table
        rows = {
            row.name: row
            for row in c.execute(sa.select(p).where(p.c.artifact_id == ids["artifact_id"]))
        }
        assert set(rows) == {"size", "label", "ratio", "flag", "payload"}
        for row in rows.values():
            assert type(row.is_custom_property) is bool
        assert (rows["size"].is_custom_property, rows["size"].int_value) == (False, 3)
        assert (rows["label"].is_custom_property, rows["label"].string_value) == (
            False, UNUSUAL_TEXT
        )
        assert (rows["ratio"].is_custom_property, rows["ratio"].double_value) == (True, 0.5)
        assert rows["flag"].bool_value is True
        assert rows["payload"].is_custom_property is True
        assert rows["payload"].proto_value == bytes.fromhex(ids["payload_any"])

        ex = schema.execution_table
        execution = c.execute(sa.select(ex).where(ex.c.id == ids["execution_id"])).one()
        assert execution.last_known_state == 3  # Execution.COMPLETE

        ev = schema.event_table
        event = c.execute(sa.select(ev)).one()
        assert (event.artifact_id, event.execution_id, event.type) == (
            ids["artifact_id"], ids["execution_id"], 4,  # Event.OUTPUT
        )
        ep = schema.event_path_table
        steps = c.execute(
            sa.select(ep.c.is_index_step, ep.c.step_index, ep.c.step_key)
            .where(ep.c.event_id == event.id)
            .order_by(ep.c.is_index_step.desc())
        ).all()
        assert [tuple(s) for s in steps] == [(True, 0, None), (False, None, "k")]
        assert all(type(s.is_index_step) is bool for s in steps)

        parent, child = ids["context_ids"]
        ctx = schema.context_table
        names = dict(c.execute(sa.select(ctx.c.id, ctx.c.name)).all())
        assert names == {parent: "run-1", child: "run-1/part"}
        assert c.execute(
            sa.select(schema.attribution_table.c.context_id, schema.attribution_table.c.artifact_id)
        ).all() == [(parent, ids["artifact_id"])]
        asn = schema.association_table
        assert c.execute(sa.select(asn.c.context_id, asn.c.execution_id)).all() == [
            (parent, ids["execution_id"])
        ]
        pc = schema.parent_context_table
        assert c.execute(sa.select(pc.c.context_id, pc.c.parent_context_id)).all() == [
            (child, parent)
        ]
    assert schema.read_schema_version(engine) == schema.SCHEMA_VERSION


@pytest.mark.interop
def test_mlmd_reads_what_we_write(flavor: Flavor) -> None:
    engine, config, _ = flavor.new_database()
    schema.create_schema(engine)
    payload = bytes.fromhex(
        "0a25747970652e676f6f676c65617069732e636f6d2f6d6c5f6d657461646174612e56616c7565"
        "12081a067061636b6564"
    )  # Any(type.googleapis.com/ml_metadata.Value, Value(string_value="packed"))
    now = 1_700_000_000_123
    with engine.begin() as c:
        c.execute(
            sa.insert(schema.type_table).values(
                id=100, name="Ours", type_kind=schema.TYPE_KIND_ARTIFACT, version="v2"
            )
        )
        c.execute(sa.insert(schema.type_property_table).values(type_id=100, name="n", data_type=1))
        c.execute(
            sa.insert(schema.type_table).values(
                id=101, name="OursStep", type_kind=schema.TYPE_KIND_EXECUTION
            )
        )
        c.execute(
            sa.insert(schema.artifact_table).values(
                id=7, type_id=100, uri="s3://b/k", name="ours-1", external_id="x-7", state=2,
                create_time_since_epoch=now, last_update_time_since_epoch=now + 1,
            )
        )
        c.execute(
            sa.insert(schema.artifact_property_table),
            [
                {"artifact_id": 7, "name": "n", "is_custom_property": False, "int_value": 42,
                 "double_value": None, "string_value": None, "proto_value": None,
                 "bool_value": None},
                {"artifact_id": 7, "name": "payload", "is_custom_property": True,
                 "int_value": None, "double_value": None, "string_value": None,
                 "proto_value": payload, "bool_value": None},
                {"artifact_id": 7, "name": "ok", "is_custom_property": True, "int_value": None,
                 "double_value": None, "string_value": None, "proto_value": None,
                 "bool_value": False},
                {"artifact_id": 7, "name": "note", "is_custom_property": True, "int_value": None,
                 "double_value": None, "string_value": "über", "proto_value": None,
                 "bool_value": None},
            ],
        )
        c.execute(sa.insert(schema.execution_table).values(id=9, type_id=101))
        c.execute(
            sa.insert(schema.event_table).values(
                id=3, artifact_id=7, execution_id=9, type=3, milliseconds_since_epoch=now
            )
        )
        c.execute(
            sa.insert(schema.event_path_table),
            [
                {"event_id": 3, "is_index_step": False, "step_index": None, "step_key": "out"},
                {"event_id": 3, "is_index_step": True, "step_index": 2, "step_key": None},
            ],
        )
    reply = run_mlmd(config, read_artifact_id=7)

    artifact = reply["artifact"]
    assert (artifact["type"], artifact["type_id"], artifact["uri"], artifact["name"]) == (
        "Ours", "100", "s3://b/k", "ours-1"
    )
    assert (artifact["external_id"], artifact["state"]) == ("x-7", "LIVE")
    assert artifact["create_time_since_epoch"] == str(now)
    assert artifact["properties"] == {"n": {"int_value": "42"}}
    custom = artifact["custom_properties"]
    assert custom["ok"] == {"bool_value": False}
    assert custom["note"] == {"string_value": "über"}
    assert reply["payload_any"] == payload.hex()
    [event] = reply["events"]
    assert (event["artifact_id"], event["execution_id"], event["type"]) == ("7", "9", "INPUT")
    assert sorted(event["path"]["steps"], key=str) == sorted(
        [{"key": "out"}, {"index": "2"}], key=str
    )


def test_our_types_round_trip(flavor: Flavor) -> None:
    engine, _, _ = flavor.new_database()
    schema.create_schema(engine)
    p = schema.context_property_table
    big = 2**40  # time columns must hold epoch milliseconds
    blank = {"int_value": None, "double_value": None, "string_value": None, "byte_value": None,
             "proto_value": None, "bool_value": None}
    with engine.begin() as c:
        c.execute(
            sa.insert(schema.context_table).values(
                type_id=1, name="c", create_time_since_epoch=big, last_update_time_since_epoch=big
            )
        )
        c.execute(
            sa.insert(p),
            [
                {**blank, "context_id": 1, "name": "b", "is_custom_property": True,
                 "bool_value": False, "proto_value": b"\x00\x01raw"},
                {**blank, "context_id": 1, "name": "b", "is_custom_property": False,
                 "byte_value": b"\x00\xff"},
                {**blank, "context_id": 1, "name": "s", "is_custom_property": True,
                 "string_value": "x" * 70000},
                {**blank, "context_id": 1, "name": UNUSUAL_TEXT, "is_custom_property": True,
                 "string_value": UNUSUAL_TEXT},
            ],
        )
    with engine.connect() as c:
        assert c.execute(sa.select(schema.context_table.c.create_time_since_epoch)).scalar() == big
        rows = {(r.name, r.is_custom_property): r for r in c.execute(sa.select(p))}
        assert set(rows) == {("b", False), ("b", True), ("s", True), (UNUSUAL_TEXT, True)}
        assert bytes(rows["b", False].byte_value) == b"\x00\xff"
        assert rows["b", True].bool_value is False
        assert rows["b", True].proto_value == b"\x00\x01raw"
        # Longer than TEXT's 65535 bytes: MySQL needs MEDIUMTEXT, as MLMD declares.
        assert rows["s", True].string_value == "x" * 70000
        assert rows[UNUSUAL_TEXT, True].string_value == UNUSUAL_TEXT

        def names(*where) -> list[str]:
            return sorted(c.execute(sa.select(p.c.name).where(*where)).scalars())

        custom = p.c.is_custom_property == True  # noqa: E712
        assert names(custom) == sorted(["b", "s", UNUSUAL_TEXT])
        assert names(p.c.proto_value == b"\x00\x01raw") == ["b"]
        assert names(p.c.string_value == UNUSUAL_TEXT) == [UNUSUAL_TEXT]
        assert names(p.c.name.like("h\u00e9llo %")) == [UNUSUAL_TEXT]
        assert names(p.c.name.in_([UNUSUAL_TEXT, "s"])) == sorted(["s", UNUSUAL_TEXT])


# ------------------------------------------------ probing (SQLite only) --


def _sqlite_engine(tmp_path: Path, name: str = "db.sqlite") -> sa.Engine:
    return sa.create_engine(f"sqlite:///{tmp_path / name}")


def _exec(engine: sa.Engine, *statements: str) -> None:
    with engine.begin() as c:
        for statement in statements:
            c.exec_driver_sql(statement)


def test_empty_database_has_no_version(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    assert schema.read_schema_version(engine) is None
    assert schema.probe_schema(engine) == schema.SchemaProbe("empty", None, ())


def test_create_then_read_version(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    schema.create_schema(engine)
    assert schema.read_schema_version(engine) == 10
    with engine.connect() as c:
        assert c.execute(sa.select(schema.mlmd_env_table.c.schema_version)).all() == [(10,)]
    probe = schema.probe_schema(engine)
    assert probe.state == "mlmd" and probe.version == 10
    assert {t for t in probe.tables if t != "sqlite_sequence"} == set(schema.TABLE_NAMES)


def test_create_twice_is_refused(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    schema.create_schema(engine)
    with pytest.raises(errors.AlreadyExistsError, match="schema version 10"):
        schema.create_schema(engine)


def test_unrelated_tables_are_not_mlmd(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    _exec(engine, "CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    probe = schema.probe_schema(engine)
    assert probe == schema.SchemaProbe("foreign", None, ("invoices",))
    with pytest.raises(errors.FailedPreconditionError, match="not an MLMD database.*invoices"):
        schema.read_schema_version(engine)
    with pytest.raises(errors.FailedPreconditionError, match="invoices"):
        schema.create_schema(engine)
    schema.create_schema(engine, allow_foreign_tables=True)
    assert schema.read_schema_version(engine) == 10


def test_some_mlmd_tables_without_mlmdenv_is_aborted(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    schema.create_schema(engine)
    _exec(engine, "DROP TABLE MLMDEnv")
    assert schema.probe_schema(engine).state == "partial"
    with pytest.raises(errors.AbortedError, match="only some of MLMD's tables"):
        schema.read_schema_version(engine)


def test_empty_mlmdenv_is_aborted(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    schema.create_schema(engine)
    _exec(engine, "DELETE FROM MLMDEnv")
    with pytest.raises(errors.AbortedError, match="MLMDEnv"):
        schema.read_schema_version(engine)


def test_two_versions_is_data_loss(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    schema.create_schema(engine)
    _exec(engine, "INSERT INTO MLMDEnv (schema_version) VALUES (9)")
    with pytest.raises(errors.DataLossError, match="more than one schema_version"):
        schema.read_schema_version(engine)


def test_older_and_newer_versions_are_reported(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    schema.create_schema(engine)
    _exec(engine, "UPDATE MLMDEnv SET schema_version = 7")
    assert schema.read_schema_version(engine) == 7
    _exec(engine, "UPDATE MLMDEnv SET schema_version = 11")
    assert schema.read_schema_version(engine) == 11


def test_v0_schema_reads_as_version_0(tmp_path: Path) -> None:
    # The ml-metadata 0.13.2 layout: no MLMDEnv, Type still has is_artifact_type.
    engine = _sqlite_engine(tmp_path)
    _exec(
        engine,
        "CREATE TABLE Type (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(255) NOT NULL,"
        " is_artifact_type TINYINT(1) NOT NULL, input_type TEXT, output_type TEXT)",
        "CREATE TABLE TypeProperty (type_id INT NOT NULL, name VARCHAR(255) NOT NULL,"
        " data_type INT NULL, PRIMARY KEY (type_id, name))",
        "CREATE TABLE Artifact (id INTEGER PRIMARY KEY AUTOINCREMENT, type_id INT NOT NULL,"
        " uri TEXT)",
        "CREATE TABLE ArtifactProperty (artifact_id INT NOT NULL, name VARCHAR(255) NOT NULL,"
        " is_custom_property TINYINT(1) NOT NULL, int_value INT, double_value DOUBLE,"
        " string_value TEXT, PRIMARY KEY (artifact_id, name, is_custom_property))",
        "CREATE TABLE Execution (id INTEGER PRIMARY KEY AUTOINCREMENT, type_id INT NOT NULL)",
        "CREATE TABLE ExecutionProperty (execution_id INT NOT NULL, name VARCHAR(255) NOT NULL,"
        " is_custom_property TINYINT(1) NOT NULL, int_value INT, double_value DOUBLE,"
        " string_value TEXT, PRIMARY KEY (execution_id, name, is_custom_property))",
        "CREATE TABLE Event (id INTEGER PRIMARY KEY AUTOINCREMENT, artifact_id INT NOT NULL,"
        " execution_id INT NOT NULL, type INT NOT NULL, milliseconds_since_epoch INT)",
        "CREATE TABLE EventPath (event_id INT NOT NULL, is_index_step TINYINT(1) NOT NULL,"
        " step_index INT, step_key TEXT)",
    )
    assert schema.read_schema_version(engine) == 0


def test_history_covers_every_version() -> None:
    assert [step.version for step in schema.SCHEMA_HISTORY] == list(
        range(1, schema.SCHEMA_VERSION + 1)
    )
    assert all(step.changes for step in schema.SCHEMA_HISTORY)


def test_unreachable_database_is_unavailable(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}")
    with pytest.raises(errors.UnavailableError):
        schema.read_schema_version(engine)
