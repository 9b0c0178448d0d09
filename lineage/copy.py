"""Copying a whole store to another backend, keeping every id, time and link.

``copy_store(source, destination)`` moves types (properties, versions, base
types, external ids), artifacts, executions and contexts (properties, custom
properties, states, create and update times), events (paths and times),
attributions, associations and parent contexts, and rebuilds the cache
fingerprint index of the destination.

How it keeps what MLMD's API cannot set
    Node ids are handed out by the destination and the times by the store's
    rules, so the public ``put_*`` calls would renumber and re-time
    everything. The copy therefore writes through the ``Backend`` protocol,
    which stores complete records as given: node protos keep their times and
    states, events their paths and times. Types still go through the store's
    own type rules, so a merge (``force``) reconciles them as ``put_*_type``
    would. Reads and writes use only protocol primitives, so any pair of
    backends works, and both stores must be opened in this process.

How ids are kept
    Backends allocate ids 1, 2, 3... per node kind (types share one
    sequence). Nodes are inserted in source id order into an empty
    destination and each allocated id is checked against the source id. A
    source whose ids have gaps (a database that burnt ids on rolled-back
    writes) cannot be reproduced that way, and no backend can delete a
    placeholder, so such a copy is refused before anything is written; with
    ``force`` it proceeds and renumbers, returning the old -> new id map.

All or nothing
    The source is read in one transaction (a consistent snapshot) into a
    compact in-memory spool of serialized protos. The destination is then
    written in one transaction, counted and checked, and committed only if
    every check passes; any failure, interruption included, rolls it back,
    so a destination is never left half-copied. The destination's
    transaction must therefore be able to hold the whole store (for very
    large copies into Neo4j, give the server enough heap).
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from lineage import errors
from lineage.backends.base import KINDS, NODE_CLASSES, TYPE_CLASSES, Kind, ListQuery, Node
from lineage.cache import execution_fingerprints
from lineage.proto import metadata_store_pb2 as pb
from lineage.proto import metadata_store_service_pb2 as svc

if TYPE_CHECKING:
    from lineage.backends.base import Backend
    from lineage.core import MetadataService
    from lineage.metadata_store import MetadataStore

__all__ = ["copy_store", "count_records", "CopyReport", "scan_nodes", "backend_of", "BATCH_SIZE", "COUNT_KEYS"]

#: Records per backend call, on both sides.
BATCH_SIZE = 500

#: The record counts a copy reports and verifies, in this order.
COUNT_KEYS = (
    "types", "artifacts", "executions", "contexts", "events",
    "attributions", "associations", "parent_contexts",
)

#: Called as on_progress(phase, done, total) while a copy runs; phase is
#: "read", "write" or "verify".
ProgressCallback = Callable[[str, int, int], None]

_PUT_TYPE = {
    "artifact": ("PutArtifactType", svc.PutArtifactTypeRequest, "artifact_type"),
    "execution": ("PutExecutionType", svc.PutExecutionTypeRequest, "execution_type"),
    "context": ("PutContextType", svc.PutContextTypeRequest, "context_type"),
}


def _system_type_names() -> frozenset[str]:
    from lineage.core import SYSTEM_TYPES

    return frozenset(name for _, name in SYSTEM_TYPES)


def backend_of(store: "MetadataStore", role: str = "store") -> tuple["MetadataService", "Backend"]:
    """Returns the in-process service and backend of a store.

    Raises:
        UnimplementedError: the store is a gRPC client of a metadata server.
    """
    service = getattr(store, "_service", None)
    if service is None:
        raise errors.UnimplementedError(
            f"the {role} must be opened in this process (lineage.connect(url)), not through a gRPC client"
        )
    return service, service.backend


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def scan_nodes(backend: "Backend", kind: Kind, batch_size: int = BATCH_SIZE) -> Iterator[list[Node]]:
    """Yields every node of a kind, ascending by id, in pages of at most ``batch_size``.

    Reads id windows with ``get_nodes`` (cheap on every backend) and skips
    empty stretches of ids with one keyset lookup each.
    """
    first = backend.list_nodes(kind, ListQuery(limit=1))
    if not first:
        return
    last = backend.list_nodes(kind, ListQuery(ascending=False, limit=1))[0].id
    low = first[0].id
    while low <= last:
        high = min(low + batch_size, last + 1)
        page = backend.get_nodes(kind, range(low, high))
        if page:
            yield page
            low = high
            continue
        following = backend.list_nodes(kind, ListQuery(limit=1, after=(high - 1, high - 1)))
        if not following:
            return
        low = following[0].id


@dataclasses.dataclass
class _Snapshot:
    """The source store, spooled: protos serialized, links as id pairs."""

    types: list[tuple[Kind, object]] = dataclasses.field(default_factory=list)
    parent_types: dict[Kind, dict[int, list[int]]] = dataclasses.field(default_factory=dict)
    node_ids: dict[Kind, list[int]] = dataclasses.field(default_factory=lambda: {k: [] for k in KINDS})
    nodes: dict[Kind, list[bytes]] = dataclasses.field(default_factory=lambda: {k: [] for k in KINDS})
    events: list[bytes] = dataclasses.field(default_factory=list)
    attributions: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    associations: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    parent_contexts: list[tuple[int, int]] = dataclasses.field(default_factory=list)

    def user_types(self) -> list[tuple[Kind, object]]:
        system = _system_type_names()
        return [(k, t) for k, t in self.types if not _is_system(t, system)]

    def counts(self) -> dict[str, int]:
        return {
            "types": len(self.user_types()),
            "artifacts": len(self.nodes["artifact"]),
            "executions": len(self.nodes["execution"]),
            "contexts": len(self.nodes["context"]),
            "events": len(self.events),
            "attributions": len(self.attributions),
            "associations": len(self.associations),
            "parent_contexts": len(self.parent_contexts),
        }


def _is_system(type_, system: frozenset[str]) -> bool:
    return type_.name in system and not type_.version


@dataclasses.dataclass(frozen=True)
class CopyReport:
    """What a copy did.

    Attributes:
        counts: Records copied, by kind (keys as ``COUNT_KEYS``; system types not counted).
        ids_kept: True when every record kept its source id.
        id_map: When ids were not kept: "type" / "artifact" / "execution" /
            "context" -> {source id: destination id}. Empty when they were.
        seconds: Wall time of the whole copy.
    """

    counts: dict[str, int]
    ids_kept: bool
    id_map: dict[str, dict[int, int]]
    seconds: float

    @property
    def records(self) -> int:
        """Total records copied."""
        return sum(self.counts.values())


class _Progress:
    def __init__(self, callback: ProgressCallback | None):
        self._callback = callback
        self.phase, self.done, self.total = "", 0, 0

    def start(self, phase: str, total: int) -> None:
        self.phase, self.done, self.total = phase, 0, total
        self._report()

    def advance(self, n: int) -> None:
        self.done += n
        self._report()

    def _report(self) -> None:
        if self._callback is not None:
            self._callback(self.phase, min(self.done, self.total), self.total)


# -- reading ------------------------------------------------------------------------
def _max_id(backend: "Backend", kind: Kind) -> int:
    newest = backend.list_nodes(kind, ListQuery(ascending=False, limit=1))
    return newest[0].id if newest else 0


def _read(backend: "Backend", batch_size: int, progress: _Progress) -> _Snapshot:
    snap = _Snapshot()
    types = [(kind, t) for kind in KINDS for t in backend.get_types(kind)]
    snap.types = sorted(types, key=lambda pair: pair[1].id)
    for kind in KINDS:
        snap.parent_types[kind] = backend.get_parent_types(kind, [t.id for k, t in types if k == kind])
    # Node pages, then one pass over executions (events) and three over contexts (links).
    estimate = {kind: _max_id(backend, kind) for kind in KINDS}
    progress.start("read", sum(estimate.values()) + estimate["execution"] + 3 * estimate["context"])
    for kind in KINDS:
        for page in scan_nodes(backend, kind, batch_size):
            snap.node_ids[kind].extend(n.id for n in page)
            snap.nodes[kind].extend(n.SerializeToString(deterministic=True) for n in page)
            progress.advance(len(page))
    for ids in _batches(snap.node_ids["execution"], batch_size):
        for event in backend.get_events(execution_ids=ids):
            snap.events.append(event.SerializeToString(deterministic=True))
        progress.advance(len(ids))
    contexts = snap.node_ids["context"]
    for ids in _batches(contexts, batch_size):
        snap.attributions.extend(backend.get_context_links("artifact", context_ids=ids))
        progress.advance(len(ids))
    for ids in _batches(contexts, batch_size):
        snap.associations.extend(backend.get_context_links("execution", context_ids=ids))
        progress.advance(len(ids))
    for ids in _batches(contexts, batch_size):
        snap.parent_contexts.extend(backend.get_parent_contexts(child_ids=ids))
        progress.advance(len(ids))
    return snap


def _first_gap(snap: _Snapshot) -> str | None:
    """Describes the first hole in the source's id sequences, or None if they are 1..n."""
    type_ids = [t.id for _, t in snap.types]
    for expected, actual in enumerate(type_ids, start=1):
        if actual != expected:
            return f"type ids jump from {expected - 1} to {actual}"
    for kind in KINDS:
        for expected, actual in enumerate(snap.node_ids[kind], start=1):
            if actual != expected:
                return f"{kind} ids jump from {expected - 1} to {actual}"
    return None


