"""The Neo4j backend: records as a property graph in a Neo4j 5 server.

Graph model (labels, relationship types and keys are shared with
``lineage.query.cypher_compiler``, which compiles filters against it):

* ``(:Artifact)``, ``(:Execution)``, ``(:Context)`` carry ``id``, ``type_id``
  and each set proto field of the node under its own name (``type``, ``name``,
  ``uri``, ``external_id``, ``state``, ``last_known_state``, the two times),
  the serialized proto without its id in ``proto`` (what reads return, so
  every value round-trips exactly), and a queryable copy of each int, double,
  string and bool (custom) property value under ``property_key(...)``, with
  the property names listed in ``pnames`` / ``cnames``. ``uname`` repeats a
  non-empty name for the (type_id, name) uniqueness constraint.
* Events follow the flow of data: ``(:Artifact)-[:INPUT_TO]->(:Execution)``
  for input event types, ``(:Execution)-[:OUTPUT]->(:Artifact)`` for the
  rest; each keeps the full Event proto, its type, time, both ids and ``seq``,
  the order in which events were written.
* ``(:Artifact)-[:ATTRIBUTED_TO]->(:Context)``,
  ``(:Execution)-[:ASSOCIATED_WITH]->(:Context)``,
  ``(child:Context)-[:CHILD_OF]->(parent:Context)``.
* ``(:Type {id, kind, name, version_key, external_id, proto})`` with
  ``(:Type)-[:DERIVES_FROM {pos}]->(:Type)`` for parent types.
* ``(:Sequence {name, next})`` counters hand out ids: one per node kind, one
  shared by all types (as MLMD numbers them), one for event order. A client
  reserves node and event ids in blocks, in a short transaction of its own, and
  hands them out from memory: ids are unique positive integers per kind, and a
  lone writer numbers 1, 2, 3... as MLMD does; concurrent writers interleave
  blocks.
* ``(:Fingerprint {key, execution_id})`` index the cache fingerprints.

Transactions. Every method runs inside ``transaction()``: one unit of work per
outermost call on a thread. No lock is store-wide: a writer locks only what it
writes (Neo4j's own node and relationship locks, taken when the buffered writes
are sent and held to commit), so writers touching different nodes do not wait
on each other. Uniqueness rests on the constraints below (type name and
version; type and name of nodes; external ids): a call that checked a name was
free and then met a node a concurrent writer committed with it fails at the
constraint. That, a deadlock Neo4j broke, and a node deleted between the read
and the write that matches it end the transaction with ``StaleSnapshotError``:
nothing was written, and the service runs the call again, which then sees the
other writer's work and answers as a single caller would. A transaction opened
with ``write=False`` only reads.

Sessions. A reading transaction runs in a session of read access mode, which
a cluster may serve from any member; a writing one (or a reading one that
writes after all) in a write session, served by the leader. Every session of
a backend shares one bookmark manager, so whichever member serves a
transaction has first applied everything this backend committed.

Inserted and updated nodes, events, links and fingerprints are buffered and
sent at commit (in several statements for very large writes), or earlier when
a query must see them (a filtered listing, a traversal, a fingerprint
look-up); reads in the same transaction merge the buffer in. Large reads come
back as collected lists in a single record, which the driver decodes far
faster than one record per row.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import threading
import urllib.parse
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from lineage import errors, traversal
from lineage.backends.base import (
    NODE_CLASSES, ORDER_FIELDS, TYPE_CLASSES, Kind, ListQuery, Node, NodeType, StaleSnapshotError,
    UniquenessConflictError,
    add_to_answer, deadline_error, statement_timeout,
)
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import cypher_compiler as cc
from lineage.traversal import BOTH, DOWNSTREAM, INPUT_EVENT_TYPES, OUTPUT_EVENT_TYPES, UPSTREAM, Reach

__all__ = ["Neo4jBackend", "open_backend", "SCHEMA_STATEMENTS"]

_T = TypeVar("_T")

_LABEL = cc.LABELS
_LINK_RELS = {"artifact": cc.ATTRIBUTION_REL, "execution": cc.ASSOCIATION_REL}
#: The relationship from a node of each kind to the contexts it belongs to (a parent, for a context).
_SOURCE_RELS = {**_LINK_RELS, "context": cc.PARENT_REL}
_STRING_FIELDS = frozenset({"type", "name", "uri", "external_id"})
_OUTPUT_TYPES = sorted(OUTPUT_EVENT_TYPES)
#: The Cypher list of an event relationship ``r`` that an ``_EventRow`` is made from.
#: An event stored without a type has none on its relationship: its proto says UNKNOWN (0).
_EVENT_ROW = "[r.seq, r.artifact_id, r.execution_id, coalesce(r.type, 0), r.milliseconds_since_epoch, r.proto]"
# Rows collected into two lists: one Bolt record, which the driver decodes several
# times faster than one record per node. collect() keeps the order of its input rows.
_COLLECT_NODES = "RETURN collect(n.id), collect(n.proto)"
_VALUE_KINDS = ("int_value", "double_value", "string_value", "bool_value")


def _schema_statements() -> dict[str, str]:
    """Constraint and index definitions by name; all are created IF NOT EXISTS."""
    statements: dict[str, str] = {}
    for kind, label in _LABEL.items():
        low = kind
        statements[f"lineage_{low}_id"] = (
            f"CREATE CONSTRAINT lineage_{low}_id IF NOT EXISTS FOR (n:{label}) REQUIRE n.id IS UNIQUE")
        statements[f"lineage_{low}_external_id"] = (
            f"CREATE CONSTRAINT lineage_{low}_external_id IF NOT EXISTS FOR (n:{label}) "
            "REQUIRE n.external_id IS UNIQUE")
        statements[f"lineage_{low}_type_name"] = (
            f"CREATE CONSTRAINT lineage_{low}_type_name IF NOT EXISTS FOR (n:{label}) "
            "REQUIRE (n.type_id, n.uname) IS UNIQUE")
        fields = ["type_id", "name", "create_time_since_epoch", "last_update_time_since_epoch"]
        if kind == "artifact":
            fields += ["uri", "state"]
        elif kind == "execution":
            fields += ["last_known_state"]
        for field in fields:
            statements[f"lineage_{low}_{field}"] = (
                f"CREATE INDEX lineage_{low}_{field} IF NOT EXISTS FOR (n:{label}) ON (n.{field})")
    statements["lineage_type_id"] = (
        "CREATE CONSTRAINT lineage_type_id IF NOT EXISTS FOR (t:Type) REQUIRE t.id IS UNIQUE")
    statements["lineage_type_name"] = (
        "CREATE CONSTRAINT lineage_type_name IF NOT EXISTS FOR (t:Type) "
        "REQUIRE (t.kind, t.name, t.version_key) IS UNIQUE")
    statements["lineage_type_external_id"] = (
        "CREATE CONSTRAINT lineage_type_external_id IF NOT EXISTS FOR (t:Type) "
        "REQUIRE (t.kind, t.external_id) IS UNIQUE")
    statements["lineage_sequence_name"] = (
        "CREATE CONSTRAINT lineage_sequence_name IF NOT EXISTS FOR (s:Sequence) "
        "REQUIRE s.name IS UNIQUE")
    statements["lineage_fingerprint_key"] = (
        "CREATE INDEX lineage_fingerprint_key IF NOT EXISTS FOR (f:Fingerprint) ON (f.key)")
    statements["lineage_fingerprint_execution"] = (
        "CREATE INDEX lineage_fingerprint_execution IF NOT EXISTS FOR (f:Fingerprint) "
        "ON (f.execution_id)")
    return statements


#: Every constraint and index the backend relies on, by name.
SCHEMA_STATEMENTS = _schema_statements()


# -- errors ---------------------------------------------------------------------------


def _translate(e: BaseException, where: str) -> errors.StatusError:
    """Maps a driver exception to the store's error classes."""
    detail = getattr(e, "message", None) or str(e) or type(e).__name__
    if isinstance(e, neo4j_errors.DatabaseUnavailable):
        return errors.UnavailableError(f"{where}: the Neo4j database is unavailable: {detail}")
    if "TransactionTimedOut" in (getattr(e, "code", None) or ""):
        return deadline_error(where)
    if isinstance(e, neo4j_errors.TransientError):
        return errors.AbortedError(f"{where}: Neo4j aborted the transaction; retry it: {detail}")
    if isinstance(e, neo4j_errors.ConstraintError):
        return errors.AlreadyExistsError(f"{where}: a Neo4j uniqueness constraint failed: {detail}")
    if isinstance(e, neo4j_errors.AuthError):
        return errors.UnauthenticatedError(f"{where}: Neo4j refused the credentials: {detail}")
    if isinstance(e, neo4j_errors.Forbidden):
        return errors.PermissionDeniedError(f"{where}: Neo4j forbids it: {detail}")
    if isinstance(e, neo4j_errors.IncompleteCommit):
        return errors.UnavailableError(
            f"{where}: the connection to Neo4j broke during commit; the outcome is unknown: {detail}")
    if isinstance(e, (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired,
                      neo4j_errors.ConnectionPoolError, OSError)):
        return errors.UnavailableError(f"{where}: Neo4j is unreachable: {detail}")
    if isinstance(e, neo4j_errors.ClientError) and e.code == "Neo.ClientError.Database.DatabaseNotFound":
        return errors.NotFoundError(f"{where}: {detail}")
    if isinstance(e, neo4j_errors.Neo4jError) and e.is_retryable():
        return errors.AbortedError(f"{where}: Neo4j aborted the transaction; retry it: {detail}")
    return errors.InternalError(f"{where}: Neo4j failed: {detail}")


