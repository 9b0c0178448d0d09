"""The lineage API over the metadata server gives the in-process answers.

A real server (``lineage.server.serve``) serves the store under test; a gRPC
client asks it the same questions as the in-process store, on seeded random
histories, and every answer must be equal.
"""

from __future__ import annotations

import random

import grpc
import pytest
from engine_helpers import random_history, snapshot

import lineage
from lineage import errors
from lineage.proto import lineage_service_pb2 as lsvc
from lineage.proto import lineage_service_pb2_grpc
from lineage.proto import metadata_store_pb2 as pb
from lineage.server import serve


@pytest.fixture
def served(store):
    """(in-process store, gRPC client of a server over the same store)."""
    handle = serve(store._service, "127.0.0.1", 0, workers=4, grace=1)
    client = lineage.MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=handle.port))
    try:
        yield store, client
    finally:
        client.close()
        handle.stop(1)


def _answers(store, history, rng) -> list:
    engine = store.lineage
    answers = []
    for artifact_id in rng.sample(history.artifacts, 6):
        answers.append(engine.downstream([artifact_id]))
        answers.append(engine.upstream([artifact_id], max_hops=2))
        answers.append(engine.impacted(artifact_id))
        answers.append(engine.impacted(artifact_id, "Model"))
    for execution_id in rng.sample(history.executions, 4):
        answers.append(engine.upstream(execution_ids=[execution_id], event_types=[pb.Event.INPUT, pb.Event.OUTPUT]))
        answers.append(engine.downstream(execution_ids=[execution_id], max_hops=1))
    for context_id in history.contexts:
        answers.append(engine.context_dag(context_id))
    data = [a.id for a in store.get_artifacts() if a.type == "Data"]
    answers.append(engine.diff(data[0], data[-1]))
    answers.append(engine.diff(data[1], data[2]))
    for execution in store.get_executions()[:5]:
        inputs = [e.artifact_id for e in store.get_events_by_execution_ids([execution.id])
                  if e.type in (pb.Event.INPUT, pb.Event.DECLARED_INPUT, pb.Event.INTERNAL_INPUT)]
        properties = {"attempt": execution.properties["attempt"].int_value, "note": execution.custom_properties["note"].string_value}
        answers.append(engine.cache_key(execution.type, inputs, properties))
        answers.append(engine.find_reusable_execution(execution.type, inputs, properties))
    answers.append(engine.purge("artifact", history.artifacts[:2], with_downstream=True, dry_run=True))
    answers.append(engine.purge("execution", filter_query="name = 'e3'", dry_run=True))
    return answers


@pytest.mark.parametrize("seed", [3, 11])
def test_grpc_answers_equal_in_process_answers(served, seed):
    store, client = served
    history = random_history(store, seed, executions=25)
    here = _answers(store, history, random.Random(seed))
    there = _answers(client, history, random.Random(seed))
    assert len(here) == len(there)
    for mine, theirs in zip(here, there):
        assert mine == theirs


def test_purge_over_grpc_deletes_what_in_process_dry_run_announced(served):
    store, client = served
    history = random_history(store, 5, executions=20)
    announced = store.lineage.purge("artifact", history.artifacts[:1], with_downstream=True, dry_run=True)
    done = client.lineage.purge("artifact", history.artifacts[:1], with_downstream=True)
    assert done.deleted and not announced.deleted
    assert done.counts == announced.counts and done.by_type == announced.by_type
    assert store.get_artifacts_by_id(history.artifacts[:1]) == []


def test_large_graphs_stream_in_chunks(served):
    store, client = served
    history = random_history(store, 7, executions=30)
    request = lsvc.TraceRequest(artifact_ids=history.artifacts[:3], direction=lsvc.DOWNSTREAM, chunk_size=3)
    stub = lineage_service_pb2_grpc.LineageServiceStub(client._channel)
    chunks = list(stub.Trace(request))
    assert len(chunks) > 1
    merged = pb.LineageGraph()
    for chunk in chunks:
        merged.MergeFrom(chunk.graph)
    whole = store.lineage.downstream(history.artifacts[:3])
    assert list(merged.artifacts) == whole.artifacts
    assert list(merged.executions) == whole.executions
    assert list(merged.events) == whole.events


def test_errors_cross_the_wire_with_their_class_and_nothing_is_written(served):
    store, client = served
    history = random_history(store, 9, executions=10)
    before = snapshot(store)
    with pytest.raises(errors.NotFoundError, match="no artifact with id 999999"):
        client.lineage.downstream([999999])
    with pytest.raises(errors.InvalidArgumentError, match="ids or a filter_query"):
        client.lineage.purge("artifact")
    with pytest.raises(errors.NotFoundError, match="999999"):
        client.lineage.purge("artifact", [history.artifacts[0], 999999])
    with pytest.raises(errors.InvalidArgumentError):
        client.lineage.purge("execution", filter_query="name = = 'x'")
    with pytest.raises(errors.InvalidArgumentError, match="future"):
        client.lineage.upstream([history.artifacts[0]], as_of=2**62)
    with pytest.raises(errors.ResourceExhaustedError, match="more than max_nodes 1"):
        client.lineage.downstream(history.artifacts[:1], max_nodes=1)
    with pytest.raises(errors.InvalidArgumentError, match="max_nodes"):
        client.lineage.downstream(history.artifacts[:1], max_nodes=-1)
    assert snapshot(store) == before


def test_grpc_status_is_unimplemented_for_unknown_lineage_rpc(served):
    _, client = served
    channel = client._channel
    call = channel.unary_unary("/lineage.v1.LineageService/NoSuchCall",
                               request_serializer=lambda m: b"", response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as raised:
        call(None)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_health_reports_both_services(served):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    _, client = served
    health = health_pb2_grpc.HealthStub(client._channel)
    for name in ("ml_metadata.MetadataStoreService", "lineage.v1.LineageService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
