"""A rich MLMD graph, written and read back through MLMD's Python API, by either library.

Run with the python of the ml-metadata virtual environment (see
``scripts/mlmd-venv``)::

    python mlmd_sqlite_peer.py write CONFIG_JSON SEED [basic]
    python mlmd_sqlite_peer.py read CONFIG_JSON
    python mlmd_sqlite_peer.py downgrade CONFIG_JSON VERSION
    python mlmd_sqlite_peer.py upgrade-read CONFIG_JSON
    python mlmd_sqlite_peer.py append CONFIG_JSON

``CONFIG_JSON`` is a ``ConnectionConfig`` as JSON. ``write`` fills a new store
with a seeded graph (types with properties of every kind, nodes with
properties and custom properties, events with paths, contexts with parents,
attributions, associations; ``basic`` keeps to int, double and string values
and leaves external ids out) and prints ``dump``; ``read`` prints ``dump`` of
an existing store; ``upgrade-read`` opens with ``enable_upgrade_migration``
first; ``append`` adds one execution reading an existing artifact and writing
a new one (see :func:`append`). The output is one JSON document on stdout.

The test runs :func:`write` and :func:`dump` on ``lineage`` in its own process
and compares the documents. This module imports neither library at import time.
"""

from __future__ import annotations

import json
import random
import sys
from types import ModuleType
from typing import Any

from google.protobuf import json_format

# Text that MLMD's MySQL client double-encodes, that LIKE treats specially, or
# that differs only in case.
TEXTS = ["plain", "h\u00e9llo \u00c1", "\u65e5\u672c", "\U0001f600", "50%_off", "back\\slash", "Case", "",
         "quote'd \"dq\"", "line\nbreak"]


