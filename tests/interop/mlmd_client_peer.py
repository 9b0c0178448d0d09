"""The ml-metadata client side of the gRPC interoperability test.

Run with the python of the ml-metadata virtual environment (see
``scripts/mlmd-venv``)::

    python mlmd_client_peer.py HOST PORT [SSL_JSON]

It opens ml-metadata's own ``MetadataStore`` on a ``MetadataStoreClientConfig``
pointing at HOST:PORT (over TLS when SSL_JSON names a JSON file holding the
client ``SSLConfig`` fields ``custom_ca``, ``client_key``, ``server_cert``), plays ``run_round`` against that (fresh) server and
prints the transcript as one JSON document on stdout.

``run_round`` only uses the MLMD Python API, handed in as an ``Api`` bundle,
so the test plays the very same round on ``lineage.MetadataStore`` in its own
process and compares the two transcripts. This module imports nothing from
ml-metadata or lineage at import time.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from types import ModuleType
from typing import Any, Callable

from google.protobuf import json_format, message

#: Fields that hold wall-clock times; they differ between any two runs.
TIME_FIELDS = ("create_time_since_epoch", "last_update_time_since_epoch", "milliseconds_since_epoch")


@dataclasses.dataclass
class Api:
    """The pieces of the MLMD Python API a round needs.

    Attributes:
        store: An open, empty ``MetadataStore``.
        pb: The ``metadata_store_pb2`` module.
        errors: The ``errors`` module (``StatusError`` and its subclasses).
        ListOptions: The ``ListOptions`` class.
        OrderByField: The ``OrderByField`` enum.
    """

    store: Any
    pb: ModuleType
    errors: ModuleType
    ListOptions: Any
    OrderByField: Any


def _strip_times(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip_times(v) for k, v in data.items() if k not in TIME_FIELDS}
    if isinstance(data, list):
        return [_strip_times(v) for v in data]
    return data


def normalize(value: Any) -> Any:
    """Turns a call's result into JSON-ready data without wall-clock times."""
    if isinstance(value, message.Message):
        return _strip_times(json_format.MessageToDict(value, preserving_proto_field_name=True))
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    return value


def by_id(nodes: Any) -> list:
    """Orders nodes by id, for calls whose result order is unspecified."""
    return sorted(nodes, key=lambda n: n.id)


class Transcript:
    """Records each step's result or error."""

    def __init__(self, errors: ModuleType):
        self.steps: list[dict[str, Any]] = []
        self._errors = errors

    def call(self, name: str, fn: Callable[[], Any], shape: Callable[[Any], Any] = lambda v: v) -> Any:
        """Runs ``fn``; records ``shape(result)`` or the error it raised.

        Returns:
            The raw result, or None when ``fn`` raised.
        """
        try:
            result = fn()
        except Exception as e:  # noqa: BLE001 - the class is what the transcript records
            self.steps.append({
                "step": name,
                "error": type(e).__name__,
                "status_error": isinstance(e, self._errors.StatusError),
                "message": str(e),
            })
            return None
        self.steps.append({"step": name, "result": normalize(shape(result))})
        return result


