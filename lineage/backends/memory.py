"""The in-memory backend: the fake database, in plain containers of ids.

Nodes are kept serialized by kind and id; events by sequence number, with the
events of each artifact and execution listed beside them; attributions,
associations and parent links as ids both ways. Whatever is keyed by a node id
or an event number sits in a list slot per id (_IdMap), not a dict. Indexes on
types, names, uris, external ids, property values and times make lookups
never scan; an index key, or a link, holds one int or a sorted array of ids
(_Ids), never a set. Per node this costs a fraction of a graph library's
per-node and per-edge dicts, and the lineage walk needs nothing more.

Atomicity comes from an undo log: every mutation inside a transaction records
its inverse, replayed in reverse when the transaction fails.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from typing import Callable, Generic, Iterable, Iterator, Mapping, Sequence, TypeVar, Union

import bisect
import functools
import itertools
from array import array
import math
import operator

from lineage import errors
from lineage.traversal import INPUT_EVENT_TYPES
from lineage.backends.base import (
    KINDS, NODE_CLASSES, Kind, ListQuery, Node, NodeType, add_to_answer, statement_timeout,
)
from lineage.proto import metadata_store_pb2 as pb
from lineage.query import ast as qast
from lineage.query.python_compiler import compile_predicate, time_limit

__all__ = ["MemoryBackend", "INPUT_EVENT_TYPES", "open_backend"]


_ATTRIBUTION, _ASSOCIATION, _PARENT = "attribution", "association", "parent"


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
        self._lock = threading.RLock()
        self._undo: list[Callable[[], None]] | None = None
        self._depth = 0
        self._next_id = {"type": 1, **{kind: 1 for kind in KINDS}}
        self._event_seq = 0
        # Edges as plain ids: a node's links are one int or a short array, where
        # a graph library spends a dict per node and two per edge.
        # Events: sequence number -> serialized Event, and per artifact or
        # execution the sequence numbers of its events.
        # Everything keyed by a node id or event number is an _IdMap (a list
        # slot per id), not a dict: see there.
        self._events: _IdMap[bytes] = _IdMap()
        self._events_by: dict[Kind, _IdMap[list[int]]] = {"artifact": _IdMap(), "execution": _IdMap()}
        # Link kind -> (source id -> target ids, target id -> source ids); sources
        # are artifacts (attribution), executions (association) or child contexts.
        # Held as _Ids: most nodes are in one context, so most hold one int.
        self._links: dict[str, tuple[_IdMap[_Ids], _IdMap[_Ids]]] = {
            key: (_IdMap(), _IdMap()) for key in (_ATTRIBUTION, _ASSOCIATION, _PARENT)}
        self._types: dict[Kind, dict[int, NodeType]] = {kind: {} for kind in KINDS}
        self._type_by_name: dict[tuple[Kind, str, str], int] = {}
        self._parent_types: dict[Kind, dict[int, list[int]]] = {kind: {} for kind in KINDS}
        # Nodes are kept serialized: a few hundred bytes each instead of the
        # kilobytes of a live message; reads parse what they return.
        self._nodes: dict[Kind, _IdMap[bytes]] = {kind: _IdMap() for kind in KINDS}
        self._parse = {kind: NODE_CLASSES[kind].FromString for kind in KINDS}
        self._by_type: dict[Kind, dict[int, _Ids]] = {k: {} for k in KINDS}
        # Indexes whose keys mostly name one node hold that id itself, and an
        # array only once a second node shares the key (see _Ids): an empty
        # container alone costs more than the node's serialized record.
        self._by_name: dict[Kind, dict[str, _Ids]] = {k: {} for k in KINDS}
        self._by_uri: dict[str, _Ids] = {}
        self._by_external_id: dict[Kind, dict[str, int]] = {k: {} for k in KINDS}
        # (kind, is_custom, property name, value kind) -> value -> ids: one
        # property's values together, so a range or a != visits its holders only.
        self._by_property: dict[tuple, dict[object, _Ids]] = {}
        # The same key -> (value, id) pairs in order, built when a range asks
        # for them and dropped when a holder changes.
        self._sorted_values: dict[tuple, list[tuple]] = {}
        # (time, id) in order per kind and time field, as two parallel int
        # arrays (see _time_position): the newest or oldest nodes without a
        # sort, at 16 bytes a node where a list of (time, id) ints spends 48.
        self._by_time: dict[Kind, dict[str, tuple[array, array]]] = {
            k: {f: (array("q"), array("q")) for f in _TIME_FIELDS} for k in KINDS}
        # Fingerprints as their 32-byte digests, not 64-character hex strings.
        self._fingerprints: _IdMap[tuple[bytes | str, ...]] = _IdMap()
        self._by_fingerprint: dict[bytes | str, _Ids] = {}
        # Every change bumps the generation; a listing's sorted answer (its
        # nodes, or only their ids when the indexes answered it) is kept for
        # the pages that follow it while the generation stays the same, so
        # paging through N results costs N, not N^2 / page size.
        self._generation = 0
        self._listings: collections.OrderedDict[tuple, tuple[int, list]] = (
            collections.OrderedDict())

    # -- transactions -------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, write: bool = True, one_statement: bool = False) -> Iterator[None]:
        """Opens an all-or-nothing unit of work; nested calls join the outer one.

        Args:
            write: Accepted for the Backend protocol; readers and writers take
                the same lock here.
            one_statement: Accepted for the Backend protocol: a transaction
                costs no round trip here.
        """
        del write, one_statement
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
                    self._generation += 1
                    for step in reversed(undo or ()):
                        step()
                raise
            finally:
                self._depth -= 1
                if outermost:
                    self._undo = None

    def _record(self, step: Callable[[], None]) -> None:
        self._generation += 1
        if self._undo is not None:
            self._undo.append(step)

    def close(self) -> None:
        """Nothing to release: the data lives as long as the object."""

    def _allocate(self, counter: str) -> int:
        new_id = self._next_id[counter]
        self._next_id[counter] = new_id + 1
        self._record(lambda: self._next_id.__setitem__(counter, new_id))
        return new_id

    # -- bulk import ------------------------------------------------------------
    def commit_import_part(self) -> bool:
        """Keeps an Import in one transaction: this store holds a large one whole."""
        return False

    def empty_store(self, keep_type_ids: Iterable[int]) -> None:
        """Never needed: an Import here is one transaction, rolled back whole on failure."""
        raise errors.InternalError("this backend commits no part of an Import; there is nothing to undo")

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
    def _index_keys(self, kind: Kind, node: Node) -> list[tuple]:
        """The index entries of a node, each once, as (index, key...) tuples; see _index."""
        keys = [("type", node.type_id)]
        if node.HasField("name"):
            keys.append(("name", node.name))
        if kind == "artifact" and node.HasField("uri"):
            keys.append(("uri", node.uri))
        if node.HasField("external_id"):
            keys.append(("external_id", node.external_id))
        for is_custom, props in ((False, node.properties), (True, node.custom_properties)):
            for name, value in props.items():
                key = _value_key(value)
                if key is not None:
                    keys.append(("property", (kind, is_custom, name, key[0]), key[1]))
        for field in _TIME_FIELDS:
            keys.append(("time", field, getattr(node, field)))
        return keys

    def _index(self, kind: Kind, node_id: int, keys: Iterable[tuple], add: bool) -> None:
        """Adds a node's id to (or removes it from) the index entries ``keys``."""
        change = _add_id if add else _discard_id
        for entry in keys:
            index = entry[0]
            if index == "type":
                change(self._by_type[kind], entry[1], node_id)
            elif index == "name":
                change(self._by_name[kind], entry[1], node_id)
            elif index == "uri":
                change(self._by_uri, entry[1], node_id)
            elif index == "external_id":
                if add:
                    self._by_external_id[kind][entry[1]] = node_id
                else:
                    self._by_external_id[kind].pop(entry[1], None)
            elif index == "property":
                prefix = entry[1]
                values = self._by_property.get(prefix)
                if values is None:
                    values = self._by_property[prefix] = {}
                change(values, entry[2], node_id)
                if not values:
                    del self._by_property[prefix]
                self._sorted_values.pop(prefix, None)
            else:
                times, ids = self._by_time[kind][entry[1]]
                time = entry[2]
                if add:
                    if not times or (times[-1], ids[-1]) < (time, node_id):
                        times.append(time)  # the common case: a new node is the newest
                        ids.append(node_id)
                    else:
                        at = _time_position(times, ids, time, node_id)
                        times.insert(at, time)
                        ids.insert(at, node_id)
                else:
                    at = _time_position(times, ids, time, node_id)
                    if at < len(times) and times[at] == time and ids[at] == node_id:
                        del times[at]
                        del ids[at]

    def insert_nodes(self, kind: Kind, nodes: Sequence[Node]) -> list[int]:
        ids = []
        for node in nodes:
            node.id = self._allocate(kind)
            self._nodes[kind][node.id] = node.SerializeToString()
            self._index(kind, node.id, self._index_keys(kind, node), add=True)
            self._record(lambda node=node: self._remove_node(kind, node))
            ids.append(node.id)
        return ids

    def _remove_node(self, kind: Kind, node: Node) -> None:
        self._index(kind, node.id, self._index_keys(kind, node), add=False)
        del self._nodes[kind][node.id]

    def update_nodes(self, kind: Kind, nodes: Sequence[Node]) -> None:
        for node in nodes:
            old = self._parse[kind](self._nodes[kind][node.id])
            self._replace_node(kind, old, node)
            self._record(lambda old=old, node=node: self._replace_node(kind, node, old))

    def _replace_node(self, kind: Kind, old: Node, new: Node) -> None:
        # Only the entries that changed move: an id leaving and re-entering an
        # entry shared by many nodes (its type, say) would shift that array twice.
        old_keys, new_keys = set(self._index_keys(kind, old)), set(self._index_keys(kind, new))
        self._index(kind, old.id, old_keys - new_keys, add=False)
        self._nodes[kind][new.id] = new.SerializeToString()
        self._index(kind, new.id, new_keys - old_keys, add=True)

    def get_nodes(self, kind: Kind, ids: Iterable[int], into=None) -> list[Node]:
        return self._parsed(kind, sorted(set(ids)), into)

    def _parsed(self, kind: Kind, ids: Iterable[int], into=None) -> list[Node]:
        """The stored nodes among ``ids``, in their order, parsed into ``into`` when given."""
        found = self._nodes[kind].pick(ids)
        if into is None:
            parse = self._parse[kind]
            return [parse(data) for data in found]
        # Parsed straight into the answer: a node parsed apart and then copied
        # in costs three times as much (100,000 executions: 110 against 330 ms).
        add = into.add
        nodes = []
        for data in found:
            node = add()
            node.MergeFromString(data)
            nodes.append(node)
        return nodes

    def node_ids_by_name(self, kind: Kind, type_id: int, name: str) -> list[int]:
        return [node.id for node in self.find_nodes(kind, type_ids=[type_id], name=name)]

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
        candidates: set[int] | None = None

        def narrow(ids: Iterable[int]) -> None:
            nonlocal candidates
            candidates = set(ids) if candidates is None else candidates & set(ids)

        # Names, uris and external ids pick out a few nodes; a type may hold
        # most of them, so it only filters what those picked.
        if name is not None:
            narrow(_ids(self._by_name[kind].get(name)))
        if uri is not None:
            narrow(_ids(self._by_uri.get(uri)))
        if external_ids is not None:
            index = self._by_external_id[kind]
            narrow(index[e] for e in external_ids if e in index)
        if type_ids is not None:
            by_type = [self._by_type[kind].get(t) for t in type_ids]
            if candidates is None:
                narrow(i for ids in by_type for i in _id_list(ids))
            else:
                candidates = {i for i in candidates if any(_has_id(ids, i) for ids in by_type)}
        if candidates is None:
            candidates = set(self._nodes[kind])
        return self.get_nodes(kind, candidates, into)

    def candidate_ids(self, kind: Kind, attribute: str, value) -> set[int] | None:
        """Ids that may satisfy ``attribute = value``, from an index; None if unindexed.

        Used by the filter planner to avoid scanning every node.
        """
        if attribute == "id":
            return {value} if value in self._nodes[kind] else set()
        if attribute == "type_id":
            return _ids(self._by_type[kind].get(value))
        if attribute == "type":
            ids: set[int] = set()
            for type_ in self._types[kind].values():
                if type_.name == value:
                    ids |= _ids(self._by_type[kind].get(type_.id))
            return ids
        if attribute == "name":
            return _ids(self._by_name[kind].get(value))
        if attribute == "uri" and kind == "artifact":
            return _ids(self._by_uri.get(value))
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
                hits |= _ids(index[key])
        return hits

    def candidate_ids_by_property(
        self, kind: Kind, is_custom: bool, name: str, value_kind: str, value
    ) -> set[int]:
        """Ids whose (custom) property ``name`` holds exactly ``value``."""
        return _ids(self._by_property.get((kind, is_custom, name, value_kind), {}).get(value))

    def list_nodes(self, kind: Kind, query: ListQuery, into=None) -> list[Node]:
        ids = self._listed_ids(kind, query)
        if ids is not None:
            return self._parsed(kind, ids, into)
        return add_to_answer(into, self._listed(kind, query))

    def _listed_ids(self, kind: Kind, query: ListQuery) -> list[int] | None:
        """A page's ids in list order when the indexes alone answer it, else None.

        They do without a filter, and in id order for a filter they answer
        exactly; then only the page's nodes are parsed.
        """
        if query.filter is None and query.order_field in _TIME_FIELDS:
            return self._ids_by_time(kind, query)
        if query.order_field != "id":
            return None
        after = None if query.after is None else _id_bound(*query.after, query.ascending)
        if query.filter is None:
            return self._nodes[kind].page(after, query.ascending, query.limit)
        ordered = self._exact_ids(kind, query.filter, query.ascending, keep=query.limit is not None)
        if ordered is None:
            return None
        start = 0
        if after is not None:
            start = (bisect.bisect_right(ordered, after) if query.ascending
                     else bisect.bisect_right(ordered, -after, key=operator.neg))
        return ordered[start:None if query.limit is None else start + query.limit]

    def _exact_ids(self, kind: Kind, expr, ascending: bool, keep: bool) -> list[int] | None:
        """The ids of a filter's matches in id order, if the indexes answer it exactly, else None.

        With ``keep``, the ids are kept for the pages that follow while
        nothing changes.
        """
        key = (kind, expr, ascending)
        kept = self._kept_listing(key) if keep else None
        if kept is not None:
            return kept
        candidates, exact = self._plan(kind, expr)
        if not exact:
            return None
        ordered = sorted(candidates, reverse=not ascending)
        if keep:
            self._keep_listing(key, ordered)
        return ordered

    def _kept_listing(self, key: tuple) -> list | None:
        """A listing kept under ``key``, if nothing changed since it was kept."""
        kept = self._listings.get(key)
        if kept is None or kept[0] != self._generation:
            return None
        self._listings.move_to_end(key)
        return kept[1]

    def _keep_listing(self, key: tuple, listing: list) -> None:
        self._listings[key] = (self._generation, listing)
        if len(self._listings) > _KEPT_LISTINGS:
            self._listings.popitem(last=False)

    def _listed(self, kind: Kind, query: ListQuery) -> list[Node]:
        ordered = self._ordered(kind, query.filter, query.order_field, query.ascending,
                                keep=query.limit is not None)
        start = 0
        if query.after is not None:
            value, node_id = query.after
            field = query.order_field
            if query.ascending:
                start = bisect.bisect_right(ordered, (value, node_id),
                                            key=lambda n: (getattr(n, field), n.id))
            else:
                start = bisect.bisect_right(ordered, (-value, -node_id),
                                            key=lambda n: (-getattr(n, field), -n.id))
        end = None if query.limit is None else start + query.limit
        return ordered[start:end]

    def _ids_by_time(self, kind: Kind, query: ListQuery) -> list[int]:
        """The ids of a page of every node of a kind in time order, read off the time index."""
        times, ids = self._by_time[kind][query.order_field]
        cursor = query.after
        if query.ascending:
            start = 0 if cursor is None else _time_position(times, ids, *cursor, right=True)
            end = len(ids) if query.limit is None else min(len(ids), start + query.limit)
            picked = range(start, end)
        else:
            stop = len(ids) if cursor is None else _time_position(times, ids, *cursor)
            start = 0 if query.limit is None else max(0, stop - query.limit)
            picked = range(stop - 1, start - 1, -1)
        return [ids[i] for i in picked]

    def _ordered(self, kind: Kind, expr, field: str, ascending: bool, keep: bool) -> list[Node]:
        """Every match of a filter in list order.

        With ``keep``, the answer is kept for the pages that follow while
        nothing changes.
        """
        key = (kind, expr, field, ascending)
        # Only paged listings are kept, and hashing a filter tree is not free.
        kept = self._kept_listing(key) if keep else None
        if kept is not None:
            return kept
        if expr is None:
            # Nodes are held by id, in id order.
            matches = list(self.iter_nodes(kind))
        else:
            candidates, exact = self._plan(kind, expr)
            if exact:
                # The indexes answered every term exactly: parsing the nodes is all that is left.
                matches = list(self.iter_nodes(kind, sorted(candidates)))
            else:
                predicate = _compiled(expr, kind)
                with time_limit(self._timeout):
                    matches = [n for n in self.iter_nodes(kind, candidates) if predicate(n, self)]
                if candidates is not None:
                    matches.sort(key=_ID)
        if field == "id":
            if not ascending:
                matches.reverse()
        else:
            get = operator.attrgetter(field)
            matches.sort(key=lambda n: (get(n), n.id), reverse=not ascending)
        if keep:
            self._keep_listing(key, matches)
        return matches

    def _plan(self, kind: Kind, expr) -> tuple[list[int] | None, bool]:
        """Narrows a filter to candidate ids through the indexes.

        Returns:
            The candidate ids (None means every node), and whether they are
            exactly the filter's answer, so that no predicate need check them.
        """
        conjuncts = expr.items if isinstance(expr, qast.And) else (expr,)
        if len(conjuncts) == 1 and not _is_property_range(expr):
            # One term (a context's nodes, say): its lookup alone, without ranking.
            found = self._index_hit(kind, expr)
            if found is None:
                return None, False
            return list(found), _exact_conjuncts(kind, conjuncts)
        # Bounds on one property are read together off its sorted values.
        lookups = [(_RANGE_RANK, functools.partial(self._property_range, kind, prop, bounds))
                   for prop, bounds in _property_ranges(conjuncts).items()]
        lookups += [(_selectivity_rank(term), functools.partial(self._index_hit, kind, term))
                    for term in conjuncts if not _is_property_range(term)]
        # Selective lookups first; once few candidates remain the predicate is
        # cheaper than building another broad id set (a whole type, say).
        candidates: set[int] | None = None
        consulted = 0
        for _, lookup in sorted(lookups, key=operator.itemgetter(0)):
            if candidates is not None and len(candidates) <= _ENOUGH_CANDIDATES:
                break
            found = lookup()
            consulted += 1
            if found is not None:
                candidates = found if candidates is None else candidates & found
        if candidates is None:
            return None, False
        return list(candidates), consulted == len(conjuncts) and _exact_conjuncts(kind, conjuncts)

    def _index_hit(self, kind: Kind, term) -> set[int] | None:
        """Ids that may satisfy ``term`` (a superset), from the indexes; None if unindexed."""
        if isinstance(term, qast.And):
            found, _ = self._plan(kind, term)
            return None if found is None else set(found)
        if isinstance(term, qast.Or):
            hits: set[int] = set()
            for item in term.items:
                found = self._index_hit(kind, item)
                if found is None:
                    return None
                hits |= found
            return hits
        left = getattr(term, "left", None)
        if isinstance(left, qast.Attribute) and left.neighbour is not None:
            return self._neighbour_hit(kind, left, term)
        if isinstance(term, qast.Like) and isinstance(left, qast.Attribute):
            return self._like_hit(kind, left.name, term.pattern)
        if isinstance(term, qast.InList) and isinstance(left, (qast.Attribute, qast.Property)):
            hits = set()
            for value in term.values:
                found = self._index_hit(kind, qast.Comparison(left, "=", value))
                if found is None:
                    return None
                hits |= found
            return hits
        if not isinstance(term, qast.Comparison):
            return None
        value = term.value
        if isinstance(value, (qast.Attribute, qast.Property)):
            return None
        if isinstance(left, qast.Property):
            if term.op == "=":
                return self.candidate_ids_by_property(kind, left.is_custom, left.name, left.value_kind, value)
            if _is_property_range(term):
                return self._property_range(kind, left, _bounds(term.op, value, _NO_BOUNDS))
            # A comparison with NULL is never true: only holders of such a value can match.
            return self._holders((kind, left.is_custom, left.name, left.value_kind))
        if term.op == "=":
            return self.candidate_ids(kind, left.name, value)
        if left.name == "id" and term.op in (">", ">=", "<", "<=") and isinstance(value, int):
            return self._id_range(kind, term.op, value)
        return None

    def _holders(self, key: tuple) -> set[int]:
        """Ids holding any value of one (kind, is_custom, name, value kind)."""
        found: set[int] = set()
        for held in self._by_property.get(key, {}).values():
            if type(held) is int:
                found.add(held)
            else:
                found.update(held)
        return found

    def _property_range(self, kind: Kind, prop: qast.Property, bounds: tuple) -> set[int]:
        """Ids whose property value lies within ``(low, low_open, high, high_open)``."""
        key = (kind, prop.is_custom, prop.name, prop.value_kind)
        ordered = self._sorted_values.get(key)
        if ordered is None:
            ordered = []
            for value, held in self._by_property.get(key, {}).items():
                if value != value:
                    continue  # NaN matches no range and would break the order
                if type(held) is int:
                    ordered.append((value, held))
                else:
                    ordered.extend((value, i) for i in held)
            ordered.sort()
            self._sorted_values[key] = ordered
        low, low_open, high, high_open = bounds
        start = 0
        if low is not None:
            # (value, -inf) sorts before every id of that value, (value, inf) after.
            start = bisect.bisect_left(ordered, (low, math.inf if low_open else -math.inf))
        end = len(ordered)
        if high is not None:
            end = bisect.bisect_left(ordered, (high, -math.inf if high_open else math.inf))
        return {ordered[i][1] for i in range(start, end)}

    def _id_range(self, kind: Kind, op: str, value: int) -> set[int] | None:
        """Stored ids in a range, read off the id sequence when the range is the smaller side."""
        stored = self._nodes[kind]
        top = self._next_id[kind]
        low, high = (value + 1, top) if op == ">" else (value, top) if op == ">=" else (
            (1, value) if op == "<" else (1, value + 1))
        low, high = max(low, 1), min(high, top)
        if high - low > len(stored) // 2:
            return None  # most nodes match: the scan is as cheap
        return {i for i in range(low, high) if i in stored}

    def _neighbour_hit(self, kind: Kind, left: qast.Attribute, term) -> set[int] | None:
        """Ids linked to a neighbour that may satisfy ``term`` (on the neighbour's own field)."""
        relation = left.neighbour.relation
        if relation == "events":
            # events_x.execution_id = e on artifacts (artifact_id on executions): the
            # nodes on the other side of that node's events.
            other = "execution" if kind == "artifact" else "artifact"
            if (not isinstance(term, qast.Comparison) or term.op != "="
                    or left.name != f"{other}_id" or not isinstance(term.value, int)):
                return None
            return {e.artifact_id if kind == "artifact" else e.execution_id
                    for _, e in self._events_of((other, term.value))}
        link = _LINKS.get((kind, relation))
        if link is None:
            return None
        neighbour_kind, key, outgoing = link
        plain = qast.Attribute(left.name)
        if isinstance(term, qast.Comparison):
            inner = qast.Comparison(plain, term.op, term.value)
        elif isinstance(term, qast.InList):
            inner = qast.InList(plain, term.values)
        elif isinstance(term, qast.Like):
            inner = qast.Like(plain, term.pattern)
        else:
            return None
        neighbours = self._index_hit(neighbour_kind, inner)
        if neighbours is None:
            return None
        hits: set[int] = set()
        for neighbour_id in neighbours:
            hits.update(self._linked((neighbour_kind, neighbour_id), key, outgoing))
        return hits

    def iter_nodes(self, kind: Kind, ids: Iterable[int] | None = None) -> Iterator[Node]:
        """Yields stored nodes of a kind (all, or those among ``ids``) in no set order."""
        stored, parse = self._nodes[kind], self._parse[kind]
        if ids is None:
            for data in stored.values():
                yield parse(data)
        else:
            for node_id in ids:
                data = stored.get(node_id)
                if data is not None:
                    yield parse(data)

    # -- edges --------------------------------------------------------------
    def insert_events(self, events: Sequence[pb.Event]) -> None:
        for event in events:
            self._event_seq += 1
            seq = self._event_seq
            self._events[seq] = event.SerializeToString()
            touched = ((self._events_by["artifact"], event.artifact_id),
                       (self._events_by["execution"], event.execution_id))
            for index, node_id in touched:
                index.setdefault(node_id, []).append(seq)

            def undo(seq=seq, touched=touched) -> None:
                del self._events[seq]
                for index, node_id in touched:
                    seqs = index[node_id]
                    seqs.remove(seq)
                    if not seqs:
                        del index[node_id]
                self._event_seq = seq - 1

            self._record(undo)

    def _events_of(self, node) -> Iterator[tuple[int, pb.Event]]:
        kind, node_id = node
        events = self._events
        for seq in self._events_by[kind].get(node_id, ()):
            yield seq, _parse_event(events[seq])

    def get_events(
        self,
        *,
        artifact_ids: Iterable[int] | None = None,
        execution_ids: Iterable[int] | None = None,
        into=None,
    ) -> list[pb.Event]:
        seqs: set[int] = set()
        for kind, ids in (("artifact", artifact_ids), ("execution", execution_ids)):
            index = self._events_by[kind]
            for node_id in ids or ():
                seqs.update(index.get(node_id, ()))
        return add_to_answer(into, [_parse_event(data) for data in self._events.pick(sorted(seqs))])

    def _insert_links(self, pairs, key: str) -> None:
        forward, backward = self._links[key]
        for source_id, target_id in pairs:
            if _has_id(forward.get(source_id), target_id):
                continue  # a link is stored once
            _add_id(forward, source_id, target_id)
            _add_id(backward, target_id, source_id)

            def undo(source_id=source_id, target_id=target_id) -> None:
                _discard_id(forward, source_id, target_id)
                _discard_id(backward, target_id, source_id)

            self._record(undo)

    def insert_attributions(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, _ATTRIBUTION)

    def insert_associations(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, _ASSOCIATION)

    def insert_parent_contexts(self, pairs: Sequence[tuple[int, int]]) -> None:
        self._insert_links(pairs, _PARENT)

    def _linked(self, node, key: str, outgoing: bool) -> list[int]:
        """Ids linked to ``node`` by ``key`` links: those it points to, or those pointing to it."""
        forward, backward = self._links[key]
        return _id_list((forward if outgoing else backward).get(node[1]))

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
    def set_fingerprints(self, fingerprints: Mapping[int, Sequence[str]]) -> None:
        for execution_id, keys in fingerprints.items():
            old = self._fingerprints.get(execution_id, ())
            new = tuple(_digest(f) for f in keys)
            self._swap_fingerprints(execution_id, old, new)
            self._record(lambda execution_id=execution_id, old=old, new=new:
                         self._swap_fingerprints(execution_id, new, old))

    def _swap_fingerprints(self, execution_id: int, old: tuple, new: tuple) -> None:
        for fingerprint in old:
            _discard_id(self._by_fingerprint, fingerprint, execution_id)
        for fingerprint in new:
            _add_id(self._by_fingerprint, fingerprint, execution_id)
        if new:
            self._fingerprints[execution_id] = new
        else:
            self._fingerprints.pop(execution_id, None)

    def executions_by_fingerprint(self, fingerprint: str) -> list[int]:
        return sorted(_ids(self._by_fingerprint.get(_digest(fingerprint))), reverse=True)

    # -- deletion -------------------------------------------------------------
    def delete_nodes(self, kind: Kind, ids: Sequence[int]) -> None:
        stored, parse = self._nodes[kind], self._parse[kind]
        for node_id in sorted(set(ids)):
            data = stored.get(node_id)
            if data is None:
                continue
            node = parse(data)
            if kind in self._events_by:
                self._delete_events(kind, node_id)
            for key, outgoing in _LINKS_OF[kind]:
                self._delete_links(key, node_id, outgoing)
            if kind == "execution" and self._fingerprints.get(node_id):
                self.set_fingerprints({node_id: ()})
            self._remove_node(kind, node)
            self._record(lambda node=node: self._restore_node(kind, node))

    def _restore_node(self, kind: Kind, node: Node) -> None:
        self._nodes[kind][node.id] = node.SerializeToString()
        self._index(kind, node.id, self._index_keys(kind, node), add=True)

    def _delete_events(self, kind: Kind, node_id: int) -> None:
        """Drops every event of a node, from both of its ends' lists."""
        other_kind = "execution" if kind == "artifact" else "artifact"
        own, other = self._events_by[kind], self._events_by[other_kind]
        seqs = own.pop(node_id, None)
        if not seqs:
            return
        removed = []
        for seq in seqs:
            data = self._events.pop(seq)
            event = _parse_event(data)
            other_id = event.execution_id if kind == "artifact" else event.artifact_id
            linked = other[other_id]
            linked.remove(seq)
            if not linked:
                del other[other_id]
            removed.append((seq, data, other_id))

        def undo() -> None:
            own[node_id] = seqs
            for seq, data, other_id in removed:
                self._events[seq] = data
                bisect.insort(other.setdefault(other_id, []), seq)

        self._record(undo)

    def _delete_links(self, key: str, node_id: int, outgoing: bool) -> None:
        """Drops a node's ``key`` links: those it points along, or those pointing to it."""
        forward, backward = self._links[key]
        own, other = (forward, backward) if outgoing else (backward, forward)
        linked = own.pop(node_id, None)
        if linked is None:
            return
        for other_id in _id_list(linked):
            _discard_id(other, other_id, node_id)

        def undo() -> None:
            own[node_id] = linked
            for other_id in _id_list(linked):
                _add_id(other, other_id, node_id)

        self._record(undo)

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

