"""Pictures of provenance graphs: a layered left-to-right SVG, and an HTML page around it.

The layout needs no external tool and stays legible at a few hundred nodes:

* columns: each node sits one column right of its latest input; a node with
  no inputs moves next to its first reader. Cycles written by faulty clients
  are broken for the layout only and drawn as dashed red back edges;
* edges that skip columns pass through invisible waypoints, so they are
  routed between nodes rather than across them and take part in ordering;
* rows: barycenter sweeps order each column to reduce crossings (the best
  order seen is kept), then nodes are pulled towards their neighbours with
  an exact least-squares placement that never lets two boxes overlap;
* bands: a history longer than it is wide is cut into bands of columns stacked
  top to bottom, as many as make it fit a typical window at the largest scale;
  edges into the next band run along the gap between the two.

In HTML pages, long straight runs (one input and one output per node) are folded
into one box each; clicking a fold shows every node with the fold's first node
marked, so a history of a thousand steps opens as a page of boxes.

Artifacts are rounded blue boxes, executions square orange boxes with a dark
band; each shows its type, id, name or uri and a coloured state badge, and
carries its full details (properties, times) in a hover tooltip. The HTML page
adds zoom, fit-to-window, search, edge-label toggling and a details panel, all
inline: it opens without a network.
"""

from __future__ import annotations

import bisect
import datetime as dt
import html
import json
from typing import TYPE_CHECKING, Any, Iterable

import networkx as nx

if TYPE_CHECKING:
    from lineage.lineage import NodeKey, ProvenanceGraph

__all__ = ["Layout", "layout", "short_id", "to_svg", "to_html", "NODE_WIDTH", "NODE_HEIGHT"]

NODE_WIDTH, NODE_HEIGHT = 190, 62
_COL_GAP = 76
_NODE_GAP, _WAYPOINT_GAP = 18, 8
_MARGIN = 24
_BAND_GAP = 56
#: The window a picture is laid out for (a laptop's browser window below the page header) and
#: the largest scale it opens at; the page fits whatever window it is opened in.
_VIEW = (1600, 880)
_MAX_OPEN_SCALE = 1.5
#: Straight runs of this many nodes or more are folded into one box in HTML pages.
_FOLD_AT = 5
_SWEEPS = 12
_PLACEMENT_ROUNDS = 8
#: Above this many edges, edge labels start hidden (the page has a toggle).
_LABELS_SHOWN_UP_TO = 80

_STATE_COLOURS = {
    "LIVE": "#2e7d32", "COMPLETE": "#2e7d32", "CACHED": "#558b2f",
    "FAILED": "#c62828", "DELETED": "#757575", "ABANDONED": "#757575",
    "MARKED_FOR_DELETION": "#ef6c00", "RUNNING": "#1565c0", "NEW": "#1565c0",
    "PENDING": "#1565c0", "CANCELED": "#757575", "UNKNOWN": "#9e9e9e",
}
_HALO = "#ffd54f"
_FADED_STATES = frozenset({"DELETED", "ABANDONED", "CANCELED", "MARKED_FOR_DELETION"})
_KIND_STYLE = {
    # fill, stroke, corner radius
    "artifact": ("#e8f1fb", "#1f5f9e", 16),
    "execution": ("#fff1e0", "#c25100", 2),
}


def short_id(kind: str, node_id: int) -> str:
    """``A17``, ``E17`` or ``C17``: artifact, execution and context ids are separate sequences."""
    return f"{kind[0].upper()}{node_id}"


# -- layout -------------------------------------------------------------------------
class Layout:
    """Where everything goes.

    Attributes:
        boxes: Node -> (x, y) of its top-left corner; every box is NODE_WIDTH x NODE_HEIGHT.
        routes: (source, target) -> the points an edge passes through, from its
            source's right side (left side for a back edge) to its target.
        back_edges: Edges drawn against the flow because they close a cycle.
        width: Picture width.
        height: Picture height.
    """

    def __init__(self, boxes, routes, back_edges, width, height):
        self.boxes: dict[Any, tuple[float, float]] = boxes
        self.routes: dict[tuple[Any, Any], list[tuple[float, float]]] = routes
        self.back_edges: set[tuple[Any, Any]] = back_edges
        self.width: float = width
        self.height: float = height


def _back_edges(graph: nx.DiGraph) -> set:
    """Edges that close a cycle, found by one iterative depth-first search in node order."""
    state: dict[Any, int] = {}  # 1 = on the stack, 2 = finished
    back = set()
    for root in sorted(graph):
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(sorted(graph.successors(root))))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(sorted(graph.successors(child)))))
    return back


