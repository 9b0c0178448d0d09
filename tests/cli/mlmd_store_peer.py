"""Runs inside ml-metadata's own virtual environment: writes or dumps an MLMD SQLite store.

Usage::

    python mlmd_store_peer.py write PATH   # a small history with one of everything
    python mlmd_store_peer.py dump PATH    # prints every record as JSON (base64 protos, sorted)

It imports ml_metadata only, never lineage: the dump is ml-metadata's own view of a file.
"""

from __future__ import annotations

import base64
import json
import sys
import time

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb


def open_store(path: str):
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


def write(path: str) -> None:
    store = open_store(path)
    dataset = pb.ArtifactType(name="Dataset", version="v1", description="rows", external_id="t:dataset",
                              base_type=pb.ArtifactType.DATASET)
    dataset.properties["day"] = pb.INT
    dataset.properties["split"] = pb.STRING
    dataset.properties["meta"] = pb.STRUCT
    dataset.properties["ok"] = pb.BOOLEAN
    dataset_type = store.put_artifact_type(dataset)
    model_type = store.put_artifact_type(pb.ArtifactType(name="Model", base_type=pb.ArtifactType.MODEL))
    trainer = pb.ExecutionType(name="Trainer", base_type=pb.ExecutionType.TRAIN)
    trainer.properties["lr"] = pb.DOUBLE
    trainer_type = store.put_execution_type(trainer)
    run_type = store.put_context_type(pb.ContextType(name="Run", external_id="t:run"))
    project_type = store.put_context_type(pb.ContextType(name="Project"))

    project_id, = store.put_contexts([pb.Context(type_id=project_type, name="p", external_id="x:p")])
    previous = None
    for day in range(4):
        data = pb.Artifact(type_id=dataset_type, uri=f"/data/{day}", state=pb.Artifact.LIVE,
                           name=f"data-{day}", external_id=f"x:data-{day}")
        data.properties["day"].int_value = day
        data.properties["split"].string_value = "train"
        data.properties["meta"].struct_value.update({"rows": 10.0 * day, "tags": ["a", "b"]})
        data.properties["ok"].bool_value = day % 2 == 0
        data.custom_properties["note"].string_value = "caf\u00e9"
        execution = pb.Execution(type_id=trainer_type, last_known_state=pb.Execution.COMPLETE)
        execution.properties["lr"].double_value = 0.1 / (day + 1)
        execution.custom_properties["attempt"].int_value = day
        model = pb.Artifact(type_id=model_type, uri=f"/models/{day}", state=pb.Artifact.LIVE)
        inputs = [(data, pb.Event(type=pb.Event.INPUT, path=pb.Event.Path(
            steps=[pb.Event.Path.Step(key="examples"), pb.Event.Path.Step(index=0)])))]
        if previous is not None:
            inputs.append((previous, pb.Event(type=pb.Event.INPUT, path=pb.Event.Path(
                steps=[pb.Event.Path.Step(key="warm_start")]))))
        run = pb.Context(type_id=run_type, name=f"run-{day}")
        run.custom_properties["day"].int_value = day
        _, ids, context_ids = store.put_execution(
            execution, inputs + [(model, pb.Event(type=pb.Event.OUTPUT))],
            [store.get_contexts_by_id([project_id])[0], run])
        store.put_parent_contexts([pb.ParentContext(child_id=context_ids[1], parent_id=project_id)])
        previous = store.get_artifacts_by_id([ids[-1]])[0]
    time.sleep(0.01)
    stale = store.get_artifacts_by_id([1])[0]
    stale.state = pb.Artifact.DELETED
    store.put_artifacts([stale])


def dump(path: str) -> dict:
    store = open_store(path)

    def encode(items):
        return sorted(base64.b64encode(i.SerializeToString(deterministic=True)).decode() for i in items)

    ids = range(1, 100)
    artifacts, executions, contexts = store.get_artifacts(), store.get_executions(), store.get_contexts()
    return {
        "artifact_types": encode(store.get_artifact_types_by_id(ids)),
        "execution_types": encode(store.get_execution_types_by_id(ids)),
        "context_types": encode(store.get_context_types_by_id(ids)),
        "artifacts": encode(artifacts),
        "executions": encode(executions),
        "contexts": encode(contexts),
        "events": encode(store.get_events_by_execution_ids([e.id for e in executions])),
        "attributions": sorted([a.id, c.id] for c in contexts for a in store.get_artifacts_by_context(c.id)),
        "associations": sorted([e.id, c.id] for c in contexts for e in store.get_executions_by_context(c.id)),
        "parents": sorted([c.id, p.id] for c in contexts for p in store.get_parent_contexts_by_context(c.id)),
    }


if __name__ == "__main__":
    command, target = sys.argv[1], sys.argv[2]
    if command == "write":
        write(target)
    else:
        print(json.dumps(dump(target)))
