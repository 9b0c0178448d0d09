"""Runs SQLAlchemy Core statements on a DBAPI connection, compiled once per database.

Every statement is built with SQLAlchemy Core and compiled by the engine's
dialect, together with the bind and result processors of its column types
(MLMD's encodings live there, see ``lineage.backends.sql_schema``). The
compiled text then runs straight on the driver's cursor: a point read costs
one driver round trip and no per-call compilation or result-object
machinery.

Id lists travel as one bound parameter (``InIds``): a JSON array read with
``json_each`` on SQLite, an array with ``= ANY`` on PostgreSQL (int ids sent
as the array's text), a list the driver expands on MySQL (``MySqlIntList``
for ints). So one compiled statement serves any number of ids.

Driver exceptions are translated into ``lineage.errors`` here, by database
error code.
"""

from __future__ import annotations

import collections
import functools
import itertools
import json
import operator
import re
import threading
from typing import Any, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

from lineage import errors
from lineage.backends.base import ConcurrentWriteError
from lineage.backends.base import deadline_error
from lineage.backends.sql_schema import (SESSION_RESULTS_LATIN1_SQL, SESSION_RESULTS_UTF8_SQL, TEXT_IN_SQL,
                                        reads_text_through_session)

__all__ = ["Compiled", "Statements", "InIds", "id_list", "translate_error", "MYSQL_DIALECTS", "MySqlIntList",
           "mysql_encoders", "MySqlClientCursor", "PgLibpqCursor"]

MYSQL_DIALECTS = ("mysql", "mariadb")

#: Execution option of a statement that PostgreSQL plans for its values at each run (``Compiled``).
PLANNED_EACH_RUN = "lineage_planned_each_run"


# --- id lists as one parameter -----------------------------------------------


#: Whether a column of a fetched row holds a value (is not NULL).
_IS_VALUE = functools.partial(operator.is_not, None)


class _IdList(TypeDecorator):
    """A list of ints (or strings) bound as one parameter, shaped per database."""

    impl = sa.String
    cache_ok = True

    def __init__(self, element: str = "int"):
        super().__init__()
        self.element = element

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            item = sa.BigInteger() if self.element == "int" else sa.Text()
            return postgresql.ARRAY(item)
        return sa.String()

    def bind_processor(self, dialect):
        if self.element == "int":
            if dialect.name == "postgresql":
                return _postgresql_int_array
            if dialect.name in MYSQL_DIALECTS:
                return _mysql_int_list
        return super().bind_processor(dialect)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return json.dumps(list(value))
        if dialect.name in MYSQL_DIALECTS:
            return tuple(value)
        return list(value)


def _postgresql_int_array(value) -> str | None:
    """An int list as PostgreSQL's array literal, cast to ``BIGINT[]`` by the statement.

    psycopg dumps a list element by element through a regular expression:
    0.25 ms for 190 ids, most of a small read's client time.
    """
    if value is None:
        return None
    return "{" + ",".join(map(str, map(int, value))) + "}"


class MySqlIntList:
    """An int list bound for MySQL: the driver renders it as ``(1,2,3)``.

    The MySQL drivers render every parameter into the statement themselves,
    a tuple element by element through their converters (0.4 ms for 190 ids
    with mysqlclient); this renders the whole list at once, from ints only.
    ``mysql_encoders`` registers it with a connection.
    """

    __slots__ = ("ids",)

    def __init__(self, ids):
        self.ids = ids


class _MySqlIntArguments:
    """An int list as ``size`` arguments of an EXECUTE (``1,2,3,3``), the last id repeated to fill them."""

    __slots__ = ("ids", "size")

    def __init__(self, ids, size: int):
        self.ids = ids
        self.size = size


def _mysql_int_list(value) -> MySqlIntList | None:
    return None if value is None else MySqlIntList(value)


def _render_int_list(value: MySqlIntList, *_mapping) -> str:
    return "(" + ",".join(map(str, map(int, value.ids))) + ")"


