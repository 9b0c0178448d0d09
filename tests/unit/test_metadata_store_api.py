"""The MLMD-compatible API layer (lineage.metadata_store) in gRPC client mode.

A real gRPC server runs in the test process with a small servicer that records
every request and answers from fixed data, so these tests see exactly what the
API layer puts on the wire and how it reads answers, retries and errors.
"""

from __future__ import annotations

import collections
import inspect
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import traceback
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from lineage import errors
from lineage import metadata_store as ms
from lineage.metadata_store import ListOptions, MetadataStore, OrderByField
from lineage.proto import metadata_store_pb2 as pb
from lineage.proto import metadata_store_service_pb2 as svc
from lineage.proto import metadata_store_service_pb2_grpc as svc_grpc

NUM_ARTIFACTS = 250
Field = pb.ListOperationOptions.OrderByField.Field


class RecordingServicer(svc_grpc.MetadataStoreServiceServicer):
    """Answers a handful of RPCs from fixed data and records every request."""

    def __init__(self) -> None:
        self.requests: dict[str, list] = collections.defaultdict(list)
        self.aborts_left = {"PutArtifacts": 2}
        self.release = threading.Event()
        self.artifacts = [
            pb.Artifact(id=i, type_id=1, uri=f"/data/{i}") for i in range(1, NUM_ARTIFACTS + 1)
        ]

    def _record(self, name: str, request) -> None:
        self.requests[name].append(request)

    def PutArtifacts(self, request, context):
        self._record("PutArtifacts", request)
        if self.aborts_left["PutArtifacts"] > 0:
            self.aborts_left["PutArtifacts"] -= 1
            context.abort(grpc.StatusCode.ABORTED, "concurrent write, try again")
        return svc.PutArtifactsResponse(artifact_ids=range(100, 100 + len(request.artifacts)))

    def PutEvents(self, request, context):
        self._record("PutEvents", request)
        context.abort(grpc.StatusCode.ABORTED, "always conflicting")

    def GetArtifactType(self, request, context):
        self._record("GetArtifactType", request)
        context.abort(grpc.StatusCode.NOT_FOUND, f"no artifact type named {request.type_name}")

    def GetContextTypes(self, request, context):
        self._record("GetContextTypes", request)
        self.release.wait(10)  # longer than any client timeout used below
        return svc.GetContextTypesResponse()

    def GetArtifactsByURI(self, request, context):
        self._record("GetArtifactsByURI", request)
        return svc.GetArtifactsByURIResponse(
            artifacts=[pb.Artifact(id=1, uri=request.uris[0] + "x" * 4096)])

    def GetArtifactByTypeAndName(self, request, context):
        self._record("GetArtifactByTypeAndName", request)
        if request.artifact_name == "missing":
            return svc.GetArtifactByTypeAndNameResponse()
        return svc.GetArtifactByTypeAndNameResponse(
            artifact=pb.Artifact(id=3, name=request.artifact_name))

    def GetArtifactsByID(self, request, context):
        self._record("GetArtifactsByID", request)
        wanted = set(request.artifact_ids)
        response = svc.GetArtifactsByIDResponse(
            artifacts=[a for a in self.artifacts if a.id in wanted])
        if request.populate_artifact_types:
            response.artifact_types.add(id=1, name="Dataset")
        return response

    def GetArtifacts(self, request, context):
        self._record("GetArtifacts", request)
        if not request.HasField("options"):
            return svc.GetArtifactsResponse(artifacts=self.artifacts)
        options = request.options
        ordered = sorted(self.artifacts, key=lambda a: a.id,
                         reverse=not options.order_by_field.is_asc)
        start = int(options.next_page_token or 0)
        end = start + options.max_result_size
        response = svc.GetArtifactsResponse(artifacts=ordered[start:end])
        if end < len(ordered):
            response.next_page_token = str(end)
        return response

    def GetArtifactsByContext(self, request, context):
        self._record("GetArtifactsByContext", request)
        return svc.GetArtifactsByContextResponse(artifacts=self.artifacts[:2])

    def GetExecutionsByContext(self, request, context):
        self._record("GetExecutionsByContext", request)
        return svc.GetExecutionsByContextResponse(executions=[pb.Execution(id=5)])

    def GetExecutionsByID(self, request, context):
        self._record("GetExecutionsByID", request)
        return svc.GetExecutionsByIDResponse(
            executions=[pb.Execution(id=i, type_id=20, name=f"run{i}")
                        for i in request.execution_ids])

    def GetExecutionTypesByID(self, request, context):
        self._record("GetExecutionTypesByID", request)
        return svc.GetExecutionTypesByIDResponse(
            execution_types=[pb.ExecutionType(id=i, name="Trainer") for i in request.type_ids])

    def GetContextsByID(self, request, context):
        self._record("GetContextsByID", request)
        return svc.GetContextsByIDResponse(
            contexts=[pb.Context(id=i, type_id=30, name=f"pipeline{i}")
                      for i in request.context_ids])

    def GetContextTypesByID(self, request, context):
        self._record("GetContextTypesByID", request)
        return svc.GetContextTypesByIDResponse(
            context_types=[pb.ContextType(id=i, name="Pipeline") for i in request.type_ids])

    def GetLineageSubgraph(self, request, context):
        self._record("GetLineageSubgraph", request)
        # Nodes carry only ids: the API layer must fetch the full records.
        return svc.GetLineageSubgraphResponse(lineage_subgraph=pb.LineageGraph(
            artifacts=[pb.Artifact(id=1), pb.Artifact(id=2)],
            executions=[pb.Execution(id=5)],
            contexts=[pb.Context(id=9)],
            events=[pb.Event(artifact_id=1, execution_id=5, type=pb.Event.INPUT)],
            attributions=[pb.Attribution(artifact_id=1, context_id=9)],
            associations=[pb.Association(execution_id=5, context_id=9)],
            parent_contexts=[pb.ParentContext(child_id=9, parent_id=8)],
        ))

    def GetLineageGraph(self, request, context):
        self._record("GetLineageGraph", request)
        return svc.GetLineageGraphResponse(
            subgraph=pb.LineageGraph(artifacts=[pb.Artifact(id=1)]))

    def PutExecution(self, request, context):
        self._record("PutExecution", request)
        return svc.PutExecutionResponse(
            execution_id=7,
            artifact_ids=range(10, 10 + len(request.artifact_event_pairs)),
            context_ids=range(20, 20 + len(request.contexts)))

    def PutLineageSubgraph(self, request, context):
        self._record("PutLineageSubgraph", request)
        return svc.PutLineageSubgraphResponse(
            execution_ids=[1] * len(request.executions),
            artifact_ids=[2] * len(request.artifacts),
            context_ids=[3] * len(request.contexts))


