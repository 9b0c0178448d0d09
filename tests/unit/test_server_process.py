"""``python -m lineage.server`` as a real process: start-up, health, signals, config."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import sys

import grpc
import pytest
from google.protobuf import text_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

import lineage
import lineage.server
from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

REPO = pathlib.Path(__file__).resolve().parents[2]
READY = "lineage metadata server listening on "


class ServerProcess:
    """A server subprocess started with ``--port 0``, read until it is ready."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        self.line = self.process.stdout.readline()
        if not self.line.startswith(READY):
            self.process.kill()
            _, err = self.process.communicate(timeout=30)
            raise AssertionError(f"server did not start: {self.line!r}\n{err}")
        self.port = int(self.line.rsplit(":", 1)[1])

    def client(self) -> lineage.MetadataStore:
        return lineage.MetadataStore(
            pb.MetadataStoreClientConfig(host="127.0.0.1", port=self.port, client_timeout_sec=30))

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Sends ``signum`` and returns the exit code and stderr."""
        self.process.send_signal(signum)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=30)


@pytest.fixture()
def started():
    processes: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        processes.append(ServerProcess(*args))
        return processes[-1]

    yield start
    for p in processes:
        p.kill()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", "0", *args],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_default_server_serves_reports_health_and_stops_cleanly_on_signal(started, signum):
    server = started()
    assert server.line == f"{READY}127.0.0.1:{server.port}\n"
    assert server.port > 0

    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "ml_metadata.MetadataStoreService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

    with server.client() as store:
        type_id = store.put_artifact_type(pb.ArtifactType(name="Dataset"))
        [artifact_id] = store.put_artifacts([pb.Artifact(type_id=type_id, uri="s3://x")])
        assert store.get_artifacts_by_id([artifact_id])[0].uri == "s3://x"
        with pytest.raises(errors.NotFoundError):
            store.get_execution_type("Missing")

    code, err = server.stop(signum)
    assert code == 0, err
    assert "IN-MEMORY" in err and "LOST" in err, "the in-memory warning must be loud"
    assert "Traceback" not in err


def test_store_url_and_config_file_select_the_store_without_warning(started, tmp_path):
    by_url = started("--db", "memory://", "--workers", "4", "--max-message-mb", "8")
    config = pb.MetadataStoreServerConfig()
    config.connection_config.fake_database.SetInParent()
    path = tmp_path / "server_config.pbtxt"
    path.write_text(text_format.MessageToString(config))
    by_file = started("--config", str(path))
    for server in (by_url, by_file):
        with server.client() as store:
            assert store.put_context_type(pb.ContextType(name="Run")) > 0
        code, err = server.stop()
        assert code == 0, err
        assert "IN-MEMORY" not in err


def test_max_message_size_flag_is_applied(started):
    server = started("--max-message-mb", "0.05")
    with server.client() as store:
        type_id = store.put_artifact_type(pb.ArtifactType(name="Blob"))
        with pytest.raises(errors.ResourceExhaustedError):
            store.put_artifacts([pb.Artifact(type_id=type_id, uri="z" * 100_000)])
        assert store.put_artifacts([pb.Artifact(type_id=type_id, uri="small")]) == [1]
    code, err = server.stop()
    assert code == 0, err


def test_sqlite_store_keeps_data_across_restarts(started, tmp_path):
    url = f"sqlite:///{tmp_path / 'metadata.sqlite'}"
    first = started("--db", url)
    with first.client() as store:
        type_id = store.put_artifact_type(pb.ArtifactType(name="Dataset"))
        ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri="kept")])
    assert first.stop()[0] == 0
    second = started("--db", url)
    with second.client() as store:
        assert [a.uri for a in store.get_artifacts_by_id(ids)] == ["kept"]
    assert second.stop()[0] == 0


@pytest.mark.parametrize("args, message", [
    (["--db", "nosuch://x"], "unknown scheme"),
    (["--config", "/nonexistent/server_config.pbtxt"], "cannot be read"),
])
def test_unusable_store_settings_exit_1_with_a_message(args, message):
    done = _run(*args)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("lineage serve: error: ")
    assert message in done.stderr


def test_malformed_config_file_exits_1_naming_the_file(tmp_path):
    path = tmp_path / "bad.pbtxt"
    path.write_text("connection_config { no_such_backend {} }\n")
    done = _run("--config", str(path))
    assert done.returncode == 1
    assert str(path) in done.stderr and "MetadataStoreServerConfig" in done.stderr


def test_config_and_db_are_exclusive_and_bad_numbers_are_usage_errors():
    assert _run("--config", "a.pbtxt", "--db", "memory://").returncode == 2
    assert _run("--workers", "0").returncode == 2
    assert _run("--max-message-mb", "0").returncode == 2


def test_busy_port_exits_1(started):
    server = started("--db", "memory://")
    done = subprocess.run(
        [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", str(server.port),
         "--db", "memory://"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert done.returncode == 1
    assert f"127.0.0.1:{server.port}" in done.stderr
    assert server.stop()[0] == 0


def test_main_parses_the_serve_arguments():
    args = lineage.server.build_parser().parse_args(
        ["--host", "::1", "--port", "0", "--db", "memory://", "--workers", "3",
         "--max-message-mb", "12"])
    assert (args.host, args.port, args.db, args.workers, args.max_message_mb) == (
        "::1", 0, "memory://", 3, 12.0)
    defaults = lineage.server.build_parser().parse_args([])
    assert (defaults.port, defaults.workers, defaults.max_message_mb) == (8080, 16, 100.0)