def write(mlmd: ModuleType, pb: ModuleType, config: Any, seed: int, basic: bool = False) -> Any:
    """Writes the seeded graph into a new store; returns the open store."""
    rng = random.Random(seed)
    store = mlmd.MetadataStore(config)
    # ml-metadata 1.17.1 writes a backslash into PostgreSQL SQL text unescaped
    # (an E'' literal), which breaks its own statement.
    texts = [t for t in TEXTS if "\\" not in t] if config.HasField("postgresql") else TEXTS
    kinds = ["int", "double", "string"] + ([] if basic else ["struct", "proto", "bool"])
    type_of = {"int": pb.INT, "double": pb.DOUBLE, "string": pb.STRING, "struct": pb.STRUCT,
               "proto": pb.PROTO, "bool": pb.BOOLEAN}

    def value(kind: str, target) -> None:
        if kind == "int":
            target.int_value = rng.choice([0, -7, 2**31 - 1, -(2**31), rng.randint(-99, 99)])
        elif kind == "double":
            # Six decimals at most: ml-metadata writes doubles with six decimals.
            target.double_value = rng.choice([0.0, -0.5, 0.125, 1.5, 3.25, round(rng.uniform(-9, 9), 6)])
        elif kind == "string":
            target.string_value = rng.choice(texts)
        elif kind == "struct":
            target.struct_value.update({"a": rng.randint(0, 9), "list": [1, "x", True, None],
                                        "nested": {"t": rng.choice(texts)}})
        elif kind == "proto":
            target.proto_value.Pack(pb.Value(string_value=rng.choice(texts)))
        else:
            target.bool_value = rng.random() < 0.5

    types = {}
    for kind, cls, put in (("artifact", pb.ArtifactType, store.put_artifact_type),
                           ("execution", pb.ExecutionType, store.put_execution_type),
                           ("context", pb.ContextType, store.put_context_type)):
        for index in range(2):
            type_ = cls(name=f"{kind.title()}Type{index}", description=f"{kind} \u00e9 {index}")
            if index:
                type_.version = "v2"
                if not basic:
                    type_.external_id = f"{kind}-type-ext"
            for prop in kinds:
                type_.properties[f"p_{prop}"] = type_of[prop]
            if kind == "artifact" and index == 1:
                type_.base_type = pb.ArtifactType.MODEL
            if kind == "execution" and index == 0:
                type_.base_type = pb.ExecutionType.TRAIN
                type_.input_type.dict.properties["examples"].simple.name = "ArtifactType0"
                type_.output_type.any.SetInParent()
            types.setdefault(kind, []).append(put(type_))

    def fill(node, kind_index: int) -> None:
        for prop in kinds:
            if rng.random() < 0.8:
                value(prop, node.properties[f"p_{prop}"])
        for index in range(rng.randint(0, 4)):
            value(rng.choice(kinds), node.custom_properties[f"c{index}_{rng.choice(texts[:3])}"])

    artifacts = []
    for index in range(12):
        artifact = pb.Artifact(type_id=types["artifact"][index % 2], uri=f"/data/{rng.choice(texts)}/{index}",
                               state=rng.choice([pb.Artifact.LIVE, pb.Artifact.PENDING, pb.Artifact.DELETED]))
        if index % 3:
            artifact.name = f"artifact-{index}-{rng.choice(texts[:4])}"
        if index % 4 == 1 and not basic:
            artifact.external_id = f"artifact-ext-{index}"
        fill(artifact, index)
        artifacts.append(artifact)
    artifact_ids = store.put_artifacts(artifacts)
    executions = []
    for index in range(8):
        execution = pb.Execution(type_id=types["execution"][index % 2],
                                 last_known_state=rng.choice([pb.Execution.COMPLETE, pb.Execution.RUNNING]))
        if index % 2:
            execution.name = f"execution-{index}"
        if index == 3 and not basic:
            execution.external_id = "execution-ext-3"
        fill(execution, index)
        executions.append(execution)
    execution_ids = store.put_executions(executions)
    events = []
    for index, execution_id in enumerate(execution_ids):
        for artifact_id, event_type in ((artifact_ids[index], pb.Event.INPUT),
                                        (artifact_ids[index + 1], pb.Event.OUTPUT),
                                        (artifact_ids[(index * 5) % 12], pb.Event.DECLARED_OUTPUT)):
            event = pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=event_type)
            for step in range(rng.randint(0, 3)):
                if rng.random() < 0.5:
                    event.path.steps.add().index = rng.randint(0, 4)
                else:
                    event.path.steps.add().key = rng.choice(texts)
            events.append(event)
    store.put_events(events)
    contexts = []
    for index in range(4):
        context = pb.Context(type_id=types["context"][index % 2], name=f"run-{index}-{rng.choice(texts[:4])}")
        if index == 2 and not basic:
            context.external_id = "context-ext-2"
        fill(context, index)
        contexts.append(context)
    context_ids = store.put_contexts(contexts)
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=context_ids[i % 4]) for i, a in enumerate(artifact_ids)],
        [pb.Association(execution_id=e, context_id=context_ids[(i + 1) % 4]) for i, e in enumerate(execution_ids)])
    store.put_parent_contexts([pb.ParentContext(child_id=context_ids[1], parent_id=context_ids[0]),
                               pb.ParentContext(child_id=context_ids[2], parent_id=context_ids[0]),
                               pb.ParentContext(child_id=context_ids[3], parent_id=context_ids[2])])
    # An update, as pipelines do: a new state and one more custom property.
    [first] = store.get_artifacts_by_id([artifact_ids[0]])
    first.state = pb.Artifact.MARKED_FOR_DELETION
    first.custom_properties["updated"].string_value = "yes"
    store.put_artifacts([first])
    return store