_DRIVER_ERRORS = (neo4j_errors.Neo4jError, neo4j_errors.DriverError, OSError)


def _unit_of_work(write: bool) -> Callable[[Callable[..., _T]], Callable[..., _T]]:
    """Runs a backend method inside ``transaction(write=...)``, joining an open one."""

    def decorate(method: Callable[..., _T]) -> Callable[..., _T]:
        @functools.wraps(method)
        def wrapper(self: "Neo4jBackend", *args: Any, **kwargs: Any) -> _T:
            if self._local.depth:
                return method(self, *args, **kwargs)
            with self.transaction(write=write):
                return method(self, *args, **kwargs)

        return wrapper

    return decorate


_reading = _unit_of_work(write=False)
_writing = _unit_of_work(write=True)


# -- value conversion -----------------------------------------------------------------


def _node_properties(kind: Kind, node: Node) -> dict[str, Any]:
    """Returns the graph node's properties for a complete node proto."""
    props: dict[str, Any] = {"proto": _without_id(node)}
    if node.HasField("id"):
        props["id"] = node.id
    if node.HasField("type_id"):
        props["type_id"] = node.type_id
    for field in cc.NODE_FIELDS[kind]:
        if node.HasField(field):
            value = getattr(node, field)
            props[field] = value
            if field in _STRING_FIELDS:
                key = cc.code_point_key(value)
                if key != value:
                    props[cc.order_key(field)] = key
    if node.name:
        props["uname"] = node.name
    for is_custom, values in ((False, node.properties), (True, node.custom_properties)):
        if not values:
            continue
        props[cc.PROPERTY_NAMES_KEY[is_custom]] = sorted(values)
        for name, value in values.items():
            which = value.WhichOneof("value")
            if which not in _VALUE_KINDS:
                continue
            key = _property_key(name, which, is_custom)
            stored_value = getattr(value, which)
            props[key] = stored_value
            if which == "string_value":
                ordered = cc.code_point_key(stored_value)
                if ordered != stored_value:
                    props[cc.order_key(key)] = ordered
    return props


# Every node writes its property keys, and a store has few distinct ones.
_property_key = functools.lru_cache(maxsize=4096)(cc.property_key)


def _without_id(node: Node) -> bytes:
    """The node's serialized proto without its id (which lives in the ``id`` property)."""
    if not node.HasField("id"):
        return node.SerializeToString(deterministic=True)
    node_id = node.id
    node.ClearField("id")
    try:
        return node.SerializeToString(deterministic=True)
    finally:
        node.id = node_id


def _parse_node(kind: Kind, node_id: int, data: bytes | None) -> Node:
    node = NODE_CLASSES[kind]()
    node.ParseFromString(bytes(data or b""))
    node.id = node_id
    return node


def _parse_type(kind: Kind, type_id: int, data: bytes | None) -> NodeType:
    type_ = TYPE_CLASSES[kind]()
    type_.ParseFromString(bytes(data or b""))
    type_.id = type_id
    return type_


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Records are mostly shorter than 4 KiB: their length prefixes come from a table.
_SHORT_VARINTS = [bytes((n,)) if n < 0x80 else bytes(((n & 0x7F) | 0x80, n >> 7)) for n in range(1 << 12)]
# The LineageGraph field that holds each record class, as its wire tag (length-delimited).
_CONTAINER_TAGS = {
    cls: _varint((pb.LineageGraph.DESCRIPTOR.fields_by_name[field].number << 3) | 2)
    for cls, field in ((pb.Artifact, "artifacts"), (pb.Execution, "executions"),
                       (pb.Context, "contexts"), (pb.Event, "events"))
}
_CONTAINER_FIELDS = {pb.Artifact: "artifacts", pb.Execution: "executions",
                     pb.Context: "contexts", pb.Event: "events"}


def _parse_many(cls: type, datas: Sequence[bytes | None]) -> list[Any]:
    """Parses many serialized records of one class at once, in their order.

    The records are framed as the repeated field of one ``LineageGraph`` and
    parsed in a single call: one parse of the whole batch costs about half of
    a parse per record, which dominates reading a large answer.
    """
    tag, short = _CONTAINER_TAGS[cls], _SHORT_VARINTS
    frames = []
    append = frames.append
    for data in datas:
        size = len(data) if data else 0
        append(tag)
        append(short[size] if size < 4096 else _varint(size))
        if data:
            append(data)
    container = pb.LineageGraph()
    container.ParseFromString(b"".join(frames))
    return list(getattr(container, _CONTAINER_FIELDS[cls]))


def _parse_nodes(kind: Kind, ids: Sequence[int], datas: Sequence[bytes | None]) -> list[Node]:
    """``_parse_node`` for many nodes of one kind, parsed at once."""
    nodes = _parse_many(NODE_CLASSES[kind], datas)
    for node, node_id in zip(nodes, ids):
        node.id = node_id
    return nodes


def _type_properties(kind: Kind, type_: NodeType) -> dict[str, Any]:
    stored = TYPE_CLASSES[kind]()
    stored.CopyFrom(type_)
    stored.ClearField("id")
    props: dict[str, Any] = {
        "id": type_.id,
        "kind": kind,
        "name": type_.name,
        "version_key": type_.version,
        "proto": stored.SerializeToString(deterministic=True),
    }
    if type_.HasField("external_id"):
        props["external_id"] = type_.external_id
    return props


# -- the backend ----------------------------------------------------------------------

#: The sequence nodes: an id counter per node kind, one shared by all types (as MLMD
#: numbers them), and one for event order.
_SEQUENCES = ("artifact", "context", "event", "execution", "type")

#: Ids a client reserves from a node kind's or the events' counter at once. Writers
#: touch a counter once per block, not once per call, so they do not queue on it.
#: Types are few and numbered as MLMD numbers them: one at a time.
_ID_BLOCK = {"artifact": 64, "context": 64, "event": 64, "execution": 64, "type": 1}

# Gives a block's unused ids back to a counter that has not moved past the block since.
_RETURN_IDS = (
    "UNWIND $rows AS r MATCH (s:Sequence {name: r[0]}) SET s.locked = true REMOVE s.locked "
    "WITH s, r WHERE s.next = r[2] SET s.next = r[1]"
)

#: Attempts at reserving ids when clients create a counter at the same moment.
_RESERVE_ATTEMPTS = 3

_CREATE_SEQUENCES = "UNWIND $names AS name MERGE (s:Sequence {name: name}) ON CREATE SET s.next = 1"

# Reserves ``$count`` ids of one counter in a statement of its own. Setting a property
# first takes the counter's write lock, so the value read after it is the latest
# (``SET s.next = s.next + $count`` alone may add to a value read before the lock).
_RESERVE_IDS = (
    "MERGE (s:Sequence {name: $name}) ON CREATE SET s.next = 1 "
    "SET s.locked = true REMOVE s.locked WITH s, s.next AS first "
    "SET s.next = first + $count RETURN first"
)
#: Rows a transaction buffers before sending them early, and the most rows one flush
#: statement carries: both bound the size of a single Bolt message.
_FLUSH_ROWS = 10_000

#: Recently used type ids, fetched along with any type look-up that misses.
_HOT_TYPES = 256

#: Newest contexts of a node fetched along with it in a writing transaction.
_PREFETCH_CONTEXTS = 8

#: Context link relationships: source label and kind.
_LINK_SOURCES = {
    cc.ATTRIBUTION_REL: ("Artifact", "artifact"),
    cc.ASSOCIATION_REL: ("Execution", "execution"),
    cc.PARENT_REL: ("Context", "context"),
}


class _IdBlocks:
    """Ids a client reserved from the store's counters and has not handed out yet.

    Safe to share between threads. A transaction that rolls back gives its ids
    back when no other transaction took ids of the same counter since, so a
    lone writer numbers its nodes 1, 2, 3... without gaps, as MLMD does.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Counter name -> [next id to hand out, first id past the block].
        self._blocks: dict[str, list[int]] = {}

    def take(self, sequence: str, count: int, reserve: Callable[[str, int], int]) -> int:
        """Hands out ``count`` consecutive ids; ``reserve(name, n)`` reserves ``n`` more in the store."""
        with self._lock:
            block = self._blocks.get(sequence)
            if block is None or block[1] - block[0] < count:
                size = max(count, _ID_BLOCK[sequence])
                first = reserve(sequence, size)
                if block is not None and first == block[1]:
                    block[1] = first + size  # no one reserved in between: the blocks join
                else:
                    block = self._blocks[sequence] = [first, first + size]
            first = block[0]
            block[0] += count
            return first

    def give_back(self, sequence: str, first: int, count: int) -> None:
        """Returns ids of a rolled-back transaction, if they are the last ones handed out."""
        with self._lock:
            block = self._blocks.get(sequence)
            if block is not None and block[0] == first + count:
                block[0] = first

    def unused(self) -> list[list[Any]]:
        """``[counter, next id, end of block]`` of every block with ids left; empties them."""
        with self._lock:
            left = [[name, block[0], block[1]] for name, block in self._blocks.items() if block[0] < block[1]]
            self._blocks.clear()
            return left


class _ThreadState(threading.local):
    """One thread's open transaction: what it read, what it will write.

    Reads run as auto-commit statements (Neo4j reads at read-committed
    isolation either way) until the transaction first writes; then a Neo4j
    transaction opens and every later statement runs in it, so reads see the
    transaction's own writes. Writes wait in the buffer until commit, or until
    a query must see them.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.session: neo4j.Session | None = None
        # Whether the session is in write access mode.
        self.session_writes = True
        self.tx: neo4j.Transaction | None = None
        self.reset(write=True)

    def reset(self, write: bool) -> None:
        self.write = write
        # Ids this transaction took: (counter, first, count), given back on rollback.
        self.taken: list[tuple[str, int, int]] = []
        # What this transaction read or wrote: nodes and types by id, complete link sets,
        # names looked up, find_nodes answers (stored part only).
        self.nodes: dict[tuple[str, int], Node] = {}
        self.raw_nodes: dict[tuple[str, int], bytes] = {}
        self.types: dict[int, tuple[str, NodeType]] = {}
        self.links: dict[tuple[str, int], frozenset[int]] = {}
        self.names: dict[tuple[str, int, str], int | None] = {}
        self.found: dict[tuple[Any, ...], list[Node]] = {}
        # The write buffer.
        self.new_nodes: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in NODE_CLASSES}
        self.changed_nodes: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in NODE_CLASSES}
        self.new_events: list[tuple[bool, dict[str, Any]]] = []
        self.new_links: dict[str, dict[tuple[int, int], None]] = {rel: {} for rel in _LINK_SOURCES}
        self.fingerprints: dict[int, list[str]] = {}
        self.buffered = 0
        # Set by commit_import_part: the store holds only what this import wrote, and no link twice.
        self.import_only = False


