"""The relational backend: MLMD's own schema on SQLite, MySQL/MariaDB or PostgreSQL.

Records live in the tables ml-metadata 1.17 uses (``lineage.backends.sql_schema``,
schema version 10), encoded as it encodes them, so either library can open a
database the other wrote. One extra table, ``LineageFingerprint``, holds the
cache index, and two extra indexes find the contexts of given nodes;
ml-metadata ignores them.

Statements are SQLAlchemy Core, compiled once per database and run on the
driver's cursor (``lineage.backends.sql_exec``). Reads are bulk: one query
per table per call, never one per node. Filters compile to SQL
(``lineage.query.sql_compiler``) and pages use keyset pagination on
(order field, id).

Transactions: the outermost ``transaction()`` of a thread takes a connection
and begins; nested calls join it. On MySQL and PostgreSQL each thread's
transaction has its own pooled connection. A writable SQLite database allows
one writer at a time anyway, so its transactions are serialised per file in
the process and share one connection; SQLite files run in WAL mode (readers
in other processes carry on) and every writing transaction there starts with
``BEGIN IMMEDIATE``, so writers from several processes queue on the file lock
instead of failing half-way; a read begins without that lock and never writes
(``_store_backfilled``). Write conflicts (SQLite busy, MySQL deadlocks
and lock timeouts, PostgreSQL serialization failures, unique violations from
concurrent inserts) raise ``ConcurrentWriteError`` (an ``AbortedError``) on
MySQL and PostgreSQL, which the service runs again, and ``AbortedError`` on
SQLite, which the Python API retries; a lost connection raises
``UnavailableError``. Nothing else serializes writers: ids come from the
database's own sequences, reads take no row locks. MLMD's schema has no
unique key on type names, so writers creating a type of one name queue on a
lock held to the end of their transaction: an advisory lock on PostgreSQL, a
named lock (``GET_LOCK``) on MySQL (see ``_claim_type_name``).

Writing transactions check nodes against the committed types this backend
has seen (``get_types``): types only gain properties, so what a known type
accepts the stored one accepts too, and a refusal is checked again against
the stored types (``_recheck_types``).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import operator
import threading
import time
import zlib
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa
from google.protobuf import json_format

from lineage import errors
from lineage.backends import sql_schema as schema
from lineage.backends.base import (
    KINDS, TYPE_CLASSES, ConcurrentWriteError, Kind, ListQuery, Node, NodeType, SnapshotNeeded, StaleSnapshotError)
from lineage.backends.sql_connect import Database
from lineage.backends.sql_exec import (MYSQL_DIALECTS, PLANNED_EACH_RUN, Compiled, MySqlClientCursor, PgLibpqCursor,
                                       PreparedStatements, Statements, id_list, translate_error)
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import ast, sql_compiler
from lineage.query.sql_compiler import STRUCT_PREFIX
from lineage.traversal import UPSTREAM, Reach

__all__ = ["SqlBackend", "open_backend", "fingerprint_table", "FINGERPRINT_TABLE_NAME", "type_name_lock",
           "fingerprints_as_text", "upgrade_fingerprint_table"]

_log = logging.getLogger(__name__)

_TYPE_KINDS = {
    "artifact": schema.TYPE_KIND_ARTIFACT,
    "execution": schema.TYPE_KIND_EXECUTION,
    "context": schema.TYPE_KIND_CONTEXT,
}
_NODE_TABLES = sql_compiler.NODE_TABLES
_PROPERTY_TABLES = sql_compiler.PROPERTY_TABLES
_LINK_TABLES = {
    "artifact": (schema.attribution_table, "artifact_id"),
    "execution": (schema.association_table, "execution_id"),
}
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_MULTI_ROW = 32
_FIRST_ANALYZE = 1000

FINGERPRINT_TABLE_NAME = "LineageFingerprint"

#: The first key of the PostgreSQL advisory locks that serialize creating types of one name.
_TYPE_NAME_LOCK = 0x6C696E66
#: Seconds a MySQL writer waits for the named lock of a type another writer is creating.
_TYPE_NAME_WAIT_S = 20
#: Up to this many new nodes, PostgreSQL inserts each with its properties in
#: one statement; more take their ids in one statement and go in as one batch
#: (two or three statements whatever their number).
_ONE_BY_ONE = 3
#: Node ids per statement of a delete: keeps every IN list well within driver limits.
_DELETE_BATCH = 1000


class _Digest(sa.types.TypeDecorator):
    """A SHA-256 fingerprint: its 64 hex digits in Python, its 32 bytes in the database.

    The table's key is a random hash, so each insert lands on a random page
    of its index: half the bytes, half the pages to keep in the server's cache.
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in MYSQL_DIALECTS:
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.BINARY(32))
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value, dialect):
        return None if value is None else bytes.fromhex(value)


_fingerprint_metadata = sa.MetaData()
#: The cache index: fingerprint -> execution ids. Not part of MLMD's schema.
fingerprint_table = sa.Table(
    sa.sql.elements.quoted_name(FINGERPRINT_TABLE_NAME, quote=False),
    _fingerprint_metadata,
    sa.Column("fingerprint", _Digest(), primary_key=True, nullable=False),
    sa.Column("execution_id", sa.Integer(), primary_key=True, autoincrement=False, nullable=False),
    sa.Index("idx_lineagefingerprint_execution_id", "execution_id"),
)
#: Indexes added to MLMD's tables, declared on stand-ins of those tables so
#: MLMD's own schema stays as ml-metadata makes it. MLMD indexes links only by
#: context: without the first two the contexts of given nodes (every lineage
#: graph, get_contexts_by_artifact/execution) are a scan of all links. The
#: third finds an artifact's events of one type (its makers, when a walk goes
#: upstream) without stepping through every read of it: MLMD's unique index
#: (artifact_id, execution_id, type) holds a raw dataset's tens of thousands of
#: INPUT events before its one OUTPUT; with the execution as its last column
#: it answers a walk's step alone, as MLMD's does (SQLite prefers an index
#: that holds every column a step reads). The fourth finds contexts by name alone
#: (``contexts_a.name = "run-7"``, the orchestrators' filter): MLMD indexes
#: names only after the type.
_added_indexes = [
    sa.Index(name, *sa.Table(sa.sql.elements.quoted_name(table, quote=False), _fingerprint_metadata,
                             *(sa.Column(column, sa.Integer(), nullable=False) for column in columns)).c)
    for name, table, columns in (
        ("idx_lineage_attribution_artifact_id", "Attribution", ("artifact_id",)),
        ("idx_lineage_association_execution_id", "Association", ("execution_id",)),
        ("idx_lineage_event_artifact_type_execution", "Event", ("artifact_id", "type", "execution_id")),
        ("idx_lineage_context_name", "Context", ("name",)),
    )
]


#: Reads of at most this many nodes fetch their properties in the same
#: statement: one round trip fewer. On PostgreSQL each node's properties are a
#: subquery of their own (``_with_properties``), one index probe per node
#: whatever the table sizes, which gained up to about 200 nodes (raw psycopg at
#: 10^4: 10 nodes 0.20 against 0.41 ms, 100 nodes 0.91 against 1.08, 300 nodes
#: 2.39 against 2.27). MariaDB joins each node's properties by their primary
#: key in any plan (raw mysqlclient at 10^4: 10 nodes 0.46 against 0.59 ms, 100
#: nodes 1.68 against 2.30, 1,000 nodes 13.5 against 15.6), but a node's
#: columns come again with each of its properties: through the API all 10,010
#: executions took 223 against 202 ms. 101 is a page of 100 and the node that
#: tells whether another page follows. SQLite has no round trips, and a
#: node's columns on each property row cost more than a second statement (100
#: artifacts by id took 964 against 906 us), but one node joined is a read of
#: one statement, which needs no BEGIN and COMMIT (``transaction``): at 10^4,
#: an artifact by uri took 7,600 fewer CPU instructions of 235,000. A read of unknown
#: size goes by the last of its kind (``_joins_properties``): a context's 12
#: artifacts on MariaDB at 10^5 took 0.55 ms joined against 0.77 ms.
_JOINED_PROPERTIES_UP_TO = {"postgresql": 101, "mysql": 101, "sqlite": 1}

#: The same for a page of a listing (a LIMIT). MariaDB keeps such a page in a
#: temporary table before it joins the properties: the latest 10 models at
#: 10^4 took 0.94 ms on the server that way, against 0.45 ms for the page and
#: about 0.2 ms for its properties as two statements.
_JOINED_PAGE_UP_TO = {"postgresql": 101, "mysql": 0, "sqlite": 0}

#: Most read shapes whose last answer's size is kept (``_remember_size``).
_REMEMBERED_SHAPES = 4096


def _b(name: str, type_=None) -> sa.BindParameter:
    return sa.bindparam(name, type_=type_)


def _lateral_rows(page, columns: list, key, name: str) -> tuple[Any, list]:
    """PostgreSQL: ``page`` LEFT JOIN LATERAL the rows (of ``columns``) whose ``key`` is the page row's id.

    The subquery is fenced (OFFSET 0) so that it stays one index probe per
    page row: merged into a plain join, it could become a hash of the whole
    table. Returns the join and the subquery's columns.
    """
    rows = sa.select(*columns).where(key == page.c.id).offset(0).lateral(name)
    return page.outerjoin(rows, sa.true()), list(rows.c)


def _order_columns(table, field: str, ascending: bool) -> list:
    """ORDER BY terms of a node listing: ``field`` in the direction, ties by id alike."""
    if field == "id":
        return [table.c.id.asc() if ascending else table.c.id.desc()]
    if ascending:
        return [table.c[field].asc(), table.c.id.asc()]
    return [table.c[field].desc(), table.c.id.desc()]


class _TxState:
    """The state of one outermost transaction, which nested ones join.

    A plain object, reached through the thread's ``_ThreadTx``: each of its
    attributes is read without the thread-local lookup (about 50 ns each, a
    few dozen times in a small read).
    """

    __slots__ = ("connection", "cursor", "deadline", "depth", "writing", "lone", "ran", "types", "remembered",
                 "bare_executions", "named_locks")

    def __init__(self, connection, cursor, deadline: "_Deadline | None", writing: bool, lone: bool):
        self.connection = connection
        # The one cursor of the transaction's statements.
        self.cursor = cursor
        # On SQLite with a statement timeout: the connection's.
        self.deadline = deadline
        self.depth = 1
        self.writing = writing
        # A one-statement read that has not begun a transaction (yet), and
        # the statements it ran alone (one at most).
        self.lone = lone
        self.ran = 0
        self.types: dict = {}
        # Types taken from the store's committed types rather than the database, by id.
        self.remembered: dict = {}
        # Executions inserted by this transaction that have no fingerprint rows yet.
        self.bare_executions: set[int] = set()
        # The transaction holds MySQL named locks (GET_LOCK), released after it ends.
        self.named_locks = False


class _Deadline:
    """A SQLite connection's progress handler, set once: it stops a statement run past its time.

    A statement's timeout is then one attribute set (``start``), not a
    handler set before the statement and cleared after it.
    """

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = math.inf  # of time.monotonic; no statement is running

    def start(self) -> None:
        """Gives the next statement ``seconds``."""
        self.at = time.monotonic() + self.seconds

    def stop(self) -> None:
        self.at = math.inf

    def __call__(self) -> bool:
        return time.monotonic() > self.at


#: Where a pooled SQLite connection keeps its ``_Deadline`` (in its ``info``).
_DEADLINE_KEY = "lineage_deadline"


class _ThreadTx(threading.local):
    """The calling thread's open transaction, if any."""

    tx: _TxState | None = None


#: A finished transaction's connection is kept for the next one, ahead of the
#: engine's pool, whose checkout and checkin took a fifth of the client CPU of a
#: one-row read on MariaDB. One kept longer than ``_IDLE_KEPT_S`` goes back to
#: the pool, which replaces connections past their recycle age; at most
#: ``_IDLE_KEPT`` are kept (the connections of that many concurrent callers).
#: Where transactions are serialised (SQLite files) one connection serves them all.
_IDLE_KEPT_S = 10.0
_IDLE_KEPT = 5

# SQLite VM instructions between two looks at the clock (about a millisecond).
_SQLITE_PROGRESS_STEPS = 10000


