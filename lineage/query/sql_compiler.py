"""Compiles a filter_query tree into a SQLAlchemy Core condition over MLMD's tables.

The result is a FROM clause (the node table, its type and the properties the
query reads) and a WHERE condition; every literal is a bound parameter. The
semantics are those of ``lineage.query.ast``, which SQL mostly gives natively:

* Three-valued logic is SQL's own. A property is read through a LEFT JOIN on
  its (name, is_custom_property) row, so a missing property or a value of
  another kind reads as NULL; the parser adds ``HasProperty`` conjuncts where
  MLMD requires the property to exist.
* Aliases (``contexts_a``, ``events_0``) become EXISTS subqueries: each alias
  is one related row, the same row wherever it is mentioned, and a node
  matches when some choice of rows makes the conjuncts TRUE. Conjuncts that
  share no alias get an EXISTS each, so aliases never multiply; only aliases
  tied together by one conjunct (``contexts_a.id = contexts_b.id``, an OR
  across aliases) are joined in one.
* Text compares by code point and case-sensitively on every database: as
  stored on SQLite (with ``PRAGMA case_sensitive_like=ON`` for LIKE),
  under ``COLLATE "C"`` on PostgreSQL, and on MySQL through the original
  UTF-8 bytes (MLMD's MySQL text is double-encoded, see
  ``lineage.backends.sql_schema``), with LIKE under ``utf8mb4_bin`` so ``_``
  matches one character. An equality also keeps a plain column comparison,
  which the column's index can serve.
* A struct property lives in ``string_value`` behind the ``mlmd-struct::``
  prefix; its ``string_value`` reads as NULL, as it does in Python.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from lineage.backends import sql_schema as schema
from lineage.errors import InvalidArgumentError
from lineage.query import ast

__all__ = ["FilterClause", "compile_filter", "utf8_bytes", "NODE_TABLES", "PROPERTY_TABLES", "STRUCT_PREFIX",
           "Slot", "lift_values", "slot_params", "literal_kind", "bound"]

#: How MLMD marks a struct value held in ``string_value``.
STRUCT_PREFIX = "mlmd-struct::"

NODE_TABLES: dict[str, sa.Table] = {
    "artifact": schema.artifact_table,
    "execution": schema.execution_table,
    "context": schema.context_table,
}

#: (property table, owner id column name) per node kind.
PROPERTY_TABLES: dict[str, tuple[sa.Table, str]] = {
    "artifact": (schema.artifact_property_table, "artifact_id"),
    "execution": (schema.execution_property_table, "execution_id"),
    "context": (schema.context_property_table, "context_id"),
}

_MYSQL = ("mysql", "mariadb")


@dataclasses.dataclass(frozen=True)
class FilterClause:
    """A compiled filter.

    Attributes:
        node: The node table the condition reads (the plain table, unaliased).
        from_: ``node`` joined with what the condition needs (its type, its
            properties); select from it.
        where: The condition; bound parameters carry every literal.
    """

    node: sa.Table
    from_: sa.FromClause
    where: ColumnElement


def compile_filter(expr: ast.Expr, node_kind: str, dialect_name: str) -> FilterClause:
    """Compiles a parsed filter for one node kind and one database.

    Compiled clauses are cached per (expr, node_kind, dialect_name).

    Args:
        expr: A tree from ``lineage.query.parse_filter(query, node_kind)``.
        node_kind: "artifact", "execution" or "context".
        dialect_name: The SQLAlchemy dialect name: "sqlite", "mysql",
            "mariadb" or "postgresql".

    Returns:
        The FROM clause and WHERE condition.

    Raises:
        InvalidArgumentError: ``node_kind`` or ``dialect_name`` is unknown.
    """
    if node_kind not in ast.NODE_KINDS:
        raise InvalidArgumentError(
            f"node_kind must be one of {', '.join(ast.NODE_KINDS)}; got {node_kind!r}")
    if dialect_name not in ("sqlite", "postgresql", *_MYSQL):
        raise InvalidArgumentError(
            f"dialect_name must be sqlite, mysql, mariadb or postgresql; got {dialect_name!r}")
    dialect = "mysql" if dialect_name in _MYSQL else dialect_name
    if not ast.cacheable(expr):
        return _Compiler(node_kind, dialect).compile(expr)
    return _compile_cached(expr, node_kind, dialect)


@functools.lru_cache(maxsize=1024)
def _compile_cached(expr: ast.Expr, node_kind: str, dialect: str) -> FilterClause:
    return _Compiler(node_kind, dialect).compile(expr)


# --- MySQL text through its original bytes -----------------------------------


class _MySqlTextForm(ColumnElement):
    """A text column in one of MySQL's forms (a subclass each); elsewhere the column itself."""

    inherit_cache = True
    _traverse_internals = [("inner", InternalTraversal.dp_clauseelement)]
    _type = sa.String

    def __init__(self, inner):
        self.inner = inner
        self.type = self._type()


