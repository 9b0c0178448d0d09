"""The in-memory backend's planner and listing: index answers equal a full scan.

The planner narrows a filter to candidates through indexes and the compiled
predicate decides; these tests compare every listing with the predicate run
over every stored node, on a store with ranges, neighbours and events to use,
and page through listings while the store changes between pages.
"""

from __future__ import annotations

import pytest

from lineage import errors
from lineage.backends.base import ListQuery
from lineage.metadata_store import ListOptions, MetadataStore, OrderByField
from lineage.proto import metadata_store_pb2 as pb
from lineage.proto import metadata_store_service_pb2 as svc
from lineage.query import parse_filter
from lineage.query.python_compiler import compile_predicate

RUNS = 12


@pytest.fixture(scope="module")
def store() -> MetadataStore:
    """Runs of three chained steps, each in a run context under one pipeline context."""
    store = MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    data = pb.ArtifactType(name="Data")
    data.properties["day"] = pb.INT
    data.properties["score"] = pb.DOUBLE
    data.properties["split"] = pb.STRING
    data_type = store.put_artifact_type(data)
    step_type = store.put_execution_type(pb.ExecutionType(name="Step"))
    run_type = store.put_context_type(pb.ContextType(name="Run"))
    [pipeline] = store.put_contexts([pb.Context(type_id=store.put_context_type(
        pb.ContextType(name="Pipeline")), name="pipe")])
    for run in range(RUNS):
        context = pb.Context(type_id=run_type, name=f"run-{run:02d}")
        previous = None
        for step in range(3):
            output = pb.Artifact(type_id=data_type, uri=f"/r{run:02d}/s{step}", name=f"a{run:02d}{step}")
            output.properties["day"].int_value = (run * 3 + step) % 7
            output.properties["score"].double_value = ((run * 31 + step * 7) % 100) / 100
            if step != 1:
                output.properties["split"].string_value = ("train", "eval")[run % 2]
            output.custom_properties["n"].int_value = run
            pairs = [(output, pb.Event(type=pb.Event.OUTPUT))]
            if previous is not None:
                pairs.append((previous, pb.Event(type=pb.Event.INPUT)))
            _, [output_id, *_], [context_id] = store.put_execution(
                pb.Execution(type_id=step_type, name=f"e{run:02d}{step}"), pairs, [context],
                reuse_context_if_already_exist=True)
            context.id = context_id
            previous = store.get_artifacts_by_id([output_id])[0]
        store.put_parent_contexts([pb.ParentContext(child_id=context.id, parent_id=pipeline)])
    return store


QUERIES = {
    "artifact": [
        "properties.day.int_value > 2",
        "properties.day.int_value >= 2 AND properties.day.int_value < 5",
        "properties.day.int_value > 5 AND properties.day.int_value <= 5",
        "properties.score.double_value > 0.5 AND properties.score.double_value <= 0.75",
        "properties.score.double_value BETWEEN 0.2 AND 0.4",
        "properties.score.double_value NOT BETWEEN 0.2 AND 0.4",
        'properties.split.string_value >= "f"',
        'properties.split.string_value < "f" OR properties.day.int_value = 3',
        "properties.day.int_value != 3",
        "custom_properties.n.int_value < 4 AND type = 'Data'",
        "id > 30", "id >= 3 AND id < 6", "id <= 2", "id < 0", "id > 1000",
        'uri = "/r01/s0" OR uri = "/r02/s2"',
        'uri = "/r01/s0" OR name LIKE "a05%"',
        'uri = "/r01/s0" OR properties.day.int_value > 5',
        "contexts_a.name = 'run-03'",
        "contexts_a.name IN ('run-03', 'run-07')",
        "contexts_a.name LIKE 'run-1%'",
        "contexts_a.type = 'Run' AND contexts_a.name = 'run-04'",
        "contexts_a.name = 'run-03' OR contexts_b.name = 'run-04'",
        "contexts_a.id = 5",
        "events_0.execution_id = 4",
        "events_0.execution_id = 4 AND events_0.type = OUTPUT",
        "NOT (contexts_a.name = 'run-03')",
        # Equalities the indexes answer exactly: listed without the predicate.
        "type = 'Data' AND contexts_a.name = 'run-03'",
        "uri = '/r01/s0' AND contexts_a.id = 5",
        "name = 'a031' AND contexts_a.type = 'Run' AND contexts_b.name = 'run-03'",
        "contexts_a.name = 'run-03' AND contexts_b.name = 'run-04'",
        "type = 'Run'",
    ],
    "execution": [
        "contexts_a.type = 'Run' AND contexts_a.name = 'run-05'",
        "events_0.artifact_id = 7",
        "id < 5 OR name = 'e0101'",
    ],
    "context": [
        "parent_contexts_a.name = 'pipe'",
        "child_contexts_a.name = 'run-02'",
        "child_contexts_a.name IN ('run-02', 'run-09')",
        "artifacts_a.uri = '/r03/s1'",
        "executions_a.name = 'e0402'",
        "parent_contexts_a.name = 'pipe' AND name > 'run-09'",
        "parent_contexts_a.name = 'pipe' AND name = 'run-03'",
        # One child cannot hold both names: two terms on one alias are not exact.
        "child_contexts_a.name = 'run-02' AND child_contexts_a.name = 'run-03'",
        "child_contexts_a.name = 'run-02' AND child_contexts_b.name = 'run-03'",
        "artifacts_a.uri = '/r03/s1' AND executions_a.name = 'e0402'",
    ],
}
CASES = [(kind, query) for kind, queries in QUERIES.items() for query in queries]


