"""The gRPC metadata server in this process, with real sockets and real gRPC.

``lineage.MetadataStore`` on a ``MetadataStoreClientConfig`` talks to
``lineage.server.serve`` over 127.0.0.1; answers and errors must be those of
the in-process store.
"""

from __future__ import annotations

import logging
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import lineage
from lineage import core, errors, server
from lineage.proto import metadata_store_pb2 as pb
from lineage.proto import metadata_store_service_pb2 as svc
from lineage.proto import metadata_store_service_pb2_grpc

MEMORY = pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig())


def _client(port: int, **config) -> lineage.MetadataStore:
    return lineage.MetadataStore(
        pb.MetadataStoreClientConfig(host="127.0.0.1", port=port, client_timeout_sec=30, **config))


@pytest.fixture()
def service():
    service = core.open_service(MEMORY)
    yield service
    service.close()


@pytest.fixture()
def handle(service):
    handle = server.serve(service, "127.0.0.1", 0)
    yield handle
    handle.stop(grace=1)


@pytest.fixture()
def store(handle):
    store = _client(handle.port)
    yield store
    store.close()


def _dataset_type(store) -> int:
    return store.put_artifact_type(
        pb.ArtifactType(name="Dataset", properties={"split": pb.STRING, "rows": pb.INT}))


def _dataset(type_id: int, uri: str, name: str | None = None, rows: int = 1) -> pb.Artifact:
    artifact = pb.Artifact(type_id=type_id, uri=uri, name=name)
    artifact.properties["rows"].int_value = rows
    artifact.properties["split"].string_value = "train"
    return artifact


def _without_times(messages):
    stripped = []
    for m in messages:
        m = type(m).FromString(m.SerializeToString())
        for field in ("create_time_since_epoch", "last_update_time_since_epoch"):
            if field in m.DESCRIPTOR.fields_by_name:
                m.ClearField(field)
        stripped.append(m)
    return stripped


# --------------------------------------------------------------- the servicer


def test_servicer_serves_every_rpc_of_the_service():
    methods = svc.DESCRIPTOR.services_by_name["MetadataStoreService"].methods
    assert len(methods) == 52
    assert server.RPC_NAMES == tuple(m.name for m in methods)
    base = metadata_store_service_pb2_grpc.MetadataStoreServiceServicer
    for name in server.RPC_NAMES:
        handler = getattr(server.MetadataStoreServicer, name)
        assert handler is not getattr(base, name), f"{name} is not overridden"
        assert callable(getattr(core.MetadataService, name)), f"core lacks {name}"


def test_rpc_the_service_lacks_is_unimplemented():
    class TypesOnly:
        def __init__(self):
            self._real = core.open_service(MEMORY)

        def GetArtifactTypes(self, request):
            return self._real.GetArtifactTypes(request)

    with server.serve(TypesOnly(), "127.0.0.1", 0) as handle, _client(handle.port) as store:
        assert store.get_artifact_types() == []
        with pytest.raises(errors.UnimplementedError, match="GetArtifactsByID"):
            store.get_artifacts_by_id([1])


