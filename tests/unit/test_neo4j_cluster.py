"""The Neo4j backend as a cluster or a managed server sees it, against real Neo4j servers.

Reads go out as reads (read access mode, which a cluster routes to any
member) and writes as writes; routing URIs (``neo4j://``) work against a
single server; bookmarks make a read wait for the store's own writes; a
server with authentication and a named database. What the driver sends is
observed in its own Bolt message log, on real connections to the server.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import threading
import urllib.parse

import pytest

neo4j = pytest.importorskip("neo4j")

import lineage  # noqa: E402
from lineage import errors  # noqa: E402
from lineage.proto import metadata_store_pb2 as pb  # noqa: E402

import services  # noqa: E402
from test_neo4j_backend import SHARED_LIB, _start_with_password, _stop, free_port  # noqa: E402


@contextlib.contextmanager
def bolt_messages():
    """Collects the Bolt messages the driver sends (its ``C:`` debug lines), in order."""
    sent: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if "  C: " in message:
                sent.append(message.split("  C: ", 1)[1])

    logger = logging.getLogger("neo4j")
    handler, level = Collect(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield sent
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def access_modes(sent: list[str]) -> list[str]:
    """The access mode of every transaction the messages open: "r" or "w" (Bolt's default).

    A transaction starts with BEGIN, or is a RUN of its own (auto-commit),
    whose last field is not empty; a RUN inside an open transaction has an
    empty last field and takes the mode of its BEGIN.
    """
    modes = []
    for message in sent:
        auto_commit = message.startswith("RUN ") and not message.endswith(" {}")
        if message.startswith("BEGIN ") or auto_commit:
            modes.append("r" if "'mode': 'r'" in message else "w")
    return modes


def driver_cause(error: BaseException) -> BaseException | None:
    """The first exception of the driver's that ``error`` was raised from."""
    cause = error.__cause__
    while cause is not None and not type(cause).__module__.startswith("neo4j"):
        cause = cause.__cause__
    return cause


def routing_settings() -> pb.Neo4jDatabaseConfig:
    """The shared test server's settings with a routing URI (``neo4j://``), its database emptied."""
    found = services.neo4j_settings()
    services.wipe_neo4j(found)
    parts = urllib.parse.urlsplit(found.uri)
    if parts.scheme != "bolt":
        pytest.skip(f"the test server's URI {found.uri} has no bolt:// form to turn into neo4j://")
    routed = pb.Neo4jDatabaseConfig()
    routed.CopyFrom(found)
    routed.uri = urllib.parse.urlunsplit(parts._replace(scheme="neo4j"))
    return routed


@pytest.fixture()
def routed_store():
    with lineage.MetadataStore(pb.ConnectionConfig(neo4j=routing_settings())) as store:
        yield store


def _pipeline(store) -> dict[str, int]:
    """A raw dataset, two runs reading it (one in a context), each writing a model."""
    data_type = store.put_artifact_type(pb.ArtifactType(name="Dataset"))
    model_type = store.put_artifact_type(pb.ArtifactType(name="Model"))
    trainer = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    run_type = store.put_context_type(pb.ContextType(name="Run"))
    [data] = store.put_artifacts([pb.Artifact(type_id=data_type, uri="/raw")])
    ids = {"data": data, "data_type": data_type, "trainer": trainer, "run_type": run_type}
    for n in range(2):
        execution_id, [_, model], contexts = store.put_execution(
            pb.Execution(type_id=trainer, last_known_state=pb.Execution.COMPLETE),
            [(store.get_artifacts_by_id([data])[0], pb.Event(type=pb.Event.INPUT)),
             (pb.Artifact(type_id=model_type, uri=f"/model/{n}", state=pb.Artifact.LIVE),
              pb.Event(type=pb.Event.OUTPUT))],
            [pb.Context(type_id=run_type, name=f"run-{n}")])
        ids[f"run{n}"], ids[f"model{n}"], ids[f"context{n}"] = execution_id, model, contexts[0]
    return ids


def test_reads_go_out_as_reads_and_writes_as_writes():
    config = pb.ConnectionConfig(neo4j=routing_settings())
    with bolt_messages() as sent:
        store = lineage.MetadataStore(config)
    assert any(m.startswith("ROUTE ") for m in sent), "a neo4j:// URI asks the server for its routing table"
    with store:
        _reads_and_writes(store)


def _reads_and_writes(store) -> None:
    ids = _pipeline(store)

    lo = lineage.ListOptions
    reads = {
        "get_artifacts": lambda: store.get_artifacts(),
        "get_artifacts_by_id": lambda: store.get_artifacts_by_id([ids["data"]]),
        "filtered get_executions": lambda: store.get_executions(
            list_options=lo(filter_query='contexts_a.name = "run-1"')),
        "get_events_by_execution_ids": lambda: store.get_events_by_execution_ids([ids["run0"]]),
        "get_contexts_by_artifact": lambda: store.get_contexts_by_artifact(ids["model0"]),
        "get_lineage_subgraph": lambda: store.get_lineage_subgraph(
            pb.LineageSubgraphQueryOptions(
                starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(filter_query="uri = '/raw'"),
                max_num_hops=4)),
        "lineage.upstream": lambda: store.lineage.upstream(artifact_ids=[ids["model1"]]),
        "lineage.downstream": lambda: store.lineage.downstream(artifact_ids=[ids["data"]]),
        "lineage.impacted": lambda: store.lineage.impacted(ids["data"], "Model"),
        "lineage.context_dag": lambda: store.lineage.context_dag(ids["context0"]),
        "lineage.diff": lambda: store.lineage.diff(ids["model0"], ids["model1"]),
        "lineage.find_reusable_execution": lambda: store.lineage.find_reusable_execution(
            "Trainer", [ids["data"]]),
        "lineage.purge dry run": lambda: store.lineage.purge(
            "artifact", [ids["data"]], with_downstream=True, dry_run=True),
    }
    for name, call in reads.items():
        with bolt_messages() as sent:
            call()
        modes = access_modes(sent)
        assert modes and set(modes) == {"r"}, (name, sent)

    writes = {
        "put_execution": lambda: store.put_execution(
            pb.Execution(type_id=ids["trainer"]), [], [pb.Context(type_id=ids["run_type"], name="run-9")]),
        "put_artifacts": lambda: store.put_artifacts([pb.Artifact(type_id=ids["data_type"], uri="/more")]),
        "put_attributions_and_associations": lambda: store.put_attributions_and_associations(
            [pb.Attribution(artifact_id=ids["data"], context_id=ids["context0"])], []),
        "lineage.purge": lambda: store.lineage.purge("artifact", [ids["model1"]]),
    }
    for name, call in writes.items():
        with bolt_messages() as sent:
            call()
        modes = access_modes(sent)
        assert modes and set(modes) == {"w"}, (name, sent)
    # What the reads saw is what the writes left.
    assert [a.uri for a in store.lineage.impacted(ids["data"], "Model")] == ["/model/0"]


def test_a_reading_transaction_that_writes_moves_to_a_write_session():
    from lineage.backends import neo4j as neo4j_backend

    backend = neo4j_backend.open_backend(pb.ConnectionConfig(neo4j=routing_settings()), pb.MigrationOptions())
    try:
        with bolt_messages() as sent:
            with backend.transaction(write=False):
                assert backend.get_types("artifact") == []
                backend.insert_type("artifact", pb.ArtifactType(name="Late"))
        # The read went out as a read; the id reservation (a transaction of its own) and the
        # write itself as writes.
        modes = access_modes(sent)
        assert modes[0] == "r" and len(modes) >= 2 and set(modes[1:]) == {"w"}, sent
        with backend.transaction(write=False):
            assert [t.name for t in backend.get_types("artifact")] == ["Late"]
    finally:
        backend.close()


def test_the_server_refuses_writes_in_read_mode():
    """What makes the check above worth making: a read transaction cannot write, so a cluster
    may run it on a member that holds no lock and takes no writes."""
    settings = routing_settings()
    auth = (settings.user, settings.password) if settings.user else None
    with neo4j.GraphDatabase.driver(settings.uri, auth=auth, notifications_min_severity="OFF") as driver:
        with driver.session(database=settings.database or None,
                            default_access_mode=neo4j.READ_ACCESS) as session:
            with pytest.raises(neo4j.exceptions.ClientError, match="read access mode"):
                session.run("CREATE (:Scratch)").consume()


def test_a_read_carries_the_bookmark_of_the_stores_last_write(routed_store):
    store = routed_store
    bookmarks = store._service.backend._bookmarks
    ids = _pipeline(store)
    before = bookmarks.get_bookmarks()
    store.put_artifacts([pb.Artifact(type_id=ids["data_type"], uri="/late")])
    after = bookmarks.get_bookmarks()
    assert after and after != before, "a committed write leaves a new bookmark with the store"
    # Reads of this store, on this thread or another, wait for that write wherever they land.
    seen: dict[str, list[str]] = {}

    def read_in(name: str) -> None:
        with bolt_messages() as sent:
            uris = {a.uri for a in store.get_artifacts()}
            store.lineage.downstream(artifact_ids=[ids["data"]])
        assert "/late" in uris
        seen[name] = sent

    read_in("same thread")
    other = threading.Thread(target=read_in, args=("other thread",))
    other.start()
    other.join(120)
    for name in ("same thread", "other thread"):
        opened = [m for m in seen[name] if m.startswith("BEGIN ") or
                  (m.startswith("RUN ") and not m.endswith(" {}"))]
        assert opened, name
        for message in opened:
            assert all(b in message for b in after), (name, message, after)


# -- a server with authentication and a named database ----------------------------------------

_PASSWORD = "lineage-cluster-secret"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A private Neo4j with authentication on, its password set; yields its port."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java to run a private Neo4j server")
    if not (SHARED_LIB / ".neo4j-local-stamp").exists():
        services.neo4j_settings()  # scripts/neo4j-local fetches the jars
    if not (SHARED_LIB / ".neo4j-local-stamp").exists():
        pytest.skip(f"no Neo4j jars under {SHARED_LIB}")
    home = tmp_path_factory.mktemp("neo4j-auth")
    port = free_port()
    process = _start_with_password(home, SHARED_LIB.resolve(), port, _PASSWORD, 240)
    try:
        yield port
    finally:
        _stop(process)