def run_round(api: Api) -> list[dict[str, Any]]:
    """Plays a fixed sequence of calls on a fresh store and returns the transcript."""
    store, pb = api.store, api.pb
    t = Transcript(api.errors)

    # --- types
    dataset_type = pb.ArtifactType(name="Dataset", properties={"split": pb.STRING, "rows": pb.INT})
    dataset_type_id = t.call("put_artifact_type Dataset", lambda: store.put_artifact_type(dataset_type))
    model_type_id = t.call("put_artifact_type Model", lambda: store.put_artifact_type(
        pb.ArtifactType(name="Model", version="v1", properties={"accuracy": pb.DOUBLE},
                        external_id="model-type")))
    trainer_type_id = t.call("put_execution_type Trainer", lambda: store.put_execution_type(
        pb.ExecutionType(name="Trainer", properties={"learning_rate": pb.DOUBLE, "step": pb.STRING})))
    pipeline_type_id = t.call("put_context_type Pipeline", lambda: store.put_context_type(
        pb.ContextType(name="Pipeline", properties={"owner": pb.STRING})))
    run_type_id = t.call("put_context_type Run", lambda: store.put_context_type(
        pb.ContextType(name="Run")))
    t.call("put_artifact_type again is idempotent", lambda: store.put_artifact_type(dataset_type))
    t.call("put_artifact_type conflicting property type", lambda: store.put_artifact_type(
        pb.ArtifactType(name="Dataset", properties={"split": pb.INT, "rows": pb.INT})))
    t.call("put_artifact_type add field", lambda: store.put_artifact_type(
        pb.ArtifactType(name="Dataset", properties={"split": pb.STRING, "rows": pb.INT,
                                                    "format": pb.STRING}),
        can_add_fields=True))
    t.call("get_artifact_type Dataset", lambda: store.get_artifact_type("Dataset"))
    t.call("get_artifact_type Model v1", lambda: store.get_artifact_type("Model", type_version="v1"))
    t.call("get_artifact_type missing", lambda: store.get_artifact_type("NoSuchType"))
    t.call("get_artifact_types", lambda: store.get_artifact_types(), by_id)
    t.call("get_execution_types", lambda: store.get_execution_types(), by_id)
    t.call("get_context_types", lambda: store.get_context_types(), by_id)
    t.call("get_execution_types_by_id", lambda: store.get_execution_types_by_id([trainer_type_id]))
    t.call("get_context_types_by_id", lambda: store.get_context_types_by_id(
        [pipeline_type_id, run_type_id, 424242]), by_id)
    t.call("get_artifact_types_by_external_ids",
           lambda: store.get_artifact_types_by_external_ids(["model-type"]))

    # --- artifacts
    def dataset(name: str, uri: str, split: str, rows: int) -> Any:
        a = pb.Artifact(type_id=dataset_type_id, name=name, uri=uri, state=pb.Artifact.LIVE)
        a.properties["split"].string_value = split
        a.properties["rows"].int_value = rows
        a.custom_properties["source"].string_value = "peer"
        a.custom_properties["weight"].double_value = 0.5
        return a

    train = dataset("train", "s3://bucket/train", "train", 1000)
    train.external_id = "ds-train"
    test = dataset("test", "s3://bucket/test", "test", 200)
    raw = dataset("raw", "file:///raw", "all", 1200)
    raw.custom_properties["meta"].struct_value.update({"origin": "crawler", "tags": ["a", "b"]})
    artifact_ids = t.call("put_artifacts", lambda: store.put_artifacts([train, test, raw]))
    train_id, test_id, raw_id = artifact_ids
    t.call("get_artifacts_by_id", lambda: store.get_artifacts_by_id([raw_id, train_id, 999]), by_id)
    t.call("get_artifacts_and_types_by_artifact_ids",
           lambda: store.get_artifacts_and_types_by_artifact_ids([train_id, test_id]),
           lambda r: [by_id(r[0]), by_id(r[1])])
    t.call("get_artifacts_by_uri", lambda: store.get_artifacts_by_uri("s3://bucket/test"))
    t.call("get_artifacts_by_type", lambda: store.get_artifacts_by_type("Dataset"), by_id)
    t.call("get_artifact_by_type_and_name",
           lambda: store.get_artifact_by_type_and_name("Dataset", "train"))
    t.call("get_artifact_by_type_and_name missing",
           lambda: store.get_artifact_by_type_and_name("Dataset", "nope"))
    t.call("get_artifacts_by_external_ids", lambda: store.get_artifacts_by_external_ids(["ds-train"]))

    updated = pb.Artifact()
    updated.CopyFrom(store.get_artifacts_by_id([test_id])[0])
    updated.properties["rows"].int_value = 250
    updated.state = pb.Artifact.MARKED_FOR_DELETION
    t.call("put_artifacts update", lambda: store.put_artifacts([updated]))
    t.call("get_artifacts_by_id after update", lambda: store.get_artifacts_by_id([test_id]))

    # --- errors; none of them may write anything
    t.call("put_artifacts unknown type_id", lambda: store.put_artifacts(
        [pb.Artifact(type_id=987654, uri="x")]))
    undeclared = pb.Artifact(type_id=dataset_type_id, uri="y")
    undeclared.properties["undeclared"].string_value = "z"
    t.call("put_artifacts undeclared property", lambda: store.put_artifacts([undeclared]))
    wrong_value = pb.Artifact(type_id=dataset_type_id, uri="y")
    wrong_value.properties["rows"].string_value = "many"
    t.call("put_artifacts property of the wrong type", lambda: store.put_artifacts([wrong_value]))
    t.call("put_artifacts duplicate name in type", lambda: store.put_artifacts(
        [pb.Artifact(type_id=dataset_type_id, uri="fresh", name="fresh"),
         pb.Artifact(type_id=dataset_type_id, uri="dup", name="train")]))
    t.call("put_artifacts update of a missing id", lambda: store.put_artifacts(
        [pb.Artifact(id=55555, type_id=dataset_type_id, uri="ghost")]))
    t.call("artifacts unchanged after failures", lambda: store.get_artifacts(), by_id)

    # --- executions and events
    trainer = pb.Execution(type_id=trainer_type_id, name="train-1",
                           last_known_state=pb.Execution.RUNNING)
    trainer.properties["learning_rate"].double_value = 0.01
    trainer.custom_properties["seed"].int_value = 7
    trainer.custom_properties["debug"].bool_value = True
    execution_ids = t.call("put_executions", lambda: store.put_executions([trainer]))
    trainer_id = execution_ids[0]
    t.call("get_executions_by_id", lambda: store.get_executions_by_id([trainer_id]))

    input_event = pb.Event(artifact_id=train_id, execution_id=trainer_id, type=pb.Event.INPUT)
    input_event.path.steps.add().key = "examples"
    input_event.path.steps.add().index = 0
    t.call("put_events", lambda: store.put_events([input_event]))
    t.call("put_events unknown artifact", lambda: store.put_events(
        [pb.Event(artifact_id=31337, execution_id=trainer_id, type=pb.Event.INPUT)]))
    t.call("put_events without a type", lambda: store.put_events(
        [pb.Event(artifact_id=test_id, execution_id=trainer_id)]))

    # --- contexts and parent contexts
    pipeline = pb.Context(type_id=pipeline_type_id, name="pipe")
    pipeline.properties["owner"].string_value = "ml-team"
    run = pb.Context(type_id=run_type_id, name="run-1", external_id="run-ext-1")
    context_ids = t.call("put_contexts", lambda: store.put_contexts([pipeline, run]))
    pipeline_id, run_id = context_ids
    t.call("put_contexts duplicate name", lambda: store.put_contexts(
        [pb.Context(type_id=run_type_id, name="run-1")]))
    t.call("put_attributions_and_associations", lambda: store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=train_id, context_id=pipeline_id),
         pb.Attribution(artifact_id=raw_id, context_id=run_id)],
        [pb.Association(execution_id=trainer_id, context_id=run_id)]))
    t.call("put_parent_contexts", lambda: store.put_parent_contexts(
        [pb.ParentContext(child_id=run_id, parent_id=pipeline_id)]))
    t.call("put_parent_contexts again", lambda: store.put_parent_contexts(
        [pb.ParentContext(child_id=run_id, parent_id=pipeline_id)]))
    t.call("put_parent_contexts cycle", lambda: store.put_parent_contexts(
        [pb.ParentContext(child_id=pipeline_id, parent_id=run_id)]))
    t.call("get_parent_contexts_by_context", lambda: store.get_parent_contexts_by_context(run_id))
    t.call("get_children_contexts_by_context",
           lambda: store.get_children_contexts_by_context(pipeline_id))
    t.call("get_contexts_by_type", lambda: store.get_contexts_by_type("Run"), by_id)
    t.call("get_context_by_type_and_name", lambda: store.get_context_by_type_and_name("Pipeline", "pipe"))
    t.call("get_contexts_by_external_ids", lambda: store.get_contexts_by_external_ids(["run-ext-1"]))

    # --- put_execution: one call with artifacts, events and contexts
    evaluator = pb.Execution(type_id=trainer_type_id, name="train-2",
                             last_known_state=pb.Execution.COMPLETE)
    model = pb.Artifact(type_id=model_type_id, uri="s3://bucket/model", name="model-1")
    model.properties["accuracy"].double_value = 0.93
    output_event = pb.Event(type=pb.Event.OUTPUT)
    output_event.path.steps.add().key = "model"
    reused_input = pb.Event(type=pb.Event.INPUT)
    reused_input.path.steps.add().key = "examples"
    reused_input.path.steps.add().index = 1
    existing_test = store.get_artifacts_by_id([test_id])[0]
    new_context = pb.Context(type_id=run_type_id, name="run-2")
    existing_pipeline = store.get_contexts_by_id([pipeline_id])[0]
    put_result = t.call("put_execution", lambda: store.put_execution(
        evaluator, [(model, output_event), (existing_test, reused_input)],
        [existing_pipeline, new_context]))
    second_execution_id, (model_id, _), (_, run2_id) = put_result
    t.call("put_execution reuse context", lambda: store.put_execution(
        pb.Execution(type_id=trainer_type_id, name="train-3"), [],
        [pb.Context(type_id=run_type_id, name="run-2")], reuse_context_if_already_exist=True))
    t.call("put_execution event with a different execution", lambda: store.put_execution(
        pb.Execution(type_id=trainer_type_id, name="train-4"),
        [(pb.Artifact(type_id=dataset_type_id, uri="stray"),
          pb.Event(type=pb.Event.OUTPUT, execution_id=trainer_id))], []))
    t.call("get_execution_by_type_and_name",
           lambda: store.get_execution_by_type_and_name("Trainer", "train-2"))
    t.call("get_executions_by_type", lambda: store.get_executions_by_type("Trainer"), by_id)
    t.call("get_events_by_execution_ids",
           lambda: store.get_events_by_execution_ids([trainer_id, second_execution_id]),
           lambda events: sorted(events, key=lambda e: (e.execution_id, e.artifact_id, e.type)))
    t.call("get_events_by_artifact_ids",
           lambda: store.get_events_by_artifact_ids([test_id, model_id]),
           lambda events: sorted(events, key=lambda e: (e.execution_id, e.artifact_id, e.type)))
    t.call("get_artifacts_by_context", lambda: store.get_artifacts_by_context(pipeline_id), by_id)
    t.call("get_executions_by_context", lambda: store.get_executions_by_context(run2_id), by_id)
    t.call("get_contexts_by_artifact", lambda: store.get_contexts_by_artifact(test_id), by_id)
    t.call("get_contexts_by_execution",
           lambda: store.get_contexts_by_execution(second_execution_id), by_id)

    # --- listings and filter queries
    def listing(query: str | None = None, **kwargs: Any) -> Any:
        return api.ListOptions(filter_query=query, **kwargs)

    filters = [
        "uri LIKE 's3://%'",
        "type = 'Dataset' AND properties.rows.int_value > 500",
        "custom_properties.source.string_value = 'peer' OR name = 'model-1'",
        "contexts_a.name = 'pipe'",
        "events_0.type = INPUT",
        "state = LIVE",
        "NOT(name = 'train')",
        "name = 'unterminated",
    ]
    for query in filters:
        t.call(f"get_artifacts filter {query}",
               lambda query=query: store.get_artifacts(list_options=listing(query)), by_id)
    t.call("get_executions filter last_known_state = COMPLETE",
           lambda: store.get_executions(list_options=listing("last_known_state = COMPLETE")), by_id)
    t.call("get_contexts filter parent_contexts_a.name = 'pipe'",
           lambda: store.get_contexts(list_options=listing("parent_contexts_a.name = 'pipe'")), by_id)
    t.call("get_artifacts newest two by id", lambda: store.get_artifacts(list_options=listing(
        limit=2, order_by=api.OrderByField.ID, is_asc=False)))
    t.call("get_executions oldest first", lambda: store.get_executions(list_options=listing(
        order_by=api.OrderByField.ID, is_asc=True)))

    # --- lineage subgraph
    query_options = pb.LineageSubgraphQueryOptions(max_num_hops=4)
    query_options.starting_artifacts.filter_query = "uri = 's3://bucket/model'"
    t.call("get_lineage_subgraph from the model", lambda: store.get_lineage_subgraph(query_options),
           _sorted_graph)
    upstream = pb.LineageSubgraphQueryOptions(
        max_num_hops=2, direction=pb.LineageSubgraphQueryOptions.UPSTREAM)
    upstream.starting_executions.filter_query = "name = 'train-2'"
    t.call("get_lineage_subgraph upstream, artifacts and events only",
           lambda: store.get_lineage_subgraph(upstream, ["artifacts", "events"]), _sorted_graph)
    t.call("get_lineage_subgraph without starting nodes",
           lambda: store.get_lineage_subgraph(pb.LineageSubgraphQueryOptions(max_num_hops=1)))
    return t.steps


