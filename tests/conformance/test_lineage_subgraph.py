"""get_lineage_subgraph: bounded traversal from nodes picked by a filter query."""

from __future__ import annotations

import pytest

from ._api import errors, metadata_store_pb2 as pb
from ._helpers import ARTIFACT, CONTEXT, EXECUTION, make_type, snapshot

Options = pb.LineageSubgraphQueryOptions
UPSTREAM, DOWNSTREAM, BIDIRECTIONAL = Options.UPSTREAM, Options.DOWNSTREAM, Options.BIDIRECTIONAL
INPUT, OUTPUT = pb.Event.INPUT, pb.Event.OUTPUT


@pytest.fixture
def chain(store):
    """a1 -> e1 -> a2 -> e2 -> a3 -> e3 -> a4, with a5 also an input of e2.

    Context c1 holds a1 and e1; context c2 holds a4. Returns name -> id.
    """
    artifact_type = make_type(ARTIFACT, store, "A")
    make_type(ARTIFACT, store, "UnusedArtifactType")
    execution_type = make_type(EXECUTION, store, "E")
    context_type = make_type(CONTEXT, store, "C")
    names = {}
    for name, artifact_id in zip(
            ("a1", "a2", "a3", "a4", "a5"),
            store.put_artifacts([pb.Artifact(type_id=artifact_type, name=n, uri=f"/{n}")
                                 for n in ("a1", "a2", "a3", "a4", "a5")])):
        names[name] = artifact_id
    for name, execution_id in zip(
            ("e1", "e2", "e3"),
            store.put_executions([pb.Execution(type_id=execution_type, name=n)
                                  for n in ("e1", "e2", "e3")])):
        names[name] = execution_id
    store.put_events([
        pb.Event(artifact_id=names[a], execution_id=names[e], type=t)
        for a, e, t in (("a1", "e1", INPUT), ("a2", "e1", OUTPUT), ("a2", "e2", INPUT),
                        ("a5", "e2", INPUT), ("a3", "e2", OUTPUT), ("a3", "e3", INPUT),
                        ("a4", "e3", OUTPUT))])
    names["c1"], names["c2"] = store.put_contexts(
        [pb.Context(type_id=context_type, name="c1"), pb.Context(type_id=context_type, name="c2")])
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=names["a1"], context_id=names["c1"]),
         pb.Attribution(artifact_id=names["a4"], context_id=names["c2"])],
        [pb.Association(execution_id=names["e1"], context_id=names["c1"])])
    return names


def from_artifacts(query, **options):
    return Options(starting_artifacts=Options.StartingNodes(filter_query=query), **options)


def from_executions(query, **options):
    return Options(starting_executions=Options.StartingNodes(filter_query=query), **options)


def shape(graph, known):
    """The graph as sets of names, for comparison."""
    artifact_name = {v: k for k, v in known.items() if k.startswith("a")}
    execution_name = {v: k for k, v in known.items() if k.startswith("e")}
    return {
        "artifacts": sorted(a.name for a in graph.artifacts),
        "executions": sorted(e.name for e in graph.executions),
        "contexts": sorted(c.name for c in graph.contexts),
        "events": sorted(f"{artifact_name[e.artifact_id]}-{execution_name[e.execution_id]}"
                         for e in graph.events),
    }


def expect(artifacts=(), executions=(), contexts=(), events=()):
    return {"artifacts": sorted(artifacts), "executions": sorted(executions),
            "contexts": sorted(contexts), "events": sorted(events)}


@pytest.mark.parametrize("direction, hops, expected", [
    (UPSTREAM, 0, expect(["a3"])),
    (UPSTREAM, 1, expect(["a3"], ["e2"], events=["a3-e2"])),
    (UPSTREAM, 2, expect(["a2", "a3", "a5"], ["e2"], events=["a2-e2", "a3-e2", "a5-e2"])),
    (UPSTREAM, 3, expect(["a2", "a3", "a5"], ["e1", "e2"], ["c1"],
                         ["a2-e1", "a2-e2", "a3-e2", "a5-e2"])),
    (UPSTREAM, 10, expect(["a1", "a2", "a3", "a5"], ["e1", "e2"], ["c1"],
                          ["a1-e1", "a2-e1", "a2-e2", "a3-e2", "a5-e2"])),
    (DOWNSTREAM, 1, expect(["a3"], ["e3"], events=["a3-e3"])),
    (DOWNSTREAM, 2, expect(["a3", "a4"], ["e3"], ["c2"], ["a3-e3", "a4-e3"])),
    (DOWNSTREAM, 10, expect(["a3", "a4"], ["e3"], ["c2"], ["a3-e3", "a4-e3"])),
    (BIDIRECTIONAL, 1, expect(["a3"], ["e2", "e3"], events=["a3-e2", "a3-e3"])),
    (BIDIRECTIONAL, 2, expect(["a2", "a3", "a4", "a5"], ["e2", "e3"], ["c2"],
                              ["a2-e2", "a3-e2", "a3-e3", "a4-e3", "a5-e2"])),
])
def test_traversal_from_an_artifact(store, chain, direction, hops, expected):
    graph = store.get_lineage_subgraph(
        from_artifacts("name = 'a3'", max_num_hops=hops, direction=direction))
    assert shape(graph, chain) == expected


