"""ProvenanceGraph exports: networkx, LineageGraph, JSON, DOT, Mermaid, topological order."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from google.protobuf import json_format

from engine_helpers import READS, Builder, Event, chain, event, random_history
from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

#: Names and keys a careless client might write; every export must survive them.
AWKWARD = ['quote " inside', "trailing backslash \\", 'both \\" mixed', "two\nlines", "<b>html</b> & #35;",
           "pipe | [square] (round) {curly} ;semi", "`tick`", "unicode \u00e9\u4e2d\U0001f600", ""]


@pytest.fixture
def awkward(store):
    """A small graph whose names, type names and event keys hold every awkward string."""
    build = Builder(store)
    raw = build.artifact('Raw "data"', AWKWARD[0], uri="/raw",
                         properties={"rows": 7, "ratio": 0.5, "ok": True, "tag": "x"},
                         custom={"meta": {"a": [1, "b"], "c": None}})
    step = build.execution("Step\\ <1>", AWKWARD[1], properties={"n": 3}, custom={"who": AWKWARD[3]})
    outputs = [build.artifact("Out", name, uri=f"/out/{i}", state=pb.Artifact.PENDING)
               for i, name in enumerate(AWKWARD[2:])]
    build.link(event(raw, step, Event.INPUT, AWKWARD[4], 0),
               *(event(a, step, Event.OUTPUT, AWKWARD[i % len(AWKWARD)]) for i, a in enumerate(outputs)))
    return store.lineage.downstream([raw])


def expected_nodes(graph) -> dict:
    """Node key -> the attributes to_networkx must carry, from the protos."""
    nodes = {}
    for kind, members in (("artifact", graph.artifacts), ("execution", graph.executions)):
        for node in members:
            properties = {}
            for source in (node.custom_properties, node.properties):
                for name, value in source.items():
                    which = value.WhichOneof("value")
                    if which == "struct_value":
                        properties[name] = json_format.MessageToDict(value.struct_value)
                    else:
                        properties[name] = getattr(value, which)
            attrs = {
                "kind": kind, "id": node.id, "type": node.type, "name": node.name,
                "state": (pb.Artifact.State.Name(node.state) if kind == "artifact"
                          else pb.Execution.State.Name(node.last_known_state)),
                "properties": properties,
            }
            if kind == "artifact":
                attrs["uri"] = node.uri
            nodes[(kind, node.id)] = attrs
    return nodes


def expected_edges(graph) -> dict:
    """(source, target) -> (event type name, input key) along the flow of data."""
    edges = {}
    for ev in graph.events:
        artifact, execution = ("artifact", ev.artifact_id), ("execution", ev.execution_id)
        key = next((step.key for step in ev.path.steps if step.HasField("key")), "")
        pair = (artifact, execution) if ev.type in READS else (execution, artifact)
        edges[pair] = (Event.Type.Name(ev.type), key)
    return edges


def label_lines(attrs: dict) -> list[str]:
    """What a node's drawn label says, line by line."""
    title = attrs["name"] or f"{attrs['kind']} {attrs['id']}"
    lines = [f"{attrs['type']} #{attrs['id']}", *title.split("\n"), attrs["state"]]
    return lines


def edge_label(event_type: str, key: str) -> str:
    return key or event_type.lower()


# ------------------------------------------------------------------- networkx
def test_to_networkx_nodes_attributes_and_edges(awkward):
    graph = awkward.to_networkx()
    nodes = expected_nodes(awkward)
    assert dict(graph.nodes(data=True)) == nodes
    edges = expected_edges(awkward)
    assert {(u, v): (d["event_type"], d["key"]) for u, v, d in graph.edges(data=True)} == edges
    assert graph.is_directed()