def _sorted_graph(graph: Any) -> dict[str, Any]:
    result = {}
    for field in ("artifacts", "executions", "contexts", "artifact_types", "execution_types",
                  "context_types"):
        result[field] = normalize(by_id(getattr(graph, field)))
    result["events"] = normalize(sorted(graph.events, key=lambda e: (e.execution_id, e.artifact_id,
                                                                     e.type)))
    for field in ("attributions", "associations"):
        result[field] = normalize(sorted(getattr(graph, field),
                                         key=lambda r: json_format.MessageToJson(r, sort_keys=True)))
    return result


def main(argv: list[str]) -> int:
    """Plays the round against the server at ``argv[1]:argv[2]`` and prints the transcript."""
    from ml_metadata import errors
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    host, port = argv[1], int(argv[2])
    config = metadata_store_pb2.MetadataStoreClientConfig(host=host, port=port,
                                                          client_timeout_sec=30)
    if len(argv) > 3:
        with open(argv[3], encoding="utf-8") as f:
            for field, pem in json.load(f).items():
                setattr(config.ssl_config, field, pem)
    store = metadata_store.MetadataStore(config)
    api = Api(store=store, pb=metadata_store_pb2, errors=errors,
              ListOptions=metadata_store.ListOptions, OrderByField=metadata_store.OrderByField)
    json.dump({"steps": run_round(api)}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
