"""ml-metadata's own test file, ``metadata_store_test.py``, run against lineage.

The file ships in the ml-metadata 1.17.1 wheel of ``scripts/mlmd-venv``; it is
copied at run time into a temporary directory beside
``mlmd_own_tests_conftest.py`` (as its ``conftest.py``), never into the repository.
Targets:

- in-process, in this environment, through the ``ml_metadata`` alias
  (``lineage.compat``): the fake database, SQLite in memory and in a file,
  MariaDB, PostgreSQL and Neo4j, a fresh store per test;
- ``--use_grpc_backend``, in ml-metadata's environment: its real client against
  ``lineage serve`` over memory and over SQLite.

The reference is the same file run on ml-metadata itself. Every run passes
``--runxfail`` and sets ``TEST_TMPDIR``: ml-metadata marks its two downgrade and
migration tests xfail only because ``absltest.get_default_test_tmpdir()`` names
a directory that nothing creates under pytest; with one, they pass on
ml-metadata, and they check behaviour its ``downgrade_schema`` and
``MetadataStore(enable_upgrade_migration=...)`` document.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytestmark = [pytest.mark.interop, pytest.mark.slow]

REPO = pathlib.Path(__file__).resolve().parents[2]
PLUGIN = pathlib.Path(__file__).with_name("mlmd_own_tests_conftest.py")
TEST_FILE = "metadata_store_test.py"
IN_PROCESS = ("memory", "sqlite-memory", "sqlite-file", "mysql", "postgresql", "neo4j")
OVER_GRPC = {"grpc-memory": "memory://", "grpc-sqlite": "sqlite:///{dir}/served.sqlite"}
READY = "lineage metadata server listening on "

@pytest.fixture(scope="module")
def mlmd_python() -> str:
    """The python of the environment holding ml-metadata 1.17.1 and pytest."""
    given = os.environ.get("LINEAGE_MLMD_PYTHON", "").strip()
    if given:
        return given
    done = subprocess.run([str(REPO / "scripts" / "mlmd-venv")], capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, f"scripts/mlmd-venv failed:\n{done.stderr[-3000:]}"
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def suite_dir(mlmd_python, tmp_path_factory) -> pathlib.Path:
    """A directory holding ml-metadata's test file and the runner's conftest.py."""
    where = subprocess.run(
        [mlmd_python, "-c", "import importlib.util, os; "
         "print(importlib.util.find_spec('ml_metadata').submodule_search_locations[0])"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip()
    source = pathlib.Path(where) / "metadata_store" / TEST_FILE
    assert source.is_file(), f"{source} is not in the ml-metadata wheel"
    directory = tmp_path_factory.mktemp("mlmd_own_tests")
    shutil.copy(source, directory / TEST_FILE)
    shutil.copy(PLUGIN, directory / "conftest.py")
    # An ini file of its own keeps this repository's pytest settings out of the run.
    (directory / "pytest.ini").write_text("[pytest]\n")
    return directory


def _run(python: str, directory: pathlib.Path, name: str, *args: str) -> tuple[set[str], set[str]]:
    """Runs the test file once; returns the names of the tests that passed and that did not."""
    report = directory / f"{name}.xml"
    scratch = directory / f"{name}.tmp"
    scratch.mkdir()
    env = {**os.environ, "TEST_TMPDIR": str(scratch),
           "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [python, "-m", "pytest", TEST_FILE, "-q", "-p", "no:cacheprovider", "--runxfail",
         f"--junitxml={report}", *args],
        cwd=directory, env=env, capture_output=True, text=True, timeout=1800,
    )
    if not report.exists():
        pytest.fail(f"{name}: pytest wrote no report ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    passed, not_passed = set(), set()
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = {child.tag for child in case}
        (not_passed if outcome & {"failure", "error", "skipped"} else passed).add(case.get("name"))
    return passed, not_passed


@pytest.fixture(scope="module")
def reference(mlmd_python, suite_dir, own_tests_results) -> set[str]:
    """Names of the tests that pass on ml-metadata itself."""
    passed, failed = _run(mlmd_python, suite_dir, "ml-metadata", "--lineage_target", "ml-metadata")
    own_tests_results["ml-metadata (reference)"] = (len(passed), sorted(failed))
    # ml-metadata 1.17.1's file has 108 tests; far fewer means the run itself broke.
    assert len(passed) >= 100, f"ml-metadata itself passed only {len(passed)}; failing: {sorted(failed)}"
    return passed


def _check(target, passed, not_passed, reference, results) -> None:
    results[target] = (len(passed), sorted(not_passed))
    missing = sorted(reference - passed)
    assert not missing, f"{target}: {len(passed)} passed; pass on ml-metadata but not here: {missing}"
    assert len(passed) >= len(reference)


@pytest.mark.parametrize("target", IN_PROCESS)
def test_in_process_through_the_alias(target, suite_dir, reference, own_tests_results):
    passed, not_passed = _run(sys.executable, suite_dir, target, "--lineage_target", target)
    _check(target, passed, not_passed, reference, own_tests_results)


@pytest.mark.parametrize("target", sorted(OVER_GRPC))
def test_ml_metadata_client_against_lineage_serve(target, mlmd_python, suite_dir, reference, tmp_path,
                                                  own_tests_results):
    url = OVER_GRPC[target].format(dir=tmp_path)
    server = subprocess.Popen(
        [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", "0", "--db", url,
         "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith(READY), f"server did not start: {line!r}"
        port = line.rsplit(":", 1)[1].strip()
        passed, not_passed = _run(mlmd_python, suite_dir, target,
                                  "--use_grpc_backend", "--grpc_host", "127.0.0.1", "--grpc_port", port)
    finally:
        server.terminate()
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate(timeout=30)
    _check(target, passed, not_passed, reference, own_tests_results)