def append(mlmd: ModuleType, pb: ModuleType, store: Any) -> int:
    """Adds a completed execution of ExecutionType1 reading artifact 1; returns its id."""
    [execution_type] = [t for t in store.get_execution_types() if t.name == "ExecutionType1"]
    [artifact_type] = [t for t in store.get_artifact_types() if t.name == "ArtifactType0"]
    execution = pb.Execution(type_id=execution_type.id, last_known_state=pb.Execution.COMPLETE)
    [source] = store.get_artifacts_by_id([1])
    source.state = pb.Artifact.LIVE
    read = pb.Event(type=pb.Event.INPUT)
    read.path.steps.add().key = "examples"
    output = pb.Artifact(type_id=artifact_type.id, uri="/appended", state=pb.Artifact.LIVE)
    execution_id, _, _ = store.put_execution(execution, [(source, read), (output, pb.Event(type=pb.Event.OUTPUT))], [])
    return execution_id


def _message(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _messages(messages) -> list:
    return [_message(m) for m in messages]


def dump(mlmd: ModuleType, pb: ModuleType, store: Any) -> dict:
    """Everything MLMD's API reads from the store, as JSON data (timestamps included)."""
    ids = list(range(1, 60))
    out: dict[str, Any] = {
        "artifact_types": _messages(store.get_artifact_types()),
        "execution_types": _messages(store.get_execution_types()),
        "context_types": _messages(store.get_context_types()),
        "types_by_id": [_messages(store.get_artifact_types_by_id(ids)),
                        _messages(store.get_execution_types_by_id(ids)),
                        _messages(store.get_context_types_by_id(ids))],
        "artifacts": _messages(store.get_artifacts_by_id(ids)),
        "executions": _messages(store.get_executions_by_id(ids)),
        "contexts": _messages(store.get_contexts_by_id(ids)),
        "artifacts_listed": _messages(store.get_artifacts()),
        "events": _messages(store.get_events_by_artifact_ids(ids)),
        "events_by_execution": _messages(store.get_events_by_execution_ids(ids)),
    }
    for context in store.get_contexts():
        out[f"context {context.id}"] = {
            "artifacts": _messages(store.get_artifacts_by_context(context.id)),
            "executions": _messages(store.get_executions_by_context(context.id)),
            "parents": _messages(store.get_parent_contexts_by_context(context.id)),
            "children": _messages(store.get_children_contexts_by_context(context.id)),
        }
    for artifact in store.get_artifacts():
        try:
            found = _messages(store.get_contexts_by_artifact(artifact.id))
        except Exception as e:  # noqa: BLE001 - the error class is part of the answer
            found = type(e).__name__
        out[f"contexts of artifact {artifact.id}"] = found
        out[f"by uri {artifact.id}"] = [a.id for a in store.get_artifacts_by_uri(artifact.uri)]
        if artifact.name:
            type_name = store.get_artifact_types_by_id([artifact.type_id])[0]
            found_by_name = store.get_artifact_by_type_and_name(
                type_name.name, artifact.name, type_version=type_name.version or None)
            out[f"by name {artifact.id}"] = found_by_name.id if found_by_name else None
    for type_ in store.get_execution_types():
        out[f"executions of {type_.name}"] = _messages(
            store.get_executions_by_type(type_.name, type_version=type_.version or None))
    return out


def main(argv: list[str]) -> int:
    import ml_metadata as mlmd
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    command, config_json = argv[0], argv[1]
    config = json_format.Parse(config_json, pb.ConnectionConfig())
    if command == "write":
        store = write(mlmd, pb, config, int(argv[2]), basic=len(argv) > 3 and argv[3] == "basic")
    elif command == "read":
        store = mlmd.MetadataStore(config)
    elif command == "upgrade-read":
        store = mlmd.MetadataStore(config, enable_upgrade_migration=True)
    elif command == "append":
        store = mlmd.MetadataStore(config)
        append(mlmd, pb, store)
    elif command == "downgrade":
        metadata_store.downgrade_schema(config, int(argv[2]))
        print(json.dumps({"downgraded": int(argv[2])}))
        return 0
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(dump(mlmd, pb, store)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
