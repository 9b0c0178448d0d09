"""Bad input reaches gRPC clients and URL parsing as typed errors; the server binds loopback."""

from __future__ import annotations

import re

import grpc
import pytest

import lineage
from lineage import core, errors, server
from lineage.proto import lineage_service_pb2 as lsvc
from lineage.proto import metadata_store_pb2 as pb
from lineage.proto import metadata_store_service_pb2 as svc
from lineage.query import parse_filter
from lineage.query import parser as filter_parser
from lineage.server import command
from lineage.urls import config_from_url

MEMORY = pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig())


@pytest.fixture()
def handle():
    service = core.open_service(MEMORY)
    handle = server.serve(service, "127.0.0.1", 0)
    yield handle
    handle.stop(grace=1)
    service.close()


def test_a_request_body_that_does_not_parse_is_invalid_argument(handle):
    with grpc.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
        call = channel.unary_unary("/ml_metadata.MetadataStoreService/PutArtifacts")
        with pytest.raises(grpc.RpcError) as raised:
            call(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "PutArtifactsRequest" in raised.value.details()


def test_a_struct_too_deep_to_read_back_is_refused_over_grpc(handle):
    client = lineage.MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=handle.port))
    type_id = client.put_artifact_type(pb.ArtifactType(name="Data"))
    artifact = pb.Artifact(type_id=type_id)
    inner = artifact.custom_properties["deep"].struct_value.fields["x"]
    for _ in range(46):
        inner = inner.list_value.values.add()
    inner.string_value = "leaf"
    with pytest.raises(errors.InvalidArgumentError, match="deep"):
        client.put_artifacts([artifact])
    [kept] = client.put_artifacts([pb.Artifact(type_id=type_id)])
    # Nothing unreadable was stored, so lineage over the store keeps working.
    assert [a.id for a in client.get_artifacts()] == [kept]
    client.close()


def test_surrogates_ids_and_large_structs_over_grpc_are_invalid_argument(handle):
    client = lineage.MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=handle.port))
    type_id = client.put_artifact_type(pb.ArtifactType(name="Data"))
    [kept] = client.put_artifacts([pb.Artifact(type_id=type_id, uri="u")])
    with pytest.raises(errors.InvalidArgumentError, match="^uri holds '\\\\ud800'"):
        client.get_artifacts_by_uri("\ud800")
    with pytest.raises(errors.InvalidArgumentError, match="^list_options.filter_query holds"):
        client.get_artifacts(list_options=lineage.ListOptions(filter_query="name = '\udc00'"))
    with pytest.raises(errors.InvalidArgumentError, match="^properties\\['p'\\] holds"):
        client.lineage.cache_key("Data", [kept], {"p": "\ud800"})
    with pytest.raises(errors.InvalidArgumentError, match="^artifact_ids must be ids"):
        client.lineage.upstream(artifact_ids="abc")
    with pytest.raises(errors.InvalidArgumentError, match="^artifact_ids holds 'abc'"):
        client.lineage.downstream(artifact_ids=["abc"])
    large = pb.Artifact(type_id=type_id)
    large.custom_properties["big"].struct_value.update({"x": "v" * 2000})
    with pytest.raises(errors.InvalidArgumentError, match=r"custom_properties\['big'\].*2600 bytes"):
        client.put_artifacts([pb.Artifact(type_id=type_id), large])
    assert [a.id for a in client.get_artifacts()] == [kept]
    client.close()


# A UTF-8-encoded lone surrogate: bytes no valid text encodes to.
_NOT_UTF8 = b"\xed\xa0\x80"


def _with_bad_text(request) -> bytes:
    """The request's wire form with its placeholder "@@@" replaced by bytes that are not UTF-8."""
    body = request.SerializeToString()
    assert body.count(b"@@@") == 1
    return body.replace(b"@@@", _NOT_UTF8)


