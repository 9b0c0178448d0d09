"""lineage.render: the layout never overlaps boxes, routes every edge, and the pages are well formed."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET

import pytest

from lineage.lineage import ProvenanceGraph
from lineage.proto import metadata_store_pb2 as pb
from lineage.render import NODE_HEIGHT, NODE_WIDTH, fold_linear_runs, layout, to_html, to_svg

SVG = "{http://www.w3.org/2000/svg}"


def random_provenance(seed: int, executions: int, cycles: int = 0) -> ProvenanceGraph:
    """Executions that read earlier artifacts and write new ones; ``cycles`` back edges added."""
    rng = random.Random(seed)
    artifacts, runs, events = [], [], []
    for e in range(1, executions + 1):
        runs.append(pb.Execution(id=e, type=f"Step{e % 4}", last_known_state=pb.Execution.COMPLETE))
        for a in rng.sample(range(1, len(artifacts) + 1), k=min(len(artifacts), rng.randint(0, 3))):
            events.append(pb.Event(artifact_id=a, execution_id=e, type=pb.Event.INPUT))
        for _ in range(rng.randint(1, 2)):
            artifacts.append(pb.Artifact(id=len(artifacts) + 1, type="Data", uri=f"/d/{len(artifacts) + 1}",
                                         state=pb.Artifact.LIVE))
            events.append(pb.Event(artifact_id=len(artifacts), execution_id=e, type=pb.Event.OUTPUT))
    for _ in range(cycles):
        # An execution reads an artifact made downstream of it: a cycle, as a faulty client writes.
        e = rng.randint(1, executions // 2)
        a = rng.randint(len(artifacts) // 2, len(artifacts))
        if not any(ev.artifact_id == a and ev.execution_id == e for ev in events):
            events.append(pb.Event(artifact_id=a, execution_id=e, type=pb.Event.INPUT))
    return ProvenanceGraph(artifacts, runs, events)


def _overlapping(boxes: dict) -> list:
    items = sorted(boxes.items())
    found = []
    for i, (a, (ax, ay)) in enumerate(items):
        for b, (bx, by) in items[i + 1:]:
            if ax < bx + NODE_WIDTH and bx < ax + NODE_WIDTH and ay < by + NODE_HEIGHT and by < ay + NODE_HEIGHT:
                found.append((a, b))
    return found


@pytest.mark.parametrize("seed,executions,cycles", [(1, 5, 0), (2, 40, 0), (3, 120, 0), (4, 60, 6), (5, 1, 0)])
def test_layout_has_no_overlaps_and_routes_every_edge(seed, executions, cycles):
    graph = random_provenance(seed, executions, cycles).to_networkx()
    placed = layout(graph)
    assert set(placed.boxes) == set(graph)
    assert _overlapping(placed.boxes) == []
    assert set(placed.routes) == set(graph.edges())
    for (source, target), points in placed.routes.items():
        (sx, sy), (tx, ty) = placed.boxes[source], placed.boxes[target]
        backwards = (source, target) in placed.back_edges
        # Each route leaves its source's side and ends on its target's side, at mid-height.
        assert points[0] == ((sx if backwards else sx + NODE_WIDTH), sy + NODE_HEIGHT / 2)
        assert points[-1] == ((tx + NODE_WIDTH if backwards else tx), ty + NODE_HEIGHT / 2)
    for x, y in placed.boxes.values():
        assert 0 <= x and x + NODE_WIDTH <= placed.width and 0 <= y and y + NODE_HEIGHT <= placed.height
    if cycles:
        assert placed.back_edges and placed.back_edges <= set(graph.edges())
    else:
        assert placed.back_edges == set()
        # Without cycles every edge runs left to right, or down into a later band.
        assert all(placed.boxes[s][0] < placed.boxes[t][0] or placed.boxes[s][1] + NODE_HEIGHT < placed.boxes[t][1]
                   for s, t in graph.edges())


def test_layout_is_deterministic():
    graph = random_provenance(9, 50, 3).to_networkx()
    first, second = layout(graph), layout(graph)
    assert first.boxes == second.boxes and first.routes == second.routes


def test_svg_marks_kinds_states_cycles_and_start_nodes():
    provenance = random_provenance(4, 30, 4)
    provenance.artifacts[2].state = pb.Artifact.DELETED
    provenance.artifacts[3].properties["day"].int_value = 7
    svg = ET.fromstring(to_svg(provenance, "t", highlight=[("artifact", 1)]))
    nodes = {g.get("data-key"): g for g in svg.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}
    assert len(nodes) == len(provenance)
    assert "start" in nodes["artifact:1"].get("class")
    assert "faded" in nodes["artifact:3"].get("class")
    assert nodes["artifact:3"].get("data-state") == "DELETED"
    assert "day: 7" in nodes["artifact:4"].find(f"{SVG}title").text
    radius = {key.split(":")[0]: g.find(f"{SVG}rect").get("rx") for key, g in nodes.items()}
    assert radius["artifact"] != radius["execution"]
    edges = [g for g in svg.iter(f"{SVG}g") if "edge" in (g.get("class") or "").split()]
    assert len(edges) == len(provenance.to_networkx().edges())
    assert any("back" in g.get("class") for g in edges)


def test_html_keeps_hostile_text_inert():
    hostile = '</script><script>alert("x")</script> & <b>'
    provenance = ProvenanceGraph(
        [pb.Artifact(id=1, type="Data", uri=hostile, state=pb.Artifact.LIVE)],
        [pb.Execution(id=1, type="Step", name=hostile, last_known_state=pb.Execution.COMPLETE)],
        [pb.Event(artifact_id=1, execution_id=1, type=pb.Event.OUTPUT)],
    )
    page = to_html(provenance, title=hostile)
    assert page.count("<script") == 2  # the page's own two
    details = re.search(r'<script type="application/json" id="node-details">(.*?)</script>', page, re.S).group(1)
    assert json.loads(details)["artifact:1"]["uri"] == hostile
    ET.fromstring(to_svg(provenance, hostile))  # still well-formed XML


def test_edge_labels_start_hidden_only_on_large_graphs():
    small = to_svg(random_provenance(2, 6))
    large = to_svg(random_provenance(3, 120))
    assert "hide-labels" not in small.split(">", 1)[0]
    assert "hide-labels" in large.split(">", 1)[0]


def test_a_long_row_wraps_into_bands_that_fit_a_window():
    """A 30-step chain is one row 8,000 px wide; wrapped into bands it fits a window's aspect."""
    artifacts = [pb.Artifact(id=i, type="Data", state=pb.Artifact.LIVE) for i in range(1, 17)]
    runs = [pb.Execution(id=i, type="Step", last_known_state=pb.Execution.COMPLETE) for i in range(1, 16)]
    events = []
    for i in range(1, 16):
        events.append(pb.Event(artifact_id=i, execution_id=i, type=pb.Event.INPUT))
        events.append(pb.Event(artifact_id=i + 1, execution_id=i, type=pb.Event.OUTPUT))
    graph = ProvenanceGraph(artifacts, runs, events).to_networkx()
    placed = layout(graph)
    assert _overlapping(placed.boxes) == []
    rows = sorted({y for _, y in placed.boxes.values()})
    assert len(rows) > 1
    assert 1 < placed.width / placed.height < 3
    # Every edge still starts on its source's right side and ends on its target's left side.
    for (source, target), points in placed.routes.items():
        assert points[0] == (placed.boxes[source][0] + NODE_WIDTH, placed.boxes[source][1] + NODE_HEIGHT / 2)
        assert points[-1] == (placed.boxes[target][0], placed.boxes[target][1] + NODE_HEIGHT / 2)
        assert all(0 <= x <= placed.width and 0 <= y <= placed.height for x, y in points)


