"""The ml-metadata side of the wire-compatibility tests.

Run with the python of the ml-metadata virtual environment (see
``scripts/mlmd-venv``). It reads one JSON request on stdin and writes one JSON
reply on stdout; binary payloads travel base64-encoded. Operations:

* ``{"op": "descriptors"}``: ml-metadata's own FileDescriptorProtos for
  metadata_store.proto and metadata_store_service.proto.
* ``{"op": "reserialize", "items": [{"type": full_name, "data": b64}]}``: parses
  each payload with ml-metadata's class for ``full_name`` and answers with its
  deterministic re-serialization, its text format and whether any field was
  unknown to ml-metadata.
* ``{"op": "build", "names": [...]}``: builds the named samples below with
  ml-metadata's classes and answers as ``reserialize`` does.

The sample builders take the two generated modules as arguments, so the tests
build the very same samples with the project's classes and compare bytes.
This module imports nothing from ml-metadata at import time.
"""

from __future__ import annotations

import base64
import json
import sys
from types import ModuleType
from typing import Any, Callable

from google.protobuf import field_mask_pb2, message, text_format

MS_FILE = "ml_metadata/proto/metadata_store.proto"
SERVICE_FILE = "ml_metadata/proto/metadata_store_service.proto"


def _fill_values(ms: ModuleType, values: Any, prefix: str) -> None:
    """Puts one value of every Value kind into a properties map."""
    values[prefix + "int"].int_value = -(2**40)
    values[prefix + "double"].double_value = 0.125
    values[prefix + "string"].string_value = "naïve ✓ text"
    values[prefix + "bool"].bool_value = True
    values[prefix + "false"].bool_value = False
    struct = values[prefix + "struct"].struct_value
    struct.update(
        {
            "layers": [64, 32.5, "relu", True, None],
            "optimizer": {"name": "adam", "beta": [0.9, 0.999]},
            "empty": {},
        }
    )
    values[prefix + "proto"].proto_value.Pack(
        ms.Context(id=7, name="packed", type_id=3)
    )


def artifact(ms: ModuleType, svc: ModuleType) -> message.Message:
    """An artifact using every field and every Value kind."""
    a = ms.Artifact(
        id=11,
        name="model-7",
        type_id=2,
        type="Model",
        uri="gs://bucket/models/7",
        external_id="ext-artifact-11",
        state=ms.Artifact.State.LIVE,
        create_time_since_epoch=1_700_000_000_123,
        last_update_time_since_epoch=1_700_000_999_456,
    )
    _fill_values(ms, a.properties, "p_")
    _fill_values(ms, a.custom_properties, "c_")
    a.system_metadata.Pack(ms.SystemTypeExtension(type_name="mlmd.Model"))
    return a


def execution(ms: ModuleType, svc: ModuleType) -> message.Message:
    """An execution using every field."""
    e = ms.Execution(
        id=21,
        name="train-run-3",
        type_id=4,
        type="Trainer",
        external_id="ext-execution-21",
        last_known_state=ms.Execution.State.CACHED,
        create_time_since_epoch=1_700_000_000_000,
        last_update_time_since_epoch=1_700_000_000_001,
    )
    _fill_values(ms, e.properties, "p_")
    e.custom_properties["note"].string_value = "rerun"
    e.system_metadata.Pack(ms.Attribution(artifact_id=1, context_id=2))
    return e


