"""MLMD's filter_query language: parse once, compile per backend.

``parse_filter`` turns query text into a checked, immutable syntax tree
(``lineage.query.ast``); each backend compiles that tree: to a Python
predicate (``python_compiler``), a SQLAlchemy expression or Cypher with
parameters.
"""

from lineage.query.ast import aliases, neighbours
from lineage.query.parser import parse_filter

__all__ = ["parse_filter", "aliases", "neighbours"]
