"""Bad input reaches gRPC clients and URL parsing as typed errors; the server binds loopback."""

from __future__ import annotations

import grpc
import pytest

import lineage
from lineage import core, errors, server
from lineage.proto import metadata_store_pb2 as pb
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
