"""Parses filter_query text into a checked syntax tree (``lineage.query.ast``).

The language is MLMD's: a boolean SQL expression over the node's attributes,
its properties (``properties.<name>.<kind>_value``, ``custom_properties...``)
and one-hop neighbours joined by alias (``contexts_a.name``,
``events_0.type``). Parsing is done by a LALR grammar (``filter.lark``); this
module then resolves names for the node kind, decodes literals, resolves enum
names (``state = LIVE``) to proto numbers and checks types, so that every
error surfaces here as ``InvalidArgumentError`` and never in a backend.

Rewrites that keep MLMD's results:

* ``<enum> != X`` and ``<enum> NOT IN (...)`` also match a NULL enum, as MLMD
  rewrites them to ``(... OR <enum> IS NULL)``.
* A node matches only if it carries every property the query mentions: MLMD
  joins each mentioned property with an inner join, so a node without it never
  matches, even under OR or IS NULL. The parser states this explicitly with
  ``HasProperty`` conjuncts ahead of the expression.
* ``x BETWEEN a AND b`` becomes ``x >= a AND x <= b``; ``NOT IN``, ``NOT
  LIKE`` become ``Not(...)``; ``IS [NOT] TRUE/FALSE`` becomes null tests and
  comparisons; a literal on the left of a comparison moves to the right.
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import re
from dataclasses import dataclass
from typing import Union

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from lineage.errors import InvalidArgumentError
from lineage.proto import metadata_store_pb2 as _pb
from lineage.query import ast

__all__ = ["parse_filter", "MAX_QUERY_LENGTH", "MAX_ALIASES", "MAX_LINKED_ALIASES", "MAX_PROPERTIES",
           "MAX_TERMS"]

# Limits on one query. Each bounds a cost that grows with the query rather than
# with the data: parsing and compiling (length, terms), the joins a SQL backend
# builds (one per property, a few per alias; MySQL and SQLite stop at 61 and 64
# tables) and the work of matching aliases.
#: Characters in a filter_query.
MAX_QUERY_LENGTH = 65536
#: Distinct neighbour aliases (``contexts_a``, ``events_0``...) in a query.
MAX_ALIASES = 16
#: Aliases tied together by conditions that read several of them (an OR across
#: aliases, ``contexts_a.id = contexts_b.id``): such aliases are joined with one
#: another, and planning that join grows exponentially with their number.
MAX_LINKED_ALIASES = 4
#: Distinct (custom) property names in a query.
MAX_PROPERTIES = 32
#: Predicates and arithmetic terms in a query.
MAX_TERMS = 4096
# Deeper nesting of NOT and parentheses is refused rather than risk recursion limits.
_MAX_DEPTH = 200
# Only short queries are cached, so that the cache's size in bytes is bounded
# whatever clients send: at most _CACHE_ENTRIES x _CACHE_MAX_QUERY characters
# of keys, and trees of the same order.
_CACHE_ENTRIES = 512
_CACHE_MAX_QUERY = 2048
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# Enum-typed attributes, by the kind of record that carries them.
_ENUMS: dict[tuple[str, str], dict[str, int]] = {
    ("artifact", "state"): dict(_pb.Artifact.State.items()),
    ("execution", "last_known_state"): dict(_pb.Execution.State.items()),
    ("event", "type"): dict(_pb.Event.Type.items()),
}
_ENUM_LABELS = {
    ("artifact", "state"): "Artifact.State",
    ("execution", "last_known_state"): "Execution.State",
    ("event", "type"): "Event.Type",
}

_NEIGHBOUR_RE = re.compile(
    r"(parent_contexts|child_contexts|contexts|artifacts|executions|events)_(\w+)", re.IGNORECASE)
_PATH_PART_RE = re.compile(r"`([^`]*)`|([^.`]+)")

_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "LIKE", "BETWEEN", "NULL", "TRUE", "FALSE"}
_EXPECTED_NAMES = {
    "PATH": "a field name",
    "STRING": "a string",
    "INT": "a number",
    "FLOAT": "a number",
    "SIGN": "a number",
    "COMP_OP": "a comparison operator",
    "LPAR": '"("',
    "RPAR": '")"',
    "COMMA": '","',
    "$END": "end of query",
}
_EXPECTED_ORDER = [
    "a field name", "a string", "a number", "TRUE", "FALSE", "NULL", "NOT", '"("',
    "a comparison operator", "IN", "LIKE", "BETWEEN", "IS", "AND", "OR", '","', '")"',
    "end of query",
]
_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", "?": "?", '"': '"', "'": "'", "`": "`",
}
_FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@functools.lru_cache(maxsize=None)
def _lark() -> lark.Lark:
    grammar = importlib.resources.files("lineage.query").joinpath("filter.lark").read_text("utf-8")
    return lark.Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


def parse_filter(query: str, node_kind: str) -> ast.Expr:
    """Parses and checks a filter_query for one node kind.

    Results are cached per (query, node_kind); the returned tree is immutable.
    An empty filter_query means "no filter" in MLMD's API; callers handle that
    case before calling here.

    Args:
        query: The filter_query text.
        node_kind: "artifact", "execution" or "context".

    Returns:
        The root expression.

    Raises:
        InvalidArgumentError: The query is empty or malformed, names a field,
            join or enum value the node kind does not have, or compares values
            of incompatible types. The message quotes the query and points at
            the offending place.
    """
    if node_kind not in ast.NODE_KINDS:
        raise InvalidArgumentError(
            f"node_kind must be one of {', '.join(ast.NODE_KINDS)}; got {node_kind!r}")
    if not isinstance(query, str):
        raise InvalidArgumentError(f"filter_query must be a string; got {type(query).__name__}")
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidArgumentError(
            f"filter_query is {len(query)} characters long; the limit is {MAX_QUERY_LENGTH}")
    if len(query) > _CACHE_MAX_QUERY:
        return _parse(query, node_kind)
    return _parse_cached(query, node_kind)


def _parse(query: str, node_kind: str) -> ast.Expr:
    if not query.strip():
        raise InvalidArgumentError(f"invalid filter_query `{query}`: the query is empty")
    try:
        tree = _lark().parse(query)
        return _Resolver(query, node_kind).resolve(tree)
    except UnexpectedInput as e:
        raise _syntax_error(query, e) from e
    except RecursionError as e:
        # A backstop: the limits above are meant to refuse such queries first.
        raise _error(query, "the query is too deeply structured to evaluate") from e


_parse_cached = functools.lru_cache(maxsize=_CACHE_ENTRIES)(_parse)


def _shorten(query: str) -> str:
    return query if len(query) <= 200 else query[:200] + "..."


# --- error messages ---------------------------------------------------------


def _error(query: str, message: str, line: int | None = None, column: int | None = None
           ) -> InvalidArgumentError:
    text = f"invalid filter_query `{_shorten(query)}`: {message}"
    if line is not None and column is not None:
        text += f" (line {line}, column {column})"
        lines = query.split("\n")
        if 1 <= line <= len(lines):
            src = lines[line - 1]
            if len(src) > 200:
                # Show the 80 characters before the place, so a long line stays readable.
                cut = max(0, column - 81)
                src, column = src[cut:cut + 160], column - cut
            text += f"\n  {src}\n  {' ' * (column - 1)}^"
    return InvalidArgumentError(text)


def _position_in(token: lark.Token, offset: int) -> tuple[int, int]:
    """Line and column of the character ``offset`` characters into ``token``."""
    before = token.value[:offset]
    newlines = before.count("\n")
    if newlines:
        return token.line + newlines, offset - before.rindex("\n")
    return token.line, token.column + offset


def _end_position(query: str) -> tuple[int, int]:
    lines = query.split("\n")
    return len(lines), len(lines[-1]) + 1


def _expected(names) -> str:
    pretty = {_EXPECTED_NAMES.get(n, n) for n in names}
    order = {name: i for i, name in enumerate(_EXPECTED_ORDER)}
    listed = sorted(pretty, key=lambda n: (order.get(n, len(order)), n))
    if len(listed) == 1:
        return listed[0]
    return "one of: " + ", ".join(listed)


def _syntax_error(query: str, e: UnexpectedInput) -> InvalidArgumentError:
    if isinstance(e, UnexpectedCharacters):
        pos = e.pos_in_stream
        char = query[pos]
        nxt = query[pos + 1] if pos + 1 < len(query) else ""
        if char in "\"'" or (char in "rR" and nxt in "\"'"):
            what = "unclosed string literal"
        elif char == "`":
            what = "unclosed backquoted name"
        elif char == "/" and nxt == "*":
            what = "unclosed /* comment"
        elif char == "\\":
            what = "backslash outside a string literal"
        else:
            what = f"unexpected character {char!r}"
        return _error(query, what, e.line, e.column)
    if isinstance(e, UnexpectedToken):
        token = e.token
        if token.type == "$END":
            line, column = _end_position(query)
            what = "unexpected end of query"
        else:
            line, column = token.line, token.column
            if token.type in _KEYWORDS:
                what = f"unexpected keyword {token.value.upper()}"
            else:
                what = f"unexpected {token.value!r}"
        return _error(query, f"{what}; expected {_expected(e.expected)}", line, column)
    if isinstance(e, UnexpectedEOF):
        line, column = _end_position(query)
        return _error(query, f"unexpected end of query; expected {_expected(e.expected)}",
                      line, column)
    return _error(query, str(e))


# --- resolution -------------------------------------------------------------


@dataclass(frozen=True)
class _Lit:
    value: object  # None for NULL
    type: str  # "int", "double", "string", "bool", "null"
    token: lark.Token


@dataclass(frozen=True)
class _Path:
    parts: tuple[tuple[str, bool], ...]  # (text, was backquoted)
    token: lark.Token


@dataclass(frozen=True)
class _FieldRef:
    field: ast.Field
    type: str  # "int", "double", "string", "bool", "enum"
    enum: tuple[str, str] | None  # key into _ENUMS
    token: lark.Token


_Operand = Union[_Lit, _Path]
_NUMERIC = ("int", "double", "enum")


def _compatible(a: str, b: str) -> bool:
    if a in _NUMERIC:
        return b in _NUMERIC
    return a == b


def _type_label(t: str) -> str:
    return {"int": "an integer", "double": "a double", "enum": "an enum", "string": "a string",
            "bool": "a boolean", "null": "NULL"}[t]


class _Resolver:
    """Turns one lark tree into an ``ast.Expr`` for one node kind."""

    def __init__(self, query: str, node_kind: str):
        self.query = query
        self.kind = node_kind
        self.properties: dict[ast.HasProperty, None] = {}
        self.aliases: set[ast.Neighbour] = set()
        self.depth = 0
        self.terms = 0

    def count_term(self, token: lark.Token | None) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(f"the query has more than {MAX_TERMS} predicates and terms", token)

    def fail(self, message: str, token: lark.Token | None = None) -> InvalidArgumentError:
        if token is None:
            return _error(self.query, message)
        return _error(self.query, message, token.line, token.column)

    def resolve(self, tree) -> ast.Expr:
        expr = self.expr(tree)
        if len(self.aliases) > MAX_LINKED_ALIASES:
            conjuncts = expr.items if isinstance(expr, ast.And) else (expr,)
            for group in ast.linked_groups(conjuncts):
                linked = ast.neighbours(ast.And(tuple(group)))
                if len(linked) > MAX_LINKED_ALIASES:
                    raise self.fail(
                        f"the query ties {len(linked)} aliases together "
                        f"({', '.join(n.key for n in linked)}); at most {MAX_LINKED_ALIASES} may be "
                        "read by conditions that also read another alias")
        if self.properties:
            checks = tuple(self.properties)
            items = expr.items if isinstance(expr, ast.And) else (expr,)
            expr = ast.And(checks + items)
        return expr

    # -- boolean structure

    def expr(self, tree) -> ast.Expr:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.fail(f"the query nests NOT and parentheses more than {_MAX_DEPTH} deep")
        try:
            return getattr(self, f"_{tree.data}")(tree.children)
        finally:
            self.depth -= 1

    def _or_expr(self, children) -> ast.Expr:
        items: list[ast.Expr] = []
        for child in children:
            if isinstance(child, lark.Token):
                continue
            sub = self.expr(child)
            items.extend(sub.items if isinstance(sub, ast.Or) else (sub,))
        return ast.Or(tuple(items))

    def _and_expr(self, children) -> ast.Expr:
        items: list[ast.Expr] = []
        for child in children:
            if isinstance(child, lark.Token):
                continue
            sub = self.expr(child)
            items.extend(sub.items if isinstance(sub, ast.And) else (sub,))
        return ast.And(tuple(items))

    def _negation(self, children) -> ast.Expr:
        return ast.Not(self.expr(children[-1]))

    # -- predicates

    def _comparison(self, children) -> ast.Expr:
        left, op_token, right = children
        self.count_term(op_token)
        op = "!=" if op_token.value == "<>" else op_token.value
        (left, left_offset), (right, right_offset) = self.term(left), self.term(right)
        if left_offset or right_offset:
            if self.is_field(left) and self.is_field(right):
                if left_offset != right_offset:
                    raise self.fail("arithmetic on fields on both sides of a comparison is not "
                                    "supported", op_token)
            elif self.is_field(left):
                right = self.shifted(right, -left_offset)
            else:
                left = self.shifted(left, -right_offset)
        return self.compare(left, op, right, op_token)

    def term(self, tree) -> tuple[_Operand, int | float]:
        """Reads ``operand (+|-) number ...``: returns the operand and the summed offset.

        A literal operand absorbs its offset; a field keeps it for ``_comparison``
        to move to the other side, so ``properties.n.int_value + 1 = 2`` compares
        the field with 1. The tree nests to the left, one level per term; it is
        read with a loop, so a long sum cannot exhaust the stack.
        """
        steps = []
        while getattr(tree, "data", None) == "arith":
            steps.append((tree.children[1], tree.children[2]))
            tree = tree.children[0]
        base = self.operand(tree)
        offset: int | float = 0
        ref = None
        for sign, node in reversed(steps):
            self.count_term(sign)
            operand = self.operand(node)
            if not isinstance(operand, _Lit) or operand.type not in ("int", "double"):
                raise self.fail(f"only a number can be added to or subtracted from a value here, "
                                f"not {operand.token.value!r}", operand.token)
            offset += operand.value if sign.value == "+" else -operand.value
            if isinstance(base, _Lit):
                base, offset = self.shifted(base, offset), 0
            elif ref is None:
                ref = self.field(base)
                if ref.type not in ("int", "double"):
                    raise self.fail(f"cannot add a number to {self.describe(ref)} "
                                    f"({_type_label(ref.type)})", sign)
        return base, offset

    def shifted(self, operand: _Operand, offset: int | float) -> _Lit:
        """Returns a numeric literal plus ``offset``."""
        if not isinstance(operand, _Lit) or operand.type not in ("int", "double"):
            raise self.fail(f"{operand.token.value!r} must be a number to take part in arithmetic",
                            operand.token)
        value = operand.value + offset
        if isinstance(value, float):
            if not math.isfinite(value):
                raise self.fail("the arithmetic leaves the double range", operand.token)
            return _Lit(value + 0.0, "double", operand.token)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise self.fail("the arithmetic leaves the 64-bit integer range", operand.token)
        return _Lit(value, "int", operand.token)

    def _between(self, children) -> ast.Expr:
        operands = [c for c in children if not isinstance(c, lark.Token)]
        self.count_term(None)
        negated = any(isinstance(c, lark.Token) and c.type == "NOT" for c in children)
        between = next(c for c in children if isinstance(c, lark.Token) and c.type == "BETWEEN")
        value, low, high = (self.operand(o) for o in operands)
        if negated:
            return ast.Or((self.compare(value, "<", low, between),
                           self.compare(value, ">", high, between)))
        return ast.And((self.compare(value, ">=", low, between),
                        self.compare(value, "<=", high, between)))

    def _in_list(self, children) -> ast.Expr:
        operands = [c for c in children if not isinstance(c, lark.Token)]
        self.count_term(None)
        negated = any(isinstance(c, lark.Token) and c.type == "NOT" for c in children)
        left = self.operand(operands[0])
        ref = self.field_side(left, "IN")
        values: dict[object, None] = {}
        for item in operands[1:]:
            values.setdefault(self.literal_for(ref, self.operand(item), "IN"), None)
        expr: ast.Expr = ast.InList(ref.field, tuple(values))
        if negated:
            expr = ast.Not(expr)
            if ref.enum is not None:
                expr = ast.Or((expr, ast.IsNull(ref.field)))
        return expr

    def _like(self, children) -> ast.Expr:
        operands = [c for c in children if not isinstance(c, lark.Token)]
        self.count_term(None)
        negated = any(isinstance(c, lark.Token) and c.type == "NOT" for c in children)
        ref = self.field_side(self.operand(operands[0]), "LIKE")
        if ref.type != "string":
            raise self.fail(f"LIKE needs a string field; {self.describe(ref)} is "
                            f"{_type_label(ref.type)}", ref.token)
        pattern = self.operand(operands[1])
        if not isinstance(pattern, _Lit) or pattern.type != "string":
            raise self.fail("the pattern of LIKE must be a string literal", pattern.token)
        trailing = len(pattern.value) - len(pattern.value.rstrip("\\"))
        if trailing % 2:
            raise self.fail("the LIKE pattern ends with a lone backslash; write \"\\\\\\\\\" "
                            "in the query to match one backslash", pattern.token)
        expr: ast.Expr = ast.Like(ref.field, pattern.value)
        return ast.Not(expr) if negated else expr

    def _is_test(self, children) -> ast.Expr:
        self.count_term(None)
        operand = self.operand(children[0])
        negated = any(c.type == "NOT" for c in children[1:])
        target = children[-1]
        if target.type == "NULL":
            if isinstance(operand, _Lit):
                return ast.Constant((operand.type == "null") != negated)
            ref = self.field(operand)
            return ast.IsNull(ref.field, negated)
        wanted = target.type == "TRUE"
        if isinstance(operand, _Lit):
            if operand.type not in ("bool", "null"):
                raise self.fail(f"IS {target.type} needs a boolean; got "
                                f"{_type_label(operand.type)}", operand.token)
            return ast.Constant((operand.value is wanted) != negated)
        ref = self.field(operand)
        if ref.type != "bool":
            raise self.fail(f"IS {target.type} needs a boolean field; {self.describe(ref)} is "
                            f"{_type_label(ref.type)}", ref.token)
        if negated:
            return ast.Or((ast.IsNull(ref.field), ast.Comparison(ref.field, "!=", wanted)))
        return ast.And((ast.IsNull(ref.field, True), ast.Comparison(ref.field, "=", wanted)))

    def _bare(self, children) -> ast.Expr:
        self.count_term(None)
        operand = self.operand(children[0])
        if isinstance(operand, _Lit):
            if operand.type == "bool":
                return ast.Constant(operand.value)
            raise self.fail(f"{operand.token.value!r} is not a condition; the query must be a "
                            "boolean expression", operand.token)
        ref = self.field(operand)
        if ref.type != "bool":
            raise self.fail(f"{self.describe(ref)} is {_type_label(ref.type)}, not a condition; "
                            "compare it with a value", ref.token)
        return ast.Comparison(ref.field, "=", True)

    # -- comparisons

    def compare(self, left: _Operand, op: str, right: _Operand, op_token: lark.Token) -> ast.Expr:
        for side in (left, right):
            if isinstance(side, _Lit) and side.type == "null":
                raise self.fail(f"NULL cannot be an operand of {op}; use IS NULL or IS NOT NULL",
                                side.token)
        left_is_field = self.is_field(left)
        right_is_field = self.is_field(right)
        if not left_is_field and right_is_field:
            left, right, op = right, left, _FLIPPED[op]
            left_is_field, right_is_field = True, False
        if not left_is_field:
            return self.fold(left, op, right, op_token)
        ref = self.field(left)
        if right_is_field:
            other = self.field(right)
            if not _compatible(ref.type, other.type):
                raise self.fail(
                    f"cannot compare {self.describe(ref)} ({_type_label(ref.type)}) with "
                    f"{self.describe(other)} ({_type_label(other.type)})", op_token)
            return ast.Comparison(ref.field, op, other.field)
        value = self.literal_for(ref, right, op)
        expr: ast.Expr = ast.Comparison(ref.field, op, value)
        if op == "!=" and ref.enum is not None:
            expr = ast.Or((expr, ast.IsNull(ref.field)))
        return expr

    def fold(self, left: _Operand, op: str, right: _Operand, op_token: lark.Token) -> ast.Expr:
        for side in (left, right):
            if isinstance(side, _Path):
                # Neither side resolved as a field: report the left one.
                self.field(side)
        assert isinstance(left, _Lit) and isinstance(right, _Lit)
        if not _compatible(left.type, right.type):
            raise self.fail(f"cannot compare {_type_label(left.type)} with "
                            f"{_type_label(right.type)}", op_token)
        a, b = left.value, right.value
        result = {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
                  ">=": a >= b}[op]
        return ast.Constant(bool(result))

    def literal_for(self, ref: _FieldRef, operand: _Operand, op: str) -> ast.Value:
        """Checks ``operand`` is a literal usable against ``ref`` and returns its value."""
        if isinstance(operand, _Path):
            if ref.enum is not None and not self.is_field(operand):
                return self.enum_value(ref, operand)
            if not self.is_field(operand):
                self.field(operand)  # raises: an unknown name
            raise self.fail(f"{operand.token.value!r}: {op} takes literals only here",
                            operand.token)
        if operand.type == "null":
            raise self.fail(f"NULL cannot be used with {op}; use IS NULL or IS NOT NULL",
                            operand.token)
        if ref.enum is not None and operand.type != "string":
            example = next(iter(_ENUMS[ref.enum]))
            raise self.fail(f"{self.describe(ref)} takes an enum name such as {example}, not "
                            f"{_type_label(operand.type)}", operand.token)
        if not _compatible(ref.type, operand.type):
            hint = ""
            if ref.enum is not None and operand.type == "string":
                example = next(iter(_ENUMS[ref.enum]))
                hint = f"; write enum values unquoted, e.g. {self.describe(ref)} = {example}"
            raise self.fail(
                f"cannot compare {self.describe(ref)} ({_type_label(ref.type)}) with "
                f"{_type_label(operand.type)}{hint}", operand.token)
        value = operand.value
        if ref.type == "int" and operand.type == "double" and value.is_integer() \
                and _INT64_MIN <= value <= _INT64_MAX:
            # 2.0 means 2 to an integer field: comparing integers keeps every
            # backend exact (Neo4j would hand back the double for an index hit).
            value = int(value)
        return value

    def enum_value(self, ref: _FieldRef, operand: _Path) -> int:
        names = _ENUMS[ref.enum]
        text = operand.parts[0][0]
        if len(operand.parts) != 1 or text not in names:
            raise self.fail(
                f"{text!r} is not a valid {_ENUM_LABELS[ref.enum]} value; expected one of "
                f"{', '.join(names)}", operand.token)
        return names[text]

    # -- operands and names

    def operand(self, tree) -> _Operand:
        kind = tree.data
        tokens = tree.children
        if kind == "path":
            token = tokens[0]
            parts = tuple((m.group(1), True) if m.group(1) is not None else (m.group(2), False)
                          for m in _PATH_PART_RE.finditer(token.value))
            return _Path(parts, token)
        if kind == "string":
            token = tokens[0]
            text = self.decode_string(token)
            if "\x00" in text:
                # No record holds one (writes refuse it), and PostgreSQL cannot take one.
                raise self.fail("a string literal holds a NUL character", token)
            return _Lit(text, "string", token)
        if kind == "number":
            return self.number(tokens)
        if kind == "boolean":
            token = tokens[0]
            return _Lit(token.type == "TRUE", "bool", token)
        return _Lit(None, "null", tokens[0])

    def number(self, tokens) -> _Lit:
        sign = 1
        if tokens[0].type == "SIGN":
            sign = -1 if tokens[0].value == "-" else 1
        token = tokens[-1]
        text = token.value
        first = tokens[0]
        if token.type == "FLOAT":
            value = sign * float(text)
            if not math.isfinite(value):
                raise self.fail(f"number literal {text} is out of the double range", first)
            # -0.0 and 0.0 are one value in every backend's comparisons; adding
            # 0.0 drops the sign, which some databases would otherwise keep.
            return _Lit(value + 0.0, "double", first)
        value = sign * (int(text, 16) if text[:2] in ("0x", "0X") else int(text))
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise self.fail(f"integer literal {text} is out of the 64-bit range", first)
        return _Lit(value, "int", first)

    def decode_string(self, token: lark.Token) -> str:
        text = token.value
        raw = text[0] in "rR"
        if raw:
            text = text[1:]
        quote = 3 if text[:3] in ('"""', "'''") and len(text) >= 6 else 1
        body = text[quote:-quote]
        if raw or "\\" not in body:
            return body
        out: list[str] = []
        i = 0
        n = len(body)
        while i < n:
            c = body[i]
            if c != "\\":
                out.append(c)
                i += 1
                continue
            esc = body[i + 1] if i + 1 < n else ""
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i += 2
                continue
            width = {"x": 2, "X": 2, "u": 4, "U": 8}.get(esc)
            digits = "0123456789abcdefABCDEF"
            if width is not None:
                code = body[i + 2:i + 2 + width]
                if len(code) == width and all(d in digits for d in code):
                    value = int(code, 16)
                    if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
                        out.append(chr(value))
                        i += 2 + width
                        continue
            elif esc in "01234567" and esc:
                code = body[i + 1:i + 4]
                if len(code) == 3 and all(d in "01234567" for d in code) and int(code, 8) < 256:
                    out.append(chr(int(code, 8)))
                    i += 4
                    continue
            hint = ""
            if esc in "%_":
                hint = " (to match a literal % or _ with LIKE, double the backslash: \"\\\\%\")"
            offset = len(token.value) - len(text) + quote + i
            line, column = _position_in(token, offset)
            raise _error(self.query, f"illegal escape sequence {body[i:i + 2]} in a string "
                         f"literal{hint}", line, column)
        return "".join(out)

    def is_field(self, operand: _Operand) -> bool:
        """Tells a field from a bare word (an enum value such as LIVE, or a typo)."""
        if isinstance(operand, _Lit):
            return False
        if len(operand.parts) == 1 and not operand.parts[0][1]:
            return operand.parts[0][0].lower() in ast.NODE_ATTRIBUTES[self.kind]
        return True

    def field_side(self, operand: _Operand, what: str) -> _FieldRef:
        if isinstance(operand, _Lit):
            raise self.fail(f"the left side of {what} must be a field", operand.token)
        return self.field(operand)

    def describe(self, ref: _FieldRef) -> str:
        return ref.token.value

    def field(self, operand: _Operand) -> _FieldRef:
        """Resolves a name to a field of this node kind."""
        if isinstance(operand, _Lit):
            raise self.fail(f"expected a field, got {operand.token.value!r}", operand.token)
        token = operand.token
        parts = operand.parts
        head, _ = parts[0]
        lower = head.lower()
        attributes = ast.NODE_ATTRIBUTES[self.kind]
        if lower in ("properties", "custom_properties"):
            if len(parts) != 3:
                raise self.fail(
                    f"{token.value!r} is not a property value; write {lower}.<name>."
                    f"<{'|'.join(ast.VALUE_KINDS)}>", token)
            name = parts[1][0]
            value_kind = parts[2][0].lower()
            if value_kind not in ast.VALUE_KINDS:
                raise self.fail(f"unknown property value kind {parts[2][0]!r}; expected one of "
                                f"{', '.join(ast.VALUE_KINDS)}", token)
            is_custom = lower == "custom_properties"
            self.properties.setdefault(ast.HasProperty(name, is_custom), None)
            if len(self.properties) > MAX_PROPERTIES:
                raise self.fail(f"the query reads more than {MAX_PROPERTIES} distinct properties",
                                token)
            value_type = {"int_value": "int", "double_value": "double",
                          "string_value": "string", "bool_value": "bool"}[value_kind]
            return _FieldRef(ast.Property(name, value_kind, is_custom), value_type, None, token)
        match = _NEIGHBOUR_RE.fullmatch(head)
        if match:
            relation = match.group(1).lower()
            allowed = ast.RELATIONS[self.kind]
            if relation not in allowed:
                raise self.fail(
                    f"{head!r}: {self.kind}s cannot be filtered by {relation}; joins for "
                    f"{self.kind}s are {', '.join(r + '_<alias>' for r in allowed)}", token)
            neighbour_attrs = ast.neighbour_attributes(self.kind, relation)
            if len(parts) >= 2 and parts[1][0].lower() in ("properties", "custom_properties"):
                raise self.fail(f"{token.value!r}: properties of joined {relation} cannot be "
                                "used in a filter_query", token)
            if len(parts) != 2 or parts[1][0].lower() not in neighbour_attrs:
                attr = parts[1][0] if len(parts) > 1 else ""
                what = f"unknown attribute {attr!r} of {relation}" if len(parts) == 2 else \
                    f"{token.value!r} is not an attribute of {relation}"
                raise self.fail(f"{what}; expected {head}.<{'|'.join(neighbour_attrs)}>", token)
            attr = parts[1][0].lower()
            neighbour = ast.Neighbour(relation, match.group(2).lower())
            self.aliases.add(neighbour)
            if len(self.aliases) > MAX_ALIASES:
                raise self.fail(f"the query joins more than {MAX_ALIASES} aliases", token)
            value_type = neighbour_attrs[attr]
            enum = None
            if value_type == "enum":
                enum = (ast.NEIGHBOUR_KINDS[relation], attr)
            return _FieldRef(ast.Attribute(attr, neighbour), value_type, enum, token)
        if len(parts) == 1 and lower in attributes:
            value_type = attributes[lower]
            enum = (self.kind, lower) if value_type == "enum" else None
            return _FieldRef(ast.Attribute(lower), value_type, enum, token)
        if lower in attributes:
            raise self.fail(f"attribute {head!r} has no fields: {token.value!r}", token)
        hint = ""
        if lower in ast.NEIGHBOUR_KINDS:
            hint = f"; joins are written {lower}_<alias>.<attribute>"
        elif len(parts) == 1:
            hint = f"; attributes of {self.kind}s are {', '.join(attributes)}"
        raise self.fail(f"unknown field {token.value!r} for {self.kind}s{hint}", token)
