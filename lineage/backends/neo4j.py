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
  shared by all types (as MLMD numbers them), one for event order. A counter
  is bumped inside the writing transaction, so ids are gap-free 1, 2, 3...
  and concurrent writers queue on it.
* ``(:Fingerprint {key, execution_id})`` index the cache fingerprints.

Every method runs inside ``transaction()``: one explicit Neo4j transaction per
outermost call on a thread, with its own session. Within it, nodes and types
already read or written are served from memory, and fingerprint writes are
sent at commit in one statement. Large reads come back as collected lists in
a single record, which the driver decodes far faster than one record per row.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import urllib.parse
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import neo4j
from neo4j import exceptions as neo4j_errors

from lineage import errors, traversal
from lineage.backends.base import NODE_CLASSES, ORDER_FIELDS, TYPE_CLASSES, Kind, ListQuery, Node, NodeType
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import cypher_compiler as cc
from lineage.traversal import BOTH, DOWNSTREAM, INPUT_EVENT_TYPES, OUTPUT_EVENT_TYPES, UPSTREAM, Reach

__all__ = ["Neo4jBackend", "open_backend", "SCHEMA_STATEMENTS"]

_T = TypeVar("_T")

_LABEL = cc.LABELS
_LINK_RELS = {"artifact": cc.ATTRIBUTION_REL, "execution": cc.ASSOCIATION_REL}
_STRING_FIELDS = frozenset({"type", "name", "uri", "external_id"})
_OUTPUT_TYPES = sorted(OUTPUT_EVENT_TYPES)
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


def _transactional(method: Callable[..., _T]) -> Callable[..., _T]:
    """Runs a backend method inside ``transaction()`` (joining an open one)."""

    @functools.wraps(method)
    def wrapper(self: "Neo4jBackend", *args: Any, **kwargs: Any) -> _T:
        with self.transaction():
            return method(self, *args, **kwargs)

    return wrapper


# -- value conversion -----------------------------------------------------------------


def _node_properties(kind: Kind, node: Node) -> dict[str, Any]:
    """Returns the graph node's properties for a complete node proto."""
    if node.HasField("id"):
        stored = NODE_CLASSES[kind]()
        stored.CopyFrom(node)
        stored.ClearField("id")
    else:
        stored = node
    props: dict[str, Any] = {"proto": stored.SerializeToString(deterministic=True)}
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
            key = cc.property_key(name, which, is_custom)
            stored_value = getattr(value, which)
            props[key] = stored_value
            if which == "string_value":
                ordered = cc.code_point_key(stored_value)
                if ordered != stored_value:
                    props[cc.order_key(key)] = ordered
    return props


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


def _parse_event(data: bytes | None) -> pb.Event:
    event = pb.Event()
    event.ParseFromString(bytes(data or b""))
    return event


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


