"""Databases shared with ml-metadata 1.17.1: each library reads what the other wrote.

``mlmd_sqlite_peer.py`` writes a rich graph (every property kind, custom
properties, event paths, contexts with parents, attributions, associations,
external ids, non-ASCII text) through MLMD's API and dumps everything MLMD's
API reads back, timestamps included. The same functions run here on
``lineage``. On a SQLite file, a MariaDB and a PostgreSQL database:

* ml-metadata writes, both libraries read: the dumps are equal field by field;
* lineage writes, both read: equal again;
* ml-metadata keeps writing into a database lineage made (with its extra
  ``LineageFingerprint`` table), and lineage's cache lookups find that work;
* schema migrations cross over: lineage downgrades and ml-metadata upgrades
  back and reads the same graph, and the other way round.

The interpreter comes from ``LINEAGE_MLMD_PYTHON``, else from the last line
``scripts/mlmd-venv`` prints; without one the tests fail, never skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from google.protobuf import json_format

import lineage
from lineage import core
from lineage.proto import metadata_store_pb2 as pb
from lineage.urls import config_from_url

pytestmark = pytest.mark.interop

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
PEER = HERE / "mlmd_sqlite_peer.py"

if str(REPO / "tests" / "unit") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "unit"))
from test_sql_backend import drop_database  # noqa: E402
from test_sql_schema import SqlServices, sql_services  # noqa: E402,F401  (shared server fixture)

TARGETS = ("sqlite-file", "mariadb", "postgresql")


def _load_peer():
    spec = importlib.util.spec_from_file_location("mlmd_sqlite_peer", PEER)
    module = importlib.util.module_from_spec(spec)
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


class Place:
    """Fresh databases of one kind, as lineage configs and MLMD config JSON."""

    def __init__(self, target: str, tmp_path: pathlib.Path, services: SqlServices | None):
        self.target = target
        self.tmp_path = tmp_path
        self.services = services
        self.made: list[str] = []

    def new(self) -> pb.ConnectionConfig:
        name = f"lineage_i_{uuid.uuid4().hex[:12]}"
        if self.target == "sqlite-file":
            return pb.ConnectionConfig(sqlite=pb.SqliteMetadataSourceConfig(
                filename_uri=str(self.tmp_path / f"{name}.sqlite"),
                connection_mode=pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE))
        self.made.append(name)
        url = sa.engine.make_url(self.services.url(self.target)).set(database=name)
        return config_from_url(url.render_as_string(hide_password=False))

    def copy(self, config: pb.ConnectionConfig) -> pb.ConnectionConfig:
        """A second database holding the same data (SQLite only)."""
        copy = self.new()
        shutil.copy(config.sqlite.filename_uri, copy.sqlite.filename_uri)
        return copy

    def close(self) -> None:
        if not self.made:
            return
        driver = "mysql+pymysql" if self.target == "mariadb" else "postgresql+psycopg"
        admin = sa.create_engine(sa.engine.make_url(self.services.url(self.target)).set(drivername=driver),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            for name in self.made:
                drop_database(c, self.target, name)
        admin.dispose()


def _place(target: str, tmp_path, services) -> Place:
    return Place(target, tmp_path, services if target != "sqlite-file" else None)


@pytest.fixture(params=TARGETS)
def place(request, tmp_path, sql_services) -> Iterator[Place]:  # noqa: F811
    made = _place(request.param, tmp_path, sql_services)
    try:
        yield made
    finally:
        made.close()


# Every version is crossed on SQLite, a few on the servers (each crossing makes
# and migrates a database). ml-metadata 1.17.1 cannot upgrade its own
# PostgreSQL schema from version 8 or older once it holds timestamps: its
# version 9 rebuild copies them into 32-bit columns. So PostgreSQL crosses only
# version 9 in that direction.
DOWN_BY_LINEAGE = [("sqlite-file", v) for v in (9, 8, 7, 6)] + [("mariadb", 9), ("mariadb", 6),
                                                                  ("postgresql", 9)]
DOWN_BY_MLMD = [("sqlite-file", v) for v in range(10)] + [(t, v) for t in ("mariadb", "postgresql")
                                                          for v in (9, 5)]


@pytest.fixture
def crossing(request, tmp_path, sql_services) -> Iterator[tuple[Place, int]]:  # noqa: F811
    target, version = request.param
    made = _place(target, tmp_path, sql_services)
    try:
        yield made, version
    finally:
        made.close()


def run_peer(mlmd_python: str, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([mlmd_python, str(PEER), *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=HERE)
    if done.returncode != 0:
        pytest.fail(f"ml-metadata peer {args[0]} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def config_json(config: pb.ConnectionConfig) -> str:
    return json_format.MessageToJson(config, indent=None)


def ours(config: pb.ConnectionConfig, **options) -> dict:
    store = lineage.MetadataStore(config, **options)
    try:
        return peer.dump(lineage, pb, store)
    finally:
        store.close()


def _comparable(dump: dict) -> dict:
    """Takes out two differences that are ml-metadata's quirks, not stored data.

    * ml-metadata 1.17.1 leaves ``external_id`` out of the types listed by
      ``get_artifact_types()`` and friends (by id it returns them).
    * Its reads return rows in whatever order the database scans them (the
      (artifact_id, execution_id, type) index for events on SQLite, heap order
      on PostgreSQL, where an updated row moves to the end); lineage sorts by
      id and keeps events in insertion order. Lists are compared sorted.
    """
    out = {}
    for key, value in dump.items():
        if key in ("artifact_types", "execution_types", "context_types"):
            value = [{k: v for k, v in t.items() if k != "external_id"} for t in value]
        out[key] = _sorted(value)
    return out


def _sorted(value):
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], list):
        return [_sorted(v) for v in value]
    if isinstance(value, list) and value and isinstance(value[0], dict):
        if "id" in value[0]:
            return sorted(value, key=lambda d: int(d["id"]))
        if "artifact_id" in value[0]:
            return sorted(value, key=lambda e: (int(e["artifact_id"]), int(e["execution_id"]), e["type"]))
    return value


def _assert_same(got: dict, expected: dict) -> None:
    got, expected = _comparable(got), _comparable(expected)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key


def test_lineage_reads_what_mlmd_wrote(mlmd_python, place):
    config = place.new()
    theirs = run_peer(mlmd_python, "write", config_json(config), "1")
    _assert_same(ours(config), theirs)
    assert len(theirs["artifacts"]) == 12 and len(theirs["events"]) == 24


def test_mlmd_reads_what_lineage_wrote(mlmd_python, place):
    config = place.new()
    store = peer.write(lineage, pb, config, 2)
    mine = peer.dump(lineage, pb, store)
    store.close()
    _assert_same(run_peer(mlmd_python, "read", config_json(config)), mine)
    assert any("p_proto" in a["properties"] for a in mine["artifacts"])


def test_mlmd_keeps_writing_a_lineage_database(mlmd_python, place):
    """The extra LineageFingerprint table does not disturb ml-metadata, and the cache
    index covers executions ml-metadata wrote."""
    config = place.new()
    peer.write(lineage, pb, config, 3).close()
    theirs = run_peer(mlmd_python, "append", config_json(config))
    _assert_same(ours(config), theirs)
    store = lineage.MetadataStore(config)
    try:
        [appended] = [e for e in store.get_executions() if e.type == "ExecutionType1" and not e.name
                      and e.last_known_state == pb.Execution.COMPLETE and e.id > 8]
        hit = store.lineage.find_reusable_execution(appended.type_id, {"examples": [1]}, {})
        assert hit is not None and hit.execution.id == appended.id
        assert [a.uri for a in hit.outputs[""]] == ["/appended"]
    finally:
        store.close()


def test_mlmd_opens_and_reads_a_purged_store(mlmd_python, place):
    """After a purge with downstream, ml-metadata reads exactly what lineage reads, and keeps writing."""
    config = place.new()
    store = peer.write(lineage, pb, config, 6)
    try:
        # The peer's append reads artifact 1, so it stays; purge the first artifact that
        # has events and does not feed it.
        first = next(a.id for a in store.get_artifacts() if a.id != 1
                     and store.get_events_by_artifact_ids([a.id])
                     and 1 not in {x.id for x in store.lineage.downstream([a.id]).artifacts})
        report = store.lineage.purge("artifact", [first], with_downstream=True)
        assert report.deleted and report.counts["artifacts"] >= 1 and report.counts["events"] >= 1
        remaining = {int(a["id"]) for a in peer.dump(lineage, pb, store)["artifacts"]}
    finally:
        store.close()
    theirs = run_peer(mlmd_python, "read", config_json(config))
    _assert_same(ours(config), theirs)
    assert first not in {int(a["id"]) for a in theirs["artifacts"]}
    assert {int(a["id"]) for a in theirs["artifacts"]} == remaining
    # ml-metadata keeps writing into the purged database, and lineage reads that too.
    appended = run_peer(mlmd_python, "append", config_json(config))
    _assert_same(ours(config), appended)


@pytest.mark.parametrize("crossing", DOWN_BY_LINEAGE, indirect=True, ids=lambda c: f"{c[0]}-v{c[1]}")
def test_mlmd_upgrades_what_lineage_downgraded(mlmd_python, crossing):
    place, version = crossing
    config = place.new()
    store = peer.write(lineage, pb, config, 4, basic=True)
    before = peer.dump(lineage, pb, store)
    store.close()
    core.downgrade_schema(config, version)
    with pytest.raises(lineage.errors.FailedPreconditionError, match="enable_upgrade_migration"):
        lineage.MetadataStore(config)
    after = run_peer(mlmd_python, "upgrade-read", config_json(config))
    # Nothing of a basic graph (no external ids, no proto or bool values) is
    # lost above version 5.
    _assert_same(after, before)


@pytest.mark.parametrize("version", [5, 4, 3, 2, 1, 0])
def test_mlmd_upgrades_from_every_older_version(mlmd_python, tmp_path, version):
    """Below version 6 data is lost on the way down; what remains must come back."""
    place = Place("sqlite-file", tmp_path, None)
    config = place.new()
    store = peer.write(lineage, pb, config, 5, basic=True)
    before = peer.dump(lineage, pb, store)
    store.close()
    core.downgrade_schema(config, version)
    after = run_peer(mlmd_python, "upgrade-read", config_json(config))
    keys = ("id", "type_id", "uri", "properties", "custom_properties")
    assert [{k: a.get(k) for k in keys} for a in after["artifacts"]] == \
        [{k: a.get(k) for k in keys} for a in before["artifacts"]]
    def events(dump):
        return _sorted([{k: v for k, v in e.items() if k != "milliseconds_since_epoch"} for e in dump["events"]])

    assert events(after) == events(before)
    assert [t["name"] for t in after["artifact_types"]] == [t["name"] for t in before["artifact_types"]]


@pytest.mark.parametrize("crossing", DOWN_BY_MLMD, indirect=True, ids=lambda c: f"{c[0]}-v{c[1]}")
def test_lineage_upgrades_what_mlmd_downgraded(mlmd_python, crossing):
    place, version = crossing
    config = place.new()
    run_peer(mlmd_python, "write", config_json(config), "6", "basic")
    run_peer(mlmd_python, "downgrade", config_json(config), str(version))
    if place.target == "sqlite-file":
        # ml-metadata upgrades one copy, lineage the other: both must read the same.
        twin = place.copy(config)
        expected = run_peer(mlmd_python, "upgrade-read", config_json(twin))
        _assert_same(ours(config, enable_upgrade_migration=True), expected)
    else:
        mine = ours(config, enable_upgrade_migration=True)
        assert len(mine["artifacts"]) == 12
        expected = None
    # ml-metadata reads the database lineage upgraded, without any migration.
    theirs = run_peer(mlmd_python, "read", config_json(config))
    _assert_same(ours(config), theirs)
    if expected is not None:
        _assert_same(theirs, expected)
