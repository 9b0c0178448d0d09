"""Purge on every backend: what goes, what stays, dry runs, bad input, and the cache index."""

from __future__ import annotations

import time

import pytest
from engine_helpers import Builder, Event, event, random_history, reference_walk, snapshot

from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

Artifact, Execution = pb.Artifact, pb.Execution


def _edges(store):
    """Every event and link the public API can see, as plain tuples."""
    executions = [e.id for e in store.get_executions()]
    events = sorted((e.artifact_id, e.execution_id, e.type) for e in store.get_events_by_execution_ids(executions))
    links = set()
    for context in store.get_contexts():
        links |= {("attribution", a.id, context.id) for a in store.get_artifacts_by_context(context.id)}
        links |= {("association", e.id, context.id) for e in store.get_executions_by_context(context.id)}
        links |= {("parent", context.id, p.id) for p in store.get_parent_contexts_by_context(context.id)}
    return events, links


@pytest.mark.parametrize("seed", [2, 8])
def test_purge_with_downstream_removes_exactly_the_reference_walk(store, seed):
    history = random_history(store, seed, executions=20)
    start = history.artifacts[:2]
    walk = reference_walk(store, start, downstream=True)
    doomed_a, doomed_e = set(walk.ids("artifact")), set(walk.ids("execution"))
    events_before, links_before = _edges(store)

    report = store.lineage.purge("artifact", start, with_downstream=True)

    assert report.deleted
    assert report.counts["artifacts"] == len(doomed_a) and report.counts["executions"] == len(doomed_e)
    assert {a.id for a in store.get_artifacts()} == set(history.artifacts) - doomed_a
    assert {e.id for e in store.get_executions()} == set(history.executions) - doomed_e
    events_after, links_after = _edges(store)
    expected_events = [e for e in events_before if e[0] not in doomed_a and e[1] not in doomed_e]
    # Events of surviving executions that touched purged artifacts are gone too.
    assert events_after == expected_events
    assert report.counts["events"] == len(events_before) - len(events_after)
    expected_links = {link for link in links_before if not (
        (link[0] == "attribution" and link[1] in doomed_a) or (link[0] == "association" and link[1] in doomed_e))}
    assert links_after == expected_links
    assert report.counts["attributions"] + report.counts["associations"] == len(links_before) - len(links_after)
    # What was purged no longer links anything: no walk reaches through it.
    for artifact_id in set(history.artifacts) - doomed_a:
        graph = store.lineage.downstream([artifact_id])
        assert not {a.id for a in graph.artifacts} & doomed_a
    # The store keeps working.
    Builder(store).artifact("Data", "after-purge", properties={"rows": 1})


def test_dry_run_reports_the_same_counts_and_changes_nothing(store):
    history = random_history(store, 4, executions=15)
    before = snapshot(store)
    dry = store.lineage.purge("artifact", history.artifacts[:1], with_downstream=True, dry_run=True, sample_size=3)
    assert not dry.deleted
    assert snapshot(store) == before
    assert len(dry.sample) == min(3, dry.nodes)
    assert sum(count for _, _, count in dry.by_type) == dry.nodes
    done = store.lineage.purge("artifact", history.artifacts[:1], with_downstream=True)
    assert (done.counts, done.by_type) == (dry.counts, dry.by_type)


def test_purge_a_context_cuts_its_links_but_keeps_its_nodes(store):
    build = Builder(store)
    a, e = build.artifact("Data", "a"), build.execution("Step", "e")
    parent, run, child = build.context("parent"), build.context("run"), build.context("child")
    store.put_attributions_and_associations([pb.Attribution(artifact_id=a, context_id=run)],
                                            [pb.Association(execution_id=e, context_id=run)])
    store.put_parent_contexts([pb.ParentContext(child_id=run, parent_id=parent),
                               pb.ParentContext(child_id=child, parent_id=run)])
    report = store.lineage.purge("context", [run])
    assert report.counts == {"artifacts": 0, "executions": 0, "contexts": 1, "events": 0,
                             "attributions": 1, "associations": 1, "parent_contexts": 2}
    assert store.get_contexts_by_id([run]) == []
    assert [x.id for x in store.get_artifacts_by_id([a])] == [a]
    # As in MLMD, a node without contexts reads as NotFound.
    with pytest.raises(errors.NotFoundError):
        store.get_contexts_by_artifact(a)
    with pytest.raises(errors.NotFoundError):
        store.get_contexts_by_execution(e)
    assert store.get_children_contexts_by_context(parent) == []
    assert store.get_parent_contexts_by_context(child) == []


