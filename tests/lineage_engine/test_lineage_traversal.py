"""store.lineage.upstream / downstream against an independent breadth-first search."""

from __future__ import annotations

import random

import pytest

from engine_helpers import READS, WRITES, Builder, Event, chain, event, event_keys, random_history, reference_walk

SEEDS = range(4)
HOPS = (None, 0, 1, 2, 3, 5)


def assert_same_walk(store, graph, walk, label: str) -> None:
    """The graph holds exactly the reference walk's nodes and events, each once, as stored."""
    artifact_ids = [a.id for a in graph.artifacts]
    execution_ids = [e.id for e in graph.executions]
    assert artifact_ids == walk.ids("artifact"), label
    assert execution_ids == walk.ids("execution"), label
    keys = event_keys(graph.events)
    assert len(keys) == len(set(keys)), f"{label}: an event appears twice"
    assert sorted(keys) == sorted(walk.events), label
    for ev in graph.events:
        assert ev == walk.events[(ev.artifact_id, ev.execution_id, ev.type)], label
    assert list(graph.artifacts) == store.get_artifacts_by_id(artifact_ids), label
    assert list(graph.executions) == store.get_executions_by_id(execution_ids), label
    assert sorted(t.name for t in graph.artifact_types) == sorted({a.type for a in graph.artifacts}), label
    assert sorted(t.name for t in graph.execution_types) == sorted({e.type for e in graph.executions}), label
    assert len(graph) == len(walk.distance), label


def starts(history, rng: random.Random):
    """Starting sets: one artifact, one execution, several of both (with a repeat)."""
    yield [rng.choice(history.artifacts)], []
    yield [], [rng.choice(history.executions)]
    some = rng.sample(history.artifacts, 3)
    yield some + some[:1], rng.sample(history.executions, 2)


@pytest.mark.parametrize("cyclic", [False, True], ids=["dag", "cyclic"])
@pytest.mark.parametrize("seed", SEEDS)
def test_upstream_and_downstream_match_reference(store, seed, cyclic):
    history = random_history(store, seed, cyclic=cyclic)
    rng = random.Random(seed)
    compared = 0
    for artifact_ids, execution_ids in starts(history, rng):
        for downstream in (False, True):
            for hops in HOPS:
                walk_fn = store.lineage.downstream if downstream else store.lineage.upstream
                graph = walk_fn(artifact_ids, execution_ids, max_hops=hops)
                walk = reference_walk(store, artifact_ids, execution_ids, downstream=downstream, max_hops=hops)
                label = f"{'down' if downstream else 'up'} from {artifact_ids}/{execution_ids}, hops {hops}"
                assert_same_walk(store, graph, walk, label)
                compared += 1
    assert compared == 3 * 2 * len(HOPS)


@pytest.mark.parametrize("event_types", [
    {Event.INPUT, Event.OUTPUT},
    set(READS),
    set(WRITES),
    {Event.DECLARED_INPUT, Event.DECLARED_OUTPUT, Event.PENDING_OUTPUT},
    {Event.INTERNAL_INPUT, Event.INTERNAL_OUTPUT, Event.INPUT},
], ids=["input-output", "reads", "writes", "declared-pending", "internal"])
@pytest.mark.parametrize("cyclic", [False, True], ids=["dag", "cyclic"])
def test_event_type_filter_matches_reference(store, event_types, cyclic):
    history = random_history(store, 11, cyclic=cyclic, executions=40)
    rng = random.Random(5)
    for artifact_ids, execution_ids in starts(history, rng):
        for downstream in (False, True):
            for hops in (None, 2):
                walk_fn = store.lineage.downstream if downstream else store.lineage.upstream
                graph = walk_fn(artifact_ids, execution_ids, max_hops=hops, event_types=event_types)
                walk = reference_walk(store, artifact_ids, execution_ids, downstream=downstream,
                                      max_hops=hops, event_types=event_types)
                assert all(ev.type in event_types for ev in graph.events)
                assert_same_walk(store, graph, walk, f"{sorted(event_types)} down={downstream} hops={hops}")


