"""Interop tests' shared fixtures: counts of ml-metadata's own test file, printed at the end."""

from __future__ import annotations

import pytest

_OWN_TESTS = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def own_tests_results(pytestconfig) -> dict:
    """target -> (passed, names that did not pass), filled by test_mlmd_own_tests.py."""
    return pytestconfig.stash.setdefault(_OWN_TESTS, {})


def pytest_terminal_summary(terminalreporter, config):
    results = config.stash.get(_OWN_TESTS, {})
    if not results:
        return
    terminalreporter.section("ml-metadata's own metadata_store_test.py")
    for target, (passed, not_passed) in results.items():
        line = f"{target}: {passed} passed"
        if not_passed:
            line += f", not passed: {', '.join(not_passed)}"
        terminalreporter.write_line(line)