def _start_server(servicer: RecordingServicer, credentials=None) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    svc_grpc.add_MetadataStoreServiceServicer_to_server(servicer, server)
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    return server, port


@pytest.fixture
def servicer():
    return RecordingServicer()


@pytest.fixture
def port(servicer):
    server, port = _start_server(servicer)
    yield port
    servicer.release.set()
    server.stop(grace=None)


@pytest.fixture
def store(port):
    with MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=port)) as store:
        yield store


# -- options and configuration ------------------------------------------------


def test_order_by_field_values_are_the_proto_enum_numbers():
    assert OrderByField.CREATE_TIME.value == Field.CREATE_TIME == 1
    assert OrderByField.UPDATE_TIME.value == Field.LAST_UPDATE_TIME == 2
    assert OrderByField.ID.value == Field.ID == 3
    assert len(OrderByField) == 3


def test_list_options_defaults_and_positional_order():
    options = ListOptions()
    assert (options.limit, options.order_by, options.is_asc, options.filter_query) == (
        None, None, True, None)
    assert ListOptions(5, OrderByField.ID, False, "uri = 'a'") == ListOptions(
        limit=5, order_by=OrderByField.ID, is_asc=False, filter_query="uri = 'a'")


def test_config_of_another_type_is_rejected():
    with pytest.raises(ValueError, match="ConnectionConfig or a MetadataStoreClientConfig"):
        MetadataStore("sqlite:///tmp/x.db")
    with pytest.raises(errors.InvalidArgumentError, match="got MigrationOptions"):
        MetadataStore(pb.MigrationOptions())


