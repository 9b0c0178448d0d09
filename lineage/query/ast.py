"""The filter_query syntax tree and the schema it is checked against.

Every node is a frozen, hashable dataclass, so a parsed query can key a cache
and be shared between threads. The parser resolves names, enum values and
types before it builds a tree; a compiler never has to validate anything.

Semantics shared by every compiler:

* Three-valued logic. A comparison whose field is NULL (an unset field, a
  missing property, a property holding another kind of value) is UNKNOWN;
  ``And``/``Or``/``Not`` follow Kleene's rules; a node matches only when the
  whole expression is TRUE.
* ``IsNull`` is never UNKNOWN: it is TRUE for an unset field, a missing
  property, or a property whose value is of another kind.
* ``HasProperty`` is TRUE when the node carries a property (or custom
  property) of that name, whatever its value kind.
* A ``Neighbour`` is a join: each distinct neighbour stands for one related
  record, every mention of it means the same record, and a node matches when
  SOME choice of records for its neighbours makes the expression TRUE. A node
  with no record for a neighbour used by the expression does not match.
* ``Like`` follows SQL LIKE: ``%`` matches any run of characters, ``_`` one
  character, a backslash makes the next character literal; the match is
  case-sensitive and covers the whole string.
* String ``=`` and ordering compare code points, case-sensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence, Union

__all__ = [
    "NODE_KINDS", "RELATIONS", "NEIGHBOUR_KINDS", "VALUE_KINDS", "COMPARISON_OPS",
    "NODE_ATTRIBUTES", "attribute_type", "neighbour_attributes",
    "Neighbour", "Attribute", "Property", "Field", "Value", "Expr",
    "Comparison", "InList", "Like", "IsNull", "HasProperty", "Constant",
    "And", "Or", "Not", "walk", "fields", "neighbours", "aliases", "linked_groups", "merge_equalities", "cacheable",
]

NODE_KINDS = ("artifact", "execution", "context")

# The joins each node kind may use, in the spelling of the query prefix.
RELATIONS: dict[str, tuple[str, ...]] = {
    "artifact": ("contexts", "events"),
    "execution": ("contexts", "events"),
    "context": ("parent_contexts", "child_contexts", "artifacts", "executions"),
}

# The kind of record a relation yields: a node kind or "event".
NEIGHBOUR_KINDS: dict[str, str] = {
    "contexts": "context",
    "parent_contexts": "context",
    "child_contexts": "context",
    "artifacts": "artifact",
    "executions": "execution",
    "events": "event",
}

# Property value kinds, named as the fields of the Value proto.
VALUE_KINDS = ("int_value", "double_value", "string_value", "bool_value")

COMPARISON_OPS = ("=", "!=", "<", "<=", ">", ">=")

# Field types: "int", "double", "string", "bool", and "enum" (stored as the
# enum's proto number, compared as an int).
_COMMON = {
    "id": "int",
    "type_id": "int",
    "type": "string",
    "name": "string",
    "external_id": "string",
    "create_time_since_epoch": "int",
    "last_update_time_since_epoch": "int",
}

NODE_ATTRIBUTES: dict[str, dict[str, str]] = {
    "artifact": {**_COMMON, "uri": "string", "state": "enum"},
    "execution": {**_COMMON, "last_known_state": "enum"},
    "context": dict(_COMMON),
}

# What a joined record exposes; narrower than the node itself (no type_id).
_NEIGHBOUR_CONTEXT = {
    "id": "int",
    "name": "string",
    "type": "string",
    "create_time_since_epoch": "int",
    "last_update_time_since_epoch": "int",
}
_NEIGHBOUR_ATTRIBUTES: dict[str, dict[str, str]] = {
    "contexts": _NEIGHBOUR_CONTEXT,
    "parent_contexts": _NEIGHBOUR_CONTEXT,
    "child_contexts": _NEIGHBOUR_CONTEXT,
    "artifacts": {**_NEIGHBOUR_CONTEXT, "state": "enum", "uri": "string", "external_id": "string"},
    "executions": {**_NEIGHBOUR_CONTEXT, "last_known_state": "enum", "external_id": "string"},
}
# An event exposes the id of the node at its other end only.
_EVENT_ATTRIBUTES = {
    "artifact": {"type": "enum", "milliseconds_since_epoch": "int", "execution_id": "int"},
    "execution": {"type": "enum", "milliseconds_since_epoch": "int", "artifact_id": "int"},
}


def neighbour_attributes(node_kind: str, relation: str) -> dict[str, str]:
    """Returns the attributes (name -> type) a joined record exposes.

    Args:
        node_kind: "artifact", "execution" or "context": the node filtered.
        relation: One of ``RELATIONS[node_kind]``.

    Returns:
        The attribute names a query may use after ``<relation>_<alias>.``.
    """
    if relation == "events":
        return _EVENT_ATTRIBUTES[node_kind]
    return _NEIGHBOUR_ATTRIBUTES[relation]


def attribute_type(node_kind: str, attribute: Attribute) -> str:
    """Returns the type of an attribute: "int", "double", "string", "bool" or "enum".

    Args:
        node_kind: The kind of node filtered.
        attribute: An attribute from a tree parsed for ``node_kind``.
    """
    if attribute.neighbour is None:
        return NODE_ATTRIBUTES[node_kind][attribute.name]
    return neighbour_attributes(node_kind, attribute.neighbour.relation)[attribute.name]


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One joined record, written ``<relation>_<alias>`` in a query.

    Attributes:
        relation: One of "contexts", "parent_contexts", "child_contexts",
            "artifacts", "executions", "events".
        alias: The text after the relation prefix, lower-cased ("a" in
            ``contexts_a``).
    """

    relation: str
    alias: str

    @property
    def key(self) -> str:
        """The neighbour's name as written in the query, e.g. ``contexts_a``."""
        return f"{self.relation}_{self.alias}"


