"""MLMD's own lineage call, get_lineage_subgraph, answers as ml-metadata 1.17.1 does.

``mlmd_lineage_peer.py`` builds seeded random histories (DAGs, histories with
cycles a faulty client wrote, a 160-step chain) in ml-metadata's fake database,
in its own virtual environment, and asks each a battery of questions: starting
artifacts or executions by filter, every direction, hop limits from 0 past
MLMD's cap of 100, ending nodes kept or dropped, field masks. The same module
plays the same cases here on every lineage backend; both stores get the same
writes in the same order, so the answers must be equal id for id.

The interpreter comes from ``LINEAGE_MLMD_PYTHON``, else from the last line
``scripts/mlmd-venv`` prints. Without one the test fails: it is never skipped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
from collections import Counter

import pytest

from lineage import errors
from lineage.proto import metadata_store_pb2

pytestmark = pytest.mark.interop

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEER = HERE / "mlmd_lineage_peer.py"
CASES = ["1", "2", "3", "4", "5", "6", "7:cyclic", "8:cyclic", "9:cyclic", "10:cyclic", "chain:160"]

if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))
from conformance import conftest as _conformance  # noqa: E402

BACKENDS = {} if _conformance.IS_MLMD else _conformance.BACKENDS


def _load_peer():
    spec = importlib.util.spec_from_file_location("mlmd_lineage_peer", PEER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


peer = _load_peer()


@pytest.fixture(scope="module")
def mlmd_python() -> str:
    """The python of a virtual environment holding ml-metadata 1.17.1."""
    given = os.environ.get("LINEAGE_MLMD_PYTHON", "").strip()
    if given:
        if not pathlib.Path(given).is_file():
            pytest.fail(f"LINEAGE_MLMD_PYTHON={given} does not exist")
        return given
    script = REPO / "scripts" / "mlmd-venv"
    if not script.is_file():
        pytest.fail(f"set LINEAGE_MLMD_PYTHON or provide {script}")
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=900)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not pathlib.Path(lines[-1]).is_file():
        pytest.fail(f"{script} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return lines[-1]


@pytest.fixture(scope="module")
def reference(mlmd_python) -> dict:
    """Every case played on ml-metadata: {"api": ..., "cases": {case: {...}}}."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([mlmd_python, str(PEER), *CASES], capture_output=True, text=True,
                          timeout=600, env=env, cwd=HERE)
    if done.returncode != 0:
        pytest.fail(f"the ml-metadata peer failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["api"]["version"] == "1.17.1"
    return result


@pytest.fixture(params=sorted(BACKENDS))
def ours(request, tmp_path):
    """A fresh lineage store of one backend, as the peer's Api bundle."""
    with contextlib.contextmanager(BACKENDS[request.param])(tmp_path) as store:
        yield peer.Api(store, metadata_store_pb2, errors)


def _differences(mine: dict, theirs: dict) -> list[str]:
    """Human-readable differences between two answers."""
    if "error" in mine or "error" in theirs:
        return [f"error: ours {mine.get('error')}, ml-metadata {theirs.get('error')}"]
    lines = []
    for field in peer.GRAPH_FIELDS:
        ours_set = {json.dumps(x, sort_keys=True) for x in mine["graph"][field]}
        theirs_set = {json.dumps(x, sort_keys=True) for x in theirs["graph"][field]}
        if ours_set != theirs_set or len(mine["graph"][field]) != len(theirs["graph"][field]):
            lines.append(f"{field}: only ours {sorted(ours_set - theirs_set)[:3]}, "
                         f"only ml-metadata {sorted(theirs_set - ours_set)[:3]}, "
                         f"sizes {len(mine['graph'][field])} / {len(theirs['graph'][field])}")
    return lines


@pytest.mark.parametrize("case", CASES)
def test_lineage_subgraph_matches_mlmd(reference, ours, case):
    theirs = reference["cases"][case]
    mine = peer.play(ours, case)
    assert mine["history"] == theirs["history"], "the same writes must give the same ids"
    assert len(mine["answers"]) == len(theirs["answers"])
    mismatches = []
    for my_answer, their_answer in zip(mine["answers"], theirs["answers"]):
        assert my_answer["question"] == their_answer["question"]
        if my_answer != their_answer:
            mismatches.append(f"{json.dumps(my_answer['question'])}\n    "
                              + "\n    ".join(_differences(my_answer, their_answer)))
    assert not mismatches, f"{len(mismatches)} of {len(mine['answers'])} answers differ:\n" + "\n".join(
        mismatches[:5])


def test_the_questions_cover_the_options(reference):
    """The battery asks what it claims to: so equal answers mean something."""
    answers = [a for case in CASES for a in reference["cases"][case]["answers"]]
    graphs = [a for a in answers if "graph" in a]
    with_events = [a for a in graphs if a["graph"]["events"]]
    seen = Counter()
    for answer in with_events:
        question = answer["question"]
        seen[f"start:{question['start']}"] += 1
        seen[f"direction:{question['direction']}"] += 1
        seen[f"hops:{'unset' if question['hops'] is None else min(question['hops'], 101)}"] += 1
        for ending in question["ending"]:
            seen[f"ending:{ending['kind']}:{ending['include']}"] += 1
        if question["mask"] is None:
            seen["mask:all"] += 1
    for needed in ("start:artifacts", "start:executions", "direction:UPSTREAM", "direction:DOWNSTREAM",
                   "direction:BIDIRECTIONAL", "direction:None", "hops:1", "hops:3", "hops:unset", "hops:101",
                   "ending:artifacts:True", "ending:artifacts:False", "ending:executions:True",
                   "ending:executions:False", "mask:all"):
        assert seen[needed] >= 1, f"no answer with events for {needed}: {seen}"
    assert {a["error"] for a in answers if "error" in a} == {"NotFoundError"}
    masks = {json.dumps(a["question"]["mask"]) for a in graphs}
    assert len(masks) >= 8
    # Graphs reach beyond the starting nodes: at least a few have dozens of nodes.
    assert sum(len(a["graph"]["artifacts"]) >= 20 for a in graphs) >= 5


def test_get_lineage_graph_comparison(reference):
    """MLMD's older GetLineageGraph call, where ml-metadata's Python API offers it."""
    if not reference["api"]["get_lineage_graph"]:
        pytest.skip("ml-metadata 1.17.1's Python API has no get_lineage_graph; nothing to compare with")
    pytest.fail("ml-metadata now offers get_lineage_graph: add it to mlmd_lineage_peer.py and compare")
