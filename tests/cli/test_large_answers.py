"""An enormous answer, downstream of a dataset every run read, against a real SQLite store.

25,000 runs each read one shared dataset and write one model: the dataset's
downstream holds 50,001 nodes. The API refuses an answer past ``max_nodes``
with its size; the command tells the size and refuses to draw past
``--max-nodes`` (defaults in ``cli.DEFAULT_MAX_NODES``) unless asked.
"""

from __future__ import annotations

import pytest

import lineage
from lineage import cli, errors
from lineage.proto import metadata_store_pb2 as pb

RUNS = 25_000
NODES = 2 * RUNS + 1
BATCH = 5_000

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> tuple[str, int]:
    """(URL of a SQLite store holding the history, the shared dataset's id)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('large') / 'large.sqlite'}"
    with lineage.connect(url) as store:
        data_type = store.put_artifact_type(pb.ArtifactType(name="RawData"))
        model_type = store.put_artifact_type(pb.ArtifactType(name="Model"))
        trainer = store.put_execution_type(pb.ExecutionType(name="Trainer"))
        [data] = store.put_artifacts([pb.Artifact(type_id=data_type, uri="/raw/shared")])
        for start in range(0, RUNS, BATCH):
            executions = store.put_executions([pb.Execution(type_id=trainer) for _ in range(BATCH)])
            models = store.put_artifacts(
                [pb.Artifact(type_id=model_type, uri=f"/model/{start + i}") for i in range(BATCH)])
            events = []
            for execution, model in zip(executions, models):
                events.append(pb.Event(artifact_id=data, execution_id=execution, type=pb.Event.INPUT))
                events.append(pb.Event(artifact_id=model, execution_id=execution, type=pb.Event.OUTPUT))
            store.put_events(events)
    return url, data


_SIZE = f"{NODES} nodes ({RUNS + 1} artifacts, {RUNS} executions)"


def test_the_api_refuses_past_max_nodes_and_answers_whole_without(big_store):
    url, data = big_store
    with lineage.connect(url) as store:
        with pytest.raises(errors.ResourceExhaustedError, match=rf"holds {NODES} nodes .* max_nodes 1000"):
            store.lineage.downstream([data], max_nodes=1000)
        with pytest.raises(errors.ResourceExhaustedError, match="max_nodes 10"):
            store.lineage.impacted(data, "Model", max_nodes=10)
        graph = store.lineage.downstream([data], max_nodes=NODES)
        assert len(graph.artifacts) + len(graph.executions) == NODES and len(graph.events) == 2 * RUNS
        assert len(store.lineage.impacted(data, "Model")) == RUNS


def test_graph_and_trace_refuse_past_the_default_and_say_how_big(big_store, run, tmp_path):
    url, data = big_store
    picture = tmp_path / "down.html"
    for argv in (["graph", str(data), "--down", "-o", str(picture)], ["trace", str(data), "--down"]):
        result = run(*argv, "--db", url)
        assert result.code == cli.EXIT_UNAVAILABLE, result.err
        assert _SIZE in result.err and f"more than --max-nodes {cli.DEFAULT_MAX_NODES[argv[0]]}" in result.err
        assert "nothing was" in result.err and result.out == ""
    assert not picture.exists()
    # The walk upstream of one model is small and is drawn as before.
    assert run("trace", "2", "--db", url).code == 0


def test_graph_draws_the_whole_answer_when_asked_and_says_its_size_first(big_store, run, tmp_path):
    url, data = big_store
    dot = tmp_path / "down.dot"
    result = run("graph", str(data), "--down", "--max-nodes", "0", "-o", str(dot), "--db", url)
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert lines[0] == f"drawing {RUNS + 1} artifacts, {RUNS} executions and {2 * RUNS} events as dot"
    assert lines[-1].startswith(f"wrote {RUNS + 1} artifacts, {RUNS} executions")
    assert dot.read_text().count("->") == 2 * RUNS


def test_impacted_counts_and_lists_up_to_the_bound(big_store, run):
    url, data = big_store
    refused = run("impacted", str(data), "--type", "Model", "--db", url)
    assert refused.code == cli.EXIT_UNAVAILABLE and _SIZE in refused.err
    listed = run("impacted", str(data), "--type", "Model", "--max-nodes", str(NODES), "--json", "--db", url)
    assert listed.code == 0, listed.err
    answer = listed.json()
    assert answer["count"] == RUNS == len(answer["artifacts"])
    assert {a["type"] for a in answer["artifacts"]} == {"Model"}
    assert run("impacted", str(data), "--max-nodes", "-1", "--db", url).code == cli.EXIT_USER_ERROR