def test_an_error_opening_a_store_is_also_runtime_error_and_keeps_its_cause(tmp_path):
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "missing-folder" / "store.db")
    with pytest.raises(errors.UnavailableError, match="cannot be opened") as info:
        MetadataStore(config)
    assert isinstance(info.value, RuntimeError)
    # The driver's own exception stays reachable, as on every other call.
    cause = info.value.__cause__
    assert cause is not None and isinstance(getattr(cause, "orig", cause), sqlite3.OperationalError)
    assert any(frame.name == "open_service" for frame in traceback.extract_tb(info.value.__traceback__))


def test_upgrade_migration_is_refused_for_a_grpc_client():
    config = pb.MetadataStoreClientConfig(host="127.0.0.1", port=1)
    with pytest.raises(errors.InvalidArgumentError, match="enable_upgrade_migration") as info:
        MetadataStore(config, enable_upgrade_migration=True)
    assert isinstance(info.value, ValueError)


def test_downgrade_schema_rejects_a_negative_version_and_wrong_config():
    with pytest.raises(errors.InvalidArgumentError, match="downgrade_to_schema_version"):
        ms.downgrade_schema(pb.ConnectionConfig(), -1)
    with pytest.raises(errors.InvalidArgumentError, match="must be a ConnectionConfig"):
        ms.downgrade_schema(pb.MetadataStoreClientConfig(), 3)


def test_backoff_grows_and_stays_short():
    for attempt in range(12):
        ceiling = min(ms._BACKOFF_CAP_SEC, ms._BACKOFF_BASE_SEC * 2**attempt)
        for _ in range(20):
            assert ceiling / 2 <= ms._backoff_delay(attempt) <= ceiling
    assert ms._backoff_delay(0) <= 0.02


# -- the public surface -----------------------------------------------------------

# Public methods of ml-metadata 1.17.1's MetadataStore: parameters after self,
# "name=default" where there is a default.
MLMD_METHODS = {
    "get_artifact_by_type_and_name": (
        "type_name", "artifact_name", "type_version=None", "extra_options=None"),
    "get_artifact_type": ("type_name", "type_version=None", "extra_options=None"),
    "get_artifact_types": ("extra_options=None",),
    "get_artifact_types_by_external_ids": ("external_ids", "extra_options=None"),
    "get_artifact_types_by_id": ("type_ids", "extra_options=None"),
    "get_artifacts": ("list_options=None", "extra_options=None"),
    "get_artifacts_and_types_by_artifact_ids": ("artifact_ids", "extra_options=None"),
    "get_artifacts_by_context": ("context_id", "list_options=None", "extra_options=None"),
    "get_artifacts_by_external_ids": ("external_ids", "extra_options=None"),
    "get_artifacts_by_id": ("artifact_ids", "extra_options=None"),
    "get_artifacts_by_type": ("type_name", "type_version=None", "extra_options=None"),
    "get_artifacts_by_uri": ("uri", "extra_options=None"),
    "get_children_contexts_by_context": ("context_id", "extra_options=None"),
    "get_context_by_type_and_name": (
        "type_name", "context_name", "type_version=None", "extra_options=None"),
    "get_context_type": ("type_name", "type_version=None", "extra_options=None"),
    "get_context_types": ("extra_options=None",),
    "get_context_types_by_external_ids": ("external_ids", "extra_options=None"),
    "get_context_types_by_id": ("type_ids", "extra_options=None"),
    "get_contexts": ("list_options=None", "extra_options=None"),
    "get_contexts_by_artifact": ("artifact_id", "extra_options=None"),
    "get_contexts_by_execution": ("execution_id", "extra_options=None"),
    "get_contexts_by_external_ids": ("external_ids", "extra_options=None"),
    "get_contexts_by_id": ("context_ids", "extra_options=None"),
    "get_contexts_by_type": ("type_name", "type_version=None", "extra_options=None"),
    "get_events_by_artifact_ids": ("artifact_ids", "extra_options=None"),
    "get_events_by_execution_ids": ("execution_ids", "extra_options=None"),
    "get_execution_by_type_and_name": (
        "type_name", "execution_name", "type_version=None", "extra_options=None"),
    "get_execution_type": ("type_name", "type_version=None", "extra_options=None"),
    "get_execution_types": ("extra_options=None",),
    "get_execution_types_by_external_ids": ("external_ids", "extra_options=None"),
    "get_execution_types_by_id": ("type_ids", "extra_options=None"),
    "get_executions": ("list_options=None", "extra_options=None"),
    "get_executions_by_context": ("context_id", "list_options=None", "extra_options=None"),
    "get_executions_by_external_ids": ("external_ids", "extra_options=None"),
    "get_executions_by_id": ("execution_ids", "extra_options=None"),
    "get_executions_by_type": ("type_name", "type_version=None", "extra_options=None"),
    "get_lineage_subgraph": ("query_options", "field_mask_paths=None", "extra_options=None"),
    "get_parent_contexts_by_context": ("context_id", "extra_options=None"),
    "put_artifact_type": (
        "artifact_type", "can_add_fields=False", "can_omit_fields=False", "extra_options=None"),
    "put_artifacts": ("artifacts", "field_mask_paths=None", "extra_options=None"),
    "put_attributions_and_associations": ("attributions", "associations", "extra_options=None"),
    "put_context_type": (
        "context_type", "can_add_fields=False", "can_omit_fields=False", "extra_options=None"),
    "put_contexts": ("contexts", "field_mask_paths=None", "extra_options=None"),
    "put_events": ("events", "extra_options=None"),
    "put_execution": (
        "execution", "artifact_and_events", "contexts", "reuse_context_if_already_exist=False",
        "reuse_artifact_if_already_exist_by_external_id=False", "force_reuse_context=False",
        "force_update_time=False", "extra_options=None"),
    "put_execution_type": (
        "execution_type", "can_add_fields=False", "can_omit_fields=False", "extra_options=None"),
    "put_executions": ("executions", "field_mask_paths=None", "extra_options=None"),
    "put_lineage_subgraph": (
        "executions", "artifacts", "contexts", "event_edges",
        "reuse_context_if_already_exist=False",
        "reuse_artifact_if_already_exist_by_external_id=False", "extra_options=None"),
    "put_parent_contexts": ("parent_contexts", "extra_options=None"),
}