# -- the destination ----------------------------------------------------------------
@dataclasses.dataclass
class _Holdings:
    """What a destination already holds."""

    user_type_ids: set[int]
    nodes: dict[Kind, int]
    events: int = 0
    attributions: int = 0
    associations: int = 0
    parent_contexts: int = 0
    #: False when ``nodes`` only says whether a kind has any node (0 or 1).
    exact: bool = True

    @property
    def user_types(self) -> int:
        return len(self.user_type_ids)

    @property
    def empty(self) -> bool:
        return not self.user_type_ids and not any(self.nodes.values())

    def describe(self) -> str:
        parts = [f"{n} {kind}s" if self.exact else f"{kind}s" for kind, n in self.nodes.items() if n]
        if self.user_types:
            parts.append(f"{self.user_types} types")
        return ", ".join(parts)

    def counts(self) -> dict[str, int]:
        return {
            "types": self.user_types,
            "artifacts": self.nodes["artifact"],
            "executions": self.nodes["execution"],
            "contexts": self.nodes["context"],
            "events": self.events,
            "attributions": self.attributions,
            "associations": self.associations,
            "parent_contexts": self.parent_contexts,
        }


def _user_type_ids(backend: "Backend") -> set[int]:
    system = _system_type_names()
    return {t.id for kind in KINDS for t in backend.get_types(kind) if not _is_system(t, system)}