#: The links that touch a node of each kind: (link kind, whether the node is their source).
_LINKS_OF = {
    "artifact": ((_ATTRIBUTION, True),),
    "execution": ((_ASSOCIATION, True),),
    "context": ((_ATTRIBUTION, False), (_ASSOCIATION, False), (_PARENT, True), (_PARENT, False)),
}


def _time_position(times: array, ids: array, time: int, node_id: int, right: bool = False) -> int:
    """Where (time, node_id) goes in the (time, id) order of two parallel arrays.

    The position ``bisect_left`` (with ``right``, ``bisect_right``) would give
    for (time, node_id) in one list of the pairs.
    """
    low = bisect.bisect_left(times, time)
    high = bisect.bisect_right(times, time, low)
    return (bisect.bisect_right if right else bisect.bisect_left)(ids, node_id, low, high)


def _id_bound(value: int, node_id: int, ascending: bool) -> int:
    """The id a listing in id order continues after, for a cursor ``(value, node_id)``.

    A node follows the cursor when ``(id, id)`` does in the listing's order;
    a cursor whose value and id differ still means exactly that.
    """
    if ascending:
        return value if node_id >= value else value - 1
    return value if node_id <= value else value + 1


_V = TypeVar("_V")


class _IdMap(Generic[_V]):
    """A mapping from ids to values in a list with a slot per id.

    Ids are allocated one after another from 1, so nearly every slot is used:
    a slot costs 8 bytes where a dict entry with its int key object costs 70
    to 80, for every node, event and link list of the store. An empty slot
    holds None, which is therefore never a value. Only what the backend uses
    of a dict's interface is here.
    """

    __slots__ = ("_slots", "_len")

    def __init__(self) -> None:
        self._slots: list = []
        self._len = 0

    def get(self, key: int, default=None):
        slots = self._slots
        if 0 <= key < len(slots):
            value = slots[key]
            if value is not None:
                return value
        return default

    def pick(self, keys: Iterable[int]) -> list[_V]:
        """The values of those ``keys`` that are held, in the order of ``keys``."""
        slots = self._slots
        size = len(slots)
        return [value for key in keys if 0 <= key < size and (value := slots[key]) is not None]

    def __contains__(self, key: int) -> bool:
        return self.get(key) is not None

    def __getitem__(self, key: int) -> _V:
        slots = self._slots
        if 0 <= key < len(slots):
            value = slots[key]
            if value is not None:
                return value
        raise KeyError(key)

    def __setitem__(self, key: int, value: _V) -> None:
        slots = self._slots
        if key == len(slots):  # the common case: the newest id
            slots.append(value)
            self._len += 1
            return
        if key > len(slots):
            slots.extend([None] * (key + 1 - len(slots)))
        elif key < 0:
            raise KeyError(key)
        if slots[key] is None:
            self._len += 1
        slots[key] = value

    def __delitem__(self, key: int) -> None:
        self[key]  # noqa: B018 - raises KeyError for an id not held
        self._slots[key] = None
        self._len -= 1

    def pop(self, key: int, *default):
        value = self.get(key)
        if value is None:
            if default:
                return default[0]
            raise KeyError(key)
        self._slots[key] = None
        self._len -= 1
        return value

    def setdefault(self, key: int, default: _V) -> _V:
        slots = self._slots
        if 0 <= key < len(slots):
            value = slots[key]
            if value is not None:
                return value
        self[key] = default
        return default

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[int]:
        """The held ids, in increasing order."""
        slots = self._slots
        return itertools.compress(range(len(slots)), map(_IS_HELD, slots))

    def page(self, after: int | None, ascending: bool, limit: int | None) -> list[int]:
        """Up to ``limit`` held ids after ``after`` (exclusive) in the given direction.

        Only the slots of the page are visited, so paging through every id
        costs as much as listing them once.
        """
        slots = self._slots
        if ascending:
            keys = range(0 if after is None else after + 1, len(slots))
        else:
            keys = range(len(slots) - 1 if after is None else min(after, len(slots)) - 1, -1, -1)
        held = itertools.compress(keys, map(_IS_HELD, map(slots.__getitem__, keys)))
        return list(itertools.islice(held, limit))

    def values(self) -> Iterator[_V]:
        """The values, in increasing order of their ids."""
        # filter and a partial run in C: a whole kind is read at the speed of a dict's values.
        return filter(_IS_HELD, self._slots)