def test_unexpected_exception_is_internal_with_one_line(caplog):
    class Broken:
        def GetArtifactsByID(self, request):
            raise ValueError("disk on fire\nsecond line with details")

    with server.serve(Broken(), "127.0.0.1", 0) as handle, _client(handle.port) as store:
        with caplog.at_level(logging.ERROR, logger="lineage.server"):
            with pytest.raises(errors.InternalError) as raised:
                store.get_artifacts_by_id([1])
    assert raised.value.message == "GetArtifactsByID: internal error: ValueError: disk on fire"
    logged = [r for r in caplog.records if "GetArtifactsByID" in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the traceback must reach the server log"


def test_health_reports_serving(handle):
    with grpc.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", "ml_metadata.MetadataStoreService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as raised:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


# ------------------------------------------------------------ a round of calls


def test_round_of_calls_over_grpc(store):
    type_id = _dataset_type(store)
    assert store.put_artifact_type(
        pb.ArtifactType(name="Dataset", properties={"split": pb.STRING, "rows": pb.INT})) == type_id
    trainer_id = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    pipeline_type = store.put_context_type(pb.ContextType(name="Pipeline"))
    assert store.get_artifact_type("Dataset").properties["rows"] == pb.INT
    assert [t.name for t in store.get_execution_types_by_id([trainer_id])] == ["Trainer"]

    ids = store.put_artifacts([_dataset(type_id, "s3://a", "a", rows=10),
                               _dataset(type_id, "s3://b", "b", rows=20),
                               _dataset(type_id, "gs://c", "c", rows=30)])
    assert ids == [1, 2, 3]
    fetched = store.get_artifacts_by_id([3, 1, 99])
    assert sorted(a.id for a in fetched) == [1, 3]
    assert {a.uri for a in fetched} == {"s3://a", "gs://c"}
    assert all(a.create_time_since_epoch > 0 for a in fetched)
    assert store.get_artifact_by_type_and_name("Dataset", "b").properties["rows"].int_value == 20

    [execution_id] = store.put_executions(
        [pb.Execution(type_id=trainer_id, name="first", last_known_state=pb.Execution.RUNNING)])
    event = pb.Event(artifact_id=1, execution_id=execution_id, type=pb.Event.INPUT)
    event.path.steps.add().key = "examples"
    event.path.steps.add().index = 3
    store.put_events([event])
    [stored_event] = store.get_events_by_execution_ids([execution_id])
    assert (stored_event.artifact_id, stored_event.type) == (1, pb.Event.INPUT)
    assert [s.WhichOneof("value") for s in stored_event.path.steps] == ["key", "index"]
    assert stored_event.path.steps[1].index == 3

    parent_id, child_id = store.put_contexts([pb.Context(type_id=pipeline_type, name="parent"),
                                              pb.Context(type_id=pipeline_type, name="child")])
    store.put_parent_contexts([pb.ParentContext(child_id=child_id, parent_id=parent_id)])
    assert [c.id for c in store.get_parent_contexts_by_context(child_id)] == [parent_id]
    assert [c.id for c in store.get_children_contexts_by_context(parent_id)] == [child_id]

    output = pb.Event(type=pb.Event.OUTPUT)
    output.path.steps.add().key = "model"
    second_id, artifact_ids, context_ids = store.put_execution(
        pb.Execution(type_id=trainer_id, name="second", last_known_state=pb.Execution.COMPLETE),
        [(_dataset(type_id, "s3://d", "d"), output)],
        [store.get_contexts_by_id([child_id])[0]])
    assert (second_id, artifact_ids, context_ids) == (2, [4], [child_id])
    assert [a.id for a in store.get_artifacts_by_context(child_id)] == [4]
    assert [e.id for e in store.get_executions_by_context(child_id)] == [2]
    [output_event] = store.get_events_by_artifact_ids([4])
    assert (output_event.execution_id, output_event.type) == (2, pb.Event.OUTPUT)

    def matching(query: str) -> list[int]:
        return sorted(a.id for a in store.get_artifacts(
            list_options=lineage.ListOptions(filter_query=query)))

    assert matching("uri LIKE 's3://%'") == [1, 2, 4]
    assert matching("properties.rows.int_value >= 20") == [2, 3]
    assert matching("contexts_a.name = 'child'") == [4]
    assert matching("events_0.type = INPUT") == [1]
    assert [e.id for e in store.get_executions(list_options=lineage.ListOptions(
        filter_query="last_known_state = COMPLETE"))] == [2]
    newest = store.get_artifacts(list_options=lineage.ListOptions(
        limit=2, order_by=lineage.OrderByField.ID, is_asc=False))
    assert [a.id for a in newest] == [4, 3]


def test_answers_match_the_in_process_store(store):
    """The same writes through gRPC and in process give identical reads."""
    local = lineage.MetadataStore(MEMORY)
    results = []
    for target in (store, local):
        type_id = _dataset_type(target)
        target.put_artifacts([_dataset(type_id, f"u{i}", f"n{i}", rows=i) for i in range(150)])
        listed = target.get_artifacts(list_options=lineage.ListOptions(
            filter_query="properties.rows.int_value > 7", order_by=lineage.OrderByField.ID))
        results.append((type_id, _without_times(listed), target.get_artifact_types()))
    local.close()
    assert len(results[0][1]) == 142
    assert results[0] == results[1]


@pytest.mark.parametrize("call, error", [
    (lambda s, t: s.get_artifact_type("Missing"), errors.NotFoundError),
    (lambda s, t: s.get_artifact_type("Ümlaut ✓"), errors.NotFoundError),
    (lambda s, t: s.put_artifacts([pb.Artifact(type_id=4242, uri="x")]), errors.NotFoundError),
    (lambda s, t: s.put_artifacts([pb.Artifact(type_id=t, uri="x",
                                               properties={"rows": pb.Value(string_value="1")})]),
     errors.InvalidArgumentError),
    (lambda s, t: s.get_artifacts(list_options=lineage.ListOptions(filter_query="uri = ")),
     errors.InvalidArgumentError),
    (lambda s, t: s.put_artifact_type(pb.ArtifactType(name="Dataset", properties={"rows": pb.STRING})),
     errors.AlreadyExistsError),
    (lambda s, t: s.put_artifacts([pb.Artifact(type_id=t, name="taken")]), errors.AlreadyExistsError),
], ids=["missing-type", "non-ascii-name", "unknown-type-id", "wrong-value-kind", "bad-filter", "conflicting-type",
        "duplicate-name"])
def test_errors_arrive_as_the_same_lineage_error(store, call, error):
    local = lineage.MetadataStore(MEMORY)
    messages = []
    for target in (store, local):
        type_id = _dataset_type(target)
        target.put_artifacts([pb.Artifact(type_id=type_id, name="taken")])
        with pytest.raises(error) as raised:
            call(target, type_id)
        assert type(raised.value) is error
        assert raised.value.error_code == error.code
        messages.append(raised.value.message)
    local.close()
    assert messages[0] == messages[1], "the message must travel unchanged"


def test_failed_request_writes_nothing(store):
    type_id = _dataset_type(store)
    before = store.put_artifacts([_dataset(type_id, "kept", "kept")])
    bad = pb.Artifact(type_id=type_id, uri="bad")
    bad.properties["undeclared"].int_value = 1
    with pytest.raises(errors.InvalidArgumentError):
        store.put_artifacts([_dataset(type_id, "first", "first"), bad])
    trainer = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    with pytest.raises(errors.StatusError):
        store.put_execution(
            pb.Execution(type_id=trainer),
            [(_dataset(type_id, "new"), pb.Event(type=pb.Event.OUTPUT)),
             (pb.Artifact(id=999, type_id=type_id), pb.Event(type=pb.Event.INPUT))],
            [pb.Context(type_id=4242, name="nowhere")])
    assert [a.id for a in store.get_artifacts()] == before
    assert store.get_executions() == []
    assert store.get_contexts() == []
    assert store.get_events_by_artifact_ids(before) == []


# ------------------------------------------------------- limits and concurrency


def _with_blob(artifact: pb.Artifact, size: int) -> pb.Artifact:
    # A proto_value is stored as bytes, outside any index, so only the message limit bounds it.
    blob = artifact.custom_properties["blob"].proto_value
    blob.type_url = "type.googleapis.com/test.Blob"
    blob.value = b"y" * size
    return artifact


def test_oversize_messages_are_rejected_and_the_server_keeps_serving(service):
    limit = 64 * 1024
    with server.serve(service, "127.0.0.1", 0, max_message_bytes=limit) as handle, \
            _client(handle.port) as store:
        type_id = _dataset_type(store)
        huge = _with_blob(_dataset(type_id, "x", "huge"), 2 * limit)
        with pytest.raises(errors.ResourceExhaustedError):
            store.put_artifacts([huge])
        assert store.get_artifacts() == [], "a rejected request must write nothing"

        # Each artifact fits, but reading them all back does not.
        ids = [store.put_artifacts([_with_blob(_dataset(type_id, "y", f"a{i}"), limit // 3)])[0]
               for i in range(4)]
        with pytest.raises(errors.ResourceExhaustedError):
            store.get_artifacts_by_id(ids)
        assert [a.id for a in store.get_artifacts_by_id(ids[:1])] == ids[:1]
        assert store.get_artifact_type("Dataset").id == type_id


def test_concurrent_clients_all_writes_land(handle):
    clients, per_client = 16, 20
    with _client(handle.port) as setup:
        type_id = _dataset_type(setup)
        trainer = setup.put_execution_type(pb.ExecutionType(name="Trainer"))
    results: list[tuple[int, list[int]]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def work(worker: int) -> None:
        try:
            with _client(handle.port) as store:
                for i in range(per_client):
                    execution_id, artifact_ids, _ = store.put_execution(
                        pb.Execution(type_id=trainer, name=f"w{worker}-{i}"),
                        [(_dataset(type_id, f"w{worker}/{i}"), pb.Event(type=pb.Event.OUTPUT))], [])
                    assert [a.uri for a in store.get_artifacts_by_id(artifact_ids)] == [f"w{worker}/{i}"]
                    with lock:
                        results.append((execution_id, artifact_ids))
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures[0]
    assert len(results) == clients * per_client
    execution_ids = [e for e, _ in results]
    artifact_ids = [a for _, ids in results for a in ids]
    assert len(set(execution_ids)) == len(execution_ids)
    assert len(set(artifact_ids)) == len(artifact_ids)
    with _client(handle.port) as store:
        assert len(store.get_executions_by_id(execution_ids)) == len(execution_ids)
        assert len(store.get_events_by_execution_ids(execution_ids)) == len(execution_ids)


# ------------------------------------------------------------------ shutdown


class _Gate:
    """The real service, except that GetArtifactsByID waits for ``release``."""

    def __init__(self):
        self._real = core.open_service(MEMORY)
        self.entered = threading.Event()
        self.release = threading.Event()

    def GetArtifactsByID(self, request):
        self.entered.set()
        self.release.wait(30)
        return self._real.GetArtifactsByID(request)

    def __getattr__(self, name):
        return getattr(self._real, name)


def _call_in_thread(fn):
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - inspected by the test
            outcome["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_stop_lets_a_running_call_finish_and_refuses_new_ones():
    gate = _Gate()
    handle = server.serve(gate, "127.0.0.1", 0)
    with _client(handle.port) as store, _client(handle.port) as late:
        type_id = _dataset_type(store)
        [artifact_id] = store.put_artifacts([_dataset(type_id, "kept")])
        running, outcome = _call_in_thread(lambda: store.get_artifacts_by_id([artifact_id]))
        assert gate.entered.wait(10)
        stopping, stopped = _call_in_thread(lambda: handle.stop(grace=20))
        deadline = time.monotonic() + 10
        # gRPC itself cancels calls that arrive while its shutdown begins.
        with pytest.raises((errors.UnavailableError, errors.CancelledError)):
            while time.monotonic() < deadline:  # until the shutdown has begun
                late.get_artifact_types()
                time.sleep(0.05)
        assert stopping.is_alive(), "stop must wait for the running call"
        gate.release.set()
        running.join(10)
        stopping.join(10)
    assert "error" not in outcome, repr(outcome.get("error"))
    assert [a.uri for a in outcome["result"]] == ["kept"]
    assert stopped["result"] is True
    assert handle.servicer.in_flight == 0


def test_stop_cancels_calls_still_running_after_the_grace_period():
    gate = _Gate()
    handle = server.serve(gate, "127.0.0.1", 0)
    with _client(handle.port) as store:
        running, outcome = _call_in_thread(lambda: store.get_artifacts_by_id([1]))
        assert gate.entered.wait(10)
        started = time.monotonic()
        stopping, stopped = _call_in_thread(lambda: handle.stop(grace=0.2))
        running.join(10)
        assert isinstance(outcome.get("error"), (errors.CancelledError, errors.UnavailableError))
        assert time.monotonic() - started < 5
        gate.release.set()
        stopping.join(10)
    assert stopped["result"] is False, "stop must report the cancelled call"
    assert handle.servicer.in_flight == 0


def test_serve_rejects_bad_settings_and_busy_ports(service, handle):
    with pytest.raises(errors.InvalidArgumentError, match="workers"):
        server.serve(service, "127.0.0.1", 0, workers=0)
    with pytest.raises(errors.InvalidArgumentError, match="max_message_bytes"):
        server.serve(service, "127.0.0.1", 0, max_message_bytes=0)
    with pytest.raises(errors.UnavailableError, match=str(handle.port)):
        server.serve(service, "127.0.0.1", handle.port)


class _Aborted(Exception):
    pass


class _Context:
    """The part of grpc.ServicerContext the servicer reads: a deadline that has passed, and abort."""

    def __init__(self, remaining: float | None):
        self.remaining = remaining
        self.aborted: tuple | None = None

    def time_remaining(self):
        return self.remaining

    def abort(self, code, details):
        self.aborted = (code, details)
        raise _Aborted(details)


@pytest.mark.parametrize("remaining", [0.0, -0.5])
def test_a_call_whose_deadline_passed_before_it_ran_is_refused_unrun(remaining):
    """The client has given up on it: a write it made would be one the client takes for failed."""
    service = core.open_service(MEMORY)
    servicer = server.MetadataStoreServicer(service)
    request = svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name="Late"))
    context = _Context(remaining)
    with pytest.raises(_Aborted):
        servicer.PutArtifactType(request, context)
    assert context.aborted[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "PutArtifactType" in context.aborted[1]
    assert service.GetArtifactTypes(svc.GetArtifactTypesRequest()).artifact_types == []
    assert servicer.in_flight == 0
    # With time left, or no deadline at all, the call runs.
    for time_left in (5.0, None):
        servicer.PutArtifactType(svc.PutArtifactTypeRequest(artifact_type=pb.ArtifactType(name=f"T{time_left}")),
                                 _Context(time_left))
    assert len(service.GetArtifactTypes(svc.GetArtifactTypesRequest()).artifact_types) == 2