class SqlBackend:
    """Stores MLMD records in MLMD's relational schema.

    Its ``traverse`` is native (recursive SQL) and takes ``as_of_ms``
    (``traverses_as_of``), with the time filter inside the recursive query.

    Args:
        database: The opened database (``lineage.backends.sql_connect``).
        has_fingerprint_table: Whether ``LineageFingerprint`` exists already.
    """

    #: ``traverse`` takes ``as_of_ms`` (see ``lineage_service._walker``).
    traverses_as_of = True

    def __init__(self, database: Database, has_fingerprint_table: bool):
        self._database = database
        self._engine = database.engine
        self._dialect = database.dialect
        self._mysql = database.dialect == "mysql"
        self._where = database.where
        self._stmts = Statements(self._engine.dialect)
        self._local = _ThreadTx()
        self._lock = database.lock
        self._begin = database.begin
        self._begin_read = database.begin if database.begin_read is None else database.begin_read
        # A reading transaction holds the write lock too (all but SQLite
        # files), and may store what a lookup backfills.
        self._reads_may_write = self._begin_read == self._begin
        self._end_read = database.end_read
        self._resume = database.resume
        self._prepared = (PreparedStatements(self._engine.dialect.loaded_dbapi)
                          if _is_mariadb(self._engine.dialect) else None)
        # The backend's statements skip SQLAlchemy's proxy, and the driver's
        # cursor class where it costs the most.
        self._cursor_class = _CURSOR_CLASSES.get(self._engine.dialect.driver)
        self._read_only = database.read_only
        # SQLite has no server to enforce a statement timeout: a progress
        # handler (``_Deadline``, one per connection) interrupts a statement past its time.
        self._sqlite_timeout = database.statement_timeout if database.dialect == "sqlite" else None
        self._fingerprints_ready = has_fingerprint_table
        self._fingerprint_guard = threading.Lock()
        self._fingerprint_watermark: int | None = None
        self._unstored_fingerprints: dict[str, set[int]] = {}
        self._unstored_executions: set[int] = set()
        # Fingerprints backfilled by a read that could not store them, by execution.
        self._backfilled: dict[int, list[str]] = {}
        self._after_first_transaction: Callable[[], None] | None = None
        self._closed = False
        # Connections of finished transactions, newest last: (connection, cursor or None, when kept).
        self._idle: list[tuple[Any, Any, float]] = []
        # Nodes the last read of each shape of unknown size returned (_joins_properties).
        self._last_sizes: dict[Any, int] = {}
        # Committed types by id, shared by all transactions, filled only on
        # commit (a rolled-back type's id never lingers here). A type is never
        # deleted or renamed and its properties keep their data types, but
        # another client may add properties: see get_types for when these
        # answer.
        self._committed_types: dict[int, tuple[Kind, NodeType]] = {}
        # SQLite plans from statistics only ANALYZE gathers; see _analyze.
        self._inserted = 0
        self._analyze_at = (_FIRST_ANALYZE if database.dialect in ("sqlite", "postgresql") and not database.read_only
                            else 1 << 62)

    @property
    def database(self) -> Database:
        """The database this backend writes to."""
        return self._database

    # -- transactions ---------------------------------------------------------

    def transaction(self, write: bool = True, one_statement: bool = False) -> "_Transaction":
        """Opens an all-or-nothing unit of work; nested calls join the outer one.

        Args:
            write: Whether the unit of work may write. Every transaction here
                takes the same locks; a writing one validates against the
                types this store knows (``get_types``), and the first writing
                one adds what lineage adds to MLMD's schema, if missing,
                before it reads anything.
            one_statement: With ``write=False``, where a transaction takes
                statements of its own (BEGIN and COMMIT: on PostgreSQL two
                round trips of three, on SQLite two statements' work):
                BEGIN waits for the first statement, which runs alone when
                it is the read's last (``_run``), and a statement after that
                one raises ``SnapshotNeeded``.
        """
        if write and not self._fingerprints_ready and not self._read_only and self._local.tx is None:
            self._ensure_fingerprint_table()
        return _Transaction(self, write, one_statement and not write and self._begin_read is not None)

    def _enter(self, write: bool = True, lone: bool = False) -> None:
        local = self._local
        tx = local.tx
        if tx is not None:
            tx.depth += 1
            return
        if self._closed:
            raise errors.FailedPreconditionError(f"{self._where}: the store is closed")
        lock = self._lock
        if lock is not None:
            lock.acquire()
        connection = None
        try:
            # One cursor serves the whole transaction: each statement's rows
            # are read before the next one runs.
            connection, cursor = self._checkout()
            deadline = None if self._sqlite_timeout is None else self._deadline(connection)
            begin = self._begin if write else self._begin_read
            if begin is not None and not lone:
                cursor.execute(begin)
        except Exception as e:
            error = translate_error(e, self._where)
            if connection is not None:
                self._checkin(connection, None, broken=isinstance(error, errors.UnavailableError))
            if lock is not None:
                lock.release()
            raise error from e
        local.tx = _TxState(connection, cursor, deadline, write, lone)

    def _checkout(self):
        """A pooled connection and a cursor on it for a new outermost transaction.

        The connection last kept (``_checkin``) comes first, with its cursor
        when its transaction ended well; else the pool's.
        """
        idle = self._idle
        while idle:
            try:
                connection, cursor, since = idle.pop()
            except IndexError:  # another thread took it
                break
            if time.monotonic() - since >= _IDLE_KEPT_S:
                _return_to_pool(connection, cursor)  # the pool replaces old connections
                continue
            if self._resume is not None:
                try:
                    self._resume(connection)
                except sa.exc.DisconnectionError:
                    connection.invalidate()
                    continue
            return connection, (self._cursor(connection) if cursor is None else cursor)
        connection = self._engine.raw_connection()
        try:
            return connection, self._cursor(connection)
        except BaseException:
            connection.close()
            raise

    def _checkin(self, connection, cursor, broken: bool) -> None:
        """Keeps a transaction's connection, and ``cursor`` unless None, for the next one, or returns it to the pool."""
        if broken:
            connection.invalidate()
        elif self._closed or len(self._idle) >= _IDLE_KEPT:
            _return_to_pool(connection, cursor)
        else:
            self._idle.append((connection, cursor, time.monotonic()))

    def _exit(self, failure: BaseException | None) -> None:
        tx = self._local.tx
        tx.depth -= 1
        if tx.depth:
            return
        self._local.tx = None
        connection = tx.connection
        cursor = tx.cursor
        named_locks = tx.named_locks
        error: errors.StatusError | None = None
        backfilled = None
        broken = isinstance(failure, errors.UnavailableError)
        if tx.deadline is not None:
            tx.deadline.stop()
        try:
            if failure is not None:
                broken = not self._rollback(connection) or broken
                if tx.remembered and not broken and isinstance(failure, errors.InvalidArgumentError):
                    error, broken = self._recheck_types(connection, tx.remembered, failure)
            else:
                try:
                    if not tx.writing and not named_locks and self._end_read is not None:
                        self._end_read(connection)
                    elif not tx.lone:  # a lone statement was its own transaction
                        self._commit(connection, cursor)
                except Exception as e:
                    error = translate_error(e, self._where)
                    broken = not self._rollback(connection) or isinstance(error, errors.UnavailableError)
                else:
                    committed = self._committed_types
                    for type_id, (kind, type_) in tx.types.items():
                        if kind is not None:
                            committed[type_id] = (kind, type_)
                    if self._inserted >= self._analyze_at:
                        self._analyze(connection)
                    if self._backfilled:
                        backfilled, self._backfilled = self._backfilled, {}
        finally:
            if named_locks and not broken:
                broken = not self._release_named_locks(connection)
            # A cursor whose transaction failed may hold what the failure left: not kept.
            self._checkin(connection, cursor if failure is None and error is None else None, broken)
            if self._lock is not None:
                self._lock.release()
            if self._after_first_transaction is not None:
                hook, self._after_first_transaction = self._after_first_transaction, None
                hook()
        if error is not None:
            raise error
        if backfilled:
            self._store_backfilled(backfilled)

    def _commit(self, connection, cursor) -> None:
        """Commits the outermost transaction.

        A transaction the backend began ends with its own COMMIT, on the
        statements' ``cursor``: the drivers' ``commit()`` goes through more of
        their machinery (SQLite's prepares COMMIT anew each time).
        """
        if self._begin is None:
            connection.commit()
        else:
            cursor.execute("COMMIT")

    def _analyze(self, connection) -> None:
        """Refreshes the planner statistics of SQLite and PostgreSQL once the store has grown enough.

        Without them SQLite reaches a type's nodes through the (type_id, name)
        index even when the type holds most nodes, which is slower than a scan.
        PostgreSQL's autovacuum refreshes them too, but up to a minute after
        the writes: a store read right after it was written had no column
        statistics, and a subquery per node or event (``_with_properties``,
        ``_with_paths``) then scanned its whole table each time (events of 100
        artifacts at 10^4: 77 ms, against 1.5 ms once analyzed). Each refresh
        waits until as many nodes again were written, so its cost stays a
        constant share of the writes. MySQL keeps its statistics itself.
        """
        try:
            cursor = connection.cursor()
            if self._dialect == "postgresql":
                nodes = self._analyze_postgresql(cursor)
            else:
                nodes = self._analyze_sqlite(cursor)
            connection.commit()
            self._analyze_at = self._inserted + max(_FIRST_ANALYZE, nodes)
        except Exception:  # noqa: BLE001 - statistics are an optimisation
            _log.debug("ANALYZE failed on %s", self._where, exc_info=True)
            self._rollback(connection)
            self._analyze_at = self._inserted + _FIRST_ANALYZE

    @staticmethod
    def _analyze_sqlite(cursor) -> int:
        """Gathers SQLite's statistics but Event's; returns the number of nodes."""
        cursor.execute("ANALYZE")
        # With statistics on Event, SQLite (3.38+) puts a Bloom filter on
        # the joins of a recursive walk, built by scanning all of Event at
        # every step: 8x slower at 10^4 events and growing with the store.
        # Event is only ever reached by its indexes, which need no
        # statistics. "ANALYZE sqlite_master" reloads what is left.
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'Event'")
        cursor.execute("ANALYZE sqlite_master")
        return sum(cursor.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                   for name in ("Artifact", "Execution", "Context"))

    def _analyze_postgresql(self, cursor) -> int:
        """Gathers the statistics of MLMD's tables; returns the number of nodes (as estimated)."""
        preparer = self._engine.dialect.identifier_preparer
        # Table names are identifiers of this schema, not values.
        cursor.execute("ANALYZE " + ", ".join(preparer.format_table(t) for t in schema.metadata.sorted_tables))
        cursor.execute("SELECT COALESCE(SUM(GREATEST(reltuples, 0)), 0)::BIGINT FROM pg_class "
                       "WHERE oid = ANY(%(tables)s::REGCLASS[])",
                       {"tables": [preparer.format_table(_NODE_TABLES[kind]) for kind in KINDS]})
        return int(cursor.fetchone()[0])

    def _recheck_types(self, connection, remembered: dict[int, NodeType],
                       failure: errors.InvalidArgumentError) -> tuple[errors.StatusError | None, bool]:
        """Reads the remembered types of a refused call afresh, after its rollback.

        Another client may have given one of them a property the call used.
        Returns (the error to raise instead of the refusal, or None to keep
        it; whether the connection broke).
        """
        compiled = self._stmt(("types_n",), self._types_by_ids)
        try:
            cursor = connection.cursor()
            compiled.execute(cursor, compiled.params({"b_ids": sorted(remembered)}))
            rows = compiled.rows(cursor)
            connection.rollback()
        except Exception:  # noqa: BLE001 - the refusal stands; the caller drops the connection
            _log.debug("re-reading types failed", exc_info=True)
            return None, True
        stored = {t.id: t for t in self._types_from_rows(None, rows)}
        committed = self._committed_types
        for type_id, type_ in stored.items():
            committed[type_id] = (_kind_of(type_), type_)
        if all(stored.get(type_id) == type_ for type_id, type_ in remembered.items()):
            return None, False
        error = StaleSnapshotError(
            f"{self._where}: a type this call was checked against has changed since this client "
            "read it; nothing was written, run the call again")
        error.__cause__ = failure
        return error, False

    @staticmethod
    def _release_named_locks(connection) -> bool:
        """Releases this session's MySQL named locks; False when that failed.

        Named locks belong to the session, not the transaction, and a pooled
        connection outlives both: a connection that cannot release them is
        dropped, which ends the session and its locks with it.
        """
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT RELEASE_ALL_LOCKS()")
            cursor.fetchall()
            return True
        except Exception:  # noqa: BLE001 - the caller drops the connection
            _log.debug("releasing named locks failed", exc_info=True)
            return False

    @staticmethod
    def _rollback(connection) -> bool:
        """Rolls back; False when the connection is broken."""
        try:
            connection.rollback()
            return True
        except Exception:  # noqa: BLE001 - the caller drops the connection
            _log.debug("rollback failed", exc_info=True)
            return False

    def close(self) -> None:
        """Releases every pooled connection."""
        if not self._closed:
            self._closed = True
            lock = self._lock
            if lock is not None:
                lock.acquire()
            try:
                idle, self._idle = self._idle, []
                for connection, cursor, _ in idle:
                    _return_to_pool(connection, cursor)
            finally:
                if lock is not None:
                    lock.release()
            self._database.dispose()

    # -- statement helpers ----------------------------------------------------

    def _tx(self) -> _TxState:
        """The calling thread's open transaction."""
        tx = self._local.tx
        if tx is None:
            raise errors.InternalError("SqlBackend used outside transaction()")
        return tx

    def _connection(self):
        return self._tx().connection

    def _deadline(self, connection) -> _Deadline:
        """The ``_Deadline`` of a pooled SQLite connection, set as its progress handler the first time."""
        info = connection.info
        deadline = info.get(_DEADLINE_KEY)
        if deadline is None:
            deadline = info[_DEADLINE_KEY] = _Deadline(self._sqlite_timeout)
            connection.driver_connection.set_progress_handler(deadline, _SQLITE_PROGRESS_STEPS)
        return deadline

    def _cursor(self, connection):
        """A cursor for the backend's statements on a pooled connection."""
        cursor_class = self._cursor_class
        return connection.cursor() if cursor_class is None else cursor_class(connection.driver_connection)

    def _run(self, compiled: Compiled, params: dict[str, Any] | None = None, last: bool = False):
        """Runs a statement in the open transaction and returns its cursor.

        Args:
            compiled: The statement.
            params: Its parameters, by bind name.
            last: No other statement follows in the common case: a
                one-statement read runs it alone (``transaction``).
        """
        tx = self._tx()
        if tx.lone:
            if tx.ran:
                raise SnapshotNeeded(f"{self._where}: a second statement in a one-statement read")
            if last:
                tx.ran = 1
            else:
                self._begin_late(tx)
        connection = tx.connection
        cursor = tx.cursor
        if tx.deadline is not None:
            tx.deadline.start()
        try:
            values = compiled.params(params)
            if self._prepared is None:
                compiled.execute(cursor, values)
            else:
                text, values = self._prepared.statement(cursor, connection.driver_connection, compiled, values)
                compiled.execute(cursor, values, text)
        except Exception as e:
            raise translate_error(e, self._where) from e
        return cursor

    def _begin_late(self, tx: _TxState) -> None:
        """Begins the transaction of a one-statement read that needs more statements after all."""
        try:
            tx.cursor.execute(self._begin_read)
        except Exception as e:
            raise translate_error(e, self._where) from e
        tx.lone = False

    def _rows(self, compiled: Compiled, params: dict[str, Any] | None = None, processed: bool = True,
              last: bool = False) -> list[tuple]:
        cursor = self._run(compiled, params, last)
        try:
            return compiled.rows(cursor, processed)
        except Exception as e:
            raise translate_error(e, self._where) from e

    def _run_many(self, compiled: Compiled, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        tx = self._tx()
        cursor = tx.cursor
        if tx.deadline is not None:
            tx.deadline.start()
        try:
            cursor.executemany(compiled.text, [compiled.params(r) for r in rows])
        except Exception as e:
            raise translate_error(e, self._where) from e

    def _insert_many(self, key, table: sa.Table, spec: tuple, rows: Sequence[dict[str, Any]],
                     skip_stored: bool = False) -> None:
        """Inserts rows; ``spec`` lists (column, parameter name, type or None).

        The servers get multi-row VALUES statements, one round trip per
        chunk: PyMySQL sends an executemany of anything but plain placeholders
        one row at a time, and psycopg's pipelined executemany still costs
        about three single statements. SQLite runs in process, where
        executemany is cheapest.

        With ``skip_stored`` a row whose unique key is stored already is left
        out, by the database, instead of failing the statement.
        """
        if not rows:
            return

        def values() -> dict[str, Any]:
            return {column: _b(name, type_) for column, name, type_ in spec}

        if self._dialect == "sqlite" or len(rows) == 1:
            compiled = self._stmt(("insert_many", key, skip_stored), lambda: self._insert_statement(
                table, skip_stored).values(**values()))
            if len(rows) == 1:
                self._run(compiled, rows[0])
            else:
                self._run_many(compiled, rows)
            return
        if self._dialect == "postgresql" and len(rows) > _MULTI_ROW:
            if skip_stored:
                self._insert_arrays(key, table, spec, rows)
            else:
                self._copy_rows(key, table, spec, rows)
            return
        for start in range(0, len(rows), _MULTI_ROW):
            self._insert_chunk(key, table, spec, rows[start:start + _MULTI_ROW], skip_stored)

    def _insert_chunk(self, key, table: sa.Table, spec: tuple, chunk: Sequence[dict[str, Any]],
                      skip_stored: bool = False, returning=None):
        """Inserts up to ``_MULTI_ROW`` rows with one multi-row VALUES statement; returns its cursor."""
        count = len(chunk)

        def build():
            statement = self._insert_statement(table, skip_stored).values([
                {column: _b(f"{name}__{i}", type_) for column, name, type_ in spec} for i in range(count)])
            return statement if returning is None else statement.returning(returning)

        compiled = self._stmt(("insert_multi", key, count, skip_stored), build)
        params = {}
        for i, row in enumerate(chunk):
            for name, value in row.items():
                params[f"{name}__{i}"] = value
        return self._run(compiled, params)

    def _ids_in_bulk(self) -> bool:
        """Whether rows of an id-generating table can go in many per statement with known ids.

        PostgreSQL reserves them from the table's sequence; MariaDB returns
        them (``INSERT ... RETURNING``, 10.5 and later). MySQL 8 has neither
        (``LAST_INSERT_ID`` gives consecutive ids only in some lock modes):
        one row per statement there.
        """
        return self._dialect == "postgresql" or (self._mysql and self._engine.dialect.insert_returning)

    def _insert_with_ids(self, key, table: sa.Table, spec: tuple, rows: list[dict[str, Any]]) -> list[int]:
        """Inserts rows of a table whose ids the database makes, many per statement; returns the ids in order.

        Only where ``_ids_in_bulk``. ``spec`` is as ``_insert_many``'s, without the id.
        """
        if self._dialect == "postgresql":
            ids = self._reserve_ids(table, len(rows))
            self._insert_many(key, table, (("id", "b_id", None), *spec),
                              [{"b_id": row_id, **row} for row_id, row in zip(ids, rows, strict=True)])
            return ids
        ids: list[int] = []
        for start in range(0, len(rows), _MULTI_ROW):
            chunk = rows[start:start + _MULTI_ROW]
            cursor = self._insert_chunk((key, "returning"), table, spec, chunk, returning=table.c.id)
            # A statement's rows take ids from one rising counter, in the
            # order of its VALUES; RETURNING need not list them in that order.
            ids.extend(sorted(int(row[0]) for row in cursor.fetchall()))
        return ids

    def _insert_statement(self, table: sa.Table, skip_stored: bool = False):
        """An INSERT into ``table``; with ``skip_stored`` one that leaves out rows whose unique key is stored.

        The key is the table's unique constraint (a link's context and node),
        named as the conflict target so any other clash still fails. MySQL
        has no ON CONFLICT: a duplicate key there "updates" a column of that
        key to itself, which changes nothing (INSERT IGNORE would also turn
        other errors into warnings).
        """
        if not skip_stored:
            return sa.insert(table)
        [key] = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
        columns = [column.name for column in key.columns]
        if self._mysql:
            from sqlalchemy.dialects import mysql

            return mysql.insert(table).on_duplicate_key_update({columns[0]: table.c[columns[0]]})
        if self._dialect == "postgresql":
            from sqlalchemy.dialects import postgresql as dialect_module
        else:
            from sqlalchemy.dialects import sqlite as dialect_module
        return dialect_module.insert(table).on_conflict_do_nothing(index_elements=columns)

    def _insert_arrays(self, key, table: sa.Table, spec: tuple, rows: Sequence[dict[str, Any]]) -> None:
        """Inserts rows on PostgreSQL as one array per column (``unnest``), skipping stored keys.

        The large batches of an import in one statement, where COPY cannot
        skip a row. ``spec``'s columns are integers.
        """
        compiled = self._stmt(("insert_arrays", key), lambda: self._insert_statement(table, True).from_select(
            [column for column, _, _ in spec],
            sa.select(sa.text("*")).select_from(sa.func.unnest(*(
                sa.cast(_b(name, sa.ARRAY(sa.Integer())), sa.ARRAY(sa.Integer())) for _, name, _ in spec)))))
        self._run(compiled, {name: [row[name] for row in rows] for _, name, _ in spec})

    def _copy_rows(self, key, table: sa.Table, spec: tuple, rows: Sequence[dict[str, Any]]) -> None:
        """Inserts rows on PostgreSQL with one ``COPY ... FROM STDIN``: the rows travel as data.

        Values pass the same bind processors as an INSERT's, so they are stored
        as an INSERT would store them; a large batch is one round trip, and the
        server parses no statement text per row.
        """
        compiled = self._stmt(("insert_many", key), lambda: sa.insert(table).values(
            **{column: _b(name, type_) for column, name, type_ in spec}))
        names = [name for _, name, _ in spec]
        # Identifiers of our own schema, never values.
        preparer = self._engine.dialect.identifier_preparer
        text = (f"COPY {preparer.format_table(table)} "
                f"({', '.join(preparer.quote(column) for column, _, _ in spec)}) FROM STDIN")
        cursor = self._connection().cursor()
        try:
            with cursor.copy(text) as copy:
                for row in rows:
                    processed = compiled.params(row)
                    copy.write_row([processed[name] for name in names])
        except Exception as e:
            raise translate_error(e, self._where) from e

    def _reserve_ids(self, table: sa.Table, count: int) -> list[int]:
        """Takes ``count`` ids of a PostgreSQL table's id sequence in one statement, ascending.

        Rows then go in with their ids as one multi-row write, where an
        INSERT ... RETURNING per row would cost a round trip each.
        """
        compiled = self._stmt(("reserve_ids",), lambda: sa.select(
            sa.func.nextval(sa.func.pg_get_serial_sequence(_b("b_table", sa.String()), _b("b_column", sa.String())))
        ).select_from(sa.func.generate_series(1, _b("b_count", sa.Integer()))))
        rows = self._rows(compiled, {"b_table": str(table.name).lower(), "b_column": "id", "b_count": count})
        return sorted(int(row[0]) for row in rows)

    def _insert_id(self, compiled: Compiled, params: dict[str, Any]) -> int:
        cursor = self._run(compiled, params)
        if self._dialect == "postgresql":
            return int(cursor.fetchone()[0])
        return int(cursor.lastrowid)

    def _stmt(self, key, build: Callable[[], Any]) -> Compiled:
        return self._stmts.get(key, build)

    def _text_eq(self, column, name: str):
        """``column = :name`` on text, exact (case and trailing spaces count) on MySQL too."""
        condition = column == _b(name, column.type)
        if self._mysql:
            exact = sql_compiler.utf8_bytes(column) == _b(f"{name}__bytes", sa.LargeBinary())
            condition = sa.and_(condition, exact)
        return condition

    def _text_params(self, name: str, value: str) -> dict[str, Any]:
        if self._mysql:
            return {name: value, f"{name}__bytes": value.encode("utf-8")}
        return {name: value}

    def _in(self, column, name: str, element: str = "int"):
        return id_list(column, name, element)

    # -- bulk import ------------------------------------------------------------
    def commit_import_part(self) -> bool:
        """Keeps an Import in one transaction: this store holds a large one whole."""
        return False

    def empty_store(self, keep_type_ids: Iterable[int]) -> None:
        """Never needed: an Import here is one transaction, rolled back whole on failure."""
        raise errors.InternalError("this backend commits no part of an Import; there is nothing to undo")

    # -- types ----------------------------------------------------------------

    def _write_check(self) -> None:
        if self._read_only:
            raise errors.FailedPreconditionError(
                f"{self._where} was opened with connection_mode READONLY; it cannot be written")

    def insert_type(self, kind: Kind, type_: NodeType) -> int:
        self._write_check()
        if self._dialect != "sqlite":
            self._claim_type_name(kind, type_)
        t = schema.type_table
        compiled = self._stmt(("insert_type",), lambda: self._returning_id(
            sa.insert(t).values(
                name=_b("b_name", t.c.name.type), version=_b("b_version", t.c.version.type),
                type_kind=_b("b_kind", t.c.type_kind.type),
                description=_b("b_description", t.c.description.type),
                input_type=_b("b_input", t.c.input_type.type),
                output_type=_b("b_output", t.c.output_type.type),
                external_id=_b("b_external_id", t.c.external_id.type)), t))
        type_.id = self._insert_id(compiled, self._type_params(kind, type_))
        self._insert_type_properties(type_)
        self._type_cache()[type_.id] = (kind, _copy(type_))
        return type_.id

    def _claim_type_name(self, kind: Kind, type_: NodeType) -> None:
        """Makes sure no concurrent writer creates a type of this kind, name and version too.

        MLMD's schema has no unique key on type names, and a transaction's
        snapshot cannot see a type another one committed after it began. So
        writers creating one name queue on a lock that lasts until their
        transaction ends (PostgreSQL: a transaction-scoped advisory lock;
        MySQL: a named lock that ``_exit`` releases after the commit or
        rollback), and the one that gets it second looks with a fresh snapshot
        on a connection of its own: when the type exists now, the call runs
        again. SQLite has one writer at a time and needs none of this.

        Raises:
            ConcurrentWriteError: A concurrent writer created the type, or (MySQL)
                holds the lock of a second name this transaction wants.
        """
        version = type_.version if type_.HasField("version") else None
        try:
            cursor = self._connection().cursor()
            if self._mysql:
                database = self._database.database_name
                self._lock_type_name(cursor, type_name_lock(database, kind, type_.name, version))
            else:
                key = zlib.crc32(f"{kind}\0{type_.name}\0{version}".encode("utf-8")) - (1 << 31)
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_TYPE_NAME_LOCK, key))
                cursor.fetchall()
            compiled, params = self._find_type_query(kind, type_.name, version)
            fresh = self._engine.raw_connection()
            try:
                cursor = fresh.cursor()
                compiled.execute(cursor, compiled.params(params))
                taken = bool(cursor.fetchall())
                fresh.rollback()
            finally:
                fresh.close()
        except ConcurrentWriteError:
            raise
        except Exception as e:
            raise translate_error(e, self._where) from e
        if taken:
            raise ConcurrentWriteError(
                f"{self._where}: a concurrent writer created {kind} type {type_.name!r} since this "
                "call looked for it; nothing was written, run the call again")

    def _lock_type_name(self, cursor, name: str) -> None:
        """Takes a MySQL named lock (``type_name_lock``) for this transaction.

        The first lock of a transaction waits for its holder; a further one is
        only tried: two writers each holding one name and waiting for the
        other's would wait forever, as MariaDB does not detect deadlocks of
        named locks.
        """
        tx = self._tx()
        wait = 0 if tx.named_locks else _TYPE_NAME_WAIT_S
        cursor.execute("SELECT GET_LOCK(%s, %s)", (name, wait))
        [(got,)] = cursor.fetchall()
        if got == 1:
            tx.named_locks = True
            return
        raise ConcurrentWriteError(
            f"{self._where}: another writer is creating a type of the same name; nothing was "
            "written, run the call again")

    def _returning_id(self, statement, table):
        if self._dialect == "postgresql":
            return statement.returning(table.c.id)
        return statement

    @staticmethod
    def _type_params(kind: Kind, type_: NodeType) -> dict[str, Any]:
        def optional(field: str):
            return getattr(type_, field) if type_.HasField(field) else None

        params = {
            "b_name": type_.name, "b_version": optional("version") or None,
            "b_kind": _TYPE_KINDS[kind], "b_description": optional("description"),
            "b_external_id": optional("external_id"), "b_input": None, "b_output": None,
        }
        if kind == "execution":
            for field, key in (("input_type", "b_input"), ("output_type", "b_output")):
                if type_.HasField(field):
                    params[key] = _struct_type_json(getattr(type_, field))
        return params

    def _insert_type_properties(self, type_: NodeType) -> None:
        tp = schema.type_property_table
        spec = (("type_id", "b_type_id", None), ("name", "b_name", tp.c.name.type),
                ("data_type", "b_data_type", None))
        self._insert_many("type_property", tp, spec, [
            {"b_type_id": type_.id, "b_name": name, "b_data_type": int(data_type)}
            for name, data_type in sorted(type_.properties.items())
        ])

    def update_type(self, kind: Kind, type_: NodeType) -> None:
        self._write_check()
        t = schema.type_table
        compiled = self._stmt(("update_type",), lambda: sa.update(t).where(t.c.id == _b("b_id")).values(
            name=_b("b_name", t.c.name.type), version=_b("b_version", t.c.version.type),
            type_kind=_b("b_kind", t.c.type_kind.type),
            description=_b("b_description", t.c.description.type),
            input_type=_b("b_input", t.c.input_type.type),
            output_type=_b("b_output", t.c.output_type.type),
            external_id=_b("b_external_id", t.c.external_id.type)))
        self._run(compiled, {**self._type_params(kind, type_), "b_id": type_.id})
        tp = schema.type_property_table
        delete = self._stmt(("delete_type_properties",), lambda: sa.delete(tp).where(tp.c.type_id == _b("b_id")))
        self._run(delete, {"b_id": type_.id})
        self._insert_type_properties(type_)
        self._type_cache()[type_.id] = (kind, _copy(type_))

    def _type_cache(self) -> dict:
        tx = self._local.tx
        return tx.types if tx is not None else {}

    def _type_select(self):
        """Types with their properties, one row per property (one per type without any)."""
        t, tp = schema.type_table, schema.type_property_table
        return sa.select(t.c.id, t.c.name, t.c.version, t.c.description, t.c.external_id,
                         t.c.input_type, t.c.output_type, t.c.type_kind, tp.c.name, tp.c.data_type
                         ).select_from(sa.outerjoin(t, tp, tp.c.type_id == t.c.id))

    def _types_from_rows(self, kind: Kind | None, rows: list[tuple]) -> list[NodeType]:
        types: list[NodeType] = []
        current = None
        for (type_id, name, version, description, external_id, input_type, output_type, type_kind,
             prop_name, data_type) in rows:
            if current is None or current.id != type_id:
                row_kind = kind or _KIND_OF_TYPE_KIND.get(type_kind)
                if row_kind is None:
                    current = None
                    continue
                current = TYPE_CLASSES[row_kind](id=type_id, name=name)
                if version is not None:
                    current.version = version
                if description is not None:
                    current.description = description
                if external_id is not None:
                    current.external_id = external_id
                if row_kind == "execution":
                    if input_type is not None:
                        _parse_struct_type(input_type, current.input_type)
                    if output_type is not None:
                        _parse_struct_type(output_type, current.output_type)
                types.append(current)
            if prop_name is not None:
                current.properties[prop_name] = data_type or 0
        return types

    def get_types(self, kind: Kind, ids: Iterable[int] | None = None) -> list[NodeType]:
        t = schema.type_table
        if ids is None:
            compiled = self._stmt(("types_all",), lambda: self._type_select().where(
                t.c.type_kind == _b("b_kind", t.c.type_kind.type)).order_by(t.c.id))
            types = self._types_from_rows(kind, self._rows(compiled, {"b_kind": _TYPE_KINDS[kind]}))
            cache = self._type_cache()
            for type_ in types:
                cache[type_.id] = (kind, type_)
            return [_copy(type_) for type_ in types]
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return []
        cache = self._type_cache()
        missing = [i for i in wanted if i not in cache]
        tx = self._local.tx
        if missing and tx is not None and tx.writing:
            # Enough to check a write: a node's property declared by the known
            # type is declared by the stored one. A refusal is checked again
            # on the stored types (_recheck_types).
            committed, remembered = self._committed_types, tx.remembered
            for i in missing:
                known = committed.get(i)
                if known is not None:
                    cache[i] = known
                    remembered[i] = known[1]
            missing = [i for i in missing if i not in cache]
        if missing:
            if len(missing) == 1:
                compiled = self._stmt(("types_1",), lambda: self._type_select().where(
                    t.c.id == _b("b_id", sa.BigInteger())))
                rows = self._rows(compiled, {"b_id": missing[0]})
            else:
                compiled = self._stmt(("types_n",), self._types_by_ids)
                rows = self._rows(compiled, {"b_ids": missing})
            for type_ in self._types_from_rows(None, rows):
                cache[type_.id] = (_kind_of(type_), type_)
            for i in missing:
                cache.setdefault(i, (None, None))
        return [_copy(cache[i][1]) for i in wanted if cache[i][0] == kind]

    def _types_by_ids(self):
        t = schema.type_table
        return self._type_select().where(self._in(t.c.id, "b_ids")).order_by(t.c.id)

    def find_type(self, kind: Kind, name: str, version: str | None) -> NodeType | None:
        compiled, params = self._find_type_query(kind, name, version)
        rows = self._rows(compiled, params)
        rows = [row for row in rows if row[0] == rows[0][0]] if rows else rows
        found = self._types_from_rows(kind, rows)
        return found[0] if found else None

    def _find_type_query(self, kind: Kind, name: str, version: str | None) -> tuple[Compiled, dict[str, Any]]:
        """The statement and parameters reading the type of a kind, name and version."""
        t = schema.type_table
        if version:
            compiled = self._stmt(("find_type_v",), lambda: self._type_select().where(
                self._text_eq(t.c.name, "b_name"), self._text_eq(t.c.version, "b_version"),
                t.c.type_kind == _b("b_kind", t.c.type_kind.type)).order_by(t.c.id))
            params = {**self._text_params("b_name", name), **self._text_params("b_version", version)}
        else:
            compiled = self._stmt(("find_type",), lambda: self._type_select().where(
                self._text_eq(t.c.name, "b_name"),
                sa.or_(t.c.version.is_(None), t.c.version == sa.literal("", t.c.version.type)),
                t.c.type_kind == _b("b_kind", t.c.type_kind.type)).order_by(t.c.id))
            params = self._text_params("b_name", name)
        params["b_kind"] = _TYPE_KINDS[kind]
        return compiled, params

    def find_types_by_external_id(self, kind: Kind, external_ids: Iterable[str]) -> list[NodeType]:
        wanted = sorted(set(external_ids))
        if not wanted:
            return []
        t = schema.type_table
        if self._mysql or len(wanted) == 1:
            compiled = self._stmt(("types_by_external_id_1",), lambda: self._type_select().where(
                self._text_eq(t.c.external_id, "b_external_id"),
                t.c.type_kind == _b("b_kind", t.c.type_kind.type)))
            rows = []
            for external_id in wanted:
                rows.extend(self._rows(compiled, {**self._text_params("b_external_id", external_id),
                                                  "b_kind": _TYPE_KINDS[kind]}))
            rows.sort(key=_first)  # stable: a type's rows stay together
        else:
            compiled = self._stmt(("types_by_external_id_n",), lambda: self._type_select().where(
                self._in(t.c.external_id, "b_external_ids", "str"),
                t.c.type_kind == _b("b_kind", t.c.type_kind.type)).order_by(t.c.id))
            rows = self._rows(compiled, {"b_external_ids": wanted, "b_kind": _TYPE_KINDS[kind]})
        return self._types_from_rows(kind, rows)

    def set_parent_type(self, kind: Kind, type_id: int, parent_type_id: int) -> None:
        self._write_check()
        pt = schema.parent_type_table
        compiled = self._stmt(("insert_parent_type",), lambda: sa.insert(pt).values(
            type_id=_b("b_type_id"), parent_type_id=_b("b_parent_id")))
        self._run(compiled, {"b_type_id": type_id, "b_parent_id": parent_type_id})

    def get_parent_types(self, kind: Kind, type_ids: Iterable[int]) -> dict[int, list[int]]:
        wanted = sorted({int(i) for i in type_ids})
        if not wanted:
            return {}
        pt = schema.parent_type_table
        compiled = self._stmt(("parent_types",), lambda: sa.select(pt.c.type_id, pt.c.parent_type_id).where(
            self._in(pt.c.type_id, "b_ids")).order_by(pt.c.type_id, pt.c.parent_type_id))
        found: dict[int, list[int]] = {}
        for type_id, parent_id in self._rows(compiled, {"b_ids": wanted}):
            found.setdefault(type_id, []).append(parent_id)
        return found

    # -- nodes ----------------------------------------------------------------

    def _node_columns(self, kind: Kind, node_table=None):
        node = node_table if node_table is not None else _NODE_TABLES[kind]
        # The type's name is not joined but filled in from the store's cached
        # types (see _nodes): joining Type lets a planner start from the few
        # types and walk every node of each, as MariaDB does for a read by ids.
        columns = [node.c.id, node.c.type_id, node.c.name, node.c.external_id,
                   node.c.create_time_since_epoch, node.c.last_update_time_since_epoch,
                   sa.null().label("type_name")]
        if kind == "artifact":
            columns += [node.c.uri, node.c.state]
        elif kind == "execution":
            columns.append(node.c.last_known_state)
        return columns

    def _node_select(self, kind: Kind):
        """Nodes, without their properties."""
        return sa.select(*self._node_columns(kind)).select_from(_NODE_TABLES[kind])

    def _joins_properties(self, at_most: int | None, page: bool = False, shape: Any = None) -> bool:
        """Whether a read of at most ``at_most`` nodes joins their properties.

        Args:
            at_most: The most nodes the read can return, or None when unknown:
                then the read joins them when the last read of the same
                ``shape`` returned few enough (``_remember_size``). A context's
                nodes, for one, are most often a pipeline run's few, but
                nothing bounds them; a wrong guess costs a round trip, or the
                node columns repeated on each property row of a large answer.
            page: The read is a listing's page (a LIMIT), see ``_JOINED_PAGE_UP_TO``.
            shape: The read's statement key, without the choice made here.
        """
        if at_most is None:
            most = _JOINED_PROPERTIES_UP_TO[self._dialect]
            last = self._last_sizes.get(shape)
            return most > 0 and last is not None and last <= most
        return at_most <= (_JOINED_PAGE_UP_TO if page else _JOINED_PROPERTIES_UP_TO)[self._dialect]

    def _remember_size(self, shape: Any, nodes: list[Node]) -> None:
        """Keeps how many nodes a read of unknown size returned, for the next of its ``shape``."""
        sizes = self._last_sizes
        if len(sizes) > _REMEMBERED_SHAPES:
            sizes.clear()
        sizes[shape] = len(nodes)

    def _with_properties(self, kind: Kind, statement, order: tuple[str, bool] = ("id", True)):
        """A node statement (ordered by ``order``, ties by id) joined with its nodes' properties.

        A row per property, or one with NULL property columns for a node
        without any; each node's rows adjacent, in the statement's order. On
        PostgreSQL the properties are a LATERAL subquery per node, kept one
        (OFFSET 0: a plain join could become a hash of every property row of
        the store); the node statement stays a subquery too, its ORDER BY
        keeps PostgreSQL from merging it, and the same outer order needs no
        sort: a nested loop keeps its outer order.
        """
        page = statement.subquery("page")
        table, owner = _PROPERTY_TABLES[kind]
        if self._dialect == "postgresql":
            joined, property_columns = _lateral_rows(page, _property_columns(kind), table.c[owner], "owned")
        else:
            joined = page.outerjoin(table, table.c[owner] == page.c.id)
            property_columns = _property_columns(kind)
        return sa.select(*page.c, *property_columns).select_from(joined).order_by(*_order_columns(page, *order))

    def _nodes(self, kind: Kind, rows: list[tuple], into=None) -> list[Node]:
        """Nodes from the rows of a node statement, and their properties read by a second one.

        Args:
            kind: The kind of node.
            rows: The selected rows.
            into: A repeated field of an answer to add the nodes to, sparing
                the copy that adding finished nodes would make.

        Returns:
            The nodes (those added to ``into`` when it is given).
        """
        if not rows:
            return []
        names = self._names_of_types(kind, {row[1] for row in rows})
        return self._nodes_from_rows(kind, rows, self._stored_properties(kind, [row[0] for row in rows]), names, into)

    def _read_nodes(self, kind: Kind, compiled: Compiled, params: dict[str, Any], joined: bool,
                    into=None) -> list[Node]:
        """Runs a node statement (``joined``: one of ``_with_properties``, the read's last) and builds its nodes."""
        return self._nodes_of(kind, compiled, self._rows(compiled, params, processed=not joined, last=joined),
                              joined, into)

    def _nodes_of(self, kind: Kind, compiled: Compiled, rows: list[tuple], joined: bool, into=None) -> list[Node]:
        """Nodes from rows of ``compiled``, read ``processed=not joined`` (see ``_joined_nodes``)."""
        if joined:
            return self._joined_nodes(kind, compiled, rows, into)
        return self._nodes(kind, rows, into)

    def _joined_nodes(self, kind: Kind, compiled: Compiled, rows: list[tuple], into=None) -> list[Node]:
        """Nodes from the unprocessed rows (``_rows(processed=False)``) of a ``_with_properties`` statement.

        A node's columns repeat on each of its property rows: the rows are
        split first and each part converted once.
        """
        if not rows:
            return []
        width = len(rows[0]) - _PROPERTY_WIDTH
        node_rows = []
        property_rows = []
        last = None
        for row in rows:
            if row[0] != last:
                node_rows.append(row[:width])
                last = row[0]
            if row[width + 2] is not None:  # a property's name
                property_rows.append(row[width:])
        node_rows = compiled.processed(node_rows, 0, width)
        names = self._names_of_types(kind, {row[1] for row in node_rows})
        return self._nodes_from_rows(kind, node_rows, compiled.processed(property_rows, width), names, into)

    @staticmethod
    def _nodes_from_rows(kind: Kind, rows: list[tuple], property_rows: list[tuple], type_names: dict[int, str],
                         into=None) -> list[Node]:
        """Nodes from node rows, their property rows (owner id first) and their types' names."""
        make = _NODE_CLASSES[kind] if into is None else into.add
        type_name = type_names.get
        nodes = []
        append = nodes.append
        # One call per node: upb leaves a field given as None unset, and every
        # field set after construction is another call into C.
        for row in rows:
            if kind == "artifact":
                node = make(id=row[0], type_id=row[1], name=row[2], external_id=row[3],
                            create_time_since_epoch=row[4], last_update_time_since_epoch=row[5],
                            type=type_name(row[1], ""), uri=row[7], state=row[8])
            elif kind == "execution":
                node = make(id=row[0], type_id=row[1], name=row[2], external_id=row[3],
                            create_time_since_epoch=row[4], last_update_time_since_epoch=row[5],
                            type=type_name(row[1], ""), last_known_state=row[7])
            else:
                node = make(id=row[0], type_id=row[1], name=row[2], external_id=row[3],
                            create_time_since_epoch=row[4], last_update_time_since_epoch=row[5],
                            type=type_name(row[1], ""))
            append(node)
        if property_rows:
            by_id = dict(zip([row[0] for row in rows], nodes))  # ids from the rows, not read back from each proto
            for row in property_rows:
                node = by_id[row[0]]
                value = (node.custom_properties if row[1] else node.properties)[row[2]]
                # The common kinds inline; the rest (structs, protos, booleans, empty) in _fill_value.
                if row[3] is not None:
                    value.int_value = row[3]
                elif row[4] is not None:
                    value.double_value = row[4]
                elif row[5] is not None and not row[5].startswith(STRUCT_PREFIX):
                    value.string_value = row[5]
                else:
                    _fill_value(value, row[3], row[4], row[5], row[6], row[7])
        return nodes

    def _stored_properties(self, kind: Kind, ids: list[int]) -> list[tuple]:
        """Property rows of nodes: (owner, is_custom, name, int, double, string, proto, bool)."""
        if len(ids) == 1:
            compiled = self._stmt(("properties_1", kind), lambda: _property_select(kind).where(
                _property_owner(kind) == _b("b_id", sa.BigInteger())))
            return self._rows(compiled, {"b_id": ids[0]})
        compiled = self._stmt(("properties_n", kind), lambda: _property_select(kind).where(
            self._in(_property_owner(kind), "b_ids")))
        return self._rows(compiled, {"b_ids": ids})

    def _node_params(self, kind: Kind, node: Node) -> dict[str, Any]:
        params = {
            "b_type_id": node.type_id,
            "b_name": node.name if node.HasField("name") else None,
            "b_external_id": node.external_id if node.HasField("external_id") else None,
            "b_create": node.create_time_since_epoch,
            "b_update": node.last_update_time_since_epoch,
        }
        if kind == "artifact":
            params["b_uri"] = node.uri if node.HasField("uri") else None
            params["b_state"] = node.state if node.HasField("state") else None
        elif kind == "execution":
            params["b_state"] = node.last_known_state if node.HasField("last_known_state") else None
        return params

    def _node_values(self, kind: Kind) -> dict[str, Any]:
        node = _NODE_TABLES[kind]
        values = {
            "type_id": _b("b_type_id"), "name": _b("b_name", node.c.name.type),
            "external_id": _b("b_external_id", node.c.external_id.type),
            "create_time_since_epoch": _b("b_create", node.c.create_time_since_epoch.type),
            "last_update_time_since_epoch": _b("b_update", node.c.last_update_time_since_epoch.type),
        }
        if kind == "artifact":
            values["uri"] = _b("b_uri", node.c.uri.type)
            values["state"] = _b("b_state")
        elif kind == "execution":
            values["last_known_state"] = _b("b_state")
        return values

    def insert_nodes(self, kind: Kind, nodes: Sequence[Node]) -> list[int]:
        self._write_check()
        table = _NODE_TABLES[kind]
        compiled = self._stmt(("insert_node", kind), lambda: self._returning_id(
            sa.insert(table).values(**self._node_values(kind)), table))
        ids = []
        property_rows: list[dict[str, Any]] = []
        self._inserted += len(nodes)
        if len(nodes) > (_ONE_BY_ONE if self._dialect == "postgresql" else 1) and self._ids_in_bulk():
            # Every property is checked before any row is written.
            checked = [self._property_rows(kind, node) for node in nodes]
            spec = tuple((column, bind.key, bind.type) for column, bind in self._node_values(kind).items())
            ids = self._insert_with_ids(("node", kind), table, spec, [self._node_params(kind, node) for node in nodes])
            for node, node_id, rows in zip(nodes, ids, checked, strict=True):
                node.id = node_id
                for row in rows:
                    row["b_owner"] = node_id
                property_rows.extend(rows)
        else:
            for node in nodes:
                rows = self._property_rows(kind, node)
                if rows and self._dialect == "postgresql" and len(rows) <= _MULTI_ROW:
                    node.id = self._insert_node_with_properties(kind, node, rows)
                    ids.append(node.id)
                    continue
                node.id = self._insert_id(compiled, self._node_params(kind, node))
                ids.append(node.id)
                for row in rows:
                    row["b_owner"] = node.id
                property_rows.extend(rows)
        self._insert_properties(kind, property_rows)
        if kind == "execution":
            self._tx().bare_executions.update(ids)
        return ids

    def _insert_properties(self, kind: Kind, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        table, _ = _PROPERTY_TABLES[kind]
        self._insert_many(("properties", kind), table, _property_spec(kind), rows)

    def _insert_node_with_properties(self, kind: Kind, node: Node, rows: list[dict[str, Any]]) -> int:
        """Inserts a node and its property rows in one PostgreSQL statement; returns the node's id.

        The node's INSERT is a data-modifying WITH whose new id the property
        rows select: one round trip instead of two.
        """
        table = _NODE_TABLES[kind]
        properties, owner = _PROPERTY_TABLES[kind]
        spec = _property_spec(kind)[1:]
        count = len(rows)

        def build():
            new = sa.insert(table).values(**self._node_values(kind)).returning(table.c.id).cte("new_node")
            # Casts give every value its column's type, NULLs included; text
            # casts carry no length, which would cut a long value short
            # instead of refusing it as the column does.
            types = [properties.c[column].type for column, _, _ in spec]
            types = [sa.Text() if isinstance(t, sa.String) else t for t in types]
            selects = [sa.select(new.c.id, *(sa.cast(_b(f"{name}__{i}", bind_type), cast_type)
                                             for (_, name, bind_type), cast_type in zip(spec, types)))
                       for i in range(count)]
            source = selects[0] if count == 1 else sa.union_all(*selects)
            return (sa.insert(properties).from_select([owner, *(column for column, _, _ in spec)], source)
                    .returning(properties.c[owner]).add_cte(new))

        compiled = self._stmt(("insert_node_properties", kind, count), build)
        params = self._node_params(kind, node)
        for i, row in enumerate(rows):
            for _, name, _ in spec:
                params[f"{name}__{i}"] = row[name]
        return self._insert_id(compiled, params)

    def _property_rows(self, kind: Kind, node: Node) -> list[dict[str, Any]]:
        """The property rows of a node, refusing values the database cannot keep.

        They come in the order of the table's primary key (owner, name,
        is_custom_property): B-trees fill pages when keys arrive ascending,
        and split them in half otherwise (on MariaDB at 10^4 executions, 109
        bytes an ``ExecutionProperty`` row instead of 55). MySQL's default
        collations compare ASCII names as upper case; a name they order
        otherwise costs space, not correctness.
        """
        rows = _property_rows(node)
        if self._mysql:
            rows.sort(key=lambda row: (row["b_name"].upper(), row["b_custom"]))
        else:
            rows.sort(key=lambda row: (row["b_name"], row["b_custom"]))
        for row in rows:
            field = f"{kind.capitalize()}.{'custom_properties' if row['b_custom'] else 'properties'}"
            value = row["b_int"]
            if value is not None and self._dialect != "sqlite" and not _INT32_MIN <= value <= _INT32_MAX:
                raise errors.InvalidArgumentError(
                    f"{field}[{row['b_name']!r}].int_value {value} does not fit MLMD's 32-bit "
                    f"int_value column on {self._where}; SQLite stores 64 bits")
            value = row["b_double"]
            if value is not None and not math.isfinite(value):
                # SQLite turns NaN into NULL; MySQL has neither NaN nor infinities.
                if (self._dialect == "sqlite" and math.isnan(value)) or self._mysql:
                    raise errors.InvalidArgumentError(
                        f"{field}[{row['b_name']!r}].double_value {value} cannot be stored on "
                        f"{self._where}")
        return rows

    def update_nodes(self, kind: Kind, nodes: Sequence[Node]) -> None:
        self._write_check()
        table, owner = _PROPERTY_TABLES[kind]
        node_table = _NODE_TABLES[kind]
        update = self._stmt(("update_node", kind), lambda: sa.update(node_table).where(
            node_table.c.id == _b("b_id")).values(**self._node_values(kind)))
        delete = self._stmt(("delete_properties", kind), lambda: sa.delete(table).where(
            table.c[owner] == _b("b_id")))
        property_rows: list[dict[str, Any]] = []
        for node in nodes:
            rows = self._property_rows(kind, node)
            self._run(update, {**self._node_params(kind, node), "b_id": node.id})
            self._run(delete, {"b_id": node.id})
            property_rows.extend(rows)
        self._insert_properties(kind, property_rows)

    def get_nodes(self, kind: Kind, ids: Iterable[int], into=None) -> list[Node]:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return []
        node = _NODE_TABLES[kind]
        joined = self._joins_properties(len(wanted))
        if len(wanted) == 1:
            # One statement on every dialect: a point read is one round trip.
            compiled = self._stmt(("nodes_1", kind), lambda: self._with_properties(kind, self._node_select(kind).where(
                node.c.id == _b("b_id", sa.BigInteger())).order_by(node.c.id)))
            return self._read_nodes(kind, compiled, {"b_id": wanted[0]}, True, into)

        def build():
            statement = self._node_select(kind).where(self._in(node.c.id, "b_ids")).order_by(node.c.id)
            return self._with_properties(kind, statement) if joined else statement

        compiled = self._stmt(("nodes_n", kind, joined), build)
        return self._read_nodes(kind, compiled, {"b_ids": wanted}, joined, into)

    def find_nodes(
        self,
        kind: Kind,
        *,
        type_ids: Iterable[int] | None = None,
        name: str | None = None,
        uri: str | None = None,
        external_ids: Iterable[str] | None = None,
        into=None,
    ) -> list[Node]:
        node = _NODE_TABLES[kind]
        if uri is not None and kind != "artifact":
            return []
        type_list = None if type_ids is None else sorted({int(i) for i in type_ids})
        external_list = None if external_ids is None else sorted(set(external_ids))
        if (type_list is not None and not type_list) or (external_list is not None and not external_list):
            return []
        # A read that names its nodes (by name, uri or external id) has a small
        # answer, a read of every node of some types need not.
        shape = ("find", kind, type_list is not None and len(type_list) == 1, type_list is not None,
                 name is not None, uri is not None)
        if external_list is not None:
            at_most = len(external_list)
        else:
            at_most = 1 if name is not None or uri is not None else None
        joined = self._joins_properties(at_most, shape=shape)
        key = (*shape, joined)
        params: dict[str, Any] = {}
        if type_list is not None:
            if len(type_list) == 1:
                params["b_type_id"] = type_list[0]
            else:
                params["b_type_ids"] = type_list
        if name is not None:
            params.update(self._text_params("b_name", name))
        if uri is not None:
            params.update(self._text_params("b_uri", uri))

        def build(with_external: str | None):
            conditions = []
            if type_list is not None:
                if len(type_list) == 1:
                    conditions.append(node.c.type_id == _b("b_type_id", sa.BigInteger()))
                else:
                    conditions.append(self._in(node.c.type_id, "b_type_ids"))
            if name is not None:
                conditions.append(self._text_eq(node.c.name, "b_name"))
            if uri is not None:
                conditions.append(self._text_eq(node.c.uri, "b_uri"))
            if with_external == "one":
                conditions.append(self._text_eq(node.c.external_id, "b_external_id"))
            elif with_external == "many":
                conditions.append(self._in(node.c.external_id, "b_external_ids", "str"))
            statement = self._node_select(kind).where(*conditions).order_by(node.c.id)
            return self._with_properties(kind, statement) if joined else statement

        if external_list is None:
            compiled = self._stmt(key, lambda: build(None))
            nodes = self._read_nodes(kind, compiled, params, joined, into)
            if at_most is None:
                self._remember_size(shape, nodes)
            return nodes
        if self._mysql or len(external_list) == 1:
            compiled = self._stmt((*key, "external_one"), lambda: build("one"))
            rows = []
            for external_id in external_list:
                rows.extend(self._rows(compiled, {**params, **self._text_params("b_external_id", external_id)},
                                       processed=not joined))
            rows.sort(key=_first)  # stable: a node's rows stay adjacent
            return self._nodes_of(kind, compiled, rows, joined, into)
        compiled = self._stmt((*key, "external_many"), lambda: build("many"))
        return self._read_nodes(kind, compiled, {**params, "b_external_ids": external_list}, joined, into)

    def node_ids_by_name(self, kind: Kind, type_id: int, name: str) -> list[int]:
        # The ids alone: a context reused by name on MariaDB took 0.18 ms on the
        # server with its properties joined, for a write that needs its id. The
        # names compare as the unique key on (type_id, name) compares them: on
        # MySQL in MLMD's case-insensitive collation, not exactly as reads do.
        node = _NODE_TABLES[kind]
        compiled = self._stmt(("ids_by_name", kind), lambda: sa.select(node.c.id).where(
            node.c.type_id == _b("b_type_id", sa.BigInteger()), node.c.name == _b("b_name", node.c.name.type)
        ).order_by(node.c.id))
        return [row[0] for row in self._rows(compiled, {"b_type_id": type_id, "b_name": name}, processed=False)]

    def list_nodes(self, kind: Kind, query: ListQuery, into=None) -> list[Node]:
        params: dict[str, Any] = {}
        if query.filter is not None:
            lifted, values = sql_compiler.lift_values(query.filter)
            query = dataclasses.replace(query, filter=lifted)
            params.update(sql_compiler.slot_params(values))
        cacheable = query.filter is None or ast.cacheable(query.filter)
        # What a read of unknown size is remembered by (_remember_size).
        shape = ("list", kind, query.filter, query.order_field, query.ascending, query.after is not None)
        joined = self._joins_properties(query.limit, page=True, shape=shape if cacheable else None)
        capped = None
        if not joined and self._tx().lone and _JOINED_PAGE_UP_TO[self._dialect]:
            # A one-statement read: the nodes with their properties, up to the
            # most a join serves; past that the read needs a transaction.
            capped = _JOINED_PAGE_UP_TO[self._dialect]
            query = dataclasses.replace(query, limit=capped + 1)
            joined = True
        if cacheable:
            key = ("list", kind, query.filter, query.order_field, query.ascending,
                   query.limit is not None, query.after is not None, joined)
            compiled = self._stmt(key, lambda: self._list_statement(kind, query, joined))
        else:
            # A large filter is compiled for this call only: kept, distinct
            # large filters would grow the statement cache without bound.
            compiled = Compiled(self._list_statement(kind, query, joined), self._engine.dialect)
        if query.limit is not None:
            params["b_limit"] = max(0, int(query.limit))
        if query.after is not None:
            params["b_after_value"], params["b_after_id"] = int(query.after[0]), int(query.after[1])
        type_name = self._resolved_type_term(query.filter)[0]
        if type_name is not None:
            params["b_type_ids"] = self._ids_of_types_named(kind, type_name)
            if not params["b_type_ids"]:
                return []
        rows = self._rows(compiled, params, processed=not joined, last=joined)
        if capped is not None and len(rows) > capped and len({row[0] for row in rows}) > capped:
            raise SnapshotNeeded(f"{self._where}: more than {capped} nodes for a one-statement read")
        nodes = self._nodes_of(kind, compiled, rows, joined, into)
        if query.limit is None and cacheable:
            self._remember_size(shape, nodes)
        return nodes

    def _resolved_type_term(self, expr) -> tuple[str | None, Any]:
        """On MySQL, a filter's top-level ``type = "name"`` and the filter without it.

        Read as the type's name (a join with Type elsewhere, a lookup per node
        on MySQL: ``sql_compiler``), the term cannot use the ``type_id`` index,
        and a join let MariaDB start from the one matching type and sort every
        node of it, even for a page of the newest 100 (15 ms where a range over
        the time index takes 0.7). Given the type's ids, it reads the node table
        alone. Elsewhere the join plans well and saves a round trip.
        """
        if not self._mysql or expr is None:
            return None, expr
        conjuncts = expr.items if isinstance(expr, ast.And) else (expr,)
        for term in conjuncts:
            left = getattr(term, "left", None)
            if (isinstance(term, ast.Comparison) and term.op == "=" and isinstance(left, ast.Attribute)
                    and left.name == "type" and left.neighbour is None and isinstance(term.value, str)):
                rest = tuple(other for other in conjuncts if other is not term)
                return term.value, (None if not rest else rest[0] if len(rest) == 1 else ast.And(rest))
        return None, expr

    def _ids_of_types_named(self, kind: Kind, name: str) -> list[int]:
        """The ids of the ``kind`` types called ``name``, every version."""
        t = schema.type_table
        compiled = self._stmt(("type_ids_named",), lambda: sa.select(t.c.id).where(
            self._text_eq(t.c.name, "b_name"), t.c.type_kind == _b("b_kind", t.c.type_kind.type)))
        return [row[0] for row in self._rows(
            compiled, {**self._text_params("b_name", name), "b_kind": _TYPE_KINDS[kind]})]

    def _names_of_types(self, kind: Kind, type_ids: set[int]) -> dict[int, str]:
        """Names of the ``kind`` types among ``type_ids``, read once per store."""
        committed = self._committed_types
        names = {}
        missing = []
        for type_id in type_ids:
            known = committed.get(type_id)
            if known is None:
                missing.append(type_id)
            elif known[0] == kind:
                names[type_id] = known[1].name
        if missing:
            names.update((t.id, t.name) for t in self.get_types(kind, missing))
        return names

    def _list_statement(self, kind: Kind, query: ListQuery, with_properties: bool):
        node = _NODE_TABLES[kind]
        from_, conditions = node, []
        type_name, expr = self._resolved_type_term(query.filter)
        if type_name is not None:
            conditions.append(self._in(node.c.type_id, "b_type_ids"))
        beyond = None
        if query.after is not None:
            after_id = _b("b_after_id", sa.BigInteger())
            if query.order_field == "id":
                beyond = (lambda column: column > after_id) if query.ascending else (lambda column: column < after_id)
        if expr is not None:
            driving, rest = _driving_sets(kind, node, expr, exact_text=not self._mysql, beyond=beyond)
            conditions += driving
            if rest is not None:
                clause = sql_compiler.compile_filter(rest, kind, self._dialect)
                from_ = clause.from_
                conditions.append(clause.where)
        order_column = node.c[query.order_field]
        if query.after is not None:
            value = _b("b_after_value", sa.BigInteger())
            if beyond is not None:
                conditions.append(beyond(node.c.id))
            # The bound on the order column alone is implied by the other
            # term, but PostgreSQL cannot start an index range from an OR:
            # without it every page scans the index from the first node.
            elif query.ascending:
                conditions.append(order_column >= value)
                conditions.append(sa.or_(order_column > value,
                                         sa.and_(order_column == value, node.c.id > after_id)))
            else:
                conditions.append(order_column <= value)
                conditions.append(sa.or_(order_column < value,
                                         sa.and_(order_column == value, node.c.id < after_id)))
        columns = self._node_columns(kind, node)
        order = _order_columns(node, query.order_field, query.ascending)
        if self._mysql and query.limit is not None and expr is not None and _picks_names(expr):
            # The page's ids come from a scan of the (type_id, name) index,
            # then only the page's rows are read: name IN (20) at 10^4 took
            # 1.5 against 2.8 ms on MariaDB. A page found through an index
            # gains nothing this way and pays for the derived table (the
            # latest 10 models 0.83x, paging 0.83x).
            page = (sa.select(node.c.id).select_from(from_).where(*conditions).order_by(*order)
                    .limit(_b("b_limit", sa.Integer())).subquery("page_ids"))
            statement = (sa.select(*columns).select_from(node.join(page, node.c.id == page.c.id))
                         .order_by(*order))
        else:
            statement = sa.select(*columns).select_from(from_)
            if conditions:
                statement = statement.where(*conditions)
            statement = statement.order_by(*order)
            if query.limit is not None:
                statement = statement.limit(_b("b_limit", sa.Integer()))
        if with_properties:
            statement = self._with_properties(kind, statement, (query.order_field, query.ascending))
        if self._dialect == "postgresql" and query.filter is not None \
                and sql_compiler.keeps_plan_shaping_values(query.filter):
            statement = statement.execution_options(**{PLANNED_EACH_RUN: True})
        return statement

    # -- edges ----------------------------------------------------------------

    def insert_events(self, events: Sequence[pb.Event]) -> None:
        if not events:
            return
        self._write_check()
        e = schema.event_table
        compiled = self._stmt(("insert_event",), lambda: self._returning_id(sa.insert(e).values(
            artifact_id=_b("b_artifact"), execution_id=_b("b_execution"), type=_b("b_type"),
            milliseconds_since_epoch=_b("b_time", e.c.milliseconds_since_epoch.type)), e))
        params = [{
            "b_artifact": event.artifact_id, "b_execution": event.execution_id, "b_type": event.type,
            "b_time": event.milliseconds_since_epoch if event.HasField("milliseconds_since_epoch") else None,
        } for event in events]
        keys = [(event.artifact_id, event.execution_id, event.type) for event in events]
        if len(events) > 1 and self._ids_in_bulk():
            spec = (("artifact_id", "b_artifact", None), ("execution_id", "b_execution", None),
                    ("type", "b_type", None), ("milliseconds_since_epoch", "b_time", e.c.milliseconds_since_epoch.type))
            event_ids = self._insert_with_ids("event", e, spec, params)
        elif len(events) > 1 and self._engine.dialect.insert_returning and len(set(keys)) == len(keys):
            event_ids = self._insert_events_returning(params, keys)
        else:
            event_ids = [self._insert_id(compiled, row) for row in params]
        path_rows = []
        for event, event_id in zip(events, event_ids):
            for step in event.path.steps:
                which = step.WhichOneof("value")
                path_rows.append({
                    "b_event": event_id, "b_is_index": which == "index",
                    "b_index": step.index if which == "index" else None,
                    "b_key": step.key if which == "key" else None,
                })
        if path_rows:
            ep = schema.event_path_table
            spec = (("event_id", "b_event", None), ("is_index_step", "b_is_index", ep.c.is_index_step.type),
                    ("step_index", "b_index", None), ("step_key", "b_key", ep.c.step_key.type))
            self._insert_many("event_path", ep, spec, path_rows)

    def _insert_events_returning(self, params: list[dict[str, Any]], keys: list[tuple]) -> list[int]:
        """Inserts events a chunk per statement; returns their ids in order.

        The ids come back with each row's (artifact, execution, type), which
        names one event of the batch, so no row order is assumed.
        """
        e = schema.event_table
        ids: dict[tuple, int] = {}
        for start in range(0, len(params), _MULTI_ROW):
            chunk = params[start:start + _MULTI_ROW]
            count = len(chunk)
            compiled = self._stmt(("insert_events", count), lambda: sa.insert(e).values([{
                "artifact_id": _b(f"b_artifact__{i}"), "execution_id": _b(f"b_execution__{i}"),
                "type": _b(f"b_type__{i}"),
                "milliseconds_since_epoch": _b(f"b_time__{i}", e.c.milliseconds_since_epoch.type),
            } for i in range(count)]).returning(e.c.id, e.c.artifact_id, e.c.execution_id, e.c.type))
            values = {f"{name}__{i}": value for i, row in enumerate(chunk) for name, value in row.items()}
            for event_id, artifact_id, execution_id, type_ in self._rows(compiled, values):
                ids[(int(artifact_id), int(execution_id), int(type_))] = int(event_id)
        return [ids[key] for key in keys]

    def _event_select(self):
        e = schema.event_table
        return sa.select(e.c.id, e.c.artifact_id, e.c.execution_id, e.c.type, e.c.milliseconds_since_epoch)

    def get_events(
        self,
        *,
        artifact_ids: Iterable[int] | None = None,
        execution_ids: Iterable[int] | None = None,
        into=None,
    ) -> list[pb.Event]:
        artifacts = sorted({int(i) for i in artifact_ids or ()})
        executions = sorted({int(i) for i in execution_ids or ()})
        if not artifacts and not executions:
            return []
        e = schema.event_table
        if artifacts and executions:
            compiled = self._stmt(("events_both",), lambda: self._with_paths(self._event_select().where(sa.or_(
                self._in(e.c.artifact_id, "b_artifacts"), self._in(e.c.execution_id, "b_executions"),
            ))))
            params = {"b_artifacts": artifacts, "b_executions": executions}
        else:
            column, ids = (e.c.artifact_id, artifacts) if artifacts else (e.c.execution_id, executions)
            many = len(ids) > 1

            def by_ids():
                select = self._event_select()
                if column is e.c.artifact_id:
                    # Two indexes start with the artifact: MariaDB's planner
                    # looks up every id in both before it picks one, which took
                    # longer than the read (100 artifacts at 10^5: 0.72 against
                    # 0.52 ms). MLMD's unique key answers it alone.
                    select = select.with_hint(e, "FORCE INDEX (UniqueEvent)", "mysql")
                return self._with_paths(select.where(
                    self._in(column, "b_ids") if many else column == _b("b_ids", sa.BigInteger())))

            compiled = self._stmt(("events", column.name, many), by_ids)
            params = {"b_ids": ids if many else ids[0]}
        rows = self._rows(compiled, params, last=True)
        if self._dialect != "postgresql":
            rows = sorted(rows, key=_first)  # stable: an event's steps stay in order
        return _events_from_step_rows(rows, into)

    def _with_paths(self, events):
        """Events with their paths' steps, a row per step.

        Steps are read from the ``event_id`` index, which holds equal keys in
        row order, the order the steps were written in (and the order
        ml-metadata reads). On PostgreSQL each event's steps are a LATERAL
        subquery of their own, kept one (OFFSET 0) so that no plan hashes all
        of ``EventPath``; the outer ORDER BY is the events' own, which a
        nested loop keeps without sorting the steps again. MariaDB has no
        LATERAL, but its plan for an outer join starts from the events and
        probes the index per event (events of 100 artifacts at 10^4: 1.35 ms
        on the server against 1.9 ms for two statements); SQLite's does the
        same (100 executions' 200 events at 10^4: 0.40 against 0.45 ms for
        events and paths apart). Their sort need not keep equal keys in
        order, so the rows come unsorted and are sorted by event id after.
        """
        e = schema.event_table
        ep = schema.event_path_table
        if self._dialect != "postgresql":
            return events.add_columns(ep.c.is_index_step, ep.c.step_index, ep.c.step_key).outerjoin(
                ep, ep.c.event_id == e.c.id)
        events = events.order_by(e.c.id)
        page = events.subquery("page")
        joined, step_columns = _lateral_rows(
            page, [ep.c.is_index_step, ep.c.step_index, ep.c.step_key], ep.c.event_id, "steps")
        return sa.select(*page.c, *step_columns).select_from(joined).order_by(page.c.id)

    def _events_from_rows(self, rows: list[tuple], into=None) -> list[pb.Event]:
        """Events from (id, artifact, execution, type, time) rows, with their paths.

        With ``into`` (a repeated field of an answer) the events are built in it.
        """
        if not rows:
            return []
        paths = self._event_paths([row[0] for row in rows]).get
        make = pb.Event if into is None else into.add
        encoded = _EncodedPaths()
        events = []
        for event_id, artifact_id, execution_id, type_, millis in rows:
            event = make(artifact_id=artifact_id, execution_id=execution_id, type=type_,
                         milliseconds_since_epoch=millis)
            steps = paths(event_id)
            if steps is not None:
                event.MergeFromString(encoded[tuple(steps)])
            events.append(event)
        return events

    def _event_paths(self, event_ids: list[int]) -> dict[int, list[tuple]]:
        ep = schema.event_path_table
        # Steps keep their insertion order: the row order within one event.
        if self._dialect == "sqlite":
            order = [ep.c.event_id, sa.literal_column("rowid")]
        elif self._dialect == "postgresql":
            order = [ep.c.event_id, sa.literal_column("ctid")]
        else:
            order = [ep.c.event_id]
        many = len(event_ids) > 1
        compiled = self._stmt(("event_paths", many), lambda: sa.select(
            ep.c.event_id, ep.c.is_index_step, ep.c.step_index, ep.c.step_key).where(
            self._in(ep.c.event_id, "b_ids") if many else ep.c.event_id == _b("b_ids", sa.BigInteger())
        ).order_by(*order))
        found: dict[int, list[tuple]] = {}
        for event_id, is_index, index, key in self._rows(compiled, {"b_ids": event_ids if many else event_ids[0]}):
            found.setdefault(event_id, []).append((is_index, index, key))
        return found

    def _insert_links(self, key: str, table, columns: tuple[str, str], pairs, skip_stored: bool = False) -> None:
        pairs = list(pairs)
        if not pairs:
            return
        self._write_check()
        if skip_stored:
            # MySQL locks a duplicate it skips: writers that meet the same
            # links take them in one order (the unique key's), not in each
            # request's, so they wait for each other instead of deadlocking.
            pairs.sort(key=lambda pair: (pair[1], pair[0]))
        spec = ((columns[0], "b_first", None), (columns[1], "b_second", None))
        self._insert_many(("link", key), table, spec, [{"b_first": a, "b_second": b} for a, b in pairs],
                          skip_stored)

    def insert_attributions(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links("attribution", schema.attribution_table, ("artifact_id", "context_id"), pairs, True)

    def insert_associations(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links("association", schema.association_table, ("execution_id", "context_id"), pairs, True)

    def insert_parent_contexts(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links("parent_context", schema.parent_context_table,
                           ("context_id", "parent_context_id"), pairs)

    def _pairs(self, key, table, first: str, second: str, firsts, seconds) -> list[tuple[int, int]]:
        a = sorted({int(i) for i in firsts or ()})
        b = sorted({int(i) for i in seconds or ()})
        if not a and not b:
            return []
        columns = (table.c[first], table.c[second])
        if a and b:
            compiled = self._stmt((key, "both"), lambda: sa.select(*columns).where(sa.or_(
                self._in(table.c[first], "b_first"), self._in(table.c[second], "b_second"))))
            params = {"b_first": a, "b_second": b}
        elif a:
            compiled = self._stmt((key, "first"), lambda: sa.select(*columns).where(
                self._in(table.c[first], "b_first")))
            params = {"b_first": a}
        else:
            compiled = self._stmt((key, "second"), lambda: sa.select(*columns).where(
                self._in(table.c[second], "b_second")))
            params = {"b_second": b}
        return sorted({(row[0], row[1]) for row in self._rows(compiled, params)})

    def get_context_links(
        self, kind: Kind, *, node_ids: Iterable[int] | None = None,
        context_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        table, owner = _LINK_TABLES[kind]
        return self._pairs(("links", kind), table, owner, "context_id", node_ids, context_ids)

    def get_parent_contexts(
        self, *, child_ids: Iterable[int] | None = None,
        parent_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        return self._pairs(("parents",), schema.parent_context_table, "context_id", "parent_context_id",
                           child_ids, parent_ids)

    # -- cache index ----------------------------------------------------------

    def _ensure_fingerprint_table(self) -> None:
        """Adds ``LineageFingerprint`` and the added indexes when missing.

        Outside a transaction they are committed on their own; inside one
        they join it, except on MySQL, whose DDL would commit the caller's
        transaction (and which therefore uses a connection of its own).
        """
        if self._fingerprints_ready:
            return
        with self._fingerprint_guard:
            if self._fingerprints_ready:
                return
            if self._mysql:
                connection = self._engine.raw_connection()
                try:
                    _create_fingerprint_table(connection, self._engine.dialect)
                    connection.commit()
                except Exception as e:
                    raise translate_error(e, self._where) from e
                finally:
                    connection.close()
            else:
                # Outside a transaction, one of its own; inside, the caller's.
                with _Transaction(self, True) if self._local.tx is None else contextlib.nullcontext():
                    try:
                        _create_fingerprint_table(self._connection(), self._engine.dialect)
                    except Exception as e:
                        raise translate_error(e, self._where) from e
            self._fingerprints_ready = True

    def set_fingerprints(self, fingerprints: Mapping[int, Sequence[str]]) -> None:
        if not fingerprints:
            return
        self._write_check()
        self._ensure_fingerprint_table()
        # The stored rows supersede what a lookup computed earlier.
        self._forget_unstored(fingerprints)
        f = fingerprint_table
        bare = self._tx().bare_executions
        # Executions inserted by this transaction and not indexed yet have no rows to replace.
        stored = sorted(set(fingerprints) - bare)
        bare.difference_update(fingerprints)
        if stored:
            delete = self._stmt(("fingerprints_delete",), lambda: sa.delete(f).where(
                self._in(f.c.execution_id, "b_executions")))
            for start in range(0, len(stored), _DELETE_BATCH):
                self._run(delete, {"b_executions": stored[start:start + _DELETE_BATCH]})
        spec = (("fingerprint", "b_fingerprint", f.c.fingerprint.type), ("execution_id", "b_execution", None))
        self._insert_many("fingerprint", f, spec, [
            {"b_fingerprint": fp, "b_execution": execution_id}
            for execution_id, keys in fingerprints.items() for fp in sorted(set(keys))])

    # -- deletion -------------------------------------------------------------

    def delete_nodes(self, kind: Kind, ids: Sequence[int]) -> None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        self._write_check()
        e, ep = schema.event_table, schema.event_path_table
        statements = []
        if kind in ("artifact", "execution"):
            owner = e.c.artifact_id if kind == "artifact" else e.c.execution_id
            statements.append((("purge_event_paths", kind), lambda: sa.delete(ep).where(
                ep.c.event_id.in_(sa.select(e.c.id).where(self._in(owner, "b_ids"))))))
            statements.append((("purge_events", kind), lambda: sa.delete(e).where(self._in(owner, "b_ids"))))
            table, column = _LINK_TABLES[kind]
            statements.append((("purge_links", kind), lambda: sa.delete(table).where(
                self._in(table.c[column], "b_ids"))))
        else:
            for link_kind, (table, _) in _LINK_TABLES.items():
                statements.append((("purge_context_links", link_kind), lambda table=table: sa.delete(table).where(
                    self._in(table.c.context_id, "b_ids"))))
            pc = schema.parent_context_table
            statements.append((("purge_parent_contexts",), lambda: sa.delete(pc).where(sa.or_(
                self._in(pc.c.context_id, "b_ids"), self._in(pc.c.parent_context_id, "b_ids2")))))
        properties, owner_column = _PROPERTY_TABLES[kind]
        statements.append((("purge_properties", kind), lambda: sa.delete(properties).where(
            self._in(properties.c[owner_column], "b_ids"))))
        nodes = _NODE_TABLES[kind]
        statements.append((("purge_nodes", kind), lambda: sa.delete(nodes).where(self._in(nodes.c.id, "b_ids"))))
        if kind == "execution" and self._fingerprints_ready:
            f = fingerprint_table
            statements.append((("purge_fingerprints",), lambda: sa.delete(f).where(
                self._in(f.c.execution_id, "b_ids"))))
        compiled = [self._stmt(key, build) for key, build in statements]
        for start in range(0, len(ids), _DELETE_BATCH):
            batch = ids[start:start + _DELETE_BATCH]
            for statement in compiled:
                self._run(statement, {"b_ids": batch, "b_ids2": batch})
        if kind == "execution":
            self._forget_unstored(ids)

    def _forget_unstored(self, execution_ids: Iterable[int]) -> None:
        """Drops what lookups fingerprinted in memory for these executions (stored or deleted since)."""
        stale = self._unstored_executions.intersection(execution_ids)
        if stale:
            self._unstored_executions.difference_update(stale)
            for ids in self._unstored_fingerprints.values():
                ids.difference_update(stale)

    def executions_by_fingerprint(self, fingerprint: str) -> list[int]:
        """Returns executions indexed under a fingerprint, newest first.

        Executions written by other MLMD clients have no index rows; they are
        fingerprinted here the first time a lookup sees them (stored unless the
        store is read-only).
        """
        self._backfill_fingerprints()
        found: set[int] = set(self._unstored_fingerprints.get(fingerprint, ()))
        if self._fingerprints_ready:
            f = fingerprint_table
            compiled = self._stmt(("fingerprints_lookup",), lambda: sa.select(f.c.execution_id).where(
                f.c.fingerprint == _b("b_fingerprint", f.c.fingerprint.type)))
            found.update(row[0] for row in self._rows(compiled, {"b_fingerprint": fingerprint}))
        return sorted(found, reverse=True)

    def unindexed_execution_ids(self, above: int = 0) -> list[int]:
        """Returns ids of executions (with id > ``above``) that have no index rows."""
        x = schema.execution_table
        if not self._fingerprints_ready:
            compiled = self._stmt(("unindexed_all",), lambda: sa.select(x.c.id).where(
                x.c.id > _b("b_above", sa.BigInteger())).order_by(x.c.id))
        else:
            f = fingerprint_table
            compiled = self._stmt(("unindexed",), lambda: sa.select(x.c.id).where(
                x.c.id > _b("b_above", sa.BigInteger()),
                ~sa.exists().where(f.c.execution_id == x.c.id)).order_by(x.c.id))
        return [row[0] for row in self._rows(compiled, {"b_above": above})]

    def _backfill_fingerprints(self) -> None:
        """Fingerprints executions that have no index rows (written by other MLMD clients).

        They are kept in memory for this process and, when the index table
        already exists and the store is writable, stored as well. Lookups never
        create the table: on MySQL that DDL would end the caller's transaction.
        """
        from lineage.cache import execution_fingerprints

        x = schema.execution_table
        newest = self._rows(self._stmt(("max_execution",), lambda: sa.select(sa.func.max(x.c.id))))[0][0] or 0
        above = self._fingerprint_watermark or 0
        if newest <= above:
            return
        store = self._fingerprints_ready and not self._read_only
        missing = [i for i in self.unindexed_execution_ids(above) if i not in self._unstored_executions]
        for start in range(0, len(missing), 500):
            batch = missing[start:start + 500]
            executions = self.get_nodes("execution", batch)
            types = {t.id: t for t in self.get_types("execution", {e.type_id for e in executions})}
            events: dict[int, list[pb.Event]] = {}
            for event in self.get_events(execution_ids=batch):
                events.setdefault(event.execution_id, []).append(event)
            for execution in executions:
                type_ = types.get(execution.type_id)
                if type_ is None:
                    continue
                fingerprints = execution_fingerprints(execution, type_, events.get(execution.id, ()))
                if store and (self._tx().writing or self._reads_may_write):
                    self.set_fingerprints({execution.id: fingerprints})
                elif store:
                    self._backfilled[execution.id] = fingerprints
                for fp in fingerprints:
                    self._unstored_fingerprints.setdefault(fp, set()).add(execution.id)
                self._unstored_executions.add(execution.id)
        self._fingerprint_watermark = newest

    def _store_backfilled(self, backfilled: dict[int, list[str]]) -> None:
        """Stores fingerprints a read backfilled, in a writing transaction of their own.

        A read on SQLite holds no write lock, and takes none midway: a write
        there fails when another process has written since the read began.
        Only executions that still have no index rows get these; the others
        were indexed, or deleted, by a writer in between, and what this
        process computed for them is dropped. Should the write fail, the
        fingerprints stay in this process's memory.
        """
        try:
            with self.transaction(write=True):
                still_bare = set(self.unindexed_execution_ids(min(backfilled) - 1))
                self._forget_unstored(set(backfilled) - still_bare)
                self.set_fingerprints({i: fps for i, fps in backfilled.items() if i in still_bare})
        except errors.StatusError:
            _log.debug("backfilled fingerprints not stored on %s", self._where, exc_info=True)

    # -- traversal ------------------------------------------------------------

    def traverse(
        self,
        artifact_ids: Iterable[int] = (),
        execution_ids: Iterable[int] = (),
        *,
        direction: str = UPSTREAM,
        max_hops: int | None = None,
        event_types: Iterable[int] | None = None,
        stop_artifacts: set[int] | None = None,
        stop_executions: set[int] | None = None,
        as_of_ms: int | None = None,
    ) -> Reach:
        """Walks events breadth-first, one batched query per hop.

        Same arguments and answers as ``lineage.traversal.traverse``; with
        ``as_of_ms``, as that walk over the store as it stood then
        (``sql_traverse.traverse``).

        Raises:
            InvalidArgumentError: ``max_hops`` is negative or the direction is unknown.
        """
        from lineage.backends import sql_traverse

        return sql_traverse.traverse(
            self, artifact_ids, execution_ids, direction=direction, max_hops=max_hops,
            event_types=event_types, stop_artifacts=stop_artifacts, stop_executions=stop_executions,
            as_of_ms=as_of_ms)


#: relation -> (link table, column naming the filtered node, column naming the
#: joined record, the record's table), for the driving sets of _driving_sets.
_DRIVING_LINKS = {
    ("artifact", "contexts"): (schema.attribution_table, "artifact_id", "context_id", schema.context_table),
    ("execution", "contexts"): (schema.association_table, "execution_id", "context_id", schema.context_table),
    ("context", "parent_contexts"): (schema.parent_context_table, "context_id", "parent_context_id",
                                     schema.context_table),
    ("context", "child_contexts"): (schema.parent_context_table, "parent_context_id", "context_id",
                                    schema.context_table),
    ("context", "artifacts"): (schema.attribution_table, "context_id", "artifact_id", schema.artifact_table),
    ("context", "executions"): (schema.association_table, "context_id", "execution_id", schema.execution_table),
}


def _picks_names(expr) -> bool:
    """Whether a filter picks nodes by their own ``name`` alone: ``name = "a"``, ``name IN (...)``, AND, OR.

    MLMD's schema indexes ``name`` only after ``type_id``, so such a filter
    is a scan; the index holds the id of each entry, and a scan of it reads
    far less than a scan of the rows. A filter that keeps most nodes (NOT,
    LIKE, IS NULL) is better read in the page's order, stopping once the
    page is full.
    """
    if isinstance(expr, (ast.And, ast.Or)):
        return all(_picks_names(item) for item in expr.items)
    left = getattr(expr, "left", None)
    if not (isinstance(left, ast.Attribute) and left.neighbour is None and left.name == "name"):
        return False
    if isinstance(expr, ast.InList):
        return True
    return isinstance(expr, ast.Comparison) and expr.op == "=" and sql_compiler.literal_kind(expr.value) is str


def _driving_sets(kind: Kind, node: sa.Table, expr, exact_text: bool,
                  beyond: Callable[[Any], Any] | None = None) -> tuple[list, Any]:
    """``id IN (...)`` conditions for the filter's top-level neighbour equalities, and the rest of it.

    A top-level ``contexts_x.name = "run-7"`` (or ``.id``, ``.type_id``; on
    any relation) holds only for nodes linked to such a record, and
    ``events_x.execution_id = e`` only for nodes with an event of ``e``. The
    filter's join checks that node by node; given those nodes as a set, the
    database starts from the few nodes linked to the matching records instead
    of walking every node in list order (the listing of a context's
    executions, newest first, is the orchestrators' question).

    The set says all the term says when no other term reads the same
    neighbour (``contexts_x.name = "a" AND contexts_x.type = "b"`` asks for one
    context that is both), and, for text, when the database compares it
    exactly (``exact_text``; MySQL's collations ignore case). Such a term
    leaves the filter: its join would only cost the planner time.

    Args:
        kind: The kind of the filtered nodes.
        node: Their table.
        expr: The filter.
        exact_text: Whether the database compares text exactly.
        beyond: For a later page of a listing in id order, the condition on
            an id past the last page's: each set then holds only the nodes
            still to come, not every node of the filter again on each page
            (parent_contexts_a.name of 9,100 contexts at 10^5 on SQLite, in
            91 pages: 131-136 against 247-279 ms).

    Returns:
        The conditions, and the filter without the terms they replace (None
        when none is left).
    """
    conjuncts = expr.items if isinstance(expr, ast.And) else (expr,)
    readers: dict[Any, int] = {}
    for field in ast.fields(expr):
        neighbour = getattr(field, "neighbour", None)
        if neighbour is not None:
            readers[neighbour] = readers.get(neighbour, 0) + 1
    found = []
    replaced = []
    for term in conjuncts:
        left = getattr(term, "left", None)
        value_kind = sql_compiler.literal_kind(getattr(term, "value", None))
        if not (isinstance(term, ast.Comparison) and term.op == "=" and isinstance(left, ast.Attribute)
                and left.neighbour is not None and value_kind in (int, str)):
            continue
        relation = left.neighbour.relation
        if relation == "events":
            owner = "artifact_id" if kind == "artifact" else "execution_id"
            if left.name not in ("artifact_id", "execution_id", "type") or value_kind is not int:
                continue
            event = schema.event_table.alias("driving_event")
            bound = sql_compiler.bound(term.value, sa.BigInteger(), "_link")
            members = sa.select(event.c[owner]).where(event.c[left.name] == bound)
            found.append(node.c.id.in_(members if beyond is None else members.where(beyond(event.c[owner]))))
            if readers[left.neighbour] == 1:
                replaced.append(term)
            continue
        link_spec = _DRIVING_LINKS.get((kind, relation))
        if link_spec is None or left.name not in ("id", "name", "type_id"):
            continue
        if (left.name == "name") != (value_kind is str):
            continue
        link_table, owner, target, record_table = link_spec
        link = link_table.alias("driving_link")
        # A name binds as its column stores text (MLMD's encoding on MySQL).
        bound = sql_compiler.bound(
            term.value, record_table.c[left.name].type if value_kind is str else sa.BigInteger(), "_link")
        if left.name == "id":
            members = sa.select(link.c[owner]).where(link.c[target] == bound)
        else:
            record = record_table.alias("driving_record")
            members = sa.select(link.c[owner]).select_from(
                sa.join(link, record, record.c.id == link.c[target])).where(record.c[left.name] == bound)
        found.append(node.c.id.in_(members if beyond is None else members.where(beyond(link.c[owner]))))
        if readers[left.neighbour] == 1 and (exact_text or value_kind is not str):
            replaced.append(term)
    rest = [term for term in conjuncts if not any(term is r for r in replaced)]
    if not rest:
        return found, None
    return found, rest[0] if len(rest) == 1 else ast.And(tuple(rest))


class _Transaction:
    """Context manager returned by ``SqlBackend.transaction()``."""

    __slots__ = ("_backend", "_write", "_lone")

    def __init__(self, backend: SqlBackend, write: bool, lone: bool = False):
        self._backend = backend
        self._write = write
        self._lone = lone

    def __enter__(self) -> None:
        self._backend._enter(self._write, self._lone)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and exc is None:
            exc = BaseException(exc_type.__name__)
        self._backend._exit(exc)


#: Cursors of the backend's statements on a driver connection, by SQLAlchemy
#: driver name (else SQLAlchemy's proxy of the driver's cursor).
_CURSOR_CLASSES = {"mysqldb": MySqlClientCursor, "psycopg": PgLibpqCursor,
                   "pysqlite": operator.methodcaller("cursor")}

#: A row's first column: the sort key of rows by id.
_first = operator.itemgetter(0)

_NODE_CLASSES = {"artifact": pb.Artifact, "execution": pb.Execution, "context": pb.Context}
_KIND_OF_TYPE_KIND = {value: kind for kind, value in _TYPE_KINDS.items()}


def _property_spec(kind: Kind) -> tuple:
    """The columns of a property row: (column, parameter name, bind type or None), owner first."""
    table, owner = _PROPERTY_TABLES[kind]
    return (
        (owner, "b_owner", None),
        ("name", "b_name", table.c.name.type),
        ("is_custom_property", "b_custom", table.c.is_custom_property.type),
        ("int_value", "b_int", sa.BigInteger()),
        ("double_value", "b_double", table.c.double_value.type),
        ("string_value", "b_string", table.c.string_value.type),
        ("proto_value", "b_proto", table.c.proto_value.type),
        ("bool_value", "b_bool", table.c.bool_value.type),
    )


def _property_owner(kind: Kind):
    table, owner = _PROPERTY_TABLES[kind]
    return table.c[owner]


def _property_columns(kind: Kind) -> tuple:
    table, owner = _PROPERTY_TABLES[kind]
    return (table.c[owner], table.c.is_custom_property, table.c.name, table.c.int_value,
            table.c.double_value, table.c.string_value, table.c.proto_value, table.c.bool_value)


#: How many columns ``_property_columns`` has, whatever the kind.
_PROPERTY_WIDTH = len(_property_columns("artifact"))


def _property_select(kind: Kind):
    return sa.select(*_property_columns(kind))


def type_name_lock(database: str, kind: Kind, name: str, version: str | None) -> str:
    """The MySQL named lock that writers creating this type take.

    Named locks are server-wide, so the name includes the database; 13 + 40
    characters stay within the 64 a lock name may have.
    """
    identity = f"{database}\0{kind}\0{name}\0{version}".encode("utf-8")
    return f"lineage:type:{hashlib.sha1(identity).hexdigest()}"


def _kind_of(type_: NodeType) -> Kind:
    if isinstance(type_, pb.ArtifactType):
        return "artifact"
    if isinstance(type_, pb.ExecutionType):
        return "execution"
    return "context"


def _copy(message):
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def _struct_type_json(message: pb.ArtifactStructType) -> str:
    # Compact JSON with lowerCamelCase names, as ml-metadata writes it.
    return json.dumps(json_format.MessageToDict(message), separators=(",", ":"))


def _parse_struct_type(text: str, target: pb.ArtifactStructType) -> None:
    try:
        json_format.Parse(text, target, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError) as e:
        raise errors.DataLossError(f"stored ArtifactStructType is not valid JSON: {text[:200]!r}") from e


class _EncodedPaths(dict):
    """Serialized paths (an Event holding only its path) by their steps' rows.

    Most events share one of a few paths (the same input and output keys):
    each distinct path is encoded once and merged into its events as bytes,
    cheaper than building or copying its messages per event.
    """

    def __missing__(self, steps: tuple) -> bytes:
        path = self[steps] = _encoded_event_path(steps)
        return path


def _return_to_pool(connection, cursor) -> None:
    """Closes ``cursor`` (if any) and hands its pooled ``connection`` back."""
    try:
        if cursor is not None:
            cursor.close()
    finally:
        connection.close()


def _events_from_step_rows(rows: list[tuple], into=None) -> list[pb.Event]:
    """Events from rows of ``SqlBackend._with_paths``.

    A row per step, (id, artifact, execution, type, time, is_index, index,
    key), each event's rows adjacent in step order; an event without a path
    has one row with NULL step columns.
    """
    make = pb.Event if into is None else into.add
    encoded = _EncodedPaths()
    events = []
    event = None
    steps: list[tuple] = []
    last = None
    for event_id, artifact_id, execution_id, type_, millis, is_index, index, key in rows:
        if event_id != last:
            if steps:
                event.MergeFromString(encoded[tuple(steps)])
                steps = []
            last = event_id
            event = make(artifact_id=artifact_id, execution_id=execution_id, type=type_,
                         milliseconds_since_epoch=millis)
            events.append(event)
        if is_index is not None:
            steps.append((is_index, index, key))
    if steps:
        event.MergeFromString(encoded[tuple(steps)])
    return events


def _encoded_event_path(steps: tuple) -> bytes:
    """An Event holding only the path of (is_index, index, key) rows, serialized."""
    event = pb.Event()
    add = event.path.steps.add
    for is_index, index, key in steps:
        if is_index:
            add(index=index if index is not None else 0)
        else:
            add(key=key)  # a step with neither index nor key, as written, stays empty
    return event.SerializeToString()


def _fill_value(value: pb.Value, int_value, double_value, string_value, proto_value, bool_value) -> None:
    """Decodes one property row into ``value`` the way ml-metadata reads it."""
    if int_value is not None:
        value.int_value = int_value
    elif double_value is not None:
        value.double_value = double_value
    elif string_value is not None:
        if string_value.startswith(STRUCT_PREFIX):
            try:
                value.struct_value.ParseFromString(
                    base64.b64decode(string_value[len(STRUCT_PREFIX):], validate=True))
                return
            except Exception:  # noqa: BLE001 - not a struct after all: keep the text
                value.Clear()
        value.string_value = string_value
    elif proto_value is not None:
        value.proto_value.ParseFromString(bytes(proto_value))
    elif bool_value is not None:
        value.bool_value = bool(bool_value)
    else:
        value.SetInParent()


def _property_rows(node: Node) -> list[dict[str, Any]]:
    rows = []
    for is_custom, properties in ((False, node.properties), (True, node.custom_properties)):
        for name in properties:
            value = properties[name]
            row = {"b_owner": node.id, "b_name": name, "b_custom": is_custom, "b_int": None,
                   "b_double": None, "b_string": None, "b_proto": None, "b_bool": None}
            which = value.WhichOneof("value")
            if which == "int_value":
                row["b_int"] = value.int_value
            elif which == "double_value":
                row["b_double"] = value.double_value
            elif which == "string_value":
                row["b_string"] = value.string_value
            elif which == "struct_value":
                encoded = base64.b64encode(value.struct_value.SerializeToString(deterministic=True))
                row["b_string"] = STRUCT_PREFIX + encoded.decode("ascii")
            elif which == "proto_value":
                row["b_proto"] = value.proto_value.SerializeToString(deterministic=True)
            elif which == "bool_value":
                row["b_bool"] = value.bool_value
            rows.append(row)
    return rows


def _create_fingerprint_table(connection, dialect) -> None:
    """Creates what lineage adds to MLMD's schema, if missing, on a DBAPI connection.

    That is ``LineageFingerprint`` with its index, and the indexes on links by
    node (``_added_indexes``); ml-metadata ignores all of them.
    """
    from sqlalchemy.schema import CreateIndex, CreateTable

    cursor = connection.cursor()
    create = CreateTable(fingerprint_table, if_not_exists=True).compile(dialect=dialect)
    cursor.execute(str(create))
    for index in [*fingerprint_table.indexes, *_added_indexes]:
        statement = CreateIndex(index, if_not_exists=dialect.name != "mysql" or _is_mariadb(dialect))
        try:
            cursor.execute(str(statement.compile(dialect=dialect)))
        except Exception as e:  # noqa: BLE001 - MySQL 8 lacks IF NOT EXISTS here
            if "Duplicate key name" not in str(e):
                raise


def fingerprints_as_text(connection, dialect) -> bool:
    """Whether ``LineageFingerprint`` exists with its fingerprints as hex text, as older lineage stores have it.

    ``connection`` is a DBAPI connection.
    """
    cursor = connection.cursor()
    if dialect.name == "sqlite":
        cursor.execute(f"PRAGMA table_info({FINGERPRINT_TABLE_NAME})")
        types = [row[2] for row in cursor.fetchall() if row[1] == "fingerprint"]
    else:
        if dialect.name == "postgresql":
            schema_test, table = "table_schema = current_schema()", FINGERPRINT_TABLE_NAME.lower()
        else:
            schema_test, table = "table_schema = DATABASE()", FINGERPRINT_TABLE_NAME
        cursor.execute("SELECT data_type FROM information_schema.columns WHERE " + schema_test
                       + " AND table_name = %s AND column_name = 'fingerprint'", (table,))
        types = [row[0] for row in cursor.fetchall()]
    return bool(types) and any(word in str(types[0]).lower() for word in ("char", "text"))


def upgrade_fingerprint_table(connection, dialect) -> None:
    """Rewrites a ``LineageFingerprint`` of hex text (``fingerprints_as_text``) with binary fingerprints.

    The rows are kept. ``connection`` is a DBAPI connection; the caller
    commits (MySQL commits each DDL statement itself) and holds off other
    writers.
    """
    from sqlalchemy.schema import CreateTable

    new_name = FINGERPRINT_TABLE_NAME + "Binary"
    new_table = fingerprint_table.to_metadata(sa.MetaData(), name=sa.sql.elements.quoted_name(new_name, quote=False))
    if dialect.name == "sqlite":
        driver = getattr(connection, "driver_connection", connection)
        driver.create_function("lineage_unhex", 1, bytes.fromhex, deterministic=True)
        unhex = "lineage_unhex(fingerprint)"
    elif dialect.name == "postgresql":
        unhex = "decode(fingerprint, 'hex')"
    else:
        unhex = "UNHEX(fingerprint)"
    cursor = connection.cursor()
    cursor.execute(f"DROP TABLE IF EXISTS {new_name}")
    cursor.execute(str(CreateTable(new_table).compile(dialect=dialect)))
    cursor.execute(f"INSERT INTO {new_name} (fingerprint, execution_id) "
                   f"SELECT {unhex}, execution_id FROM {FINGERPRINT_TABLE_NAME}")
    cursor.execute(f"DROP TABLE {FINGERPRINT_TABLE_NAME}")
    cursor.execute(f"ALTER TABLE {new_name} RENAME TO {FINGERPRINT_TABLE_NAME}")
    for index in fingerprint_table.indexes:
        cursor.execute(str(sa.schema.CreateIndex(index).compile(dialect=dialect)))


def _is_mariadb(dialect) -> bool:
    return bool(getattr(dialect, "is_mariadb", False))


def open_backend(config: pb.ConnectionConfig, migration_options: pb.MigrationOptions) -> SqlBackend:
    """Opens (creating or migrating as asked) the relational store of a config.

    Raises:
        FailedPreconditionError: The database holds other tables than MLMD's,
            a newer schema, or an older one without ``enable_upgrade_migration``.
        NotFoundError: A SQLite file that must exist does not, or a server
            database is missing with ``skip_db_creation``.
        UnavailableError: The server or file cannot be reached.
        UnauthenticatedError: The server refused the credentials.
        CancelledError: (from the returned backend's first use) the schema was
            downgraded as asked; the store is not usable afterwards.
    """
    from lineage.backends import sql_open

    return sql_open.open_backend(config, migration_options)