#: Whether a slot of an _IdMap holds a value.
_IS_HELD = functools.partial(operator.is_not, None)


#: One id, or a sorted array of two or more. A set spends 30 to 60 bytes per
#: id and each id is a 32-byte int object besides; a packed array spends 8,
#: holds no objects the cyclic collector must visit, and keeps the
#: id order that answers are sorted in. New ids are the largest, so adding
#: is an append; an update or a delete moves the tail of one array (memmove).
_Ids = Union[int, array]


def _add_id(index: dict, key, node_id: int) -> None:
    """Adds ``node_id`` to the ids ``index`` holds under ``key``; an id is held once."""
    held = index.get(key)
    if held is None:
        index[key] = node_id
    elif type(held) is int:
        if held != node_id:
            index[key] = array("q", (held, node_id) if held < node_id else (node_id, held))
    elif held[-1] < node_id:
        held.append(node_id)
    else:
        at = bisect.bisect_left(held, node_id)
        if held[at] != node_id:
            held.insert(at, node_id)


def _discard_id(index: dict, key, node_id: int) -> None:
    """Removes ``node_id`` from the ids ``index`` holds under ``key``, if there."""
    held = index.get(key)
    if held is None:
        return
    if type(held) is int:
        if held == node_id:
            del index[key]
        return
    at = bisect.bisect_left(held, node_id)
    if at < len(held) and held[at] == node_id:
        del held[at]
        if len(held) == 1:
            index[key] = held[0]