def _parameters(function) -> tuple[str, ...]:
    params = list(inspect.signature(function).parameters.values())[1:]
    return tuple(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
                 for p in params)


def test_every_mlmd_method_exists_with_the_same_parameters():
    ours = {name: _parameters(f)
            for name, f in inspect.getmembers(MetadataStore, inspect.isfunction)
            if not name.startswith("_")}
    assert set(ours) == set(MLMD_METHODS) | {"close", "get_lineage_graph"}
    for name, params in MLMD_METHODS.items():
        assert ours[name] == params, name
    assert ours["get_lineage_graph"] == ("query_options", "extra_options=None")
    assert _parameters(MetadataStore.__init__) == ("config", "enable_upgrade_migration=False")
    assert isinstance(MetadataStore.pipeline_asset, property)


def test_pipeline_asset_is_none_and_extra_options_are_ignored(store, servicer):
    assert store.pipeline_asset is None
    artifacts = store.get_artifacts_by_id([1], extra_options=ms.ExtraOptions(euc="someone"))
    assert [a.id for a in artifacts] == [1]


# -- calls, errors and retries ------------------------------------------------


def test_results_come_back_from_the_server(store, servicer):
    artifacts = store.get_artifacts_by_id([3, 1, 999])
    assert sorted(a.id for a in artifacts) == [1, 3]
    assert {a.uri for a in artifacts} == {"/data/1", "/data/3"}
    assert list(servicer.requests["GetArtifactsByID"][0].artifact_ids) == [3, 1, 999]
    assert not servicer.requests["GetArtifactsByID"][0].populate_artifact_types

    artifacts, types = store.get_artifacts_and_types_by_artifact_ids(iter([2]))
    assert [a.id for a in artifacts] == [2]
    assert [t.name for t in types] == ["Dataset"]
    assert servicer.requests["GetArtifactsByID"][1].populate_artifact_types


def test_by_type_and_name_gives_none_when_absent(store, servicer):
    assert store.get_artifact_by_type_and_name("Dataset", "missing") is None
    found = store.get_artifact_by_type_and_name("Dataset", "train", type_version="v2")
    assert found.name == "train"
    first, second = servicer.requests["GetArtifactByTypeAndName"]
    assert not first.HasField("type_version")
    assert second.type_version == "v2"


