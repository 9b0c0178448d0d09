"""ls, show, trace, graph and stats against the demo's history, on every backend that runs here.

The demo records three days of ExampleGen -> StatisticsGen -> SchemaGen (day 1
only) -> Transform -> Trainer -> Evaluator -> Pusher into an empty store, so its
ids are fixed: the latest model is artifact 17, day 2's raw data artifact 8,
and the Schema (made once, read every day) artifact 3.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

import lineage
from lineage.proto import metadata_store_pb2 as pb

LATEST_MODEL, BAD_RAW, SCHEMA, LATEST_TRAINER = 17, 8, 3, 17


def test_demo_summary_names_the_fixed_ids(demo_store):
    _, summary = demo_store
    assert summary["models"] == {"1": 5, "2": 11, "3": LATEST_MODEL}
    assert summary["bad_raw_data"] == BAD_RAW
    assert (summary["artifacts"], summary["executions"], summary["contexts"]) == (19, 19, 4)


# -- ls -----------------------------------------------------------------------------
def test_ls_artifacts_json_lists_every_artifact_in_id_order(demo_store, run):
    url, _ = demo_store
    result = run("ls", "artifacts", "--db", url, "--json")
    assert result.code == 0, result.err
    listed = result.json()
    assert [a["id"] for a in listed["artifacts"]] == list(range(1, 20))
    assert listed["truncated"] is False
    model = next(a for a in listed["artifacts"] if a["id"] == LATEST_MODEL)
    assert (model["type"], model["uri"], model["state"]) == ("Model", "/models/day3", "LIVE")
    assert model["properties"] == {"day": 3}
    assert model["create_time_since_epoch"] > 0


def test_ls_table_shows_types_uris_and_states(demo_store, run):
    url, _ = demo_store
    result = run("ls", "artifacts", "--db", url)
    assert result.code == 0, result.err
    for text in ("/models/day3", "PushedModel", "LIVE", "artifacts (19)", "day=3"):
        assert text in result.out


def test_ls_type_filter_and_limit(demo_store, run):
    url, _ = demo_store
    models = run("ls", "artifacts", "--db", url, "--type", "Model", "--json").json()["artifacts"]
    assert [m["id"] for m in models] == [5, 11, LATEST_MODEL]
    day3 = run("ls", "artifacts", "--db", url, "--filter", 'uri LIKE "%day3%"', "--json").json()["artifacts"]
    assert sorted(a["uri"] for a in day3) == [
        "/data/raw/day3", "/data/stats/day3", "/data/transformed/day3", "/eval/day3", "/models/day3"]
    both = run("ls", "artifacts", "--db", url, "--type", "Model", "--filter",
               "properties.day.int_value >= 2", "--json").json()["artifacts"]
    assert [m["id"] for m in both] == [11, LATEST_MODEL]
    limited = run("ls", "executions", "--db", url, "--limit", "4", "--newest", "--json").json()
    assert [e["id"] for e in limited["executions"]] == [19, 18, 17, 16]
    assert limited["truncated"] is True
    table = run("ls", "executions", "--db", url, "--limit", "4")
    assert "more executions exist" in table.out


def test_ls_contexts_and_types(demo_store, run):
    url, _ = demo_store
    contexts = run("ls", "contexts", "--db", url, "--json").json()["contexts"]
    assert [c["name"] for c in contexts] == ["taxi", "taxi-day-1", "taxi-day-2", "taxi-day-3"]
    types = run("ls", "types", "--db", url, "--json").json()["types"]
    by_name = {t["name"]: t for t in types}
    assert by_name["Trainer"]["kind"] == "execution"
    assert by_name["Trainer"]["properties"] == {"learning_rate": "DOUBLE", "train_steps": "INT"}
    assert by_name["PipelineRun"]["kind"] == "context"
    assert not any(name.startswith("mlmd.") for name in by_name)
    table = run("ls", "types", "--db", url)
    assert "learning_rate:DOUBLE" in table.out


def test_ls_mistakes_exit_1_with_one_line(demo_store, run):
    url, _ = demo_store
    malformed = run("ls", "artifacts", "--db", url, "--filter", "uri LIKE")
    assert malformed.code == 1
    # One line for the error, then the query with a caret under where it went wrong.
    first, query, caret = malformed.err.rstrip("\n").split("\n")
    assert first.startswith("lineage: InvalidArgumentError") and "(line 1, column 9)" in first
    assert query == "  uri LIKE" and caret == " " * 10 + "^"
    unknown = run("ls", "artifacts", "--db", url, "--type", "NoSuchType")
    assert unknown.code == 1 and "NoSuchType" in unknown.err
    assert run("ls", "types", "--db", url, "--filter", "id = 1").code == 2
    assert run("ls", "artifacts", "--db", url, "--limit", "-1").code == 2


# -- show ---------------------------------------------------------------------------
def test_show_artifact_with_events_and_contexts(demo_store, run):
    url, _ = demo_store
    shown = run("show", "artifact", str(LATEST_MODEL), "--db", url, "--json").json()
    assert shown["artifact"]["uri"] == "/models/day3"
    kinds = sorted((e["type"], e["execution_type"]) for e in shown["events"])
    assert kinds == [("INPUT", "Evaluator"), ("INPUT", "Pusher"), ("OUTPUT", "Trainer")]
    output = next(e for e in shown["events"] if e["type"] == "OUTPUT")
    assert output["path"] == ["model", 0] and output["milliseconds_since_epoch"] > 0
    assert sorted(c["name"] for c in shown["contexts"]) == ["taxi", "taxi-day-3"]
    text = run("show", "artifact", str(LATEST_MODEL), "--db", url)
    assert text.code == 0
    for fragment in ("artifact 17", "/models/day3", "properties", "events (3)", "Trainer", "model/0", "taxi-day-3"):
        assert fragment in text.out


def test_show_execution_and_context(demo_store, run):
    url, _ = demo_store
    trainer = run("show", "execution", str(LATEST_TRAINER), "--db", url, "--json").json()
    assert trainer["execution"]["properties"] == {"learning_rate": 0.01, "train_steps": 3000}
    assert sorted((e["type"], e["artifact_type"]) for e in trainer["events"]) == [
        ("INPUT", "Examples"), ("INPUT", "Schema"), ("OUTPUT", "Model")]
    run_context = run("show", "context", "2", "--db", url, "--json").json()
    assert run_context["context"]["name"] == "taxi-day-1"
    assert [p["name"] for p in run_context["parents"]] == ["taxi"]
    assert len(run_context["executions"]) == 7
    pipeline = run("show", "context", "1", "--db", url)
    assert "children" in pipeline.out and "taxi-day-3" in pipeline.out


def test_show_a_node_in_no_context(store_url, run):
    store = lineage.connect(store_url)
    try:
        data = store.put_artifact_type(pb.ArtifactType(name="DataSet"))
        step = store.put_execution_type(pb.ExecutionType(name="Trainer"))
        [artifact] = store.put_artifacts([pb.Artifact(type_id=data, uri="path/to/data")])
        [execution] = store.put_executions([pb.Execution(type_id=step)])
        store.put_events([pb.Event(artifact_id=artifact, execution_id=execution, type=pb.Event.INPUT)])
    finally:
        store.close()
    for kind, node_id in (("artifact", artifact), ("execution", execution)):
        shown = run("show", kind, str(node_id), "--db", store_url, "--json")
        assert shown.code == 0, shown.err
        assert shown.json()["contexts"] == [] and len(shown.json()["events"]) == 1
        text = run("show", kind, str(node_id), "--db", store_url)
        assert text.code == 0, text.err
        assert "contexts: none" in text.out
    assert "E1" in run("show", "artifact", str(artifact), "--db", store_url).out


def test_show_unknown_id_exits_1(demo_store, run):
    url, _ = demo_store
    result = run("show", "artifact", "9999", "--db", url)
    assert result.code == 1
    assert result.err == "lineage: NotFoundError: no artifact with id 9999\n"
    assert run("show", "artifact", "nine", "--db", url).code == 2


# -- trace --------------------------------------------------------------------------
def _keys(tree) -> list[str]:
    return [item["key"] for item in tree]


def _children(tree, index: int = 0) -> list[dict]:
    return [item for item in tree if item["parent"] == index]


def test_trace_up_unfolds_the_dag_once(demo_store, run):
    url, _ = demo_store
    traced = run("trace", str(LATEST_MODEL), "--db", url, "--json").json()
    tree = traced["tree"]
    assert tree[0]["key"] == traced["root"] == "artifact:17" and tree[0]["parent"] is None
    assert [c["key"] for c in _children(tree)] == ["execution:17"]
    assert tree[1]["via"] == "model" and tree[1]["depth"] == 1
    keys = _keys(tree)
    # Every upstream node appears; the schema (read by Transform and by Trainer) is expanded once.
    assert set(keys) == {f"{k}:{i}" for k, i in (
        ("artifact", 17), ("execution", 17), ("artifact", 16), ("execution", 16), ("artifact", 14),
        ("execution", 14), ("artifact", 3), ("execution", 3), ("artifact", 2), ("execution", 2),
        ("artifact", 1), ("execution", 1))}
    assert keys.count("artifact:3") == 2
    assert traced["nodes"] == 12
    text = run("trace", str(LATEST_MODEL), "--db", url)
    assert text.code == 0
    assert "(shown above)" in text.out and "← model E17 Trainer COMPLETE" in text.out
    assert text.out.splitlines()[0] == "A17 Model /models/day3 LIVE"
    assert text.out.splitlines()[-1] == "12 nodes upstream"


def test_trace_down_depth_and_execution(demo_store, run):
    url, _ = demo_store
    down = run("trace", str(BAD_RAW), "--down", "--db", url, "--json").json()
    keys = _keys(down["tree"])
    assert "artifact:13" in keys  # day 2's pushed model
    one_hop = run("trace", str(LATEST_MODEL), "--depth", "1", "--db", url, "--json").json()
    assert _keys(one_hop["tree"]) == ["artifact:17", "execution:17"]
    from_execution = run("trace", str(LATEST_TRAINER), "--execution", "--db", url, "--json").json()
    assert from_execution["tree"][0]["key"] == "execution:17"
    assert sorted(c["key"] for c in _children(from_execution["tree"])) == ["artifact:16", "artifact:3"]
    assert run("trace", "9999", "--db", url).code == 1
    assert run("trace", "1", "--depth", "-2", "--db", url).code == 1


def _add_cycle(url: str) -> tuple[int, int]:
    """Writes a -> e1 -> b -> e2 -> a, as a faulty client could; returns (a, b)."""
    store = lineage.connect(url)
    try:
        at = store.put_artifact_type(pb.ArtifactType(name="Loop"))
        et = store.put_execution_type(pb.ExecutionType(name="Spin"))
        a, b = store.put_artifacts([pb.Artifact(type_id=at, uri="/loop/a"), pb.Artifact(type_id=at, uri="/loop/b")])
        e1, e2 = store.put_executions([pb.Execution(type_id=et), pb.Execution(type_id=et)])
        store.put_events([
            pb.Event(artifact_id=a, execution_id=e1, type=pb.Event.INPUT),
            pb.Event(artifact_id=b, execution_id=e1, type=pb.Event.OUTPUT),
            pb.Event(artifact_id=b, execution_id=e2, type=pb.Event.INPUT),
            pb.Event(artifact_id=a, execution_id=e2, type=pb.Event.OUTPUT),
        ])
        return a, b
    finally:
        store.close()


def test_trace_marks_a_cycle_instead_of_looping(store_url, run):
    a, b = _add_cycle(store_url)
    traced = run("trace", str(a), "--db", store_url, "--json").json()
    tree = traced["tree"]
    # a <- e2 <- b <- e1 <- a: the last one closes the cycle.
    assert [item["parent"] for item in tree] == [None, 0, 1, 2, 3]
    leaf = tree[-1]
    assert leaf["key"] == f"artifact:{a}" and leaf["cycle"] is True and leaf["depth"] == 4
    text = run("trace", str(a), "--db", store_url)
    assert "cycle" in text.out


# -- graph --------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["dot", "mermaid", "json", "svg"])
def test_graph_formats_to_stdout(demo_store, run, fmt):
    url, _ = demo_store
    result = run("graph", str(LATEST_MODEL), "--db", url, "--format", fmt)
    assert result.code == 0, result.err
    if fmt == "dot":
        assert result.out.startswith("digraph provenance {")
        assert '"artifact:17" [shape=ellipse' in result.out
        assert result.out.count("->") == 12
    elif fmt == "mermaid":
        assert result.out.startswith("flowchart LR")
        assert result.out.count("-->") == 12
    elif fmt == "json":
        data = json.loads(result.out)
        assert len(data["nodes"]) == 12 and len(data["edges"]) == 12
    else:
        svg = ET.fromstring(result.out)
        ns = {"s": "http://www.w3.org/2000/svg"}
        nodes = svg.findall(".//s:g[@data-key]", ns)
        assert len(nodes) == 12
        assert {n.get("data-type") for n in nodes} >= {"Model", "Trainer", "Schema", "RawData"}
        assert len(svg.findall(".//s:g[@data-source]", ns)) == 12


def test_graph_writes_a_file_with_the_format_from_its_suffix(demo_store, run, tmp_path):
    url, _ = demo_store
    target = tmp_path / "down.html"
    result = run("graph", str(BAD_RAW), "--down", "--db", url, "-o", str(target), "--json")
    assert result.code == 0, result.err
    summary = result.json()
    assert summary["format"] == "html" and summary["file"] == str(target)
    page = target.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "Downstream of artifact 8" in page
    assert summary["artifacts"] + summary["executions"] == page.count('class="node ')
    dot = run("graph", str(LATEST_MODEL), "--db", url, "-o", str(tmp_path / "p.gv"))
    assert dot.code == 0 and (tmp_path / "p.gv").read_text().startswith("digraph")
    assert "wrote 6 artifacts, 6 executions" in dot.err


def test_graph_json_means_json(demo_store, run, tmp_path):
    url, _ = demo_store
    as_json = run("graph", str(LATEST_MODEL), "--db", url, "--json")
    assert as_json.code == 0, as_json.err
    assert len(json.loads(as_json.out)["nodes"]) == 12
    assert run("graph", str(LATEST_MODEL), "--db", url, "--json", "--format", "svg").code == 2
    piped = run("graph", str(LATEST_MODEL), "--db", url)
    assert piped.code == 0 and piped.out.startswith("<!DOCTYPE html>")


def test_graph_of_a_context(demo_store, run):
    url, _ = demo_store
    result = run("graph", "--context", "2", "--db", url, "--format", "json")
    data = json.loads(result.out)
    executions = [n for n in data["nodes"] if n["kind"] == "execution"]
    assert len(executions) == 7  # day 1 has the only SchemaGen
    assert run("graph", "--db", url).code == 2
    assert run("graph", "1", "--context", "2", "--db", url).code == 2
    assert run("graph", "--context", "99", "--db", url).code == 1


# -- stats --------------------------------------------------------------------------
def test_stats_counts_and_deepest_chain(demo_store, run):
    url, _ = demo_store
    stats = run("stats", "--db", url, "--json").json()
    assert stats["artifacts"]["total"] == 19 and stats["executions"]["total"] == 19
    assert stats["artifacts"]["by_type"]["RawData"] == 3
    assert stats["artifacts"]["by_type"]["Schema"] == 1
    assert stats["executions"]["by_type"]["SchemaGen"] == 1
    assert stats["contexts"]["by_type"] == {"Pipeline": 1, "PipelineRun": 3}
    assert stats["events"] == 47
    chain = stats["deepest_chain"]
    # ExampleGen -> RawData -> StatisticsGen -> Statistics -> SchemaGen -> Schema -> Transform
    # -> Examples -> Trainer -> Model -> Evaluator -> ModelEvaluation -> Pusher -> PushedModel
    assert chain["events"] == 13 and len(chain["path"]) == 14
    assert chain["path"][0].startswith("execution:") and chain["path"][-1].startswith("artifact:")
    assert chain["nodes_in_cycles"] == 0
    text = run("stats", "--db", url)
    assert "deepest provenance chain" in text.out and "13 events" in text.out


def test_stats_survives_cycles(store_url, run):
    _add_cycle(store_url)
    stats = run("stats", "--db", store_url, "--json").json()
    assert stats["deepest_chain"]["nodes_in_cycles"] == 4
    assert stats["deepest_chain"]["events"] == 0  # the whole store is one cycle, condensed
    assert "event cycles" in run("stats", "--db", store_url).out


def test_stats_of_an_empty_store(store_url, run):
    stats = run("stats", "--db", store_url, "--json").json()
    assert stats["artifacts"]["total"] == 0 and stats["events"] == 0
    assert stats["deepest_chain"]["events"] == 0


def test_trace_of_a_10000_step_chain_answers_whole(run, shared_memory):
    """A 10,000-step chain (20,001 nodes): --json lists every node with its parent, the text folds."""
    from .test_terminal import write_chain

    url = "memory://deep-chain"
    store = lineage.connect(url)
    write_chain(store, 10_000)
    traced = run("trace", "10001", "--db", url, "--json")
    assert traced.code == 0, traced.err
    answer = traced.json()
    assert (answer["nodes"], answer["events"], answer["root"]) == (20_001, 20_000, "artifact:10001")
    tree = answer["tree"]
    expected = ["artifact:10001"] + [k for i in range(10_000, 0, -1) for k in (f"execution:{i}", f"artifact:{i}")]
    assert _keys(tree) == expected
    assert [item["parent"] for item in tree] == [None, *range(20_000)]
    assert [item["depth"] for item in tree] == list(range(20_001))
    assert tree[-1]["uri"] == "/chain/step/1" and tree[-1]["via"] == "input"
    text = run("trace", "10001", "--db", url)
    assert text.code == 0, text.err
    assert text.out.splitlines() == [
        "A10001 Data /chain/step/10001 LIVE",
        "← output E10000 Step COMPLETE",
        "┆ 19997 more in a straight line (A10000 … A2): --expand shows them",
        "← output E1 Step COMPLETE",
        "← input A1 Data /chain/step/1 LIVE",
        "20001 nodes upstream: 4 shown, 19997 folded (the ┆ lines say how to see them)",
    ]
    expanded = run("trace", "1", "--down", "--expand", "--db", url)
    lines = expanded.out.splitlines()
    assert len(lines) == 20_002 and lines[-1] == "20001 nodes downstream"
    assert lines[-2] == "→ output A10001 Data /chain/step/10001 LIVE"


def test_trace_says_when_a_repeat_was_folded_above(run, shared_memory):
    from .test_terminal import write_chain

    url = "memory://fold-and-repeat"
    store = lineage.connect(url)
    write_chain(store, 12)  # A1 -> E1 -> A2 -> ... -> E12 -> A13
    # A second writer of A6 (written by E5 too), reading A1: A6 is reached twice going down.
    [other] = store.put_executions([pb.Execution(type_id=store.get_execution_type("Step").id)])
    store.put_events([pb.Event(artifact_id=1, execution_id=other, type=pb.Event.INPUT),
                      pb.Event(artifact_id=6, execution_id=other, type=pb.Event.OUTPUT)])
    lines = run("trace", "1", "--down", "--db", url).out.splitlines()
    assert lines == [
        "A1 Data /chain/step/1 LIVE",
        "├─ → input E1 Step COMPLETE",
        "│  → output A2 Data /chain/step/2 LIVE",
        "│  ┆ 20 more in a straight line (E2 … A12): --expand shows them",
        "│  → input E12 Step COMPLETE",
        "│  → output A13 Data /chain/step/13 LIVE",
        "└─ → input E13 Step UNKNOWN",
        "   → output A6 Data /chain/step/6 LIVE (folded above)",
        "26 nodes downstream: 6 shown, 20 folded (the ┆ lines say how to see them)",
    ]
    expanded = run("trace", "1", "--down", "--expand", "--db", url).out.splitlines()
    assert "   → output A6 Data /chain/step/6 LIVE (shown above)" in expanded
