"""The relational backend (``lineage.backends.sql``) on SQLite, MariaDB and PostgreSQL.

Every test runs on real databases: an in-memory SQLite, a SQLite file, and
the MariaDB and PostgreSQL servers of ``scripts/sql-services`` (URLs from
``LINEAGE_MYSQL_URL`` / ``LINEAGE_POSTGRES_URL``, else started on demand by
the ``sql_services`` fixture of ``test_sql_schema``). Stored behaviour is
checked against the in-memory backend, which defines the semantics: the same
calls on both must read back the same records.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from google.protobuf import any_pb2

import lineage
from lineage import errors
from lineage.backends import sql_connect
from lineage.backends import sql_schema as schema
from lineage.backends import sql_exec
from lineage.backends.sql_exec import PreparedStatements
from lineage.proto import metadata_store_pb2 as pb
from lineage.proto import metadata_store_service_pb2 as svc
from lineage.urls import config_from_url

from test_sql_schema import SqlServices, sql_services  # noqa: F401  (shared server fixture)

TARGETS = ("sqlite-memory", "sqlite-file", "mariadb", "postgresql")
SERVERS = ("mariadb", "postgresql")


# ------------------------------------------------------------ databases --


@dataclasses.dataclass
class Databases:
    """Fresh databases of one target; every one made is removed by ``close``."""

    target: str
    tmp_path: Path
    services: SqlServices | None
    made: list[str] = dataclasses.field(default_factory=list)

    @property
    def dialect(self) -> str:
        return {"sqlite-memory": "sqlite", "sqlite-file": "sqlite", "mariadb": "mysql",
                "postgresql": "postgresql"}[self.target]

    def base_url(self) -> sa.URL:
        assert self.services is not None
        return sa.engine.make_url(self.services.url(self.target))

    def new_name(self) -> str:
        name = f"lineage_t_{uuid.uuid4().hex[:12]}"
        self.made.append(name)
        return name

    def config(self, name: str | None = None) -> pb.ConnectionConfig:
        """A config for a new empty database (or the named one)."""
        if self.target == "sqlite-memory":
            return pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig())
        if self.target == "sqlite-file":
            path = self.tmp_path / f"{name or self.new_name()}.sqlite"
            return pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
                filename_uri=str(path),
                connection_mode=pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE))
        url = self.base_url().set(database=name or self.new_name())
        return config_from_url(url.render_as_string(hide_password=False))

    def engine(self, config: pb.ConnectionConfig) -> sa.Engine:
        """A plain SQLAlchemy engine on the database of ``config`` (for inspection)."""
        if config.HasField("sqlite"):
            return sa.create_engine(f"sqlite:///{config.sqlite.filename_uri}")
        driver = "mysql+pymysql" if self.target == "mariadb" else "postgresql+psycopg"
        database = config.mysql.database if config.HasField("mysql") else config.postgresql.dbname
        return sa.create_engine(self.base_url().set(drivername=driver, database=database))

    def admin(self) -> sa.Engine:
        driver = "mysql+pymysql" if self.target == "mariadb" else "postgresql+psycopg"
        return sa.create_engine(self.base_url().set(drivername=driver), isolation_level="AUTOCOMMIT")

    def exists(self, name: str) -> bool:
        with self.admin().connect() as c:
            if self.target == "mariadb":
                query = "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %(n)s"
            else:
                query = "SELECT 1 FROM pg_database WHERE datname = %(n)s"
            return c.exec_driver_sql(query, {"n": name}).first() is not None

    def close(self) -> None:
        if self.services is None or not self.made:
            return
        admin = self.admin()
        with admin.connect() as c:
            for name in self.made:
                drop_database(c, self.target, name)
        admin.dispose()


def drop_database(connection, target: str, name: str) -> None:
    """Drops a test database; PostgreSQL may need a moment to let autovacuum go."""
    force = " WITH (FORCE)" if target == "postgresql" else ""
    for attempt in range(20):
        try:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}{force}")
            return
        except sa.exc.DBAPIError:
            # An autovacuum worker (not ours to terminate) may be in the database.
            if attempt == 19:
                raise
            time.sleep(0.5)


@pytest.fixture(params=TARGETS)
def databases(request, tmp_path, sql_services) -> Iterator[Databases]:  # noqa: F811
    made = Databases(request.param, tmp_path, sql_services if request.param in SERVERS else None)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture(params=SERVERS)
def server_databases(request, tmp_path, sql_services) -> Iterator[Databases]:  # noqa: F811
    made = Databases(request.param, tmp_path, sql_services)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def store(databases) -> Iterator[lineage.MetadataStore]:
    opened = lineage.MetadataStore(databases.config())
    try:
        yield opened
    finally:
        opened.close()


def backend_of(store: lineage.MetadataStore):
    return store._service.backend


def memory_store() -> lineage.MetadataStore:
    return lineage.MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))


# ------------------------------------------------------- random workload --

UNUSUAL = ["", " ", "a ", "A", "a", "é", "E\u0301", "日本", "x%y", "x_y", "back\\slash", "q'uote",
           "mlmd-struct::not base64", "\U0001f600", "tab\tnew\nline"]


def _value(rng: random.Random, kind: str) -> pb.Value:
    value = pb.Value()
    if kind == "int":
        value.int_value = rng.choice([0, 1, -1, 7, 2**31 - 1, -(2**31), rng.randint(-1000, 1000)])
    elif kind == "double":
        value.double_value = rng.choice([0.0, -0.5, 0.1 + 0.2, 1 / 3, 1e-300, 1.5e300, math.pi,
                                         rng.uniform(-10, 10)])
    elif kind == "string":
        value.string_value = rng.choice(UNUSUAL + [f"s{rng.randint(0, 9)}"])
    elif kind == "bool":
        value.bool_value = rng.random() < 0.5
    elif kind == "struct":
        value.struct_value.update({"k": rng.randint(0, 3), "l": [1, "two", None, True],
                                   "n": {"deep": rng.choice(UNUSUAL)}})
    elif kind == "proto":
        value.proto_value.Pack(pb.Value(string_value=rng.choice(UNUSUAL)))
    return value


_PROPERTY_TYPES = {"int": pb.INT, "double": pb.DOUBLE, "string": pb.STRING, "bool": pb.BOOLEAN,
                   "struct": pb.STRUCT, "proto": pb.PROTO}


def build_history(store: lineage.MetadataStore, seed: int, size: int = 30) -> dict[str, list[int]]:
    """Writes a random but reproducible graph through the public API.

    Two stores given the same seed receive exactly the same calls, so they hold
    the same records (timestamps aside).
    """
    rng = random.Random(seed)
    kinds = list(_PROPERTY_TYPES)
    ids: dict[str, list[int]] = {"artifact": [], "execution": [], "context": [],
                                 "artifact_type": [], "execution_type": [], "context_type": []}
    declared: dict[int, dict[str, str]] = {}
    for index in range(3):
        for kind, cls, put in (("artifact", pb.ArtifactType, store.put_artifact_type),
                               ("execution", pb.ExecutionType, store.put_execution_type),
                               ("context", pb.ContextType, store.put_context_type)):
            type_ = cls(name=f"{kind}-type-{index}")
            if index == 1:
                type_.version = "v1"
                type_.description = "déscription"
                type_.external_id = f"{kind}-type-ext"
            props = {f"p{j}": rng.choice(kinds) for j in range(rng.randint(0, 4))}
            for name, value_kind in props.items():
                type_.properties[name] = _PROPERTY_TYPES[value_kind]
            if kind == "artifact" and index == 2:
                type_.base_type = pb.ArtifactType.MODEL
            if kind == "execution" and index == 0:
                type_.input_type.any.SetInParent()
                type_.output_type.dict.properties["out"].simple.name = "Model"
            type_id = put(type_)
            declared[type_id] = props
            ids[f"{kind}_type"].append(type_id)

    def fill(node) -> None:
        for name, value_kind in declared[node.type_id].items():
            if rng.random() < 0.8:
                node.properties[name].CopyFrom(_value(rng, value_kind))
        for j in range(rng.randint(0, 3)):
            node.custom_properties[rng.choice(["c0", "c1", "d0", "c 1"])].CopyFrom(
                _value(rng, rng.choice(kinds)))

    for index in range(size):
        artifact = pb.Artifact(type_id=rng.choice(ids["artifact_type"]))
        if rng.random() < 0.7:
            artifact.uri = rng.choice(["/data/", "gs://b/", "s3://B/"]) + rng.choice(UNUSUAL) + str(index)
        if rng.random() < 0.5:
            artifact.name = f"art-{index}"
        if rng.random() < 0.3:
            artifact.external_id = f"art-ext-{index}"
        if rng.random() < 0.8:
            artifact.state = rng.choice(list(pb.Artifact.State.values()))
        fill(artifact)
        ids["artifact"].extend(store.put_artifacts([artifact]))
    for index in range(size):
        execution = pb.Execution(type_id=rng.choice(ids["execution_type"]))
        if rng.random() < 0.5:
            execution.name = f"exe-{index}" if rng.random() < 0.8 else rng.choice(UNUSUAL) + str(index)
        if rng.random() < 0.8:
            execution.last_known_state = rng.choice(list(pb.Execution.State.values()))
        fill(execution)
        ids["execution"].extend(store.put_executions([execution]))
    for index in range(size // 3):
        context = pb.Context(type_id=rng.choice(ids["context_type"]), name=f"ctx-{index}-" + rng.choice(UNUSUAL))
        fill(context)
        ids["context"].extend(store.put_contexts([context]))
    events = []
    seen = set()
    for _ in range(size * 3):
        artifact_id, execution_id = rng.choice(ids["artifact"]), rng.choice(ids["execution"])
        event_type = rng.choice([t for t in pb.Event.Type.values() if t])
        if (artifact_id, execution_id, event_type) in seen:
            continue
        seen.add((artifact_id, execution_id, event_type))
        event = pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=event_type)
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.5:
                event.path.steps.add().index = rng.randint(-2, 5)
            else:
                event.path.steps.add().key = rng.choice(UNUSUAL)
        events.append(event)
    store.put_events(events)
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=rng.choice(ids["artifact"]), context_id=rng.choice(ids["context"]))
         for _ in range(size)],
        [pb.Association(execution_id=rng.choice(ids["execution"]), context_id=rng.choice(ids["context"]))
         for _ in range(size)])
    contexts = ids["context"]
    for child_index in range(1, len(contexts)):
        parent = contexts[rng.randrange(child_index)]
        store.put_parent_contexts([pb.ParentContext(child_id=contexts[child_index], parent_id=parent)])
    # Updates: change properties, states and uris of some nodes.
    for artifact in store.get_artifacts_by_id(rng.sample(ids["artifact"], size // 3)):
        artifact.state = pb.Artifact.DELETED
        artifact.custom_properties["updated"].int_value = artifact.id
        artifact.ClearField("uri") if rng.random() < 0.3 else None
        store.put_artifacts([artifact])
    for execution in store.get_executions_by_id(rng.sample(ids["execution"], size // 3)):
        execution.last_known_state = pb.Execution.COMPLETE
        if execution.custom_properties:
            del execution.custom_properties[sorted(execution.custom_properties)[0]]
        store.put_executions([execution])
    return ids


def _untimed(messages) -> list:
    out = []
    for message in messages:
        copy = type(message)()
        copy.CopyFrom(message)
        for field in ("create_time_since_epoch", "last_update_time_since_epoch", "milliseconds_since_epoch"):
            if field in copy.DESCRIPTOR.fields_by_name:
                copy.ClearField(field)
        out.append(copy)
    return out


def snapshot(store: lineage.MetadataStore, ids: dict[str, list[int]]) -> dict[str, Any]:
    """Everything readable about the graph, timestamps cleared."""
    everything = list(range(1, 200))
    shot: dict[str, Any] = {
        "artifact_types": store.get_artifact_types_by_id(everything),
        "execution_types": store.get_execution_types_by_id(everything),
        "context_types": store.get_context_types_by_id(everything),
        "user_artifact_types": store.get_artifact_types(),
        "artifacts": _untimed(store.get_artifacts_by_id(everything)),
        "executions": _untimed(store.get_executions_by_id(everything)),
        "contexts": _untimed(store.get_contexts_by_id(everything)),
        "artifact_events": _untimed(store.get_events_by_artifact_ids(everything)),
        "execution_events": _untimed(store.get_events_by_execution_ids(ids["execution"][:7])),
        "all_artifacts": _untimed(store.get_artifacts()),
        # Few nodes by id, and small pages, read properties in the same statement.
        "few_artifacts": _untimed(store.get_artifacts_by_id(ids["artifact"][:30])),
        "few_executions": _untimed(store.get_executions_by_id(ids["execution"][::-3])),
        "first_artifacts": _untimed(store.get_artifacts(list_options=lineage.ListOptions(
            limit=9, order_by=lineage.metadata_store.OrderByField.CREATE_TIME))),
        "last_executions": _untimed(store.get_executions(list_options=lineage.ListOptions(
            limit=7, order_by=lineage.metadata_store.OrderByField.ID, is_asc=False))),
        "filtered_contexts": _untimed(store.get_contexts(list_options=lineage.ListOptions(
            limit=5, filter_query="id > 0", order_by=lineage.metadata_store.OrderByField.ID, is_asc=False))),
    }
    for artifact in shot["artifacts"][:12]:
        shot[f"by_uri_{artifact.uri!r}"] = _untimed(store.get_artifacts_by_uri(artifact.uri))
    for kind in ("artifact", "execution", "context"):
        for type_id in ids[f"{kind}_type"]:
            type_ = store.get_artifact_types_by_id([type_id]) if kind == "artifact" else []
            del type_
            getter = getattr(store, f"get_{kind}s_by_type")
            type_name = f"{kind}-type-{ids[f'{kind}_type'].index(type_id)}"
            version = "v1" if type_name.endswith("-1") else None
            shot[f"{kind}s_of_{type_name}"] = _untimed(getter(type_name, version))
    for context_id in ids["context"]:
        shot[f"artifacts_in_{context_id}"] = _untimed(store.get_artifacts_by_context(context_id))
        shot[f"executions_in_{context_id}"] = _untimed(store.get_executions_by_context(context_id))
        shot[f"parents_of_{context_id}"] = _untimed(store.get_parent_contexts_by_context(context_id))
        shot[f"children_of_{context_id}"] = _untimed(store.get_children_contexts_by_context(context_id))
    for artifact_id in ids["artifact"][:10]:
        try:
            shot[f"contexts_of_artifact_{artifact_id}"] = _untimed(store.get_contexts_by_artifact(artifact_id))
        except errors.NotFoundError:
            shot[f"contexts_of_artifact_{artifact_id}"] = "NotFound"
    for external_id in ("art-ext-3", "art-ext-4", "art-ext-5"):
        try:
            shot[f"external_{external_id}"] = _untimed(store.get_artifacts_by_external_ids([external_id]))
        except errors.NotFoundError:
            shot[f"external_{external_id}"] = "NotFound"
    return shot


# ------------------------------------------------------------ semantics --


def test_same_calls_read_back_the_same_records_as_the_memory_backend(databases):
    reference = memory_store()
    ids = build_history(reference, seed=7)
    expected = snapshot(reference, ids)
    reference.close()
    store = lineage.MetadataStore(databases.config())
    try:
        assert build_history(store, seed=7) == ids
        got = snapshot(store, ids)
    finally:
        store.close()
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key


def test_ids_ascend_and_reads_skip_missing_ids(store):
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}") for i in range(5)])
    assert ids == sorted(ids) and len(set(ids)) == 5
    got = store.get_artifacts_by_id([ids[3], 10**6, ids[0], ids[3], 2**40])
    assert [a.id for a in got] == [ids[0], ids[3]]
    assert [a.type for a in got] == ["T", "T"]
    backend = backend_of(store)
    with backend.transaction():
        assert backend.get_nodes("artifact", []) == []
        assert [n.id for n in backend.get_nodes("artifact", reversed(ids))] == ids


def test_reads_of_one_node_from_a_server_send_one_statement(server_databases, monkeypatch):
    """Up to 101 nodes come with their properties in one statement (one round trip); more take two."""
    store = lineage.MetadataStore(server_databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T", properties={"n": pb.INT}))
        ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}", external_id=f"x{i}",
                                               properties={"n": pb.Value(int_value=i)},
                                               custom_properties={"c": pb.Value(string_value=str(i))})
                                   for i in range(250)])
        backend = backend_of(store)
        sent: list[str] = []
        run = type(backend)._run
        monkeypatch.setattr(backend, "_run", lambda compiled, *args: (
            sent.append(compiled.text), run(backend, compiled, *args))[1])

        def statements(read) -> int:
            sent.clear()
            found = read()
            assert found and all(a.properties["n"].int_value == int(a.uri[1:]) and
                                 a.custom_properties["c"].string_value == a.uri[1:] for a in found)
            return len(sent)

        # Up to 101 nodes with their properties in one statement (on
        # PostgreSQL a subquery per node, on MariaDB a join); MariaDB reads
        # a listing's page in two.
        on_postgresql = server_databases.target == "postgresql"
        assert statements(lambda: store.get_artifacts_by_id(ids[7:8])) == 1
        assert statements(lambda: store.get_artifacts_by_uri("/7")) == 1
        assert statements(lambda: store.get_artifacts_by_external_ids(["x3"])) == 1
        assert statements(lambda: store.get_artifacts(list_options=lineage.ListOptions(limit=10))) == (
            1 if on_postgresql else 2)
        assert statements(lambda: store.get_artifacts_by_id(ids[:101])) == 1
        assert statements(lambda: store.get_artifacts_by_id(ids[:102])) == 2
        # A listing of unknown size: PostgreSQL first reads up to 102 nodes in
        # one statement, finds more, and reads them all in two.
        assert statements(lambda: store.get_artifacts()) == (3 if on_postgresql else 2)
        assert statements(lambda: store.get_artifacts_by_type("T")) == 3  # the type first
        newest = store.get_artifacts(list_options=lineage.ListOptions(
            limit=30, order_by=lineage.OrderByField.CREATE_TIME, is_asc=False))
        assert [a.id for a in newest] == sorted(ids, reverse=True)[:30]
        assert [a.properties["n"].int_value for a in newest] == list(range(249, 219, -1))
    finally:
        store.close()


@pytest.mark.parametrize("target", ["sqlite-file", "sqlite-memory", "postgresql"])
def test_one_statement_reads_run_outside_a_transaction(target, tmp_path, sql_services, monkeypatch):  # noqa: F811
    """A read answered by one statement sends no BEGIN and no COMMIT; one that
    needs more begins its transaction at its first statement; one that meets a
    second statement after all runs again in a transaction; all answer alike.

    MariaDB is left out: its transactions begin with their first statement and
    a read's COMMIT is not waited for, so it has nothing to spare.
    """
    databases = Databases(target, tmp_path, sql_services if target in SERVERS else None)
    store = lineage.MetadataStore(databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T", properties={"n": pb.INT}))
        ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}", properties={"n": pb.Value(int_value=i)})
                                   for i in range(5)])
        context_type = store.put_context_type(pb.ContextType(name="C"))
        [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="c")])
        store.put_attributions_and_associations(
            [pb.Attribution(artifact_id=i, context_id=context_id) for i in ids], [])
        execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
        store.put_execution(pb.Execution(type_id=execution_type),
                            [(pb.Artifact(id=ids[0]), pb.Event(type=pb.Event.INPUT, path=pb.Event.Path(
                                steps=[pb.Event.Path.Step(key="in"), pb.Event.Path.Step(index=1)])))], [])
        backend = backend_of(store)
        run = type(backend)._run
        seen: list[bool] = []  # per statement: whether a transaction was open after it

        def in_transaction() -> bool:
            driver = backend._connection().driver_connection
            if isinstance(driver, sqlite3.Connection):
                return driver.in_transaction
            import psycopg

            return driver.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

        def observed(compiled, *args):
            cursor = run(backend, compiled, *args)
            seen.append(in_transaction())
            return cursor

        monkeypatch.setattr(backend, "_run", observed)

        def transactions(read):
            seen.clear()
            found = read()
            return found, list(seen)

        found, opened = transactions(lambda: store.get_artifacts_by_uri("/3"))
        assert [a.id for a in found] == [ids[3]] and found[0].properties["n"].int_value == 3
        assert opened == [False]
        found, opened = transactions(lambda: store.get_artifacts_by_id(ids[3:4]))
        assert [a.properties["n"].int_value for a in found] == [3] and opened == [False]
        found, opened = transactions(lambda: store.get_events_by_artifact_ids([ids[0]]))
        assert [(s.key, s.index) for s in found[0].path.steps] == [("in", 0), ("", 1)] and opened == [False]
        # Two uris are two statements: the first, alone, is thrown away.
        found, opened = transactions(lambda: store._service.GetArtifactsByURI(
            svc.GetArtifactsByURIRequest(uris=["/1", "/4"])).artifacts)
        assert [a.id for a in found] == [ids[1], ids[4]]
        assert opened == [False, True, True]
        # Nodes read in two statements begin the transaction at the first:
        # nothing runs twice. On PostgreSQL up to 101 nodes come in one.
        on_postgresql = target == "postgresql"
        found, opened = transactions(lambda: store.get_artifacts_by_id(ids[1:4]))
        assert [a.properties["n"].int_value for a in found] == [1, 2, 3]
        assert opened == ([False] if on_postgresql else [True, True])
        found, opened = transactions(lambda: store.get_artifacts_by_context(context_id))
        assert [a.properties["n"].int_value for a in found] == [0, 1, 2, 3, 4]
        assert opened == ([False] if on_postgresql else [True, True])
        unknown = list(range(10**6, 10**6 + 97))
        found, opened = transactions(lambda: store.get_artifacts_by_id(ids + unknown))
        assert [a.properties["n"].int_value for a in found] == [0, 1, 2, 3, 4]
        assert opened == [True, True]
        # A read that is not marked for one statement runs in a transaction.
        found, opened = transactions(lambda: store.get_artifacts_by_type("T"))
        assert len(found) == 5 and all(opened)
        # The connection goes back to transactions: a failed write leaves nothing.
        with pytest.raises(RuntimeError):
            with backend.transaction():
                backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id, uri="/x", type="T")])
                raise RuntimeError("abandon")
        assert len(store.get_artifacts()) == 5
    finally:
        store.close()
        databases.close()


def test_pyformat_statements_get_libpq_placeholders_one_number_per_name():
    query, names = sql_exec._numbered_placeholders(
        "SELECT %(b)s, %(a)s WHERE x LIKE '50%%(a)s' OR y = %(b)s OR z = %(c)s")
    assert query == "SELECT $1, $2 WHERE x LIKE '50%(a)s' OR y = $1 OR z = $3"
    assert names == ("b", "a", "c")


def _any_with(value: bytes) -> any_pb2.Any:
    return any_pb2.Any(type_url="type.googleapis.com/test.Bytes", value=value)


def _prepared_statements(backend) -> dict[str, str]:
    """The statements prepared on the backend's connection (one is pooled per thread)."""
    with backend.transaction(write=False):
        rows = backend._connection().driver_connection.execute(
            "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'lineage!_%' ESCAPE '!'").fetchall()
    return dict(rows)