@pytest.mark.parametrize("direction, expected", [
    (UPSTREAM, expect(["a2", "a5"], ["e2"], events=["a2-e2", "a5-e2"])),
    (DOWNSTREAM, expect(["a3"], ["e2"], events=["a3-e2"])),
    (BIDIRECTIONAL, expect(["a2", "a3", "a5"], ["e2"], events=["a2-e2", "a3-e2", "a5-e2"])),
])
def test_traversal_from_an_execution(store, chain, direction, expected):
    graph = store.get_lineage_subgraph(
        from_executions("name = 'e2'", max_num_hops=1, direction=direction))
    assert shape(graph, chain) == expected


def test_direction_defaults_to_both_ways(store, chain):
    both = store.get_lineage_subgraph(
        from_artifacts("name = 'a3'", max_num_hops=2, direction=BIDIRECTIONAL))
    for options in (from_artifacts("name = 'a3'", max_num_hops=2),
                    from_artifacts("name = 'a3'", max_num_hops=2,
                                   direction=Options.DIRECTION_UNSPECIFIED)):
        assert shape(store.get_lineage_subgraph(options), chain) == shape(both, chain)


def test_unset_hop_limit_reaches_everything_connected(store, chain):
    graph = store.get_lineage_subgraph(from_artifacts("name = 'a4'", direction=UPSTREAM))
    assert shape(graph, chain) == expect(
        ["a1", "a2", "a3", "a4", "a5"], ["e1", "e2", "e3"], ["c1", "c2"],
        ["a1-e1", "a2-e1", "a2-e2", "a3-e2", "a3-e3", "a4-e3", "a5-e2"])


def test_several_starting_nodes(store, chain):
    graph = store.get_lineage_subgraph(
        from_artifacts("name IN ('a1', 'a4')", max_num_hops=1, direction=DOWNSTREAM))
    assert shape(graph, chain) == expect(["a1", "a4"], ["e1"], ["c1", "c2"], ["a1-e1"])
    graph = store.get_lineage_subgraph(from_artifacts("id > 0", max_num_hops=0))
    assert shape(graph, chain) == expect(["a1", "a2", "a3", "a4", "a5"], [], ["c1", "c2"])


@pytest.mark.parametrize("ending, expected", [
    (dict(ending_artifacts=Options.EndingNodes(filter_query="name = 'a2'")),
     expect(["a3", "a4", "a5"], ["e2", "e3"], ["c2"], ["a3-e2", "a3-e3", "a4-e3", "a5-e2"])),
    (dict(ending_artifacts=Options.EndingNodes(filter_query="name = 'a2'",
                                               include_ending_nodes=True)),
     expect(["a2", "a3", "a4", "a5"], ["e2", "e3"], ["c2"],
            ["a2-e2", "a3-e2", "a3-e3", "a4-e3", "a5-e2"])),
    (dict(ending_executions=Options.EndingNodes(filter_query="name = 'e2'")),
     expect(["a3", "a4"], ["e3"], ["c2"], ["a3-e3", "a4-e3"])),
    (dict(ending_executions=Options.EndingNodes(filter_query="name = 'e2'",
                                                include_ending_nodes=True)),
     expect(["a3", "a4"], ["e2", "e3"], ["c2"], ["a3-e2", "a3-e3", "a4-e3"])),
    (dict(ending_artifacts=Options.EndingNodes(filter_query="name = 'a4'")),
     expect()),
    (dict(ending_artifacts=Options.EndingNodes(filter_query="name = 'a4'",
                                               include_ending_nodes=True)),
     expect(["a4"], [], ["c2"])),
], ids=["artifact", "artifact-included", "execution", "execution-included",
        "start-is-ending", "start-is-ending-included"])