def test_aborted_calls_are_retried_until_they_succeed(store, servicer):
    ids = store.put_artifacts([pb.Artifact(type_id=1), pb.Artifact(type_id=1)])
    assert ids == [100, 101]
    assert len(servicer.requests["PutArtifacts"]) == 3


def test_retries_stop_after_max_num_retries_attempts(store, servicer):
    started = time.monotonic()
    with pytest.raises(errors.AbortedError, match="always conflicting"):
        store.put_events([pb.Event(artifact_id=1, execution_id=2, type=pb.Event.INPUT)])
    elapsed = time.monotonic() - started
    assert len(servicer.requests["PutEvents"]) == ms._DEFAULT_MAX_NUM_RETRIES
    # Four waits of at least 10, 20, 40 and 80 ms.
    assert 0.15 <= elapsed < 5


def test_grpc_status_is_mapped_to_the_error_class(store):
    with pytest.raises(errors.NotFoundError, match="no artifact type named Model") as info:
        store.get_artifact_type("Model")
    assert info.value.error_code == errors.NOT_FOUND
    assert isinstance(info.value.__cause__, grpc.RpcError)


def test_unreachable_server_gives_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free_port = sock.getsockname()[1]
    config = pb.MetadataStoreClientConfig(host="127.0.0.1", port=free_port, client_timeout_sec=5)
    with MetadataStore(config) as store:
        with pytest.raises(errors.UnavailableError):
            store.get_artifact_types()


def test_client_timeout_gives_deadline_exceeded(port):
    config = pb.MetadataStoreClientConfig(host="127.0.0.1", port=port, client_timeout_sec=0.2)
    with MetadataStore(config) as store:
        started = time.monotonic()
        with pytest.raises(errors.DeadlineExceededError):
            store.get_context_types()
        assert time.monotonic() - started < 5


def test_max_receive_message_length_is_applied(port):
    small = pb.MetadataStoreClientConfig(host="127.0.0.1", port=port)
    small.channel_arguments.max_receive_message_length = 1024
    small.channel_arguments.http2_max_ping_strikes = 0
    with MetadataStore(small) as store:
        with pytest.raises(errors.ResourceExhaustedError):
            store.get_artifacts_by_uri("/big")
    with MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=port)) as store:
        (artifact,) = store.get_artifacts_by_uri("/big")
        assert len(artifact.uri) == 4 + 4096


def test_closed_store_refuses_calls(port, servicer):
    store = MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=port))
    with store:
        store.get_artifacts_by_id([1])
    with pytest.raises(errors.FailedPreconditionError, match="closed"):
        store.get_artifacts_by_id([1])
    store.close()
    assert len(servicer.requests["GetArtifactsByID"]) == 1


# -- listing ------------------------------------------------------------------------


def test_listing_without_options_sends_no_options(store, servicer):
    assert len(store.get_artifacts()) == NUM_ARTIFACTS
    (request,) = servicer.requests["GetArtifacts"]
    assert not request.HasField("options")


def test_listing_follows_page_tokens(store, servicer):
    artifacts = store.get_artifacts(ListOptions())
    assert [a.id for a in artifacts] == list(range(1, NUM_ARTIFACTS + 1))
    requests = servicer.requests["GetArtifacts"]
    assert [r.options.next_page_token for r in requests] == ["", "100", "200"]
    assert {r.options.max_result_size for r in requests} == {100}


def test_limit_stops_early_and_shrinks_the_last_page(store, servicer):
    artifacts = store.get_artifacts(ListOptions(limit=150, order_by=OrderByField.ID, is_asc=False))
    assert [a.id for a in artifacts] == list(range(NUM_ARTIFACTS, NUM_ARTIFACTS - 150, -1))
    requests = servicer.requests["GetArtifacts"]
    assert [r.options.max_result_size for r in requests] == [100, 50]
    assert requests[0].options.order_by_field.field == Field.ID
    assert not requests[0].options.order_by_field.is_asc

    assert len(store.get_artifacts(ListOptions(limit=7))) == 7
    assert servicer.requests["GetArtifacts"][-1].options.max_result_size == 7