def _has_id(held: _Ids | None, node_id: int) -> bool:
    """Whether an index entry holds ``node_id``."""
    if held is None:
        return False
    if type(held) is int:
        return held == node_id
    at = bisect.bisect_left(held, node_id)
    return at < len(held) and held[at] == node_id


def _ids(held: _Ids | None) -> set[int]:
    """The ids an index entry holds, as a new set."""
    if held is None:
        return set()
    return {held} if type(held) is int else set(held)


def _id_list(held: _Ids | None) -> list[int]:
    """The ids an index entry holds, in increasing order."""
    if held is None:
        return []
    return [held] if type(held) is int else held.tolist()


def _digest(fingerprint: str) -> bytes | str:
    """A hex SHA-256 fingerprint as its 32 bytes; any other text as itself."""
    if len(fingerprint) == 64:
        try:
            return bytes.fromhex(fingerprint)
        except ValueError:
            pass
    return fingerprint
_parse_event = pb.Event.FromString

#: (node kind, relation) -> (neighbour kind, edge key, whether the node is reached
#: from the neighbour along the edge's direction).
_LINKS = {
    ("artifact", "contexts"): ("context", _ATTRIBUTION, False),
    ("execution", "contexts"): ("context", _ASSOCIATION, False),
    ("context", "parent_contexts"): ("context", _PARENT, False),
    ("context", "child_contexts"): ("context", _PARENT, True),
    ("context", "artifacts"): ("artifact", _ATTRIBUTION, True),
    ("context", "executions"): ("execution", _ASSOCIATION, True),
}
#: Listings whose sorted answers are kept for their next pages.
_KEPT_LISTINGS = 4
_TIME_FIELDS = ("create_time_since_epoch", "last_update_time_since_epoch")


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