def test_filter_state_and_age_narrow_the_selection(store):
    build = Builder(store)
    old_live = build.artifact("Data", "old-live")
    old_gone = build.artifact("Data", "old-gone", state=Artifact.DELETED)
    # The cut-off below sits half this gap before the newest artifact, so the purge may start
    # up to that long after it is computed (a loaded machine) and still select the same nodes.
    time.sleep(0.6)
    new_gone = build.artifact("Data", "new-gone", state=Artifact.DELETED)
    report = store.lineage.purge("artifact", filter_query="name LIKE 'old-%'", dry_run=True)
    assert [s[1] for s in report.sample] == [old_live, old_gone]
    report = store.lineage.purge("artifact", filter_query="type = 'Data'", states=["DELETED"], dry_run=True)
    assert [s[1] for s in report.sample] == [old_gone, new_gone]
    newest = store.get_artifacts_by_id([new_gone])[0].create_time_since_epoch
    age_ms = int(time.time() * 1000) - newest + 300  # older than the newest artifact, younger than the rest
    report = store.lineage.purge("artifact", [old_live, old_gone, new_gone], older_than=f"{age_ms}ms")
    assert [s[1] for s in report.sample] == [old_live, old_gone]
    assert [x.id for x in store.get_artifacts()] == [new_gone]


@pytest.mark.parametrize("call, error, message", [
    (lambda lin, ids: lin.purge("artifact"), errors.InvalidArgumentError, "ids or a filter_query"),
    (lambda lin, ids: lin.purge("artifact", [ids[0], 987654]), errors.NotFoundError, "987654"),
    (lambda lin, ids: lin.purge("artifact", filter_query="name = = 'x'"), errors.InvalidArgumentError, "filter_query"),
    (lambda lin, ids: lin.purge("artifact", ids, older_than="ninety days"), errors.InvalidArgumentError,
     "older_than"),
    (lambda lin, ids: lin.purge("artifact", ids, states=["SLEEPING"]), errors.InvalidArgumentError, "SLEEPING"),
    (lambda lin, ids: lin.purge("context", ids, states=["LIVE"]), errors.InvalidArgumentError, "no state"),
    (lambda lin, ids: lin.purge("context", ids, with_downstream=True), errors.InvalidArgumentError,
     "with_downstream"),
    (lambda lin, ids: lin.purge("model", ids), errors.InvalidArgumentError, "kind"),
], ids=["nothing-selected", "unknown-id", "bad-filter", "bad-age", "bad-state", "context-state",
        "context-downstream", "bad-kind"])
def test_bad_purges_are_typed_errors_and_delete_nothing(store, call, error, message):
    history = random_history(store, 1, executions=8)
    before = snapshot(store)
    with pytest.raises(error, match=message):
        call(store.lineage, history.artifacts[:2])
    assert snapshot(store) == before


def test_no_cache_hit_survives_a_purge_of_its_inputs_or_outputs(store):
    build = Builder(store)
    raw, other = build.artifact("Data", "raw"), build.artifact("Data", "other")
    train = build.execution("Train", "train")
    model = build.artifact("Model", "model")
    build.link(event(raw, train, Event.INPUT, "x"), event(other, train, Event.INPUT, "y"),
               event(model, train, Event.OUTPUT, "model"))
    assert store.lineage.find_reusable_execution("Train", [raw, other]).execution.id == train
    store.lineage.purge("artifact", [raw])
    # The execution lost an input: the question with that input no longer hits it.
    assert store.lineage.find_reusable_execution("Train", [raw, other]) is None
    assert store.lineage.find_reusable_execution("Train", {"x": [raw], "y": [other]}) is None
    store.lineage.purge("artifact", [model])
    for hit in (store.lineage.find_reusable_execution("Train", [other]),):
        assert hit is None or all(a.id != model for group in hit.outputs.values() for a in group)