def test_postgresql_statements_are_prepared_on_their_second_run_and_read_alike(
        tmp_path, sql_services, monkeypatch):  # noqa: F811
    """A statement run once is sent with its text; from its second run on a connection
    it is prepared there, unless a filter's values shape its plan; values of every kind
    read back the same either way, and a connection prepares at most ``PER_CONNECTION``
    statements."""
    databases = Databases("postgresql", tmp_path, sql_services)
    config = databases.config()
    store = lineage.MetadataStore(config)
    try:
        backend = backend_of(store)
        type_id = store.put_artifact_type(pb.ArtifactType(name="T", properties={"n": pb.INT, "f": pb.DOUBLE}))
        values = [
            {"n": pb.Value(int_value=2**31 - 1), "f": pb.Value(double_value=float("inf"))},
            {"n": pb.Value(int_value=-7), "f": pb.Value(double_value=float("nan"))},
            {"n": pb.Value(int_value=0), "f": pb.Value(double_value=1e-300)},
        ]
        custom = [
            {"s": pb.Value(string_value="naïve %(b_limit)s 100%"), "b": pb.Value(bool_value=True)},
            {"p": pb.Value(proto_value=_any_with(b"\x00\xff%%")), "b": pb.Value(bool_value=False)},
            {"s": pb.Value(string_value="")},
        ]
        ids = store.put_artifacts([
            pb.Artifact(type_id=type_id, uri=f"/u%{i}", name=f"ä{i}", properties=values[i],
                        custom_properties=custom[i]) for i in range(3)])
        wanted = {
            "by id": lambda: store.get_artifacts_by_id(ids),
            "by uri": lambda: store.get_artifacts_by_uri("/u%1"),
            "by LIKE": lambda: store.get_artifacts(list_options=lineage.ListOptions(
                filter_query='uri LIKE "/u%%" AND name != "x%(b_limit)s"')),
        }
        first = {label: [a.SerializeToString(deterministic=True) for a in read()] for label, read in wanted.items()}
        assert len(first["by id"]) == 3 and len(first["by uri"]) == 1 and len(first["by LIKE"]) == 3
        read_back = {a.id: a for a in store.get_artifacts_by_id(ids)}
        assert read_back[ids[0]].properties["n"].int_value == 2**31 - 1
        assert math.isinf(read_back[ids[0]].properties["f"].double_value)
        assert math.isnan(read_back[ids[1]].properties["f"].double_value)
        assert read_back[ids[2]].properties["f"].double_value == 1e-300
        assert read_back[ids[0]].custom_properties["s"].string_value == "naïve %(b_limit)s 100%"
        assert read_back[ids[1]].custom_properties["p"].proto_value.value == b"\x00\xff%%"
        assert [read_back[i].custom_properties["b"].bool_value for i in ids[:2]] == [True, False]
        assert read_back[ids[0]].name == "ä0"
        prepared = _prepared_statements(backend)
        assert prepared and all("$1" in text or "$" not in text for text in prepared.values())
        # Every read again, now prepared: the same answers.
        for label, read in wanted.items():
            assert [a.SerializeToString(deterministic=True) for a in read()] == first[label], label
        now_prepared = _prepared_statements(backend)
        assert len(now_prepared) > len(prepared)
        # A filter's LIKE pattern or IN list is planned for its values each time, never prepared.
        names = lineage.ListOptions(filter_query='name IN ("ä0", "ä2")')
        for _ in range(3):
            assert sorted(a.name for a in store.get_artifacts(list_options=names)) == ["ä0", "ä2"]
        assert _prepared_statements(backend) == now_prepared
        assert not any(" LIKE " in text or " IN (" in text for text in now_prepared.values())
    finally:
        store.close()
    monkeypatch.setattr(sql_exec._PgSession, "PER_CONNECTION", 2)
    store = lineage.MetadataStore(config)
    try:
        for _ in range(3):
            for i in range(5):
                assert [a.uri for a in store.get_artifacts_by_uri(f"/u%{i}")] == ([f"/u%{i}"] if i < 3 else [])
                assert len(store.get_artifacts_by_id([ids[i % 3]])) == 1
                assert len(store.get_artifacts(list_options=lineage.ListOptions(
                    filter_query=f'uri = "/u%{i}" OR name = "ä{i}"'))) == (1 if i < 3 else 0)
        assert len(_prepared_statements(backend_of(store))) == 2
    finally:
        store.close()
        databases.close()