def _auth_config(port: int, scheme: str = "neo4j", database: str = "neo4j",
                 password: str = _PASSWORD) -> pb.ConnectionConfig:
    return pb.ConnectionConfig(neo4j=pb.Neo4jDatabaseConfig(
        uri=f"{scheme}://127.0.0.1:{port}", user="neo4j", password=password, database=database))


@pytest.mark.slow
def test_authenticated_named_database_over_a_routing_uri(auth_server):
    with bolt_messages() as sent:
        store = lineage.MetadataStore(_auth_config(auth_server))
    assert any(m.startswith("ROUTE ") for m in sent)
    with store:
        with bolt_messages() as sent:
            ids = _pipeline(store)
            downstream = store.lineage.downstream(artifact_ids=[ids["data"]])
        # Every transaction names the configured database.
        assert all("'db': 'neo4j'" in m for m in sent if m.startswith("BEGIN ")), sent
        assert {a.uri for a in downstream.artifacts} == {"/raw", "/model/0", "/model/1"}
    # Database names are case-insensitive in Neo4j; the records are the same over bolt://.
    with lineage.MetadataStore(_auth_config(auth_server, scheme="bolt", database="NEO4J")) as store:
        assert sorted(a.uri for a in store.get_artifacts()) == ["/model/0", "/model/1", "/raw"]