@dataclass(frozen=True, slots=True)
class Attribute:
    """A built-in field of the node, or of a joined record.

    Attributes:
        name: The proto field name, e.g. "uri", "type", "milliseconds_since_epoch".
            ``type`` is the type name, ``type_id`` the type id.
        neighbour: None for the filtered node itself.
    """

    name: str
    neighbour: Neighbour | None = None


@dataclass(frozen=True, slots=True)
class Property:
    """One value of a (custom) property of the filtered node.

    Attributes:
        name: The property name, case as written.
        value_kind: One of ``VALUE_KINDS``; another kind of value reads as NULL.
        is_custom: True for ``custom_properties``.
    """

    name: str
    value_kind: str
    is_custom: bool = False


Field = Union[Attribute, Property]
Value = Union[int, float, str, bool]


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left <op> value``; ``value`` is a literal or another field.

    Enum literals arrive as their proto numbers. ``op`` is one of
    ``COMPARISON_OPS``.
    """

    left: Field
    op: str
    value: Value | Field


@dataclass(frozen=True, slots=True)
class InList:
    """``left IN (values...)``; values are literals of the left field's type."""

    left: Field
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Like:
    """``left LIKE pattern`` with ``%``, ``_`` and backslash escapes."""

    left: Field
    pattern: str


@dataclass(frozen=True, slots=True)
class IsNull:
    """``left IS NULL``, or ``IS NOT NULL`` when negated; never UNKNOWN."""

    left: Field
    negated: bool = False


@dataclass(frozen=True, slots=True)
class HasProperty:
    """TRUE when the node has a property of this name, of any value kind."""

    name: str
    is_custom: bool = False


@dataclass(frozen=True, slots=True)
class Constant:
    """The literal TRUE or FALSE used as a condition."""

    value: bool


@dataclass(frozen=True, slots=True)
class And:
    """Kleene conjunction of two or more items."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Kleene disjunction of two or more items."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Kleene negation."""

    item: Expr


Expr = Union[Comparison, InList, Like, IsNull, HasProperty, Constant, And, Or, Not]