@pytest.mark.parametrize("seed", range(3))
def test_to_networkx_of_random_histories(store, seed):
    history = random_history(store, seed, cyclic=seed == 2)
    provenance = store.lineage.upstream([history.artifacts[-1]], history.executions[-3:])
    graph = provenance.to_networkx()
    assert dict(graph.nodes(data=True)) == expected_nodes(provenance)
    assert {(u, v): (d["event_type"], d["key"]) for u, v, d in graph.edges(data=True)} == expected_edges(provenance)


def test_to_lineage_graph_carries_nodes_events_and_types(store):
    history = random_history(store, 4)
    provenance = store.lineage.downstream(history.artifacts[:2])
    graph = provenance.to_lineage_graph()
    assert isinstance(graph, pb.LineageGraph)
    assert list(graph.artifacts) == list(provenance.artifacts)
    assert list(graph.executions) == list(provenance.executions)
    assert list(graph.events) == list(provenance.events)
    assert sorted(t.name for t in graph.artifact_types) == sorted({a.type for a in graph.artifacts})
    assert sorted(t.name for t in graph.execution_types) == sorted({e.type for e in graph.executions})
    stored_types = {t.id: t for t in store.get_artifact_types()}
    for artifact_type in graph.artifact_types:
        assert artifact_type == stored_types[artifact_type.id]
    assert pb.LineageGraph.FromString(graph.SerializeToString()) == graph
    assert len(graph.contexts) == 0


# ----------------------------------------------------------------------- JSON
def test_to_json_parses_and_round_trips(awkward):
    text = awkward.to_json()
    data = json.loads(text)
    graph = awkward.to_networkx()
    assert len(data["nodes"]) == graph.number_of_nodes() == len(awkward)
    assert len(data["edges"]) == graph.number_of_edges()
    by_key = {node.pop("key"): node for node in data["nodes"]}
    assert by_key == {f"{kind}:{node_id}": attrs for (kind, node_id), attrs in graph.nodes(data=True)}
    assert {(e["source"], e["target"]): (e["event_type"], e["key"]) for e in data["edges"]} == {
        (f"{u[0]}:{u[1]}", f"{v[0]}:{v[1]}"): (d["event_type"], d["key"]) for u, v, d in graph.edges(data=True)}
    assert json.loads(awkward.to_json(indent=None)) == json.loads(text)
    assert "\n" not in awkward.to_json(indent=None)


# ------------------------------------------------------------------------ DOT
_DOT_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:\\.|[^"\\])*")|(?P<arrow>->)|(?P<punct>[{}\[\];,=])|(?P<id>[A-Za-z_][A-Za-z_0-9]*))', re.S)