def test_postgresql_errors_of_a_prepared_statement_keep_their_class_and_the_connection(
        tmp_path, sql_services):  # noqa: F811
    """A statement that fails on the server, prepared or not, raises the error psycopg's
    cursor raises (here the statement timeout), and the connection serves the next call."""
    databases = Databases("postgresql", tmp_path, sql_services)
    store = lineage.MetadataStore(databases.config())
    try:
        backend = backend_of(store)
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        store.put_artifacts([pb.Artifact(type_id=type_id, uri="/a")])
        slow = sql_exec.Compiled(sa.select(sa.func.pg_sleep(sa.bindparam("b_s", type_=sa.Float()))),
                                 backend._engine.dialect)
        for _ in range(3):  # text, then prepared, then prepared again
            with pytest.raises(errors.DeadlineExceededError):
                with backend.transaction(write=False):
                    backend._connection().driver_connection.execute("SET LOCAL statement_timeout = 50")
                    backend._rows(slow, {"b_s": 5})
            assert [a.uri for a in store.get_artifacts_by_uri("/a")] == ["/a"]
    finally:
        store.close()
        databases.close()


def test_type_ids_are_shared_across_kinds(store):
    a = store.put_artifact_type(pb.ArtifactType(name="Same"))
    e = store.put_execution_type(pb.ExecutionType(name="Same"))
    c = store.put_context_type(pb.ContextType(name="Same"))
    assert a < e < c and a > 9
    assert store.get_execution_types_by_id([a, e, c])[0].id == e
    assert store.get_artifact_types_by_id([e]) == []
    backend = backend_of(store)
    with backend.transaction():
        assert backend.find_type("context", "Same", None).id == c
        assert backend.find_type("context", "Same", "") .id == c
        assert backend.find_type("context", "Same", "v") is None


def test_doubles_and_integers_round_trip_exactly(store):
    type_id = store.put_execution_type(pb.ExecutionType(name="T"))
    # -0.0 is left out: SQLite keeps integral REAL values as integers and loses its sign.
    doubles = [0.1 + 0.2, 1 / 3, 1e-300, -1.5e300, 5e-324, 2.0**53 + 1, math.pi, 123456789.123456789]
    execution = pb.Execution(type_id=type_id)
    for index, value in enumerate(doubles):
        execution.custom_properties[f"d{index}"].double_value = value
    for index, value in enumerate([2**31 - 1, -(2**31), 0]):
        execution.custom_properties[f"i{index}"].int_value = value
    [execution_id] = store.put_executions([execution])
    [stored] = store.get_executions_by_id([execution_id])
    for index, value in enumerate(doubles):
        got = stored.custom_properties[f"d{index}"].double_value
        assert got == value and math.copysign(1, got) == math.copysign(1, value), index
    assert stored.custom_properties == execution.custom_properties