def _render_int_arguments(value: _MySqlIntArguments, *_mapping) -> str:
    ids = value.ids
    return ",".join(map(str, map(int, ids))) + ("," + str(int(ids[-1]))) * (value.size - len(ids))


def mysql_encoders(connection) -> None:
    """Teaches a mysqlclient or PyMySQL connection to render ``MySqlIntList`` (and its EXECUTE form)."""
    connection.encoders[MySqlIntList] = _render_int_list
    connection.encoders[_MySqlIntArguments] = _render_int_arguments


class InIds(ColumnElement):
    """``column IN <list parameter>`` whatever the list's length."""

    inherit_cache = True
    # A condition in its own right: without this, databases lacking a boolean
    # type would see "<condition> = 1", which no index can serve.
    _is_implicitly_boolean = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("param", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column, param):
        self.column = column
        self.param = param
        self.type = sa.Boolean()


@compiles(InIds, "sqlite")
def _in_ids_sqlite(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(element.param, **kw)}))"


@compiles(InIds, "postgresql")
def _in_ids_postgresql(element, compiler, **kw):
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.param, **kw)})"


@compiles(InIds)
def _in_ids_default(element, compiler, **kw):
    # PyMySQL and mysqlclient render a tuple parameter as a parenthesised list.
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.param, **kw)}"


def id_list(column, name: str, element: str = "int") -> InIds:
    """``column IN :name`` where ``name`` is bound to a list of ids (never empty)."""
    return InIds(column, sa.bindparam(name, type_=_IdList(element)))


# --- compiled statements -------------------------------------------------------


def _one_value(name: str) -> Callable[[dict[str, Any]], tuple]:
    return lambda values: (values[name],)


def _no_values(values: dict[str, Any]) -> tuple:
    return ()


