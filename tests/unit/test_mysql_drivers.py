"""Both MySQL drivers on the real MariaDB: mysqlclient (preferred) and PyMySQL (fallback).

The store picks mysqlclient when ``MySQLdb`` imports, else PyMySQL. Each test
runs once per driver; PyMySQL is chosen by making ``MySQLdb`` unimportable,
as on a machine without the ``mysqlclient`` extra. Records written through
one driver read back the same through the other (MLMD's text encoding on
MySQL lives in SQL and in bound bytes, so it must not depend on the driver),
and the server's errors map to the same ``lineage.errors`` whichever driver
raised them.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import uuid
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

import lineage
from lineage import errors
from lineage.backends import sql_connect, sql_exec
from lineage.backends import sql_schema as schema
from lineage.backends.base import ConcurrentWriteError
from lineage.backends.sql_exec import translate_error
from lineage.proto import metadata_store_pb2 as pb
from lineage.urls import config_from_url

import services

DRIVERS = ("mysqlclient", "pymysql")
_SQLALCHEMY_NAME = {"mysqlclient": "mysqldb", "pymysql": "pymysql"}


@pytest.fixture(scope="module")
def database_url():
    """A MariaDB database of its own for this module, dropped at the end."""
    name = f"lineage_drivers_{uuid.uuid4().hex[:10]}"
    url = services.sql_url("mysql", name)
    yield url
    import pymysql

    parts = urlsplit(url)
    admin = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username,
                            password=parts.password or "")
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    finally:
        admin.close()


@pytest.fixture(params=DRIVERS)
def driver(request, monkeypatch):
    """Makes the store use one driver (``MySQLdb`` unimportable for PyMySQL)."""
    if request.param == "mysqlclient":
        pytest.importorskip("MySQLdb", reason="mysqlclient (the 'mysqlclient' extra) is not installed")
    else:
        monkeypatch.setitem(sys.modules, "MySQLdb", None)
    return request.param


def _open(url: str) -> sql_connect.Database:
    return sql_connect.open_mysql(config_from_url(url).mysql)


def test_the_store_uses_the_chosen_driver(database_url, driver):
    database = _open(database_url)
    try:
        assert database.engine.dialect.driver == _SQLALCHEMY_NAME[driver]
        connection = database.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT @@character_set_client, @@autocommit, @@optimizer_search_depth, "
                           "@@character_set_results")
            # mysqlclient reads MLMD's text back through the session's latin1 results.
            results = "latin1" if driver == "mysqlclient" else "utf8mb4"
            assert tuple(cursor.fetchone()) == ("utf8mb4", 0, 0, results)
        finally:
            connection.close()
    finally:
        database.dispose()


def test_mysqlclient_selects_text_as_stored_and_keeps_the_sql_conversion_aside(database_url, driver):
    database = _open(database_url)
    try:
        compiled = sql_exec.Compiled(sa.select(schema.artifact_table.c.id, schema.artifact_table.c.uri),
                                     database.engine.dialect)
        if driver == "mysqlclient":
            assert "CONVERT" not in compiled.text
            assert "CONVERT(CAST(CONVERT(Artifact.uri USING latin1)" in compiled.text_in_sql
        else:
            assert "CONVERT(CAST(CONVERT(Artifact.uri USING latin1)" in compiled.text
            assert compiled.text_in_sql is None
    finally:
        database.dispose()


def test_text_another_client_stored_as_utf8_reads_the_same_through_both_drivers(database_url, driver):
    # Outside ASCII such text cannot survive MLMD's trip back through latin1:
    # MariaDB gives "?" for the bytes that are not UTF-8. mysqlclient fails to
    # decode them and reads the statement again, converted in SQL.
    with lineage.connect(database_url) as store:
        type_id = store.put_artifact_type(pb.ArtifactType(name="NativeText"))
        # MLMD's own encoding around it, inside latin1 and outside.
        ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"/native-{driver}/{i}-{text}")
                                   for i, text in enumerate(("ü", "x", "☃ 𝔘"))])
    database = _open(database_url)
    try:
        connection = database.engine.raw_connection()
        try:
            cursor = connection.cursor()
            # A client of its own: utf8mb4 results, text stored as real UTF-8.
            cursor.execute("SET character_set_results = utf8mb4")
            cursor.execute("UPDATE Artifact SET uri = %s WHERE id = %s", (f"/native-{driver}/é", ids[1]))
            connection.commit()
        finally:
            connection.invalidate()
    finally:
        database.dispose()
    with lineage.connect(database_url) as store:
        for _ in range(5):  # past PreparedStatements.THRESHOLD: text and EXECUTE alike
            assert [a.uri for a in store.get_artifacts_by_id(ids)] == [
                f"/native-{driver}/0-ü", f"/native-{driver}/?", f"/native-{driver}/2-☃ 𝔘"]
            assert [a.id for a in store.get_artifacts_by_type("NativeText")][-3:] == ids
        assert store.get_artifact_by_type_and_name("NativeText", "missing") is None
        # The session reads MLMD's text through latin1 again after the statement that converted it.
        [artifact] = store.get_artifacts_by_id([ids[0]])
        assert artifact.uri == f"/native-{driver}/0-ü"


def _artifact(type_id: int, name: str) -> pb.Artifact:
    artifact = pb.Artifact(type_id=type_id, name=name, uri=f"/données/{name}/ß→∑")
    artifact.properties["label"].string_value = "naïve ☃ 𝔘"
    artifact.custom_properties["note"].string_value = "a\u0301 e\u0301 (combining marks)"
    artifact.custom_properties["blob"].proto_value.Pack(pb.Value(string_value="ünï"))
    return artifact


@contextlib.contextmanager
def _store_on(driver: str, database_url: str, monkeypatch):
    """A store connected through ``driver`` (``MySQLdb`` unimportable for PyMySQL), closed after."""
    with monkeypatch.context() as patch:
        if driver == "pymysql":
            patch.setitem(sys.modules, "MySQLdb", None)
        store = lineage.connect(database_url)
        try:
            yield store
        finally:
            store.close()


def test_records_written_by_either_driver_read_back_the_same_through_both(
        database_url, monkeypatch):
    # Writes under each driver in turn, then reads everything under each.
    pytest.importorskip("MySQLdb", reason="mysqlclient (the 'mysqlclient' extra) is not installed")
    written: dict[int, pb.Artifact] = {}
    for writer in DRIVERS:
        with _store_on(writer, database_url, monkeypatch) as store:
            kind = pb.ArtifactType(name="DriverCheck")
            kind.properties["label"] = pb.STRING
            type_id = store.put_artifact_type(kind)
            artifact = _artifact(type_id, f"by-{writer}-é")
            [artifact_id] = store.put_artifacts([artifact])
            written[artifact_id] = artifact
    for reader in DRIVERS:
        with _store_on(reader, database_url, monkeypatch) as store:
            read = {a.id: a for a in store.get_artifacts_by_id(list(written))}
            found = {a.id: a for a in store.get_artifacts(
                list_options=lineage.ListOptions(filter_query="name LIKE 'by-%-é'"))}
        assert set(read) == set(written) == set(found), reader
        for artifact_id, artifact in written.items():
            got = read[artifact_id]
            assert (got.name, got.uri) == (artifact.name, artifact.uri), reader
            assert got.properties["label"].string_value == "naïve ☃ 𝔘", reader
            assert got.custom_properties["note"].string_value == artifact.custom_properties["note"].string_value
            unpacked = pb.Value()
            assert got.custom_properties["blob"].proto_value.Unpack(unpacked)
            assert unpacked.string_value == "ünï", reader


def _setup_table(database: sql_connect.Database, table: str) -> None:
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(f"INSERT INTO {table} VALUES (1, 0), (2, 0)")
        connection.commit()
    finally:
        connection.close()


@contextlib.contextmanager
def _two_connections(database_url, table: str):
    """Two raw connections to a fresh ``table`` (rows 1 and 2, v = 0); rolled back and closed after."""
    database = _open(database_url)
    _setup_table(database, table)
    first = database.engine.raw_connection()
    second = database.engine.raw_connection()
    try:
        yield database, first, second
    finally:
        first.rollback()
        second.rollback()
        first.close()
        second.close()
        database.dispose()


def _raised(call) -> Exception:
    try:
        call()
    except Exception as e:  # noqa: BLE001 - the driver's own exception is what is checked
        return e
    raise AssertionError("the statement did not fail")


def test_duplicate_key_and_lock_wait_are_concurrent_write_errors(database_url, driver):
    table = f"t_{driver}"
    with _two_connections(database_url, table) as (database, first, second):
        cursor = first.cursor()
        error = _raised(lambda: cursor.execute(f"INSERT INTO {table} VALUES (%s, %s)", (1, 1)))
        assert isinstance(translate_error(error, database.where), ConcurrentWriteError), error
        first.rollback()

        cursor.execute(f"SELECT v FROM {table} WHERE id = %s FOR UPDATE", (1,))
        other = second.cursor()
        other.execute("SET SESSION innodb_lock_wait_timeout = 1")
        error = _raised(lambda: other.execute(f"UPDATE {table} SET v = 1 WHERE id = %s", (1,)))
        translated = translate_error(error, database.where)
        assert isinstance(translated, ConcurrentWriteError), error
        assert "retry" in translated.message


def test_deadlock_is_a_concurrent_write_error(database_url, driver):
    table = f"d_{driver}"
    outcome: dict[str, Exception | None] = {}
    with _two_connections(database_url, table) as (database, first, second):
        a, b = first.cursor(), second.cursor()
        a.execute(f"UPDATE {table} SET v = 1 WHERE id = 1")
        b.execute(f"UPDATE {table} SET v = 1 WHERE id = 2")

        def cross(name, cursor, row):
            try:
                cursor.execute(f"UPDATE {table} SET v = 2 WHERE id = %s", (row,))
                outcome[name] = None
            except Exception as e:  # noqa: BLE001 - checked below
                outcome[name] = e

        waiting = threading.Thread(target=cross, args=("first", a, 2))
        waiting.start()
        # Lets the first update queue behind the second connection's row lock.
        waiting.join(0.5)
        cross("second", b, 1)
        if outcome.get("second") is not None:
            second.rollback()  # the victim: the other update then goes through
        waiting.join(30)
        assert not waiting.is_alive()
        failures = [e for e in outcome.values() if e is not None]
        assert len(failures) == 1, outcome
        assert isinstance(translate_error(failures[0], database.where), ConcurrentWriteError), failures


def test_a_killed_connection_is_unavailable(database_url, driver):
    database = _open(database_url)
    victim = database.engine.raw_connection()
    killer = database.engine.raw_connection()
    try:
        cursor = victim.cursor()
        cursor.execute("SELECT CONNECTION_ID()")
        [connection_id] = cursor.fetchone()
        killer.cursor().execute("KILL CONNECTION %s", (connection_id,))
        error = _raised(lambda: victim.cursor().execute("SELECT 1"))
        assert isinstance(translate_error(error, database.where), errors.UnavailableError), error
    finally:
        victim.invalidate()
        killer.close()
        database.dispose()


def test_a_transaction_reads_one_snapshot(database_url, driver):
    # lineage relies on the server's REPEATABLE READ: two reads of one call agree.
    database = _open(database_url)
    table = f"s_{driver}"
    _setup_table(database, table)
    reader = database.engine.raw_connection()
    writer = database.engine.raw_connection()
    try:
        cursor = reader.cursor()
        cursor.execute(f"SELECT v FROM {table} WHERE id = 1")
        assert cursor.fetchone()[0] == 0
        writer.cursor().execute(f"UPDATE {table} SET v = 7 WHERE id = 1")
        writer.commit()
        cursor.execute(f"SELECT v FROM {table} WHERE id = 1")
        assert cursor.fetchone()[0] == 0
        reader.commit()
        cursor.execute(f"SELECT v FROM {table} WHERE id = 1")
        assert cursor.fetchone()[0] == 7
    finally:
        reader.rollback()
        reader.close()
        writer.close()
        database.dispose()


def test_wrong_password_is_unauthenticated(database_url, driver):
    parts = urlsplit(database_url)
    wrong = parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port}")
    with pytest.raises(errors.UnauthenticatedError, match=repr(parts.username)):
        _open(wrong.geturl())


def _user_and_socket(database: sql_connect.Database) -> tuple[str, str]:
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT USER(), @@socket")
        user, socket = cursor.fetchone()
        return user, socket
    finally:
        connection.close()


def test_localhost_is_tcp_and_a_configured_socket_is_used_whatever_the_host(database_url, driver):
    # Both drivers reach the server the same way: "localhost" without a socket over TCP on
    # the configured port (the C client alone would try its default socket), a socket
    # when the config names one, even beside another host.
    config = config_from_url(database_url).mysql
    config.host = "localhost"
    database = sql_connect.open_mysql(config)
    try:
        user, socket = _user_and_socket(database)
    finally:
        database.dispose()
    assert user.endswith("@127.0.0.1"), user
    config.host = "127.0.0.1"
    config.socket = socket
    database = sql_connect.open_mysql(config)
    try:
        assert _user_and_socket(database)[0].endswith("@localhost")
        assert database.where.startswith(f"MySQL server {socket}")
    finally:
        database.dispose()


def test_the_c_api_cursor_answers_as_mysqldbs_cursor(database_url):
    mysqldb = pytest.importorskip("MySQLdb", reason="mysqlclient (the 'mysqlclient' extra) is not installed")
    database = _open(database_url)
    table = f"c_api_{uuid.uuid4().hex[:8]}"
    try:
        connection = database.engine.raw_connection()
        try:
            ours, theirs = sql_exec.MySqlClientCursor(connection.driver_connection), connection.cursor()
            ours.execute(f"CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))")
            for cursor, value in ((ours, "a%b"), (theirs, "c'd")):
                cursor.execute(f"INSERT INTO {table} (v) VALUES (%s)", (value,))
            assert (ours.lastrowid, theirs.lastrowid) == (1, 2)
            query = f"SELECT id, v, v LIKE '%%b' FROM {table} WHERE id IN %s ORDER BY id"
            for cursor in (ours, theirs):
                cursor.execute(query, (sql_exec.MySqlIntList([1, 2]),))
            assert ours.fetchone() == theirs.fetchone() == (1, "a%b", 1)
            assert tuple(ours.fetchall()) == tuple(theirs.fetchall()) == ((2, "c'd", 0),)
            assert ours.fetchone() is None and ours.fetchall() == ()
            with pytest.raises(mysqldb.OperationalError):
                ours.execute(f"SELECT missing FROM {table}")
            ours.execute(f"DROP TABLE {table}")
        finally:
            connection.close()
    finally:
        database.dispose()