@pytest.mark.parametrize(("kind", "query"), CASES)
def test_planned_listing_equals_a_full_scan(store, kind, query):
    backend = store._service.backend
    expr = parse_filter(query, kind)
    predicate = compile_predicate(expr, kind)
    with backend.transaction(write=False):
        expected = sorted(n.id for n in backend.iter_nodes(kind) if predicate(n, backend))
        got = [n.id for n in backend.list_nodes(kind, ListQuery(filter=expr))]
    assert got == expected


def _page(store, token: str, filter_query: str, field) -> svc.GetArtifactsResponse:
    options = pb.ListOperationOptions(max_result_size=5, filter_query=filter_query,
                                      next_page_token=token)
    options.order_by_field.field = field
    options.order_by_field.is_asc = False
    return store._service.GetArtifacts(svc.GetArtifactsRequest(options=options))


@pytest.mark.parametrize("field", [pb.ListOperationOptions.OrderByField.CREATE_TIME,
                                   pb.ListOperationOptions.OrderByField.ID])
def test_pages_see_writes_made_between_them(field):
    store = MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"u{i}") for i in range(12)])
    first = _page(store, "", "uri LIKE 'u%'", field)
    assert [a.id for a in first.artifacts] == ids[::-1][:5]
    # Between pages, one not yet listed leaves the filter.
    gone = store.get_artifacts_by_id([ids[3]])[0]
    gone.uri = "moved"
    store.put_artifacts([gone])
    rest = []
    token = first.next_page_token
    while token:
        page = _page(store, token, "uri LIKE 'u%'", field)
        rest += [a.id for a in page.artifacts]
        token = page.next_page_token
    # The update moved the node's update time, not its create time: both orders
    # go on as before, without it.
    assert rest == [i for i in ids[::-1][5:] if i != ids[3]]


def test_latest_by_update_time_follows_updates():
    store = MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    type_id = store.put_execution_type(pb.ExecutionType(name="T"))
    ids = store.put_executions([pb.Execution(type_id=type_id, name=f"e{i}") for i in range(30)])
    latest = ListOptions(order_by=OrderByField.UPDATE_TIME, is_asc=False, limit=3)
    oldest = ListOptions(order_by=OrderByField.UPDATE_TIME, is_asc=True, limit=3)
    assert [e.id for e in store.get_executions(list_options=latest)] == ids[::-1][:3]
    assert [e.id for e in store.get_executions(list_options=oldest)] == ids[:3]
    [first] = store.get_executions_by_id([ids[0]])
    first.last_known_state = pb.Execution.COMPLETE
    store.put_executions([first])
    assert [e.id for e in store.get_executions(list_options=latest)][0] == ids[0]
    assert ids[0] not in [e.id for e in store.get_executions(list_options=oldest)]
    everything = store.get_executions(list_options=ListOptions(order_by=OrderByField.UPDATE_TIME))
    assert [e.id for e in everything] == [*ids[1:], ids[0]]


def test_a_failed_write_leaves_the_time_order_as_it_was():
    store = MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, name=f"a{i}") for i in range(5)])
    newest = ListOptions(order_by=OrderByField.CREATE_TIME, is_asc=False)
    before = [a.id for a in store.get_artifacts(list_options=newest)]
    # The second artifact repeats a name of its type: the whole call fails.
    with pytest.raises(errors.AlreadyExistsError):
        store.put_artifacts([pb.Artifact(type_id=type_id, name="b"),
                             pb.Artifact(type_id=type_id, name="a1")])
    assert [a.id for a in store.get_artifacts(list_options=newest)] == before == ids[::-1]


def _ids_where(store: MetadataStore, query: str) -> list[int]:
    return [a.id for a in store.get_artifacts(list_options=ListOptions(filter_query=query))]