def test_edges_wrapping_out_of_one_band_run_apart():
    """Two parallel chains wrap together; their runs along the gap must not lie on one line."""
    artifacts = [pb.Artifact(id=i, type="Data", state=pb.Artifact.LIVE) for i in range(1, 33)]
    runs = [pb.Execution(id=i, type="Step", last_known_state=pb.Execution.COMPLETE) for i in range(1, 31)]
    events = []
    for chain, offset in enumerate((0, 16)):
        for i in range(1, 16):
            execution = i + 15 * chain
            events.append(pb.Event(artifact_id=offset + i, execution_id=execution, type=pb.Event.INPUT))
            events.append(pb.Event(artifact_id=offset + i + 1, execution_id=execution, type=pb.Event.OUTPUT))
    placed = layout(ProvenanceGraph(artifacts, runs, events).to_networkx())
    assert len({y for _, y in placed.boxes.values()}) > 2, "the chains should wrap into bands"
    # The horizontal stretch of a wrapped edge runs right to left at one height.
    runs_along_gaps = [(a[1], min(a[0], b[0]), max(a[0], b[0]))
                       for points in placed.routes.values() for a, b in zip(points, points[1:])
                       if a[1] == b[1] and b[0] < a[0]]
    assert len(runs_along_gaps) >= 2
    for i, (y, left, right) in enumerate(runs_along_gaps):
        for other_y, other_left, other_right in runs_along_gaps[i + 1:]:
            if left < other_right and other_left < right:
                assert abs(y - other_y) >= 4, "two wrapped edges drawn on top of each other"