class _Utf8Bytes(_MySqlTextForm):
    """The UTF-8 bytes of MLMD-encoded MySQL text."""

    inherit_cache = True
    _type = sa.LargeBinary


class _Utf8Text(_MySqlTextForm):
    """The original text of MLMD-encoded MySQL text, under a binary collation."""

    inherit_cache = True


class _StoredBytes(_MySqlTextForm):
    """MySQL text as the bytes stored, compared byte by byte (a text type, so LIKE applies)."""

    inherit_cache = True


@compiles(_MySqlTextForm)
def _compile_plain(element, compiler, **kw):
    return compiler.process(element.inner, **kw)


@compiles(_StoredBytes, "mysql")
@compiles(_StoredBytes, "mariadb")
def _compile_stored_bytes(element, compiler, **kw):
    return f"CAST({compiler.process(element.inner, **kw)} AS BINARY)"


@compiles(_Utf8Bytes, "mysql")
@compiles(_Utf8Bytes, "mariadb")
def _compile_utf8_bytes(element, compiler, **kw):
    return f"CAST(CONVERT({compiler.process(element.inner, **kw)} USING latin1) AS BINARY)"


@compiles(_Utf8Text, "mysql")
@compiles(_Utf8Text, "mariadb")
def _compile_utf8_text(element, compiler, **kw):
    return f"({schema.mlmd_text_sql(compiler.process(element.inner, **kw))} COLLATE utf8mb4_bin)"


def utf8_bytes(column) -> ColumnElement:
    """A text column as the UTF-8 bytes of the text MLMD stored (on MySQL; elsewhere the column).

    Comparing these bytes is exact: case, accents and trailing spaces count,
    whatever the column's collation.
    """
    return _Utf8Bytes(column)


# --- operands ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Operand:
    """A field as SQL sees it.

    Attributes:
        column: The column (or NULL-guarded column) as stored.
        kind: "text", "number" or "bool".
        guarded: True for a property ``string_value``, whose struct values
            must read as NULL.
    """

    column: ColumnElement
    kind: str
    guarded: bool = False


