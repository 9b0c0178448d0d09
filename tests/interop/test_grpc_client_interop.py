"""ml-metadata 1.17.1's own gRPC client against the lineage metadata server.

The real ``ml_metadata.MetadataStore`` (in its own virtual environment, see
``scripts/mlmd-venv``) plays a round of calls against ``lineage serve`` in a
subprocess; the same round played in this process on a ``lineage.MetadataStore``
over the same kind of store must give the same transcript: ids, fields, error
classes and messages. The round runs once in plaintext and once over TLS with
client certificates (made with ``openssl`` in the test).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest
from google.protobuf import text_format

import lineage
from lineage.proto import metadata_store_pb2

pytestmark = pytest.mark.interop

REPO = pathlib.Path(__file__).resolve().parents[2]
PEER = pathlib.Path(__file__).with_name("mlmd_client_peer.py")
FALLBACK_PYTHON = pathlib.Path("/tmp/mlmd-venv/bin/python")


def _load_peer():
    spec = importlib.util.spec_from_file_location("mlmd_client_peer", PEER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


peer = _load_peer()


@pytest.fixture(scope="module")
def mlmd_python() -> str:
    """The python of a virtual environment holding ml-metadata 1.17.1."""
    script = REPO / "scripts" / "mlmd-venv"
    if script.exists():
        done = subprocess.run([str(script)], capture_output=True, text=True, timeout=900)
        lines = done.stdout.strip().splitlines()
        if done.returncode == 0 and lines:
            return lines[-1]
        if not FALLBACK_PYTHON.exists():
            pytest.fail(f"scripts/mlmd-venv failed ({done.returncode}):\n{done.stderr[-3000:]}")
    if not FALLBACK_PYTHON.exists():
        pytest.fail(f"no ml-metadata environment: neither {script} nor {FALLBACK_PYTHON} exists")
    return str(FALLBACK_PYTHON)


def _openssl(*args: str, cwd: pathlib.Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(d: pathlib.Path) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM text."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=interop-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, usage in (("server", "serverAuth"), ("client", "clientAuth")):
        (d / f"{name}.ext").write_text(
            f"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n")
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
                 "-extfile", f"{name}.ext", cwd=d)
    return {name: (d / name).read_text()
            for name in ("ca.crt", "server.key", "server.crt", "client.key", "client.crt")}


def _start_server(*args: str):
    process = subprocess.Popen(
        [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", "0",
         "--log-level", "WARNING", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        pytest.fail(f"server did not start: {line!r} {process.stderr.read()[-3000:]}")
    return process, int(line.rsplit(":", 1)[1])


def _stop_server(process) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert code == 0, process.stderr.read()[-3000:]


@pytest.fixture()
def server_port():
    """A ``lineage serve`` subprocess on a fresh in-memory store; yields its port."""
    process, port = _start_server("--db", "memory://")
    try:
        yield port
    finally:
        _stop_server(process)


@pytest.fixture()
def tls_server(tmp_path):
    """A TLS server requiring client certificates; yields (port, client SSL JSON file)."""
    pem = _certificates(tmp_path)
    config = metadata_store_pb2.MetadataStoreServerConfig()
    config.connection_config.fake_database.SetInParent()
    config.ssl_config.server_key = pem["server.key"]
    config.ssl_config.server_cert = pem["server.crt"]
    config.ssl_config.custom_ca = pem["ca.crt"]
    config.ssl_config.client_verify = True
    (tmp_path / "server.pbtxt").write_text(text_format.MessageToString(config))
    client_ssl = tmp_path / "client_ssl.json"
    # MLMD's client sends the certificate in `server_cert` as its own chain.
    client_ssl.write_text(json.dumps({"custom_ca": pem["ca.crt"], "client_key": pem["client.key"],
                                      "server_cert": pem["client.crt"]}))
    process, port = _start_server("--config", str(tmp_path / "server.pbtxt"))
    try:
        yield port, client_ssl
    finally:
        _stop_server(process)


def _in_process_transcript() -> list[dict]:
    store = lineage.MetadataStore(
        metadata_store_pb2.ConnectionConfig(fake_database=metadata_store_pb2.FakeDatabaseConfig()))
    try:
        api = peer.Api(store=store, pb=metadata_store_pb2, errors=lineage.errors,
                       ListOptions=lineage.ListOptions, OrderByField=lineage.OrderByField)
        return peer.run_round(api)
    finally:
        store.close()


def _peer_transcript(mlmd_python: str, port: int, *extra: str) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [mlmd_python, str(PEER), "127.0.0.1", str(port), *extra],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(done.stdout)["steps"]


def _assert_same(remote: list[dict], local: list[dict]) -> None:

    assert [s["step"] for s in remote] == [s["step"] for s in local]
    mismatches = [
        f"{r['step']}:\n  mlmd client over grpc: {json.dumps(r)[:800]}\n"
        f"  lineage in process:    {json.dumps(l)[:800]}"
        for r, l in zip(remote, local)
        if r != l
    ]
    assert not mismatches, "\n".join(mismatches)

    # The round really exercised the server: results, and errors of each class.
    errors_seen = {s["error"] for s in remote if "error" in s}
    assert {"NotFoundError", "InvalidArgumentError", "AlreadyExistsError"} <= errors_seen
    assert all(s["status_error"] for s in remote if "error" in s)
    by_step = {s["step"]: s for s in remote}
    assert by_step["put_artifacts"]["result"] == [1, 2, 3]
    assert by_step["put_execution"]["result"] == [2, [4, 2], [1, 3]]
    subgraph = by_step["get_lineage_subgraph from the model"]["result"]
    assert {a["id"] for a in subgraph["artifacts"]} >= {"2", "4"}
    assert {e["type"] for e in subgraph["events"]} == {"INPUT", "OUTPUT"}
    assert [a["id"] for a in by_step["artifacts unchanged after failures"]["result"]] == ["1", "2", "3"]


def test_mlmd_client_gets_the_same_answers_as_an_in_process_store(mlmd_python, server_port):
    _assert_same(_peer_transcript(mlmd_python, server_port), _in_process_transcript())


def test_mlmd_client_over_tls_with_a_client_certificate(mlmd_python, tls_server):
    port, client_ssl = tls_server
    _assert_same(_peer_transcript(mlmd_python, port, str(client_ssl)), _in_process_transcript())