@pytest.mark.slow
def test_a_database_the_server_lacks_is_not_found(auth_server):
    for scheme in ("neo4j", "bolt"):
        with pytest.raises(errors.NotFoundError, match=r"'nosuchdb' \(ConnectionConfig\.neo4j\.database\)") as caught:
            lineage.MetadataStore(_auth_config(auth_server, scheme=scheme, database="nosuchdb"))
        cause = driver_cause(caught.value)
        assert isinstance(cause, neo4j.exceptions.Neo4jError), caught.value
        assert cause.code == "Neo.ClientError.Database.DatabaseNotFound"


@pytest.mark.slow
def test_the_system_database_is_refused(auth_server):
    with pytest.raises(errors.InvalidArgumentError, match=r"ConnectionConfig\.neo4j\.database 'system'"):
        lineage.MetadataStore(_auth_config(auth_server, database="system"))
    # Community holds one user database besides system: the store's choice is that one or none.
    with neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{auth_server}", auth=("neo4j", _PASSWORD)) as driver:
        with driver.session(database="system") as session:
            names = {row[0] for row in session.run("SHOW DATABASES YIELD name").values()}
    assert names == {"neo4j", "system"}


@pytest.mark.slow
def test_wrong_credentials_over_a_routing_uri_are_unauthenticated(auth_server):
    with pytest.raises(errors.UnauthenticatedError, match="'neo4j'") as caught:
        lineage.MetadataStore(_auth_config(auth_server, password="wrong"))
    assert isinstance(driver_cause(caught.value), neo4j.exceptions.AuthError)