def walk(expr: Expr) -> Iterator[Expr]:
    """Yields ``expr`` and every expression below it, parents first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (And, Or)):
            stack.extend(reversed(node.items))
        elif isinstance(node, Not):
            stack.append(node.item)


def fields(expr: Expr) -> Iterator[Field]:
    """Yields every field the expression reads, in query order."""
    for node in walk(expr):
        if isinstance(node, (Comparison, InList, Like, IsNull)):
            yield node.left
            if isinstance(node, Comparison) and isinstance(node.value, (Attribute, Property)):
                yield node.value


def neighbours(expr: Expr) -> tuple[Neighbour, ...]:
    """Returns the distinct neighbours used, in order of first mention."""
    seen: dict[Neighbour, None] = {}
    for f in fields(expr):
        if isinstance(f, Attribute) and f.neighbour is not None:
            seen.setdefault(f.neighbour, None)
    return tuple(seen)


def aliases(expr: Expr) -> dict[str, str]:
    """Maps each neighbour name used (``contexts_a``) to its relation (``contexts``)."""
    return {n.key: n.relation for n in neighbours(expr)}


def linked_groups(conjuncts: Sequence[Expr]) -> list[list[Expr]]:
    """Splits conjuncts into groups such that no two groups read a common alias.

    Conjuncts that read no alias each form a group of their own.

    Conjuncts over disjoint aliases are independent existential questions;
    asking them in one join would multiply every alias's rows with every
    other's (and, on PostgreSQL and MySQL, the planner's work with them).
    """
    groups: list[tuple[set[Neighbour], list[Expr]]] = []
    for conjunct in conjuncts:
        used = set(neighbours(conjunct))
        merged_aliases, merged_items = used, [conjunct]
        kept = []
        for group_aliases, items in groups:
            if group_aliases & used:
                merged_aliases = merged_aliases | group_aliases
                merged_items = items + merged_items
            else:
                kept.append((group_aliases, items))
        groups = kept + [(merged_aliases, merged_items)]
    return [items for _, items in groups]


def merge_equalities(items: Sequence[Expr]) -> list[Expr]:
    """Folds ``f = a OR f = b OR f IN (c)`` into ``f IN (a, b, c)``, in place of the first.

    Meant for the items of an ``Or``. The answers are the same under
    three-valued logic; one IN is one index lookup, where a planner may weigh
    a long OR chain term by term.
    """
    values: dict[Field, dict[object, None]] = {}
    for item in items:
        if isinstance(item, Comparison) and item.op == "=" and \
                not isinstance(item.value, (Attribute, Property)):
            values.setdefault(item.left, {}).setdefault(item.value, None)
        elif isinstance(item, InList):
            for value in item.values:
                values.setdefault(item.left, {}).setdefault(value, None)
    if all(len(found) < 2 for found in values.values()):
        return list(items)
    merged: list[Expr] = []
    done: set[Field] = set()
    for item in items:
        field = item.left if isinstance(item, (Comparison, InList)) else None
        if field is None or field not in values or len(values[field]) < 2 or (
                isinstance(item, Comparison) and (
                    item.op != "=" or isinstance(item.value, (Attribute, Property)))):
            merged.append(item)
        elif field not in done:
            done.add(field)
            merged.append(InList(field, tuple(values[field])))
    return merged


#: The largest tree, in nodes plus characters of text, that compilers cache.
_CACHEABLE_WEIGHT = 4096


def cacheable(expr: Expr) -> bool:
    """Tells whether a tree is small enough for a compiler to keep in its cache.

    Caches hold a bounded number of entries; refusing large trees also bounds
    their size in bytes, so distinct long queries cannot grow a server's memory.
    """
    weight = 0
    for node in walk(expr):
        weight += 1
        for value in _texts(node):
            weight += len(value)
        if weight > _CACHEABLE_WEIGHT:
            return False
    return True


def _texts(node: Expr) -> Iterator[str]:
    if isinstance(node, (Comparison, InList, Like, IsNull)):
        left = node.left
        yield left.name
        if isinstance(node, Like):
            yield node.pattern
        elif isinstance(node, InList):
            for value in node.values:
                if isinstance(value, str):
                    yield value
                elif isinstance(value, (int, float)):
                    yield "0"
        elif isinstance(node, Comparison):
            value = node.value
            if isinstance(value, str):
                yield value
            elif isinstance(value, (Attribute, Property)):
                yield value.name
    elif isinstance(node, HasProperty):
        yield node.name
