"""Compiles a filter_query tree into a Python predicate over stored protos.

The predicate takes the stored node (``metadata_store_pb2.Artifact``,
``Execution`` or ``Context``, whose ``type`` holds the type name) and a
``NeighbourSource`` that yields the records joined by aliases. It implements
the semantics every backend shares (see ``lineage.query.ast``):

* SQL three-valued logic. Reading an unset field, a missing property, or a
  property holding another kind of value gives NULL; a comparison, IN or LIKE
  on NULL is UNKNOWN (None); AND, OR and NOT are Kleene's; the node matches
  only if the whole expression is TRUE. IS NULL is TRUE for NULL, never
  UNKNOWN. Unset optional attributes (name, uri, external_id, state...) are
  NULL, not "" or 0.
* Aliases are inner joins. Each distinct alias (``contexts_a``) is one
  neighbour record, the same record wherever the alias appears; the node
  matches if SOME assignment of records to its aliases makes the expression
  TRUE, and never if an alias has no record at all.
* LIKE is SQL's: ``%`` any run, ``_`` one character, backslash escapes the
  next character; case-sensitive, anchored at both ends. String ``=`` and
  ordering are case-sensitive, by code point.

Everything is resolved when compiling: each node becomes a closure with its
field reader and literal bound in, so evaluating a node never walks the tree.
Top-level conjuncts are split by the aliases they read: those reading none run
first and can reject a node before any neighbour is fetched; those reading one
alias prune that alias's candidates; only conjuncts reading several aliases
run over combinations.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import operator
import time
from typing import Any, Callable, Iterable, Optional, Protocol, Sequence

from lineage.backends.base import deadline_error
from lineage.errors import InternalError, InvalidArgumentError
from lineage.query import ast, like

__all__ = ["NeighbourSource", "Predicate", "compile_predicate", "time_limit"]

Message = Any  # a metadata_store_pb2 Artifact, Execution, Context or Event
Row = Sequence[Optional[Message]]
_Eval = Callable[[Message, Row], Optional[bool]]
_Getter = Callable[[Message, Row], Any]


class NeighbourSource(Protocol):
    """Yields the records a node is joined to."""

    def neighbours(self, node_kind: str, node_id: int, relation: str) -> Iterable[Message]:
        """Returns the records related to one node.

        Args:
            node_kind: "artifact", "execution" or "context".
            node_id: The node's id.
            relation: One of ``lineage.query.ast.RELATIONS[node_kind]``:
                "contexts" (attributed or associated contexts), "events"
                (Event protos touching the node), "parent_contexts",
                "child_contexts", "artifacts" (attributed), "executions"
                (associated).

        Returns:
            Context, Artifact or Execution protos (Event protos for "events"),
            each with ``type`` holding its type name.
        """
        ...


Predicate = Callable[[Message, Optional[NeighbourSource]], bool]

_OPS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NO_ROW: Row = ()


_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "lineage_filter_deadline", default=None)


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Bounds the predicates evaluated inside the block to ``seconds`` in all.

    Past the limit a predicate raises ``DeadlineExceededError``; None sets no limit.
    """
    token = _deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def compile_predicate(expr: ast.Expr, node_kind: str) -> Predicate:
    """Compiles a parsed filter into ``predicate(message, source) -> bool``.

    Compiled predicates are cached per (expr, node_kind) and are safe to call
    from several threads.

    Args:
        expr: A tree from ``lineage.query.parse_filter(query, node_kind)``.
        node_kind: "artifact", "execution" or "context".

    Returns:
        A function of the stored node proto and a ``NeighbourSource`` that is
        True when the node matches. The source is consulted only for queries
        that use aliases, and may be None otherwise.

    Raises:
        InvalidArgumentError: ``node_kind`` is not a node kind.
    """
    if node_kind not in ast.NODE_KINDS:
        raise InvalidArgumentError(
            f"node_kind must be one of {', '.join(ast.NODE_KINDS)}; got {node_kind!r}")
    if not ast.cacheable(expr):
        return _compile_predicate.__wrapped__(expr, node_kind)
    return _compile_predicate(expr, node_kind)


@functools.lru_cache(maxsize=1024)
def _compile_predicate(expr: ast.Expr, node_kind: str) -> Predicate:
    used = ast.neighbours(expr)
    slots = {n: i for i, n in enumerate(used)}
    conjuncts = expr.items if isinstance(expr, ast.And) else (expr,)
    base: list[_Eval] = []
    per_slot: list[list[_Eval]] = [[] for _ in used]
    cross: list[_Eval] = []
    for item in conjuncts:
        reads = {slots[n] for n in ast.neighbours(item)}
        fn = _compile(item, slots)
        if not reads:
            base.append(fn)
        elif len(reads) == 1:
            per_slot[reads.pop()].append(fn)
        else:
            cross.append(fn)

    if not used:
        if len(base) == 1:
            only = base[0]

            def predicate(message: Message, source: Optional[NeighbourSource] = None) -> bool:
                return only(message, _NO_ROW) is True
        else:
            checks = tuple(base)

            def predicate(message: Message, source: Optional[NeighbourSource] = None) -> bool:
                for check in checks:
                    if check(message, _NO_ROW) is not True:
                        return False
                return True
        return predicate

    return _joined_predicate(node_kind, tuple(n.relation for n in used), tuple(base),
                             tuple(tuple(fs) for fs in per_slot), tuple(cross))


