"""The command as a whole: the demo, help, exit codes, store URLs, and the installed entry point."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

import lineage

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_demo_on_the_default_memory_store(run, tmp_path):
    picture = tmp_path / "demo.html"
    result = run("demo", "-o", str(picture))
    assert result.code == 0, result.err
    for line in ("Recorded 3 daily runs", "1. Which data trained the latest model (artifact 17)?",
                 "/data/raw/day1, /data/raw/day3", "model 11 (/models/day2); pushed to serving: /serving/taxi/2",
                 "yes: execution 17 already made model 17", "the step must run", "The store lived in memory",
                 "Why /data/raw/day1 too: SchemaGen ran once, on day 1's statistics",
                 "RawData A1 → StatisticsGen E2 → Statistics A2 → SchemaGen E3 → Schema A3 → Trainer E17 → Model A17"):
        assert line in result.out
    page = picture.read_text()
    assert "Provenance of model 17" in page and page.count('class="node ') == 12


def test_demo_refuses_a_store_that_holds_records(store_url, run, tmp_path):
    first = run("demo", "--db", store_url, "-o", str(tmp_path / "a.html"))
    assert first.code == 0, first.err
    if not store_url.startswith("memory:"):
        assert "lineage trace 17 --db " in first.out
        password = urlsplit(store_url).password
        if password:
            # The hints name the store but never print its password.
            assert f":{password}@" not in first.out and ":***@" in first.out
    again = run("demo", "--db", store_url, "-o", str(tmp_path / "b.html"))
    assert again.code == 1
    assert again.err.startswith("lineage: FailedPreconditionError: the store at")
    assert run("ls", "artifacts", "--db", store_url, "--json").json()["artifacts"][-1]["id"] == 19


def test_lineage_db_names_the_store(store_url, run, monkeypatch, tmp_path):
    assert run("demo", "--db", store_url, "-o", str(tmp_path / "d.html")).code == 0
    monkeypatch.setenv("LINEAGE_DB", store_url)
    result = run("ls", "contexts", "--json")
    assert result.code == 0, result.err
    assert len(result.json()["contexts"]) == 4


def test_usage_errors_exit_2(run):
    assert run().code == 2
    assert run("frobnicate").code == 2
    assert run("ls", "widgets", "--db", "memory://").code == 2
    assert run("show", "artifact", "--db", "memory://").code == 2
    assert run("trace", "1", "--up", "--down", "--db", "memory://").code == 2
    no_store = run("ls", "artifacts")
    assert no_store.code == 2 and "pass --db URL or set LINEAGE_DB" in no_store.err


def test_help_documents_exit_codes_and_the_copy_contract(run):
    top = run("--help")
    assert top.code == 0 and "exit codes: 0 ok; 1 user error" in top.out
    for command in ("demo", "ls", "show", "trace", "graph", "stats", "copy", "serve"):
        assert command in top.out
    copy = run("copy", "--help")
    assert copy.code == 0
    text = " ".join(copy.out.split())  # phrases may wrap at the width of the help
    for phrase in ("All or nothing", "never left", "half-copied", "Ids are kept", "--force", "--id-map",
                   "create and update times"):
        assert phrase in text


def test_bad_urls_and_unreachable_stores(run, tmp_path):
    malformed = run("ls", "artifacts", "--db", "carrier-pigeon://bird:seed@loft")
    assert malformed.code == 1 and "unknown scheme" in malformed.err
    assert "seed" not in malformed.err
    missing = run("stats", "--db", f"sqlite:///{tmp_path}/nothing-here.sqlite")
    assert missing.code == 3 and not (tmp_path / "nothing-here.sqlite").exists()
    down = run("ls", "artifacts", "--db", "bolt://neo4j:secret@127.0.0.1:1")
    assert down.code == 3
    assert "secret" not in down.err and "neo4j:***@127.0.0.1:1" in down.err
    assert down.err.count("\n") == 1


def _lineage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lineage.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})}, cwd=REPO)


def test_a_real_process_exits_with_the_documented_codes(tmp_path):
    ok = _lineage("demo", "-o", str(tmp_path / "demo.html"))
    assert ok.returncode == 0 and "Which models descend from the bad dataset" in ok.stdout
    user = _lineage("graph", "--context", "1", "--db", "carrier-pigeon://x")
    assert user.returncode == 1 and "Traceback" not in user.stderr
    usage = _lineage("show")
    assert usage.returncode == 2 and "usage: lineage show" in usage.stderr
    for url in ("bolt://127.0.0.1:1", "neo4j://127.0.0.1:1"):
        # One line, the error: no driver log lines (neo4j:// logs its routing failure) before it.
        unavailable = _lineage("stats", "--db", url)
        assert unavailable.returncode == 3
        assert unavailable.stderr.count("\n") == 1, unavailable.stderr
        assert unavailable.stderr.startswith("lineage: UnavailableError: cannot open the store at")
    version = _lineage("--version")
    assert version.returncode == 0 and version.stdout == f"lineage {lineage.__version__}\n"


def test_the_installed_entry_point_and_serve_delegation():
    script = shutil.which("lineage", path=str(pathlib.Path(sys.executable).parent))
    if script is None:
        pytest.skip("the package is not installed with its console script in this environment")
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "usage: lineage" in done.stdout
    serve = subprocess.run([script, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert serve.returncode == 0 and "usage: lineage serve" in serve.stdout


@pytest.mark.parametrize("lineage_db", ["memory://", None])
def test_serve_takes_its_store_from_lineage_db(lineage_db):
    env = {k: v for k, v in os.environ.items() if k != "LINEAGE_DB"}
    if lineage_db:
        env["LINEAGE_DB"] = lineage_db
    server = subprocess.Popen([sys.executable, "-m", "lineage.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        first = server.stdout.readline()
        assert "listening on 127.0.0.1:" in first
    finally:
        server.terminate()
        _, err = server.communicate(timeout=60)
    warned = "no --config or --db given" in err
    assert warned is (lineage_db is None)


def test_an_unwritable_output_file_is_a_user_error(run, tmp_path):
    result = run("demo", "-o", str(tmp_path / "no" / "such" / "dir.html"))
    assert result.code == 1
    assert result.err.startswith("lineage: No such file or directory: ") and result.err.count("\n") == 1
