"""TLS for the metadata server, with certificates made by ``openssl`` in the test.

The client side follows MLMD's ``MetadataStoreClientConfig.SSLConfig``:
``custom_ca`` verifies the server, and ``client_key`` with ``server_cert``
(MLMD's name for the client's certificate chain) authenticate the client.
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest
from google.protobuf import text_format

import lineage
from lineage import core, errors, server
from lineage.proto import metadata_store_pb2 as pb

REPO = pathlib.Path(__file__).resolve().parents[2]
ServerSSL = pb.MetadataStoreServerConfig.SSLConfig
ClientSSL = pb.MetadataStoreClientConfig.SSLConfig


@dataclasses.dataclass
class Pki:
    ca: str
    server_key: str
    server_cert: str
    client_key: str
    client_cert: str
    rogue_ca: str
    rogue_client_key: str
    rogue_client_cert: str


def _openssl(*args: str, cwd: pathlib.Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(name: str, cwd: pathlib.Path) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
             "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=cwd)


def _make_leaf(name: str, ca: str, extensions: str, cwd: pathlib.Path) -> None:
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=cwd)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
             cwd=cwd)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make test certificates")
    d = tmp_path_factory.mktemp("pki")
    _make_ca("ca", d)
    _make_ca("rogue", d)
    _make_leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
               "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n", d)
    leaf = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n"
    _make_leaf("client", "ca", leaf, d)
    _make_leaf("intruder", "rogue", leaf, d)

    def read(name: str) -> str:
        return (d / name).read_text()

    return Pki(ca=read("ca.crt"), server_key=read("server.key"), server_cert=read("server.crt"),
               client_key=read("client.key"), client_cert=read("client.crt"),
               rogue_ca=read("rogue.crt"), rogue_client_key=read("intruder.key"),
               rogue_client_cert=read("intruder.crt"))


@pytest.fixture()
def service():
    service = core.open_service(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    yield service
    service.close()


def _client(port: int, ssl: ClientSSL | None) -> lineage.MetadataStore:
    config = pb.MetadataStoreClientConfig(host="127.0.0.1", port=port, client_timeout_sec=10)
    if ssl is not None:
        config.ssl_config.CopyFrom(ssl)
    return lineage.MetadataStore(config)


def _round_trip(store: lineage.MetadataStore) -> None:
    type_id = store.put_artifact_type(pb.ArtifactType(name="Secret"))
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=type_id, uri="s3://private")])
    assert store.get_artifacts_by_id([artifact_id])[0].uri == "s3://private"


def test_tls_without_client_verification(pki, service):
    ssl = ServerSSL(server_key=pki.server_key, server_cert=pki.server_cert)
    with server.serve(service, "127.0.0.1", 0, ssl_config=ssl) as handle:
        with _client(handle.port, ClientSSL(custom_ca=pki.ca)) as store:
            _round_trip(store)
        with _client(handle.port, None) as plaintext, pytest.raises(errors.UnavailableError):
            plaintext.get_artifact_types()
        with _client(handle.port, ClientSSL(custom_ca=pki.rogue_ca)) as untrusting, \
                pytest.raises(errors.UnavailableError):
            untrusting.get_artifact_types()


def test_client_verify_accepts_only_clients_with_a_certificate_from_custom_ca(pki, service):
    ssl = ServerSSL(server_key=pki.server_key, server_cert=pki.server_cert,
                    custom_ca=pki.ca, client_verify=True)
    with server.serve(service, "127.0.0.1", 0, ssl_config=ssl) as handle:
        trusted = ClientSSL(custom_ca=pki.ca, client_key=pki.client_key, server_cert=pki.client_cert)
        with _client(handle.port, trusted) as store:
            _round_trip(store)
        with _client(handle.port, ClientSSL(custom_ca=pki.ca)) as anonymous, \
                pytest.raises(errors.UnavailableError):
            anonymous.get_artifact_types()
        intruder = ClientSSL(custom_ca=pki.ca, client_key=pki.rogue_client_key,
                             server_cert=pki.rogue_client_cert)
        with _client(handle.port, intruder) as store, pytest.raises(errors.UnavailableError):
            store.get_artifact_types()
        with _client(handle.port, trusted) as store:
            assert [t.name for t in store.get_artifact_types()] == ["Secret"]


@pytest.mark.parametrize("fields, message", [
    ({"server_cert": "cert"}, "server_key and server_cert"),
    ({"server_key": "key", "server_cert": "cert", "client_verify": True}, "custom_ca"),
    ({"server_key": "/etc/ssl/server.key", "server_cert": "cert"}, "PEM contents"),
])
def test_incomplete_tls_settings_are_invalid(pki, service, fields, message):
    pem = {"key": pki.server_key, "cert": pki.server_cert}
    ssl = ServerSSL(**{k: pem.get(v, v) if isinstance(v, str) else v for k, v in fields.items()})
    with pytest.raises(errors.InvalidArgumentError, match=message):
        server.serve(service, "127.0.0.1", 0, ssl_config=ssl)


def test_config_file_ssl_config_in_a_server_process(pki, tmp_path):
    config = pb.MetadataStoreServerConfig()
    config.connection_config.fake_database.SetInParent()
    config.ssl_config.CopyFrom(ServerSSL(server_key=pki.server_key, server_cert=pki.server_cert,
                                         custom_ca=pki.ca, client_verify=True))
    path = tmp_path / "server_config.pbtxt"
    path.write_text(text_format.MessageToString(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", "0",
         "--config", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("lineage metadata server listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        trusted = ClientSSL(custom_ca=pki.ca, client_key=pki.client_key, server_cert=pki.client_cert)
        with _client(port, trusted) as store:
            _round_trip(store)
        with _client(port, ClientSSL(custom_ca=pki.ca)) as anonymous, \
                pytest.raises(errors.UnavailableError):
            anonymous.get_artifact_types()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