class _ThreadState(threading.local):
    """The open transaction of one thread, with what it has read and written.

    Nodes and types read or written in the transaction are remembered until
    it ends, so the core's repeated look-ups of the same records cost no round
    trip; fingerprint writes wait until commit (or the next fingerprint read)
    and then go in one statement.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.session: neo4j.Session | None = None
        self.tx: neo4j.Transaction | None = None
        self.reset()

    def reset(self) -> None:
        self.nodes: dict[tuple[str, int], Node] = {}
        self.types: dict[int, tuple[str, NodeType]] = {}
        self.fingerprints: dict[int, list[str]] = {}


class Neo4jBackend:
    """Stores records in Neo4j through the official driver; safe to share between threads.

    Args:
        driver: A connected driver; the backend closes it.
        database: Database name, or None for the server's default.
        uri: The server URI, for messages.
    """

    def __init__(self, driver: neo4j.Driver, database: str | None, uri: str = ""):
        self._driver = driver
        self._database = database
        self._uri = uri
        self._local = _ThreadState()

    # -- transactions -------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Opens one Neo4j transaction, or joins the one this thread has open.

        The outermost call commits when its block ends and rolls back when it
        raises.

        Raises:
            UnavailableError: Neo4j cannot be reached.
            AbortedError: The commit failed because of a concurrent transaction.
        """
        state = self._local
        if state.depth:
            state.depth += 1
            try:
                yield
            finally:
                state.depth -= 1
            return
        session, tx = self._begin()
        state.session, state.tx, state.depth = session, tx, 1
        state.reset()
        try:
            yield
            self._flush_fingerprints()
        except BaseException:
            state.session, state.tx, state.depth = None, None, 0
            state.reset()
            with contextlib.suppress(*_DRIVER_ERRORS):
                tx.close()
            with contextlib.suppress(*_DRIVER_ERRORS):
                session.close()
            raise
        state.session, state.tx, state.depth = None, None, 0
        state.reset()
        try:
            tx.commit()
        except _DRIVER_ERRORS as e:
            raise _translate(e, f"commit on {self._uri}") from e
        finally:
            with contextlib.suppress(*_DRIVER_ERRORS):
                session.close()

    def _begin(self) -> tuple[neo4j.Session, neo4j.Transaction]:
        # A pooled connection may have died with a server restart; the driver drops it
        # when BEGIN fails, and BEGIN changes nothing, so one more attempt is safe.
        for attempt in range(2):
            session = self._driver.session(database=self._database)
            try:
                return session, session.begin_transaction()
            except _DRIVER_ERRORS as e:
                with contextlib.suppress(*_DRIVER_ERRORS):
                    session.close()
                retry = isinstance(e, (neo4j_errors.ServiceUnavailable, neo4j_errors.SessionExpired))
                if attempt or not retry:
                    raise _translate(e, f"begin a transaction on {self._uri}") from e
        raise AssertionError("unreachable")

    def _run(self, query: str, **params: Any) -> list[list[Any]]:
        """Runs one statement in this thread's transaction; returns its rows."""
        tx = self._local.tx
        if tx is None:
            raise errors.InternalError("Neo4jBackend statement outside a transaction")
        try:
            return tx.run(query, params).values()
        except _DRIVER_ERRORS as e:
            raise _translate(e, query.split(None, 2)[0] + " on " + self._uri) from e

    def close(self) -> None:
        """Closes the driver and its connections."""
        with contextlib.suppress(*_DRIVER_ERRORS):
            self._driver.close()

    # -- schema -------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Creates the constraints and indexes the store relies on, if any is missing.

        Raises:
            NotFoundError: The configured database does not exist.
            UnavailableError: Neo4j cannot be reached.
        """
        where = f"prepare the Neo4j schema on {self._uri}"
        try:
            with self._driver.session(database=self._database) as session:
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
        except _DRIVER_ERRORS as e:
            raise _translate(e, where) from e

    # -- sequences ----------------------------------------------------------
    # Bumping the counter with SET s.next = s.next + n write-locks it before the read,
    # so concurrent writers queue and never share an id.
    _ALLOCATE = (
        "MERGE (s:Sequence {name: $seq}) ON CREATE SET s.next = 1 "
        "SET s.next = s.next + size($rows) "
        "WITH s.next - size($rows) AS first "
    )

    # -- types --------------------------------------------------------------
    @_transactional
    def insert_type(self, kind: Kind, type_: NodeType) -> int:
        [[type_id]] = self._run(
            "MERGE (s:Sequence {name: $seq}) ON CREATE SET s.next = 1 "
            "SET s.next = s.next + 1 WITH s.next - 1 AS id "
            "CREATE (t:Type) SET t = $props, t.id = id RETURN id",
            seq="type", props={k: v for k, v in _type_properties(kind, type_).items() if k != "id"},
        )
        type_.id = type_id
        self._local.types[type_id] = (kind, type_)
        return type_id

    @_transactional
    def update_type(self, kind: Kind, type_: NodeType) -> None:
        self._run("MATCH (t:Type {id: $id, kind: $kind}) SET t = $props",
                  id=type_.id, kind=kind, props=_type_properties(kind, type_))
        self._local.types[type_.id] = (kind, type_)

    @_transactional
    def get_types(self, kind: Kind, ids: Iterable[int] | None = None) -> list[NodeType]:
        cache = self._local.types
        if ids is None:
            rows = self._run("MATCH (t:Type {kind: $kind}) RETURN t.id, t.proto ORDER BY t.id", kind=kind)
        else:
            wanted = sorted(set(ids))
            missing = [i for i in wanted if i not in cache]
            rows = self._run(
                "UNWIND $ids AS i MATCH (t:Type {id: i}) RETURN t.id, t.kind, t.proto",
                ids=missing,
            ) if missing else []
            for type_id, type_kind, data in rows:
                cache[type_id] = (type_kind, _parse_type(type_kind, type_id, data))
            return [cache[i][1] for i in wanted if i in cache and cache[i][0] == kind]
        found = [_parse_type(kind, i, data) for i, data in rows]
        for type_ in found:
            cache[type_.id] = (kind, type_)
        return found

    @_transactional
    def find_type(self, kind: Kind, name: str, version: str | None) -> NodeType | None:
        rows = self._run(
            "MATCH (t:Type {kind: $kind, name: $name, version_key: $version}) RETURN t.id, t.proto",
            kind=kind, name=name, version=version or "",
        )
        return _parse_type(kind, *rows[0]) if rows else None

    @_transactional
    def find_types_by_external_id(self, kind: Kind, external_ids: Iterable[str]) -> list[NodeType]:
        rows = self._run(
            "MATCH (t:Type {kind: $kind}) WHERE t.external_id IN $ids RETURN t.id, t.proto ORDER BY t.id",
            kind=kind, ids=list(set(external_ids)),
        )
        return [_parse_type(kind, i, data) for i, data in rows]

    @_transactional
    def set_parent_type(self, kind: Kind, type_id: int, parent_type_id: int) -> None:
        self._run(
            "MATCH (t:Type {id: $id, kind: $kind}) MATCH (p:Type {id: $parent}) "
            "OPTIONAL MATCH (t)-[old:DERIVES_FROM]->() "
            "WITH t, p, count(old) AS pos CREATE (t)-[:DERIVES_FROM {pos: pos}]->(p)",
            id=type_id, kind=kind, parent=parent_type_id,
        )

    @_transactional
    def get_parent_types(self, kind: Kind, type_ids: Iterable[int]) -> dict[int, list[int]]:
        rows = self._run(
            "UNWIND $ids AS i MATCH (t:Type {id: i})-[r:DERIVES_FROM]->(p:Type) WHERE t.kind = $kind "
            "RETURN t.id, p.id ORDER BY t.id, r.pos",
            ids=sorted(set(type_ids)), kind=kind,
        )
        parents: dict[int, list[int]] = {}
        for type_id, parent_id in rows:
            parents.setdefault(type_id, []).append(parent_id)
        return parents

    # -- nodes --------------------------------------------------------------
    @_transactional
    def insert_nodes(self, kind: Kind, nodes: Sequence[Node]) -> list[int]:
        if not nodes:
            return []
        rows = [_node_properties(kind, node) for node in nodes]
        [[first]] = self._run(
            self._ALLOCATE
            + f"UNWIND range(0, size($rows) - 1) AS i CREATE (n:{_LABEL[kind]}) "
            "SET n = $rows[i], n.id = first + i RETURN DISTINCT first",
            seq=kind, rows=rows,
        )
        ids = list(range(first, first + len(nodes)))
        cache = self._local.nodes
        for node, node_id in zip(nodes, ids):
            node.id = node_id
            cache[(kind, node_id)] = node
        return ids

    @_transactional
    def update_nodes(self, kind: Kind, nodes: Sequence[Node]) -> None:
        if not nodes:
            return
        self._run(
            f"UNWIND $rows AS r MATCH (n:{_LABEL[kind]} {{id: r.id}}) SET n = r",
            rows=[_node_properties(kind, node) for node in nodes],
        )
        cache = self._local.nodes
        for node in nodes:
            cache[(kind, node.id)] = node

    @_transactional
    def get_nodes(self, kind: Kind, ids: Iterable[int]) -> list[Node]:
        wanted = sorted(set(ids))
        cache = self._local.nodes
        missing = [i for i in wanted if (kind, i) not in cache]
        if missing:
            [[found_ids, protos]] = self._run(
                f"UNWIND $ids AS i MATCH (n:{_LABEL[kind]} {{id: i}}) " + _COLLECT_NODES, ids=missing)
            for node_id, data in zip(found_ids, protos):
                cache[(kind, node_id)] = _parse_node(kind, node_id, data)
        return [cache[(kind, i)] for i in wanted if (kind, i) in cache]

    @_transactional
    def find_nodes(
        self,
        kind: Kind,
        *,
        type_ids: Iterable[int] | None = None,
        name: str | None = None,
        uri: str | None = None,
        external_ids: Iterable[str] | None = None,
    ) -> list[Node]:
        conditions = []
        params: dict[str, Any] = {}
        if type_ids is not None:
            conditions.append("n.type_id IN $type_ids")
            params["type_ids"] = sorted(set(type_ids))
        if name is not None:
            conditions.append("n.name = $name")
            params["name"] = name
        if uri is not None:
            if kind != "artifact":
                return []
            conditions.append("n.uri = $uri")
            params["uri"] = uri
        if external_ids is not None:
            conditions.append("n.external_id IN $external_ids")
            params["external_ids"] = sorted(set(external_ids))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        [[found_ids, protos]] = self._run(
            f"MATCH (n:{_LABEL[kind]}){where} WITH n ORDER BY n.id " + _COLLECT_NODES, **params)
        return [_parse_node(kind, i, data) for i, data in zip(found_ids, protos)]

    @_transactional
    def list_nodes(self, kind: Kind, query: ListQuery) -> list[Node]:
        field = query.order_field
        if field not in ORDER_FIELDS:
            raise errors.InvalidArgumentError(
                f"ListQuery.order_field {field!r} is not one of {', '.join(ORDER_FIELDS)}")
        if query.filter is None:
            match, where, params = f"MATCH (n:{_LABEL[kind]})", [], {}
        else:
            compiled = cc.compile_filter(query.filter, kind)
            match, where, params = compiled.match, [compiled.where], dict(compiled.params)
        direction = "ASC" if query.ascending else "DESC"
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
        [[found_ids, protos]] = self._run(text + " " + _COLLECT_NODES, **params)
        return [_parse_node(kind, i, data) for i, data in zip(found_ids, protos)]

    # -- edges --------------------------------------------------------------
    @_transactional
    def insert_events(self, events: Sequence[pb.Event]) -> None:
        if not events:
            return
        rows = []
        for event in events:
            props: dict[str, Any] = {
                "artifact_id": event.artifact_id,
                "execution_id": event.execution_id,
                "proto": event.SerializeToString(deterministic=True),
            }
            if event.HasField("type"):
                props["type"] = event.type
            if event.HasField("milliseconds_since_epoch"):
                props["milliseconds_since_epoch"] = event.milliseconds_since_epoch
            rows.append({"input": event.type in INPUT_EVENT_TYPES, "props": props})
        self._run(
            self._ALLOCATE
            + "UNWIND range(0, size($rows) - 1) AS i "
            "WITH first + i AS seq, $rows[i] AS r "
            "MATCH (a:Artifact {id: r.props.artifact_id}) MATCH (e:Execution {id: r.props.execution_id}) "
            f"FOREACH (_ IN CASE WHEN r.input THEN [1] ELSE [] END | "
            f"CREATE (a)-[x:{cc.INPUT_REL}]->(e) SET x = r.props, x.seq = seq) "
            f"FOREACH (_ IN CASE WHEN r.input THEN [] ELSE [1] END | "
            f"CREATE (e)-[x:{cc.OUTPUT_REL}]->(a) SET x = r.props, x.seq = seq)",
            seq="event", rows=rows,
        )

    @_transactional
    def get_events(
        self,
        *,
        artifact_ids: Iterable[int] | None = None,
        execution_ids: Iterable[int] | None = None,
    ) -> list[pb.Event]:
        artifacts = sorted(set(artifact_ids or ()))
        executions = sorted(set(execution_ids or ()))
        if not artifacts and not executions:
            return []
        found: dict[int, bytes] = {}
        for label, ids in (("Artifact", artifacts), ("Execution", executions)):
            if ids:
                [[seqs, protos]] = self._run(
                    f"UNWIND $ids AS i MATCH (:{label} {{id: i}})-[r:{cc.EVENT_RELS}]-() "
                    "RETURN collect(r.seq), collect(r.proto)", ids=ids)
                found.update(zip(seqs, protos))
        return [_parse_event(found[seq]) for seq in sorted(found)]

    def _insert_links(self, pairs: Sequence[tuple[int, int]], source: str, target: str, rel: str) -> None:
        if not pairs:
            return
        self._run(
            f"UNWIND $pairs AS p MATCH (a:{source} {{id: p[0]}}) MATCH (b:{target} {{id: p[1]}}) "
            f"MERGE (a)-[:{rel}]->(b)",
            pairs=[[a, b] for a, b in pairs],
        )

    @_transactional
    def insert_attributions(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, "Artifact", "Context", cc.ATTRIBUTION_REL)

    @_transactional
    def insert_associations(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, "Execution", "Context", cc.ASSOCIATION_REL)

    @_transactional
    def insert_parent_contexts(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, "Context", "Context", cc.PARENT_REL)

    def _links(self, source: str, target: str, rel: str, sources, targets) -> list[tuple[int, int]]:
        sources = sorted(set(sources or ()))
        targets = sorted(set(targets or ()))
        if not sources and not targets:
            return []
        rows = self._run(
            f"UNWIND $sources AS i MATCH (a:{source} {{id: i}})-[:{rel}]->(b:{target}) "
            "RETURN a.id AS a, b.id AS b "
            f"UNION UNWIND $targets AS i MATCH (a:{source})-[:{rel}]->(b:{target} {{id: i}}) "
            "RETURN a.id AS a, b.id AS b",
            sources=sources, targets=targets,
        )
        return sorted({(a, b) for a, b in rows})

    @_transactional
    def get_context_links(
        self, kind: Kind, *, node_ids: Iterable[int] | None = None,
        context_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        return self._links(_LABEL[kind], "Context", _LINK_RELS[kind], node_ids, context_ids)

    @_transactional
    def get_parent_contexts(
        self, *, child_ids: Iterable[int] | None = None,
        parent_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        return self._links("Context", "Context", cc.PARENT_REL, child_ids, parent_ids)

    # -- cache index ----------------------------------------------------------
    @_transactional
    def set_fingerprints(self, execution_id: int, fingerprints: Sequence[str]) -> None:
        # Written with the commit (or before the next fingerprint read), all at once.
        self._local.fingerprints[execution_id] = sorted(set(fingerprints))

    def _flush_fingerprints(self) -> None:
        pending = self._local.fingerprints
        if not pending:
            return
        rows = [{"id": execution_id, "keys": keys} for execution_id, keys in sorted(pending.items())]
        pending.clear()
        self._run(
            "UNWIND $rows AS r OPTIONAL MATCH (f:Fingerprint {execution_id: r.id}) DELETE f "
            "WITH DISTINCT r UNWIND r.keys AS k CREATE (:Fingerprint {key: k, execution_id: r.id})",
            rows=rows,
        )

    @_transactional
    def executions_by_fingerprint(self, fingerprint: str) -> list[int]:
        self._flush_fingerprints()
        rows = self._run(
            "MATCH (f:Fingerprint {key: $key}) RETURN DISTINCT f.execution_id AS id ORDER BY id DESC",
            key=fingerprint,
        )
        return [row[0] for row in rows]

    # -- native traversal -------------------------------------------------------
    @_transactional
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
    ) -> Reach:
        """Walks events breadth-first from the given nodes, natively.

        Same arguments and answers as ``lineage.traversal.traverse``. An
        unbounded walk without stop sets from a few nodes fetches every event
        it could use in one statement (a variable-length match that Neo4j
        expands breadth-first with pruning, once per starting node) and walks
        them here, whatever the depth. Any other walk runs one statement per
        hop, so a hop limit or stop set keeps the data fetched small and many
        starting nodes share one frontier.

        Raises:
            InvalidArgumentError: ``max_hops`` is negative or the direction is unknown.
        """
        if max_hops is not None and max_hops < 0:
            raise errors.InvalidArgumentError(f"max_hops must be >= 0, got {max_hops}")
        if direction not in (UPSTREAM, DOWNSTREAM, BOTH):
            raise errors.InvalidArgumentError(
                f"direction must be upstream, downstream or both, got {direction!r}")
        artifact_ids, execution_ids = set(artifact_ids), set(execution_ids)
        walk = self._traverse_at_once
        if (max_hops is not None or stop_artifacts or stop_executions
                or len(artifact_ids) + len(execution_ids) > _AT_ONCE_MAX_STARTS):
            walk = self._traverse_by_hop
        return walk(artifact_ids, execution_ids, direction, max_hops, event_types,
                    stop_artifacts or set(), stop_executions or set())

    def _traverse_at_once(self, artifact_ids: set[int], execution_ids: set[int], direction: str,
                          max_hops: int | None, event_types: Iterable[int] | None,
                          stop_artifacts: set[int], stop_executions: set[int]) -> Reach:
        """Fetches the events leading away from every node reachable, then walks them in memory."""
        reachable = _REACH_QUERIES[direction]
        events: dict[int, pb.Event] = {}
        for label, ids in (("Artifact", artifact_ids), ("Execution", execution_ids)):
            if ids:
                [[seqs, protos]] = self._run(reachable.format(label=label), ids=sorted(ids))
                for seq, data in zip(seqs, protos):
                    if seq not in events:
                        events[seq] = _parse_event(data)
        return traversal.traverse(
            _EventSource(events), artifact_ids, execution_ids, direction=direction,
            max_hops=max_hops, event_types=event_types,
            stop_artifacts=stop_artifacts, stop_executions=stop_executions)

    def _traverse_by_hop(self, artifact_ids: set[int], execution_ids: set[int], direction: str,
                         max_hops: int | None, event_types: Iterable[int] | None,
                         stop_artifacts: set[int], stop_executions: set[int]) -> Reach:
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
                [[seqs, protos]] = self._run(
                    query, ids=sorted(frontier), types=allowed, outputs=_OUTPUT_TYPES)
                for seq, data in zip(seqs, protos):
                    entry = walked.get(seq)
                    if entry is None:
                        entry = walked[seq] = [_parse_event(data), False, False]
                    entry[side] = True
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
        return reach


def _step_queries(from_artifact: tuple[str, str], from_execution: tuple[str, str]) -> tuple[str, str]:
    """One hop's statements: events leading away from frontier artifacts, and from executions.

    Each side is ``(pattern, extra condition)``; an OUTPUT relationship also
    holds events of no known direction (UNKNOWN), which only BOTH follows.
    Events come back as two collected lists (write order and proto, which
    holds both ends and the type): one Bolt record instead of one per event,
    which the driver decodes several times faster.
    """
    types = "($types IS NULL OR coalesce(r.type, 0) IN $types)"
    queries = []
    for pattern, extra in (from_artifact, from_execution):
        where = f"{extra} AND {types}" if extra else types
        queries.append(
            f"UNWIND $ids AS i MATCH {pattern} WHERE {where} "
            "RETURN collect(r.seq), collect(r.proto)")
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


class _EventSource:
    """Events held in memory, answering ``get_events`` as a backend would (write order)."""

    def __init__(self, events: dict[int, pb.Event]):
        self._by_artifact: dict[int, list[int]] = {}
        self._by_execution: dict[int, list[int]] = {}
        self._events = events
        for seq, event in events.items():
            self._by_artifact.setdefault(event.artifact_id, []).append(seq)
            self._by_execution.setdefault(event.execution_id, []).append(seq)

    def get_events(self, *, artifact_ids: Iterable[int] = (), execution_ids: Iterable[int] = ()
                   ) -> list[pb.Event]:
        seqs: set[int] = set()
        for index, ids in ((self._by_artifact, artifact_ids), (self._by_execution, execution_ids)):
            for node_id in ids:
                seqs.update(index.get(node_id, ()))
        return [self._events[seq] for seq in sorted(seqs)]


def _reach_query(expand: str, leave: str) -> str:
    # DISTINCT on the far end lets Neo4j expand breadth-first and prune paths it has
    # already reached, so dense diamonds do not multiply the work.
    return (f"UNWIND $ids AS i MATCH (:{{label}} {{{{id: i}}}}){expand}(x) WITH DISTINCT x "
            f"MATCH (x){leave}() RETURN collect(r.seq), collect(r.proto)")


#: Per direction: the events leading away from every node reachable from the start
#: (``{label}`` is the start's label). Following every event relationship gives a
#: superset of what the walk uses; the walk in memory then applies types and direction.
_REACH_QUERIES = {
    DOWNSTREAM: _reach_query(f"-[:{cc.EVENT_RELS}*0..]->", f"-[r:{cc.EVENT_RELS}]->"),
    UPSTREAM: _reach_query(f"<-[:{cc.EVENT_RELS}*0..]-", f"<-[r:{cc.EVENT_RELS}]-"),
    BOTH: _reach_query(f"-[:{cc.EVENT_RELS}*0..]-", f"-[r:{cc.EVENT_RELS}]-"),
}


_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")


def open_backend(config: pb.ConnectionConfig, migration_options: pb.MigrationOptions) -> Neo4jBackend:
    """Connects to the Neo4j server named by ``config.neo4j`` and prepares its schema.

    An empty ``user`` connects without authentication. The constraints and
    indexes are created on first use of a database.

    Raises:
        InvalidArgumentError: ``uri`` is empty or not a Neo4j URI.
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
        backend = Neo4jBackend(driver, database, uri)
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
