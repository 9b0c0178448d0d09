"""LIKE matching in linear time: the same answers as SQL LIKE, no backtracking."""

from __future__ import annotations

import itertools
import random
import re
import sys
import time

import pytest

from lineage.query import like


def _reference(pattern: str, text: str) -> bool:
    """SQL LIKE by dynamic programming over (pattern token, text position)."""
    tokens: list[str | None] = []
    chars = iter(pattern)
    for c in chars:
        if c == "\\":
            tokens.append(next(chars, "\\"))
        elif c == "%":
            tokens.append(None)
        elif c == "_":
            tokens.append("")
        else:
            tokens.append(c)
    reachable = {0}
    for token in tokens:
        if token is None:
            start = min(reachable, default=None)
            reachable = set() if start is None else set(range(start, len(text) + 1))
        else:
            reachable = {i + 1 for i in reachable
                         if i < len(text) and (token == "" or text[i] == token)}
    return len(text) in reachable


def _cases(seed: int, count: int):
    rng = random.Random(seed)
    pieces = ["a", "b", "%", "_", "\\%", "\\_", "\\\\"]
    for _ in range(count):
        pattern = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 7)))
        text = "".join(rng.choice("ab%_\\") for _ in range(rng.randint(0, 7)))
        yield pattern, text


def test_matcher_agrees_with_sql_like():
    for pattern, text in itertools.chain(_cases(17, 4000), [("", ""), ("%", ""), ("_", "")]):
        assert like.matcher(pattern)(text) == _reference(pattern, text), (pattern, text)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="atomic groups need Python 3.11")
def test_regex_agrees_with_sql_like():
    for pattern, text in _cases(18, 4000):
        body = like.regex(pattern, re.escape)
        found = re.fullmatch("(?s)" + body, text) is not None
        assert found == _reference(pattern, text), (pattern, body, text)


def test_hostile_patterns_take_linear_time():
    text = "a" * 5000
    pattern = "%a" * 30 + "b"
    start = time.perf_counter()
    assert not like.matcher(pattern)(text)
    assert not like.matcher("%a%a%ab")(text + "a" * 5000)
    if sys.version_info >= (3, 11):
        assert re.fullmatch("(?s)" + like.regex(pattern, re.escape), text) is None
    # The backtracking form needs hours here; the segment form a few milliseconds.
    assert time.perf_counter() - start < 2.0