class Compiled:
    """One statement compiled for one dialect, ready for a DBAPI cursor.

    Attributes:
        text: The SQL text in the driver's paramstyle.
        text_in_sql: On a dialect that reads MLMD's text through the session
            (``sql_schema.read_text_through_session``), the text converting
            it in SQL instead, for values the driver cannot decode; else None.
            Compiled when first asked for: most statements never need it.
        returns_rows: Whether the statement is a SELECT.
        planned_each_run: PostgreSQL plans the statement for its values at
            each run, never from a prepared statement's generic plan: for
            statements made for given values (a filter's IN list or LIKE
            pattern), which such a plan would not see. Asked for by the
            statement's ``PLANNED_EACH_RUN`` execution option.
    """

    __slots__ = ("text", "_names", "_pick", "_positional", "_binds", "_defaults", "_results", "_ranges", "returns_rows",
                 "runs", "prepared_name", "execute_text", "list_positions", "sized", "_source", "_text_in_sql",
                 "planned_each_run")

    _numbered = itertools.count(1)

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        self.text = compiled.string
        # What text_in_sql compiles from, the first time a read needs it.
        self._source = (statement, dialect) if reads_text_through_session(dialect) else None
        self._text_in_sql: str | None = None
        self._positional = compiled.positional
        self._names = tuple(compiled.positiontup or ()) if self._positional else ()
        # The positional parameters from their values by name, in one call.
        self._pick = (_one_value(self._names[0]) if len(self._names) == 1
                      else operator.itemgetter(*self._names) if self._names else _no_values)
        # For PreparedStatements: how often the statement ran, and its name on
        # the server, or None when it is always sent as text.
        self.runs = 0
        self.prepared_name = self.execute_text = None
        self.planned_each_run = bool(statement.get_execution_options().get(PLANNED_EACH_RUN))
        lists = {name: bind.type.element for bind, name in compiled.bind_names.items()
                 if isinstance(bind.type, _IdList)}
        # Positions of the int lists among the parameters, which PreparedStatements spreads.
        self.list_positions = tuple(i for i, name in enumerate(self._names) if name in lists)
        # Per list sizes: (name, EXECUTE text) of the statement prepared for them.
        self.sized: dict[tuple[int, ...], tuple[str, str]] = {}
        if dialect.paramstyle == "format" and "?" not in self.text and "str" not in lists.values():
            self.prepared_name = f"lineage_{next(self._numbered)}"
            self.execute_text = f"EXECUTE {self.prepared_name}" + (
                " USING " + ", ".join(["%s"] * len(self._names)) if self._names else "")
        binds: dict[str, Callable] = {}
        defaults: dict[str, Any] = {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds[name] = processor
            if not bind.required or bind.callable is not None:
                defaults[name] = bind.effective_value
        self._binds = binds
        self._defaults = defaults
        # Only SELECT rows need converting; RETURNING here only yields ids.
        self.returns_rows = bool(getattr(statement, "is_select", False))
        results = []
        if self.returns_rows:
            for column in statement.selected_columns:
                results.append(_result_processor(column.type, dialect))
        self._results = tuple((i, p) for i, p in enumerate(results) if p is not None) or None
        # Processors of column ranges (``processed``), by (start, stop): each
        # processor with its column's index in the range, and the columns' getters.
        self._ranges: dict[tuple, tuple[tuple, tuple]] = {}

    def params(self, given: dict[str, Any] | None) -> Any:
        """Returns the driver's parameters: defaults, the given values, processed."""
        if self._defaults:
            values = dict(self._defaults)
            if given:
                values.update(given)
        else:
            values = dict(given) if given else {}
        for name, processor in self._binds.items():
            if name in values:
                values[name] = processor(values[name])
        if self._positional:
            return self._pick(values)
        return values

    @property
    def text_in_sql(self) -> str | None:
        """The text converting MLMD's text in SQL, compiled on first use (see the class's attributes)."""
        source = self._source
        if source is not None:
            # Set before the source is dropped: another thread then either compiles it too or finds it.
            text = source[0].compile(dialect=source[1], compile_kwargs={TEXT_IN_SQL: True}).string
            self._text_in_sql = text if text != self.text else None
            self._source = None
        return self._text_in_sql

    def execute(self, cursor, values: Any, text: str | None = None) -> None:
        """Runs the statement on a DBAPI cursor.

        Args:
            cursor: The cursor.
            values: The driver's parameters (``params``).
            text: The text to send instead of ``text``: an EXECUTE of it
                (``PreparedStatements``), with the parameters it takes.
        """
        try:
            if self.planned_each_run:
                cursor.execute(self.text, values, prepare=False)  # a PgLibpqCursor
            else:
                cursor.execute(self.text if text is None else text, values)
        except UnicodeDecodeError:
            # Text not stored the way MLMD's client stores it: converted in SQL,
            # as MLMD's client would read it (see read_text_through_session).
            # The converted text is UTF-8; latin1 results would take it back.
            text_in_sql = self.text_in_sql
            if text_in_sql is None:
                raise
            # The settings go through a cursor of their own: the rows stay in ``cursor``.
            session = (MySqlClientCursor(cursor.driver_connection) if isinstance(cursor, MySqlClientCursor)
                       else cursor.connection.cursor())
            session.execute(SESSION_RESULTS_UTF8_SQL)
            try:
                cursor.execute(text_in_sql, _text_values(values))
            finally:
                try:
                    session.execute(SESSION_RESULTS_LATIN1_SQL)
                except Exception as e:
                    # A session left in utf8mb4 would read MLMD's text wrong.
                    raise errors.UnavailableError(f"cannot restore the session's latin1 results: {e}") from e

    def rows(self, cursor, processed: bool = True) -> list[tuple]:
        """Fetches every row of an executed cursor, with result processors applied unless not ``processed``."""
        fetched = cursor.fetchall()
        return self.processed(fetched) if processed else fetched

    def processed(self, rows: list[tuple], start: int = 0, stop: int | None = None) -> list[tuple]:
        """Rows with result processors applied, of the statement's columns ``start:stop``.

        ``rows`` hold just those columns (slices of the statement's rows).
        """
        try:
            processors, columns = self._ranges[(start, stop)]
        except KeyError:
            processors = tuple((i - start, p) for i, p in self._results or ()
                               if i >= start and (stop is None or i < stop))
            columns = tuple(operator.itemgetter(index) for index, _ in processors)
            self._ranges[(start, stop)] = processors, columns
        if not rows:
            return rows
        for column in columns:
            if any(map(_IS_VALUE, map(column, rows))):
                break
        else:
            # Nothing to convert, found without a Python step per row: most
            # processed columns are NULL in every row (the proto of a property).
            return rows
        out = []
        append = out.append
        for row in rows:
            # Most processed columns are NULL (a property row holds one kind of
            # value): only a row with a value to process is copied.
            for index, _ in processors:
                if row[index] is not None:
                    row = list(row)
                    for index, processor in processors:
                        value = row[index]
                        if value is not None:
                            row[index] = processor(value)
                    break
            append(row)
        return out


def _result_processor(type_, dialect):
    from lineage.backends import sql_schema

    if isinstance(type_, sql_schema._Flag):
        # Callers read flags by truth value; skipping the bool() call saves a
        # Python call per value on every row.
        return None
    try:
        return type_.dialect_impl(dialect).result_processor(dialect, None)
    except TypeError:
        # Some numeric processors want the driver's column type; the drivers
        # used here already return floats for DOUBLE, so none is needed.
        return None


class Statements:
    """Compiles statements on first use and keeps them.

    Compiled text depends only on the dialect (and, for MySQL, the server
    flavour and version), so backends on equal dialects share one cache.
    """

    _shared: dict[tuple, dict[Any, Compiled]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, dialect):
        self.dialect = dialect
        signature = (dialect.name, dialect.driver, dialect.paramstyle, dialect.server_version_info,
                     getattr(dialect, "is_mariadb", None), reads_text_through_session(dialect))
        with self._shared_lock:
            self._cache = self._shared.setdefault(signature, {})

    def get(self, key: Any, build: Callable[[], Any]) -> Compiled:
        """Returns the compiled statement under ``key``, building it once."""
        compiled = self._cache.get(key)
        if compiled is None:
            compiled = Compiled(build(), self.dialect)
            if len(self._cache) > 8192:
                self._cache.clear()
            self._cache[key] = compiled
        return compiled


class PreparedStatements:
    """Runs the statements a MariaDB client sends often as server-side prepared statements.

    MariaDB parses every statement text it receives, and for the long
    statements here that was a large share of a small read: the statement
    that reads an artifact by uri with its properties took 374 us from the
    client as text and 278 us prepared (10^5 executions, loopback, 1,000
    alternations). A statement that ran ``THRESHOLD`` times is prepared on a
    connection the next time it runs there (``PREPARE name FROM text``), then
    sent as ``EXECUTE name USING values``: the values are the same bound
    parameters, rendered by the driver as for the text. MySQL's EXECUTE takes
    only user variables (a round trip each to set), so this is MariaDB's
    alone. A statement the server will not prepare stays text, and so does
    any while the server holds its most prepared statements
    (``max_prepared_stmt_count``, for all sessions together).
    """

    #: Runs (on any connection) before a statement is prepared: statements run once are not.
    THRESHOLD = 3
    #: Most statements kept prepared on one connection; the least recently run goes first.
    PER_CONNECTION = 128
    #: Longer id lists stay text.
    LONGEST_LIST = 1024
    _ATTRIBUTE = "_lineage_prepared"

    def __init__(self, dbapi) -> None:
        self._error = dbapi.MySQLError

    def statement(self, cursor, driver_connection, compiled: "Compiled", values: tuple) -> tuple[str, tuple]:
        """The text and parameters to run ``compiled`` with ``values``: an EXECUTE once prepared here.

        A statement with id lists is prepared once per list length rounded up
        to a power of two (at most ``LONGEST_LIST``); its lists are spread
        over that many arguments, the last id repeated, which ``IN`` ignores.
        """
        name = compiled.prepared_name
        if name is None:
            return compiled.text, values
        compiled.runs += 1
        if compiled.runs <= self.THRESHOLD:
            return compiled.text, values
        execute_text = compiled.execute_text
        sizes: tuple[int, ...] = ()
        if compiled.list_positions:
            values = list(values)
            for position in compiled.list_positions:
                ids = values[position].ids if values[position] is not None else None
                if not ids or len(ids) > self.LONGEST_LIST:
                    return compiled.text, _text_values(values)
                size = 1 << (len(ids) - 1).bit_length()
                sizes += (size,)
                values[position] = _MySqlIntArguments(ids, size)
            values = tuple(values)
            named = compiled.sized.get(sizes)
            if named is None:
                sized_name = f"{name}_{'_'.join(map(str, sizes))}"
                named = compiled.sized[sizes] = (sized_name, execute_text.replace(name, sized_name, 1))
            name, execute_text = named
        prepared = getattr(driver_connection, self._ATTRIBUTE, None)
        if prepared is None:
            prepared = collections.OrderedDict()
            setattr(driver_connection, self._ATTRIBUTE, prepared)
        if name in prepared:
            prepared.move_to_end(name)
            return execute_text, values
        try:
            if len(prepared) >= self.PER_CONNECTION:
                cursor.execute(f"DEALLOCATE PREPARE {prepared.popitem(last=False)[0]}")
            cursor.execute(f"PREPARE {name} FROM %s", (self._server_text(compiled, sizes),))
        except self._error as e:
            code = e.args[0] if e.args else None
            if code in _MYSQL_UNAVAILABLE:
                raise
            if code != _MYSQL_TOO_MANY_PREPARED:
                # Not a statement the server prepares: it stays text everywhere.
                compiled.prepared_name = None
            return compiled.text, _text_values(values)
        prepared[name] = True
        return execute_text, values

    @staticmethod
    def _server_text(compiled: "Compiled", sizes: tuple[int, ...]) -> str:
        """The statement with the server's placeholders, each id list as ``(?, ?, ...)`` of its size."""
        # Escaped percent signs stand aside while the format placeholders are split on.
        parts = compiled.text.replace("%%", "\0").split("%s")
        lists = dict(zip(compiled.list_positions, sizes))
        marks = ["(" + ", ".join(["?"] * lists[i]) + ")" if i in lists else "?" for i in range(len(parts) - 1)]
        text = parts[0] + "".join(mark + part for mark, part in zip(marks, parts[1:]))
        return text.replace("\0", "%")


class _StoredRows:
    """The fetch methods of a cursor that holds a whole result (``_rows``) once a statement ran."""

    __slots__ = ("_rows", "_next")

    def __init__(self) -> None:
        self._rows: Sequence[tuple] = ()
        self._next = 0

    def fetchone(self) -> tuple | None:
        """The next row, or None."""
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> Sequence[tuple]:
        """The rows not fetched yet."""
        rows = self._rows[self._next:] if self._next else self._rows
        self._next = len(self._rows)
        return rows

    def close(self) -> None:
        """Drops the stored result; the connection stays open."""
        self._rows = ()
        self._next = 0


class MySqlClientCursor(_StoredRows):
    """A cursor that runs statements on a mysqlclient connection through its C API alone.

    MySQLdb's cursor also reads each result's description, field flags and
    warning count, which the backend never asks for; without them a small
    read costs the client about 13 us less CPU per statement. The whole result
    is stored before any row is returned, as by MySQLdb's default cursor, and
    errors are the driver's own.

    Attributes:
        driver_connection: The mysqlclient connection.
        lastrowid: The id the last INSERT generated.
    """

    __slots__ = ("driver_connection", "lastrowid")

    def __init__(self, driver_connection) -> None:
        super().__init__()
        self.driver_connection = driver_connection
        self.lastrowid = None

    def execute(self, text: str, values: tuple | None = None) -> None:
        """Runs ``text``, its ``%s`` placeholders filled with ``values`` rendered by the driver."""
        connection = self.driver_connection
        query = text.encode(connection.encoding)
        if values is not None:
            # Ids and NULLs, most of the values, spelled here: the driver's
            # literal() reaches an int's text through a Python encoder.
            literal = connection.literal
            query %= tuple([b"%d" % value if type(value) is int else b"NULL" if value is None else literal(value)
                            for value in values])
        connection.query(query)
        result = connection.store_result()
        self._rows = result.fetch_row(0) if result is not None else ()
        self._next = 0
        self.lastrowid = connection.insert_id()



class PgLibpqCursor(_StoredRows):
    """A cursor that runs statements on a psycopg connection's libpq handle.

    psycopg's cursor spends about 20 us of client CPU per statement around
    libpq (query conversion, prepared-statement bookkeeping, wait
    generators, loader lookups per column), a tenth of a small read. Here a
    statement's ``%(name)s`` text becomes libpq's ``$n`` form once per
    connection (``_PgSession``), is prepared on the connection the second
    time it runs there, and its parameters and rows go through psycopg's own
    adapters (text format), so values read and written are those of its
    cursor. libpq releases the GIL while it waits for the server.

    Statements start no transaction: the backend sends BEGIN itself, so a
    one-statement read sends none. Errors are psycopg's own classes.

    Attributes:
        driver_connection: The psycopg connection.
    """

    __slots__ = ("driver_connection",)

    def __init__(self, driver_connection) -> None:
        super().__init__()
        self.driver_connection = driver_connection

    def execute(self, text: str, values: dict[str, Any] | None = None, prepare: bool = True) -> None:
        """Runs ``text``: with ``values`` (by name) as a statement, without as a plain command.

        Args:
            text: The statement, ``%(name)s`` placeholders.
            values: The parameters by name.
            prepare: False to have the server plan the statement for these
                values, never from a prepared statement's generic plan.
        """
        connection = self.driver_connection
        session = _PgSession.of(connection)
        pgconn = connection.pgconn
        if values is None:
            result = pgconn.exec_(text.encode(session.encoding))
        else:
            plan = session.plan(text)
            if plan.names:
                transformer = session.transformer
                params = transformer.dump_sequence([values[name] for name in plan.names], plan.formats)
                # The types psycopg gives the values, as its cursor sends them:
                # a literal without a cast (a filter's ``int_value > 0.5``) is
                # read as its value's type, not as the column's.
                types = transformer.types
            else:
                params, types = None, ()
            name = plan.prepared.get(types)
            if name is None and prepare:
                plan.runs += 1
                if plan.runs > _PgSession.PREPARE_AFTER and session.prepared < _PgSession.PER_CONNECTION:
                    name = b"lineage_%d" % session.prepared
                    session.check(pgconn.prepare(name, plan.query, types), pgconn)
                    session.prepared += 1
                    plan.prepared[types] = name
            if name is not None:
                result = pgconn.exec_prepared(name, params, None, 0)
            else:
                result = pgconn.exec_params(plan.query, params, types, None, 0)
        session.check(result, pgconn)
        if result.ntuples:
            transformer = session.transformer
            transformer.set_pgresult(result)
            self._rows = transformer.load_rows(0, result.ntuples, tuple)
            transformer.set_pgresult(None)
        else:
            self._rows = []
        self._next = 0



class _PgPlan:
    """A statement in libpq's form on one connection, and its names there once prepared, by parameter types."""

    __slots__ = ("query", "names", "formats", "runs", "prepared")

    def __init__(self, query: bytes, names: tuple[str, ...], text_format) -> None:
        self.query = query
        self.names = names
        self.formats = [text_format] * len(names)
        self.runs = 0
        self.prepared: dict[tuple[int, ...], bytes] = {}


class _PgSession:
    """What ``PgLibpqCursor`` keeps per psycopg connection: adapters and statement plans."""

    #: Runs of a statement on a connection before it is prepared there: one-off statements are not.
    PREPARE_AFTER = 1
    #: Most statements prepared on one connection; later ones run unprepared.
    PER_CONNECTION = 256
    #: Most plans kept per connection: past it, those not prepared are dropped.
    PLANS = 4096
    _ATTRIBUTE = "_lineage_session"

    def __init__(self, connection) -> None:
        import psycopg
        from psycopg import errors as pg_errors
        from psycopg.adapt import PyFormat, Transformer
        from psycopg.pq import ConnStatus, ExecStatus

        self.transformer = Transformer.from_context(connection)
        self.encoding = connection.info.encoding
        self.text_format = PyFormat.TEXT
        self.plans: dict[str, _PgPlan] = {}
        self.prepared = 0
        self._succeeded = (int(ExecStatus.TUPLES_OK), int(ExecStatus.COMMAND_OK))
        self._error_from_result = pg_errors.error_from_result
        self._lost = int(ConnStatus.BAD)
        self._lost_error = psycopg.OperationalError

    def check(self, result, pgconn) -> None:
        """Raises psycopg's error for a failed libpq result: OperationalError when the connection is lost."""
        if result.status not in self._succeeded:
            if pgconn.status == self._lost:
                message = pgconn.error_message.decode("utf-8", "replace").strip()
                raise self._lost_error(f"the connection is lost: {message}")
            raise self._error_from_result(result, encoding=self.encoding)

    @classmethod
    def of(cls, connection) -> "_PgSession":
        session = getattr(connection, cls._ATTRIBUTE, None)
        if session is None:
            session = cls(connection)
            setattr(connection, cls._ATTRIBUTE, session)
        return session

    def plan(self, text: str) -> _PgPlan:
        plan = self.plans.get(text)
        if plan is None:
            if len(self.plans) >= self.PLANS:
                self.plans = {key: kept for key, kept in self.plans.items() if kept.prepared}
            query, names = _numbered_placeholders(text)
            plan = self.plans[text] = _PgPlan(query.encode(self.encoding), names, self.text_format)
        return plan


_PYFORMAT_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


def _numbered_placeholders(text: str) -> tuple[str, tuple[str, ...]]:
    """A ``%(name)s`` statement with libpq's ``$n`` placeholders (one number per name), and the names in order."""
    numbers: dict[str, int] = {}

    def number(match) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        return f"${numbers.setdefault(name, len(numbers) + 1)}"

    return _PYFORMAT_PLACEHOLDER.sub(number, text), tuple(numbers)


def _text_values(values) -> tuple:
    """Parameters spread for an EXECUTE, back in the text statement's form."""
    return tuple(MySqlIntList(value.ids) if isinstance(value, _MySqlIntArguments) else value for value in values)


# --- errors ------------------------------------------------------------------

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CANTOPEN = 5, 6, 8, 14
_SQLITE_INTERRUPT, _SQLITE_TOOBIG = 9, 18
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB, _SQLITE_CONSTRAINT = 10, 11, 13, 26, 19

# Deadlock, lock wait timeout, duplicate key, record changed, table created after the snapshot.
_MYSQL_ABORTED = {1213, 1205, 1062, 1020, 1412}
_MYSQL_UNAVAILABLE = {2002, 2003, 2005, 2006, 2013, 2055, 1053, 1927, 4031}
_MYSQL_AUTH = {1045, 1698}
_MYSQL_INVALID = {1264, 1406, 1366, 1292, 1265, 3140, 1367}
# Statement stopped by max_statement_time (MariaDB) or max_execution_time (MySQL).
_MYSQL_TIMEOUT = {1969, 3024}
# The server's max_prepared_stmt_count, for all sessions together, is reached.
_MYSQL_TOO_MANY_PREPARED = 1461

_PG_ABORTED = {"40001", "40P01", "23505", "55P03"}
_PG_INVALID_PREFIX = ("22",)


def _sqlite_code(error: Exception) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def translate_error(error: Exception, where: str) -> errors.StatusError:
    """Maps a driver exception to the matching ``lineage.errors`` class.

    Args:
        error: The exception raised by sqlite3, mysqlclient, PyMySQL or psycopg (possibly
            wrapped by SQLAlchemy).
        where: The database, for messages ("MySQL 127.0.0.1:3306", a path...).

    Returns:
        The error to raise (``raise translate_error(e, ...) from e``).
    """
    if isinstance(error, errors.StatusError):
        return error
    original = getattr(error, "orig", None) or error
    module = type(original).__module__
    text = str(original).strip()
    if module.startswith("sqlite3"):
        code = _sqlite_code(original)
        if code == _SQLITE_INTERRUPT:
            return deadline_error(where)
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return errors.AbortedError(f"{where} is busy with another writer ({text}); retry")
        if code == _SQLITE_READONLY:
            return errors.FailedPreconditionError(
                f"{where} is read-only ({text}): it was opened with connection_mode READONLY "
                "or the file is not writable")
        if code == _SQLITE_CONSTRAINT:
            return errors.AbortedError(f"{where}: a concurrent write conflicts ({text}); retry")
        if code == _SQLITE_CANTOPEN:
            return errors.UnavailableError(f"{where} cannot be opened: {text}")
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return errors.DataLossError(f"{where} is damaged or not a database: {text}")
        if code == _SQLITE_FULL:
            return errors.ResourceExhaustedError(f"{where}: {text}")
        if code == _SQLITE_IOERR:
            return errors.UnavailableError(f"{where}: I/O error: {text}")
        return errors.InternalError(f"{where}: {text}")
    if module.startswith(("MySQLdb", "pymysql")):
        code = original.args[0] if original.args and isinstance(original.args[0], int) else None
        # mysqlclient leaves out a message it cannot decode (a value cut inside a character).
        message = original.args[1] if len(original.args) > 1 and original.args[1] is not None else text
        if code in _MYSQL_TIMEOUT:
            return deadline_error(where)
        if code in _MYSQL_ABORTED:
            return ConcurrentWriteError(f"{where}: a concurrent transaction conflicts ({message}); retry")
        if code in _MYSQL_UNAVAILABLE or type(original).__name__ == "InterfaceError":
            return errors.UnavailableError(f"{where} is unavailable: {message}")
        if code in _MYSQL_AUTH:
            return errors.UnauthenticatedError(f"{where} refused the credentials: {message}")
        if code in _MYSQL_INVALID:
            return errors.InvalidArgumentError(f"{where} rejected a value: {message}")
        return errors.InternalError(f"{where}: {message}")
    if module.startswith("psycopg"):
        state = getattr(original, "sqlstate", None)
        if state == "57014":  # query_canceled: the statement_timeout stopped it
            return deadline_error(where)
        if state in _PG_ABORTED:
            return ConcurrentWriteError(f"{where}: a concurrent transaction conflicts ({text}); retry")
        if state and state.startswith(("08", "57P")):
            return errors.UnavailableError(f"{where} is unavailable: {text}")
        if state and state.startswith("28"):
            return errors.UnauthenticatedError(f"{where} refused the credentials: {text}")
        if state and state.startswith(_PG_INVALID_PREFIX):
            return errors.InvalidArgumentError(f"{where} rejected a value: {text}")
        name = type(original).__name__
        if state is None and name in ("OperationalError", "InterfaceError"):
            return errors.UnavailableError(f"{where} is unavailable: {text}")
        return errors.InternalError(f"{where}: {text}")
    return errors.InternalError(f"{where}: {type(original).__name__}: {text}")