def test_whole_history_downstream_of_the_raw_inputs(store):
    history = random_history(store, 3, executions=50)
    raw = history.artifacts[:3]
    graph = store.lineage.downstream(raw)
    walk = reference_walk(store, raw, downstream=True)
    assert_same_walk(store, graph, walk, "downstream of every raw input")
    assert len(graph.executions) > 10


@pytest.mark.parametrize("steps", [150, 400])
def test_deep_chain_is_traced_to_its_root(store, steps):
    history = chain(store, steps)
    tip, root = history.artifacts[-1], history.artifacts[0]

    up = store.lineage.upstream([tip])
    assert [a.id for a in up.artifacts] == sorted(history.artifacts)
    assert [e.id for e in up.executions] == sorted(history.executions)
    assert len(up.events) == 2 * steps
    assert up.topological_order()[0] == ("artifact", root)
    assert up.topological_order()[-1] == ("artifact", tip)

    down = store.lineage.downstream([root])
    assert [a.id for a in down.artifacts] == sorted(history.artifacts)
    assert len(down.events) == 2 * steps

    # k hops reach exactly k + 1 nodes of a line.
    for hops in (1, 2, 99, 100, 101, 2 * steps - 1):
        partial = store.lineage.upstream([tip], max_hops=hops)
        assert len(partial) == hops + 1
        assert len(partial.events) == hops
    assert root not in {a.id for a in store.lineage.upstream([tip], max_hops=2 * steps - 1).artifacts}
    assert root in {a.id for a in store.lineage.upstream([tip], max_hops=2 * steps).artifacts}


@pytest.mark.timeout(60)
def test_a_ring_neither_hangs_nor_repeats(store):
    build = Builder(store)
    a0, a1 = build.artifact(name="a0"), build.artifact(name="a1")
    e0, e1 = build.execution(name="e0"), build.execution(name="e1")
    build.link(event(a0, e0, Event.INPUT), event(a1, e0, Event.OUTPUT),
               event(a1, e1, Event.INPUT), event(a0, e1, Event.OUTPUT))
    for walk_fn in (store.lineage.upstream, store.lineage.downstream):
        for artifact_ids, execution_ids in (([a0], []), ([a1], []), ([], [e0]), ([a0, a1], [e0, e1])):
            graph = walk_fn(artifact_ids, execution_ids)
            assert [a.id for a in graph.artifacts] == [a0, a1]
            assert [e.id for e in graph.executions] == [e0, e1]
            assert len(graph.events) == 4
            assert len(set(event_keys(graph.events))) == 4


@pytest.mark.timeout(60)
def test_an_execution_reading_and_writing_one_artifact(store):
    build = Builder(store)
    a, e = build.artifact(name="a"), build.execution(name="e")
    build.link(event(a, e, Event.INPUT), event(a, e, Event.OUTPUT))
    for walk_fn in (store.lineage.upstream, store.lineage.downstream):
        graph = walk_fn([a])
        assert [x.id for x in graph.artifacts] == [a] and [x.id for x in graph.executions] == [e]
        assert sorted(event_keys(graph.events)) == [(a, e, Event.INPUT), (a, e, Event.OUTPUT)]


def test_zero_hops_is_the_starting_nodes_alone(store):
    history = random_history(store, 2)
    graph = store.lineage.upstream(history.artifacts[-2:], history.executions[:1], max_hops=0)
    assert [a.id for a in graph.artifacts] == sorted(history.artifacts[-2:])
    assert [e.id for e in graph.executions] == history.executions[:1]
    assert list(graph.events) == []


def test_ids_may_come_from_any_iterable(store):
    history = chain(store, 3)
    from_list = store.lineage.upstream([history.artifacts[-1]])
    from_generator = store.lineage.upstream(a for a in history.artifacts[-1:])
    from_tuple = store.lineage.upstream(execution_ids=(history.executions[-1],))
    assert from_list.to_lineage_graph() == from_generator.to_lineage_graph()
    assert [a.id for a in from_tuple.artifacts] == history.artifacts[:-1]


def test_isolated_node_has_no_lineage(store):
    build = Builder(store)
    lone = build.artifact(name="lone")
    chain(store, 2)
    for walk_fn in (store.lineage.upstream, store.lineage.downstream):
        graph = walk_fn([lone])
        assert [a.id for a in graph.artifacts] == [lone]
        assert list(graph.executions) == [] and list(graph.events) == []