def _chain(length: int) -> ProvenanceGraph:
    """A1 -> E1 -> A2 -> ... -> A<length + 1>, plus E<length + 1> reading A1 and A3 (a join)."""
    artifacts = [pb.Artifact(id=i, type="Data", state=pb.Artifact.LIVE) for i in range(1, length + 2)]
    runs = [pb.Execution(id=i, type="Step", last_known_state=pb.Execution.COMPLETE) for i in range(1, length + 2)]
    events = []
    for i in range(1, length + 1):
        events.append(pb.Event(artifact_id=i, execution_id=i, type=pb.Event.INPUT))
        events.append(pb.Event(artifact_id=i + 1, execution_id=i, type=pb.Event.OUTPUT))
    events += [pb.Event(artifact_id=a, execution_id=length + 1, type=pb.Event.INPUT) for a in (1, 3)]
    return ProvenanceGraph(artifacts, runs, events)


def test_straight_runs_fold_into_one_node_and_keep_every_node_accounted_for():
    graph = _chain(20).to_networkx()
    folded, runs = fold_linear_runs(graph)
    # A1 and A3 have two readers, so the run is E3 .. E20 (A4 .. A20 between): 35 nodes.
    assert runs == [[("execution", 3)] + [n for i in range(4, 21) for n in (("artifact", i), ("execution", i))]]
    assert set(folded) == (set(graph) - set(runs[0])) | {("fold", 0)}
    assert list(folded.predecessors(("fold", 0))) == [("artifact", 3)]
    assert list(folded.successors(("fold", 0))) == [("artifact", 21)]
    # A kept node (the queried one) is never folded: the run breaks around it.
    _, split = fold_linear_runs(graph, keep=[("artifact", 12)])
    assert all(("artifact", 12) not in run for run in split) and len(split) == 2
    # Short runs stay as they are, and plain SVG never folds.
    assert fold_linear_runs(_chain(4).to_networkx())[1] == []
    assert 'class="fold"' not in to_svg(_chain(20)) and 'class="fold"' in to_svg(_chain(20), fold=True)


def test_html_holds_a_folded_view_and_every_node():
    page = to_html(_chain(20), highlight=[("artifact", 1)])
    svgs = re.findall(r'<svg [^>]*data-view="(\w+)"', page)
    assert svgs == ["folded", "all"]
    assert 'id="unfold"' in page and "straight run, folded" in page
    small = to_html(_chain(4))
    assert re.findall(r'<svg [^>]*data-view="(\w+)"', small) == ["all"] and 'id="unfold"' not in small
