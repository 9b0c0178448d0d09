"""Fixtures of the lineage engine tests: one fresh store per test, on every backend.

The backends are the conformance suite's (``tests/conformance/conftest.py``,
``LINEAGE_BACKENDS``), imported rather than repeated, so a backend added there
runs here too; ``LINEAGE_CONFORMANCE_BACKENDS=name,name`` narrows both suites.

The folder is not called ``tests/lineage``: pytest puts ``tests/`` on
``sys.path`` for the conformance package, and a directory named like the
``lineage`` package there would shadow the installed package as a namespace
package whenever pytest runs from outside the checkout.
"""

from __future__ import annotations

import contextlib
import pathlib
import sys

import pytest

import lineage  # noqa: F401  - bound before tests/ joins sys.path

_TESTS = pathlib.Path(__file__).resolve().parents[1]
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

from conformance import conftest as _conformance  # noqa: E402

if _conformance.IS_MLMD:
    # store.lineage exists only in lineage; there is nothing to run against MLMD.
    collect_ignore_glob = ["test_*.py"]
    BACKENDS: dict = {}
else:
    BACKENDS = _conformance.BACKENDS


def pytest_report_header(config):
    del config
    return f"lineage engine backends: {', '.join(BACKENDS) or 'none'}"


@pytest.fixture(params=sorted(BACKENDS))
def backend_name(request) -> str:
    """The name of the backend under test."""
    return request.param


@pytest.fixture
def store(backend_name, tmp_path):
    """A fresh, empty MetadataStore of the backend under test."""
    with contextlib.contextmanager(BACKENDS[backend_name])(tmp_path) as metadata_store:
        yield metadata_store