def test_list_options_reach_the_request(store, servicer):
    store.get_artifacts(ListOptions(order_by=OrderByField.UPDATE_TIME,
                                    filter_query="uri LIKE '/data/%'"))
    options = servicer.requests["GetArtifacts"][0].options
    assert options.order_by_field.field == Field.LAST_UPDATE_TIME
    assert options.order_by_field.is_asc
    assert options.filter_query == "uri LIKE '/data/%'"


def test_limit_zero_means_no_limit(store):
    assert len(store.get_artifacts(ListOptions(limit=0))) == NUM_ARTIFACTS


@pytest.mark.parametrize("limit", [-1, -100, "3", 2.5])
def test_bad_limit_is_rejected_before_any_call(store, servicer, limit):
    with pytest.raises(errors.InvalidArgumentError, match="list_options.limit"):
        store.get_artifacts(ListOptions(limit=limit))
    with pytest.raises(errors.InvalidArgumentError, match="list_options.limit"):
        store.get_executions_by_context(1, ListOptions(limit=limit))
    assert not servicer.requests


def test_executions_by_context_default_to_newest_first(store, servicer):
    assert [e.id for e in store.get_executions_by_context(4)] == [5]
    request = servicer.requests["GetExecutionsByContext"][0]
    assert request.context_id == 4
    assert request.options.order_by_field.field == Field.CREATE_TIME
    assert not request.options.order_by_field.is_asc
    assert request.options.max_result_size == 100

    store.get_executions_by_context(4, ListOptions(order_by=OrderByField.ID))
    request = servicer.requests["GetExecutionsByContext"][1]
    assert request.options.order_by_field.field == Field.ID
    assert request.options.order_by_field.is_asc


def test_artifacts_by_context_have_no_default_order(store, servicer):
    assert [a.id for a in store.get_artifacts_by_context(4)] == [1, 2]
    request = servicer.requests["GetArtifactsByContext"][0]
    assert request.context_id == 4
    assert not request.HasField("options")


# -- compound writes ----------------------------------------------------------------


def test_put_execution_builds_artifact_event_pairs(store, servicer):
    event = pb.Event(type=pb.Event.OUTPUT)
    pairs = [(pb.Artifact(uri="/a"), event), (pb.Artifact(uri="/b"), None),
             (pb.Artifact(uri="/c"),), None, ()]
    execution_id, artifact_ids, context_ids = store.put_execution(
        pb.Execution(type_id=2), pairs, None, reuse_context_if_already_exist=True,
        force_update_time=True)
    assert (execution_id, artifact_ids, context_ids) == (7, [10, 11, 12], [])
    request = servicer.requests["PutExecution"][0]
    assert [p.artifact.uri for p in request.artifact_event_pairs] == ["/a", "/b", "/c"]
    assert [p.HasField("event") for p in request.artifact_event_pairs] == [True, False, False]
    assert request.artifact_event_pairs[0].event.type == pb.Event.OUTPUT
    assert request.execution.type_id == 2
    assert not request.contexts
    assert request.options.reuse_context_if_already_exist
    assert request.options.force_update_time
    assert not request.options.force_reuse_context
    assert not request.options.reuse_artifact_if_already_exist_by_external_id

    _, _, context_ids = store.put_execution(
        pb.Execution(id=7), [], [pb.Context(name="p1"), pb.Context(name="p2")],
        force_reuse_context=True)
    assert context_ids == [20, 21]
    assert servicer.requests["PutExecution"][1].options.force_reuse_context


def test_put_lineage_subgraph_builds_event_edges(store, servicer):
    edges = [(0, None, pb.Event(artifact_id=4, type=pb.Event.INPUT)),
             (None, 1, pb.Event(execution_id=6, type=pb.Event.OUTPUT)),
             (0, 0, pb.Event(type=pb.Event.OUTPUT))]
    result = store.put_lineage_subgraph(
        [pb.Execution(type_id=2)], [pb.Artifact(type_id=1), pb.Artifact(type_id=1)],
        [pb.Context(type_id=3, name="c")], edges,
        reuse_artifact_if_already_exist_by_external_id=True)
    assert result == ([1], [2, 2], [3])
    request = servicer.requests["PutLineageSubgraph"][0]
    assert [(e.HasField("execution_index"), e.HasField("artifact_index"))
            for e in request.event_edges] == [(True, False), (False, True), (True, True)]
    assert request.event_edges[1].artifact_index == 1
    assert request.event_edges[0].event.artifact_id == 4
    assert request.options.reuse_artifact_if_already_exist_by_external_id
    assert not request.options.reuse_context_if_already_exist