def test_integers_beyond_32_bits_follow_the_database(databases):
    store = lineage.MetadataStore(databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        artifact = pb.Artifact(type_id=type_id)
        artifact.custom_properties["big"].int_value = 2**63 - 1
        if databases.dialect == "sqlite":
            [artifact_id] = store.put_artifacts([artifact])
            assert store.get_artifacts_by_id([artifact_id])[0].custom_properties["big"].int_value == 2**63 - 1
        else:
            # MLMD declares int_value a 32-bit INT on MySQL and PostgreSQL.
            with pytest.raises(errors.InvalidArgumentError, match=r"custom_properties\['big'\]\.int_value"):
                store.put_artifacts([artifact])
            assert store.get_artifacts() == []
    finally:
        store.close()


def test_text_lookups_are_exact(store):
    """Case, accents and trailing spaces distinguish names, uris and ids on every database."""
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    mysql = backend_of(store)._dialect == "mysql"
    names = ["a", "é", "x%", "x_", "日本", "back\\"]
    if not mysql:
        # MLMD's MySQL unique keys use the server's case- and accent-insensitive
        # collation, where these would collide with "a" and "é".
        names += ["a ", "e"]
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, name=n, uri=n, external_id="ext" + n) for n in names])
    if mysql:
        assert store.get_artifacts_by_uri("A") == [] and store.get_artifacts_by_uri("a ") == []
        assert store.get_artifact_by_type_and_name("T", "e") is None
    else:
        [upper] = store.put_artifacts([pb.Artifact(type_id=type_id, name="A", uri="A")])
        assert store.get_artifact_by_type_and_name("T", "A").id == upper
    for name, artifact_id in zip(names, ids):
        assert store.get_artifact_by_type_and_name("T", name).id == artifact_id, name
        assert [a.id for a in store.get_artifacts_by_uri(name)] == [artifact_id], name
        assert [a.id for a in store.get_artifacts_by_external_ids(["ext" + name])] == [artifact_id], name
    assert store.get_artifact_by_type_and_name("T", "b") is None
    assert [a.id for a in store.get_artifacts_by_external_ids(["ext" + n for n in names])] == ids
    with pytest.raises(errors.NotFoundError):
        store.get_artifacts_by_external_ids(["EXTA"])


def test_every_value_kind_round_trips(store):
    type_ = pb.ContextType(name="All")
    for name, value_type in _PROPERTY_TYPES.items():
        type_.properties[name] = value_type
    type_id = store.put_context_type(type_)
    rng = random.Random(3)
    context = pb.Context(type_id=type_id, name="c")
    for name in _PROPERTY_TYPES:
        context.properties[name].CopyFrom(_value(rng, name))
        context.custom_properties[name].CopyFrom(_value(rng, name))
    context.custom_properties["looks-like-struct"].string_value = "mlmd-struct::%%%"
    context.custom_properties["empty"].string_value = ""
    [context_id] = store.put_contexts([context])
    [stored] = store.get_contexts_by_id([context_id])
    assert stored.properties == context.properties
    assert stored.custom_properties == context.custom_properties


def test_event_paths_keep_their_order(store):
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="A"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
    [artifact] = store.put_artifacts([pb.Artifact(type_id=artifact_type)])
    executions = store.put_executions([pb.Execution(type_id=execution_type)] * 3)
    events = []
    for position, execution in enumerate(executions):
        event = pb.Event(artifact_id=artifact, execution_id=execution, type=pb.Event.INPUT,
                         milliseconds_since_epoch=1000 + position)
        for step in range(6):
            if (step + position) % 2:
                event.path.steps.add().index = 10 - step
            else:
                event.path.steps.add().key = f"k{10 - step}"
        events.append(event)
    store.put_events(list(reversed(events)))
    got = store.get_events_by_artifact_ids([artifact])
    assert got == list(reversed(events))
    assert store.get_events_by_execution_ids([executions[1]]) == [events[1]]


def test_parent_types_and_type_properties_are_stored(store):
    type_ = pb.ArtifactType(name="M", base_type=pb.ArtifactType.MODEL, version="2", description="d")
    type_.properties["a"] = pb.STRUCT
    type_id = store.put_artifact_type(type_)
    [stored] = store.get_artifact_types_by_id([type_id])
    assert stored == pb.ArtifactType(id=type_id, name="M", base_type=pb.ArtifactType.MODEL,
                                     version="2", description="d", properties={"a": pb.STRUCT})
    backend = backend_of(store)
    with backend.transaction():
        model = backend.find_type("artifact", "mlmd.Model", None)
        assert backend.get_parent_types("artifact", [type_id, model.id]) == {type_id: [model.id]}
    execution_type = pb.ExecutionType(name="E")
    execution_type.input_type.union_type.candidates.add().simple.name = "x"
    execution_type.output_type.none.SetInParent()
    execution_type_id = store.put_execution_type(execution_type)
    execution_type.id = execution_type_id
    assert store.get_execution_types_by_id([execution_type_id]) == [execution_type]


def test_a_failed_call_leaves_nothing_behind(store):
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
    before = store.get_artifacts()
    with pytest.raises(errors.InvalidArgumentError):
        store.put_execution(pb.Execution(type_id=execution_type),
                            [(pb.Artifact(type_id=type_id, uri="/new"), pb.Event(type=pb.Event.OUTPUT)),
                             (pb.Artifact(type_id=type_id), pb.Event(type=pb.Event.UNKNOWN))], [])
    assert store.get_artifacts() == before
    assert store.get_executions() == []
    backend = backend_of(store)
    with pytest.raises(RuntimeError):
        with backend.transaction():
            backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id, uri="/x", type="T")])
            with backend.transaction():  # nested: joins the outer one
                backend.insert_nodes("artifact", [pb.Artifact(type_id=type_id, uri="/y", type="T")])
            raise RuntimeError("abandon")
    assert store.get_artifacts() == before


def test_writes_check_types_without_reading_them_again(store, monkeypatch):
    data = store.put_artifact_type(pb.ArtifactType(name="Data", properties={"day": pb.INT}))
    step = store.put_execution_type(pb.ExecutionType(name="Step", properties={"day": pb.INT}))
    backend = backend_of(store)
    statements: list[str] = []
    run = backend._run

    def observed(compiled, *args):
        statements.append(compiled.text)
        return run(compiled, *args)

    monkeypatch.setattr(backend, "_run", observed)
    execution = pb.Execution(type_id=step, properties={"day": pb.Value(int_value=1)})
    output = pb.Artifact(type_id=data, uri="/out", properties={"day": pb.Value(int_value=1)})
    execution_id, [output_id], _ = store.put_execution(execution, [(output, pb.Event(type=pb.Event.OUTPUT))], [])
    written = len(statements)
    # The types created above are known: no statement of the call reads the Type table.
    type_reads = [text for text in statements if "FROM type" in text.replace("`", "").replace('"', "")
                  or "FROM Type" in text.replace("`", "").replace('"', "")]
    assert type_reads == [] and written > 0
    assert store.get_executions_by_id([execution_id])[0].properties["day"].int_value == 1
    assert store.get_artifacts_by_id([output_id])[0].properties["day"].int_value == 1


def test_a_property_another_client_adds_to_a_type_is_accepted(databases):
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database has one client")
    config = databases.config()
    first, second = lineage.MetadataStore(config), lineage.MetadataStore(config)
    try:
        data = first.put_artifact_type(pb.ArtifactType(name="Data", properties={"day": pb.INT}))

        def artifact(uri: str, **properties: pb.Value) -> pb.Artifact:
            return pb.Artifact(type_id=data, uri=uri, properties=properties)

        # The second client writes with the type, and so knows it.
        second.put_artifacts([artifact("/1", day=pb.Value(int_value=1))])
        with pytest.raises(errors.InvalidArgumentError, match="split"):
            second.put_artifacts([artifact("/2", split=pb.Value(string_value="train"))])
        first.put_artifact_type(pb.ArtifactType(name="Data", properties={"day": pb.INT, "split": pb.STRING}),
                                can_add_fields=True)
        [added] = second.put_artifacts([artifact("/3", split=pb.Value(string_value="train"))])
        assert second.get_artifacts_by_id([added])[0].properties["split"].string_value == "train"
        # What neither version of the type declares is still refused, and nothing is written.
        with pytest.raises(errors.InvalidArgumentError, match="other"):
            second.put_artifacts([artifact("/4", other=pb.Value(int_value=4))])
        with pytest.raises(errors.InvalidArgumentError, match="Found unmatched property type"):
            second.put_artifacts([artifact("/5", split=pb.Value(int_value=5))])
        assert sorted(a.uri for a in first.get_artifacts()) == ["/1", "/3"]
        assert [t.properties for t in second.get_artifact_types_by_id([data])] == [
            {"day": pb.INT, "split": pb.STRING}]
    finally:
        first.close()
        second.close()


def test_list_nodes_pages_by_keyset(store):
    backend = backend_of(store)
    type_id = store.put_execution_type(pb.ExecutionType(name="E"))
    with backend.transaction():
        nodes = []
        for index in range(23):
            node = pb.Execution(type_id=type_id, type="E", create_time_since_epoch=index // 4,
                                last_update_time_since_epoch=100 - index // 3)
            nodes.append(node)
        backend.insert_nodes("execution", nodes)
    from lineage.backends.base import ListQuery

    for field in ("id", "create_time_since_epoch", "last_update_time_since_epoch"):
        for ascending in (True, False):
            expected = sorted(nodes, key=lambda n: (getattr(n, field), n.id), reverse=not ascending)
            pages, after = [], None
            while True:
                with backend.transaction():
                    page = backend.list_nodes("execution", ListQuery(
                        order_field=field, ascending=ascending, limit=5, after=after))
                pages.extend(page)
                if len(page) < 5:
                    break
                after = (getattr(page[-1], field), page[-1].id)
            assert [n.id for n in pages] == [n.id for n in expected], (field, ascending)


def test_fingerprints_are_indexed(store):
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    f1, f2, f3 = digest("f1"), digest("f2"), digest("f3")
    backend = backend_of(store)
    with backend.transaction():
        backend.set_fingerprints({5: [f1, f2], 3: [f1]})
        backend.set_fingerprints({9: [f1, f1]})
    with backend.transaction():
        assert backend.executions_by_fingerprint(f1) == [9, 5, 3]
        backend.set_fingerprints({5: [f3]})
        assert backend.executions_by_fingerprint(f1) == [9, 3]
        assert backend.executions_by_fingerprint(f3) == [5]
        assert backend.executions_by_fingerprint(digest("nope")) == []


def test_cache_lookups_find_executions_written_by_the_store(store):
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="Data"))
    step = pb.ExecutionType(name="Step")
    step.properties["lr"] = pb.DOUBLE
    step_type = store.put_execution_type(step)
    [data] = store.put_artifacts([pb.Artifact(type_id=artifact_type, uri="/d", state=pb.Artifact.LIVE)])
    execution = pb.Execution(type_id=step_type, last_known_state=pb.Execution.COMPLETE)
    execution.properties["lr"].double_value = 0.1
    input_event = pb.Event(type=pb.Event.INPUT)
    input_event.path.steps.add().key = "examples"
    [stored] = store.get_artifacts_by_id([data])
    execution_id, _, _ = store.put_execution(
        execution, [(stored, input_event),
                    (pb.Artifact(type_id=artifact_type, uri="/m", state=pb.Artifact.LIVE),
                     pb.Event(type=pb.Event.OUTPUT))], [])
    hit = store.lineage.find_reusable_execution("Step", {"examples": [data]}, {"lr": 0.1})
    assert hit is not None and hit.execution.id == execution_id
    assert store.lineage.find_reusable_execution("Step", [data], {"lr": 0.2}) is None