def _columns(acyclic: nx.DiGraph) -> dict:
    column: dict = {}
    for node in nx.lexicographical_topological_sort(acyclic):
        preds = list(acyclic.predecessors(node))
        column[node] = 1 + max(column[p] for p in preds) if preds else 0
    # A node with no inputs (a raw dataset, a source step) waits next to its first reader.
    for node in column:
        succs = list(acyclic.successors(node))
        if succs and not any(True for _ in acyclic.predecessors(node)):
            column[node] = min(column[s] for s in succs) - 1
    return column


def _crossings(upper: list, lower_pos: dict, links: dict) -> int:
    """Counts crossings between two adjacent columns (inversions of the edge order)."""
    ends: list[int] = []
    for node in upper:
        ends.extend(sorted(lower_pos[t] for t in links.get(node, ())))
    count, seen = 0, []
    for end in ends:
        count += len(seen) - bisect.bisect_right(seen, end)
        bisect.insort(seen, end)
    return count


def _barycenter_order(layer: list, fixed: list, neighbours: dict) -> list:
    """Orders a column by the mean position of each node's neighbours in the fixed column.

    A node without such neighbours keeps its relative place; ties keep the current order.
    """
    pos = {n: i for i, n in enumerate(fixed)}
    current = {n: i for i, n in enumerate(layer)}
    scale = len(fixed) / max(1, len(layer))

    def weight(node) -> float:
        around = [pos[m] for m in neighbours[node] if m in pos]
        return sum(around) / len(around) if around else current[node] * scale

    return sorted(layer, key=lambda n: (weight(n), current[n]))


