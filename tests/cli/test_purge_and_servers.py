"""``lineage purge``, ``--as-of``, and every command against a metadata server (grpc://, grpcs://)."""

from __future__ import annotations

import pathlib
import sys

import pytest

from lineage import core, server
from lineage.proto import metadata_store_pb2 as pb
from lineage.urls import config_from_url

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO / "tests" / "unit") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "unit"))
from test_server_tls import pki  # noqa: E402,F401  (module-scoped certificate fixture)


def _count(run, url: str, what: str) -> int:
    result = run("ls", what, "--db", url, "--json", "--limit", "0")
    assert result.code == 0, result.err
    return len(result.json()[what])


def test_purge_is_a_dry_run_until_yes(demo_store, run):
    url, _ = demo_store
    before = (_count(run, url, "artifacts"), _count(run, url, "executions"))
    dry = run("purge", "artifacts", "1", "--with-downstream", "--db", url, "--json")
    assert dry.code == 0, dry.err
    report = dry.json()
    assert report["deleted"] is False and report["counts"]["artifacts"] > 1
    assert (_count(run, url, "artifacts"), _count(run, url, "executions")) == before
    text = run("purge", "artifacts", "1", "--with-downstream", "--db", url)
    assert text.code == 0 and "dry run: nothing was deleted; pass --yes" in text.out
    done = run("purge", "artifacts", "1", "--with-downstream", "--yes", "--db", url, "--json")
    assert done.code == 0, done.err
    assert done.json()["deleted"] is True and done.json()["counts"] == report["counts"]
    assert _count(run, url, "artifacts") == before[0] - report["counts"]["artifacts"]
    assert _count(run, url, "executions") == before[1] - report["counts"]["executions"]


def test_bad_purges_and_moments_exit_with_one_error(demo_store, run):
    url, _ = demo_store
    before = _count(run, url, "artifacts")
    assert run("purge", "artifacts", "--db", url).code == 2
    for args, message in ((("purge", "artifacts", "424242"), "NotFoundError"),
                          (("purge", "artifacts", "1", "--older-than", "ninety"), "older_than"),
                          (("purge", "artifacts", "--filter", "uri = = 1"), "filter_query"),
                          (("purge", "contexts", "1", "--state", "LIVE"), "no state"),
                          (("trace", "1", "--as-of", "tomorrow"), "--as-of"),
                          (("trace", "1", "--as-of", "2999-01-01T00:00"), "future")):
        result = run(*args, "--db", url)
        assert result.code == 1, (args, result.err)
        first, *rest = result.err.splitlines()
        assert message in first
        if args[2:3] == ("--filter",):
            # A filter error shows the query with a caret under the mistake.
            assert rest == [f"  {args[3]}", "        ^"]
        else:
            assert rest == []
    assert _count(run, url, "artifacts") == before


def test_trace_as_of_hides_what_came_later(demo_store, run):
    url, _ = demo_store
    now = run("trace", "1", "--down", "--db", url, "--json").json()
    assert now["nodes"] > 1
    early = run("trace", "1", "--down", "--as-of", "0", "--db", url)
    assert early.code == 1 and "existed" in early.err


@pytest.fixture
def served_sqlite(run, tmp_path):
    """(sqlite URL, grpc URL) of a demo store and a server over the same file."""
    url = f"sqlite:///{tmp_path / 'served.sqlite'}"
    assert run("demo", "--db", url, "-o", str(tmp_path / "demo.html")).code == 0
    service = core.open_service(config_from_url(url))
    handle = server.serve(service, "127.0.0.1", 0, workers=4, grace=1)
    try:
        yield url, f"grpc://127.0.0.1:{handle.port}"
    finally:
        handle.stop(1)
        service.close()