def _dot_tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _DOT_TOKEN.match(text, position)
        assert match, f"DOT lexing stops at {text[position:position + 40]!r}"
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _dot_unquote(token: str) -> str:
    """A quoted DOT string as Graphviz shows it: \\" is a quote, \\\\ a backslash, \\n a line break."""
    body = token[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", '"': '"', "\\": "\\"}.get(m.group(1), "\\" + m.group(1)), body)


def parse_dot(text: str) -> tuple[dict, dict]:
    """Parses the DOT subset a ProvenanceGraph writes: returns (node -> attrs, (tail, head) -> attrs)."""
    tokens = _dot_tokens(text)
    assert tokens[:3] == [("id", "digraph"), ("id", "provenance"), ("punct", "{")] and tokens[-1] == ("punct", "}")
    nodes, edges, i = {}, {}, 3

    def attributes(i):
        attrs = {}
        assert tokens[i] == ("punct", "[")
        i += 1
        while tokens[i] != ("punct", "]"):
            name, eq, value = tokens[i], tokens[i + 1], tokens[i + 2]
            assert name[0] == "id" and eq == ("punct", "=") and value[0] in ("id", "string"), tokens[i:i + 3]
            attrs[name[1]] = _dot_unquote(value[1]) if value[0] == "string" else value[1]
            i += 3
            if tokens[i] == ("punct", ","):
                i += 1
        return attrs, i + 1

    while i < len(tokens) - 1:
        first = tokens[i]
        if first[0] == "id" and tokens[i + 1] == ("punct", "="):
            i += 3
        elif first == ("id", "node"):
            _, i = attributes(i + 1)
        elif tokens[i + 1] == ("arrow", "->"):
            head = tokens[i + 2]
            assert first[0] == head[0] == "string"
            attrs, i = attributes(i + 3)
            edges[(_dot_unquote(first[1]), _dot_unquote(head[1]))] = attrs
        else:
            assert first[0] == "string", first
            nodes[_dot_unquote(first[1])], i = attributes(i + 1)
        assert tokens[i] == ("punct", ";"), tokens[i]
        i += 1
    return nodes, edges


def _check_dot(graph_nodes: dict, graph_edges: dict, nodes: dict, edges: dict) -> None:
    assert set(nodes) == {f"{kind}:{node_id}" for kind, node_id in graph_nodes}
    for (kind, node_id), attrs in graph_nodes.items():
        drawn = nodes[f"{kind}:{node_id}"]
        assert drawn["label"].split("\n") == label_lines(attrs)
        assert drawn["shape"] == ("ellipse" if kind == "artifact" else "box")
    assert {(f"{u[0]}:{u[1]}", f"{v[0]}:{v[1]}"): edge_label(*value) for (u, v), value in graph_edges.items()} == {
        pair: attrs["label"] for pair, attrs in edges.items()}


def test_to_dot_is_well_formed(awkward):
    text = awkward.to_dot()
    nodes, edges = parse_dot(text)
    _check_dot(expected_nodes(awkward), expected_edges(awkward), nodes, edges)


def test_graphviz_reads_the_dot(awkward, tmp_path):
    assert shutil.which("dot"), "Graphviz's dot is missing: scripts/test installs Debian's graphviz"
    path = tmp_path / "provenance.dot"
    path.write_text(awkward.to_dot(), encoding="utf-8")
    done = subprocess.run(["dot", "-Tjson0", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "Error" not in done.stderr, done.stderr
    drawn = json.loads(done.stdout)
    # dot reports labels as written; undo the escapes the way Graphviz draws them.
    nodes = {o["name"]: {"label": _dot_unquote('"' + o["label"] + '"'), "shape": o["shape"]}
             for o in drawn["objects"]}
    names = [o["name"] for o in drawn["objects"]]
    edges = {(names[e["tail"]], names[e["head"]]): {"label": _dot_unquote('"' + e["label"] + '"')}
             for e in drawn.get("edges", [])}
    _check_dot(expected_nodes(awkward), expected_edges(awkward), nodes, edges)


# -------------------------------------------------------------------- Mermaid
_ENTITY = re.compile(r"#(\d+|[a-z]+);")
_NAMED = {"quot": '"', "amp": "&", "lt": "<", "gt": ">"}


def _mermaid_unescape(label: str) -> str:
    text = label.replace("<br/>", "\n")
    return _ENTITY.sub(lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else _NAMED[m.group(1)], text)


def parse_mermaid(text: str) -> tuple[dict, dict]:
    """Checks every line of the flowchart; returns (node id -> (shape, label), (tail, head) -> label)."""
    lines = text.split("\n")
    assert lines[0] == "flowchart LR" and lines[-1] == ""
    nodes, edges = {}, {}
    for line in lines[1:-1]:
        if match := re.fullmatch(r'  (a\d+)\(\["([^"\n`]*)"\]\)', line):
            nodes[match[1]] = ("stadium", match[2])
        elif match := re.fullmatch(r'  (e\d+)\["([^"\n`]*)"\]', line):
            nodes[match[1]] = ("box", match[2])
        elif match := re.fullmatch(r'  ([ae]\d+) -->\|"([^"\n`]*)"\| ([ae]\d+)', line):
            edges[(match[1], match[3])] = match[2]
        else:
            pytest.fail(f"not a Mermaid flowchart line: {line!r}")
        # Bare markup or entity-looking text of a name must arrive escaped.
        label = match[2]
        assert "\\" not in label and not re.search(r"<(?!br/>)|(?<!<br/)>", label), line
        assert not re.search(r"&", label), line
    return nodes, edges


def test_to_mermaid_is_well_formed(awkward):
    nodes, edges = parse_mermaid(awkward.to_mermaid())
    expected = expected_nodes(awkward)
    assert set(nodes) == {f"{kind[0]}{node_id}" for kind, node_id in expected}
    for (kind, node_id), attrs in expected.items():
        shape, label = nodes[f"{kind[0]}{node_id}"]
        assert shape == ("stadium" if kind == "artifact" else "box")
        assert _mermaid_unescape(label).split("\n") == label_lines(attrs)
    assert {(f"{u[0][0]}{u[1]}", f"{v[0][0]}{v[1]}"): edge_label(*value)
            for (u, v), value in expected_edges(awkward).items()} == {
        pair: _mermaid_unescape(label) for pair, label in edges.items()}


# --------------------------------------------------------- topological order
def _has_cycle(edges) -> bool:
    """Kahn's algorithm, independent of networkx."""
    nodes = {n for edge in edges for n in edge}
    indegree = {n: 0 for n in nodes}
    out: dict = {n: [] for n in nodes}
    for u, v in edges:
        indegree[v] += 1
        out[u].append(v)
    ready = [n for n, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        n = ready.pop()
        seen += 1
        for v in out[n]:
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
    return seen != len(nodes)


@pytest.mark.parametrize("seed", range(4))
def test_topological_order_respects_every_edge(store, seed):
    history = random_history(store, seed, executions=40)
    provenance = store.lineage.downstream(history.artifacts[:3])
    order = provenance.topological_order()
    nodes = [("artifact", a.id) for a in provenance.artifacts] + [("execution", e.id) for e in provenance.executions]
    assert sorted(order) == sorted(nodes)
    position = {node: i for i, node in enumerate(order)}
    edges = expected_edges(provenance)
    assert edges
    for source, target in edges:
        assert position[source] < position[target], (source, target)
    assert provenance.topological_order() == order


def test_topological_order_of_a_chain_is_the_chain(store):
    history = chain(store, 20)
    order = store.lineage.upstream([history.artifacts[-1]]).topological_order()
    expected = []
    for n, execution_id in enumerate(history.executions):
        expected += [("artifact", history.artifacts[n]), ("execution", execution_id)]
    assert order == expected + [("artifact", history.artifacts[-1])]


@pytest.mark.parametrize("seed", range(4))
def test_topological_order_refuses_a_cycle(store, seed):
    history = random_history(store, seed, cyclic=True)
    checked = 0
    for start in history.artifacts[:8]:
        for provenance in (store.lineage.upstream([start]), store.lineage.downstream([start])):
            if _has_cycle(expected_edges(provenance)):
                with pytest.raises(errors.FailedPreconditionError, match="cycle"):
                    provenance.topological_order()
                checked += 1
            else:
                provenance.topological_order()
    # The random history always closes an execution <-> artifact loop.
    whole = store.lineage.downstream(history.artifacts, history.executions)
    assert _has_cycle(expected_edges(whole))
    with pytest.raises(errors.FailedPreconditionError):
        whole.topological_order()


def test_exports_of_an_empty_walk(store):
    build = Builder(store)
    lone = build.artifact(name="lone")
    provenance = store.lineage.upstream([lone])
    assert provenance.topological_order() == [("artifact", lone)]
    assert json.loads(provenance.to_json())["edges"] == []
    nodes, edges = parse_dot(provenance.to_dot())
    assert list(nodes) == [f"artifact:{lone}"] and edges == {}
    nodes, edges = parse_mermaid(provenance.to_mermaid())
    assert list(nodes) == [f"a{lone}"] and edges == {}