def _place(order: list, desired: dict, heights: dict, gaps) -> dict:
    """Tops for a column in its fixed order: closest to ``desired`` without overlap (PAVA)."""
    offsets, offset = [], 0.0
    for i, node in enumerate(order):
        offsets.append(offset)
        if i + 1 < len(order):
            offset += heights[node] + gaps(node, order[i + 1])
    blocks: list[list[float]] = []  # [sum of targets, count]
    for i, node in enumerate(order):
        blocks.append([desired[node] - offsets[i], 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    tops, i = {}, 0
    for total, count in blocks:
        level = total / count
        for _ in range(int(count)):
            tops[order[i]] = level + offsets[i]
            i += 1
    return tops


def _band_width(columns: int, wrapped: bool) -> float:
    """A band's width; wrapped edges turn down half a gap right of its last column."""
    return 2 * _MARGIN + columns * NODE_WIDTH + (columns - 1) * _COL_GAP + (_COL_GAP / 2 if wrapped else 0)


def _columns_per_band(columns_used: int, flow, column: dict, top: dict, heights: dict) -> int:
    """How many columns go in one band so the picture fits a typical window at the largest scale.

    A long history is one wide row; wrapping it into bands stacked top to bottom uses
    the window's height instead of shrinking everything to fit its width.
    """
    extent: dict[int, tuple[float, float]] = {}
    for node in flow:
        low, high = extent.get(column[node], (top[node], top[node] + heights[node]))
        extent[column[node]] = (min(low, top[node]), max(high, top[node] + heights[node]))
    best, best_scale = columns_used, -1.0
    for bands in range(1, columns_used + 1):
        per_band = -(-columns_used // bands)
        if bands > 1 and -(-columns_used // per_band) < bands:
            continue  # the same split as a smaller number of bands
        height = 2 * _MARGIN - _BAND_GAP
        for start in range(0, columns_used, per_band):
            spans = [extent[c] for c in range(start, min(start + per_band, columns_used)) if c in extent]
            if spans:
                height += max(h for _, h in spans) - min(lo for lo, _ in spans) + _BAND_GAP
        width = _band_width(per_band, per_band < columns_used)
        scale = min(_MAX_OPEN_SCALE, _VIEW[0] / width, _VIEW[1] / height)
        if scale > best_scale + 1e-9:
            best, best_scale = per_band, scale
    return best


def layout(graph: nx.DiGraph) -> Layout:
    """Lays out a directed graph left to right (see the module docstring)."""
    back = _back_edges(graph)
    acyclic = nx.DiGraph()
    acyclic.add_nodes_from(graph)
    acyclic.add_edges_from((t, s) if (s, t) in back else (s, t) for s, t in graph.edges())
    column = _columns(acyclic)

    # Waypoints split every edge that skips columns; they are ("~", s, t, i).
    chains: dict[tuple, list] = {}
    flow = nx.DiGraph()
    flow.add_nodes_from(acyclic)
    for s, t in acyclic.edges():
        chain = [s]
        for step in range(column[s] + 1, column[t]):
            waypoint = ("~", s, t, step)
            column[waypoint] = step
            chain.append(waypoint)
        chain.append(t)
        nx.add_path(flow, chain)
        chains[(s, t)] = chain

    layers: dict[int, list] = {}
    def sort_key(node):
        return (1, repr(node)) if node[0] == "~" else (0, str(node[0]), node[1])

    for node in nx.lexicographical_topological_sort(flow, key=sort_key):
        layers.setdefault(column[node], []).append(node)
    order = [layers[c] for c in sorted(layers)]
    preds = {n: list(flow.predecessors(n)) for n in flow}
    succs = {n: list(flow.successors(n)) for n in flow}

    def total_crossings(order_) -> int:
        pos = {n: i for layer in order_ for i, n in enumerate(layer)}
        return sum(_crossings(order_[i], pos, succs) for i in range(len(order_) - 1))

    best, best_crossings = [list(layer) for layer in order], total_crossings(order)
    for sweep in range(_SWEEPS):
        if best_crossings == 0:
            break
        downward = sweep % 2 == 0
        indices = range(1, len(order)) if downward else range(len(order) - 2, -1, -1)
        neighbours = preds if downward else succs
        for index in indices:
            fixed = order[index - 1] if downward else order[index + 1]
            order[index] = _barycenter_order(order[index], fixed, neighbours)
        crossings = total_crossings(order)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in order], crossings
    order = best

    def is_waypoint(node) -> bool:
        return isinstance(node, tuple) and node and node[0] == "~"

    heights = {n: 0.0 if is_waypoint(n) else float(NODE_HEIGHT) for n in flow}

    def gaps(a, b) -> float:
        return _WAYPOINT_GAP if is_waypoint(a) or is_waypoint(b) else _NODE_GAP

    top: dict = {}
    for layer in order:
        top.update(_place(layer, {n: 0.0 for n in layer}, heights, gaps))
    # Centre the columns on each other before pulling nodes towards neighbours.
    for layer in order:
        shift = -(top[layer[-1]] + heights[layer[-1]]) / 2
        for node in layer:
            top[node] += shift

    def centre(node) -> float:
        return top[node] + heights[node] / 2

    for round_ in range(_PLACEMENT_ROUNDS):
        if round_ % 2 == 0:
            sequence, sides = order, (preds,)
        else:
            sequence, sides = list(reversed(order)), (succs,)
        if round_ == _PLACEMENT_ROUNDS - 1:
            sides = (preds, succs)
        for layer in sequence:
            desired = {}
            for node in layer:
                around = [centre(m) for side in sides for m in side[node]]
                wanted = sum(around) / len(around) if around else centre(node)
                desired[node] = wanted - heights[node] / 2
            top.update(_place(layer, desired, heights, gaps))

    columns_used = max(column[n] for n in graph) + 1 if len(graph) else 1
    per_band = _columns_per_band(columns_used, flow, column, top, heights)
    band_top: dict[int, float] = {}
    band_bottom: dict[int, float] = {}
    for node in flow:
        band = column[node] // per_band
        band_top[band] = min(band_top.get(band, top[node]), top[node])
        band_bottom[band] = max(band_bottom.get(band, top[node] + heights[node]), top[node] + heights[node])
    # Each band starts below the previous one and the gap under it carries the wrapped edges.
    band_y, y = {}, float(_MARGIN)
    for band in sorted(band_top):
        band_y[band] = y - band_top[band]
        y += band_bottom[band] - band_top[band] + _BAND_GAP
    wrap_y = {band: band_y[band] + band_bottom[band] + _BAND_GAP / 2 for band in band_y}

    def band_of(node) -> int:
        return column[node] // per_band

    def x_of(node) -> float:
        return _MARGIN + (column[node] % per_band) * (NODE_WIDTH + _COL_GAP)

    def y_of(node) -> float:
        return band_y[band_of(node)] + top[node] + heights[node] / 2

    boxes = {node: (x_of(node), band_y[band_of(node)] + top[node]) for node in graph}

    # Each edge wrapping out of a band gets its own lane in the gap below it, so two wrapped
    # edges never merge into one line that reads as a divider.
    wrapping: dict[int, int] = {}
    for chain in chains.values():
        for before, after in zip(chain, chain[1:]):
            if band_of(before) != band_of(after):
                wrapping[band_of(before)] = wrapping.get(band_of(before), 0) + 1
    lanes_taken: dict[int, int] = {}

    def lane_y(band: int) -> float:
        lane = lanes_taken.get(band, 0)
        lanes_taken[band] = lane + 1
        spacing = min(8.0, (_BAND_GAP - 16) / wrapping[band])
        return wrap_y[band] + (lane - (wrapping[band] - 1) / 2) * spacing

    routes = {}
    for (s, t), chain in chains.items():
        points = [(x_of(s) + NODE_WIDTH, y_of(s))]
        for before, after in zip(chain, chain[1:]):
            if band_of(before) != band_of(after):
                # Wrapping to the next band: down into its lane in the gap below this band, left
                # along it, then into the next band from its left margin.
                gap_y = lane_y(band_of(before))
                points += [(x_of(before) + NODE_WIDTH + _COL_GAP / 2, gap_y), (_MARGIN / 2, gap_y)]
            if after is t:
                points.append((x_of(t), y_of(t)))
            else:
                points += [(x_of(after), y_of(after)), (x_of(after) + NODE_WIDTH, y_of(after))]
        # One layout edge may stand for a forward edge and a reversed back edge at once.
        if graph.has_edge(s, t) and (s, t) not in back:
            routes[(s, t)] = points
        if (t, s) in back:
            routes[(t, s)] = list(reversed(points))
    width = _band_width(min(per_band, columns_used), per_band < columns_used)
    height = y - _BAND_GAP + _MARGIN if band_top else 2 * _MARGIN + NODE_HEIGHT
    return Layout(boxes, routes, back, width, height)


def fold_linear_runs(graph: nx.DiGraph, keep: Iterable = ()) -> tuple[nx.DiGraph, list[list]]:
    """Replaces each straight run of at least ``_FOLD_AT`` nodes by one ``("fold", i)`` node.

    A run is a chain of nodes with one input and one output each (a step reading one
    artifact and writing one, an artifact read once); nodes in ``keep`` are never folded.
    Returns the folded graph and the runs, run ``i`` being what ``("fold", i)`` stands for.
    """
    keep = set(keep)

    def straight(node) -> bool:
        return node not in keep and graph.in_degree(node) == 1 and graph.out_degree(node) == 1

    runs = []
    for node in sorted(graph):
        if not straight(node) or straight(next(iter(graph.predecessors(node)))):
            continue
        run = [node]
        while True:
            after = next(iter(graph.successors(run[-1])))
            if not straight(after) or after == node:
                break
            run.append(after)
        if len(run) >= _FOLD_AT:
            runs.append(run)
    folded = graph.copy()
    for i, run in enumerate(runs):
        [before] = graph.predecessors(run[0])
        [after] = graph.successors(run[-1])
        folded.remove_nodes_from(run)
        fold = ("fold", i)
        folded.add_node(fold, kind="fold", id=i, size=len(run))
        folded.add_edge(before, fold, **graph.edges[before, run[0]])
        folded.add_edge(fold, after, **graph.edges[run[-1], after])
    return folded, runs


# -- drawing ------------------------------------------------------------------------
def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _path(points: list[tuple[float, float]], backwards: bool) -> str:
    """Level segments straight, the others cubic with horizontal tangents at both ends."""
    (x, y), rest = points[0], points[1:]
    parts = [f"M {_fmt(x)} {_fmt(y)}"]
    for nx_, ny in rest:
        if ny == y:
            parts.append(f"L {_fmt(nx_)} {_fmt(ny)}")
        else:
            direction = (nx_ > x) - (nx_ < x) or (-1 if backwards else 1)
            bend = max(24.0, abs(nx_ - x) / 2) * direction
            parts.append(
                f"C {_fmt(x + bend)} {_fmt(y)}, {_fmt(nx_ - bend)} {_fmt(ny)}, {_fmt(nx_)} {_fmt(ny)}"
            )
        x, y = nx_, ny
    return " ".join(parts)


def _clip(text: str, limit: int, keep_end: bool = False) -> str:
    if len(text) <= limit:
        return text
    return "\u2026" + text[-(limit - 1):] if keep_end else text[: limit - 1] + "\u2026"


def _time(ms: int) -> str:
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _details(provenance: "ProvenanceGraph", graph: nx.DiGraph) -> dict:
    """Node key -> the facts shown on hover."""
    times = {("artifact", a.id): a for a in provenance.artifacts}
    times.update({("execution", e.id): e for e in provenance.executions})
    details = {}
    for node, data in graph.nodes(data=True):
        proto = times.get(node)
        entry = {
            "kind": data["kind"], "id": data["id"], "type": data["type"], "state": data["state"],
            "name": data.get("name") or "", "uri": data.get("uri") or "",
            "properties": data.get("properties", {}),
        }
        if proto is not None:
            entry["created"] = _time(proto.create_time_since_epoch)
            entry["updated"] = _time(proto.last_update_time_since_epoch)
        details[f"{node[0]}:{node[1]}"] = entry
    return details


def _tooltip(entry: dict) -> str:
    lines = [f"{short_id(entry['kind'], entry['id'])} ({entry['kind']} {entry['id']}): {entry['type']}",
             f"state: {entry['state']}"]
    for field in ("name", "uri", "created", "updated"):
        if entry.get(field):
            lines.append(f"{field}: {entry[field]}")
    for key, value in entry["properties"].items():
        lines.append(f"{key}: {json.dumps(value, default=str)}")
    return "\n".join(lines)


def _summary_line(entry: dict) -> str:
    """The second line of a box: name, else the uri's tail, else the first property."""
    if entry["name"]:
        return _clip(entry["name"], 30)
    if entry["uri"]:
        return _clip(entry["uri"], 30, keep_end=True)
    for key, value in entry["properties"].items():
        return _clip(f"{key}={json.dumps(value, default=str)}", 30)
    return ""


def _fold_box(index: int, run: list, corner: tuple[float, float]) -> str:
    """A folded run: a stack of cards naming its ends and how many nodes it holds."""
    x, y = corner
    first, last = short_id(*run[0]), short_id(*run[-1])
    artifacts = sum(1 for kind, _ in run if kind == "artifact")
    hover = (f"{len(run)} nodes folded: {first} ({run[0][0]} {run[0][1]}) to {last} ({run[-1][0]} {run[-1][1]}), "
             f"{artifacts} artifacts and {len(run) - artifacts} executions in one straight line. Click to open.")
    stack = "".join(
        f'<rect x="{_fmt(x + d)}" y="{_fmt(y + d)}" width="{NODE_WIDTH - 8}" height="{NODE_HEIGHT - 8}" rx="6" '
        'fill="#f1f3f4" stroke="#5f6368"/>' for d in (8, 4)
    )
    return (
        f'<g class="fold" data-key="fold:{index}" data-first="{run[0][0]}:{run[0][1]}" '
        f'data-last="{run[-1][0]}:{run[-1][1]}" data-size="{len(run)}">'
        f"<title>{html.escape(hover)}</title>{stack}"
        f'<rect class="box" x="{_fmt(x)}" y="{_fmt(y)}" width="{NODE_WIDTH - 8}" height="{NODE_HEIGHT - 8}" '
        'rx="6" fill="#f8f9fa" stroke="#5f6368" stroke-width="1.6"/>'
        f'<text class="type" x="{_fmt(x + 12)}" y="{_fmt(y + 19)}">{len(run)} nodes folded</text>'
        f'<text class="sub" x="{_fmt(x + 12)}" y="{_fmt(y + 36)}">{first} \u2192 \u2026 \u2192 {last}</text>'
        f'<text class="nid" x="{_fmt(x + 12)}" y="{_fmt(y + 49)}">click to open</text></g>'
    )


_SVG_STYLE = """
.edge path { fill: none; stroke: #8a8f98; stroke-width: 1.3; }
.edge.back path { stroke: #c62828; stroke-dasharray: 5 3; }
.edge text { font-size: 10px; fill: #5f6368; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.edge.hot path { stroke: #111; stroke-width: 2.4; }
.node, .fold { cursor: pointer; }
.fold text { pointer-events: none; }
.fold:hover .box { stroke-width: 3; }
.node text { pointer-events: none; }
.node .box { stroke-width: 1.6; }
.node.start .box { stroke-width: 3.2; }
.node.faded { opacity: 0.55; }
.node.faded .box { stroke-dasharray: 4 3; }
.node:hover .box, .node.hot .box { stroke-width: 3; filter: drop-shadow(0 1px 3px rgba(0,0,0,.35)); }
.node.match .box { stroke: #d500f9; stroke-width: 4; }
.type { font-weight: bold; font-size: 12.5px; fill: #1b1b1b; }
.nid { font-size: 11px; fill: #5f6368; }
.sub { font-size: 11.5px; fill: #333; }
.badge text { font-size: 9.5px; font-weight: bold; fill: #fff; letter-spacing: .3px; }
.hide-labels .edge text { display: none; }
"""


def to_svg(
    provenance: "ProvenanceGraph",
    title: str = "provenance",
    highlight: Iterable["NodeKey"] = (),
    fold: bool = False,
) -> str:
    """Draws a provenance graph as a standalone SVG document.

    Args:
        provenance: What to draw.
        title: The document title.
        highlight: Nodes to emphasise (say, where a trace started).
        fold: Draw each long straight run as one folded box (see ``fold_linear_runs``).
    """
    full = provenance.to_networkx()
    highlight = set(highlight)
    graph, runs = fold_linear_runs(full, highlight) if fold else (full, [])
    places = layout(graph)
    details = _details(provenance, full)
    labels_hidden = graph.number_of_edges() > _LABELS_SHOWN_UP_TO
    width, height = _fmt(places.width), _fmt(places.height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="provenance{" hide-labels" if labels_hidden else ""}" '
        f'data-view="{"folded" if runs else "all"}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_SVG_STYLE}</style>",
        '<defs>'
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7079"/></marker>'
        '<marker id="arrow-back" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#c62828"/></marker>'
        '</defs>',
        '<g class="edges">',
    ]
    for (source, target), points in sorted(places.routes.items()):
        data = graph.edges[source, target]
        backwards = (source, target) in places.back_edges
        event_type = data.get("event_type", "")
        label = data.get("key") or event_type.lower()
        hover = f"{short_id(*source)} \u2192 {short_id(*target)}: {event_type} {label}"
        lx, ly = points[-1][0] - _COL_GAP / 2, (points[-2][1] + points[-1][1]) / 2 - 5
        if backwards:
            lx = points[-1][0] + _COL_GAP / 2
        elif points[-2][0] == _MARGIN / 2:
            # Wrapped from the band above: labelled where it leaves its source.
            lx, ly = points[0][0] + _COL_GAP / 2, points[0][1] - 5
        parts.append(
            f'<g class="edge{" back" if backwards else ""}" data-source="{source[0]}:{source[1]}" '
            f'data-target="{target[0]}:{target[1]}">'
            f"<title>{html.escape(hover)}</title>"
            f'<path d="{_path(points, backwards)}" marker-end="url(#{"arrow-back" if backwards else "arrow"})"/>'
            f'<text x="{_fmt(lx)}" y="{_fmt(ly)}" text-anchor="middle">{html.escape(_clip(label, 16))}</text></g>'
        )
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for i, run in enumerate(runs):
        parts.append(_fold_box(i, run, places.boxes[("fold", i)]))
    for node in sorted(n for n in graph if n[0] != "fold"):
        kind, node_id = node
        entry = details[f"{kind}:{node_id}"]
        x, y = places.boxes[node]
        fill, stroke, radius = _KIND_STYLE[kind]
        classes = ["node", kind]
        if node in highlight:
            classes.append("start")
        if entry["state"] in _FADED_STATES:
            classes.append("faded")
        state = entry["state"]
        badge_w = 12 + 6.6 * len(state)
        id_text = short_id(kind, node_id)
        type_room = int((NODE_WIDTH - 24 - 7 * len(id_text)) / 7.4)
        halo = ""
        if node in highlight:
            # A yellow halo finds the node a question started from at any zoom.
            halo = (f'<rect class="halo" x="{_fmt(x - 6)}" y="{_fmt(y - 6)}" width="{NODE_WIDTH + 12}" '
                    f'height="{NODE_HEIGHT + 12}" rx="{radius + 6}" fill="{_HALO}"/>')
        parts.append(
            f'<g class="{" ".join(classes)}" data-key="{kind}:{node_id}" '
            f'data-type="{html.escape(entry["type"])}" data-state="{state}">'
            f"<title>{html.escape(_tooltip(entry))}</title>{halo}"
            f'<rect class="box" x="{_fmt(x)}" y="{_fmt(y)}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" '
            f'rx="{radius}" fill="{fill}" stroke="{stroke}"/>'
        )
        text_x = x + 12
        if kind == "execution":
            parts.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="7" height="{NODE_HEIGHT}" fill="{stroke}"/>'
            )
            text_x = x + 15
        parts.append(
            f'<text class="type" x="{_fmt(text_x)}" y="{_fmt(y + 19)}">'
            f"{html.escape(_clip(entry['type'], type_room))}</text>"
            f'<text class="nid" x="{_fmt(x + NODE_WIDTH - 10)}" y="{_fmt(y + 19)}" text-anchor="end">'
            f"{id_text}</text>"
            f'<text class="sub" x="{_fmt(text_x)}" y="{_fmt(y + 36)}">{html.escape(_summary_line(entry))}</text>'
            f'<g class="badge"><rect x="{_fmt(text_x)}" y="{_fmt(y + 43)}" width="{_fmt(badge_w)}" height="13" '
            f'rx="6.5" fill="{_STATE_COLOURS.get(state, "#555")}"/>'
            f'<text x="{_fmt(text_x + badge_w / 2)}" y="{_fmt(y + 52.5)}" text-anchor="middle">{state}</text></g>'
            "</g>"
        )
    parts.append("</g></svg>")
    return "\n".join(parts) + "\n"


_PAGE_STYLE = """
* { box-sizing: border-box; }
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }
header { padding: 12px 16px 8px 16px; border-bottom: 1px solid #ddd; background: #fafafa; }
h1 { font-size: 18px; margin: 0 0 4px 0; }
p.summary { margin: 0 0 8px 0; color: #555; font-size: 13px; }
.bar { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; font-size: 13px; }
.legend span { display: inline-flex; align-items: center; margin-right: 12px; }
.swatch { display: inline-block; width: 22px; height: 13px; border: 1.6px solid; margin-right: 5px;
  vertical-align: middle; }
.swatch.line { height: 0; border-width: 1.6px 0 0 0; border-style: dashed; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin: 0 3px 0 0; }
button { font-size: 12px; padding: 2px 8px; }
input[type=search] { font-size: 13px; padding: 2px 6px; width: 230px; }
main { position: relative; }
.canvas { overflow: auto; height: calc(100vh - 118px); background: #fff; }
#details { position: fixed; right: 14px; bottom: 14px; width: 330px; max-height: 45vh; overflow: auto;
  background: rgba(255,255,255,.96); border: 1px solid #bbb; border-radius: 6px; padding: 8px 10px;
  font-size: 12px; box-shadow: 0 2px 8px rgba(0,0,0,.15); display: none; }
#details h2 { font-size: 13px; margin: 0 0 4px 0; }
#details table { border-collapse: collapse; width: 100%; }
#details td { padding: 1px 4px; vertical-align: top; word-break: break-all; }
#details td:first-child { color: #666; white-space: nowrap; word-break: normal; }
svg .dim { opacity: .25; }
"""

_PAGE_SCRIPT = """
(function () {
  const MIN_OPEN_SCALE = 0.5, MAX_OPEN_SCALE = {MAX};
  // One or two views: the picture with long straight runs folded, and every node.
  const views = Array.from(document.querySelectorAll('svg.provenance'));
  const canvas = document.querySelector('.canvas');
  const details = JSON.parse(document.getElementById('node-details').textContent);
  const shortId = d => d.kind.charAt(0).toUpperCase() + d.id;
  const toggle = document.getElementById('unfold');
  let svg = null, baseW = 0, baseH = 0, scale = 1;
  function zoom(s) {
    scale = Math.max(0.1, Math.min(3, s));
    svg.setAttribute('width', baseW * scale); svg.setAttribute('height', baseH * scale);
    document.getElementById('zoom-level').textContent = Math.round(scale * 100) + '%';
  }
  function use(view) {
    for (const v of views) v.style.display = v === view ? '' : 'none';
    svg = view;
    baseW = parseFloat(svg.getAttribute('viewBox').split(' ')[2]);
    baseH = parseFloat(svg.getAttribute('viewBox').split(' ')[3]);
    labels.checked = !svg.classList.contains('hide-labels');  // each view keeps its own setting
    if (toggle) toggle.textContent = svg.dataset.view === 'folded' ? 'open all folds' : 'fold straight runs';
  }
  function scrollToBox(box, where) {
    canvas.scrollTo({left: (box.x + box.width / 2) * scale - canvas.clientWidth * where,
                     top: (box.y + box.height / 2) * scale - canvas.clientHeight / 2});
  }
  function fit() { zoom(Math.min(MAX_OPEN_SCALE, (canvas.clientWidth - 4) / baseW, (canvas.clientHeight - 4) / baseH)); }
  document.getElementById('zoom-fit').onclick = fit;
  document.getElementById('zoom-1').onclick = () => zoom(1);
  document.getElementById('zoom-in').onclick = () => zoom(scale * 1.25);
  document.getElementById('zoom-out').onclick = () => zoom(scale / 1.25);
  const labels = document.getElementById('edge-labels');
  labels.onchange = () => svg.classList.toggle('hide-labels', !labels.checked);
  const panel = document.getElementById('details');
  function show(key) {
    const d = details[key]; if (!d) return;
    const rows = [['kind', d.kind], ['id', d.id], ['type', d.type], ['state', d.state], ['name', d.name],
      ['uri', d.uri], ['created', d.created], ['updated', d.updated]].filter(r => r[1] !== '' && r[1] !== undefined);
    for (const [k, v] of Object.entries(d.properties)) rows.push([k, JSON.stringify(v)]);
    panel.innerHTML = '';
    const h = document.createElement('h2'); h.textContent = shortId(d) + ' ' + d.type; panel.appendChild(h);
    const table = document.createElement('table');
    for (const [k, v] of rows) {
      const tr = table.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = String(v);
    }
    panel.appendChild(table); panel.style.display = 'block';
  }
  for (const view of views) {
    const edges = Array.from(view.querySelectorAll('g.edge'));
    for (const node of view.querySelectorAll('g.node, g.fold')) {
      const key = node.dataset.key;
      node.addEventListener('mouseenter', () => {
        show(key);
        for (const e of edges) e.classList.toggle('hot', e.dataset.source === key || e.dataset.target === key);
      });
      node.addEventListener('mouseleave', () => { for (const e of edges) e.classList.remove('hot'); });
    }
  }
  // Opening a fold shows every node, at 100%, with the fold's first node marked and in view.
  function openFold(fold) {
    const all = views[views.length - 1];
    if (!fold || all === svg) return;
    use(all); zoom(1);
    const first = all.querySelector('g.node[data-key="' + fold.dataset.first + '"]');
    for (const n of all.querySelectorAll('g.node.match')) n.classList.remove('match');
    first.classList.add('match');
    scrollToBox(first.querySelector('rect.box').getBBox(), 0.25);
  }
  for (const fold of views[0].querySelectorAll('g.fold')) {
    fold.addEventListener('click', () => { location.hash = fold.dataset.key; });
  }
  window.addEventListener('hashchange', () => openFold(views[0].querySelector('g.fold[data-key="' + location.hash.slice(1) + '"]')));
  if (toggle) toggle.onclick = () => {
    if (svg === views[0]) { use(views[views.length - 1]); fit(); } else { history.replaceState(null, '', '#'); use(views[0]); fit(); }
  };
  const search = document.getElementById('search');
  search.addEventListener('input', () => {
    const q = search.value.trim().toLowerCase();
    if (q !== '' && svg !== views[views.length - 1]) { use(views[views.length - 1]); zoom(Math.max(scale, MIN_OPEN_SCALE)); }
    let first = null;
    for (const node of svg.querySelectorAll('g.node')) {
      const d = details[node.dataset.key];
      const hay = [d.kind + ' ' + d.id, shortId(d), d.type, d.name, d.uri, d.state].join(' ').toLowerCase();
      const hit = q !== '' && hay.includes(q);
      node.classList.toggle('match', hit);
      if (hit && !first) first = node;
    }
    if (first) {
      const box = first.querySelector('rect.box').getBBox();
      canvas.scrollTo({left: box.x * scale - canvas.clientWidth / 3, top: box.y * scale - canvas.clientHeight / 3});
    }
  });
  // Open with the whole graph fitted to the window while its text stays legible; a larger one
  // opens fitted to the window's width (at least at the smallest legible scale), scrolled so
  // that the node the walk started from is in view. A link to a fold opens it.
  use(views[0]);
  const fitWidth = (canvas.clientWidth - 4) / baseW;
  const fitScale = Math.min(fitWidth, (canvas.clientHeight - 4) / baseH);
  zoom(fitScale >= MIN_OPEN_SCALE ? Math.min(MAX_OPEN_SCALE, fitScale) : Math.max(Math.min(1, fitWidth), MIN_OPEN_SCALE));
  const start = svg.querySelector('g.node.start rect.box');
  if (start) scrollToBox(start.getBBox(), 0.5);
  if (location.hash.length > 1) openFold(views[0].querySelector('g.fold[data-key="' + location.hash.slice(1) + '"]'));
})();
"""


def to_html(
    provenance: "ProvenanceGraph",
    title: str = "provenance",
    highlight: Iterable["NodeKey"] = (),
) -> str:
    """Wraps ``to_svg`` in a self-contained, interactive HTML page (no network needed to open it)."""
    graph = provenance.to_networkx()
    highlight = list(highlight)
    artifacts = sum(1 for _, d in graph.nodes(data=True) if d["kind"] == "artifact")
    executions = graph.number_of_nodes() - artifacts
    # No "<", ">" or "&" survives in the JSON, so no value can end the script element early.
    details = json.dumps(_details(provenance, graph), default=str, sort_keys=True)
    details = details.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    start = ""
    if highlight:
        start = " Bold outline: " + ", ".join(f"{short_id(k, i)} ({k} {i})" for k, i in highlight) + "."
    # The legend names only what is drawn.
    kind_legend = ""
    if artifacts:
        kind_legend += ('<span><i class="swatch" style="background:#e8f1fb;border-color:#1f5f9e;border-radius:7px">'
                        '</i>artifact A&lt;id&gt;</span>\n')
    if executions:
        kind_legend += ('<span><i class="swatch" style="background:#fff1e0;border-color:#c25100;'
                        'border-left-width:6px"></i>execution E&lt;id&gt;</span>\n')
    if _back_edges(graph):
        kind_legend += '<span><i class="swatch line" style="border-color:#c62828"></i>cycle edge</span>\n'
    # Long straight runs are folded into boxes; the page also holds the unfolded picture.
    folded = to_svg(provenance, title, highlight, fold=True)
    views = folded
    unfold_button = ""
    if 'data-view="folded"' in folded.split(">", 1)[0]:
        views += to_svg(provenance, title, highlight)
        unfold_button = '<button id="unfold">open all folds</button>'
        kind_legend += ('<span><i class="swatch" style="background:#f8f9fa;border-color:#5f6368;border-radius:3px">'
                        '</i>straight run, folded (click)</span>\n')
    states = sorted({d["state"] for _, d in graph.nodes(data=True)})
    state_legend = "".join(
        f'<span><i class="dot" style="background:{_STATE_COLOURS.get(s, "#555")}"></i>{html.escape(s)}</span>'
        for s in states
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_PAGE_STYLE}</style></head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p class="summary">{artifacts} artifacts, {executions} executions, {graph.number_of_edges()} events.
Data flows left to right; hover a node for its details.{html.escape(start)}</p>
<div class="bar">
<span class="legend">
{kind_legend}{state_legend}</span>
<span><button id="zoom-out" title="zoom out">&minus;</button> <span id="zoom-level">100%</span>
<button id="zoom-in" title="zoom in">+</button> <button id="zoom-1">100%</button>
<button id="zoom-fit">fit</button> {unfold_button}</span>
<label><input type="checkbox" id="edge-labels"> edge labels</label>
<input type="search" id="search" placeholder="find: id, type, name, uri, state">
</div>
</header>
<main><div class="canvas">
{views}</div>
<div id="details"></div></main>
<script type="application/json" id="node-details">{details}</script>
<script>{_PAGE_SCRIPT.replace("{MAX}", str(_MAX_OPEN_SCALE))}</script>
</body></html>
"""