def test_indexes_follow_updates_failed_writes_and_purges():
    """Ids shared by many nodes of a key (a type, a property value, a context)
    stay exactly those of a full scan while nodes move between keys, a failed
    write is undone and nodes are deleted with their links."""
    store = MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    data = pb.ArtifactType(name="Data")
    data.properties["day"] = pb.INT
    type_id = store.put_artifact_type(data)
    context_type = store.put_context_type(pb.ContextType(name="Run"))
    [run, other] = store.put_contexts([pb.Context(type_id=context_type, name=n) for n in ("run", "other")])
    artifacts = []
    for i in range(40):
        artifact = pb.Artifact(type_id=type_id, name=f"a{i}", uri=f"/same/{i % 2}")
        artifact.properties["day"].int_value = i % 3
        artifacts.append(artifact)
    ids = store.put_artifacts(artifacts)
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=i, context_id=run) for i in ids]
        + [pb.Attribution(artifact_id=i, context_id=other) for i in ids[::5]], [])

    # Every fourth artifact moves to day 7: ids from the middle of each day's ids.
    moved = store.get_artifacts_by_id(ids[2::4])
    for artifact in moved:
        artifact.properties["day"].int_value = 7
    store.put_artifacts(moved)
    # A failing call (a name repeated in its type) moves nothing.
    [back] = store.get_artifacts_by_id([ids[2]])
    back.properties["day"].int_value = 1
    with pytest.raises(errors.AlreadyExistsError):
        store.put_artifacts([back, pb.Artifact(type_id=type_id, name="a2")])
    purged = ids[::4]
    store.lineage.purge("artifact", purged)

    stored = store.get_artifacts()
    kept = [i for i in ids if i not in purged]
    assert [a.id for a in stored] == kept
    for day in (0, 1, 2, 7):
        expected = [a.id for a in stored if a.properties["day"].int_value == day]
        assert expected, day
        assert _ids_where(store, f"properties.day.int_value = {day}") == expected
        assert _ids_where(store, f"properties.day.int_value >= {day} AND properties.day.int_value <= {day}") \
            == expected
    assert [a.id for a in store.get_artifacts_by_type("Data")] == kept
    assert _ids_where(store, 'uri = "/same/1"') == [i for i in kept if (i - ids[0]) % 2 == 1]
    assert [a.id for a in store.get_artifacts_by_context(run)] == kept
    assert [a.id for a in store.get_artifacts_by_context(other)] == [i for i in ids[::5] if i not in purged]
    assert [c.id for c in store.get_contexts_by_artifact(ids[5])] == [run, other]
    assert [c.id for c in store.get_contexts_by_artifact(ids[1])] == [run]
    with pytest.raises(errors.NotFoundError):
        store.get_contexts_by_artifact(ids[4])  # purged with its links


@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("filter_query", ["", "contexts_a.name = 'run'"])
def test_pages_in_id_order_skip_purged_nodes(ascending, filter_query):
    """Pages read off the ids alone (no filter, or one the indexes answer
    exactly) hold full pages of the nodes that are left, in order."""
    store = MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    [run] = store.put_contexts([pb.Context(type_id=store.put_context_type(pb.ContextType(name="R")),
                                           name="run")])
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=f"u{i}") for i in range(30)])
    store.put_attributions_and_associations([pb.Attribution(artifact_id=i, context_id=run) for i in ids], [])
    store.lineage.purge("artifact", ids[:3] + ids[10:14] + ids[-2:])
    kept = [i for i in ids if i not in ids[:3] + ids[10:14] + ids[-2:]]
    pages = []
    token = ""
    while True:
        options = pb.ListOperationOptions(max_result_size=7, filter_query=filter_query, next_page_token=token)
        options.order_by_field.field = pb.ListOperationOptions.OrderByField.ID
        options.order_by_field.is_asc = ascending
        page = store._service.GetArtifacts(svc.GetArtifactsRequest(options=options))
        pages.append([a.id for a in page.artifacts])
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [7, 7, 7]
    assert sum(pages, []) == (kept if ascending else kept[::-1])


def test_artifacts_by_uris_come_once_each_in_id_order():
    store = MetadataStore(pb.ConnectionConfig(fake_database=pb.FakeDatabaseConfig()))
    type_id = store.put_artifact_type(pb.ArtifactType(name="T"))
    ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri=uri) for uri in ("/b", "/a", "/b", "/a")])

    def by_uris(*uris):
        return [a.id for a in store._service.GetArtifactsByURI(svc.GetArtifactsByURIRequest(uris=uris)).artifacts]

    assert by_uris("/a", "/a") == [ids[1], ids[3]]
    assert by_uris("/b", "/a", "/b") == ids
    assert by_uris("/c") == []