# ------------------------------------------------------------- opening --


def test_fresh_database_gets_schema_version_10_and_the_system_types(databases):
    config = databases.config()
    store = lineage.MetadataStore(config)
    try:
        backend = backend_of(store)
        with backend.transaction():
            names = [t.name for t in backend.get_types("artifact")] + [t.name for t in backend.get_types("execution")]
        assert names == ["mlmd.Dataset", "mlmd.Model", "mlmd.Metrics", "mlmd.Statistics", "mlmd.Train",
                         "mlmd.Transform", "mlmd.Process", "mlmd.Evaluate", "mlmd.Deploy"]
        if databases.target != "sqlite-memory":
            engine = databases.engine(config)
            with engine.connect() as c:
                assert schema.read_schema_version(c) == 10
                tables = {t.lower() for t in sa.inspect(c).get_table_names()}
            engine.dispose()
            assert tables == {t.lower() for t in schema.TABLE_NAMES} | {"lineagefingerprint"}
    finally:
        store.close()
    if databases.target != "sqlite-memory":
        again = lineage.MetadataStore(config)  # reopening keeps the types, adds none
        try:
            assert len(again.get_artifact_types_by_id(range(1, 20))) == 4
        finally:
            again.close()


def _foreign_database(databases) -> tuple[pb.ConnectionConfig, sa.Engine]:
    config = databases.config()
    engine = databases.engine(config)
    if databases.target in SERVERS:
        lineage.MetadataStore(config).close()  # let the store create the database...
        with engine.begin() as c:  # ...then make it someone else's
            for table in sa.inspect(c).get_table_names():
                c.exec_driver_sql(f'DROP TABLE "{table}"' if databases.target == "postgresql"
                                  else f"DROP TABLE `{table}`")
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20))")
        c.exec_driver_sql("INSERT INTO customers VALUES (1, 'ann')")
    return config, engine


def test_a_foreign_database_is_refused_untouched(databases):
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database starts empty")
    config, engine = _foreign_database(databases)
    with pytest.raises(errors.FailedPreconditionError, match="customers"):
        lineage.MetadataStore(config)
    with engine.connect() as c:
        assert [t.lower() for t in sa.inspect(c).get_table_names()] == ["customers"]
        assert c.exec_driver_sql("SELECT name FROM customers").all() == [("ann",)]
    engine.dispose()
    if databases.target == "sqlite-file":
        with sqlite3.connect(config.sqlite.filename_uri) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def _set_version(databases, config, version: int) -> None:
    engine = databases.engine(config)
    with engine.begin() as c:
        c.execute(sa.update(schema.mlmd_env_table).values(schema_version=version))
    engine.dispose()


def test_newer_and_older_schemas_are_refused(databases):
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database cannot be reopened")
    config = databases.config()
    lineage.MetadataStore(config).close()
    for version, message in ((11, "schema version 11"), (9, "enable_upgrade_migration")):
        _set_version(databases, config, version)
        with pytest.raises(errors.FailedPreconditionError, match=message):
            lineage.MetadataStore(config)
        engine = databases.engine(config)
        with engine.connect() as c:  # refused, and left as it was
            assert schema.read_schema_version(c) == version
            table = "artifactproperty" if databases.target == "postgresql" else "ArtifactProperty"
            columns = [row[0] for row in c.exec_driver_sql(f"SELECT * FROM {table} WHERE 1 = 0").cursor.description]
            assert "proto_value" in columns
        engine.dispose()


def test_sqlite_connection_modes(tmp_path):
    missing = tmp_path / "missing.sqlite"
    for mode in (pb.SqliteMetadataSourceConfig.READONLY, pb.SqliteMetadataSourceConfig.READWRITE):
        config = pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
            filename_uri=str(missing), connection_mode=mode))
        with pytest.raises(errors.NotFoundError, match="missing.sqlite"):
            lineage.MetadataStore(config)
        assert not missing.exists()
        assert list(tmp_path.iterdir()) == []
    path = tmp_path / "store.sqlite"
    writer = lineage.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
        filename_uri=str(path))))
    type_id = writer.put_artifact_type(pb.ArtifactType(name="T"))
    writer.put_artifacts([pb.Artifact(type_id=type_id, uri="/a")])
    reader = lineage.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
        filename_uri=str(path), connection_mode=pb.SqliteMetadataSourceConfig.READONLY)))
    try:
        assert [a.uri for a in reader.get_artifacts()] == ["/a"]
        with pytest.raises(errors.FailedPreconditionError, match="READONLY"):
            reader.put_artifacts([pb.Artifact(type_id=type_id, uri="/b")])
        writer.put_artifacts([pb.Artifact(type_id=type_id, uri="/c")])  # the reader sees new data
        assert [a.uri for a in reader.get_artifacts()] == ["/a", "/c"]
    finally:
        reader.close()
        writer.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_opening_a_non_database_file_leaves_it_alone(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a database, just text\n" * 100)
    with pytest.raises(errors.FailedPreconditionError, match="not an SQLite database"):
        lineage.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(filename_uri=str(path))))
    assert path.read_bytes() == b"not a database, just text\n" * 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_wrong_credentials_name_the_user(server_databases):
    url = server_databases.base_url().set(username="lineage", password="wrong-password",
                                          database=server_databases.new_name())
    config = config_from_url(url.render_as_string(hide_password=False))
    with pytest.raises((errors.UnauthenticatedError, errors.FailedPreconditionError), match="'lineage'"):
        lineage.MetadataStore(config)
    url = url.set(username="nobody_here")
    with pytest.raises((errors.UnauthenticatedError, errors.FailedPreconditionError), match="nobody_here"):
        lineage.MetadataStore(config_from_url(url.render_as_string(hide_password=False)))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("scheme", ["mysql", "postgresql"])
def test_a_server_that_is_down_is_unavailable_naming_host_and_port(scheme):
    port = _free_port()
    config = config_from_url(f"{scheme}://lineage:lineage@127.0.0.1:{port}/db")
    with pytest.raises(errors.UnavailableError, match=f"127.0.0.1:{port}"):
        lineage.MetadataStore(config)


def test_missing_server_database_is_created_unless_told_not_to(server_databases):
    name = server_databases.new_name()
    config = server_databases.config(name)
    which = config.WhichOneof("config")
    getattr(config, which).skip_db_creation = True
    with pytest.raises(errors.NotFoundError):
        lineage.MetadataStore(config)
    assert not server_databases.exists(name)
    getattr(config, which).skip_db_creation = False
    lineage.MetadataStore(config).close()
    assert server_databases.exists(name)


def test_fingerprint_table_is_added_to_an_existing_mlmd_database_on_first_write(databases):
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database cannot be prepared beforehand")
    config = databases.config()
    store = lineage.MetadataStore(config)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="A"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
    [artifact] = store.put_artifacts([pb.Artifact(type_id=artifact_type, uri="/a", state=pb.Artifact.LIVE)])
    store.close()
    engine = databases.engine(config)
    with engine.begin() as c:
        c.exec_driver_sql("DROP TABLE " + ("lineagefingerprint" if databases.target == "postgresql"
                                           else "LineageFingerprint"))
        _drop_added_indexes(c, databases.target)
    store = lineage.MetadataStore(config)
    try:
        with engine.connect() as c:
            assert "lineagefingerprint" not in {t.lower() for t in sa.inspect(c).get_table_names()}
            assert not _added_indexes_present(c)
        assert store.get_artifacts()[0].uri == "/a"  # reads do not create it
        with engine.connect() as c:
            assert "lineagefingerprint" not in {t.lower() for t in sa.inspect(c).get_table_names()}
        execution = pb.Execution(type_id=execution_type, last_known_state=pb.Execution.COMPLETE)
        [stored] = store.get_artifacts_by_id([artifact])
        execution_id, _, _ = store.put_execution(
            execution, [(stored, pb.Event(type=pb.Event.INPUT)),
                        (pb.Artifact(type_id=artifact_type, state=pb.Artifact.LIVE), pb.Event(type=pb.Event.OUTPUT))],
            [])
        with engine.connect() as c:
            assert "lineagefingerprint" in {t.lower() for t in sa.inspect(c).get_table_names()}
            assert _added_indexes_present(c) == set(_added_index_names())
        assert store.lineage.find_reusable_execution("E", [artifact]).execution.id == execution_id
    finally:
        store.close()
        engine.dispose()


def _added_index_names() -> dict[str, str]:
    return {"attribution": "idx_lineage_attribution_artifact_id",
            "association": "idx_lineage_association_execution_id",
            "event": "idx_lineage_event_artifact_type_execution",
            "context": "idx_lineage_context_name"}


def _added_indexes_present(c) -> set[str]:
    """The MLMD tables (lower case) that hold their index added by lineage."""
    inspector = sa.inspect(c)
    actual = {t.lower(): t for t in inspector.get_table_names()}
    return {table for table, index in _added_index_names().items()
            if index in {entry["name"] for entry in inspector.get_indexes(actual[table])}}


def _drop_added_indexes(c, target: str) -> None:
    for table, index in _added_index_names().items():
        if target == "mariadb":
            c.exec_driver_sql(f"DROP INDEX {index} ON {table.capitalize()}")
        else:
            c.exec_driver_sql(f"DROP INDEX {index}")