# -- lineage ------------------------------------------------------------------------


def test_lineage_subgraph_fetches_full_nodes_and_types(store, servicer):
    query = pb.LineageSubgraphQueryOptions(max_num_hops=2)
    query.starting_artifacts.filter_query = "id = 1"
    graph = store.get_lineage_subgraph(query)

    request = servicer.requests["GetLineageSubgraph"][0]
    assert request.lineage_subgraph_query_options == query
    assert list(request.read_mask.paths) == [
        "artifacts", "executions", "contexts", "events", "attributions", "associations",
        "parent_contexts"]
    assert [a.uri for a in graph.artifacts] == ["/data/1", "/data/2"]
    assert [t.name for t in graph.artifact_types] == ["Dataset"]
    assert [e.name for e in graph.executions] == ["run5"]
    assert [t.name for t in graph.execution_types] == ["Trainer"]
    assert [c.name for c in graph.contexts] == ["pipeline9"]
    assert [t.name for t in graph.context_types] == ["Pipeline"]
    assert len(graph.events) == len(graph.attributions) == len(graph.associations) == 1
    # MLMD's Python layer never copies parent_contexts into the result.
    assert not graph.parent_contexts
    assert list(servicer.requests["GetExecutionTypesByID"][0].type_ids) == [20]
    assert list(servicer.requests["GetContextTypesByID"][0].type_ids) == [30]


def test_lineage_subgraph_honours_field_mask_paths(store, servicer):
    graph = store.get_lineage_subgraph(
        pb.LineageSubgraphQueryOptions(), field_mask_paths=["artifact_types", "events"])
    assert list(servicer.requests["GetLineageSubgraph"][0].read_mask.paths) == ["events"]
    assert [t.name for t in graph.artifact_types] == ["Dataset"]
    assert not graph.artifacts and not graph.executions and not graph.contexts
    assert len(graph.events) == 1 and not graph.attributions
    assert "GetExecutionsByID" not in servicer.requests
    assert "GetContextsByID" not in servicer.requests


def test_lineage_graph_passes_the_query_through(store, servicer):
    query = pb.LineageGraphQueryOptions(max_node_size=5)
    query.artifacts_options.filter_query = "uri = '/data/1'"
    graph = store.get_lineage_graph(query)
    assert [a.id for a in graph.artifacts] == [1]
    assert servicer.requests["GetLineageGraph"][0].options == query


# -- TLS --------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, str]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
             "-subj", "/CN=lineage test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        _openssl("req", *curve, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "1",
                 "-extfile", f"{name}.ext", cwd=d)
    return {p.name: p.read_text() for p in d.iterdir() if p.suffix in (".pem", ".key")}


def test_tls_with_client_certificate(pki, servicer):
    credentials = grpc.ssl_server_credentials(
        [(pki["server.key"].encode(), pki["server.pem"].encode())],
        root_certificates=pki["ca.pem"].encode(), require_client_auth=True)
    server, port = _start_server(servicer, credentials)
    try:
        config = pb.MetadataStoreClientConfig(host="127.0.0.1", port=port, client_timeout_sec=10)
        config.ssl_config.custom_ca = pki["ca.pem"]
        config.ssl_config.client_key = pki["client.key"]
        config.ssl_config.server_cert = pki["client.pem"]
        with MetadataStore(config) as store:
            assert [a.id for a in store.get_artifacts_by_id([2])] == [2]

        # Without a client certificate the server refuses the handshake.
        config.ssl_config.ClearField("client_key")
        config.ssl_config.ClearField("server_cert")
        with MetadataStore(config) as store:
            with pytest.raises(errors.UnavailableError):
                store.get_artifacts_by_id([2])
        # Plain text against a TLS port fails as well.
        with MetadataStore(pb.MetadataStoreClientConfig(
                host="127.0.0.1", port=port, client_timeout_sec=10)) as store:
            with pytest.raises(errors.UnavailableError):
                store.get_artifacts_by_id([2])
    finally:
        server.stop(grace=None)
    assert len(servicer.requests["GetArtifactsByID"]) == 1
