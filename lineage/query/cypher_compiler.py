"""Compiles a filter_query tree into Cypher text plus a parameter dict.

The text only ever holds generated variables (``n``, ``j0``...), the labels,
relationship types and property keys of the Neo4j graph model defined here,
and parameter references: every literal and every user-chosen name (property
names, aliases) travels as a parameter. The answers are those of
``lineage.query.python_compiler`` (see the semantics in ``lineage.query.ast``):

* Three-valued logic is Cypher's own: a missing property reads as null, a
  comparison with null is null, AND/OR/NOT are Kleene's and WHERE keeps only
  true. Each property value is stored under a key that names its value kind,
  so a property holding another kind reads as null too.
* Neighbours are existential joins: ``EXISTS { MATCH ... MATCH ... WHERE ... }``
  with one MATCH clause per alias, so two aliases may bind the same record
  (one MATCH pattern would force distinct relationships). Conjuncts that
  share no alias get an EXISTS each. A top-level
  ``<alias>.id = <literal>`` anchors the match at that record instead, through
  the id index.
* LIKE becomes ``=``, ``STARTS WITH``, ``ENDS WITH``, ``CONTAINS`` or a
  ``(?s)`` regular expression, all case-sensitive and anchored.
* Neo4j orders strings by UTF-16 code unit, Python by code point; they differ
  only for characters at or above U+E000. Ordering comparisons therefore read
  ``code_point_key`` forms, which the backend stores beside a value whenever
  the two differ.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from lineage.errors import InternalError, InvalidArgumentError
from lineage.query import ast, like

__all__ = [
    "LABELS",
    "INPUT_REL",
    "OUTPUT_REL",
    "ATTRIBUTION_REL",
    "ASSOCIATION_REL",
    "PARENT_REL",
    "EVENT_RELS",
    "PROPERTY_NAMES_KEY",
    "NODE_FIELDS",
    "CypherFilter",
    "compile_filter",
    "property_key",
    "order_key",
    "code_point_key",
    "like_to_cypher",
]

# -- the graph model shared with lineage.backends.neo4j ---------------------------

LABELS = {"artifact": "Artifact", "execution": "Execution", "context": "Context"}

#: Artifact -> Execution, for events whose data flows into the execution.
INPUT_REL = "INPUT_TO"
#: Execution -> Artifact, for every other event type.
OUTPUT_REL = "OUTPUT"
ATTRIBUTION_REL = "ATTRIBUTED_TO"  # Artifact -> Context
ASSOCIATION_REL = "ASSOCIATED_WITH"  # Execution -> Context
PARENT_REL = "CHILD_OF"  # child Context -> parent Context
EVENT_RELS = f"{INPUT_REL}|{OUTPUT_REL}"

#: Node property holding the list of (custom) property names, for HasProperty.
PROPERTY_NAMES_KEY = {False: "pnames", True: "cnames"}

#: Proto fields copied onto the graph node, under the same names, when set.
NODE_FIELDS = {
    kind: tuple(name for name in attrs if name != "type_id" and name != "id")
    for kind, attrs in ast.NODE_ATTRIBUTES.items()
}

_VALUE_CODES = {"int_value": "i", "double_value": "d", "string_value": "s", "bool_value": "b"}
_VALUE_TYPES = {"int_value": "int", "double_value": "double", "string_value": "string",
                "bool_value": "bool"}


def property_key(name: str, value_kind: str, is_custom: bool) -> str:
    """Returns the node property key holding one (custom) property value.

    Args:
        name: The property name as stored in the proto map.
        value_kind: One of ``ast.VALUE_KINDS``.
        is_custom: True for ``custom_properties``.

    Returns:
        A key such as ``p.s.<name>`` or ``c.i.<name>``. Neo4j refuses NUL in
        keys, so ``%`` and NUL in the name are percent-escaped.
    """
    if "%" in name or "\x00" in name:
        name = name.replace("%", "%25").replace("\x00", "%00")
    return f"{'c' if is_custom else 'p'}.{_VALUE_CODES[value_kind]}.{name}"


def order_key(key: str) -> str:
    """Returns the key holding ``code_point_key`` of the string stored under ``key``."""
    return "o." + key


_ESCAPE = "\uffff"
_DIGIT_BASE = 0x800
_DIGIT_ZERO = 0x800


def code_point_key(text: str) -> str:
    """Maps a string to one whose UTF-16 order is the code point order of ``text``.

    Characters below U+D800 stay as they are; every other one becomes U+FFFF
    and two fixed-width digits (characters U+0800..U+0FFF) spelling its code
    point, which sorts it after every character below U+D800 and in code point
    order among its peers. Most strings come back unchanged.

    Args:
        text: Any string.

    Returns:
        The ordering key; ``text`` itself when it has no character at or above U+D800.
    """
    if not text or max(text) < "\ud800":
        return text
    out = []
    for ch in text:
        cp = ord(ch)
        if cp < 0xD800:
            out.append(ch)
        else:
            high, low = divmod(cp, _DIGIT_BASE)
            out.append(_ESCAPE + chr(_DIGIT_ZERO + high) + chr(_DIGIT_ZERO + low))
    return "".join(out)


# -- LIKE -------------------------------------------------------------------------


def _regex_literal(c: str) -> str:
    # ASCII punctuation, space and controls are spelled as hex escapes, always literal in
    # Java regexes; letters, digits and non-ASCII characters carry no regex meaning.
    if c.isascii() and not c.isalnum():
        return "\\x{%02x}" % ord(c)
    return c


def like_to_cypher(pattern: str) -> tuple[str, str]:
    """Translates a LIKE pattern into a Cypher string operator and its operand.

    Args:
        pattern: ``%`` any run, ``_`` one character, backslash makes the next
            character literal.

    Returns:
        ``(operator, operand)``: operator is one of ``=``, ``STARTS WITH``,
        ``ENDS WITH``, ``CONTAINS`` (operand a literal string) or ``=~``
        (operand a Java regular expression matching whole strings, written
        by ``lineage.query.like.regex`` so that it never backtracks).
    """
    parsed = like.split(pattern)
    if not parsed.segments:
        return "ENDS WITH", ""
    if len(parsed.segments) == 1 and "" not in parsed.segments[0]:
        text = "".join(parsed.segments[0])
        if parsed.open_start and parsed.open_end:
            return "CONTAINS", text
        if parsed.open_start:
            return "ENDS WITH", text
        if parsed.open_end:
            return "STARTS WITH", text
        return "=", text
    return "=~", "(?s)" + like.regex(pattern, _regex_literal)


# -- compilation ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CypherFilter:
    """A compiled filter: ``{match} WHERE {where}`` binds the matching nodes to ``n``.

    Attributes:
        match: ``MATCH (n:Label)``, or an anchored match followed by
            ``WITH DISTINCT n, ...``; a WHERE may follow it directly.
        where: A Cypher boolean expression; ``true`` when nothing is left to test.
        params: Parameter values by name (all names start with ``f``). Shared
            between calls: copy before adding to it.
    """

    match: str
    where: str
    params: dict[str, Any]


_CYPHER_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ORDERING = frozenset({"<", "<=", ">", ">="})

# Per node kind and relation: the MATCH pattern from n to the neighbour variable.
_PATTERNS: dict[tuple[str, str], str] = {
    ("artifact", "contexts"): f"(n)-[:{ATTRIBUTION_REL}]->({{v}}:Context)",
    ("execution", "contexts"): f"(n)-[:{ASSOCIATION_REL}]->({{v}}:Context)",
    ("artifact", "events"): f"(n)-[{{v}}:{EVENT_RELS}]-(:Execution)",
    ("execution", "events"): f"(n)-[{{v}}:{EVENT_RELS}]-(:Artifact)",
    ("context", "parent_contexts"): f"(n)-[:{PARENT_REL}]->({{v}}:Context)",
    ("context", "child_contexts"): f"(n)<-[:{PARENT_REL}]-({{v}}:Context)",
    ("context", "artifacts"): f"(n)<-[:{ATTRIBUTION_REL}]-({{v}}:Artifact)",
    ("context", "executions"): f"(n)<-[:{ASSOCIATION_REL}]-({{v}}:Execution)",
}
# The same patterns, written from the neighbour to the node, for anchoring on one of
# the neighbour's indexed keys ({k}: id or name).
_KEY = "{{{k}: {p}}}"
_ANCHORS: dict[tuple[str, str], str] = {
    ("artifact", "contexts"): f"({{v}}:Context {_KEY})<-[:{ATTRIBUTION_REL}]-(n:Artifact)",
    ("execution", "contexts"): f"({{v}}:Context {_KEY})<-[:{ASSOCIATION_REL}]-(n:Execution)",
    ("context", "parent_contexts"): f"({{v}}:Context {_KEY})<-[:{PARENT_REL}]-(n:Context)",
    ("context", "child_contexts"): f"({{v}}:Context {_KEY})-[:{PARENT_REL}]->(n:Context)",
    ("context", "artifacts"): f"({{v}}:Artifact {_KEY})-[:{ATTRIBUTION_REL}]->(n:Context)",
    ("context", "executions"): f"({{v}}:Execution {_KEY})-[:{ASSOCIATION_REL}]->(n:Context)",
    # An event is a relationship: its far end's id is the event's own execution or artifact id.
    ("artifact", "events"): f"(:Execution {_KEY})-[{{v}}:{EVENT_RELS}]-(n:Artifact)",
    ("execution", "events"): f"(:Artifact {_KEY})-[{{v}}:{EVENT_RELS}]-(n:Execution)",
}
# The attribute of an event alias that names its far end, per node kind.
_EVENT_FAR_END = {"artifact": "execution_id", "execution": "artifact_id"}


def compile_filter(expr: ast.Expr, node_kind: str) -> CypherFilter:
    """Compiles a parsed filter for one node kind.

    Results are cached per (expr, node_kind); treat them as read-only.

    Args:
        expr: A tree from ``lineage.query.parse_filter(query, node_kind)``.
        node_kind: "artifact", "execution" or "context".

    Returns:
        The MATCH clause, WHERE expression and parameters selecting matching nodes as ``n``.

    Raises:
        InvalidArgumentError: ``node_kind`` is not a node kind.
        InternalError: The tree names a field the node kind does not have
            (the parser never builds such a tree).
    """
    if node_kind not in ast.NODE_KINDS:
        raise InvalidArgumentError(
            f"node_kind must be one of {', '.join(ast.NODE_KINDS)}; got {node_kind!r}")
    if not ast.cacheable(expr):
        return _Compiler(node_kind).compile(expr)
    return _compile_filter(expr, node_kind)


@functools.lru_cache(maxsize=1024)
def _compile_filter(expr: ast.Expr, node_kind: str) -> CypherFilter:
    return _Compiler(node_kind).compile(expr)


class _Compiler:
    def __init__(self, kind: str):
        self.kind = kind
        self.params: dict[str, Any] = {}
        self.variables: dict[ast.Neighbour, str] = {}

    def param(self, value: Any) -> str:
        name = f"f{len(self.params)}"
        self.params[name] = value
        return "$" + name

    # -- structure ------------------------------------------------------------
    def compile(self, expr: ast.Expr) -> CypherFilter:
        for i, neighbour in enumerate(ast.neighbours(expr)):
            if (self.kind, neighbour.relation) not in _PATTERNS:
                raise InternalError(f"{self.kind}s have no relation {neighbour.relation!r}")
            self.variables[neighbour] = f"j{i}"
        conjuncts = list(expr.items) if isinstance(expr, ast.And) else [expr]
        anchor = self._anchor(conjuncts)
        label = LABELS[self.kind]
        outer: list[str] = []
        joined: list[ast.Expr] = []
        bound: set[ast.Neighbour] = set()
        if anchor is None:
            match = f"MATCH (n:{label})"
        else:
            neighbour, term = anchor
            conjuncts.remove(term)
            variable = self.variables[neighbour]
            key = term.left.name
            pattern = _ANCHORS[(self.kind, neighbour.relation)].format(
                v=variable, k="name" if key == "name" else "id", p=self.param(term.value))
            if key == "id":
                bound.add(neighbour)
                match = f"MATCH {pattern} WITH DISTINCT n, {variable}"
            else:
                # A name (or an event's far end) may bind several neighbours of one node:
                # the terms on that alias are tested per neighbour, then the node is kept once.
                own = [t for t in conjuncts if set(ast.neighbours(t)) == {neighbour}]
                for t in own:
                    conjuncts.remove(t)
                tests = f" WHERE {' AND '.join(self.expr(t) for t in own)}" if own else ""
                match = f"MATCH {pattern} WITH n, {variable}{tests} WITH DISTINCT n"
        for term in conjuncts:
            if set(ast.neighbours(term)) <= bound:
                outer.append(self.expr(term))
            else:
                joined.append(term)
        # Groups that share no alias are independent: one EXISTS each, so
        # their matches are never multiplied together.
        outer.extend(self.exists(group, bound) for group in ast.linked_groups(joined))
        return CypherFilter(match, " AND ".join(outer) if outer else "true", dict(self.params))

    def _anchor(self, conjuncts: list[ast.Expr]):
        """Finds a top-level ``<alias>.id = <int>`` or ``<alias>.name = <text>`` to start the match from.

        Both keys are indexed, so the match costs what the alias matches, not a scan of
        every node. An event alias's ``execution_id`` (of an artifact's event) or
        ``artifact_id`` (of an execution's) anchors on the far node's id the same way.
        A name or an event's far end anchors only when no other term joins its alias
        with another alias (those terms need the alias bound for the whole query).
        """
        def keyed(term: ast.Expr, key: str, kind: type) -> bool:
            return (isinstance(term, ast.Comparison) and term.op == "="
                    and isinstance(term.left, ast.Attribute) and term.left.name == key
                    and term.left.neighbour is not None
                    and (self.kind, term.left.neighbour.relation) in _ANCHORS
                    and isinstance(term.value, kind) and not isinstance(term.value, bool))

        for term in conjuncts:
            if keyed(term, "id", int):
                return term.left.neighbour, term
        far_end = _EVENT_FAR_END.get(self.kind)
        for term in conjuncts:
            if keyed(term, "name", str) or (
                    keyed(term, far_end, int) and term.left.neighbour.relation == "events"):
                alias = term.left.neighbour
                if all(alias not in ast.neighbours(t) or set(ast.neighbours(t)) == {alias}
                       for t in conjuncts):
                    return alias, term
        return None

    def exists(self, terms: list[ast.Expr], bound: set[ast.Neighbour]) -> str:
        """One EXISTS subquery binding every alias the terms use and not yet bound."""
        pending = list(terms)
        clauses = []
        ready = set(bound)
        for neighbour, variable in self.variables.items():
            if neighbour in ready or not any(neighbour in ast.neighbours(t) for t in pending):
                continue
            ready.add(neighbour)
            pattern = _PATTERNS[(self.kind, neighbour.relation)].format(v=variable)
            local = [t for t in pending if set(ast.neighbours(t)) <= ready]
            pending = [t for t in pending if t not in local]
            clause = f"MATCH {pattern}"
            if local:
                clause += " WHERE " + " AND ".join(self.expr(t) for t in local)
            clauses.append(clause)
        if pending:
            raise InternalError("a filter term reads an alias that was never matched")
        return "EXISTS { " + " ".join(clauses) + " }"

    # -- expressions ----------------------------------------------------------
    def expr(self, expr: ast.Expr) -> str:
        if isinstance(expr, ast.Comparison):
            return self.comparison(expr)
        if isinstance(expr, ast.InList):
            return f"{self.field(expr.left)} IN {self.param(list(expr.values))}"
        if isinstance(expr, ast.Like):
            op, operand = like_to_cypher(expr.pattern)
            return f"{self.field(expr.left)} {op} {self.param(operand)}"
        if isinstance(expr, ast.IsNull):
            return f"{self.field(expr.left)} IS {'NOT ' if expr.negated else ''}NULL"
        if isinstance(expr, ast.HasProperty):
            key = PROPERTY_NAMES_KEY[expr.is_custom]
            return f"{self.param(expr.name)} IN coalesce(n.{key}, [])"
        if isinstance(expr, ast.Constant):
            return self.param(bool(expr.value))
        if isinstance(expr, ast.Not):
            return f"(NOT {self.expr(expr.item)})"
        if isinstance(expr, ast.And):
            return "(" + " AND ".join(self.expr(i) for i in expr.items) + ")"
        if isinstance(expr, ast.Or):
            # Neo4j's planner weighs an OR chain term by term: equalities on one field go as one IN.
            items = ast.merge_equalities(expr.items)
            if len(items) == 1:
                return self.expr(items[0])
            return "(" + " OR ".join(self.expr(i) for i in items) + ")"
        raise InternalError(f"not a filter expression: {expr!r}")

    def comparison(self, expr: ast.Comparison) -> str:
        op = _CYPHER_OPS[expr.op]
        ordering = expr.op in _ORDERING and self.field_type(expr.left) == "string"
        value = expr.value
        if isinstance(value, (ast.Attribute, ast.Property)):
            if ordering:
                return f"{self.field(expr.left, True)} {op} {self.field(value, True)}"
            return f"{self.field(expr.left)} {op} {self.field(value)}"
        if ordering:
            return f"{self.field(expr.left, True)} {op} {self.param(code_point_key(value))}"
        return f"{self.field(expr.left)} {op} {self.param(value)}"

    def field_type(self, field: ast.Field) -> str:
        if isinstance(field, ast.Property):
            return _VALUE_TYPES[field.value_kind]
        return self._attributes(field)[field.name]

    def _attributes(self, field: ast.Attribute) -> dict[str, str]:
        if field.neighbour is None:
            attributes = ast.NODE_ATTRIBUTES[self.kind]
        else:
            attributes = ast.neighbour_attributes(self.kind, field.neighbour.relation)
        if field.name not in attributes:
            where = self.kind if field.neighbour is None else field.neighbour.key
            raise InternalError(f"{where} has no attribute {field.name!r}")
        return attributes

    def field(self, field: ast.Field, ordered: bool = False) -> str:
        """The Cypher expression reading a field; ``ordered`` reads its ordering key."""
        if isinstance(field, ast.Property):
            key = property_key(field.name, field.value_kind, field.is_custom)
            if ordered:
                return f"coalesce(n[{self.param(order_key(key))}], n[{self.param(key)}])"
            return f"n[{self.param(key)}]"
        self._attributes(field)
        variable = "n" if field.neighbour is None else self.variables[field.neighbour]
        # Attribute names come from the fixed schema tables checked above.
        if ordered:
            return f"coalesce({variable}.`{order_key(field.name)}`, {variable}.{field.name})"
        return f"{variable}.{field.name}"