#: Attributes whose equality with a literal of this type the indexes answer
#: exactly (see candidate_ids); "uri" only on artifacts.
_EXACT_KEYS = {"id": int, "type_id": int, "type": str, "name": str, "uri": str, "external_id": str}


def _exact_conjuncts(kind: Kind, conjuncts) -> bool:
    """Whether the index lookups of ``conjuncts`` give exactly the nodes matching all of them.

    Each conjunct must be ``attribute = literal`` on an exactly indexed
    attribute, of the node or of a linked node (never events). Two conjuncts on
    one joined alias may be met by different neighbours, so each alias may
    appear once.
    """
    aliases = set()
    for term in conjuncts:
        if not isinstance(term, qast.Comparison) or term.op != "=":
            return False
        left, value = term.left, term.value
        if not isinstance(left, qast.Attribute):
            return False
        target = kind
        if left.neighbour is not None:
            link = _LINKS.get((kind, left.neighbour.relation))
            if link is None or left.neighbour in aliases:
                return False
            aliases.add(left.neighbour)
            target = link[0]
        expected = _EXACT_KEYS.get(left.name)
        if (expected is None or type(value) is not expected
                or (left.name == "uri" and target != "artifact")):
            return False
    return True


_RANGE_OPS = frozenset({"<", "<=", ">", ">="})
#: Ranges come after exact keys and LIKE, before whole types.
_RANGE_RANK = 1.5
_NO_BOUNDS = (None, False, None, False)