def test_strings_that_are_not_utf8_on_the_wire_are_invalid_argument(handle):
    # MLMD's string fields are proto2, which protobuf parses without checking
    # UTF-8 (they arrive as bytes): a hostile client can send any bytes.
    client = lineage.MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=handle.port))
    type_id = client.put_artifact_type(pb.ArtifactType(name="Data"))
    [kept] = client.put_artifacts([pb.Artifact(type_id=type_id)])
    keyed = pb.Artifact(type_id=type_id)
    keyed.custom_properties["@@@"].int_value = 1
    valued = pb.Artifact(type_id=type_id)
    valued.custom_properties["p"].string_value = "@@@"
    service = "/ml_metadata.MetadataStoreService/"
    cases = [
        (service + "GetArtifactType", svc.GetArtifactTypeRequest(type_name="@@@"), "type_name"),
        (service + "GetArtifactsByURI", svc.GetArtifactsByURIRequest(uris=["u", "@@@"]), "uris[1]"),
        (service + "PutArtifacts", svc.PutArtifactsRequest(
            artifacts=[pb.Artifact(type_id=type_id, uri="@@@")]), "artifacts[0].uri"),
        (service + "PutArtifacts", svc.PutArtifactsRequest(artifacts=[keyed]),
         "artifacts[0].custom_properties"),
        (service + "PutArtifacts", svc.PutArtifactsRequest(artifacts=[valued]),
         "artifacts[0].custom_properties['p']"),
        (service + "GetArtifacts", svc.GetArtifactsRequest(
            options=pb.ListOperationOptions(filter_query="uri = '@@@'")), "options.filter_query"),
        ("/lineage.v1.LineageService/Impacted",
         lsvc.ImpactedRequest(artifact_id=kept, artifact_type="@@@"), "artifact_type"),
    ]
    with grpc.insecure_channel(f"127.0.0.1:{handle.port}") as channel:
        for method, request, field in cases:
            with pytest.raises(grpc.RpcError) as raised:
                channel.unary_unary(method)(_with_bad_text(request), timeout=10)
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, raised.value.details())
            assert raised.value.details().startswith(field), (field, raised.value.details())
            assert "not valid UTF-8" in raised.value.details()
    assert [a.id for a in client.get_artifacts()] == [kept]
    client.close()


@pytest.mark.parametrize("request_", [
    svc.GetArtifactsByIDRequest(artifact_ids=[0, 256]),
    svc.GetArtifactsByURIRequest(uris=["", "gs://b/0"]),
    svc.GetArtifactsRequest(options=pb.ListOperationOptions(max_result_size=0, filter_query="uri = ''")),
    svc.GetExecutionsByContextRequest(context_id=1, options=pb.ListOperationOptions(
        order_by_field=pb.ListOperationOptions.OrderByField(field=pb.ListOperationOptions.OrderByField.ID))),
])
def test_lookups_without_nul_pass_whatever_bytes_they_serialize_to(request_):
    core.check_request(request_, writes=False)


@pytest.mark.parametrize("request_, field", [
    (svc.GetArtifactsByURIRequest(uris=["fine", "a\x00b"]), "uris[1]"),
    (svc.GetArtifactsRequest(options=pb.ListOperationOptions(max_result_size=0, filter_query="name = 'a\x00'")),
     "filter_query"),
    (svc.GetContextByTypeAndNameRequest(type_name="T", context_name="\x00"), "context_name"),
    (lsvc.FindReusableExecutionRequest(step=lsvc.StepQuery(
        type_name="E", keyed_inputs={"in\x00": lsvc.InputIds(artifact_ids=[0])})), "keyed_inputs"),
])
def test_lookups_holding_nul_are_refused_naming_the_field(request_, field):
    with pytest.raises(errors.InvalidArgumentError, match=re.escape(field)):
        core.check_request(request_, writes=False)


@pytest.mark.parametrize("url", ["mysql://h:99999/db", "postgresql://u@h:port/db", "neo4j://[::1",
                                 "bolt://[::1:7687"])
def test_malformed_store_urls_are_invalid_argument(url):
    with pytest.raises(errors.InvalidArgumentError, match="malformed"):
        config_from_url(url)
    with pytest.raises(errors.InvalidArgumentError):
        lineage.connect(url)


def test_serve_listens_on_loopback_unless_told_otherwise():
    args = command.build_parser().parse_args([])
    assert args.host == "127.0.0.1"
    assert "client_verify" in command.build_parser().format_help()


def test_parse_cache_keeps_only_short_queries():
    filter_parser._parse_cached.cache_clear()
    long_query = "uri = '" + "x" * 60000 + "'"
    for i in range(5):
        parse_filter(long_query + f" OR id = {i}", "artifact")
    assert filter_parser._parse_cached.cache_info().currsize == 0
    parse_filter("id = 1", "artifact")
    parse_filter("id = 1", "artifact")
    assert filter_parser._parse_cached.cache_info().hits == 1
    with pytest.raises(errors.InvalidArgumentError, match="65536"):
        parse_filter("uri = '" + "x" * 70000 + "'", "artifact")


def test_statement_timeout_setting_is_checked(monkeypatch):
    from lineage.backends import base

    monkeypatch.setenv("LINEAGE_STATEMENT_TIMEOUT", "0")
    assert base.statement_timeout() is None
    monkeypatch.setenv("LINEAGE_STATEMENT_TIMEOUT", "1.5")
    assert base.statement_timeout() == 1.5
    monkeypatch.setenv("LINEAGE_STATEMENT_TIMEOUT", "soon")
    with pytest.raises(errors.InvalidArgumentError, match="LINEAGE_STATEMENT_TIMEOUT"):
        base.statement_timeout()
