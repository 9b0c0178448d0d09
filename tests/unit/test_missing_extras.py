"""A store URL whose backend's driver is missing gets a typed error naming the extra to install.

Runs in a fresh interpreter. Where the driver is installed, a meta-path finder
in that interpreter makes it unimportable first; where it is not (the extra
environments of ``scripts/test-envs`` install no extras), the run is the real
thing. The URLs point at a port nothing listens on: the error comes before any
connection is tried, so nothing can have been created. MySQL has two drivers
(mysqlclient preferred, PyMySQL the fallback): both are blocked, and the
message names the fallback's extra.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

CASES = [
    ("mysql://user:pw@127.0.0.1:1/db", ("MySQLdb", "pymysql"), "mysql"),
    ("postgresql://user:pw@127.0.0.1:1/db", ("psycopg",), "postgresql"),
    ("neo4j://user:pw@127.0.0.1:1", ("neo4j",), "neo4j"),
]

PROBE = textwrap.dedent("""
    import importlib.abc, json, sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == blocked or name.startswith(blocked + ".") for blocked in BLOCKED):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    if BLOCK:
        sys.meta_path.insert(0, Block())
    import lineage
    from lineage import errors
    try:
        lineage.connect(URL)
    except errors.StatusError as e:
        print(json.dumps({"class": type(e).__name__, "code": e.error_code, "message": e.message,
                          "runtime": isinstance(e, RuntimeError), "blocked": BLOCK,
                          "imported": any(blocked in sys.modules for blocked in BLOCKED)}))
    else:
        print(json.dumps({"class": None}))
""")


@pytest.mark.parametrize(("url", "drivers", "extra"), CASES, ids=[c[2] for c in CASES])
def test_missing_driver_names_the_extra(url, drivers, extra):
    installed = any(importlib.util.find_spec(driver) is not None for driver in drivers)
    source = f"BLOCKED = {drivers!r}\nBLOCK = {installed}\nURL = {url!r}\n" + PROBE
    done = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["class"] == "FailedPreconditionError", result
    assert result["code"] == 9
    assert f"pip install 'lineage[{extra}]'" in result["message"]
    assert repr(drivers[-1]) in result["message"]
    assert result["runtime"], "errors opening a store are also RuntimeError, as in MLMD"
    assert not result["imported"]