def _is_property_range(term) -> bool:
    """Whether ``term`` bounds a number or string property by a literal of its own sort."""
    if not (isinstance(term, qast.Comparison) and isinstance(term.left, qast.Property)
            and term.op in _RANGE_OPS):
        return False
    value, value_kind = term.value, term.left.value_kind
    if value_kind == "string_value":
        return isinstance(value, str)
    return value_kind in ("int_value", "double_value") and isinstance(value, (int, float)) \
        and not isinstance(value, bool)


def _property_ranges(conjuncts) -> dict:
    """The bounds the conjuncts set on each property: {property: (low, low_open, high, high_open)}."""
    ranges: dict = {}
    for term in conjuncts:
        if _is_property_range(term):
            ranges[term.left] = _bounds(term.op, term.value, ranges.get(term.left, _NO_BOUNDS))
    return ranges


def _bounds(op: str, value, bounds: tuple) -> tuple:
    """Narrows ``(low, low_open, high, high_open)`` by ``<op> value``."""
    low, low_open, high, high_open = bounds
    if op in (">", ">="):
        is_open = op == ">"
        if low is None or value > low or (value == low and is_open):
            low, low_open = value, is_open
    else:
        is_open = op == "<"
        if high is None or value < high or (value == high and is_open):
            high, high_open = value, is_open
    return low, low_open, high, high_open


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


def open_backend(config: pb.ConnectionConfig, migration_options: pb.MigrationOptions) -> MemoryBackend:
    """Creates an empty in-memory store; the config carries no settings for it."""
    del config, migration_options
    return MemoryBackend()
