"""A whole store as a stream of records, and back: the Export and Import RPCs.

``export_store`` reads every record of a backend in one transaction and
yields ``StoreChunk`` messages: all types and type links first, then
artifacts, executions and contexts (ascending by id, with their ids, times and
states as stored), events, attributions, associations and parent contexts,
and a last chunk whose ``end`` counts what the stream held. Only ids are kept
in memory between chunks, so a large store never sits in memory whole.

``StoreImporter`` writes such a stream into a store inside one writing
transaction the caller holds, keeping ids and times, which MLMD's RPCs cannot
set: node records go through the ``Backend`` protocol as given. Types still
pass the store's own type rules (``put_*_type``). Ids are kept by writing into
an empty store in source id order, checking each id handed out; a stream whose
ids have gaps, or a store that is not empty, is refused unless forced (then
nodes are renumbered and types merged). The destination is counted and checked
against the stream's ``end`` before the transaction may commit, and the cache
fingerprint index is rebuilt.

A backend that cannot hold a large store in one transaction (Neo4j) commits
an import into an empty store every ``COMMIT_RECORDS`` records
(``Backend.commit_import_part``); if the import then fails, the service
empties the store again (``Backend.empty_store``), so all or nothing still
holds, though other clients may see part of the store while the import runs.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from lineage import errors
from lineage.backends.base import KINDS, TYPE_CLASSES, Kind, ListQuery, Node
from lineage.proto import lineage_service_pb2 as lsvc
from lineage.proto import metadata_store_service_pb2 as svc

if TYPE_CHECKING:
    from lineage.backends.base import Backend
    from lineage.core import MetadataService

__all__ = ["export_store", "StoreImporter", "scan_nodes", "COUNT_KEYS", "COMMIT_RECORDS", "chunk_records"]

#: Records an import into an empty store writes between two commits on a backend that commits in parts.
COMMIT_RECORDS = 100_000

#: The record counts of a stream, in the order of ``StoreCounts``.
COUNT_KEYS = (
    "types", "artifacts", "executions", "contexts", "events",
    "attributions", "associations", "parent_contexts",
)

_KIND_ENUMS = {"artifact": lsvc.ARTIFACT, "execution": lsvc.EXECUTION, "context": lsvc.CONTEXT}
_KIND_NAMES = {value: name for name, value in _KIND_ENUMS.items()}
_TYPE_FIELDS = {"artifact": "artifact_types", "execution": "execution_types", "context": "context_types"}
_NODE_FIELDS = {"artifact": "artifacts", "execution": "executions", "context": "contexts"}
_EDGE_FIELDS = ("events", "attributions", "associations", "parent_contexts")

_PUT_TYPE = {
    "artifact": ("PutArtifactType", svc.PutArtifactTypeRequest, "artifact_type"),
    "execution": ("PutExecutionType", svc.PutExecutionTypeRequest, "execution_type"),
    "context": ("PutContextType", svc.PutContextTypeRequest, "context_type"),
}


def _system_type_names() -> frozenset[str]:
    from lineage.core import SYSTEM_TYPES

    return frozenset(name for _, name in SYSTEM_TYPES)


def _is_system(type_, system: frozenset[str]) -> bool:
    return type_.name in system and not type_.version


def chunk_records(chunk: lsvc.StoreChunk) -> int:
    """Nodes and edges a chunk carries (types and type links not counted)."""
    return sum(len(getattr(chunk, f)) for f in (*_NODE_FIELDS.values(), *_EDGE_FIELDS))


def scan_nodes(backend: "Backend", kind: Kind, batch_size: int) -> Iterator[list[Node]]:
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


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# -- export -------------------------------------------------------------------------
def export_store(backend: "Backend", chunk_size: int) -> Iterator[lsvc.StoreChunk]:
    """Yields every record of a store as StoreChunks, read in one transaction.

    The transaction is a writing one although it only reads: a backend that
    locks writers out (SQLite, Neo4j, memory) then keeps the store as it is
    until the last chunk is read, so the stream describes one moment.
    """
    system = _system_type_names()
    counts = dict.fromkeys(COUNT_KEYS, 0)
    with backend.transaction():
        first = lsvc.StoreChunk()
        for kind in KINDS:
            types = backend.get_types(kind)
            getattr(first, _TYPE_FIELDS[kind]).extend(types)
            counts["types"] += sum(1 for t in types if not _is_system(t, system))
            links = backend.get_parent_types(kind, [t.id for t in types])
            for type_id in sorted(links):
                for parent in links[type_id]:
                    first.parent_types.add(kind=_KIND_ENUMS[kind], type_id=type_id, parent_type_id=parent)
        for kind in KINDS:
            newest = backend.list_nodes(kind, ListQuery(ascending=False, limit=1))
            setattr(first.estimate, _NODE_FIELDS[kind], newest[0].id if newest else 0)
        yield first
        ids: dict[Kind, list[int]] = {kind: [] for kind in KINDS}
        for kind in KINDS:
            field = _NODE_FIELDS[kind]
            for page in scan_nodes(backend, kind, chunk_size):
                ids[kind].extend(n.id for n in page)
                counts[field] += len(page)
                chunk = lsvc.StoreChunk()
                getattr(chunk, field).extend(page)
                yield chunk
        pending = lsvc.StoreChunk()
        size = 0
        for field, rows in _edge_rows(backend, ids, chunk_size):
            counts[field] += len(rows)
            target = getattr(pending, field)
            for row in rows:
                if field == "events":
                    target.add().CopyFrom(row)
                else:
                    target.add(**row)
                size += 1
                if size >= chunk_size:
                    yield pending
                    pending, size = lsvc.StoreChunk(), 0
                    target = getattr(pending, field)
        pending.end.CopyFrom(lsvc.StoreCounts(**counts))
        yield pending


def _edge_rows(backend: "Backend", ids: dict[Kind, list[int]], batch_size: int) -> Iterator[tuple[str, list]]:
    """Yields (chunk field, rows) for every edge, read in id batches."""
    for batch in _batches(ids["execution"], batch_size):
        yield "events", backend.get_events(execution_ids=batch)
    for batch in _batches(ids["context"], batch_size):
        yield "attributions", [dict(artifact_id=a, context_id=c)
                               for a, c in backend.get_context_links("artifact", context_ids=batch)]
    for batch in _batches(ids["context"], batch_size):
        yield "associations", [dict(execution_id=e, context_id=c)
                               for e, c in backend.get_context_links("execution", context_ids=batch)]
    for batch in _batches(ids["context"], batch_size):
        yield "parent_contexts", [dict(child_id=c, parent_id=p)
                                  for c, p in backend.get_parent_contexts(child_ids=batch)]


# -- what a store holds -------------------------------------------------------------
@dataclasses.dataclass
class _Holdings:
    """What a store holds."""

    user_type_ids: set[int]
    nodes: dict[Kind, int]
    events: int = 0
    attributions: int = 0
    associations: int = 0
    parent_contexts: int = 0
    #: False when ``nodes`` only says whether a kind has any node (0 or 1).
    exact: bool = True

    @property
    def empty(self) -> bool:
        return not self.user_type_ids and not any(self.nodes.values())

    def describe(self) -> str:
        parts = [f"{n} {kind}s" if self.exact else f"{kind}s" for kind, n in self.nodes.items() if n]
        if self.user_type_ids:
            parts.append(f"{len(self.user_type_ids)} types")
        return ", ".join(parts)

    def counts(self) -> dict[str, int]:
        return {
            "types": len(self.user_type_ids),
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


def _census(backend: "Backend", batch_size: int) -> tuple[_Holdings, dict[Kind, list[int]]]:
    """Counts everything a store holds; returns the counts and every node id by kind."""
    ids: dict[Kind, list[int]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        for page in scan_nodes(backend, kind, batch_size):
            ids[kind].extend(n.id for n in page)
    holdings = _Holdings(_user_type_ids(backend), {kind: len(ids[kind]) for kind in KINDS})
    for chunk in _batches(ids["execution"], batch_size):
        holdings.events += len(backend.get_events(execution_ids=chunk))
    for chunk in _batches(ids["context"], batch_size):
        holdings.attributions += len(backend.get_context_links("artifact", context_ids=chunk))
        holdings.associations += len(backend.get_context_links("execution", context_ids=chunk))
        holdings.parent_contexts += len(backend.get_parent_contexts(child_ids=chunk))
    return holdings, ids


# -- import -------------------------------------------------------------------------
class StoreImporter:
    """Writes an Export stream into a store; the caller holds its writing transaction."""

    def __init__(self, service: "MetadataService", batch_size: int):
        self.service = service
        self.backend = service.backend
        self.batch_size = batch_size
        self.force = False
        #: Every id must come out as in the stream (else the import fails); without it ids may change.
        self.keep_ids = True
        self.check_conflicts = False
        self.before: _Holdings | None = None
        self.type_map: dict[tuple[Kind, int], int] = {}
        self.id_map: dict[Kind, dict[int, int]] = {kind: {} for kind in KINDS}
        self.last_id: dict[Kind, int] = dict.fromkeys(KINDS, 0)
        self.received = dict.fromkeys(COUNT_KEYS, 0)
        self.stage = 0
        #: True once part of the import was committed (the store must be emptied if it fails).
        self.committed = False
        #: The types the store held before the import (its system types, when it was empty).
        self.kept_type_ids: set[int] = set()
        self._uncommitted = 0
        self.commit_records = COMMIT_RECORDS

    def run(self, chunks: Iterable[lsvc.StoreChunk]) -> lsvc.ImportResponse:
        """Writes every chunk, checks the result, and answers with the counts and id maps.

        Raises:
            InvalidArgumentError: the stream is malformed or ends without its last chunk.
            FailedPreconditionError: the store is not empty, or ids cannot be kept, and not forced.
            AlreadyExistsError: forced, and a record clashes with one the store holds.
            DataLossError: the store does not hold what the stream said it held.
        """
        from lineage.core import check_request

        end = None
        for number, chunk in enumerate(chunks):
            if end is not None:
                raise errors.InvalidArgumentError("StoreChunk: a chunk follows the one with end set")
            check_request(chunk, writes=True)
            if number == 0:
                self._start(chunk)
            elif chunk.HasField("options"):
                raise errors.InvalidArgumentError("StoreChunk.options is read from the first chunk only")
            self._take(chunk)
            if chunk.HasField("end"):
                end = chunk.end
            self._written(chunk_records(chunk))
        if end is None:
            raise errors.InvalidArgumentError(
                "the StoreChunk stream ended before its last chunk (the one with end set); nothing was imported")
        self._finish(end)
        response = lsvc.ImportResponse(counts=lsvc.StoreCounts(**self.received), ids_kept=self._ids_kept())
        if not response.ids_kept:
            response.id_maps["type"].ids.update({old: new for (_, old), new in self.type_map.items()})
            for kind in KINDS:
                response.id_maps[kind].ids.update(self.id_map[kind])
        return response

    def _written(self, records: int) -> None:
        """Commits part of an import into an empty store, where the backend needs it."""
        self._uncommitted += records
        if self.force or self._uncommitted < self.commit_records:
            return
        if self.backend.commit_import_part():
            self.committed = True
        self._uncommitted = 0

    def _ids_kept(self) -> bool:
        return all(old == new for (_, old), new in self.type_map.items()) and all(
            old == new for kind in KINDS for old, new in self.id_map[kind].items())

    def _start(self, chunk: lsvc.StoreChunk) -> None:
        self.force = chunk.options.force
        self.keep_ids = not self.force
        before = _peek(self.backend)
        if not before.empty:
            before = _census(self.backend, self.batch_size)[0]
        if not before.empty and not self.force:
            raise errors.FailedPreconditionError(
                f"the destination is not empty (it holds {before.describe()}); import into an empty store, "
                "or force a merge in which imported records get new ids; nothing was written")
        self.before = before
        self.check_conflicts = not before.empty
        self.kept_type_ids = {t.id for kind in KINDS for t in self.backend.get_types(kind)}
        self._types(chunk)

    def _take(self, chunk: lsvc.StoreChunk) -> None:
        # Stages: 1 nodes (artifacts, executions, contexts), 2 edges; types only in the first chunk.
        has_types = chunk.parent_types or any(len(getattr(chunk, f)) for f in _TYPE_FIELDS.values())
        if self.stage and has_types:
            raise errors.InvalidArgumentError("StoreChunk: types and type links belong in the first chunk")
        self.stage = max(self.stage, 1)
        for kind in KINDS:
            nodes = getattr(chunk, _NODE_FIELDS[kind])
            if nodes:
                self._nodes(kind, nodes)
        if chunk.events:
            self._events(chunk.events)
        for field, left, right, insert in (
            ("attributions", "artifact", "context", self.backend.insert_attributions),
            ("associations", "execution", "context", self.backend.insert_associations),
            ("parent_contexts", "context", "context", self.backend.insert_parent_contexts),
        ):
            rows = getattr(chunk, field)
            if not rows:
                continue
            names = [f.name for f in rows[0].DESCRIPTOR.fields]
            pairs = [(self._mapped(left, getattr(r, names[0]), f"{field}.{names[0]}"),
                      self._mapped(right, getattr(r, names[1]), f"{field}.{names[1]}")) for r in rows]
            insert(pairs)
            self.received[field] += len(rows)

    def _mapped(self, kind: Kind, source_id: int, where: str) -> int:
        try:
            return self.id_map[kind][source_id]
        except KeyError:
            raise errors.InvalidArgumentError(
                f"StoreChunk.{where} names {kind} {source_id}, which no earlier chunk holds") from None

    def _check_id(self, what: str, source_id: int, new_id: int) -> None:
        if self.keep_ids and new_id != source_id:
            raise errors.FailedPreconditionError(
                f"the destination gave {what} id {new_id} where the source has {source_id}: its id "
                "counters have moved on although it holds nothing (MySQL and PostgreSQL keep ids burnt "
                "by a failed earlier write); nothing was copied. Copy into a new database to keep ids, "
                "or force the copy to renumber")

    def _no_gap(self, what: str, last: int, source_id: int) -> None:
        if self.keep_ids and source_id != last + 1:
            raise errors.FailedPreconditionError(
                f"the source's ids cannot be kept: {what} ids jump from {last} to {source_id} (ids lost to "
                "rolled-back writes), and a destination hands out ids without gaps; nothing was written. "
                "Force the copy to renumber them")

    def _types(self, chunk: lsvc.StoreChunk) -> None:
        system = _system_type_names()
        types = sorted(((kind, t) for kind in KINDS for t in getattr(chunk, _TYPE_FIELDS[kind])),
                       key=lambda pair: pair[1].id)
        last = 0
        for kind, source in types:
            self._no_gap("type", last, source.id)
            last = source.id
            if _is_system(source, system):
                stored = self.backend.find_type(kind, source.name, None)
                if stored is None:
                    raise errors.FailedPreconditionError(
                        f"the destination lacks the system type {source.name!r} every store holds")
                new_id = stored.id
            else:
                given = TYPE_CLASSES[kind]()
                given.CopyFrom(source)
                given.ClearField("id")
                method, request_class, field = _PUT_TYPE[kind]
                request = request_class(can_add_fields=True, can_omit_fields=True)
                getattr(request, field).CopyFrom(given)
                new_id = getattr(self.service, method)(request).type_id
                self.received["types"] += 1
            self._check_id(f"{kind} type {source.name!r}", source.id, new_id)
            self.type_map[(kind, source.id)] = new_id
        for link in chunk.parent_types:
            kind = _KIND_NAMES.get(link.kind)
            if kind is None:
                raise errors.InvalidArgumentError("StoreChunk.parent_types.kind must be ARTIFACT, EXECUTION or CONTEXT")
            new_id = self._mapped_type(kind, link.type_id)
            parent = self._mapped_type(kind, link.parent_type_id)
            if parent not in self.backend.get_parent_types(kind, [new_id]).get(new_id, []):
                self.backend.set_parent_type(kind, new_id, parent)

    def _mapped_type(self, kind: Kind, source_id: int) -> int:
        try:
            return self.type_map[(kind, source_id)]
        except KeyError:
            raise errors.InvalidArgumentError(
                f"StoreChunk names {kind} type {source_id}, which the first chunk does not hold") from None

    def _nodes(self, kind: Kind, given: Sequence[Node]) -> None:
        if self.stage > 1:
            raise errors.InvalidArgumentError(f"StoreChunk: {kind}s must come before every edge")
        nodes = []
        source_ids = []
        for node in given:
            self._no_gap(kind, self.last_id[kind], node.id)
            self.last_id[kind] = node.id
            source_ids.append(node.id)
            copy = type(node)()
            copy.CopyFrom(node)
            copy.ClearField("id")
            copy.type_id = self._mapped_type(kind, node.type_id)
            nodes.append(copy)
        if self.check_conflicts:
            self._check_unique(kind, nodes)
        new_ids = self.backend.insert_nodes(kind, nodes)
        for source_id, new_id in zip(source_ids, new_ids, strict=True):
            self._check_id(kind, source_id, new_id)
        self.id_map[kind].update(zip(source_ids, new_ids, strict=True))
        self.received[_NODE_FIELDS[kind]] += len(nodes)

    def _check_unique(self, kind: Kind, nodes: list[Node]) -> None:
        """(type, name) and external_id must stay unique in a destination that has nodes."""
        for node in nodes:
            if node.HasField("name") and node.name:
                if self.backend.node_ids_by_name(kind, node.type_id, node.name):
                    raise errors.AlreadyExistsError(
                        f"the destination already has a {kind} of type {node.type!r} named {node.name!r}")
        external = [n.external_id for n in nodes if n.HasField("external_id")]
        if external:
            clash = self.backend.find_nodes(kind, external_ids=external)
            if clash:
                raise errors.AlreadyExistsError(
                    f"the destination already has a {kind} with external_id {clash[0].external_id!r}")

    def _events(self, given) -> None:
        self.stage = 2
        events = []
        for event in given:
            copy = type(event)()
            copy.CopyFrom(event)
            copy.artifact_id = self._mapped("artifact", event.artifact_id, "events.artifact_id")
            copy.execution_id = self._mapped("execution", event.execution_id, "events.execution_id")
            events.append(copy)
        self.backend.insert_events(events)
        self.received["events"] += len(events)

    def _finish(self, end: lsvc.StoreCounts) -> None:
        """Checks the stream against its own end, then the store against both; rebuilds fingerprints."""
        declared = {key: getattr(end, key) for key in COUNT_KEYS}
        if declared != self.received:
            wrong = ", ".join(f"{k}: end says {declared[k]}, stream held {self.received[k]}"
                              for k in COUNT_KEYS if declared[k] != self.received[k])
            raise errors.InvalidArgumentError(f"the StoreChunk stream is incomplete ({wrong}); nothing was imported")
        executions = sorted(self.id_map["execution"].values())
        for batch in _batches(executions, self.batch_size):
            self.service._refresh_fingerprints(batch)
            self._written(len(batch))
        after, ids = _census(self.backend, self.batch_size)
        before = self.before
        expected = {key: before.counts()[key] + n for key, n in self.received.items()}
        # A type merged into one the destination had (force) adds nothing.
        system = _system_type_names()
        copied = {new for (kind, _), new in self.type_map.items()} - {
            t.id for kind in KINDS for t in self.backend.get_types(kind) if _is_system(t, system)}
        expected["types"] = len(before.user_type_ids | copied)
        found = after.counts()
        wrong = {key: (expected[key], found[key]) for key in COUNT_KEYS if expected[key] != found[key]}
        if wrong:
            detail = ", ".join(f"{key}: expected {e}, found {f}" for key, (e, f) in wrong.items())
            raise errors.DataLossError(f"the copy does not match the source ({detail}); nothing was copied")
        if self.keep_ids:
            # Counts could match by accident; the ids themselves must be the stream's.
            for kind in KINDS:
                if ids[kind] != sorted(self.id_map[kind]):
                    raise errors.DataLossError(
                        f"the destination's {kind} ids differ from the source's; nothing was copied")