def test_ending_nodes_stop_the_traversal(store, chain, ending, expected):
    graph = store.get_lineage_subgraph(
        from_artifacts("name = 'a4'", max_num_hops=20, direction=UPSTREAM, **ending))
    assert shape(graph, chain) == expected


def test_full_graph_carries_nodes_types_and_links(store, chain):
    graph = store.get_lineage_subgraph(
        from_artifacts("name = 'a1'", max_num_hops=2, direction=DOWNSTREAM))

    assert sorted(a.id for a in graph.artifacts) == [chain["a1"], chain["a2"]]
    stored = {a.id: a for a in store.get_artifacts_by_id([chain["a1"], chain["a2"]])}
    for artifact in graph.artifacts:
        assert artifact == stored[artifact.id]
    assert list(graph.executions) == store.get_executions_by_id([chain["e1"]])
    assert list(graph.contexts) == store.get_contexts_by_id([chain["c1"]])
    assert [t.name for t in graph.artifact_types] == ["A"]
    assert [t.name for t in graph.execution_types] == ["E"]
    assert [t.name for t in graph.context_types] == ["C"]
    assert [(a.artifact_id, a.context_id) for a in graph.attributions] == [
        (chain["a1"], chain["c1"])]
    assert [(a.execution_id, a.context_id) for a in graph.associations] == [
        (chain["e1"], chain["c1"])]
    stored_events = {(e.artifact_id, e.execution_id): e
                     for e in store.get_events_by_execution_ids([chain["e1"]])}
    assert sorted(stored_events) == sorted((e.artifact_id, e.execution_id) for e in graph.events)
    for event in graph.events:
        assert event == stored_events[(event.artifact_id, event.execution_id)]
    assert len(graph.parent_contexts) == 0


@pytest.mark.parametrize("mask, present", [
    (["artifacts"], {"artifacts"}),
    (["executions"], {"executions"}),
    (["contexts"], {"contexts"}),
    (["events"], {"events"}),
    (["attributions", "associations"], {"attributions", "associations"}),
    (["artifact_types", "execution_types", "context_types"],
     {"artifact_types", "execution_types", "context_types"}),
    (["context_types"], {"context_types"}),
    (["executions", "execution_types", "events"], {"executions", "execution_types", "events"}),
    (["artifacts", "artifact_types", "contexts"], {"artifacts", "artifact_types", "contexts"}),
    ([], {"artifacts", "executions", "contexts", "events", "attributions", "associations",
          "artifact_types", "execution_types", "context_types"}),
])
def test_field_mask_picks_the_parts_returned(store, chain, mask, present):
    graph = store.get_lineage_subgraph(
        from_artifacts("name = 'a1'", max_num_hops=2, direction=DOWNSTREAM), mask)
    for field in ("artifacts", "executions", "contexts", "events", "attributions",
                  "associations", "artifact_types", "execution_types", "context_types"):
        assert (len(getattr(graph, field)) > 0) == (field in present), field


@pytest.mark.parametrize("options, error", [
    (Options(max_num_hops=2), errors.InvalidArgumentError),
    (from_artifacts("", max_num_hops=2), errors.InvalidArgumentError),
    (from_artifacts("name == 'a1'", max_num_hops=2), errors.InvalidArgumentError),
    (from_artifacts("uri = 1", max_num_hops=2), errors.InvalidArgumentError),
    (from_artifacts("name = 'a1'", max_num_hops=-1), errors.InvalidArgumentError),
    (from_artifacts("name = 'nothing'", max_num_hops=2), errors.NotFoundError),
    (from_executions("name = 'nothing'", max_num_hops=2), errors.NotFoundError),
], ids=["no-starting-nodes", "empty-filter", "syntax-error", "type-error", "negative-hops",
        "no-artifact-matches", "no-execution-matches"])
def test_bad_query_options(store, chain, options, error):
    before = snapshot(store)
    with pytest.raises(error):
        store.get_lineage_subgraph(options)
    assert snapshot(store) == before


def test_bad_ending_filter_is_invalid_argument(store, chain):
    with pytest.raises(errors.InvalidArgumentError):
        store.get_lineage_subgraph(from_artifacts(
            "name = 'a4'", max_num_hops=2,
            ending_artifacts=Options.EndingNodes(filter_query="name ==")))
