"""Connections to SQLite, MySQL/MariaDB and PostgreSQL from a ConnectionConfig.

Each ``open_*`` function returns a ``Database``: a SQLAlchemy engine whose pool
hands out DBAPI connections set up for the store, plus what the backend needs
to know about the database (its name for messages, whether it may write, how
transactions begin). Drivers are imported here, on first use only: for MySQL
and MariaDB mysqlclient (``MySQLdb``, rows parsed in C) when it is installed,
else PyMySQL; psycopg 3 for PostgreSQL; the standard sqlite3 module for SQLite.

Connection problems become ``lineage.errors``: an unreachable server is
``UnavailableError`` naming host and port, refused credentials
``UnauthenticatedError`` naming the user, a missing SQLite file (modes
READONLY and READWRITE) or a missing database with ``skip_db_creation``
``NotFoundError``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import urllib.parse
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy import pool as sa_pool

from lineage import errors
from lineage.backends import import_driver
from lineage.backends.base import statement_timeout
from lineage.backends.sql_exec import mysql_encoders
from lineage.backends.sql_schema import SESSION_RESULTS_LATIN1_SQL, read_text_through_session
from lineage.proto import metadata_store_pb2 as pb

__all__ = ["Database", "open_sqlite", "open_mysql", "open_postgresql", "SQLITE_BUSY_TIMEOUT_S"]

#: How long a SQLite connection waits for another process's write lock.
SQLITE_BUSY_TIMEOUT_S = 30.0
_CONNECT_TIMEOUT_S = 10
_POOL_SIZE = 5
_POOL_OVERFLOW = 27
_POOL_RECYCLE_S = 1800
#: Server pools hand out the connection returned last: a client that makes one
#: call at a time keeps one connection, with the statements prepared on it,
#: instead of cycling through every pooled one.
_POOL_LIFO = True

# One lock per SQLite file and process: writers in one process queue here
# instead of polling SQLite's busy handler.
_FILE_LOCKS: dict[str, threading.RLock] = {}
_FILE_LOCKS_GUARD = threading.Lock()


@dataclasses.dataclass
class Database:
    """An engine and what the backend needs to know about the database.

    Attributes:
        engine: Pool of DBAPI connections (``engine.raw_connection()``).
        dialect: "sqlite", "mysql" or "postgresql".
        where: Name of the database for messages.
        read_only: Writes are refused (SQLite READONLY).
        lock: Held for each whole transaction, or None (servers).
        begin: SQL that opens a transaction, or None when the driver opens
            one implicitly.
        begin_read: SQL that opens a transaction that only reads; None:
            ``begin``.
        path: The SQLite file, when there is one.
        created_file: The SQLite file did not exist before this open.
        init_lock: ``(acquire, release)`` of a server-side lock that
            serialises store initialisation between clients, or None.
        database_name: The server database's name.
        statement_timeout: Seconds a statement may run, or None; MySQL and
            PostgreSQL enforce it per session, SQLite through the backend's
            progress handler.
        end_read: Ends a transaction that wrote nothing without waiting for
            the server's answer, which the connection's next checkout reads;
            None when the driver cannot (then reads commit as writes do).
        resume: Readies a connection the backend kept from an earlier
            transaction (it reads what ``end_read`` left unread); raises
            ``sqlalchemy.exc.DisconnectionError`` when the connection is
            unusable. None: kept connections need nothing.
    """

    engine: sa.Engine
    dialect: str
    where: str
    read_only: bool = False
    lock: Any = None
    begin: str | None = None
    begin_read: str | None = None
    path: str | None = None
    created_file: bool = False
    init_lock: tuple[Callable[[Any], None], Callable[[Any], None]] | None = None
    database_name: str | None = None
    statement_timeout: float | None = None
    end_read: Callable[[Any], None] | None = None
    resume: Callable[[Any], None] | None = None

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()


# --- SQLite ------------------------------------------------------------------

_MODES = {
    pb.SqliteMetadataSourceConfig.READONLY: "ro",
    pb.SqliteMetadataSourceConfig.READWRITE: "rw",
    pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE: "rwc",
    pb.SqliteMetadataSourceConfig.UNKNOWN: "rwc",
}


def _sqlite_uri(filename: str, mode: str) -> tuple[str, str | None]:
    """Returns (sqlite URI, plain path or None) for a filename_uri."""
    if filename.startswith("file:"):
        parts = urllib.parse.urlsplit(filename)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "mode"]
        query.append(("mode", mode))
        path = urllib.parse.unquote(parts.path) if parts.path and parts.path != ":memory:" else None
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query))), path
    path = os.path.abspath(filename)
    return f"file:{urllib.parse.quote(path)}?mode={mode}", path


def open_sqlite(config: pb.SqliteMetadataSourceConfig) -> Database:
    """Opens the SQLite database of a config (not yet checked for MLMD's schema).

    Raises:
        NotFoundError: READONLY or READWRITE and the file does not exist.
        UnavailableError: The file cannot be opened or created.
    """
    import sqlite3

    timeout = statement_timeout()
    mode = _MODES.get(config.connection_mode, "rwc")
    filename = config.filename_uri
    if not filename or filename == ":memory:":
        return _open_sqlite_memory(sqlite3, timeout)
    uri, path = _sqlite_uri(filename, mode)
    existed = path is None or os.path.exists(path)
    where = f"SQLite file {filename!r}"
    if path is not None and not existed and mode != "rwc":
        raise errors.NotFoundError(
            f"SqliteMetadataSourceConfig.filename_uri {filename!r} does not exist; connection_mode "
            f"{pb.SqliteMetadataSourceConfig.ConnectionMode.Name(config.connection_mode)} "
            "does not create it (use READWRITE_OPENCREATE)")
    read_only = mode == "ro"

    def connect():
        connection = sqlite3.connect(
            uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None,
            check_same_thread=False, cached_statements=512)
        connection.execute("PRAGMA case_sensitive_like = ON")
        if not read_only:
            connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    engine = sa.create_engine(
        "sqlite://", creator=connect, poolclass=sa_pool.QueuePool, pool_size=_POOL_SIZE,
        max_overflow=_POOL_OVERFLOW, pool_reset_on_return=None)
    lock = None
    if not read_only:
        key = os.path.realpath(path) if path is not None else uri
        with _FILE_LOCKS_GUARD:
            lock = _FILE_LOCKS.setdefault(key, threading.RLock())
    try:
        probe = engine.raw_connection()
        try:
            probe.cursor().execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            probe.close()
    except Exception as e:
        engine.dispose()
        cause = getattr(e, "orig", e)
        if getattr(cause, "sqlite_errorcode", None) == 26:  # SQLITE_NOTADB
            raise errors.FailedPreconditionError(
                f"{where} is not an SQLite database, so not an MLMD one: {cause}") from e
        raise errors.UnavailableError(f"{where} cannot be opened: {cause}") from e
    return Database(
        engine, "sqlite", where, read_only=read_only, lock=lock,
        begin="BEGIN" if read_only else "BEGIN IMMEDIATE", begin_read="BEGIN", path=path,
        created_file=not existed, statement_timeout=timeout)


def _open_sqlite_memory(sqlite3, timeout: float | None) -> Database:
    def connect():
        connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False,
                                     cached_statements=512)
        connection.execute("PRAGMA case_sensitive_like = ON")
        return connection

    engine = sa.create_engine("sqlite://", creator=connect, poolclass=sa_pool.StaticPool,
                              pool_reset_on_return=None)
    return Database(engine, "sqlite", "SQLite in-memory database", lock=threading.RLock(),
                    begin="BEGIN", statement_timeout=timeout)


def remove_sqlite_file(path: str) -> None:
    """Deletes a SQLite file this process created, with its WAL companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass


def enable_wal(database: Database) -> None:
    """Switches a writable SQLite file to write-ahead logging (kept in the file).

    The switch needs the file to itself; while another process holds it open in
    rollback-journal mode the store simply keeps that mode.
    """
    if database.path is None or database.read_only:
        return
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.fetchall()
    except Exception:  # noqa: BLE001 - WAL is an optimisation, not a requirement
        logging.getLogger(__name__).info("%s stays in its journal mode", database.where, exc_info=True)
    finally:
        connection.close()


# --- MySQL / MariaDB -----------------------------------------------------------


def _mysql_error_code(error: Exception) -> int | None:
    args = getattr(error, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _mysql_driver() -> tuple[str, Any]:
    """Returns (SQLAlchemy driver name, DBAPI module) for MySQL and MariaDB.

    mysqlclient parses result rows in C, which makes reads of many rows about
    three times faster than PyMySQL's pure-Python parsing; it needs the MySQL
    or MariaDB client library, so PyMySQL stays the fallback. Both share
    MySQLdb's API: tuples rendered as parenthesised lists, errors carrying
    the server's code first.
    """
    try:
        import MySQLdb
    except ImportError:
        return "pymysql", import_driver("pymysql", "mysql", "mysql")
    return "mysqldb", MySQLdb


def _mysql_connect_kwargs(driver: str, config: pb.MySQLDatabaseConfig, host: str, port: int) -> dict[str, Any]:
    """The driver's connect() arguments for a config (without the database)."""
    kwargs: dict[str, Any] = {
        "host": host, "port": int(port), "user": config.user or None,
        "password": config.password or "", "charset": "utf8mb4", "autocommit": False,
        "connect_timeout": _CONNECT_TIMEOUT_S,
    }
    if config.socket:
        kwargs["unix_socket"] = config.socket
    if driver == "mysqldb":
        # As PyMySQL does: one statement per call, and bytes sent as _binary
        # literals, which MLMD's text encoding on MySQL relies on (_MlmdText).
        # Several statements per call would save round trips, but over TCP
        # the flag made every statement slower on MariaDB 10.11 (a COMMIT
        # 29 -> 73 us, a point read 125 -> 147 us; the Unix socket unchanged):
        # more than the writes it would batch gained.
        kwargs["multi_statements"] = False
        kwargs["binary_prefix"] = True
        # The C client uses a Unix socket only with host "localhost", and there
        # its default socket when none is given; PyMySQL uses the configured
        # socket whatever the host, else TCP to the host and port.
        if config.socket:
            kwargs["host"] = "localhost"
        elif host == "localhost":
            kwargs["host"] = "127.0.0.1"
    if config.HasField("ssl_options"):
        ssl = config.ssl_options
        options = {name: getattr(ssl, name) for name in ("key", "cert", "ca", "capath", "cipher")
                   if getattr(ssl, name)}
        if driver == "mysqldb":
            if options:
                kwargs["ssl"] = options
            kwargs["ssl_mode"] = "VERIFY_CA" if ssl.verify_server_cert else "REQUIRED"
        else:
            kwargs["ssl"] = options or {"ssl": True}
            kwargs["ssl_verify_cert"] = bool(ssl.verify_server_cert)
            kwargs["ssl_verify_identity"] = False
    return kwargs


def open_mysql(config: pb.MySQLDatabaseConfig) -> Database:
    """Connects to MySQL/MariaDB, creating the database unless ``skip_db_creation``.

    Raises:
        UnavailableError: The server cannot be reached.
        UnauthenticatedError: The server refused the user or password.
        NotFoundError: The database is missing and ``skip_db_creation`` is set.
        InvalidArgumentError: No database name is given.
        FailedPreconditionError: Neither mysqlclient nor PyMySQL is installed
            (the ``mysql`` extra).
    """
    driver, dbapi = _mysql_driver()

    if not config.database:
        raise errors.InvalidArgumentError("MySQLDatabaseConfig.database is required")
    host = config.host or "localhost"
    port = config.port or 3306
    place = config.socket if config.socket else f"{host}:{port}"
    where = f"MySQL server {place}, database {config.database!r}"
    timeout = statement_timeout()
    kwargs = _mysql_connect_kwargs(driver, config, host, port)

    def connect_to(database: str | None):
        try:
            connection = dbapi.connect(**({**kwargs, "database": database} if database else kwargs))
        except dbapi.MySQLError as e:
            raise _mysql_connect_error(e, place, config.user) from e
        _lift_recursion_limit(connection)
        _bound_statements(connection, timeout)
        mysql_encoders(connection)
        return connection

    try:
        first = connect_to(config.database)
    except errors.NotFoundError:
        if config.skip_db_creation:
            raise
        admin = connect_to(None)
        try:
            quoted = "`" + config.database.replace("`", "``") + "`"
            with admin.cursor() as cursor:
                # An identifier, not a value: it cannot be a bound parameter.
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {quoted}")
            admin.commit()
        except dbapi.MySQLError as e:
            raise errors.FailedPreconditionError(
                f"cannot create database {config.database!r} on MySQL server {place} as user "
                f"{config.user!r}: {e.args[-1] if e.args else e}") from e
        finally:
            admin.close()
        first = connect_to(config.database)
    pending = [first]

    def connect():
        if pending:
            return pending.pop()
        return connect_to(config.database)

    engine = sa.create_engine(
        f"mysql+{driver}://", creator=connect, pool_size=_POOL_SIZE, max_overflow=_POOL_OVERFLOW,
        pool_reset_on_return=None, pool_recycle=_POOL_RECYCLE_S, pool_use_lifo=_POOL_LIFO)
    if driver == "mysqldb":
        read_text_through_session(engine.dialect)

        @sa.event.listens_for(engine, "connect")
        def results_in_latin1(driver_connection, record) -> None:
            # After SQLAlchemy's own connect handler, whose SET NAMES resets it.
            cursor = driver_connection.cursor()
            cursor.execute(SESSION_RESULTS_LATIN1_SQL)
            driver_connection.commit()
    lock_name = f"lineage-init:{config.database}"

    def acquire(connection) -> None:
        cursor = connection.cursor()
        cursor.execute("SELECT GET_LOCK(%s, %s)", (lock_name, 120))
        if cursor.fetchone()[0] != 1:
            raise errors.AbortedError(f"{where}: timed out waiting for another client to initialise it")

    def release(connection) -> None:
        cursor = connection.cursor()
        cursor.execute("SELECT RELEASE_LOCK(%s)", (lock_name,))
        cursor.fetchall()

    end_read, resume = _defer_commits(engine, dbapi) if driver == "mysqldb" else (None, None)
    return Database(engine, "mysql", where, init_lock=(acquire, release),
                    database_name=config.database, statement_timeout=timeout, end_read=end_read, resume=resume)


# Set on a mysqlclient connection whose COMMIT was sent and not yet answered.
_COMMIT_UNANSWERED = "_lineage_commit_unanswered"


def _defer_commits(engine: sa.Engine, dbapi) -> tuple[Callable[[Any], None], Callable[[Any], None]]:
    """Lets reads end without waiting for their COMMIT's answer (mysqlclient).

    A read's COMMIT cannot change what it returned, and its round trip was a
    fifth of a read of one artifact by uri on MariaDB over loopback (0.1 of
    0.5 ms). The COMMIT is sent and the caller goes on; the connection's next
    use reads the answer, which has long arrived by then: a checkout from the
    pool, or the backend taking a connection it kept (``resume``). The mark
    sits on the driver connection, so a connection the pool replaces starts
    clean; one whose answer is an error is discarded and another is used.

    Returns:
        ``end_read(connection)`` and ``resume(connection)`` for a pooled connection.
    """

    def answer(driver_connection) -> None:
        if getattr(driver_connection, _COMMIT_UNANSWERED, False):
            setattr(driver_connection, _COMMIT_UNANSWERED, False)
            try:
                driver_connection.read_query_result()
            except dbapi.MySQLError as e:
                raise sa.exc.DisconnectionError(f"the last read's COMMIT failed: {e}") from e

    @sa.event.listens_for(engine, "checkout")
    def read_answer(driver_connection, record, proxy) -> None:
        answer(driver_connection)

    def resume(connection) -> None:
        answer(connection.driver_connection)

    def end_read(connection) -> None:
        driver_connection = connection.driver_connection
        driver_connection.send_query(b"COMMIT")
        setattr(driver_connection, _COMMIT_UNANSWERED, True)

    return end_read, resume


def _lift_recursion_limit(connection) -> None:
    """Lets recursive queries walk lineage deeper than 1000 hops.

    MariaDB stops a recursive CTE after ``max_recursive_iterations`` (1000 by
    default) without an error, MySQL fails after ``cte_max_recursion_depth``;
    a long pipeline history is deeper than either. UNION keeps the walk finite.
    """
    cursor = connection.cursor()
    for variable in ("max_recursive_iterations", "cte_max_recursion_depth"):
        cursor.execute("SHOW VARIABLES LIKE %s", (variable,))
        if cursor.fetchall():
            cursor.execute(f"SET SESSION {variable} = 4294967295")
    connection.commit()


def _bound_statements(connection, seconds: float | None) -> None:
    """Bounds what one statement of this session may cost the server.

    The planner's exhaustive search over join orders grows exponentially with
    the tables of a join, which a filter's aliases and properties add (the
    server merges EXISTS subqueries into the outer join): a search depth of 0
    lets the server choose a depth that keeps planning cheap. Then the server
    stops any statement that runs longer than ``seconds``: MariaDB every
    statement (``max_statement_time``, seconds), MySQL only SELECTs
    (``max_execution_time``, milliseconds), which is where an unbounded cost
    can come from.
    """
    cursor = connection.cursor()
    cursor.execute("SET SESSION optimizer_search_depth = 0")
    if seconds is not None:
        cursor.execute("SHOW VARIABLES LIKE %s", ("max_statement_time",))
        if cursor.fetchall():
            cursor.execute("SET SESSION max_statement_time = %s", (float(seconds),))
        else:
            cursor.execute("SET SESSION max_execution_time = %s", (max(1, int(seconds * 1000)),))
    connection.commit()


def _mysql_connect_error(error: Exception, place: str, user: str) -> errors.StatusError:
    code = _mysql_error_code(error)
    message = error.args[-1] if getattr(error, "args", None) else str(error)
    if code in (1045, 1698):
        return errors.UnauthenticatedError(
            f"MySQL server {place} refused user {user!r}: {message} (check "
            "MySQLDatabaseConfig.user and password)")
    if code == 1049:
        return errors.NotFoundError(
            f"MySQL server {place} has no database named by MySQLDatabaseConfig.database: {message}")
    if code == 1044:
        return errors.PermissionDeniedError(f"MySQL server {place} denies user {user!r}: {message}")
    if code in (2002, 2003, 2005, 2006, 2013) or code is None or code >= 2000:
        return errors.UnavailableError(f"cannot reach MySQL server at {place}: {message}")
    return errors.FailedPreconditionError(f"MySQL server {place} refused the connection: {message}")


# --- PostgreSQL --------------------------------------------------------------


def open_postgresql(config: pb.PostgreSQLDatabaseConfig) -> Database:
    """Connects to PostgreSQL, creating the database unless ``skip_db_creation``.

    Raises:
        UnavailableError: The server cannot be reached.
        UnauthenticatedError: The server refused the user or password.
        NotFoundError: The database is missing and ``skip_db_creation`` is set.
        InvalidArgumentError: No database name is given.
        FailedPreconditionError: psycopg is not installed (the ``postgresql`` extra).
    """
    psycopg = import_driver("psycopg", "postgresql", "postgresql")

    if not config.dbname:
        raise errors.InvalidArgumentError("PostgreSQLDatabaseConfig.dbname is required")
    host = config.host or config.hostaddr or "localhost"
    port = config.port or "5432"
    place = f"{host}:{port}"
    where = f"PostgreSQL server {place}, database {config.dbname!r}"
    kwargs: dict[str, Any] = {"port": port, "connect_timeout": _CONNECT_TIMEOUT_S, "autocommit": False}
    timeout = statement_timeout()
    if timeout is not None:
        # The server cancels any statement of these sessions that runs longer.
        kwargs["options"] = f"-c statement_timeout={max(1, int(timeout * 1000))}"
    for name in ("host", "hostaddr", "user", "password", "passfile"):
        if getattr(config, name):
            kwargs[name] = getattr(config, name)
    if config.HasField("ssloption"):
        for name in ("sslmode", "sslcert", "sslkey", "sslpassword", "sslrootcert"):
            if getattr(config.ssloption, name):
                kwargs[name] = getattr(config.ssloption, name)

    def connect_to(dbname: str, autocommit: bool = False):
        try:
            connection = psycopg.connect(dbname=dbname, **{**kwargs, "autocommit": autocommit})
        except psycopg.Error as e:
            raise _postgresql_connect_error(e, place, config.user, dbname) from e
        # One snapshot per transaction, as MySQL's default gives: under READ
        # COMMITTED two reads of one call could disagree about a row another
        # client just committed. Conflicts surface as serialization failures
        # and unique violations, which the API retries.
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        # The backend prepares its statements itself (sql_exec.PgLibpqCursor);
        # psycopg, once it has prepared any, deallocates all after a rollback.
        connection.prepare_threshold = None
        return connection

    try:
        first = connect_to(config.dbname)
    except errors.NotFoundError:
        if config.skip_db_creation:
            raise
        _create_postgresql_database(connect_to, config, place)
        first = connect_to(config.dbname)
    pending = [first]

    def connect():
        if pending:
            return pending.pop()
        return connect_to(config.dbname)

    engine = sa.create_engine(
        "postgresql+psycopg://", creator=connect, pool_size=_POOL_SIZE, max_overflow=_POOL_OVERFLOW,
        pool_reset_on_return=None, pool_recycle=_POOL_RECYCLE_S, pool_use_lifo=_POOL_LIFO)

    # Advisory locks are per database, so one fixed key suffices.
    def acquire(connection) -> None:
        connection.cursor().execute("SELECT pg_advisory_lock(%s)", (_PG_INIT_LOCK,))

    def release(connection) -> None:
        connection.cursor().execute("SELECT pg_advisory_unlock(%s)", (_PG_INIT_LOCK,))

    # The backend's statements run on libpq without psycopg's cursor, which
    # would begin a transaction itself (sql_exec.PgLibpqCursor): the backend
    # begins it, at the connection's isolation level.
    begin = "BEGIN ISOLATION LEVEL REPEATABLE READ"
    return Database(engine, "postgresql", where, init_lock=(acquire, release), begin=begin,
                    database_name=config.dbname, statement_timeout=timeout)


_PG_INIT_LOCK = 0x6C696E65  # "line"


def _create_postgresql_database(connect_to, config: pb.PostgreSQLDatabaseConfig, place: str) -> None:
    import psycopg
    from psycopg import sql

    last: Exception | None = None
    for maintenance in ("postgres", "template1"):
        try:
            admin = connect_to(maintenance, autocommit=True)
        except errors.NotFoundError as e:
            last = e
            continue
        try:
            with admin.cursor() as cursor:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config.dbname)))
            return
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return  # another client created it meanwhile
        except psycopg.Error as e:
            raise errors.FailedPreconditionError(
                f"cannot create database {config.dbname!r} on PostgreSQL server {place} as user "
                f"{config.user!r}: {e}") from e
        finally:
            admin.close()
    raise errors.FailedPreconditionError(
        f"cannot create database {config.dbname!r} on PostgreSQL server {place}: no maintenance "
        f"database to connect to ({last})")


def _postgresql_connect_error(error: Exception, place: str, user: str, dbname: str) -> errors.StatusError:
    state = getattr(error, "sqlstate", None)
    text = str(error).strip()
    if state == "3D000" or (state is None and f'database "{dbname}" does not exist' in text):
        return errors.NotFoundError(
            f"PostgreSQL server {place} has no database {dbname!r} (PostgreSQLDatabaseConfig.dbname)")
    if (state or "").startswith("28") or "password authentication failed" in text or (
            "authentication" in text and "failed" in text):
        return errors.UnauthenticatedError(
            f"PostgreSQL server {place} refused user {user!r}: {text} (check "
            "PostgreSQLDatabaseConfig.user and password)")
    if state == "42501":
        return errors.PermissionDeniedError(f"PostgreSQL server {place} denies user {user!r}: {text}")
    return errors.UnavailableError(f"cannot reach PostgreSQL server at {place}: {text}")