# --- literals lifted out of a filter -------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """A comparison's literal lifted out of a filter (``lift_values``), bound when the statement runs.

    What the SQL depends on stays: the literal's Python type and, for text,
    whether it holds a struct. The bound parameters are named after
    ``index`` (``slot_params``).
    """

    index: int
    kind: type
    struct: bool = False


def lift_values(expr: ast.Expr) -> tuple[ast.Expr, tuple]:
    """The filter with each comparison's literal replaced by a ``Slot``, and the literals in slot order.

    Filters that differ only in such literals (the contexts of
    ``get_artifacts_by_context``, the uris of ``uri = "..."``) then share one
    compiled statement, where each distinct literal cost a compilation (1.4
    ms of a 1.9 ms read of a context's artifacts on MariaDB). A top-level
    ``type = "name"``, IN lists and LIKE patterns stay: their values shape
    the SQL, and a store has few type names.
    """
    values: list = []

    def lift(node: ast.Expr, top: bool) -> ast.Expr:
        if isinstance(node, ast.Comparison):
            value, left = node.value, node.left
            if isinstance(value, (ast.Attribute, ast.Property)) or (
                    top and isinstance(left, ast.Attribute) and left.neighbour is None and left.name == "type"):
                return node
            values.append(value)
            struct = isinstance(value, str) and value.startswith(STRUCT_PREFIX)
            return ast.Comparison(left, node.op, Slot(len(values) - 1, type(value), struct))
        if isinstance(node, ast.And):
            return ast.And(tuple(lift(item, top) for item in node.items))
        if isinstance(node, ast.Or):
            return ast.Or(tuple(lift(item, False) for item in node.items))
        if isinstance(node, ast.Not):
            return ast.Not(lift(node.item, False))
        return node

    return lift(expr, True), tuple(values)


def keeps_plan_shaping_values(expr: ast.Expr) -> bool:
    """Whether a filter after ``lift_values`` keeps IN lists or LIKE patterns.

    Their values decide how many rows match, and so the best plan: on
    PostgreSQL, a prepared statement's generic plan for ``name IN (...)``
    of 20 names walked every artifact in id order (5.4 ms at 10^4) where a
    plan made for the names scanned and sorted the 20 (1.4 ms).
    """
    return any(isinstance(node, (ast.InList, ast.Like)) for node in ast.walk(expr))


#: The forms of ``bound`` that bind the literal itself.
_FORMS_AS_IS = ("", "_column", "_link")


def slot_params(values: tuple) -> dict[str, Any]:
    """The bound parameters of ``lift_values``'s literals, for each form ``bound`` names."""
    params: dict[str, Any] = {}
    for index, value in enumerate(values):
        for form in _FORMS_AS_IS:
            params[f"b_v{index}{form}"] = value
        if isinstance(value, str):
            params[f"b_v{index}_utf8"] = value.encode("utf-8")
    return params


def literal_kind(value: Any) -> type | None:
    """The Python type of a comparison's literal or ``Slot``; None for a field."""
    if isinstance(value, Slot):
        return value.kind
    if isinstance(value, (ast.Attribute, ast.Property)):
        return None
    return type(value)


def _is_struct_text(value: Any) -> bool:
    if isinstance(value, Slot):
        return value.struct
    return value.startswith(STRUCT_PREFIX)


def bound(value: Any, type_, form: str = "") -> ColumnElement:
    """A literal, or a ``Slot``'s parameter, bound as ``type_``.

    Args:
        value: The literal or ``Slot``.
        type_: Its SQL type.
        form: For a ``Slot``, which of the forms the same literal is bound
            in, each a parameter of its own since each type processes it in
            its own way: "_utf8" its UTF-8 bytes (a literal ``value`` is then
            the bytes); "" (a plain type), "_column" (a column's type) and
            "_link" (a neighbour's key) the literal itself.
    """
    if isinstance(value, Slot):
        return sa.bindparam(f"b_v{value.index}{form}", type_=type_)
    return sa.literal(value, type_)


def _literal(value: Any) -> ColumnElement:
    """A bound literal typed by its Python value (never by the column it meets)."""
    kind = literal_kind(value)
    if kind is bool:
        return bound(value, sa.Boolean())
    if kind is int:
        return bound(value, sa.BigInteger())
    if kind is float:
        return bound(value, sa.Double())
    return bound(value, sa.String())


_SQL_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _searched_text(pattern: str) -> str | None:
    """The text a LIKE pattern ``%text%`` looks for, when the text holds no wildcard or escape."""
    if len(pattern) >= 2 and pattern[0] == "%" and pattern[-1] == "%":
        text = pattern[1:-1]
        if "%" not in text and "_" not in text and "\\" not in text:
            return text
    return None


def _has_one_char_wildcard(pattern: str) -> bool:
    """True when a LIKE pattern holds an unescaped ``_``."""
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            next(chars, None)
        elif char == "_":
            return True
    return False


_GROUP = 32


class _Parenthesised(ColumnElement):
    """A condition in parentheses that SQLAlchemy does not merge into an enclosing AND/OR."""

    inherit_cache = True
    _traverse_internals = [("inner", InternalTraversal.dp_clauseelement)]

    def __init__(self, inner):
        self.inner = inner
        self.type = sa.Boolean()


@compiles(_Parenthesised)
def _compile_parenthesised(element, compiler, **kw):
    return f"({compiler.process(element.inner, **kw)})"


def _balanced(combine, parts: list[ColumnElement]) -> ColumnElement:
    """``a OR b OR ...`` in parenthesised groups of at most 32, nested as a tree.

    Databases parse a flat chain as a tree as deep as the chain is long, and
    SQLite refuses one deeper than 1,000; grouping keeps it logarithmic.
    """
    while len(parts) > _GROUP:
        parts = [_Parenthesised(combine(*parts[i:i + _GROUP])) for i in range(0, len(parts), _GROUP)]
    return combine(*parts)


class _Compiler:
    def __init__(self, node_kind: str, dialect: str):
        self.kind = node_kind
        self.dialect = dialect
        self.node = NODE_TABLES[node_kind]
        self.from_: sa.FromClause = self.node
        self.type_alias: sa.Alias | None = None
        self.properties: dict[tuple[str, bool], sa.Alias] = {}
        self.neighbours: dict[ast.Neighbour, dict[str, Any]] = {}

    # -- structure ------------------------------------------------------------

    def compile(self, expr: ast.Expr) -> FilterClause:
        conjuncts = expr.items if isinstance(expr, ast.And) else (expr,)
        plain = [c for c in conjuncts if not ast.neighbours(c)]
        joined = [c for c in conjuncts if ast.neighbours(c)]
        parts = [self.condition(c) for c in plain]
        parts.extend(self.exists(group) for group in ast.linked_groups(joined))
        where = parts[0] if len(parts) == 1 else sa.and_(*parts)
        return FilterClause(self.node, self.from_, where)

    def exists(self, conjuncts: list[ast.Expr]) -> ColumnElement:
        """One EXISTS over the aliases a group of linked conjuncts reads."""
        used = ast.neighbours(ast.And(tuple(conjuncts)))
        for neighbour in used:
            self.neighbours[neighbour] = self.neighbour_tables(neighbour, len(self.neighbours))
        conditions = [self.condition(c) for c in conjuncts]
        from_: sa.FromClause | None = None
        links = []
        for neighbour in used:
            info = self.neighbours[neighbour]
            from_ = info["from"] if from_ is None else sa.join(from_, info["from"], sa.true())
            links.append(info["link"])
        inner = sa.select(sa.literal(1)).select_from(from_).where(*links, *conditions)
        return inner.exists()

    def neighbour_tables(self, neighbour: ast.Neighbour, index: int) -> dict[str, Any]:
        """Builds the FROM clause of one alias and its link to the filtered node."""
        relation = neighbour.relation
        node_id = self.node.c.id
        name = f"n{index}"
        if relation == "events":
            event = schema.event_table.alias(f"{name}_event")
            column = event.c.artifact_id if self.kind == "artifact" else event.c.execution_id
            return {"from": event, "link": column == node_id, "record": event, "kind": "event"}
        if relation == "contexts":
            link_table = schema.attribution_table if self.kind == "artifact" else schema.association_table
            link = link_table.alias(f"{name}_link")
            record = schema.context_table.alias(f"{name}_context")
            from_ = sa.join(link, record, record.c.id == link.c.context_id)
            owner = link.c.artifact_id if self.kind == "artifact" else link.c.execution_id
            return {"from": from_, "link": owner == node_id, "record": record, "kind": "context"}
        if relation in ("parent_contexts", "child_contexts"):
            link = schema.parent_context_table.alias(f"{name}_link")
            record = schema.context_table.alias(f"{name}_context")
            if relation == "parent_contexts":
                record_id, owner = link.c.parent_context_id, link.c.context_id
            else:
                record_id, owner = link.c.context_id, link.c.parent_context_id
            from_ = sa.join(link, record, record.c.id == record_id)
            return {"from": from_, "link": owner == node_id, "record": record, "kind": "context"}
        if relation == "artifacts":
            link = schema.attribution_table.alias(f"{name}_link")
            record = schema.artifact_table.alias(f"{name}_artifact")
            from_ = sa.join(link, record, record.c.id == link.c.artifact_id)
            return {"from": from_, "link": link.c.context_id == node_id, "record": record,
                    "kind": "artifact"}
        if relation == "executions":
            link = schema.association_table.alias(f"{name}_link")
            record = schema.execution_table.alias(f"{name}_execution")
            from_ = sa.join(link, record, record.c.id == link.c.execution_id)
            return {"from": from_, "link": link.c.context_id == node_id, "record": record,
                    "kind": "execution"}
        raise InvalidArgumentError(f"unknown relation {relation!r} in a filter")

    # -- fields ---------------------------------------------------------------

    def operand(self, field: ast.Field) -> _Operand:
        if isinstance(field, ast.Property):
            alias = self.property_alias(field.name, field.is_custom)
            column = alias.c[field.value_kind]
            if field.value_kind == "string_value":
                return _Operand(column, "text", guarded=True)
            return _Operand(column, "bool" if field.value_kind == "bool_value" else "number")
        if field.neighbour is None:
            if field.name == "type":
                return _Operand(self.node_type_name(), "text")
            return self.attribute(self.node, field.name)
        info = self.neighbours[field.neighbour]
        record = info["record"]
        if field.name == "type" and info["kind"] != "event":
            type_alias = info.get("type")
            if type_alias is None:
                type_alias = schema.type_table.alias(f"{record.name}_type")
                info["type"] = type_alias
                info["from"] = sa.join(info["from"], type_alias, type_alias.c.id == record.c.type_id)
            return _Operand(type_alias.c.name, "text")
        return self.attribute(record, field.name)

    @staticmethod
    def attribute(table, name: str) -> _Operand:
        column = table.c[name]
        text = name in ("name", "uri", "external_id")
        return _Operand(column, "text" if text else "number")

    def node_type_name(self) -> ColumnElement:
        """The name of the node's own type: a join with Type, or on MySQL a lookup per node.

        A join lets MariaDB start from Type and sort every node of the matching
        types for each page of a listing, so paging through NOT(type = ...)
        grew with the square of its size. A correlated lookup (MariaDB caches
        its answer by type_id) leaves it the node table's own order.
        """
        if self.dialect == "mysql":
            t = schema.type_table.alias("node_type")
            return sa.select(t.c.name).where(t.c.id == self.node.c.type_id).correlate(self.node).scalar_subquery()
        return self.node_type().c.name

    def node_type(self) -> sa.Alias:
        if self.type_alias is None:
            self.type_alias = schema.type_table.alias("node_type")
            self.from_ = sa.join(self.from_, self.type_alias, self.type_alias.c.id == self.node.c.type_id)
        return self.type_alias

    def property_alias(self, name: str, is_custom: bool) -> sa.Alias:
        key = (name, is_custom)
        alias = self.properties.get(key)
        if alias is None:
            table, owner = PROPERTY_TABLES[self.kind]
            alias = table.alias(f"p{len(self.properties)}")
            on = [
                alias.c[owner] == self.node.c.id,
                alias.c.name == sa.literal(name, alias.c.name.type),
                alias.c.is_custom_property == sa.literal(is_custom, alias.c.is_custom_property.type),
            ]
            if self.dialect == "mysql":
                # The column's collation may fold case; compare the exact name too.
                on.append(_Utf8Bytes(alias.c.name) == sa.literal(name.encode("utf-8"), sa.LargeBinary()))
            self.from_ = sa.outerjoin(self.from_, alias, sa.and_(*on))
            self.properties[key] = alias
        return alias

    # -- conditions -----------------------------------------------------------

    def condition(self, expr: ast.Expr, positive: bool = True) -> ColumnElement:
        """Compiles a condition.

        ``positive`` is True when no NOT encloses the condition: there a FALSE
        and an UNKNOWN answer reject the node alike, which lets equality on
        text take index-friendly forms that may answer FALSE for UNKNOWN.
        """
        if isinstance(expr, ast.Comparison):
            return self.comparison(expr, positive)
        if isinstance(expr, ast.InList):
            return self.in_list(expr, positive)
        if isinstance(expr, ast.Like):
            return self.like(expr, positive)
        if isinstance(expr, ast.IsNull):
            operand = self.operand(expr.left)
            column = self.guard(operand, operand.column)
            return column.isnot(None) if expr.negated else column.is_(None)
        if isinstance(expr, ast.HasProperty):
            alias = self.property_alias(expr.name, expr.is_custom)
            return alias.c.name.isnot(None)
        if isinstance(expr, ast.Constant):
            return sa.true() if expr.value else sa.false()
        if isinstance(expr, ast.Not):
            return sa.not_(self.condition(expr.item, False))
        if isinstance(expr, ast.And):
            return _balanced(sa.and_, [self.condition(i, positive) for i in expr.items])
        if isinstance(expr, ast.Or):
            return _balanced(sa.or_, [self.condition(i, positive) for i in expr.items])
        raise TypeError(f"not a filter expression: {expr!r}")

    def guard(self, operand: _Operand, column: ColumnElement) -> ColumnElement:
        """NULL for a struct value stored in string_value, else the column."""
        if not operand.guarded:
            return column
        if self.dialect == "mysql":
            prefix = sa.func.substring(_Utf8Bytes(operand.column), 1, len(STRUCT_PREFIX))
            test = prefix == sa.literal(STRUCT_PREFIX.encode("ascii"), sa.LargeBinary())
        else:
            test = sa.func.substr(operand.column, 1, len(STRUCT_PREFIX)) == sa.literal(
                STRUCT_PREFIX, sa.String())
        return sa.case((test, sa.null()), else_=column)

    def exact(self, operand: _Operand) -> ColumnElement:
        """The operand for =, != and ordering: code point order on text."""
        column = operand.column
        if operand.kind == "text":
            if self.dialect == "mysql":
                column = _Utf8Bytes(column)
            elif self.dialect == "postgresql":
                column = column.collate("C")
        return self.guard(operand, column)

    def text_literal(self, value: str | Slot) -> ColumnElement:
        if self.dialect == "mysql":
            return bound(value if isinstance(value, Slot) else value.encode("utf-8"), sa.LargeBinary(), "_utf8")
        return bound(value, sa.String())

    def comparison(self, expr: ast.Comparison, positive: bool = True) -> ColumnElement:
        left = self.operand(expr.left)
        op = _SQL_OPS[expr.op]
        value = expr.value
        if isinstance(value, (ast.Attribute, ast.Property)):
            right = self.operand(value)
            return op(self.exact(left), self.exact(right))
        if left.kind != "text":
            return op(left.column, _literal(value))
        if expr.op in ("=", "!=") and self.dialect != "mysql":
            # Equality ignores collation here; the plain column keeps its index usable.
            condition = op(self.guard(left, left.column), bound(value, sa.String()))
        else:
            condition = op(self.exact(left), self.text_literal(value))
        # The shortcuts below may answer FALSE where the exact form answers
        # UNKNOWN (a struct value, a NULL), so they are used only where that
        # cannot change the outcome.
        shortcut = expr.op == "=" and (positive or not left.guarded) and not _is_struct_text(value)
        if shortcut and self.dialect == "mysql":
            # Lets the column's index find candidates; the exact test decides.
            return sa.and_(left.column == bound(value, left.column.type, "_column"), condition)
        if shortcut and left.guarded:
            # A struct never equals a plain string: the index is usable.
            return left.column == bound(value, sa.String())
        return condition

    def in_list(self, expr: ast.InList, positive: bool = True) -> ColumnElement:
        left = self.operand(expr.left)
        values = expr.values
        if left.kind != "text":
            return left.column.in_([_literal(v) for v in values])
        shortcut = (positive or not left.guarded) and not any(v.startswith(STRUCT_PREFIX) for v in values)
        if self.dialect == "mysql":
            exact = self.exact(left).in_([self.text_literal(v) for v in values])
            if shortcut:
                prefilter = left.column.in_([sa.literal(v, left.column.type) for v in values])
                return sa.and_(prefilter, exact)
            return exact
        if shortcut:
            return left.column.in_([sa.literal(v, sa.String()) for v in values])
        return self.exact(left).in_([self.text_literal(v) for v in values])

    def like(self, expr: ast.Like, positive: bool = True) -> ColumnElement:
        left = self.operand(expr.left)
        column = left.column
        if self.dialect == "mysql":
            column = _Utf8Text(column)
        elif self.dialect == "postgresql":
            column = column.collate("C")
        column = self.guard(left, column)
        if self.dialect == "sqlite":
            searched = _searched_text(expr.pattern)
            if searched is not None:
                # LIKE "%text%" looks for the text anywhere, which instr() does
                # faster than SQLite's pattern matcher (uri LIKE "%/run-004550/%"
                # over 109,200 artifacts: 15.4 against 16.5 ms); with
                # case_sensitive_like on, both compare exactly.
                return sa.func.instr(column, sa.literal(searched, sa.String())) > 0
        # SQLite runs LIKE with an ESCAPE clause as a function of three
        # arguments, slower on every row (uri LIKE "%/run-004550/%" over
        # 109,200 artifacts: 24.0 against 22.4 ms); without a backslash the
        # pattern means the same without it.
        escape = "\\" if self.dialect != "sqlite" or "\\" in expr.pattern else None
        condition = column.like(sa.literal(expr.pattern, sa.String()), escape=escape)
        if self.dialect == "mysql" and (positive or not left.guarded) and not _has_one_char_wildcard(expr.pattern):
            # The stored (double-encoded) text under the column's collation is
            # a cheap superset test when the pattern has no "_": each literal
            # run matches the same bytes either way. It spares most rows the
            # conversions of the exact test.
            if expr.pattern.isascii():
                # ASCII bytes are stored as themselves, and no other character
                # is stored as ASCII bytes: the stored bytes hold an ASCII run
                # wherever the text does. Byte by byte, the server's LIKE scans
                # faster than under a collation (uri LIKE "%/run-4550/%" over
                # 10^5 artifacts: 28 against 44 ms).
                prefilter = _StoredBytes(left.column).like(
                    sa.literal(expr.pattern.encode("ascii"), sa.LargeBinary()), escape="\\")
            else:
                prefilter = left.column.like(sa.literal(expr.pattern, left.column.type), escape="\\")
            return sa.and_(prefilter, condition)
        return condition
