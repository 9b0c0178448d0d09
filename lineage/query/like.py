"""LIKE patterns matched in linear time, for the backends that match them by regex.

A LIKE pattern is a sequence of fixed-length segments (literal characters and
``_``) separated by ``%``. The textbook translation to a regular expression,
``.*a.*a.*b``, backtracks: each ``.*`` retries every split of the string when
a later segment fails, so eight segments cost seconds and a long string
minutes. Matching segment by segment instead is exact and linear: taking the
earliest place where each segment fits leaves the longest rest of the string
for the segments after it, so if any choice of places matches, that one does.

``regex`` writes that rule in regular-expression syntax (an atomic group
around each lazily searched segment, so the engine never reconsiders a place
it took); ``matcher`` runs it in Python with ``str.find``-like searches.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable

__all__ = ["LikePattern", "split", "regex", "matcher"]

#: A segment: one entry per character; "" stands for ``_`` (any one character).
Segment = tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class LikePattern:
    """A LIKE pattern split at its ``%`` wildcards.

    Attributes:
        segments: The fixed-length pieces between ``%``, in order; may be empty
            only for the patterns ``""`` (one empty segment) and ``%``.
        open_start: The pattern begins with ``%``.
        open_end: The pattern ends with ``%``.
    """

    segments: tuple[Segment, ...]
    open_start: bool
    open_end: bool


def split(pattern: str) -> LikePattern:
    """Splits a LIKE pattern (``%``, ``_``, backslash escapes) into segments."""
    segments: list[Segment] = []
    current: list[str] = []
    open_start = False
    chars = iter(pattern)
    for c in chars:
        if c == "%":
            if not segments and not current:
                open_start = True
            if current:
                segments.append(tuple(current))
                current = []
            continue
        if c == "\\":
            current.append(next(chars, "\\"))
        elif c == "_":
            current.append("")
        else:
            current.append(c)
    open_end = pattern.endswith("%") and not _escaped_at_end(pattern)
    if current or not segments:
        segments.append(tuple(current))
    if open_start and open_end and segments == [()]:
        segments = []
    return LikePattern(tuple(segments), open_start, open_end)


def _escaped_at_end(pattern: str) -> bool:
    """True when the last character of ``pattern`` is escaped by a backslash."""
    backslashes = len(pattern) - 1 - len(pattern[:-1].rstrip("\\"))
    return backslashes % 2 == 1


def regex(pattern: str, literal: Callable[[str], str], any_char: str = ".") -> str:
    """Writes a LIKE pattern as a whole-string regular expression that never backtracks.

    Args:
        pattern: The LIKE pattern.
        literal: Spells one character as a literal of the target regex flavour.
        any_char: The regex matching one character (with DOTALL in effect).

    Returns:
        The expression body (no flags); it needs atomic groups ``(?>...)``,
        which Java and Python 3.11+ support.
    """
    parsed = split(pattern)
    segments = [
        "".join(any_char if c == "" else literal(c) for c in segment) for segment in parsed.segments
    ]
    if not segments:
        return ".*"
    parts: list[str] = []
    last = len(segments) - 1
    for index, text in enumerate(segments):
        pinned_start = index == 0 and not parsed.open_start
        if index == last and not parsed.open_end:
            # The last segment sits at the very end: one greedy run before it,
            # no segment after it to make the engine retry.
            parts.append(text if pinned_start else f".*{text}")
        elif pinned_start:
            parts.append(text)
        else:
            parts.append(f"(?>.*?{text})")
    if parsed.open_end:
        parts.append(".*")
    return "".join(parts)


def matcher(pattern: str) -> Callable[[str], bool]:
    """Returns ``match(text) -> bool`` for a LIKE pattern, linear in ``text``."""
    parsed = split(pattern)
    searches = [re.compile("".join("." if c == "" else re.escape(c) for c in segment), re.DOTALL)
                for segment in parsed.segments]
    widths = [len(segment) for segment in parsed.segments]
    open_start, open_end = parsed.open_start, parsed.open_end
    last = len(searches) - 1

    def match(text: str) -> bool:
        position = 0
        for index, search in enumerate(searches):
            if index == 0 and not open_start:
                if search.match(text, 0) is None:
                    return False
                position = widths[0]
            elif index == last and not open_end:
                start = len(text) - widths[index]
                if start < position or search.match(text, start) is None:
                    return False
                position = len(text)
            else:
                found = search.search(text, position)
                if found is None:
                    return False
                position = found.end()
            if index == last and not open_end:
                return position == len(text)
        return open_end or position == len(text) or not searches

    return match