def _peek(backend: "Backend") -> _Holdings:
    """Cheap look: user types, and whether each kind has any node (0 or 1)."""
    return _Holdings(
        _user_type_ids(backend),
        {kind: len(backend.list_nodes(kind, ListQuery(limit=1))) for kind in KINDS},
        exact=False,
    )


def _census(
    backend: "Backend", batch_size: int, progress: _Progress | None = None
) -> tuple[_Holdings, dict[Kind, list[int]]]:
    """Counts everything a store holds; returns the counts and every node id by kind."""
    ids: dict[Kind, list[int]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        for page in scan_nodes(backend, kind, batch_size):
            ids[kind].extend(n.id for n in page)
            if progress is not None:
                progress.advance(len(page))
    holdings = _Holdings(_user_type_ids(backend), {kind: len(ids[kind]) for kind in KINDS})
    for chunk in _batches(ids["execution"], batch_size):
        holdings.events += len(backend.get_events(execution_ids=chunk))
    for chunk in _batches(ids["context"], batch_size):
        holdings.attributions += len(backend.get_context_links("artifact", context_ids=chunk))
        holdings.associations += len(backend.get_context_links("execution", context_ids=chunk))
        holdings.parent_contexts += len(backend.get_parent_contexts(child_ids=chunk))
    return holdings, ids


def count_records(store: "MetadataStore", batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Counts what a store holds, by the keys of ``COUNT_KEYS`` (system types not counted).

    Raises:
        UnimplementedError: the store is a gRPC client rather than an in-process store.
    """
    _, backend = backend_of(store)
    with backend.transaction(write=False):
        return _census(backend, batch_size)[0].counts()


class _Writer:
    """Writes a snapshot into a destination inside its open transaction."""

    def __init__(self, service: "MetadataService", backend: "Backend", *, keep_ids: bool,
                 check_conflicts: bool, batch_size: int, progress: _Progress):
        self.service = service
        self.backend = backend
        #: Every id must come out as in the source (else the copy fails); without it ids may change.
        self.keep_ids = keep_ids
        self.check_conflicts = check_conflicts
        self.batch_size = batch_size
        self.progress = progress
        self.type_map: dict[tuple[Kind, int], int] = {}
        self.id_map: dict[Kind, dict[int, int]] = {kind: {} for kind in KINDS}
        self.inputs: dict[int, list[pb.Event]] = {}

    def _check_id(self, what: str, source_id: int, new_id: int) -> None:
        if self.keep_ids and new_id != source_id:
            raise errors.FailedPreconditionError(
                f"the destination gave {what} id {new_id} where the source has {source_id}: its id "
                "counters have moved on although it holds nothing (MySQL and PostgreSQL keep ids burnt "
                "by a failed earlier write); nothing was copied. Copy into a new database to keep ids, "
                "or force the copy to renumber"
            )

    def write(self, snap: _Snapshot) -> None:
        self._types(snap)
        for kind in KINDS:
            self._nodes(kind, snap.nodes[kind])
        self._events(snap.events)
        for pairs, insert, (left, right) in (
            (snap.attributions, self.backend.insert_attributions, ("artifact", "context")),
            (snap.associations, self.backend.insert_associations, ("execution", "context")),
            (snap.parent_contexts, self.backend.insert_parent_contexts, ("context", "context")),
        ):
            for chunk in _batches(pairs, self.batch_size):
                insert([(self.id_map[left][a], self.id_map[right][b]) for a, b in chunk])
                self.progress.advance(len(chunk))
        self._fingerprints(snap.nodes["execution"])

    def _types(self, snap: _Snapshot) -> None:
        system = _system_type_names()
        for kind, source in snap.types:
            if _is_system(source, system):
                stored = self.backend.find_type(kind, source.name, None)
                if stored is None:
                    raise errors.FailedPreconditionError(
                        f"the destination lacks the system type {source.name!r} every store holds"
                    )
                new_id = stored.id
            else:
                given = TYPE_CLASSES[kind]()
                given.CopyFrom(source)
                given.ClearField("id")
                method, request_class, field = _PUT_TYPE[kind]
                request = request_class(can_add_fields=True, can_omit_fields=True)
                getattr(request, field).CopyFrom(given)
                new_id = getattr(self.service, method)(request).type_id
            self._check_id(f"{kind} type {source.name!r}", source.id, new_id)
            self.type_map[(kind, source.id)] = new_id
            if not _is_system(source, system):
                self.progress.advance(1)
        for kind in KINDS:
            for type_id, parents in snap.parent_types[kind].items():
                new_id = self.type_map[(kind, type_id)]
                present = self.backend.get_parent_types(kind, [new_id]).get(new_id, [])
                for parent in parents:
                    mapped = self.type_map[(kind, parent)]
                    if mapped not in present:
                        self.backend.set_parent_type(kind, new_id, mapped)

    def _nodes(self, kind: Kind, spooled: list[bytes]) -> None:
        parse = NODE_CLASSES[kind].FromString
        for chunk in _batches(spooled, self.batch_size):
            nodes = [parse(data) for data in chunk]
            source_ids = [n.id for n in nodes]
            for node in nodes:
                node.ClearField("id")
                node.type_id = self.type_map[(kind, node.type_id)]
            if self.check_conflicts:
                self._check_unique(kind, nodes)
            new_ids = self.backend.insert_nodes(kind, nodes)
            for source_id, new_id in zip(source_ids, new_ids, strict=True):
                self._check_id(kind, source_id, new_id)
            self.id_map[kind].update(zip(source_ids, new_ids, strict=True))
            self.progress.advance(len(nodes))

    def _check_unique(self, kind: Kind, nodes: list[Node]) -> None:
        """(type, name) and external_id must stay unique in a destination that has nodes."""
        for node in nodes:
            if node.HasField("name") and node.name:
                if self.backend.find_nodes(kind, type_ids=[node.type_id], name=node.name):
                    raise errors.AlreadyExistsError(
                        f"the destination already has a {kind} of type {node.type!r} named {node.name!r}"
                    )
        external = [n.external_id for n in nodes if n.HasField("external_id")]
        if external:
            clash = self.backend.find_nodes(kind, external_ids=external)
            if clash:
                raise errors.AlreadyExistsError(
                    f"the destination already has a {kind} with external_id {clash[0].external_id!r}"
                )

    def _events(self, spooled: list[bytes]) -> None:
        from lineage.traversal import INPUT_EVENT_TYPES

        artifacts, executions = self.id_map["artifact"], self.id_map["execution"]
        for chunk in _batches(spooled, self.batch_size):
            events = [pb.Event.FromString(data) for data in chunk]
            for event in events:
                event.artifact_id = artifacts[event.artifact_id]
                event.execution_id = executions[event.execution_id]
                if event.type in INPUT_EVENT_TYPES:
                    self.inputs.setdefault(event.execution_id, []).append(event)
            self.backend.insert_events(events)
            self.progress.advance(len(events))

    def _fingerprints(self, spooled: list[bytes]) -> None:
        types = {t.id: t for t in self.backend.get_types("execution")}
        executions = self.id_map["execution"]
        for chunk in _batches(spooled, self.batch_size):
            for data in chunk:
                execution = pb.Execution.FromString(data)
                execution.id = executions[execution.id]
                execution.type_id = self.type_map[("execution", execution.type_id)]
                self.backend.set_fingerprints(
                    execution.id,
                    execution_fingerprints(execution, types[execution.type_id], self.inputs.get(execution.id, ())),
                )
            self.progress.advance(len(chunk))


def _verify(backend: "Backend", snap: _Snapshot, before: _Holdings, writer: _Writer,
            batch_size: int, progress: _Progress) -> None:
    """Counts the destination and checks it against the source; raises DataLossError if they differ."""
    after, ids = _census(backend, batch_size, progress)
    expected = {key: before.counts()[key] + n for key, n in snap.counts().items()}
    # A type merged into one the destination had (force) adds nothing.
    copied_types = {writer.type_map[(kind, t.id)] for kind, t in snap.user_types()}
    expected["types"] = len(before.user_type_ids | copied_types)
    found = after.counts()
    wrong = {key: (expected[key], found[key]) for key in COUNT_KEYS if expected[key] != found[key]}
    if wrong:
        detail = ", ".join(f"{key}: expected {e}, found {f}" for key, (e, f) in wrong.items())
        raise errors.DataLossError(f"the copy does not match the source ({detail}); nothing was copied")
    if writer.keep_ids:
        # Counts could match by accident; the ids themselves must be the source's.
        for kind in KINDS:
            if ids[kind] != snap.node_ids[kind]:
                raise errors.DataLossError(
                    f"the destination's {kind} ids differ from the source's; nothing was copied"
                )


def copy_store(
    source: "MetadataStore",
    destination: "MetadataStore",
    *,
    force: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> CopyReport:
    """Copies every record of ``source`` into ``destination``, all or nothing.

    Args:
        source: The store to read; it is not changed.
        destination: An empty store (one that holds only the system types),
            unless ``force``.
        force: Also copy when ids cannot be kept: into a destination that
            already holds records (types are merged by name and version as
            ``put_*_type(can_add_fields=True, can_omit_fields=True)`` does,
            nodes get new ids) or from a source whose ids have gaps.
        batch_size: Records per backend call.
        on_progress: Called as ``on_progress(phase, done, total)``.

    Returns:
        A CopyReport with the counts copied and, when ids changed, the id map.

    Raises:
        InvalidArgumentError: source and destination are the same store, or a bad batch size.
        FailedPreconditionError: the destination is not empty, or ids cannot be
            kept, and ``force`` is False. Nothing is written.
        AlreadyExistsError: with ``force``, a record clashes with one in the
            destination (type properties, node names, external ids). Nothing is written.
        DataLossError: the written copy did not match the source; it was rolled back.
        UnimplementedError: a store is a gRPC client rather than an in-process store.
    """
    if batch_size < 1:
        raise errors.InvalidArgumentError(f"batch_size must be >= 1, got {batch_size}")
    started = time.perf_counter()
    _, src = backend_of(source, "source")
    dst_service, dst = backend_of(destination, "destination")
    if src is dst:
        raise errors.InvalidArgumentError("the source and the destination are the same store")
    progress = _Progress(on_progress)
    with dst.transaction(write=False):
        peek = _peek(dst)
    if not peek.empty and not force:
        raise errors.FailedPreconditionError(
            f"the destination is not empty (it holds {peek.describe()}); copy into an empty store, "
            "or force a merge in which copied records get new ids"
        )
    # Opened as a writer, though it only reads: a backend that locks writers out (Neo4j, SQLite)
    # then keeps the source as it is until the whole snapshot is read.
    with src.transaction():
        snap = _read(src, batch_size, progress)
    gap = _first_gap(snap)
    if gap is not None and not force:
        raise errors.FailedPreconditionError(
            f"the source's ids cannot be kept: {gap} (ids lost to rolled-back writes), and a destination "
            "hands out ids without gaps; nothing was written. Force the copy to renumber them"
        )
    try:
        writer = _write(dst_service, dst, snap, force=force, batch_size=batch_size, progress=progress)
    except _DESTINATION_FAILURES as e:
        raise type(e)(
            f"the destination could not take the copy ({e.message}); it was rolled back and is unchanged. "
            "The copy is one transaction, so the destination must hold the whole store in one (a Neo4j "
            "server needs enough server.memory.heap.max_size and dbms.memory.transaction.total.max)"
        ) from e
    ids_kept = all(old == new for (_, old), new in writer.type_map.items()) and all(
        old == new for kind in KINDS for old, new in writer.id_map[kind].items())
    id_map: dict[str, dict[int, int]] = {}
    if not ids_kept:
        id_map["type"] = {old: new for (_, old), new in writer.type_map.items()}
        id_map.update({kind: dict(writer.id_map[kind]) for kind in KINDS})
    return CopyReport(snap.counts(), ids_kept, id_map, time.perf_counter() - started)


#: What a destination may raise while it takes a copy, besides the copy's own refusals.
_DESTINATION_FAILURES = (
    errors.AbortedError, errors.ResourceExhaustedError, errors.UnavailableError,
    errors.DeadlineExceededError, errors.InternalError,
)


def _write(service: "MetadataService", dst: "Backend", snap: _Snapshot, *, force: bool, batch_size: int,
           progress: _Progress) -> _Writer:
    """Writes and verifies the snapshot in one destination transaction; returns the writer's id maps."""
    with dst.transaction():
        # Looked at again inside the writing transaction: the first look only saved a read.
        before = _peek(dst)
        if not before.empty:
            before = _census(dst, batch_size)[0]
        if not before.empty and not force:
            raise errors.FailedPreconditionError(
                f"the destination is not empty (it holds {before.describe()}); nothing was written"
            )
        counts = snap.counts()
        progress.start("write", sum(counts.values()) + counts["executions"])
        writer = _Writer(service, dst, keep_ids=not force, check_conflicts=not before.empty,
                         batch_size=batch_size, progress=progress)
        writer.write(snap)
        progress.start("verify", sum(before.nodes.values()) + sum(len(v) for v in snap.node_ids.values()))
        _verify(dst, snap, before, writer, batch_size, progress)
    return writer
