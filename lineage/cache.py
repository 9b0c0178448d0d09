"""Cache fingerprints: one stable SHA-256 per (execution type, inputs, properties).

An execution is recorded under two fingerprints: one over the sorted set of
its input artifact ids, one over its inputs grouped by input key (the first
``key`` step of each input event's path, "" when there is none). A cache
lookup computes the same fingerprint from the question and reads the index,
so its cost does not depend on how many executions read the same inputs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Iterable, Mapping, Union

from google.protobuf import json_format

from lineage import errors
from lineage.proto import metadata_store_pb2 as pb
from lineage.traversal import INPUT_EVENT_TYPES

__all__ = ["Inputs", "canonical_value", "fingerprint", "execution_fingerprints", "input_key"]

#: A list of input artifact ids, or a dict from input key to one id or a list of ids.
Inputs = Union[Iterable[int], Mapping[str, Union[int, Iterable[int]]]]


def canonical_value(value: Any) -> Any:
    """Turns a property value (a Value proto or a plain Python value) into JSON data.

    Raises:
        InvalidArgumentError: the value has a type properties cannot hold.
    """
    if isinstance(value, pb.Value):
        which = value.WhichOneof("value")
        if which is None:
            return None
        if which == "struct_value":
            return {"struct": json_format.MessageToDict(value.struct_value)}
        if which == "proto_value":
            return {
                "proto": value.proto_value.type_url,
                "bytes": base64.b64encode(value.proto_value.value).decode("ascii"),
            }
        value = getattr(value, which)
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"double": repr(value)}
    if isinstance(value, str):
        return {"string": value}
    raise errors.InvalidArgumentError(
        f"property value {value!r} of type {type(value).__name__} cannot be a property: "
        "use int, float, str, bool or a Value proto"
    )


def _normal_inputs(inputs: Inputs) -> tuple[bool, Any]:
    """Returns (keyed, canonical inputs) for a list or a dict of input ids."""
    if isinstance(inputs, Mapping):
        grouped = {}
        for key, ids in inputs.items():
            id_list = [ids] if isinstance(ids, int) else list(ids)
            grouped[str(key)] = sorted({int(i) for i in id_list})
        return True, sorted(grouped.items())
    return False, sorted({int(i) for i in inputs})


def fingerprint(type_name: str, type_version: str, inputs: Inputs, properties: Mapping[str, Any] | None) -> str:
    """Returns the hex SHA-256 cache key of a step.

    Args:
        type_name: The execution type's name.
        type_version: Its version ("" when unversioned).
        inputs: Input artifact ids as a list, or a dict from input key to ids.
        properties: Property name -> value (plain or Value proto); None means none.
    """
    return _digest(type_name, type_version, inputs, _canonical_properties(properties))


def _canonical_properties(properties: Mapping[str, Any] | None) -> list:
    return sorted([k, canonical_value(v)] for k, v in (properties or {}).items())


def _digest(type_name: str, type_version: str, inputs: Inputs, canonical_properties: list | str,
            type_text: str | None = None) -> str:
    """The fingerprint; ``canonical_properties`` may come already encoded by ``_json``,
    and the type's part of the text (see ``_type_text``) already written."""
    keyed, canonical_inputs = _normal_inputs(inputs)
    if not isinstance(canonical_properties, str):
        canonical_properties = _json(canonical_properties)
    if type_text is None:
        type_text = _type_text(type_name, type_version)
    # A JSON array of already-sorted parts: stable across processes and languages. It is
    # written part by part, which gives the same text as encoding the whole array; ids
    # are ints, whose JSON is their decimal text, so only strings go through json.
    if keyed:
        inputs_text = ",".join(f"[{_json(key)},{_int_list(ids)}]" for key, ids in canonical_inputs)
        text = f"[{type_text},true,[{inputs_text}],{canonical_properties}]"
    else:
        text = f"[{type_text},false,{_int_list(canonical_inputs)},{canonical_properties}]"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _type_text(type_name: str, type_version: str) -> str:
    """The first three parts of the fingerprint's array: the version tag and the type."""
    return f"{_VERSION_TEXT},{_json(type_name)},{_json(type_version)}"


def _int_list(ids: list[int]) -> str:
    return "[" + ",".join(map(str, ids)) + "]"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


_VERSION_TEXT = _json("lineage-cache-v1")


def input_key(event: pb.Event) -> str:
    """Returns the input key of an event: its path's first ``key`` step, or ""."""
    for step in event.path.steps:
        if step.HasField("key"):
            return step.key
    return ""


def execution_fingerprints(
    execution: pb.Execution, type_: pb.ExecutionType, events: Iterable[pb.Event]
) -> tuple[str, str]:
    """Returns the (by ids, by keys) fingerprints an execution is indexed under."""
    properties = {**dict(execution.custom_properties), **dict(execution.properties)}
    by_key: dict[str, list[int]] = {}
    for event in events:
        if event.type in INPUT_EVENT_TYPES and event.execution_id == execution.id:
            by_key.setdefault(input_key(event), []).append(event.artifact_id)
    ids = [i for group in by_key.values() for i in group]
    canonical = _json(_canonical_properties(properties))
    type_text = _type_text(type_.name, type_.version)
    return (
        _digest(type_.name, type_.version, ids, canonical, type_text),
        _digest(type_.name, type_.version, by_key, canonical, type_text),
    )