def test_indexes_missing_from_an_older_lineage_database_are_added_on_first_write(databases):
    """A store with LineageFingerprint but without the added indexes gets them on its first write."""
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database cannot be prepared beforehand")
    config = databases.config()
    store = lineage.MetadataStore(config)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="A"))
    store.close()
    engine = databases.engine(config)
    try:
        with engine.begin() as c:
            assert _added_indexes_present(c) == set(_added_index_names())
            _drop_added_indexes(c, databases.target)
        store = lineage.MetadataStore(config)
        try:
            store.get_artifacts()
            with engine.connect() as c:
                assert not _added_indexes_present(c)  # reads change nothing
            store.put_artifacts([pb.Artifact(type_id=artifact_type, uri="/a")])
            with engine.connect() as c:
                assert _added_indexes_present(c) == set(_added_index_names())
        finally:
            store.close()
    finally:
        engine.dispose()


def test_a_fingerprint_table_of_hex_text_is_upgraded_with_its_rows(databases):
    """Older lineage stores keep fingerprints as 64 hex digits; opening one writable makes them binary.

    The rows are kept, so a cache lookup finds the execution without
    fingerprinting it again; a read-only open of the old table still finds it.
    """
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database cannot be reopened")
    config = databases.config()
    store = lineage.MetadataStore(config)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="A"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
    [source, output] = store.put_artifacts([pb.Artifact(type_id=artifact_type, state=pb.Artifact.LIVE)] * 2)
    execution_id, _, _ = store.put_execution(
        pb.Execution(type_id=execution_type, last_known_state=pb.Execution.COMPLETE),
        [(store.get_artifacts_by_id([source])[0], pb.Event(type=pb.Event.INPUT)),
         (store.get_artifacts_by_id([output])[0], pb.Event(type=pb.Event.OUTPUT))], [])
    store.close()
    table = "lineagefingerprint" if databases.target == "postgresql" else "LineageFingerprint"
    engine = databases.engine(config)
    try:
        with engine.begin() as c:
            rows = c.exec_driver_sql(f"SELECT fingerprint, execution_id FROM {table}").all()
            assert {bytes(fp).hex() for fp, _ in rows} and {e for _, e in rows} == {execution_id}
            c.exec_driver_sql(f"DROP TABLE {table}")
            c.exec_driver_sql(f"CREATE TABLE {table} (fingerprint VARCHAR(64) NOT NULL, execution_id INTEGER "
                              "NOT NULL, PRIMARY KEY (fingerprint, execution_id))")
            c.exec_driver_sql(f"CREATE INDEX idx_lineagefingerprint_execution_id ON {table} (execution_id)")
            for fingerprint, execution in rows:
                c.exec_driver_sql(f"INSERT INTO {table} VALUES (%(f)s, %(e)s)"
                                  if databases.target != "sqlite-file" else f"INSERT INTO {table} VALUES (:f, :e)",
                                  {"f": bytes(fingerprint).hex(), "e": execution})
        if databases.target == "sqlite-file":
            read_only = pb.ConnectionConfig()
            read_only.CopyFrom(config)
            read_only.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READONLY
            store = lineage.MetadataStore(read_only)
            try:
                hit = store.lineage.find_reusable_execution("E", [source])
                assert hit is not None and hit.execution.id == execution_id
            finally:
                store.close()
        store = lineage.MetadataStore(config)
        try:
            with engine.connect() as c:
                stored = c.exec_driver_sql(f"SELECT fingerprint, execution_id FROM {table}").all()
            assert sorted((bytes(f), e) for f, e in stored) == sorted((bytes(f), e) for f, e in rows)
            backend = backend_of(store)
            with backend.transaction(write=False):
                assert backend.unindexed_execution_ids() == []
            hit = store.lineage.find_reusable_execution("E", [source])
            assert hit is not None and hit.execution.id == execution_id
        finally:
            store.close()
    finally:
        engine.dispose()


def test_executions_without_fingerprints_are_indexed_on_lookup(store):
    """Executions written by other MLMD clients have no index rows; a lookup adds them."""
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="A"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
    [artifact] = store.put_artifacts([pb.Artifact(type_id=artifact_type, state=pb.Artifact.LIVE)])
    [output] = store.put_artifacts([pb.Artifact(type_id=artifact_type, state=pb.Artifact.LIVE)])
    backend = backend_of(store)
    with backend.transaction():
        # As another client would: rows in MLMD's tables only.
        [execution_id] = backend.insert_nodes("execution", [pb.Execution(
            type_id=execution_type, type="E", last_known_state=pb.Execution.COMPLETE)])
        backend.insert_events([
            pb.Event(artifact_id=artifact, execution_id=execution_id, type=pb.Event.INPUT,
                     milliseconds_since_epoch=1),
            pb.Event(artifact_id=output, execution_id=execution_id, type=pb.Event.OUTPUT,
                     milliseconds_since_epoch=1)])
        assert backend.unindexed_execution_ids() == [execution_id]
    hit = store.lineage.find_reusable_execution("E", [artifact])
    assert hit is not None and hit.execution.id == execution_id
    with backend.transaction():
        assert backend.unindexed_execution_ids() == []



def _sqlite_file_store(tmp_path) -> tuple[lineage.MetadataStore, Path]:
    path = tmp_path / "store.sqlite"
    return lineage.MetadataStore(pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
        filename_uri=str(path), connection_mode=pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE))), path


def test_a_read_of_an_sqlite_file_does_not_wait_for_another_writer(tmp_path):
    """Reads take no write lock: another process's open write does not hold them up (30 s, then an error)."""
    store, path = _sqlite_file_store(tmp_path)
    type_id = store.put_artifact_type(pb.ArtifactType(name="A"))
    [committed] = store.put_artifacts([pb.Artifact(type_id=type_id, uri="u")])
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO Artifact (type_id, uri, create_time_since_epoch, "
                       "last_update_time_since_epoch) VALUES (?, 'u', 1, 1)", (type_id,))
        started = time.monotonic()
        assert [a.id for a in store.get_artifacts_by_uri("u")] == [committed]
        assert [a.id for a in store.get_artifacts()] == [committed]
        assert time.monotonic() - started < 5
        writer.execute("COMMIT")
        assert len(store.get_artifacts_by_uri("u")) == 2
    finally:
        writer.close()
        store.close()


def test_fingerprints_a_read_backfills_are_stored_after_it_unless_a_writer_indexed_them(tmp_path, monkeypatch):
    """On SQLite a lookup stores what it backfilled in a writing transaction of its own, after the read."""
    store, path = _sqlite_file_store(tmp_path)
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="A"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
    inputs = store.put_artifacts([pb.Artifact(type_id=artifact_type, state=pb.Artifact.LIVE) for _ in range(2)])
    outputs = store.put_artifacts([pb.Artifact(type_id=artifact_type, state=pb.Artifact.LIVE) for _ in range(2)])
    backend = backend_of(store)
    with backend.transaction():
        # As another client would: rows in MLMD's tables only.
        executions = backend.insert_nodes("execution", [pb.Execution(
            type_id=execution_type, type="E", last_known_state=pb.Execution.COMPLETE) for _ in range(2)])
        backend.insert_events([
            pb.Event(artifact_id=artifact, execution_id=execution, type=kind, milliseconds_since_epoch=1)
            for execution, source, made in zip(executions, inputs, outputs)
            for artifact, kind in ((source, pb.Event.INPUT), (made, pb.Event.OUTPUT))])
    first, second = executions
    theirs = hashlib.sha256(b"another writer").digest()
    store_backfilled = backend._store_backfilled
    seen: list[set[int]] = []

    def writer_first(backfilled):
        # Another process indexes the second execution between the read and the store.
        seen.append(set(backfilled))
        with sqlite3.connect(path) as writer:
            writer.execute("INSERT INTO LineageFingerprint (fingerprint, execution_id) VALUES (?, ?)",
                           (theirs, second))
        store_backfilled(backfilled)

    monkeypatch.setattr(backend, "_store_backfilled", writer_first)
    hit = store.lineage.find_reusable_execution("E", [inputs[0]])
    assert hit is not None and hit.execution.id == first
    assert seen == [{first, second}]
    with sqlite3.connect(path) as reader:
        rows = reader.execute("SELECT execution_id, fingerprint FROM LineageFingerprint").fetchall()
    assert {e for e, _ in rows} == {first, second}
    assert [f for e, f in rows if e == second] == [theirs]
    # What the lookup computed for the second execution gave way to the writer's row.
    assert store.lineage.find_reusable_execution("E", [inputs[1]]) is None
    assert seen == [{first, second}]
    with backend.transaction():
        assert backend.unindexed_execution_ids() == []
    store.close()

def test_downgrade_and_upgrade_back(databases):
    if databases.target == "sqlite-memory":
        pytest.skip("an in-memory database cannot be reopened")
    from lineage import core

    config = databases.config()
    store = lineage.MetadataStore(config)
    ids = build_history(store, seed=3, size=12)
    expected = snapshot(store, ids)
    store.close()
    with pytest.raises(errors.InvalidArgumentError, match="downgrade_to_schema_version"):
        core.downgrade_schema(config, 11)
    # Opening with a downgrade option downgrades, then refuses the connection as MLMD does.
    with pytest.raises(errors.CancelledError, match="schema version 9"):
        core.open_service(config, pb.MigrationOptions(downgrade_to_schema_version=9))
    engine = databases.engine(config)
    with engine.connect() as c:
        assert schema.read_schema_version(c) == 9
        table = "artifactproperty" if databases.target == "postgresql" else "ArtifactProperty"
        columns = [row[0] for row in c.exec_driver_sql(f"SELECT * FROM {table} WHERE 1 = 0").cursor.description]
    assert "proto_value" not in columns and "bool_value" not in columns and "byte_value" in columns
    core.downgrade_schema(config, 7)
    with pytest.raises(errors.FailedPreconditionError, match="schema version 7"):
        lineage.MetadataStore(config)
    store = lineage.MetadataStore(config, enable_upgrade_migration=True)
    try:
        got = snapshot(store, ids)
    finally:
        store.close()
    with engine.connect() as c:
        assert schema.read_schema_version(c) == 10
    engine.dispose()
    # Versions 8 and 9 dropped external ids and proto/bool values (a property that
    # held one comes back empty); the rest is intact.
    lost = ("proto_value", "bool_value", None)

    def without_lost(value):
        if isinstance(value, list):
            return [without_lost(v) for v in value]
        if not hasattr(value, "DESCRIPTOR") or "external_id" not in value.DESCRIPTOR.fields_by_name:
            return value
        copy = type(value)()
        copy.CopyFrom(value)
        copy.ClearField("external_id")
        for field in ("properties", "custom_properties"):
            if field not in copy.DESCRIPTOR.fields_by_name:
                continue
            values = getattr(copy, field)
            if values and isinstance(next(iter(values.values())), pb.Value):
                for key in [k for k, v in values.items() if v.WhichOneof("value") in lost]:
                    del values[key]
        return copy

    for key in expected:
        if key.startswith("external_"):
            continue
        assert without_lost(got[key]) == without_lost(expected[key]), key