def context(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A context using every field."""
    c = ms.Context(
        id=31,
        name="nightly-2024-01-01",
        type_id=5,
        type="PipelineRun",
        external_id="ext-context-31",
        create_time_since_epoch=1,
        last_update_time_since_epoch=2,
    )
    c.properties["pipeline"].string_value = "nightly"
    c.custom_properties["attempt"].int_value = 2
    c.custom_properties["cfg"].struct_value.update({"a": 1})
    return c


def event(ms: ModuleType, svc: ModuleType) -> message.Message:
    """An event whose path mixes key and index steps."""
    ev = ms.Event(
        artifact_id=11,
        execution_id=21,
        type=ms.Event.Type.PENDING_OUTPUT,
        milliseconds_since_epoch=1_700_000_000_777,
    )
    ev.path.steps.add(key="examples")
    ev.path.steps.add(index=0)
    ev.path.steps.add(index=-3)
    ev.path.steps.add(key="")
    ev.system_metadata.Pack(ms.Value(int_value=5))
    return ev


def _struct_type(ms: ModuleType) -> message.Message:
    """An ArtifactStructType using every kind."""
    model = ms.ArtifactType(name="Model", properties={"acc": ms.PropertyType.DOUBLE})
    data = ms.ArtifactType(name="Examples", version="2")
    st = ms.ArtifactStructType()
    d = st.dict
    d.none_type_not_required = True
    d.extra_properties_type.any.SetInParent()
    d.properties["model"].simple.CopyFrom(model)
    union = d.properties["maybe"].union_type
    union.candidates.add().simple.CopyFrom(data)
    union.candidates.add().none.SetInParent()
    inter = d.properties["both"].intersection
    inter.constraints.add().simple.CopyFrom(model)
    inter.constraints.add().list.element.simple.CopyFrom(data)
    tup = d.properties["pair"].tuple
    tup.elements.add().simple.CopyFrom(model)
    tup.elements.add().any.SetInParent()
    return st


def artifact_type(ms: ModuleType, svc: ModuleType) -> message.Message:
    """An artifact type with every property kind and a base type."""
    t = ms.ArtifactType(
        id=2,
        name="Model",
        version="v1",
        description="trained weights",
        external_id="ext-at-2",
        base_type=ms.ArtifactType.SystemDefinedBaseType.MODEL,
    )
    for name, kind in ms.PropertyType.items():
        if kind:
            t.properties[name.lower()] = kind
    return t


def execution_type(ms: ModuleType, svc: ModuleType) -> message.Message:
    """An execution type with structural input and output types."""
    t = ms.ExecutionType(
        id=4,
        name="Trainer",
        version="1.0",
        description="fits a model",
        external_id="ext-et-4",
        base_type=ms.ExecutionType.SystemDefinedBaseType.TRAIN,
        properties={"epochs": ms.PropertyType.INT},
    )
    t.input_type.CopyFrom(_struct_type(ms))
    t.output_type.list.element.simple.name = "Model"
    return t


def context_type(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A context type with properties."""
    return ms.ContextType(
        id=5,
        name="PipelineRun",
        version="3",
        description="one run",
        external_id="ext-ct-5",
        base_type=ms.ContextType.SystemDefinedBaseType.UNSET,
        properties={"pipeline": ms.PropertyType.STRING, "cfg": ms.PropertyType.STRUCT},
    )


def lineage_graph(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A LineageGraph with every repeated field populated."""
    g = ms.LineageGraph()
    g.artifact_types.append(artifact_type(ms, svc))
    g.execution_types.append(execution_type(ms, svc))
    g.context_types.append(context_type(ms, svc))
    g.artifacts.append(artifact(ms, svc))
    g.artifacts.add(id=12, type_id=2, uri="gs://bucket/models/8", state=ms.Artifact.State.PENDING)
    g.executions.append(execution(ms, svc))
    g.contexts.append(context(ms, svc))
    g.contexts.add(id=32, type_id=5, name="parent")
    g.events.append(event(ms, svc))
    g.events.add(artifact_id=12, execution_id=21, type=ms.Event.Type.OUTPUT)
    g.attributions.add(artifact_id=11, context_id=31)
    g.associations.add(execution_id=21, context_id=31)
    g.parent_contexts.add(child_id=31, parent_id=32)
    g.parent_contexts[0].system_metadata.Pack(ms.Context(name="x"))
    return g


def list_options(ms: ModuleType, svc: ModuleType) -> message.Message:
    """List options with every field set."""
    field = ms.ListOperationOptions.OrderByField
    return ms.ListOperationOptions(
        max_result_size=7,
        order_by_field=field(field=field.Field.LAST_UPDATE_TIME, is_asc=False),
        next_page_token="opaque-token",
        filter_query="type = 'Model' AND properties.acc.double_value > 0.5",
    )


def next_page_token(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A decoded page token."""
    return ms.ListOperationNextPageToken(
        id_offset=42,
        field_offset=1_700_000_000_000,
        set_options=list_options(ms, svc),
        listed_ids=[42, 41, 40, 2**62],
    )


def lineage_subgraph_options(ms: ModuleType, svc: ModuleType) -> message.Message:
    """Lineage subgraph options with every field set."""
    opts = ms.LineageSubgraphQueryOptions
    return opts(
        starting_executions=opts.StartingNodes(filter_query="name = 'train-run-3'"),
        max_num_hops=4,
        direction=opts.Direction.UPSTREAM,
        ending_artifacts=opts.EndingNodes(filter_query="uri LIKE 'gs://%'", include_ending_nodes=True),
        ending_executions=opts.EndingNodes(filter_query="id = 1"),
    )


def lineage_graph_options(ms: ModuleType, svc: ModuleType) -> message.Message:
    """Options of the deprecated lineage query."""
    opts = ms.LineageGraphQueryOptions(max_node_size=0)
    opts.artifacts_options.CopyFrom(list_options(ms, svc))
    opts.stop_conditions.max_num_hops = 3
    opts.stop_conditions.boundary_artifacts = "state = LIVE"
    opts.stop_conditions.boundary_executions = "last_known_state = COMPLETE"
    return opts


def server_config(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A server config over MySQL with TLS, retries and migration options."""
    cfg = ms.MetadataStoreServerConfig()
    mysql = cfg.connection_config.mysql
    mysql.host, mysql.port, mysql.database = "db", 3306, "mlmd"
    mysql.user, mysql.password, mysql.socket = "u", "p", "/run/mysqld.sock"
    mysql.skip_db_creation = True
    mysql.ssl_options.key = "k.pem"
    mysql.ssl_options.cert = "c.pem"
    mysql.ssl_options.ca = "ca.pem"
    mysql.ssl_options.capath = "/etc/ssl"
    mysql.ssl_options.cipher = "TLS_AES_128_GCM_SHA256"
    mysql.ssl_options.verify_server_cert = True
    cfg.connection_config.retry_options.max_num_retries = 5
    cfg.migration_options.enable_upgrade_migration = True
    cfg.migration_options.downgrade_to_schema_version = -1
    cfg.ssl_config.server_key = "KEY"
    cfg.ssl_config.server_cert = "CERT"
    cfg.ssl_config.custom_ca = "CA"
    cfg.ssl_config.client_verify = True
    return cfg


def client_config(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A client config with TLS and channel arguments."""
    cfg = ms.MetadataStoreClientConfig(host="mlmd.local", port=8080, client_timeout_sec=2.5)
    cfg.ssl_config.client_key = "K"
    cfg.ssl_config.server_cert = "S"
    cfg.ssl_config.custom_ca = "C"
    cfg.channel_arguments.max_receive_message_length = -1
    cfg.channel_arguments.http2_max_ping_strikes = 0
    return cfg


def postgresql_config(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A PostgreSQL connection config with every field."""
    cfg = ms.ConnectionConfig()
    pg = cfg.postgresql
    pg.host, pg.hostaddr, pg.port = "pg", "10.0.0.1", "5432"
    pg.user, pg.password, pg.passfile, pg.dbname = "u", "p", "/pgpass", "mlmd"
    pg.skip_db_creation = False
    pg.ssloption.sslmode = "verify-full"
    pg.ssloption.sslcert = "c"
    pg.ssloption.sslkey = "k"
    pg.ssloption.sslpassword = "pw"
    pg.ssloption.sslrootcert = "r"
    return cfg


def sqlite_config(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A SQLite connection config."""
    cfg = ms.ConnectionConfig()
    cfg.sqlite.filename_uri = "file:/tmp/mlmd.db"
    cfg.sqlite.connection_mode = ms.SqliteMetadataSourceConfig.ConnectionMode.READONLY
    return cfg


def put_execution_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """PutExecutionRequest with pairs, contexts, options and a tag."""
    req = svc.PutExecutionRequest(execution=execution(ms, svc))
    pair = req.artifact_event_pairs.add()
    pair.artifact.CopyFrom(artifact(ms, svc))
    pair.event.CopyFrom(event(ms, svc))
    bare = req.artifact_event_pairs.add()
    bare.artifact.type_id = 2
    bare.artifact.uri = "gs://no-event"
    req.contexts.append(context(ms, svc))
    req.options.reuse_context_if_already_exist = True
    req.options.reuse_artifact_if_already_exist_by_external_id = True
    req.options.force_update_time = True
    req.options.force_reuse_context = False
    req.transaction_options.tag = "put-execution"
    return req


def put_lineage_subgraph_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """PutLineageSubgraphRequest with event edges by index."""
    req = svc.PutLineageSubgraphRequest()
    req.executions.append(execution(ms, svc))
    req.artifacts.append(artifact(ms, svc))
    req.artifacts.add(type_id=2, uri="second")
    req.contexts.append(context(ms, svc))
    edge = req.event_edges.add(execution_index=0, artifact_index=1)
    edge.event.type = ms.Event.Type.OUTPUT
    req.options.reuse_context_if_already_exist = True
    req.options.reuse_artifact_if_already_exist_by_external_id = False
    req.transaction_options.tag = "subgraph"
    return req


def put_lineage_subgraph_response(ms: ModuleType, svc: ModuleType) -> message.Message:
    """Packed id lists."""
    return svc.PutLineageSubgraphResponse(
        execution_ids=[1, 2, 3], artifact_ids=[2**40, 5], context_ids=[9]
    )


def put_artifacts_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """PutArtifactsRequest with options and an update mask."""
    req = svc.PutArtifactsRequest(artifacts=[artifact(ms, svc)])
    req.options.abort_if_latest_updated_time_changed = True
    req.update_mask.paths.extend(["uri", "properties.p_int", "custom_properties.c_bool"])
    req.transaction_options.tag = "t"
    return req


def put_artifact_type_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """PutArtifactTypeRequest with every flag, including the deprecated ones."""
    return svc.PutArtifactTypeRequest(
        artifact_type=artifact_type(ms, svc),
        can_add_fields=True,
        can_omit_fields=True,
        can_delete_fields=False,
        all_fields_match=False,
    )


def put_types_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """PutTypesRequest with one type of each kind."""
    return svc.PutTypesRequest(
        artifact_types=[artifact_type(ms, svc)],
        execution_types=[execution_type(ms, svc)],
        context_types=[context_type(ms, svc)],
        can_add_fields=True,
        can_omit_fields=False,
        all_fields_match=True,
    )


def get_artifacts_by_type_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A paged, filtered listing request."""
    return svc.GetArtifactsByTypeRequest(
        type_name="Model", type_version="v1", options=list_options(ms, svc)
    )


def get_artifacts_by_type_response(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A listing page with a continuation token."""
    return svc.GetArtifactsByTypeResponse(
        artifacts=[artifact(ms, svc)], next_page_token="bmV4dA"
    )


def get_artifacts_by_id_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """Ids plus the populate flag."""
    return svc.GetArtifactsByIDRequest(artifact_ids=[3, 1, 2], populate_artifact_types=True)


def get_parent_contexts_by_contexts_response(ms: ModuleType, svc: ModuleType) -> message.Message:
    """A map keyed by int64 whose values are messages."""
    resp = svc.GetParentContextsByContextsResponse()
    resp.contexts[31].parent_contexts.append(context(ms, svc))
    resp.contexts[-5].parent_contexts.add(id=1, name="p")
    resp.contexts[2**50].SetInParent()
    return resp


def get_lineage_subgraph_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """Subgraph query with a read mask."""
    req = svc.GetLineageSubgraphRequest(
        lineage_subgraph_query_options=lineage_subgraph_options(ms, svc)
    )
    req.read_mask.CopyFrom(field_mask_pb2.FieldMask(paths=["artifacts", "events"]))
    req.transaction_options.tag = "read"
    return req


def get_lineage_subgraph_response(ms: ModuleType, svc: ModuleType) -> message.Message:
    """Subgraph answer."""
    return svc.GetLineageSubgraphResponse(lineage_subgraph=lineage_graph(ms, svc))


def get_lineage_graph_request(ms: ModuleType, svc: ModuleType) -> message.Message:
    """Request of the deprecated lineage query."""
    return svc.GetLineageGraphRequest(options=lineage_graph_options(ms, svc))


def get_executions_by_context_response(ms: ModuleType, svc: ModuleType) -> message.Message:
    """The one response that carries transaction options."""
    resp = svc.GetExecutionsByContextResponse(executions=[execution(ms, svc)], next_page_token="n")
    resp.transaction_options.tag = "odd"
    return resp


def artifact_struct(ms: ModuleType, svc: ModuleType) -> message.Message:
    """An ArtifactStruct nesting maps, lists and typed artifacts."""
    s = svc.ArtifactStruct()
    entry = s.map.properties["model"].artifact
    entry.artifact.CopyFrom(artifact(ms, svc))
    entry.type.CopyFrom(artifact_type(ms, svc))
    lst = s.map.properties["shards"].list
    lst.elements.add().artifact.artifact.uri = "shard-0"
    lst.elements.add().map.SetInParent()
    return s


SAMPLES: dict[str, Callable[[ModuleType, ModuleType], message.Message]] = {
    f.__name__: f
    for f in (
        artifact,
        execution,
        context,
        event,
        artifact_type,
        execution_type,
        context_type,
        lineage_graph,
        list_options,
        next_page_token,
        lineage_subgraph_options,
        lineage_graph_options,
        server_config,
        client_config,
        postgresql_config,
        sqlite_config,
        put_execution_request,
        put_lineage_subgraph_request,
        put_lineage_subgraph_response,
        put_artifacts_request,
        put_artifact_type_request,
        put_types_request,
        get_artifacts_by_type_request,
        get_artifacts_by_type_response,
        get_artifacts_by_id_request,
        get_parent_contexts_by_contexts_response,
        get_lineage_subgraph_request,
        get_lineage_subgraph_response,
        get_lineage_graph_request,
        get_executions_by_context_response,
        artifact_struct,
    )
}


def has_unknown_fields(msg: message.Message) -> bool:
    """Whether parsing left any field unrecognised, at any depth.

    Args:
        msg: A parsed message.

    Returns:
        True when discarding unknown fields changes the serialization.
    """
    stripped = type(msg)()
    stripped.CopyFrom(msg)
    stripped.DiscardUnknownFields()
    return stripped.SerializeToString(deterministic=True) != msg.SerializeToString(
        deterministic=True
    )


def describe(msg: message.Message) -> dict[str, Any]:
    """The reply entry for one message.

    Args:
        msg: A message of ml-metadata's classes.

    Returns:
        Its full name, deterministic bytes (base64), text format and whether it
        holds unknown fields.
    """
    return {
        "type": msg.DESCRIPTOR.full_name,
        "data": base64.b64encode(msg.SerializeToString(deterministic=True)).decode(),
        "text": text_format.MessageToString(msg, as_utf8=True),
        "unknown": has_unknown_fields(msg),
    }


def _main() -> None:
    from google.protobuf import message_factory, symbol_database

    from ml_metadata.proto import metadata_store_pb2 as ms
    from ml_metadata.proto import metadata_store_service_pb2 as svc

    def message_class(full_name: str) -> type[message.Message]:
        descriptor = symbol_database.Default().pool.FindMessageTypeByName(full_name)
        return message_factory.GetMessageClass(descriptor)

    request = json.load(sys.stdin)
    op = request["op"]
    if op == "descriptors":
        reply: dict[str, Any] = {
            "files": {
                module.DESCRIPTOR.name: base64.b64encode(module.DESCRIPTOR.serialized_pb).decode()
                for module in (ms, svc)
            }
        }
    elif op == "reserialize":
        items = []
        for item in request["items"]:
            msg = message_class(item["type"])()
            msg.ParseFromString(base64.b64decode(item["data"]))
            items.append(describe(msg))
        reply = {"items": items}
    elif op == "build":
        reply = {"items": [describe(SAMPLES[name](ms, svc)) for name in request["names"]]}
    else:
        raise SystemExit(f"unknown op {op!r}")
    reply["protobuf"] = sys.modules["google.protobuf"].__version__
    import ml_metadata

    reply["ml_metadata"] = ml_metadata.__version__
    json.dump(reply, sys.stdout)


if __name__ == "__main__":
    _main()