class Neo4jBackend:
    """Stores records in Neo4j through the official driver; safe to share between threads.

    Args:
        driver: A connected driver; the backend closes it.
        database: Database name, or None for the server's default.
        uri: The server URI, for messages.
        timeout: Seconds a transaction (or auto-commit statement) may run on
            the server, or None for no limit.
    """

    #: ``traverse`` takes ``as_of_ms`` (see ``lineage_service._walker``).
    traverses_as_of = True

    def __init__(self, driver: neo4j.Driver, database: str | None, uri: str = "",
                 timeout: float | None = None):
        self._driver = driver
        # Neo4j stops a transaction that runs longer, and frees what it holds.
        self._timeout = timeout
        self._database = database
        self._uri = uri
        # Every session of this store shares one bookmark manager: a transaction waits until
        # the server it lands on (in a cluster, maybe a follower) has applied every
        # transaction this store committed before, so any thread reads its store's writes.
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        self._local = _ThreadState()
        self._ids = _IdBlocks()
        self._hot_types: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._hot_lock = threading.Lock()

    # -- transactions -------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, write: bool = True, one_statement: bool = False) -> Iterator[None]:
        """Opens one unit of work, or joins the one this thread has open.

        The outermost call sends the buffered writes and commits when its
        block ends, and rolls back (nothing written) when it raises.

        Args:
            write: False promises that the unit of work only reads.
            one_statement: Accepted for the Backend protocol; every unit of
                work here is a transaction.

        Raises:
            StaleSnapshotError: The unit of work met a concurrent writer: a
                deadlock Neo4j broke, or a node deleted after it was read.
                Nothing was written and running it again is safe.
            UniquenessConflictError: A write broke a uniqueness constraint:
                a duplicate, or a name a concurrent writer committed after
                this unit of work looked; nothing was written.
            UnavailableError: Neo4j cannot be reached.
        """
        del one_statement
        state = self._local
        if state.depth:
            state.depth += 1
            try:
                yield
            finally:
                state.depth -= 1
            return
        state.reset(write)
        self._open_session(write)
        state.tx, state.depth = None, 1
        try:
            try:
                yield
                self._flush()
                if state.tx is not None:
                    try:
                        state.tx.commit()
                    except _DRIVER_ERRORS as e:
                        raise _translate(e, f"commit on {self._uri}") from e
            except BaseException as e:
                self._abandon()
                cause = e.__cause__ if isinstance(e, errors.StatusError) else None
                if isinstance(cause, neo4j_errors.ConstraintError):
                    raise UniquenessConflictError(str(e)) from cause
                if isinstance(cause, neo4j_errors.TransientError) and "TimedOut" not in (cause.code or ""):
                    raise StaleSnapshotError(
                        f"{e}; Neo4j aborted the transaction for a concurrent one, nothing was "
                        "written, run the call again") from cause
                if isinstance(cause, neo4j_errors.ClientError) and (cause.code or "").endswith("EntityNotFound"):
                    # A node matched before a concurrent purge deleted it, written after.
                    raise StaleSnapshotError(
                        f"{e}; a concurrent writer deleted a node this call writes, nothing was "
                        "written, run the call again") from cause
                raise
        finally:
            session, tx = state.session, state.tx
            state.session, state.tx, state.depth = None, None, 0
            state.reset(write=True)
            if tx is not None:
                with contextlib.suppress(*_DRIVER_ERRORS):
                    tx.close()
            with contextlib.suppress(*_DRIVER_ERRORS):
                session.close()

    def _open_session(self, write: bool) -> None:
        """Opens this thread's session in write or read access mode.

        A cluster sends a read session's statements to any member (followers
        too) and a write session's to the leader; a single server takes both.
        """
        state = self._local
        state.session = self._session(write)
        state.session_writes = write

    def _session(self, write: bool = True) -> neo4j.Session:
        """A session of this store: its database, its bookmarks, read or write access."""
        return self._driver.session(
            database=self._database, bookmark_manager=self._bookmarks,
            default_access_mode=neo4j.WRITE_ACCESS if write else neo4j.READ_ACCESS)

    def _abandon(self) -> None:
        """Rolls back a failed transaction and gives its ids back."""
        state = self._local
        if state.tx is not None:
            with contextlib.suppress(*_DRIVER_ERRORS):
                state.tx.close()
            state.tx = None
        for sequence, first, count in reversed(state.taken):
            self._ids.give_back(sequence, first, count)
        state.taken.clear()

    def _reopen_session(self) -> None:
        # A pooled connection may have died with a server restart; the driver drops it when
        # the first message fails. Nothing was done on it, so one more attempt is safe.
        state = self._local
        with contextlib.suppress(*_DRIVER_ERRORS):
            state.session.close()
        self._open_session(state.session_writes)

    def _begin_with(self, query: str, params: dict[str, Any]) -> list[list[Any]]:
        """Opens this thread's Neo4j transaction with ``query`` as its first statement."""
        state = self._local
        if not state.session_writes:
            # A reading transaction that writes after all: a read session's statements may
            # go to a server that cannot write, so it continues on a write session.
            with contextlib.suppress(*_DRIVER_ERRORS):
                state.session.close()
            self._open_session(True)
        for attempt in range(2):
            try:
                state.tx = _begin(state.session, self._timeout)
                return self._send(query, params)
            except _DRIVER_ERRORS as e:
                tx, state.tx = state.tx, None
                if tx is not None:
                    with contextlib.suppress(*_DRIVER_ERRORS):
                        tx.close()
                # The transaction's first statement failed with the connection: the server
                # dropped the transaction, so running both again on a new one is safe.
                if attempt or not _reconnectable(e):
                    raise _translate(e, _where(query, self._uri)) from e
                self._reopen_session()
        raise AssertionError("unreachable")

    def _read(self, query: str, **params: Any) -> list[list[Any]]:
        """Runs a read: in the open transaction, or on its own before the transaction writes."""
        state = self._local
        if state.session is None:
            raise errors.InternalError("Neo4jBackend statement outside a transaction")
        if state.tx is not None:
            return self._run_in_tx(query, params)
        # Neo4j reads at read-committed isolation either way, so an auto-commit read sees
        # what a read inside the transaction would, and saves the BEGIN round trip.
        for attempt in range(2):
            try:
                return self._send(query, params)
            except _DRIVER_ERRORS as e:
                if attempt or not _reconnectable(e):
                    raise _translate(e, _where(query, self._uri)) from e
                self._reopen_session()
        raise AssertionError("unreachable")

    def _collect(self, subquery: str, **params: Any) -> list[Any]:
        """Returns the rows of ``COLLECT { subquery }``."""
        [[rows]] = self._read(f"RETURN COLLECT {{ {subquery} }}", **params)
        return rows

    def _write(self, query: str, **params: Any) -> list[list[Any]]:
        """Runs a statement that writes now, in this thread's transaction (opened by it if need be)."""
        state = self._local
        if state.session is None:
            raise errors.InternalError("Neo4jBackend statement outside a transaction")
        if state.tx is None:
            return self._begin_with(query, params)
        return self._run_in_tx(query, params)

    def _send(self, query: str, params: dict[str, Any]) -> list[list[Any]]:
        """Sends one statement: in this thread's Neo4j transaction, or on its own (auto-commit)."""
        state = self._local
        if state.tx is not None:
            return state.tx.run(query, params).values()
        return state.session.run(neo4j.Query(query, timeout=self._timeout), params).values()

    def _run_in_tx(self, query: str, params: dict[str, Any]) -> list[list[Any]]:
        try:
            return self._send(query, params)
        except _DRIVER_ERRORS as e:
            raise _translate(e, _where(query, self._uri)) from e

    def close(self) -> None:
        """Returns the ids reserved but not handed out, when no one reserved after them; closes the driver."""
        left = self._ids.unused()
        with contextlib.suppress(*_DRIVER_ERRORS):
            if left:
                with self._session() as session:
                    session.run(_RETURN_IDS, rows=left).consume()
        with contextlib.suppress(*_DRIVER_ERRORS):
            self._driver.close()

    # -- bulk import ------------------------------------------------------------
    @_writing
    def commit_import_part(self) -> bool:
        """Sends the buffered writes and commits them; the Import goes on in a new transaction.

        Neo4j holds an open transaction's writes in server memory, so a store of
        millions of records cannot be imported in one. What this transaction
        read is forgotten with it, which also bounds the client's memory.
        """
        state = self._local
        self._flush()
        tx, state.tx = state.tx, None
        if tx is not None:
            try:
                tx.commit()
            except _DRIVER_ERRORS as e:
                raise _translate(e, f"commit part of an import on {self._uri}") from e
            finally:
                with contextlib.suppress(*_DRIVER_ERRORS):
                    tx.close()
        types = state.types
        # Committed ids are not given back when a later part fails: empty_store resets the counters.
        state.reset(state.write)
        state.types = types
        state.import_only = True
        return True

    def empty_store(self, keep_type_ids: Iterable[int]) -> None:
        """Deletes all records but the kept types, in batches of auto-commit transactions."""
        where = f"empty the store on {self._uri} after a failed import"
        keep = sorted(set(keep_type_ids))
        try:
            with self._session() as session:
                session.run(
                    "MATCH (n) WHERE n:Artifact OR n:Execution OR n:Context OR n:Fingerprint "
                    "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
                session.run("MATCH (t:Type) WHERE NOT t.id IN $keep DETACH DELETE t", keep=keep).consume()
                # Ids were reserved in blocks, some of them handed out: the counters start again
                # where an empty store's stand, and this client's unused blocks are dropped.
                self._ids.unused()
                session.run(
                    "MATCH (s:Sequence) SET s.next = CASE s.name WHEN 'type' THEN $next_type ELSE 1 END",
                    next_type=(max(keep) + 1) if keep else 1).consume()
        except _DRIVER_ERRORS as e:
            raise _translate(e, where) from e

    # -- schema -------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Creates the constraints and indexes the store relies on, if any is missing.

        Raises:
            NotFoundError: The configured database does not exist.
            UnavailableError: Neo4j cannot be reached.
        """
        where = f"prepare the Neo4j schema on {self._uri}"
        try:
            with self._session() as session:
                present = {row[0] for row in session.run("SHOW CONSTRAINTS YIELD name").values()}
                present |= {row[0] for row in session.run("SHOW INDEXES YIELD name").values()}
                missing = [text for name, text in SCHEMA_STATEMENTS.items() if name not in present]
                for text in missing:
                    try:
                        session.run(text).consume()
                    except neo4j_errors.ClientError as e:
                        # Another process created an equivalent rule at the same time.
                        if "EquivalentSchemaRuleAlreadyExists" not in (e.code or ""):
                            raise
                if missing:
                    session.run("CALL db.awaitIndexes(300)").consume()
                # The counters exist before any call reserves ids, so a call that fails
                # leaves nothing behind. Looked for first, so opening a prepared store writes nothing.
                counters = {row[0] for row in session.run("MATCH (s:Sequence) RETURN s.name").values()}
                for attempt in range(_RESERVE_ATTEMPTS if set(_SEQUENCES) - counters else 0):
                    try:
                        session.run(_CREATE_SEQUENCES, names=list(_SEQUENCES)).consume()
                        break
                    except neo4j_errors.ConstraintError:
                        # Another client created one at the same time; it exists now.
                        if attempt == _RESERVE_ATTEMPTS - 1:
                            raise
        except _DRIVER_ERRORS as e:
            raise _translate(e, where) from e

    # -- ids and the write buffer ---------------------------------------------
    def _allocate(self, sequence: str, count: int) -> int:
        """Hands out ``count`` consecutive ids of a counter; returns the first.

        Ids come from a block this client reserved in the store beforehand, so
        concurrent writers rarely touch the same counter.
        """
        first = self._ids.take(sequence, count, self._reserve)
        self._local.taken.append((sequence, first, count))
        return first

    def _reserve(self, sequence: str, count: int) -> int:
        """Reserves ``count`` ids of a counter in a transaction of its own; returns the first."""
        where = f"reserve {sequence} ids on {self._uri}"
        for attempt in range(_RESERVE_ATTEMPTS):
            try:
                with self._session() as session:
                    return session.execute_write(
                        lambda tx: tx.run(_RESERVE_IDS, name=sequence, count=count).single()[0])
            except neo4j_errors.ConstraintError as e:
                # Two clients created the counter at once; the other one's now exists.
                if attempt == _RESERVE_ATTEMPTS - 1:
                    raise _translate(e, where) from e
            except _DRIVER_ERRORS as e:
                raise _translate(e, where) from e
        raise AssertionError("unreachable")

    def _buffered(self, rows: int) -> None:
        state = self._local
        state.buffered += rows
        if state.buffered >= _FLUSH_ROWS:
            self._flush()

    def _parts(self) -> list[tuple[str, list[Any], bool]]:
        """The buffered writes as ``(clause over $rows, rows, checked)``, in the order they must run.

        A checked part yields one row per input row while every node it
        matches exists: fewer means a concurrent writer deleted one since it
        was read. Fingerprints come last, as the one part that may end without rows.
        """
        state = self._local
        parts: list[tuple[str, list[Any], bool]] = []
        for kind, label in _LABEL.items():
            if state.new_nodes[kind]:
                parts.append((f"UNWIND $rows AS r CREATE (n:{label}) SET n = r",
                              list(state.new_nodes[kind].values()), True))
        for kind, label in _LABEL.items():
            if state.changed_nodes[kind]:
                parts.append((f"UNWIND $rows AS r MATCH (n:{label} {{id: r.id}}) SET n = r",
                              list(state.changed_nodes[kind].values()), True))
        for is_input, pattern in ((True, f"(a)-[x:{cc.INPUT_REL}]->(e)"),
                                  (False, f"(e)-[x:{cc.OUTPUT_REL}]->(a)")):
            rows = [props for flag, props in state.new_events if flag is is_input]
            if rows:
                parts.append(("UNWIND $rows AS r MATCH (a:Artifact {id: r.artifact_id}) "
                              f"MATCH (e:Execution {{id: r.execution_id}}) CREATE {pattern} SET x = r",
                              rows, True))
        for rel, (source, kind) in _LINK_SOURCES.items():
            # A node created in this buffer has no stored links, so its links need no
            # MERGE (which first looks for an existing one); the buffer holds no duplicates.
            # Nor does a node an import into an empty store committed: the stream names each link once.
            created = state.new_nodes[kind]
            fresh = state.import_only
            for verb, rows in (("CREATE", [list(p) for p in state.new_links[rel] if fresh or p[0] in created]),
                               ("MERGE", [list(p) for p in state.new_links[rel]
                                          if not fresh and p[0] not in created])):
                if rows:
                    parts.append((f"UNWIND $rows AS p MATCH (a:{source} {{id: p[0]}}) "
                                  f"MATCH (b:Context {{id: p[1]}}) {verb} (a)-[:{rel}]->(b)", rows, True))
        if state.fingerprints:
            created = state.new_nodes["execution"]
            fresh = [{"id": i, "keys": keys} for i, keys in sorted(state.fingerprints.items()) if i in created]
            stored = [{"id": i, "keys": keys} for i, keys in sorted(state.fingerprints.items())
                      if i not in created]
            if stored:
                parts.append(("UNWIND $rows AS r OPTIONAL MATCH (f:Fingerprint {execution_id: r.id}) DELETE f "
                              "WITH DISTINCT counts, r UNWIND r.keys AS k CREATE (:Fingerprint {key: k, execution_id: r.id})",
                              stored, False))
            if fresh:
                # A new execution has no fingerprints to replace.
                parts.append(("UNWIND $rows AS r UNWIND r.keys AS k CREATE (:Fingerprint {key: k, execution_id: r.id})",
                              fresh, False))
        return parts

    def _clear_buffer(self) -> None:
        state = self._local
        for pending in (*state.new_nodes.values(), *state.changed_nodes.values(), *state.new_links.values()):
            pending.clear()
        state.new_events.clear()
        state.fingerprints.clear()
        state.buffered = 0
        # Stored answers no longer tell what is stored.
        state.found.clear()

    def _flush(self) -> None:
        """Sends the buffered writes in this thread's transaction, opening it if need be.

        Raises:
            StaleSnapshotError: A node the writes match was deleted by a
                concurrent writer after this transaction read it.
        """
        state = self._local
        if not state.buffered:
            return
        for text, params, expected in _flush_statements(self._parts()):
            rows = self._write(text, **params)
            counts = rows[0][0] if rows else None
            if counts is None or any(want is not None and got != want for got, want in zip(counts, expected)):
                raise StaleSnapshotError(
                    f"write on {self._uri}: a node this call refers to was deleted by a concurrent "
                    "writer; nothing was written, run the call again")
        self._clear_buffer()

    # -- what this transaction knows ----------------------------------------
    def _recall(self, field: str, key: Any) -> tuple[bool, Any]:
        """(True, value) that this transaction holds under ``key`` in ``field``, else (False, None).

        ``field`` names the map (``nodes``, ``types``, ``links``, ``names``).
        """
        mine = getattr(self._local, field)
        if key in mine:
            return True, mine[key]
        return False, None

    def _known_node(self, kind: str, node_id: int) -> Node | None:
        """A node from this transaction's memory, else None."""
        data = self._local.raw_nodes.pop((kind, node_id), None)
        if data is not None:
            self._local.nodes[(kind, node_id)] = _parse_node(kind, node_id, data)
        return self._recall("nodes", (kind, node_id))[1]

    def _named(self, kind: str, node: Node, node_id: int | None) -> None:
        """Records that ``node`` (by id, None for no node) holds its (type, name), if named."""
        if node.HasField("name") and node.name and node.HasField("type_id"):
            self._local.names[(kind, node.type_id, node.name)] = node_id

    # -- types --------------------------------------------------------------
    def _touch_types(self, type_ids: Iterable[int]) -> None:
        with self._hot_lock:
            hot = self._hot_types
            for type_id in type_ids:
                hot[type_id] = None
                hot.move_to_end(type_id)
            while len(hot) > _HOT_TYPES:
                hot.popitem(last=False)

    @_writing
    def insert_type(self, kind: Kind, type_: NodeType) -> int:
        type_.id = self._allocate("type", 1)
        self._write("CREATE (t:Type) SET t = $props", props=_type_properties(kind, type_))
        self._local.types[type_.id] = (kind, type_)
        return type_.id

    @_writing
    def update_type(self, kind: Kind, type_: NodeType) -> None:
        self._write("MATCH (t:Type {id: $id, kind: $kind}) SET t = $props",
                    id=type_.id, kind=kind, props=_type_properties(kind, type_))
        self._local.types[type_.id] = (kind, type_)

    @_reading
    def get_types(self, kind: Kind, ids: Iterable[int] | None = None) -> list[NodeType]:
        state = self._local
        if ids is None:
            rows = self._read("MATCH (t:Type {kind: $kind}) RETURN t.id, t.proto ORDER BY t.id", kind=kind)
            found = [_parse_type(kind, i, data) for i, data in rows]
            for type_ in found:
                state.types[type_.id] = (kind, type_)
            return found
        wanted = sorted(set(ids))
        missing = [i for i in wanted if not self._recall("types", i)[0]]
        if missing:
            # Types are few and read by almost every call: fetching the recently used ones
            # with the missing ones saves the next look-ups in this transaction a round trip.
            with self._hot_lock:
                hot = [i for i in self._hot_types if not self._recall("types", i)[0]]
            rows = self._collect(
                "UNWIND $ids AS i MATCH (t:Type {id: i}) RETURN [t.id, t.kind, t.proto]",
                ids=sorted(set(missing).union(hot)),
            )
            for type_id, type_kind, data in rows:
                state.types[type_id] = (type_kind, _parse_type(type_kind, type_id, data))
        found = [state.types[i][1] for i in wanted if i in state.types and state.types[i][0] == kind]
        self._touch_types(t.id for t in found)
        return found

    @_reading
    def find_type(self, kind: Kind, name: str, version: str | None) -> NodeType | None:
        rows = self._read(
            "MATCH (t:Type {kind: $kind, name: $name, version_key: $version}) RETURN t.id, t.proto",
            kind=kind, name=name, version=version or "",
        )
        return _parse_type(kind, *rows[0]) if rows else None

    @_reading
    def find_types_by_external_id(self, kind: Kind, external_ids: Iterable[str]) -> list[NodeType]:
        rows = self._read(
            "MATCH (t:Type {kind: $kind}) WHERE t.external_id IN $ids RETURN t.id, t.proto ORDER BY t.id",
            kind=kind, ids=list(set(external_ids)),
        )
        return [_parse_type(kind, i, data) for i, data in rows]

    @_writing
    def set_parent_type(self, kind: Kind, type_id: int, parent_type_id: int) -> None:
        self._write(
            "MATCH (t:Type {id: $id, kind: $kind}) MATCH (p:Type {id: $parent}) "
            "OPTIONAL MATCH (t)-[old:DERIVES_FROM]->() "
            "WITH t, p, count(old) AS pos CREATE (t)-[:DERIVES_FROM {pos: pos}]->(p)",
            id=type_id, kind=kind, parent=parent_type_id,
        )

    @_reading
    def get_parent_types(self, kind: Kind, type_ids: Iterable[int]) -> dict[int, list[int]]:
        rows = self._read(
            "UNWIND $ids AS i MATCH (t:Type {id: i})-[r:DERIVES_FROM]->(p:Type) WHERE t.kind = $kind "
            "RETURN t.id, p.id ORDER BY t.id, r.pos",
            ids=sorted(set(type_ids)), kind=kind,
        )
        parents: dict[int, list[int]] = {}
        for type_id, parent_id in rows:
            parents.setdefault(type_id, []).append(parent_id)
        return parents

    # -- nodes --------------------------------------------------------------
    @_writing
    def insert_nodes(self, kind: Kind, nodes: Sequence[Node]) -> list[int]:
        if not nodes:
            return []
        first = self._allocate(kind, len(nodes))
        state = self._local
        pending = state.new_nodes[kind]
        rel = _SOURCE_RELS[kind]
        ids = []
        for node_id, node in enumerate(nodes, start=first):
            node.id = node_id
            pending[node_id] = _node_properties(kind, node)
            state.nodes[(kind, node_id)] = node
            self._named(kind, node, node_id)
            state.links[(rel, node_id)] = frozenset()  # a new node links to nothing yet
            ids.append(node_id)
        self._buffered(len(nodes))
        return ids

    @_writing
    def update_nodes(self, kind: Kind, nodes: Sequence[Node]) -> None:
        if not nodes:
            return
        state = self._local
        created = state.new_nodes[kind]
        for node in nodes:
            previous = self._known_node(kind, node.id)
            if previous is not None and previous.name != node.name:
                self._named(kind, previous, None)
            self._named(kind, node, node.id)
            (created if node.id in created else state.changed_nodes[kind])[node.id] = _node_properties(kind, node)
            state.nodes[(kind, node.id)] = node
        self._buffered(len(nodes))

    @_reading
    def get_nodes(self, kind: Kind, ids: Iterable[int], into=None) -> list[Node]:
        return add_to_answer(into, self._cached_nodes(kind, ids))

    def _cached_nodes(self, kind: Kind, ids: Iterable[int]) -> list[Node]:
        """The nodes among ``ids``, ascending by id, read once per transaction."""
        wanted = sorted(set(ids))
        state = self._local
        cache = state.nodes
        if state.raw_nodes:
            # Nodes a traversal brought along, parsed together now that they are read.
            raw = state.raw_nodes
            held = [i for i in wanted if (kind, i) in raw]
            if held:
                for node in _parse_nodes(kind, held, [raw.pop((kind, i)) for i in held]):
                    cache[(kind, node.id)] = node
        missing = [node_id for node_id in wanted if (kind, node_id) not in cache]
        if missing:
            if state.write and kind in _LINK_RELS:
                self._fetch_with_contexts(kind, missing)
            else:
                [[found_ids, protos]] = self._read(
                    f"UNWIND $ids AS i MATCH (n:{_LABEL[kind]} {{id: i}}) " + _COLLECT_NODES, ids=missing)
                for node in _parse_nodes(kind, found_ids, protos):
                    cache[(kind, node.id)] = node
        return [cache[(kind, i)] for i in wanted if (kind, i) in cache]

    def _fetch_with_contexts(self, kind: Kind, ids: list[int]) -> None:
        """Reads nodes with the ids of their contexts and the newest few contexts themselves.

        A writing call that reads a stored artifact or execution next checks its
        links to the call's contexts and reads those contexts: one statement
        answers all three.
        """
        state = self._local
        rel = _LINK_RELS[kind]
        rows = self._collect(_with_contexts(kind, "ids"), ids=ids, few=_PREFETCH_CONTEXTS)
        for node_id, data, context_ids, context_protos in rows:
            # Nothing this transaction holds already (it may have changed it) is replaced.
            if (kind, node_id) not in state.nodes:
                state.nodes[(kind, node_id)] = _parse_node(kind, node_id, data)
            if (rel, node_id) not in state.links:
                state.links[(rel, node_id)] = frozenset(context_ids)
            for context_id, context_data in zip(context_ids, context_protos):
                if ("context", context_id) not in state.nodes:
                    state.nodes[("context", context_id)] = _parse_node("context", context_id, context_data)

    def node_ids_by_name(self, kind: Kind, type_id: int, name: str) -> list[int]:
        return [node.id for node in self.find_nodes(kind, type_ids=[type_id], name=name)]

    @_reading
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
        return add_to_answer(into, self._found_nodes(kind, type_ids, name, uri, external_ids))

    def _found_nodes(self, kind: Kind, type_ids, name, uri, external_ids) -> list[Node]:
        """``find_nodes`` without ``into``: finished nodes, shared with this unit of work's cache."""
        if uri is not None and kind != "artifact":
            return []
        type_set = None if type_ids is None else frozenset(type_ids)
        external_set = None if external_ids is None else frozenset(external_ids)
        state = self._local
        if state.write and name and type_set is not None and len(type_set) == 1 and uri is None \
                and external_set is None:
            # A look-up by (type, name), as a writer checks uniqueness or reuses a context.
            [type_id] = type_set
            known, node_id = self._recall("names", (kind, type_id, name))
            if known:
                node = None if node_id is None else self._known_node(kind, node_id)
                if node_id is None or node is not None:
                    return [] if node is None else [node]
        key = (kind, type_set, name, uri, external_set)
        stored = state.found.get(key)
        if stored is None:
            conditions = []
            params: dict[str, Any] = {}
            if type_set is not None:
                conditions.append("n.type_id IN $type_ids")
                params["type_ids"] = sorted(type_set)
            if name is not None:
                conditions.append("n.name = $name")
                params["name"] = name
            if uri is not None:
                conditions.append("n.uri = $uri")
                params["uri"] = uri
            if external_set is not None:
                conditions.append("n.external_id IN $external_ids")
                params["external_ids"] = sorted(external_set)
            where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            rows = self._collect(f"MATCH (n:{_LABEL[kind]}){where} RETURN [n.id, n.proto]", **params)
            stored = []
            for node_id, data in sorted(rows):
                # The caller will most likely read what it found by id next.
                node = state.nodes.get((kind, node_id))
                if node is None:
                    node = state.nodes[(kind, node_id)] = _parse_node(kind, node_id, data)
                stored.append(node)
            state.found[key] = stored
            if state.write and name and type_set is not None and len(type_set) == 1:
                [type_id] = type_set
                # A buffered change to this name would be recorded already.
                if (kind, type_id, name) not in state.names:
                    state.names[(kind, type_id, name)] = stored[0].id if stored else None

        def matches(node: Node) -> bool:
            return ((type_set is None or (node.HasField("type_id") and node.type_id in type_set))
                    and (name is None or (node.HasField("name") and node.name == name))
                    and (uri is None or (node.HasField("uri") and node.uri == uri))
                    and (external_set is None or (node.HasField("external_id")
                                                  and node.external_id in external_set)))

        pending = state.new_nodes[kind].keys() | state.changed_nodes[kind].keys()
        if not pending:
            return list(stored)
        # Buffered nodes replace what is stored under their ids, and may match too.
        result = {node.id: node for node in stored if node.id not in pending}
        for node_id in pending:
            node = state.nodes[(kind, node_id)]
            if matches(node):
                result[node_id] = node
        return [result[i] for i in sorted(result)]

    @_reading
    def list_nodes(self, kind: Kind, query: ListQuery, into=None) -> list[Node]:
        return add_to_answer(into, self._listed(kind, query))

    def _listed(self, kind: Kind, query: ListQuery) -> list[Node]:
        field = query.order_field
        if field not in ORDER_FIELDS:
            raise errors.InvalidArgumentError(
                f"ListQuery.order_field {field!r} is not one of {', '.join(ORDER_FIELDS)}")
        self._flush()
        if query.filter is None:
            match, where, params = f"MATCH (n:{_LABEL[kind]})", [], {}
        else:
            compiled = cc.compile_filter(query.filter, kind)
            match, where, params = compiled.match, [compiled.where], dict(compiled.params)
        direction = "ASC" if query.ascending else "DESC"
        if field != "id":
            # Every stored node has both times (the service sets them), so this keeps every
            # node; it lets Neo4j read the time's index in order and stop after the limit.
            where.append(f"n.{field} IS NOT NULL")
        if query.after is not None:
            after_value, after_id = query.after
            if field == "id":
                # (id, id) after (v, i): a single range on the id index.
                if query.ascending:
                    where.append("n.id >= $after" if after_value > after_id else "n.id > $after")
                else:
                    where.append("n.id <= $after" if after_value < after_id else "n.id < $after")
                params["after"] = after_value
            else:
                op = ">" if query.ascending else "<"
                where.append(f"(n.{field} {op} $after_value "
                             f"OR (n.{field} = $after_value AND n.id {op} $after_id))")
                params["after_value"] = after_value
                params["after_id"] = after_id
        text = match
        if where:
            text += " WHERE " + " AND ".join(where)
        text += " WITH n ORDER BY "
        text += f"n.id {direction}" if field == "id" else f"n.{field} {direction}, n.id {direction}"
        if query.limit is not None:
            text += " LIMIT $limit"
            params["limit"] = max(0, query.limit)
        [[found_ids, protos]] = self._read(text + " " + _COLLECT_NODES, **params)
        return _parse_nodes(kind, found_ids, protos)

    # -- edges --------------------------------------------------------------
    @_writing
    def insert_events(self, events: Sequence[pb.Event]) -> None:
        if not events:
            return
        first = self._allocate("event", len(events))
        pending = self._local.new_events
        for seq, event in enumerate(events, start=first):
            props: dict[str, Any] = {
                "artifact_id": event.artifact_id,
                "execution_id": event.execution_id,
                "proto": event.SerializeToString(deterministic=True),
                "seq": seq,
            }
            if event.HasField("type"):
                props["type"] = event.type
            if event.HasField("milliseconds_since_epoch"):
                props["milliseconds_since_epoch"] = event.milliseconds_since_epoch
            pending.append((event.type in INPUT_EVENT_TYPES, props))
        self._buffered(len(events))

    @_reading
    def get_events(
        self,
        *,
        artifact_ids: Iterable[int] | None = None,
        execution_ids: Iterable[int] | None = None,
        into=None,
    ) -> list[pb.Event]:
        artifacts = set(artifact_ids or ())
        executions = set(execution_ids or ())
        if not artifacts and not executions:
            return []
        state = self._local
        found: dict[int, bytes] = {}
        for label, kind, ids in (("Artifact", "artifact", artifacts), ("Execution", "execution", executions)):
            # A node still in the buffer has no stored events.
            stored = sorted(i for i in ids if i not in state.new_nodes[kind])
            if stored:
                [[seqs, protos]] = self._read(
                    f"UNWIND $ids AS i MATCH (:{label} {{id: i}})-[r:{cc.EVENT_RELS}]-() "
                    "RETURN collect(r.seq), collect(r.proto)", ids=stored)
                found.update(zip(seqs, protos))
        for _, props in state.new_events:
            if props["artifact_id"] in artifacts or props["execution_id"] in executions:
                found[props["seq"]] = props["proto"]
        return add_to_answer(into, _parse_many(pb.Event, [found[seq] for seq in sorted(found)]))

    def _insert_links(self, pairs: Sequence[tuple[int, int]], rel: str) -> None:
        if not pairs:
            return
        state = self._local
        pending = state.new_links[rel]
        for source, target in pairs:
            pending[(source, target)] = None
            known, linked = self._recall("links", (rel, source))
            if known:
                state.links[(rel, source)] = linked | {target}
        self._buffered(len(pairs))

    @_writing
    def insert_attributions(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, cc.ATTRIBUTION_REL)

    @_writing
    def insert_associations(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, cc.ASSOCIATION_REL)

    @_writing
    def insert_parent_contexts(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, cc.PARENT_REL)

    def _links(self, rel: str, sources: Iterable[int] | None, targets: Iterable[int] | None
               ) -> list[tuple[int, int]]:
        """(source, target) pairs of ``rel`` touching the given sources or targets, buffer included."""
        sources = set(sources or ())
        targets = set(targets or ())
        if not sources and not targets:
            return []
        state = self._local
        label, _ = _LINK_SOURCES[rel]
        found: set[tuple[int, int]] = set()
        ask_sources = []
        for source in sorted(sources):
            known, linked = self._recall("links", (rel, source))
            if known:
                found.update((source, target) for target in linked)
            else:
                ask_sources.append(source)
        ask_targets = sorted(t for t in targets if t not in state.new_nodes["context"])
        if ask_sources or ask_targets:
            rows = self._read(
                f"UNWIND $sources AS i MATCH (a:{label} {{id: i}})-[:{rel}]->(b:Context) "
                "RETURN a.id AS a, b.id AS b "
                f"UNION UNWIND $targets AS i MATCH (a:{label})-[:{rel}]->(b:Context {{id: i}}) "
                "RETURN a.id AS a, b.id AS b",
                sources=ask_sources, targets=ask_targets,
            )
            found.update((a, b) for a, b in rows)
            if not targets:
                # Asked by source alone: these and the buffered ones are all the links of each source.
                complete: dict[int, set[int]] = {source: set() for source in ask_sources}
                for a, b in rows:
                    complete[a].add(b)
                for source, target in state.new_links[rel]:
                    if source in complete:
                        complete[source].add(target)
                for source, linked in complete.items():
                    state.links[(rel, source)] = frozenset(linked)
        for source, target in state.new_links[rel]:
            if source in sources or target in targets:
                found.add((source, target))
        return sorted(found)

    @_reading
    def get_context_links(
        self, kind: Kind, *, node_ids: Iterable[int] | None = None,
        context_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        return self._links(_LINK_RELS[kind], node_ids, context_ids)

    @_reading
    def get_parent_contexts(
        self, *, child_ids: Iterable[int] | None = None,
        parent_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        return self._links(cc.PARENT_REL, child_ids, parent_ids)

    # -- cache index ----------------------------------------------------------
    @_writing
    def set_fingerprints(self, fingerprints: Mapping[int, Sequence[str]]) -> None:
        state = self._local
        for execution_id, keys in fingerprints.items():
            if execution_id not in state.fingerprints:
                state.buffered += 1
            state.fingerprints[execution_id] = sorted(set(keys))

    @_reading
    def executions_by_fingerprint(self, fingerprint: str) -> list[int]:
        self._flush()
        rows = self._read(
            "MATCH (f:Fingerprint {key: $key}) RETURN DISTINCT f.execution_id AS id ORDER BY id DESC",
            key=fingerprint,
        )
        return [row[0] for row in rows]

    # -- deletion -------------------------------------------------------------
    @_writing
    def delete_nodes(self, kind: Kind, ids: Sequence[int]) -> None:
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        state = self._local
        # Buffered writes go first: they may create what this deletes.
        self._flush()
        for start in range(0, len(ids), _FLUSH_ROWS):
            batch = ids[start:start + _FLUSH_ROWS]
            self._write(f"UNWIND $ids AS i MATCH (n:{_LABEL[kind]} {{id: i}}) DETACH DELETE n", ids=batch)
            if kind == "execution":
                self._write("UNWIND $ids AS i MATCH (f:Fingerprint {execution_id: i}) DELETE f", ids=batch)
        # What this transaction knew may name the deleted nodes (a context in another
        # node's link set, a name held): forget it all; later reads ask the store.
        for known in (state.nodes, state.raw_nodes, state.links, state.names, state.found):
            known.clear()

    # -- native traversal -------------------------------------------------------
    @_reading
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
        """Walks events breadth-first from the given nodes, natively.

        Same arguments and answers as ``lineage.traversal.traverse``. A walk
        without stop sets from a few nodes fetches every event it could use in
        one statement (a variable-length match, bounded by the hop limit
        rounded up to a power of two, that Neo4j expands breadth-first with
        pruning, once per starting node) and walks them here, whatever the
        depth; when it follows every event type, the nodes it reaches and their
        types come along, and later reads of them in the same transaction cost
        no round trip. A walk with stop sets or many starting nodes runs one
        statement per hop, so stop sets keep the data fetched small and the
        starting nodes share one frontier.

        With ``as_of_ms`` the walk sees the store as it stood then: only
        events recorded at or before it (or with no time) between nodes
        created by then, as the generic walk over ``lineage_service``'s as-of
        view; the events fetched are filtered before the walk takes a step.

        Raises:
            InvalidArgumentError: ``max_hops`` is negative or the direction is unknown.
        """
        if max_hops is not None and max_hops < 0:
            raise errors.InvalidArgumentError(f"max_hops must be >= 0, got {max_hops}")
        if direction not in (UPSTREAM, DOWNSTREAM, BOTH):
            raise errors.InvalidArgumentError(
                f"direction must be upstream, downstream or both, got {direction!r}")
        self._flush()
        artifact_ids, execution_ids = set(artifact_ids), set(execution_ids)
        walk = self._traverse_at_once
        if stop_artifacts or stop_executions or len(artifact_ids) + len(execution_ids) > _AT_ONCE_MAX_STARTS:
            walk = self._traverse_by_hop
        return walk(artifact_ids, execution_ids, direction, max_hops, event_types,
                    stop_artifacts or set(), stop_executions or set(), as_of_ms)

    def _traverse_at_once(self, artifact_ids: set[int], execution_ids: set[int], direction: str,
                          max_hops: int | None, event_types: Iterable[int] | None,
                          stop_artifacts: set[int], stop_executions: set[int],
                          as_of_ms: int | None = None) -> Reach:
        """Fetches the events leading away from every node reachable, then walks them in memory.

        The walk runs over plain rows (ends, type, time); only the events it
        keeps become protos, parsed together at the end.
        """
        with_nodes = event_types is None
        query = _reach_statement(direction, with_nodes, max_hops)
        rows: dict[int, _EventRow] = {}
        state = self._local
        for label, ids in (("Artifact", artifact_ids), ("Execution", execution_ids)):
            if not ids:
                continue
            [[per_node, nodes, types]] = self._read(query.format(label=label), ids=sorted(ids))
            for node_events in per_node:
                for row in node_events:
                    if row[0] not in rows:
                        rows[row[0]] = _EventRow(*row)
            # Callers read the nodes reached and their types next. Nodes stay bytes until
            # read; nothing already in this transaction's memory is replaced.
            for is_artifact, node_id, data in nodes:
                key = ("artifact" if is_artifact else "execution", node_id)
                if key not in state.nodes:
                    state.raw_nodes[key] = data
            for type_id, type_kind, data in types:
                if type_id not in state.types:
                    state.types[type_id] = (type_kind, _parse_type(type_kind, type_id, data))
        if as_of_ms is not None:
            visible = self._visible_as_of(rows.values(), as_of_ms)
            rows = {seq: row for seq, row in rows.items() if seq in visible}
        reach = traversal.traverse(
            _EventSource(rows), artifact_ids, execution_ids, direction=direction,
            max_hops=max_hops, event_types=event_types,
            stop_artifacts=stop_artifacts, stop_executions=stop_executions)
        reach.events = _parse_many(pb.Event, [row.data for row in reach.events])
        return reach

    def _visible_as_of(self, events: Iterable[Any], moment: int) -> set[int]:
        """The ``seq`` of each event the store held at ``moment``: recorded by then, between nodes born by then.

        Each event is an ``_EventRow`` (``milliseconds_since_epoch`` None when
        the event has no time).
        """
        recorded = [e for e in events
                    if e.milliseconds_since_epoch is None or e.milliseconds_since_epoch <= moment]
        born = {kind: {n.id for n in self.get_nodes(kind, {getattr(e, f"{kind}_id") for e in recorded})
                       if n.create_time_since_epoch <= moment}
                for kind in ("artifact", "execution")}
        return {e.seq for e in recorded if e.artifact_id in born["artifact"] and e.execution_id in born["execution"]}

    def _traverse_by_hop(self, artifact_ids: set[int], execution_ids: set[int], direction: str,
                         max_hops: int | None, event_types: Iterable[int] | None,
                         stop_artifacts: set[int], stop_executions: set[int],
                         as_of_ms: int | None = None) -> Reach:
        """Runs one statement per hop for the frontier, keeping the visited sets here."""
        from_artifacts, from_executions = _STEP_QUERIES[direction]
        allowed = None if event_types is None else sorted(set(event_types))
        reach = Reach(set(artifact_ids), set(execution_ids))
        seen_events: set[tuple[int, int, int]] = set()
        artifacts = reach.artifact_ids - stop_artifacts
        executions = reach.execution_ids - stop_executions
        hops = 0
        while (artifacts or executions) and (max_hops is None or hops < max_hops):
            # seq -> [event, walked from its artifact, walked from its execution]
            walked: dict[int, list[Any]] = {}
            for query, frontier, side in ((from_artifacts, artifacts, 1), (from_executions, executions, 2)):
                if not frontier:
                    continue
                [[found]] = self._read(
                    query, ids=sorted(frontier), types=allowed, outputs=_OUTPUT_TYPES)
                for row in found:
                    entry = walked.get(row[0])
                    if entry is None:
                        entry = walked[row[0]] = [_EventRow(*row), False, False]
                    entry[side] = True
            if as_of_ms is not None:
                visible = self._visible_as_of((entry[0] for entry in walked.values()), as_of_ms)
                walked = {seq: entry for seq, entry in walked.items() if seq in visible}
            next_artifacts: set[int] = set()
            next_executions: set[int] = set()
            for seq in sorted(walked):
                event, from_artifact, from_execution = walked[seq]
                if from_artifact and event.execution_id not in reach.execution_ids:
                    next_executions.add(event.execution_id)
                if from_execution and event.artifact_id not in reach.artifact_ids:
                    next_artifacts.add(event.artifact_id)
                key = (event.artifact_id, event.execution_id, event.type)
                if key not in seen_events:
                    seen_events.add(key)
                    reach.events.append(event)
            if not next_artifacts and not next_executions:
                break
            hops += 1
            reach.depth = hops
            reach.artifact_ids |= next_artifacts
            reach.execution_ids |= next_executions
            artifacts = next_artifacts - stop_artifacts
            executions = next_executions - stop_executions
        reach.events = _parse_many(pb.Event, [row.data for row in reach.events])
        return reach


def _begin(session: neo4j.Session, timeout: float | None) -> neo4j.Transaction:
    """Opens a transaction whose BEGIN travels with its first statement, where the driver allows."""
    # The driver sends BEGIN on its own round trip unless told to pipeline it, which it
    # offers only privately (it does so for execute_query); without it, BEGIN goes alone.
    pipelined = getattr(session, "_pipelined_begin", None)
    if pipelined is None or not hasattr(pipelined, "__enter__"):
        return session.begin_transaction(timeout=timeout)
    with pipelined:
        return session.begin_transaction(timeout=timeout)


def _with_contexts(kind: Kind, ids: str) -> str:
    """A subquery: nodes by id (the list parameter ``ids``) with their context ids and newest contexts."""
    return (f"UNWIND ${ids} AS i MATCH (n:{_LABEL[kind]} {{id: i}}) "
            f"OPTIONAL MATCH (n)-[:{_LINK_RELS[kind]}]->(c:Context) WITH n, c ORDER BY c.id DESC "
            "WITH n, collect(c) AS cs "
            "RETURN [n.id, n.proto, [c IN cs | c.id], [c IN cs[..$few] | c.proto]]")


def _reconnectable(e: BaseException) -> bool:
    return isinstance(e, (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired))


def _where(query: str, uri: str) -> str:
    return query.split(None, 1)[0] + " on " + uri


def _flush_statements(parts: list[tuple[str, list[Any], bool]]
                      ) -> Iterator[tuple[str, dict[str, Any], list[int | None]]]:
    """Packs buffered writes into statements of at most ``_FLUSH_ROWS`` rows.

    Each part is ``(clause over $rows, rows, checked)``; parts keep their order
    (nodes before the events and links that match them) and are chained with
    an aggregation, which ends one part's rows and starts the next from one
    row. A part keeps the variable ``counts`` in scope. Yields each statement
    with the row counts its parts must return (None: not checked).
    """
    chunks = [(clause, rows[i:i + _FLUSH_ROWS], checked) for clause, rows, checked in parts
              for i in range(0, len(rows), _FLUSH_ROWS)]
    statement: list[tuple[str, list[Any], bool]] = []
    size = 0
    for chunk in chunks:
        if statement and size + len(chunk[1]) > _FLUSH_ROWS:
            yield _chain(statement)
            statement, size = [], 0
        statement.append(chunk)
        size += len(chunk[1])
    if statement:
        yield _chain(statement)


def _chain(parts: list[tuple[str, list[Any], bool]]) -> tuple[str, dict[str, Any], list[int | None]]:
    """Joins parts into one statement, each over its own ``$rowsN``, that returns each part's row count.

    The counts travel in one list: a part that ends without rows turns it
    into null, which tells as much.
    """
    texts = []
    params = {}
    for index, (clause, rows, _) in enumerate(parts):
        name = f"rows{index}"
        text = clause.replace("$rows", "$" + name)
        texts.append(f"{text} WITH head(collect(counts)) + count(*) AS counts")
        params[name] = rows
    expected = [len(rows) if checked else None for _, rows, checked in parts]
    return "WITH [] AS counts " + " ".join(texts) + " RETURN counts", params, expected


def _step_queries(from_artifact: tuple[str, str], from_execution: tuple[str, str]) -> tuple[str, str]:
    """One hop's statements: events leading away from frontier artifacts, and from executions.

    Each side is ``(pattern, extra condition)``; an OUTPUT relationship also
    holds events of no known direction (UNKNOWN), which only BOTH follows.
    Events come back as one collected list of ``_EVENT_ROW`` rows: one Bolt
    record instead of one per event, which the driver decodes several times
    faster.
    """
    types = "($types IS NULL OR coalesce(r.type, 0) IN $types)"
    queries = []
    for pattern, extra in (from_artifact, from_execution):
        where = f"{extra} AND {types}" if extra else types
        queries.append(
            f"UNWIND $ids AS i MATCH {pattern} WHERE {where} "
            f"RETURN collect({_EVENT_ROW})")
    return queries[0], queries[1]


_OUTPUT_ONLY = "coalesce(r.type, 0) IN $outputs"
_STEP_QUERIES = {
    DOWNSTREAM: _step_queries(
        (f"(:Artifact {{id: i}})-[r:{cc.INPUT_REL}]->(:Execution)", ""),
        (f"(:Execution {{id: i}})-[r:{cc.OUTPUT_REL}]->(:Artifact)", _OUTPUT_ONLY),
    ),
    UPSTREAM: _step_queries(
        (f"(:Artifact {{id: i}})<-[r:{cc.OUTPUT_REL}]-(:Execution)", _OUTPUT_ONLY),
        (f"(:Execution {{id: i}})<-[r:{cc.INPUT_REL}]-(:Artifact)", ""),
    ),
    BOTH: _step_queries(
        (f"(:Artifact {{id: i}})-[r:{cc.EVENT_RELS}]-(:Execution)", ""),
        (f"(:Execution {{id: i}})-[r:{cc.EVENT_RELS}]-(:Artifact)", ""),
    ),
}


#: Up to this many starting nodes, an unbounded walk runs as one statement.
_AT_ONCE_MAX_STARTS = 8


class _EventRow:
    """An event as a walk needs it: its ends, type and time, with its proto still serialized.

    Built from one ``_EVENT_ROW`` list; the walk reads the same attributes of
    it as of an Event proto, and only the events it keeps are parsed.
    """

    __slots__ = ("seq", "artifact_id", "execution_id", "type", "milliseconds_since_epoch", "data")

    def __init__(self, seq: int, artifact_id: int, execution_id: int, type_: int,
                 milliseconds_since_epoch: int | None, data: bytes):
        self.seq = seq
        self.artifact_id = artifact_id
        self.execution_id = execution_id
        self.type = type_
        self.milliseconds_since_epoch = milliseconds_since_epoch
        self.data = data


class _EventSource:
    """Events held in memory, answering ``get_events`` as a backend would (write order)."""

    def __init__(self, events: dict[int, _EventRow]):
        self._by_artifact: dict[int, list[int]] = collections.defaultdict(list)
        self._by_execution: dict[int, list[int]] = collections.defaultdict(list)
        self._events = events
        for seq, event in events.items():
            self._by_artifact[event.artifact_id].append(seq)
            self._by_execution[event.execution_id].append(seq)

    def get_events(self, *, artifact_ids: Iterable[int] = (), execution_ids: Iterable[int] = ()
                   ) -> list[_EventRow]:
        seqs: set[int] = set()
        for index, ids in ((self._by_artifact, artifact_ids), (self._by_execution, execution_ids)):
            for node_id in ids:
                seqs.update(index.get(node_id, ()))
        return [self._events[seq] for seq in sorted(seqs)]


def _reach_query(expand: str, leave: str, with_nodes: bool) -> str:
    # DISTINCT on the far end lets Neo4j expand breadth-first and prune paths it has
    # already reached, so dense diamonds do not multiply the work.
    reach = f"UNWIND $ids AS i MATCH (:{{label}} {{{{id: i}}}}){expand}(x) WITH DISTINCT x "
    if not with_nodes:
        return reach + f"RETURN collect([(x){leave}() | {_EVENT_ROW}]) AS events, [] AS nodes, [] AS types"
    return (reach + "WITH collect(x) AS xs "
            f"RETURN [x IN xs | [(x){leave}() | {_EVENT_ROW}]], [x IN xs | [x:Artifact, x.id, x.proto]], "
            "COLLECT {{ UNWIND xs AS x WITH DISTINCT x.type_id AS type_id "
            "MATCH (t:Type {{id: type_id}}) RETURN [t.id, t.kind, t.proto] }}")


#: Hop limits that have a reach statement of their own; a walk with a limit uses the
#: smallest one not below it, and a walk with a larger limit or none goes unbounded.
_REACH_BOUNDS = (2, 4, 8, 16, 32, 64, 128)

_EXPANSIONS = {
    DOWNSTREAM: ("-[:{rels}*0..{bound}]->", f"-[r:{cc.EVENT_RELS}]->"),
    UPSTREAM: ("<-[:{rels}*0..{bound}]-", f"<-[r:{cc.EVENT_RELS}]-"),
    BOTH: ("-[:{rels}*0..{bound}]-", f"-[r:{cc.EVENT_RELS}]-"),
}


@functools.lru_cache(maxsize=None)
def _reach_statement(direction: str, with_nodes: bool, max_hops: int | None) -> str:
    """The events leading away from every node reachable from the start, as one list per node.

    ``{label}`` is left for the start's label. Following every event
    relationship up to the bound gives a superset of what the walk uses; the
    walk in memory then applies types, direction and the exact hop limit.
    With ``with_nodes`` the reached nodes and their types come along.
    """
    bound = next((b for b in _REACH_BOUNDS if max_hops is not None and max_hops <= b), None)
    expand, leave = _EXPANSIONS[direction]
    return _reach_query(expand.format(rels=cc.EVENT_RELS, bound="" if bound is None else bound),
                        leave, with_nodes)


_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def open_backend(config: pb.ConnectionConfig, migration_options: pb.MigrationOptions) -> Neo4jBackend:
    """Connects to the Neo4j server named by ``config.neo4j`` and prepares its schema.

    An empty ``user`` connects without authentication. The constraints and
    indexes are created on first use of a database.

    Raises:
        InvalidArgumentError: ``uri`` is empty or not a Neo4j URI, or ``database``
            names the ``system`` database.
        UnavailableError: Nothing answers at ``uri``.
        UnauthenticatedError: The server refused ``user`` and ``password``.
        NotFoundError: The server has no database named ``database``.
        UnimplementedError: A schema downgrade was asked for; Neo4j stores have
            no MLMD schema versions.
    """
    settings = config.neo4j
    uri = settings.uri
    if not uri:
        raise errors.InvalidArgumentError(
            "ConnectionConfig.neo4j.uri is required, e.g. bolt://127.0.0.1:7687")
    if migration_options.HasField("downgrade_to_schema_version") and \
            migration_options.downgrade_to_schema_version >= 0:
        raise errors.UnimplementedError(
            "MigrationOptions.downgrade_to_schema_version does not apply to Neo4j stores, which "
            "have no MLMD schema versions")
    try:
        parts = urllib.parse.urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as e:
        raise errors.InvalidArgumentError(
            f"ConnectionConfig.neo4j.uri {uri!r} is not a Neo4j URI: {e}") from e
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise errors.InvalidArgumentError(
            f"ConnectionConfig.neo4j.uri {uri!r} is not a Neo4j URI: use one of "
            + ", ".join(f"{s}://host:port" for s in _SCHEMES))
    auth = (settings.user, settings.password) if settings.user else None
    database = settings.database or None
    if database is not None and database.lower() == "system":
        # Neo4j keeps users, roles and the list of databases there, and takes only
        # administration commands on it.
        raise errors.InvalidArgumentError(
            f"ConnectionConfig.neo4j.database {database!r} is Neo4j's administration database and "
            "cannot hold records: name a user database (Neo4j Community has one, 'neo4j' unless "
            "configured otherwise), or leave it empty for the server's default")
    try:
        driver = neo4j.GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF")
    except (ValueError, neo4j_errors.ConfigurationError) as e:
        raise errors.InvalidArgumentError(
            f"ConnectionConfig.neo4j.uri {uri!r} is not a Neo4j URI: {e}") from e
    try:
        try:
            driver.verify_connectivity()
        except neo4j_errors.AuthError as e:
            raise errors.UnauthenticatedError(
                f"Neo4j at {uri} refused ConnectionConfig.neo4j.user {settings.user!r}: "
                f"{e.message or e}") from e
        except ValueError as e:
            raise errors.InvalidArgumentError(
                f"ConnectionConfig.neo4j.uri {uri!r} is not a Neo4j URI: {e}") from e
        except _DRIVER_ERRORS as e:
            raise errors.UnavailableError(
                f"cannot connect to Neo4j at ConnectionConfig.neo4j.uri {uri!r}: {e}") from e
        backend = Neo4jBackend(driver, database, uri, statement_timeout())
        try:
            backend.ensure_schema()
        except errors.NotFoundError as e:
            raise errors.NotFoundError(
                f"Neo4j at {uri} has no database {database!r} (ConnectionConfig.neo4j.database)"
            ) from e
    except BaseException:
        with contextlib.suppress(*_DRIVER_ERRORS):
            driver.close()
        raise
    return backend