def _joined_predicate(node_kind: str, relations: tuple[str, ...], base: tuple[_Eval, ...],
                      per_slot: tuple[tuple[_Eval, ...], ...], cross: tuple[_Eval, ...]
                      ) -> Predicate:
    width = len(relations)

    def predicate(message: Message, source: Optional[NeighbourSource] = None) -> bool:
        for check in base:
            if check(message, _NO_ROW) is not True:
                return False
        if source is None:
            raise InternalError("this filter_query joins neighbours; evaluating it needs a "
                                "NeighbourSource")
        fetched: dict[str, list[Message]] = {}
        candidates: list[list[Message]] = []
        row: list[Optional[Message]] = [None] * width
        for slot, relation in enumerate(relations):
            records = fetched.get(relation)
            if records is None:
                records = fetched[relation] = list(
                    source.neighbours(node_kind, message.id, relation))
            checks = per_slot[slot]
            if checks and records:
                kept = []
                for record in records:
                    row[slot] = record
                    for check in checks:
                        if check(message, row) is not True:
                            break
                    else:
                        kept.append(record)
                row[slot] = None
                records = kept
            if not records:
                return False
            candidates.append(records)
        if not cross:
            return True
        deadline = _deadline.get()
        for count, combination in enumerate(itertools.product(*candidates)):
            # Combinations multiply with the aliases: look at the clock now and then.
            if deadline is not None and not count & 1023 and time.monotonic() > deadline:
                raise deadline_error("the in-memory store")
            for check in cross:
                if check(message, combination) is not True:
                    break
            else:
                return True
        return False

    return predicate


# --- expressions --------------------------------------------------------------


def _compile(expr: ast.Expr, slots: dict[ast.Neighbour, int]) -> _Eval:
    if isinstance(expr, ast.Comparison):
        return _comparison(expr, slots)
    if isinstance(expr, ast.InList):
        get = _getter(expr.left, slots)
        values = frozenset(expr.values)

        def in_list(m: Message, row: Row) -> Optional[bool]:
            x = get(m, row)
            return None if x is None else x in values
        return in_list
    if isinstance(expr, ast.Like):
        get = _getter(expr.left, slots)
        match = like.matcher(expr.pattern)

        def like_(m: Message, row: Row) -> Optional[bool]:
            x = get(m, row)
            return None if x is None else match(x)
        return like_
    if isinstance(expr, ast.IsNull):
        get = _getter(expr.left, slots)
        if expr.negated:
            return lambda m, row: get(m, row) is not None
        return lambda m, row: get(m, row) is None
    if isinstance(expr, ast.HasProperty):
        name = expr.name
        if expr.is_custom:
            return lambda m, row: name in m.custom_properties
        return lambda m, row: name in m.properties
    if isinstance(expr, ast.Constant):
        value = expr.value
        return lambda m, row: value
    if isinstance(expr, ast.Not):
        inner = _compile(expr.item, slots)

        def negation(m: Message, row: Row) -> Optional[bool]:
            r = inner(m, row)
            return None if r is None else not r
        return negation
    if isinstance(expr, ast.And):
        items = tuple(_compile(i, slots) for i in expr.items)

        def conjunction(m: Message, row: Row) -> Optional[bool]:
            unknown = False
            for item in items:
                r = item(m, row)
                if r is False:
                    return False
                if r is None:
                    unknown = True
            return None if unknown else True
        return conjunction
    if isinstance(expr, ast.Or):
        items = tuple(_compile(i, slots) for i in expr.items)

        def disjunction(m: Message, row: Row) -> Optional[bool]:
            unknown = False
            for item in items:
                r = item(m, row)
                if r is True:
                    return True
                if r is None:
                    unknown = True
            return None if unknown else False
        return disjunction
    raise TypeError(f"not a filter expression: {expr!r}")


def _comparison(expr: ast.Comparison, slots: dict[ast.Neighbour, int]) -> _Eval:
    get = _getter(expr.left, slots)
    value = expr.value
    if isinstance(value, (ast.Attribute, ast.Property)):
        other = _getter(value, slots)
        op = _OPS[expr.op]

        def between_fields(m: Message, row: Row) -> Optional[bool]:
            x = get(m, row)
            if x is None:
                return None
            y = other(m, row)
            return None if y is None else op(x, y)
        return between_fields
    if expr.op == "=":
        def equal(m: Message, row: Row) -> Optional[bool]:
            x = get(m, row)
            return None if x is None else x == value
        return equal
    op = _OPS[expr.op]

    def compare(m: Message, row: Row) -> Optional[bool]:
        x = get(m, row)
        return None if x is None else op(x, value)
    return compare


def _getter(field: ast.Field, slots: dict[ast.Neighbour, int]) -> _Getter:
    """Returns ``get(message, row)``: the field's value, or None for NULL."""
    if isinstance(field, ast.Property):
        name = field.name
        kind = field.value_kind

        if field.is_custom:
            def custom_property(m: Message, row: Row) -> Any:
                props = m.custom_properties
                if name in props:
                    v = props[name]
                    if v.HasField(kind):
                        return getattr(v, kind)
                return None
            return custom_property

        def property_(m: Message, row: Row) -> Any:
            props = m.properties
            if name in props:
                v = props[name]
                if v.HasField(kind):
                    return getattr(v, kind)
            return None
        return property_

    name = field.name
    if field.neighbour is None:
        def attribute(m: Message, row: Row) -> Any:
            return getattr(m, name) if m.HasField(name) else None
        return attribute

    slot = slots[field.neighbour]

    def neighbour_attribute(m: Message, row: Row) -> Any:
        n = row[slot]
        return getattr(n, name) if n.HasField(name) else None
    return neighbour_attribute