def test_purged_execution_leaves_the_fingerprint_index(store):
    build = Builder(store)
    raw = build.artifact("Data", "raw")
    train = build.execution("Train", "train")
    model = build.artifact("Model", "model")
    build.link(event(raw, train, Event.INPUT), event(model, train, Event.OUTPUT))
    store.lineage.purge("execution", [train])
    assert store.lineage.find_reusable_execution("Train", [raw]) is None
    assert [x.id for x in store.get_artifacts()] == [raw, model]
    assert store.get_events_by_artifact_ids([raw, model]) == []


@pytest.mark.parametrize("state", [Artifact.UNKNOWN, Artifact.PENDING, Artifact.REFERENCE],
                         ids=lambda v: Artifact.State.Name(v))
def test_only_live_outputs_make_a_cache_hit(store, state):
    build = Builder(store)
    raw = build.artifact("Data", "raw")
    train = build.execution("Train", "train")
    model = build.artifact("Model", "model", state=state)
    build.link(event(raw, train, Event.INPUT), event(model, train, Event.OUTPUT))
    assert store.lineage.find_reusable_execution("Train", [raw]) is None
    [published] = store.get_artifacts_by_id([model])
    published.state = Artifact.LIVE
    store.put_artifacts([published])
    assert store.lineage.find_reusable_execution("Train", [raw]).execution.id == train


def _refuse_deleting_execution(store, backend_name: str, execution_id: int) -> None:
    """Makes the database itself refuse to delete one execution row, with a trigger."""
    import sqlalchemy as sa

    engine = store._service.backend.database.engine
    if backend_name.startswith("sqlite"):
        statements = [f"CREATE TRIGGER refuse_purge BEFORE DELETE ON Execution WHEN OLD.id = {execution_id} "
                      "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"]
    else:
        statements = [
            "CREATE OR REPLACE FUNCTION refuse_purge() RETURNS trigger AS $$ BEGIN "
            f"IF OLD.id = {execution_id} THEN RAISE EXCEPTION 'refused by trigger'; END IF; "
            "RETURN OLD; END $$ LANGUAGE plpgsql",
            'CREATE TRIGGER refuse_purge BEFORE DELETE ON Execution FOR EACH ROW EXECUTE FUNCTION refuse_purge()',
        ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))


def test_a_purge_that_fails_half_way_leaves_everything(store, backend_name):
    if backend_name not in ("sqlite-file", "postgresql"):
        pytest.skip("the failure comes from a database trigger (SQLite file, PostgreSQL)")
    history = random_history(store, 6, executions=12)
    graph = store.lineage.downstream(history.artifacts[:1])
    assert graph.artifacts and graph.executions
    # Artifacts are deleted before executions: the refusal comes after rows are gone.
    _refuse_deleting_execution(store, backend_name, graph.executions[-1].id)
    try:
        before = snapshot(store)
        with pytest.raises(errors.StatusError):
            store.lineage.purge("artifact", history.artifacts[:1], with_downstream=True)
        assert snapshot(store) == before
    finally:
        _drop_refusal(store, backend_name)


def _drop_refusal(store, backend_name: str) -> None:
    """Removes the trigger again: the server's database outlives the test."""
    import sqlalchemy as sa

    statements = ["DROP TRIGGER IF EXISTS refuse_purge"] if backend_name.startswith("sqlite") else [
        "DROP TRIGGER IF EXISTS refuse_purge ON Execution", "DROP FUNCTION IF EXISTS refuse_purge()"]
    with store._service.backend.database.engine.begin() as connection:
        for statement in statements:
            connection.execute(sa.text(statement))
