"""A store written by ml-metadata 1.17.1, copied by ``lineage copy`` through every backend, read back by ml-metadata.

ml-metadata writes a SQLite file; ``lineage copy`` moves it into a backend and
from there into a new SQLite file; ml-metadata then dumps both files. Its own
view of the two must be identical: every id, type (versions, base types,
external ids), property, state, time, event path, attribution, association and
parent context.

The ml-metadata interpreter comes from ``LINEAGE_MLMD_PYTHON``, else from
``scripts/mlmd-venv``; without one the test fails rather than skips.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from .conftest import ALL_BACKENDS, make_store_url

pytestmark = pytest.mark.interop

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEER = HERE / "mlmd_store_peer.py"


@pytest.fixture(scope="module")
def mlmd_python() -> str:
    given = os.environ.get("LINEAGE_MLMD_PYTHON", "").strip()
    if given:
        if not pathlib.Path(given).is_file():
            pytest.fail(f"LINEAGE_MLMD_PYTHON={given} does not exist")
        return given
    done = subprocess.run([str(REPO / "scripts" / "mlmd-venv")], capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not pathlib.Path(lines[-1]).is_file():
        pytest.fail(f"scripts/mlmd-venv failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return lines[-1]


def _peer(python: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([python, str(PEER), *args], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("via", ALL_BACKENDS)
def test_mlmd_reads_back_exactly_what_it_wrote(via, mlmd_python, request, tmp_path, run):
    original = tmp_path / "mlmd.sqlite"
    _peer(mlmd_python, "write", str(original))
    middle = make_store_url(via, request, tmp_path, "middle")
    final = tmp_path / "final.sqlite"
    first = run("copy", f"sqlite:///{original}", middle, "--json")
    assert first.code == 0, first.err
    assert first.json()["ids_kept"] is True
    second = run("copy", middle, f"sqlite:///{final}", "--json")
    assert second.code == 0, second.err
    expected = json.loads(_peer(mlmd_python, "dump", str(original)))
    assert json.loads(_peer(mlmd_python, "dump", str(final))) == expected
    assert len(expected["artifacts"]) == 8 and len(expected["events"]) == 11


@pytest.mark.parametrize("via", ["memory", "sqlite", "neo4j"])
def test_mlmd_reads_a_copy_made_through_a_metadata_server(via, mlmd_python, request, tmp_path, run):
    import lineage
    from lineage import server

    original = tmp_path / "mlmd.sqlite"
    _peer(mlmd_python, "write", str(original))
    middle = make_store_url(via, request, tmp_path, "served")
    assert run("copy", f"sqlite:///{original}", middle).code == 0
    # The server serves the very store the first copy wrote (a memory store lives in this process).
    store = lineage.connect(middle)
    handle = server.serve(store._service, "127.0.0.1", 0, workers=2, grace=1)
    try:
        final = tmp_path / "final.sqlite"
        copied = run("copy", f"grpc://127.0.0.1:{handle.port}", f"sqlite:///{final}", "--json")
        assert copied.code == 0, copied.err
        assert copied.json()["ids_kept"] is True
    finally:
        handle.stop(1)
        lineage.MetadataStore.close(store)
    expected = json.loads(_peer(mlmd_python, "dump", str(original)))
    assert json.loads(_peer(mlmd_python, "dump", str(final))) == expected
    assert len(expected["artifacts"]) == 8 and len(expected["events"]) == 11
