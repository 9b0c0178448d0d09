"""Text arguments of the public API that protobuf cannot carry.

Protobuf refuses, with a bare ``UnicodeEncodeError``, any string that is not
valid UTF-8: in Python, one holding a lone surrogate such as ``"\\ud800"``.
The facades build their request messages from plain arguments, so that error
would reach the caller without saying which argument held the character.
``refuse_surrogates`` turns it into ``InvalidArgumentError`` naming the
argument. It is raised while the request is being built, before anything is
sent, so nothing is written.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from lineage import errors

_Class = TypeVar("_Class", bound=type)

# How deep into nested containers an argument is searched for the character.
_MAX_DEPTH = 8


def _invalid(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _where(value: Any, path: str, depth: int = 0) -> str | None:
    """The path, below ``path``, of the first string in ``value`` that is not valid UTF-8."""
    if isinstance(value, str):
        return path if _invalid(value) else None
    if depth >= _MAX_DEPTH:
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and _invalid(key):
                return f"{path} (a key)"
            found = _where(item, f"{path}[{key!r}]", depth + 1)
            if found:
                return found
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            found = _where(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            found = _where(getattr(value, field.name), f"{path}.{field.name}", depth + 1)
            if found:
                return found
    return None


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except UnicodeEncodeError as e:
            where = None
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                bound = None
            if bound is not None:
                for name, value in list(bound.arguments.items())[1:]:
                    where = _where(value, name)
                    if where:
                        break
            character = e.object[e.start:e.end] if isinstance(e.object, str) else ""
            raise errors.InvalidArgumentError(
                f"{where or 'an argument'} holds {character!r}, a lone surrogate: text must be "
                "valid Unicode (UTF-8 cannot encode it)") from e

    return run


def refuse_surrogates(cls: _Class) -> _Class:
    """Class decorator: every public method answers a lone surrogate with ``InvalidArgumentError``."""
    for name, member in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(cls, name, _guarded(member))
    return cls
