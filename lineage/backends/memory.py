"""The in-memory backend: a NetworkX MultiDiGraph serving as the fake database.

Nodes are keyed ``(kind, id)`` and carry their proto; edges follow the flow of
data: an input event runs artifact -> execution, an output event execution ->
artifact, an attribution artifact -> context, an association execution ->
context, and a parent link child -> parent. Dictionaries beside the graph index
types, names, uris, external ids and property values so lookups never scan.

Atomicity comes from an undo log: every mutation inside a transaction records
its inverse, replayed in reverse when the transaction fails.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from typing import Callable, Iterable, Iterator, Sequence

import networkx as nx

import bisect
import functools
import operator

from lineage.traversal import INPUT_EVENT_TYPES
from lineage.backends.base import KINDS, Kind, ListQuery, Node, NodeType, statement_timeout
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import ast as qast
from lineage.query.python_compiler import compile_predicate, time_limit

__all__ = ["MemoryBackend", "INPUT_EVENT_TYPES", "open_backend"]


_EVENT, _ATTRIBUTION, _ASSOCIATION, _PARENT = "event", "attribution", "association", "parent"


def _value_key(value: pb.Value):
    """Returns a hashable (kind, value) for index lookups, or None if not indexable."""
    which = value.WhichOneof("value")
    if which in ("int_value", "double_value", "string_value", "bool_value"):
        return which, getattr(value, which)
    return None


class MemoryBackend:
    """Stores everything in one process; thread-safe through a re-entrant lock."""

    def __init__(self) -> None:
        # Bounds the filter evaluation of one call, as the databases bound a statement.
        self._timeout = statement_timeout()
        self.graph = nx.MultiDiGraph()
        self._lock = threading.RLock()
        self._undo: list[Callable[[], None]] | None = None
        self._depth = 0
        self._next_id = {"type": 1, **{kind: 1 for kind in KINDS}}
        self._event_seq = 0
        self._types: dict[Kind, dict[int, NodeType]] = {kind: {} for kind in KINDS}
        self._type_by_name: dict[tuple[Kind, str, str], int] = {}
        self._parent_types: dict[Kind, dict[int, list[int]]] = {kind: {} for kind in KINDS}
        self._nodes: dict[Kind, dict[int, Node]] = {kind: {} for kind in KINDS}
        self._by_type: dict[Kind, dict[int, set[int]]] = {k: defaultdict(set) for k in KINDS}
        self._by_name: dict[Kind, dict[str, set[int]]] = {k: defaultdict(set) for k in KINDS}
        self._by_uri: dict[str, set[int]] = defaultdict(set)
        self._by_external_id: dict[Kind, dict[str, int]] = {k: {} for k in KINDS}
        # (kind, is_custom, property name, value kind, value) -> ids
        self._by_property: dict[tuple, set[int]] = defaultdict(set)
        self._fingerprints: dict[int, tuple[str, ...]] = {}
        self._by_fingerprint: dict[str, set[int]] = defaultdict(set)

    # -- transactions -------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[None]:
        """Opens an all-or-nothing unit of work; nested calls join the outer one.

        Args:
            write: Accepted for the Backend protocol; readers and writers take
                the same lock here.
        """
        del write
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._undo = []
            self._depth += 1
            try:
                yield
            except BaseException:
                if outermost:
                    undo, self._undo = self._undo, None
                    for step in reversed(undo or ()):
                        step()
                raise
            finally:
                self._depth -= 1
                if outermost:
                    self._undo = None

    def _record(self, step: Callable[[], None]) -> None:
        if self._undo is not None:
            self._undo.append(step)

    def close(self) -> None:
        """Nothing to release: the data lives as long as the object."""

    def _allocate(self, counter: str) -> int:
        new_id = self._next_id[counter]
        self._next_id[counter] = new_id + 1
        self._record(lambda: self._next_id.__setitem__(counter, new_id))
        return new_id

    # -- types --------------------------------------------------------------
    def insert_type(self, kind: Kind, type_: NodeType) -> int:
        type_.id = self._allocate("type")
        self._store_type(kind, type_)
        self._record(lambda: self._drop_type(kind, type_))
        return type_.id

    def _store_type(self, kind: Kind, type_: NodeType) -> None:
        self._types[kind][type_.id] = type_
        self._type_by_name[(kind, type_.name, type_.version)] = type_.id

    def _drop_type(self, kind: Kind, type_: NodeType) -> None:
        del self._types[kind][type_.id]
        del self._type_by_name[(kind, type_.name, type_.version)]

    def update_type(self, kind: Kind, type_: NodeType) -> None:
        old = self._types[kind][type_.id]
        self._drop_type(kind, old)
        self._store_type(kind, type_)

        def undo() -> None:
            self._drop_type(kind, type_)
            self._store_type(kind, old)

        self._record(undo)

    def get_types(self, kind: Kind, ids: Iterable[int] | None = None) -> list[NodeType]:
        stored = self._types[kind]
        if ids is None:
            return [stored[i] for i in sorted(stored)]
        return [stored[i] for i in sorted(set(ids)) if i in stored]

    def find_type(self, kind: Kind, name: str, version: str | None) -> NodeType | None:
        type_id = self._type_by_name.get((kind, name, version or ""))
        return None if type_id is None else self._types[kind][type_id]

    def find_types_by_external_id(self, kind: Kind, external_ids: Iterable[str]) -> list[NodeType]:
        wanted = set(external_ids)
        return [t for t in self.get_types(kind) if t.HasField("external_id") and t.external_id in wanted]

    def set_parent_type(self, kind: Kind, type_id: int, parent_type_id: int) -> None:
        parents = self._parent_types[kind].setdefault(type_id, [])
        parents.append(parent_type_id)
        self._record(parents.pop)

    def get_parent_types(self, kind: Kind, type_ids: Iterable[int]) -> dict[int, list[int]]:
        stored = self._parent_types[kind]
        return {i: list(stored[i]) for i in type_ids if stored.get(i)}

    # -- nodes --------------------------------------------------------------
    def _index(self, kind: Kind, node: Node, add: bool) -> None:
        node_id = node.id
        op = set.add if add else set.discard
        op(self._by_type[kind][node.type_id], node_id)
        if node.HasField("name"):
            op(self._by_name[kind][node.name], node_id)
        if kind == "artifact" and node.HasField("uri"):
            op(self._by_uri[node.uri], node_id)
        if node.HasField("external_id"):
            if add:
                self._by_external_id[kind][node.external_id] = node_id
            else:
                self._by_external_id[kind].pop(node.external_id, None)
        for is_custom, props in ((False, node.properties), (True, node.custom_properties)):
            for name, value in props.items():
                key = _value_key(value)
                if key is not None:
                    op(self._by_property[(kind, is_custom, name, *key)], node_id)

    def insert_nodes(self, kind: Kind, nodes: Sequence[Node]) -> list[int]:
        ids = []
        for node in nodes:
            node.id = self._allocate(kind)
            self._nodes[kind][node.id] = node
            self.graph.add_node((kind, node.id))
            self._index(kind, node, add=True)
            self._record(lambda node=node: self._remove_node(kind, node))
            ids.append(node.id)
        return ids

    def _remove_node(self, kind: Kind, node: Node) -> None:
        self._index(kind, node, add=False)
        del self._nodes[kind][node.id]
        self.graph.remove_node((kind, node.id))

    def update_nodes(self, kind: Kind, nodes: Sequence[Node]) -> None:
        for node in nodes:
            old = self._nodes[kind][node.id]
            self._replace_node(kind, old, node)
            self._record(lambda old=old, node=node: self._replace_node(kind, node, old))

    def _replace_node(self, kind: Kind, old: Node, new: Node) -> None:
        self._index(kind, old, add=False)
        self._nodes[kind][new.id] = new
        self._index(kind, new, add=True)

    def get_nodes(self, kind: Kind, ids: Iterable[int]) -> list[Node]:
        stored = self._nodes[kind]
        return [stored[i] for i in sorted(set(ids)) if i in stored]

    def find_nodes(
        self,
        kind: Kind,
        *,
        type_ids: Iterable[int] | None = None,
        name: str | None = None,
        uri: str | None = None,
        external_ids: Iterable[str] | None = None,
    ) -> list[Node]:
        candidates: set[int] | None = None

        def narrow(ids: Iterable[int]) -> None:
            nonlocal candidates
            candidates = set(ids) if candidates is None else candidates & set(ids)

        if type_ids is not None:
            narrow(i for t in type_ids for i in self._by_type[kind].get(t, ()))
        if name is not None:
            narrow(self._by_name[kind].get(name, ()))
        if uri is not None:
            narrow(self._by_uri.get(uri, ()))
        if external_ids is not None:
            index = self._by_external_id[kind]
            narrow(index[e] for e in external_ids if e in index)
        if candidates is None:
            candidates = set(self._nodes[kind])
        return self.get_nodes(kind, candidates)

    def candidate_ids(self, kind: Kind, attribute: str, value) -> set[int] | None:
        """Ids that may satisfy ``attribute = value``, from an index; None if unindexed.

        Used by the filter planner to avoid scanning every node.
        """
        if attribute == "id":
            return {value} if value in self._nodes[kind] else set()
        if attribute == "type_id":
            return set(self._by_type[kind].get(value, ()))
        if attribute == "type":
            ids: set[int] = set()
            for type_ in self._types[kind].values():
                if type_.name == value:
                    ids |= self._by_type[kind].get(type_.id, set())
            return ids
        if attribute == "name":
            return set(self._by_name[kind].get(value, ()))
        if attribute == "uri" and kind == "artifact":
            return set(self._by_uri.get(value, ()))
        if attribute == "external_id":
            node_id = self._by_external_id[kind].get(value)
            return set() if node_id is None else {node_id}
        return None

    def _like_hit(self, kind: Kind, attribute: str, pattern: str) -> set[int] | None:
        """Ids whose uri or name may match a LIKE pattern, found from the index keys.

        Returns a superset (the predicate checks the exact pattern): keys that
        hold the pattern's longest literal run, and start with its literal prefix.
        """
        if attribute == "uri" and kind == "artifact":
            index = self._by_uri
        elif attribute == "name":
            index = self._by_name[kind]
        else:
            return None
        runs, prefix = _like_literals(pattern)
        longest = max(runs, key=len, default="")
        keys = [key for key in index if longest in key] if longest else list(index)
        hits: set[int] = set()
        for key in keys:
            if key.startswith(prefix):
                hits |= index[key]
        return hits

    def candidate_ids_by_property(
        self, kind: Kind, is_custom: bool, name: str, value_kind: str, value
    ) -> set[int]:
        """Ids whose (custom) property ``name`` holds exactly ``value``."""
        return set(self._by_property.get((kind, is_custom, name, value_kind, value), ()))

    def list_nodes(self, kind: Kind, query: ListQuery) -> list[Node]:
        if query.filter is None:
            candidates = None
            matches = list(self._nodes[kind].values())
        else:
            candidates = self._plan(kind, query.filter)
            predicate = _compiled(query.filter, kind)
            with time_limit(self._timeout):
                matches = [n for n in self.iter_nodes(kind, candidates) if predicate(n, self)]
        field = query.order_field
        if field == "id":
            # Ids are allocated in increasing order, so the dict order is already sorted.
            if candidates is not None:
                matches.sort(key=_ID)
            if not query.ascending:
                matches.reverse()
        else:
            matches.sort(key=lambda n: (getattr(n, field), n.id), reverse=not query.ascending)
        if query.after is not None:
            matches = _after(matches, field, query.after, query.ascending)
        return matches if query.limit is None else matches[: query.limit]

    def _plan(self, kind: Kind, expr) -> list[int] | None:
        """Narrows a filter to candidate ids through the indexes; None means every node."""
        candidates: set[int] | None = None
        conjuncts = expr.items if isinstance(expr, qast.And) else (expr,)
        # Selective lookups first; once few candidates remain the predicate is
        # cheaper than building another broad id set (a whole type, say).
        for term in sorted(conjuncts, key=_selectivity_rank):
            if candidates is not None and len(candidates) <= _ENOUGH_CANDIDATES:
                break
            found = self._index_hit(kind, term)
            if found is not None:
                candidates = found if candidates is None else candidates & found
        return None if candidates is None else list(candidates)

    def _index_hit(self, kind: Kind, term) -> set[int] | None:
        if isinstance(term, qast.Like) and isinstance(term.left, qast.Attribute) and term.left.neighbour is None:
            return self._like_hit(kind, term.left.name, term.pattern)
        if isinstance(term, qast.InList) and isinstance(term.left, qast.Attribute):
            hits: set[int] = set()
            for value in term.values:
                found = self._index_hit(kind, qast.Comparison(term.left, "=", value))
                if found is None:
                    return None
                hits |= found
            return hits
        if not isinstance(term, qast.Comparison) or term.op != "=":
            return None
        left, value = term.left, term.value
        if isinstance(value, (qast.Attribute, qast.Property)):
            return None
        if isinstance(left, qast.Property):
            return self.candidate_ids_by_property(kind, left.is_custom, left.name, left.value_kind, value)
        if left.neighbour is None:
            return self.candidate_ids(kind, left.name, value)
        if left.name == "id" and left.neighbour.relation == "contexts":
            key = _ATTRIBUTION if kind == "artifact" else _ASSOCIATION
            return set(self._linked(("context", value), key, False))
        return None

    def iter_nodes(self, kind: Kind, ids: Iterable[int] | None = None) -> Iterator[Node]:
        """Yields stored nodes of a kind (all, or those among ``ids``) in no set order."""
        stored = self._nodes[kind]
        if ids is None:
            yield from stored.values()
        else:
            for node_id in ids:
                node = stored.get(node_id)
                if node is not None:
                    yield node

    # -- edges --------------------------------------------------------------
    def _add_edge(self, source, target, key, data) -> None:
        self.graph.add_edge(source, target, key=key, **data)
        self._record(lambda: self.graph.remove_edge(source, target, key=key))

    def insert_events(self, events: Sequence[pb.Event]) -> None:
        for event in events:
            artifact = ("artifact", event.artifact_id)
            execution = ("execution", event.execution_id)
            self._event_seq += 1
            seq = self._event_seq
            self._record(lambda seq=seq: setattr(self, "_event_seq", seq - 1))
            if event.type in INPUT_EVENT_TYPES:
                source, target = artifact, execution
            else:
                source, target = execution, artifact
            self._add_edge(source, target, (_EVENT, seq), {"event": event, "seq": seq})

    def _events_of(self, node) -> Iterator[tuple[int, pb.Event]]:
        # The adjacency dicts directly: networkx's edge views cost more than the walk.
        succ, pred = self.graph._succ, self.graph._pred
        if node not in succ:
            return
        for adjacency in (succ[node], pred[node]):
            for edges in adjacency.values():
                for key, data in edges.items():
                    if key[0] == _EVENT:
                        yield key[1], data["event"]

    def get_events(
        self,
        *,
        artifact_ids: Iterable[int] | None = None,
        execution_ids: Iterable[int] | None = None,
    ) -> list[pb.Event]:
        found: dict[int, pb.Event] = {}
        for kind, ids in (("artifact", artifact_ids), ("execution", execution_ids)):
            for node_id in ids or ():
                found.update(self._events_of((kind, node_id)))
        return [found[seq] for seq in sorted(found)]

    def _insert_links(self, pairs, source_kind: Kind, target_kind: Kind, key: str) -> None:
        for source_id, target_id in pairs:
            self._add_edge((source_kind, source_id), (target_kind, target_id), key, {})

    def insert_attributions(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, "artifact", "context", _ATTRIBUTION)

    def insert_associations(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, "execution", "context", _ASSOCIATION)

    def insert_parent_contexts(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, "context", "context", _PARENT)

    def _linked(self, node, key: str, outgoing: bool) -> list[int]:
        adjacency = (self.graph._succ if outgoing else self.graph._pred).get(node)
        if not adjacency:
            return []
        return sorted(other[1] for other, edges in adjacency.items() if key in edges)

    def get_context_links(
        self, kind: Kind, *, node_ids: Iterable[int] | None = None,
        context_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        key = _ATTRIBUTION if kind == "artifact" else _ASSOCIATION
        pairs: set[tuple[int, int]] = set()
        for node_id in node_ids or ():
            pairs.update((node_id, c) for c in self._linked((kind, node_id), key, True))
        for context_id in context_ids or ():
            pairs.update((n, context_id) for n in self._linked(("context", context_id), key, False))
        return sorted(pairs)

    def get_parent_contexts(
        self, *, child_ids: Iterable[int] | None = None,
        parent_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        pairs: set[tuple[int, int]] = set()
        for child in child_ids or ():
            pairs.update((child, p) for p in self._linked(("context", child), _PARENT, True))
        for parent in parent_ids or ():
            pairs.update((c, parent) for c in self._linked(("context", parent), _PARENT, False))
        return sorted(pairs)

    # -- cache index ----------------------------------------------------------
    def set_fingerprints(self, execution_id: int, fingerprints: Sequence[str]) -> None:
        old = self._fingerprints.get(execution_id, ())
        self._swap_fingerprints(execution_id, old, tuple(fingerprints))
        self._record(lambda: self._swap_fingerprints(execution_id, tuple(fingerprints), old))

    def _swap_fingerprints(self, execution_id: int, old: tuple[str, ...], new: tuple[str, ...]) -> None:
        for fingerprint in old:
            self._by_fingerprint[fingerprint].discard(execution_id)
        for fingerprint in new:
            self._by_fingerprint[fingerprint].add(execution_id)
        self._fingerprints[execution_id] = new

    def executions_by_fingerprint(self, fingerprint: str) -> list[int]:
        return sorted(self._by_fingerprint.get(fingerprint, ()), reverse=True)

    # -- deletion -------------------------------------------------------------
    def delete_nodes(self, kind: Kind, ids: Sequence[int]) -> None:
        graph = self.graph
        for node_id in sorted(set(ids)):
            node = self._nodes[kind].get(node_id)
            if node is None:
                continue
            key = (kind, node_id)
            edges = [(s, t, k, dict(d)) for s, t, k, d in graph.out_edges(key, keys=True, data=True)]
            edges += [(s, t, k, dict(d)) for s, t, k, d in graph.in_edges(key, keys=True, data=True)
                      if s != key]
            for source, target, edge_key, _ in edges:
                graph.remove_edge(source, target, key=edge_key)
            self._remove_node(kind, node)

            def undo(kind=kind, node=node, key=key, edges=edges) -> None:
                self._nodes[kind][node.id] = node
                graph.add_node(key)
                self._index(kind, node, add=True)
                for source, target, edge_key, data in edges:
                    graph.add_edge(source, target, key=edge_key, **data)

            self._record(undo)
            if kind == "execution" and self._fingerprints.get(node_id):
                self.set_fingerprints(node_id, ())

    # -- neighbours for filter predicates -------------------------------------
    def neighbours(self, kind: Kind, node_id: int, relation: str) -> list:
        """Returns the protos related to a node, for filter-query joins."""
        node = (kind, node_id)
        if relation == "events":
            return [event for _, event in sorted(self._events_of(node), key=lambda p: p[0])]
        if relation == "contexts":
            key = _ATTRIBUTION if kind == "artifact" else _ASSOCIATION
            return self.get_nodes("context", self._linked(node, key, True))
        if relation == "parent_contexts":
            return self.get_nodes("context", self._linked(node, _PARENT, True))
        if relation == "child_contexts":
            return self.get_nodes("context", self._linked(node, _PARENT, False))
        if relation == "artifacts":
            return self.get_nodes("artifact", self._linked(node, _ATTRIBUTION, False))
        if relation == "executions":
            return self.get_nodes("execution", self._linked(node, _ASSOCIATION, False))
        raise ValueError(f"unknown relation {relation!r}")


_ID = operator.attrgetter("id")


def _compiled(expr, kind: Kind):
    if not qast.cacheable(expr):
        return compile_predicate(expr, kind)
    return _compiled_cached(expr, kind)


@functools.lru_cache(maxsize=256)
def _compiled_cached(expr, kind: Kind):
    return compile_predicate(expr, kind)


_ENOUGH_CANDIDATES = 256
_BROAD_ATTRIBUTES = frozenset({"type", "type_id"})


def _selectivity_rank(term) -> int:
    """Orders conjuncts for index narrowing: exact keys, then LIKE, then whole types."""
    if isinstance(term, qast.Like):
        return 1
    left = getattr(term, "left", None)
    if isinstance(left, qast.Attribute) and left.name in _BROAD_ATTRIBUTES:
        return 2
    return 0


def _like_literals(pattern: str) -> tuple[list[str], str]:
    """Splits a LIKE pattern into its literal runs and its literal prefix."""
    runs, current, prefix, at_start = [], [], None, True
    chars = iter(pattern)
    for char in chars:
        if char in "%_":
            runs.append("".join(current))
            if at_start:
                prefix, at_start = "".join(current), False
            current = []
            continue
        if char == "\\":
            char = next(chars, "")
        current.append(char)
    runs.append("".join(current))
    return runs, "".join(current) if prefix is None else prefix


def _after(nodes: list[Node], field: str, cursor: tuple[int, int], ascending: bool) -> list[Node]:
    """Drops the nodes at or before a keyset cursor in an already sorted list."""
    keys = [(getattr(n, field), n.id) for n in nodes]
    if ascending:
        return nodes[bisect.bisect_right(keys, cursor):]
    # Descending: keys decrease, so search on negated keys.
    negated = [(-a, -b) for a, b in keys]
    return nodes[bisect.bisect_right(negated, (-cursor[0], -cursor[1])):]


def open_backend(config: pb.ConnectionConfig, migration_options: pb.MigrationOptions) -> MemoryBackend:
    """Creates an empty in-memory store; the config carries no settings for it."""
    del config, migration_options
    return MemoryBackend()