def test_non_finite_doubles_follow_the_database(databases):
    store = lineage.MetadataStore(databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        for value in (math.inf, -math.inf, math.nan):
            artifact = pb.Artifact(type_id=type_id)
            artifact.custom_properties["x"].double_value = value
            storable = databases.dialect == "postgresql" or (databases.dialect == "sqlite" and not math.isnan(value))
            if storable:
                [artifact_id] = store.put_artifacts([artifact])
                got = store.get_artifacts_by_id([artifact_id])[0].custom_properties["x"].double_value
                assert got == value or (math.isnan(got) and math.isnan(value))
            else:
                with pytest.raises(errors.InvalidArgumentError, match=r"custom_properties\['x'\]\.double_value"):
                    store.put_artifacts([artifact])
    finally:
        store.close()


def test_nodes_written_together_get_the_ids_the_server_made(server_databases):
    """A batch of new nodes and events is one INSERT each; their ids are what the database made.

    On MariaDB the ids of a multi-row INSERT step by ``auto_increment_increment``
    (a cluster sets it above 1): the stored rows must match the ids returned.
    """
    store = lineage.MetadataStore(server_databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T", properties={"n": pb.INT}))
        execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
        backend = backend_of(store)
        with backend.transaction():
            if server_databases.target == "mariadb":
                backend._connection().cursor().execute("SET SESSION auto_increment_increment = 3")
            artifacts = []
            for i in range(5):
                artifact = pb.Artifact(type_id=type_id, uri=f"/batch/{i}")
                artifact.properties["n"].int_value = i
                artifacts.append(artifact)
            ids = store.put_artifacts(artifacts)
            [execution_id] = store.put_executions([pb.Execution(type_id=execution_type)])
            events = [pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=pb.Event.INPUT)
                      for artifact_id in ids]
            for i, event in enumerate(events):
                event.path.steps.add().key = f"k{i}"
            store.put_events(events)
        if server_databases.target == "mariadb":
            assert [b - a for a, b in zip(ids, ids[1:])] == [3] * 4
        stored = store.get_artifacts_by_id(ids)
        assert [(a.id, a.uri, a.properties["n"].int_value) for a in stored] == [
            (artifact_id, f"/batch/{i}", i) for i, artifact_id in enumerate(ids)]
        found = store.get_events_by_execution_ids([execution_id])
        assert sorted((e.artifact_id, e.path.steps[0].key) for e in found) == [
            (artifact_id, f"k{i}") for i, artifact_id in enumerate(ids)]
    finally:
        store.close()


def test_a_write_the_database_refuses_fails_its_call_and_leaves_nothing(server_databases):
    """A path step longer than MySQL's TEXT column fails the call with a typed error; PostgreSQL's TEXT holds it."""
    store = lineage.MetadataStore(server_databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        execution_type = store.put_execution_type(pb.ExecutionType(name="E"))
        event = pb.Event(type=pb.Event.OUTPUT)
        event.path.steps.add().key = "k" * 70_000

        def put():
            return store.put_execution(pb.Execution(type_id=execution_type),
                                       [(pb.Artifact(type_id=type_id, uri="/a"), event)], [])

        if server_databases.target == "mariadb":
            with pytest.raises(errors.InvalidArgumentError, match="step_key"):
                put()
            assert store.get_artifacts() == [] and store.get_executions() == []
            # The connection serves the next call.
            event.path.steps[0].key = "k"
        execution_id, [artifact_id], _ = put()
        [found] = store.get_events_by_execution_ids([execution_id])
        assert found.artifact_id == artifact_id and found.path.steps[0].key == event.path.steps[0].key
    finally:
        store.close()


def test_many_links_with_some_stored_go_in_once_each(store):
    """A batch of links larger than one multi-row statement, some stored already, stores each link once."""
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    context_type = store.put_context_type(pb.ContextType(name="C"))
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="c")])
    artifact_ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}") for i in range(100)])
    first = [pb.Attribution(artifact_id=a, context_id=context_id) for a in artifact_ids[::3]]
    store.put_attributions_and_associations(first, [])
    every = [pb.Attribution(artifact_id=a, context_id=context_id) for a in reversed(artifact_ids)]
    store.put_attributions_and_associations(every, [])
    assert [a.id for a in store.get_artifacts_by_context(context_id)] == sorted(artifact_ids)
    backend = backend_of(store)
    with backend.transaction(write=False):
        assert len(backend.get_context_links("artifact", context_ids=[context_id])) == 100


def test_text_another_client_stored_as_utf8_reads_as_text(tmp_path, sql_services):  # noqa: F811
    """On MariaDB text stored as real UTF-8 (not through MLMD's latin1 trip) still reads as a string.

    Outside ASCII it cannot survive the trip back through latin1, as for
    ml-metadata: MariaDB gives "?" for the bytes that are not UTF-8.
    """
    databases = Databases("mariadb", tmp_path, sql_services)
    config = databases.config()
    store = lineage.MetadataStore(config)
    engine = databases.engine(config)
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        [artifact_id] = store.put_artifacts([pb.Artifact(type_id=type_id, uri="/ascii")])
        with engine.begin() as c:
            c.exec_driver_sql("UPDATE Artifact SET uri = %(uri)s WHERE id = %(id)s",
                              {"uri": "/native/é/x", "id": artifact_id})
        [artifact] = store.get_artifacts_by_id([artifact_id])
        assert artifact.uri == "/native/?/x"
    finally:
        store.close()
        engine.dispose()
        databases.close()


def _session_id(backend) -> int:
    """The server's id of the session of the connection the backend's next call takes."""
    with backend.transaction(write=False):
        cursor = backend._connection().cursor()
        cursor.execute("SELECT CONNECTION_ID()" if backend._mysql else "SELECT pg_backend_pid()")
        return cursor.fetchall()[0][0]


def test_a_lost_server_connection_is_unavailable_then_replaced(server_databases):
    store = lineage.MetadataStore(server_databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        session = _session_id(backend_of(store))
        admin = server_databases.admin()
        with admin.connect() as c:
            if server_databases.target == "mariadb":
                c.exec_driver_sql(f"KILL {int(session)}")
            else:
                c.exec_driver_sql("SELECT pg_terminate_backend(%(p)s)", {"p": session})
        admin.dispose()
        with pytest.raises(errors.UnavailableError):
            # Every pooled connection may be the killed one; the broken one is dropped.
            for _ in range(10):
                store.put_artifacts([pb.Artifact(type_id=type_id, uri="/x")])
        store.put_artifacts([pb.Artifact(type_id=type_id, uri="/after")])
        assert [a.uri for a in store.get_artifacts()][-1] == "/after"
    finally:
        store.close()


def test_calls_one_after_another_keep_one_connection_and_close_returns_it(server_databases):
    """A finished transaction's connection serves the next; at most ``_IDLE_KEPT`` stay out of
    the pool once concurrent callers are done, and closing the store gives them all back."""
    import threading

    from lineage.backends import sql

    store = lineage.MetadataStore(server_databases.config())
    backend = backend_of(store)
    pool = backend._engine.pool
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        store.put_artifacts([pb.Artifact(type_id=type_id, uri="/a")])
        first = _session_id(backend)
        for _ in range(3):
            assert [a.uri for a in store.get_artifacts()] == ["/a"]
        assert _session_id(backend) == first
        assert pool.checkedout() == 1

        callers = sql._IDLE_KEPT + 3
        start = threading.Barrier(callers)
        failures = []

        def call() -> None:
            try:
                start.wait()
                # Each caller holds its connection until all have one.
                with backend.transaction(write=False):
                    backend._connection()
                    start.wait()
                    assert [a.uri for a in store.get_artifacts()] == ["/a"]
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(e)

        threads = [threading.Thread(target=call) for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert len(backend._idle) == sql._IDLE_KEPT
        assert pool.checkedout() == sql._IDLE_KEPT
    finally:
        store.close()
    assert pool.checkedout() == 0


def test_a_connection_kept_too_long_goes_back_to_the_pool(server_databases, monkeypatch):
    """A kept connection idle for ``_IDLE_KEPT_S`` is returned to the pool before the next call takes one."""
    from lineage.backends import sql

    store = lineage.MetadataStore(server_databases.config())
    backend = backend_of(store)
    returned = []
    sa.event.listen(backend._engine, "checkin", lambda *args: returned.append(args[0]))
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        store.put_artifacts([pb.Artifact(type_id=type_id, uri="/a")])
        assert store.get_artifacts()
        returned.clear()
        assert store.get_artifacts()
        assert returned == []  # taken from the kept ones
        monkeypatch.setattr(sql, "_IDLE_KEPT_S", 0.0)
        assert [a.uri for a in store.get_artifacts()] == ["/a"]
        assert len(returned) == 1  # the stale one went back, and the pool gave one out
        assert len(backend._idle) == 1
    finally:
        store.close()


def test_each_read_sees_what_other_clients_committed_before_it(server_databases):
    """A read's transaction ends before the next begins, though MariaDB's reads leave their COMMIT unanswered."""
    config = server_databases.config()
    reader = lineage.MetadataStore(config)
    writer = lineage.MetadataStore(config)
    try:
        type_id = writer.put_artifact_type(pb.ArtifactType(name="T"))
        for count in range(1, 8):
            writer.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{count}")])
            # Several reads, so that every pooled connection the reader has serves one.
            for _ in range(3):
                assert [a.uri for a in reader.get_artifacts()] == [f"/{i}" for i in range(1, count + 1)]
                assert len(reader.get_artifacts_by_type("T")) == count
    finally:
        reader.close()
        writer.close()


@pytest.fixture
def mariadb(tmp_path, sql_services) -> Iterator[tuple[Databases, lineage.MetadataStore]]:  # noqa: F811
    """A store on a fresh MariaDB database, and the databases it was made from."""
    databases = Databases("mariadb", tmp_path, sql_services)
    store = lineage.MetadataStore(databases.config())
    try:
        yield databases, store
    finally:
        store.close()
        databases.close()


def test_a_connection_lost_before_its_read_commit_was_answered_is_replaced(mariadb):
    """The pool discards a MariaDB connection whose unanswered COMMIT cannot be read, and the call goes on."""
    _, store = mariadb
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    store.put_artifacts([pb.Artifact(type_id=type_id, uri="/a")])
    backend = backend_of(store)
    assert backend._end_read is not None, "mysqlclient, the dev extra's driver, defers read commits"
    with backend.transaction(write=False):
        driver_connection = backend._connection().driver_connection
        backend.get_types("artifact")
    assert getattr(driver_connection, sql_connect._COMMIT_UNANSWERED)
    driver_connection.close()
    for _ in range(8):
        assert [a.uri for a in store.get_artifacts()] == ["/a"]
    assert not getattr(driver_connection, sql_connect._COMMIT_UNANSWERED)


def _session_status(backend, name: str) -> int:
    cursor = backend._connection().cursor()
    cursor.execute("SHOW SESSION STATUS LIKE %s", (name,))
    return int(cursor.fetchall()[0][1])


def test_mariadb_runs_frequent_statements_prepared_with_the_same_answers(mariadb):
    """A statement run often is sent as EXECUTE of a prepared statement and answers as its text did."""
    _, store = mariadb
    type_id = store.put_artifact_type(pb.ArtifactType(name="T", properties={"p": pb.STRING}))
    uris = ["/a", "/b%", "/c_é", "/d'"]
    for i, uri in enumerate(uris):
        store.put_artifacts([pb.Artifact(type_id=type_id, uri=uri, properties={"p": pb.Value(string_value=uri)})])
    backend = backend_of(store)
    with backend.transaction(write=False):
        before = _session_status(backend, "Com_execute_sql")
        answers = [[(a.uri, a.properties["p"].string_value) for a in store.get_artifacts_by_uri(uri)]
                   for _ in range(2 * PreparedStatements.THRESHOLD) for uri in uris]
        executed = _session_status(backend, "Com_execute_sql") - before
    assert answers == [[(uri, uri)] for _ in range(2 * PreparedStatements.THRESHOLD) for uri in uris]
    assert executed >= len(uris) * PreparedStatements.THRESHOLD


def test_mariadb_prepared_statements_take_id_lists_of_any_length(mariadb):
    """Id lists are spread over a prepared statement's arguments; every length reads the same nodes."""
    _, store = mariadb
    type_id = store.put_artifact_type(pb.ArtifactType(name="T", properties={"p": pb.INT}))
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}", properties={"p": pb.Value(int_value=i)})
                               for i in range(PreparedStatements.LONGEST_LIST + 1)])
    backend = backend_of(store)
    lengths = [1, 2, 3, 5, 8, 9, 100, PreparedStatements.LONGEST_LIST, PreparedStatements.LONGEST_LIST + 1]
    with backend.transaction(write=False):
        before = _session_status(backend, "Com_execute_sql")
        for _ in range(PreparedStatements.THRESHOLD + 1):
            for length in lengths:
                wanted = ids[-length:]
                got = store.get_artifacts_by_id(list(reversed(wanted)))
                assert sorted((a.id, a.properties["p"].int_value) for a in got) == [
                    (i, n) for n, i in enumerate(ids)][-length:]
                assert store.get_events_by_artifact_ids(wanted) == []
        executed = _session_status(backend, "Com_execute_sql") - before
    # The last round runs every length but the longest prepared: the nodes and their events.
    assert executed >= 2 * (len(lengths) - 1)


