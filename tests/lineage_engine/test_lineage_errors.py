"""Bad questions get lineage.errors, and no question writes anything."""

from __future__ import annotations

import pytest

import lineage
from engine_helpers import Builder, random_history, snapshot
from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

MISSING = 10_000


@pytest.fixture
def history(store):
    return random_history(store, 7, cyclic=True)


@pytest.mark.parametrize("call", [
    lambda s, h: s.lineage.upstream([MISSING]),
    lambda s, h: s.lineage.downstream([MISSING]),
    lambda s, h: s.lineage.upstream(execution_ids=[MISSING]),
    lambda s, h: s.lineage.downstream(h.artifacts[:1], [h.executions[0], MISSING]),
    lambda s, h: s.lineage.upstream([h.artifacts[0], MISSING], h.executions[:1]),
    lambda s, h: s.lineage.context_dag(MISSING),
    lambda s, h: s.lineage.impacted(MISSING),
    lambda s, h: s.lineage.impacted(MISSING, "Model"),
    lambda s, h: s.lineage.diff(h.artifacts[0], MISSING),
    lambda s, h: s.lineage.diff(MISSING, h.artifacts[0]),
], ids=["upstream-artifact", "downstream-artifact", "upstream-execution", "downstream-mixed",
        "upstream-mixed", "context-dag", "impacted", "impacted-typed", "diff-b", "diff-a"])
def test_unknown_ids_are_not_found(store, history, call):
    before = snapshot(store)
    with pytest.raises(errors.NotFoundError, match=str(MISSING)):
        call(store, history)
    assert snapshot(store) == before


@pytest.mark.parametrize("call, field", [
    (lambda s, h: s.lineage.upstream(h.artifacts[:1], max_hops=-1), "max_hops"),
    (lambda s, h: s.lineage.downstream(execution_ids=h.executions[:1], max_hops=-5), "max_hops"),
    (lambda s, h: s.lineage.upstream(), "artifact_ids"),
    (lambda s, h: s.lineage.downstream(h.artifacts[:1], max_nodes=-1), "max_nodes"),
    (lambda s, h: s.lineage.upstream(h.artifacts[:1], max_nodes=True), "max_nodes"),
    (lambda s, h: s.lineage.impacted(h.artifacts[0], max_nodes=2.5), "max_nodes"),
    (lambda s, h: s.lineage.context_dag(h.contexts[0], max_nodes=-3), "max_nodes"),
    (lambda s, h: s.lineage.downstream([], []), "artifact_ids"),
    (lambda s, h: s.lineage.downstream(iter(())), "artifact_ids"),
    (lambda s, h: s.lineage.find_reusable_execution("NoSuchStep", h.artifacts[:1]), "execution_type"),
    (lambda s, h: s.lineage.find_reusable_execution(MISSING, h.artifacts[:1]), "execution_type"),
    (lambda s, h: s.lineage.find_reusable_execution(1.5, h.artifacts[:1]), "execution_type"),
    (lambda s, h: s.lineage.cache_key("NoSuchStep", h.artifacts[:1]), "execution_type"),
    (lambda s, h: s.lineage.cache_key(MISSING, []), "execution_type"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", "12"), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", 12), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", None), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", [1.5]), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", [True]), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", {"k": "x"}), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", {"k": 1.5}), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", {"k": [None]}), "inputs"),
    (lambda s, h: s.lineage.cache_key("Train", [[1]]), "inputs"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", [1], {"p": [1]}), "property"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", [1], {"p": None}), "property"),
    (lambda s, h: s.lineage.cache_key("Train", [1], {"p": object()}), "property"),
    (lambda s, h: s.lineage.find_reusable_execution("Train", [1], "lr=1"), "properties"),
    (lambda s, h: s.lineage.cache_key("Train", [1], [("lr", 1)]), "properties"),
    (lambda s, h: s.lineage.diff(
        next(a for a in s.get_artifacts() if a.type == "Model").id,
        next(a for a in s.get_artifacts() if a.type == "Data").id), "type"),
])
def test_bad_arguments_are_invalid(store, history, call, field):
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError, match=field):
        call(store, history)
    assert snapshot(store) == before


def test_no_question_writes_anything(store, history):
    before = snapshot(store)
    a, e, c = history.artifacts, history.executions, history.contexts
    store.lineage.upstream(a[-3:], e[:2])
    store.lineage.downstream(a[:3], max_hops=3)
    graph = store.lineage.downstream(a, e)
    graph.to_dot(), graph.to_mermaid(), graph.to_json(), graph.to_networkx(), graph.to_lineage_graph()
    with pytest.raises(errors.FailedPreconditionError):
        graph.topological_order()
    store.lineage.context_dag(c[0])
    store.lineage.impacted(a[0], "Model")
    data = [x.id for x in store.get_artifacts() if x.type == "Data"]
    store.lineage.diff(data[0], data[-1])
    for inputs in (a[:2], {"in0": a[:1]}, []):
        store.lineage.find_reusable_execution("Train", inputs, {"attempt": 1, "note": "n0"})
        store.lineage.cache_key("Transform", inputs)
    assert snapshot(store) == before


def test_lineage_against_an_unreachable_server_is_one_unavailable_error():
    client = lineage.MetadataStore(pb.MetadataStoreClientConfig(
        host="127.0.0.1", port=9, client_timeout_sec=5))
    try:
        with pytest.raises(errors.UnavailableError) as raised:
            client.lineage.downstream([1])
        assert "\n" not in str(raised.value).strip()
    finally:
        client.close()


def test_errors_are_status_errors(store):
    Builder(store).artifact(name="x")
    with pytest.raises(errors.StatusError):
        store.lineage.upstream([MISSING])


def test_an_answer_past_max_nodes_is_refused_with_its_size(store, history):
    before = snapshot(store)
    def size_of(graph) -> int:
        return len(graph.artifacts) + len(graph.executions)

    first = next(a for a in history.artifacts if size_of(store.lineage.downstream([a])) > 3)
    start = [first, history.artifacts[-1]]
    whole = store.lineage.downstream(start)
    size = size_of(whole)
    # Exactly the size passes; one less is refused, naming the argument and telling the size.
    assert store.lineage.downstream(start, max_nodes=size) == whole
    with pytest.raises(errors.ResourceExhaustedError,
                       match=rf"holds {size} nodes \({len(whole.artifacts)} artifacts, "
                             rf"{len(whole.executions)} executions\), more than max_nodes {size - 1}"):
        store.lineage.downstream(start, max_nodes=size - 1)
    up = store.lineage.upstream(history.artifacts[-1:])
    with pytest.raises(errors.ResourceExhaustedError, match="upstream"):
        store.lineage.upstream(history.artifacts[-1:], max_nodes=size_of(up) - 1)
    impacted = store.lineage.impacted(start[0])
    assert store.lineage.impacted(start[0], max_nodes=10**9) == impacted
    with pytest.raises(errors.ResourceExhaustedError, match="max_nodes 1"):
        store.lineage.impacted(start[0], max_nodes=1)
    dag = store.lineage.context_dag(history.contexts[0])
    dag_size = size_of(dag)
    assert store.lineage.context_dag(history.contexts[0], max_nodes=dag_size) == dag
    with pytest.raises(errors.ResourceExhaustedError, match=f"holds {dag_size} nodes"):
        store.lineage.context_dag(history.contexts[0], max_nodes=dag_size - 1)
    assert snapshot(store) == before