@pytest.mark.parametrize("args", [
    ("trace", "17"), ("trace", "1", "--down"), ("trace", "7", "--execution", "--depth", "2"),
    ("graph", "17", "--format", "json"), ("graph", "--context", "1"),
    ("ls", "artifacts"), ("ls", "types"), ("show", "artifact", "17"), ("show", "execution", "3"),
    ("purge", "artifacts", "1", "--with-downstream"), ("stats",),
], ids=lambda a: "-".join(a))
def test_commands_over_grpc_answer_as_on_the_database(served_sqlite, run, args):
    url, grpc_url = served_sqlite
    direct = run(*args, "--db", url, "--json")
    remote = run(*args, "--db", grpc_url, "--json")
    assert direct.code == 0, direct.err
    assert remote.code == 0, remote.err
    assert remote.out == direct.out


def test_purge_over_grpc_deletes_on_the_server(served_sqlite, run):
    url, grpc_url = served_sqlite
    before = _count(run, url, "artifacts")
    done = run("purge", "artifacts", "1", "--with-downstream", "--yes", "--db", grpc_url, "--json")
    assert done.code == 0, done.err
    assert _count(run, url, "artifacts") == before - done.json()["counts"]["artifacts"]


def test_copy_from_and_into_a_server_equals_the_copy_on_the_database(served_sqlite, run, tmp_path):
    from .test_copy import _open, dump

    url, grpc_url = served_sqlite
    direct, remote = f"sqlite:///{tmp_path / 'direct.sqlite'}", f"sqlite:///{tmp_path / 'remote.sqlite'}"
    assert run("copy", url, direct, "--json").code == 0
    fetched = run("copy", grpc_url, remote, "--json")
    assert fetched.code == 0, fetched.err
    assert fetched.json()["ids_kept"] is True
    with _open(url) as original, _open(direct) as here, _open(remote) as there:
        assert dump(there) == dump(here) == dump(original)
    # Into an empty store behind a second server, and refused once it holds the copy.
    target = core.open_service(config_from_url(f"sqlite:///{tmp_path / 'target.sqlite'}"))
    handle = server.serve(target, "127.0.0.1", 0, workers=2, grace=1)
    try:
        target_url = f"grpc://127.0.0.1:{handle.port}"
        sent = run("copy", url, target_url, "--json")
        assert sent.code == 0, sent.err
        assert sent.json()["counts"] == fetched.json()["counts"]
        with _open(url) as original, _open(target_url) as copied:
            assert dump(copied) == dump(original)
        again = run("copy", url, target_url)
        assert again.code == 1 and "FailedPreconditionError" in again.err and "not empty" in again.err
    finally:
        handle.stop(1)
        target.close()


def test_unreachable_server_is_exit_3_with_one_line(run):
    result = run("trace", "1", "--db", "grpc://127.0.0.1:9")
    assert result.code == 3
    assert result.err.startswith("lineage: UnavailableError:") and result.err.count("\n") == 1


def test_grpcs_with_the_servers_ca_and_plaintext_against_tls(pki, run, tmp_path):  # noqa: F811
    (tmp_path / "ca.pem").write_text(pki.ca)
    service = core.open_service(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    ssl = pb.MetadataStoreServerConfig.SSLConfig(server_key=pki.server_key, server_cert=pki.server_cert)
    try:
        with server.serve(service, "127.0.0.1", 0, ssl_config=ssl) as handle:
            secure = run("ls", "types", "--json", "--db", f"grpcs://127.0.0.1:{handle.port}?ca={tmp_path / 'ca.pem'}")
            assert secure.code == 0, secure.err
            plain = run("ls", "types", "--db", f"grpc://127.0.0.1:{handle.port}")
            assert plain.code == 3 and plain.err.count("\n") == 1
            assert plain.err.startswith("lineage: UnavailableError:")
            missing = run("ls", "types", "--db", f"grpcs://127.0.0.1:{handle.port}?ca={tmp_path / 'nope.pem'}")
            assert missing.code == 1 and "cannot be read" in missing.err
    finally:
        service.close()