def test_mariadb_statements_stay_text_while_the_server_prepares_no_more(mariadb):
    """At the server's limit of prepared statements a statement runs as text, and is prepared once it can be."""
    databases, store = mariadb
    admin = databases.admin()
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        store.put_artifacts([pb.Artifact(type_id=type_id, uri="/a")])
        backend = backend_of(store)
        with admin.connect() as c:
            limit = c.exec_driver_sql("SELECT @@GLOBAL.max_prepared_stmt_count").scalar()
            c.exec_driver_sql("SET GLOBAL max_prepared_stmt_count = 0")
        try:
            with backend.transaction(write=False):
                before = _session_status(backend, "Com_execute_sql")
                for _ in range(2 * PreparedStatements.THRESHOLD):
                    assert [a.uri for a in store.get_artifacts_by_uri("/a")] == ["/a"]
                assert _session_status(backend, "Com_execute_sql") == before
        finally:
            with admin.connect() as c:
                c.exec_driver_sql(f"SET GLOBAL max_prepared_stmt_count = {int(limit)}")
        with backend.transaction(write=False):
            before = _session_status(backend, "Com_execute_sql")
            assert [a.uri for a in store.get_artifacts_by_uri("/a")] == ["/a"]
            assert _session_status(backend, "Com_execute_sql") == before + 1
    finally:
        admin.dispose()


def test_postgresql_statistics_follow_the_writes(tmp_path, sql_services):  # noqa: F811
    """A store just written is read with planner statistics: the backend gathers them as it grows."""
    databases = Databases("postgresql", tmp_path, sql_services)
    store = lineage.MetadataStore(databases.config())
    try:
        type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
        connection = backend_of(store)._engine.raw_connection()
        try:
            def analysed() -> bool:
                cursor = connection.cursor()
                cursor.execute("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'artifact'")
                found = cursor.fetchone()[0]
                connection.commit()
                return found

            store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}") for i in range(500)])
            assert not analysed()
            store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}") for i in range(500, 1000)])
            assert analysed()
        finally:
            connection.close()
    finally:
        store.close()
        databases.close()


def test_reads_of_unknown_size_answer_the_same_with_properties_joined_or_not(store, databases, monkeypatch):
    """A context of 3 artifacts and one of 150, read in turn: each answer whole, with its properties.

    On MariaDB a read of a context's nodes joins their properties when the last
    such read returned few nodes: one statement instead of two.
    """
    kind = pb.ArtifactType(name="T")
    kind.properties["p"] = pb.INT
    type_id = store.put_artifact_type(kind)
    context_type = store.put_context_type(pb.ContextType(name="C"))
    small, large = store.put_contexts([pb.Context(type_id=context_type, name="small"),
                                       pb.Context(type_id=context_type, name="large")])

    def artifacts(count: int, tag: str) -> list[pb.Artifact]:
        made = []
        for i in range(count):
            artifact = pb.Artifact(type_id=type_id, uri=f"/{tag}/{i}")
            if i % 4:  # some nodes have no properties at all
                artifact.properties["p"].int_value = i
                artifact.custom_properties["tag"].string_value = f"{tag}-é-{i}"
            made.append(artifact)
        return made

    written = {small: artifacts(3, "small"), large: artifacts(150, "large")}
    for context_id, made in written.items():
        for artifact, artifact_id in zip(made, store.put_artifacts(made)):
            artifact.id = artifact_id
        store.put_attributions_and_associations(
            [pb.Attribution(artifact_id=a.id, context_id=context_id) for a in made], [])
    backend = backend_of(store)
    statements = []
    run = backend._run
    monkeypatch.setattr(backend, "_run", lambda compiled, *args: statements.append(1) or run(compiled, *args))
    counts = []
    for context_id in (small, small, large, large, small, small):
        statements.clear()
        read = store.get_artifacts_by_context(context_id)
        counts.append(len(statements))
        assert [(a.id, a.uri, dict(a.properties), dict(a.custom_properties)) for a in read] == [
            (a.id, a.uri, dict(a.properties), dict(a.custom_properties)) for a in written[context_id]]
    if databases.target == "mariadb":
        assert counts == [2, 1, 1, 2, 2, 1]


def test_filters_that_differ_in_literals_share_one_statement_and_answer_each_their_own(store):
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    context_type = store.put_context_type(pb.ContextType(name="C"))
    artifacts = [pb.Artifact(type_id=type_id, uri=f"/é/{i}", name=f"a{i}") for i in range(6)]
    ids = store.put_artifacts(artifacts)
    contexts = store.put_contexts([pb.Context(type_id=context_type, name=f"c{i}") for i in range(3)])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=contexts[i % 3]) for i, a in enumerate(ids)], [])
    cache = backend_of(store)._stmts._cache

    def compiled_after_the_first(reads) -> int:
        # Twice: a read of unknown size may join its properties the second time.
        for _ in range(2):
            assert reads[0][0]() == reads[0][1]
        before = len(cache)
        for read, expected in reads[1:]:
            assert read() == expected
        return len(cache) - before

    by_uri = [(lambda i=i: [a.id for a in store.get_artifacts(list_options=lineage.ListOptions(
        filter_query=f'uri = "/é/{i}" AND name != "a9"'))], [ids[i]]) for i in range(6)]
    by_context = [(lambda i=i: [a.id for a in store.get_artifacts_by_context(contexts[i])], ids[i::3])
                  for i in range(3)]
    by_artifact = [(lambda i=i: [c.id for c in store.get_contexts(list_options=lineage.ListOptions(
        filter_query=f'artifacts_0.id = {ids[i]}'))], [contexts[i % 3]]) for i in range(6)]
    for reads in (by_uri, by_context, by_artifact):
        assert compiled_after_the_first(reads) == 0


def test_a_filter_on_a_neighbours_name_outside_ascii_finds_its_nodes(store):
    """``contexts_a.name = "…"`` starts from the context's links: the name is bound as the store encodes it."""
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    context_type = store.put_context_type(pb.ContextType(name="C"))
    named, other = store.put_contexts([pb.Context(type_id=context_type, name="run-é-☃"),
                                       pb.Context(type_id=context_type, name="RUN-É-☃")])
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/{i}") for i in range(3)])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=ids[0], context_id=named), pb.Attribution(artifact_id=ids[2], context_id=named),
         pb.Attribution(artifact_id=ids[1], context_id=other)], [])
    for name, expected in (("run-é-☃", [ids[0], ids[2]]), ("RUN-É-☃", [ids[1]]), ("run-e-☃", [])):
        found = store.get_artifacts(list_options=lineage.ListOptions(filter_query=f'contexts_a.name = "{name}"'))
        assert [a.id for a in found] == expected, name

