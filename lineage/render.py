"""Pictures of provenance graphs: a layered left-to-right SVG, and an HTML page around it.

The layout needs no external tool: nodes sit in columns by their longest
distance from a source, rows are ordered by the mean row of their neighbours
(a few sweeps of the barycenter heuristic), and edges are cubic curves.
Artifacts are rounded and blue, executions square and orange; every node has
a hover tooltip with its type, state, uri and properties.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from lineage.lineage import ProvenanceGraph

__all__ = ["layout", "to_svg", "to_html"]

_NODE_W, _NODE_H = 180, 54
_COL_GAP, _ROW_GAP = 90, 26
_MARGIN = 30
_STATE_COLOURS = {
    "LIVE": "#2e7d32", "COMPLETE": "#2e7d32", "CACHED": "#558b2f",
    "FAILED": "#c62828", "DELETED": "#6d6d6d", "ABANDONED": "#6d6d6d",
    "MARKED_FOR_DELETION": "#ef6c00", "RUNNING": "#1565c0", "NEW": "#1565c0",
    "PENDING": "#1565c0", "CANCELED": "#6d6d6d",
}


def layout(graph: nx.DiGraph) -> dict:
    """Assigns each node a (column, row) in a layered left-to-right drawing.

    Cycles (from faulty writers) are broken by ignoring back edges of a DFS.
    """
    acyclic = nx.DiGraph(graph)
    while True:
        try:
            cycle = nx.find_cycle(acyclic)
        except nx.NetworkXNoCycle:
            break
        acyclic.remove_edge(*cycle[-1][:2])
    column: dict = {}
    for node in nx.lexicographical_topological_sort(acyclic):
        preds = list(acyclic.predecessors(node))
        column[node] = 1 + max(column[p] for p in preds) if preds else 0
    columns: dict[int, list] = {}
    for node in sorted(column):
        columns.setdefault(column[node], []).append(node)
    row = {node: i for nodes in columns.values() for i, node in enumerate(nodes)}
    for sweep in range(4):
        order = sorted(columns) if sweep % 2 == 0 else sorted(columns, reverse=True)
        for col in order:
            nodes = columns[col]
            neighbours = (
                (lambda n: list(acyclic.predecessors(n))) if sweep % 2 == 0
                else (lambda n: list(acyclic.successors(n)))
            )

            def weight(node, neighbours=neighbours):
                around = neighbours(node)
                return sum(row[n] for n in around) / len(around) if around else row[node]

            nodes.sort(key=lambda n: (weight(n), n))
            for i, node in enumerate(nodes):
                row[node] = i
    return {node: (column[node], row[node]) for node in column}


def _tooltip(data: dict) -> str:
    lines = [f"{data['kind']} {data['id']}: {data['type']}", f"state: {data['state']}"]
    if data.get("name"):
        lines.append(f"name: {data['name']}")
    if data.get("uri"):
        lines.append(f"uri: {data['uri']}")
    for key, value in data.get("properties", {}).items():
        lines.append(f"{key}: {json.dumps(value, default=str)}")
    return "\n".join(lines)


def _clip(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def to_svg(provenance: "ProvenanceGraph", title: str = "provenance") -> str:
    """Draws a provenance graph as a standalone SVG document."""
    graph = provenance.to_networkx()
    places = layout(graph)
    rows = max((r for _, r in places.values()), default=0) + 1
    cols = max((c for c, _ in places.values()), default=0) + 1
    width = 2 * _MARGIN + cols * _NODE_W + (cols - 1) * _COL_GAP
    height = 2 * _MARGIN + rows * _NODE_H + (rows - 1) * _ROW_GAP

    def corner(node):
        col, r = places[node]
        return _MARGIN + col * (_NODE_W + _COL_GAP), _MARGIN + r * (_NODE_H + _ROW_GAP)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
        f"<title>{html.escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
        '<g class="edges">',
    ]
    for source, target, data in sorted(graph.edges(data=True)):
        (sx, sy), (tx, ty) = corner(source), corner(target)
        x1, y1 = sx + _NODE_W, sy + _NODE_H / 2
        x2, y2 = tx, ty + _NODE_H / 2
        bend = max(30.0, (x2 - x1) / 2)
        label = html.escape(data.get("key") or data.get("event_type", "").lower())
        parts.append(
            f'<g class="edge" data-source="{source[0]}:{source[1]}" data-target="{target[0]}:{target[1]}">'
            f'<path d="M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}" fill="none" '
            f'stroke="#777" stroke-width="1.4" marker-end="url(#arrow)"/>'
            f'<text x="{(x1 + x2) / 2}" y="{(y1 + y2) / 2 - 4}" text-anchor="middle" fill="#666" '
            f'font-size="10">{label}</text></g>'
        )
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for node, data in sorted(graph.nodes(data=True)):
        x, y = corner(node)
        is_artifact = data["kind"] == "artifact"
        fill, stroke = ("#e3f2fd", "#1565c0") if is_artifact else ("#fff3e0", "#e65100")
        radius = 18 if is_artifact else 3
        state_colour = _STATE_COLOURS.get(data["state"], "#444")
        heading = _clip(f"{data['type']} #{data['id']}")
        detail = _clip(data.get("name") or data.get("uri") or "")
        parts.append(
            f'<g class="node {data["kind"]}" data-key="{data["kind"]}:{data["id"]}" '
            f'data-type="{html.escape(data["type"])}" data-state="{data["state"]}">'
            f"<title>{html.escape(_tooltip(data))}</title>"
            f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="{radius}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.6"/>'
            f'<text x="{x + _NODE_W / 2}" y="{y + 17}" text-anchor="middle" font-weight="bold">'
            f"{html.escape(heading)}</text>"
            f'<text x="{x + _NODE_W / 2}" y="{y + 32}" text-anchor="middle" fill="#333">'
            f"{html.escape(detail)}</text>"
            f'<text x="{x + _NODE_W / 2}" y="{y + 47}" text-anchor="middle" fill="{state_colour}" '
            f'font-size="10">{data["state"]}</text></g>'
        )
    parts.append("</g></svg>")
    return "\n".join(parts) + "\n"


def to_html(provenance: "ProvenanceGraph", title: str = "provenance") -> str:
    """Wraps ``to_svg`` in a self-contained HTML page (no network needed to open it)."""
    graph = provenance.to_networkx()
    artifacts = sum(1 for _, d in graph.nodes(data=True) if d["kind"] == "artifact")
    executions = graph.number_of_nodes() - artifacts
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 4px 0; }}
p.summary {{ margin: 0 0 12px 0; color: #555; }}
.legend span {{ display: inline-block; margin-right: 14px; }}
.swatch {{ display: inline-block; width: 14px; height: 10px; border: 1.5px solid; margin-right: 4px; }}
.canvas {{ overflow: auto; border: 1px solid #ddd; }}
g.node:hover rect {{ stroke-width: 3; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="summary">{artifacts} artifacts, {executions} executions, {graph.number_of_edges()} events.
Data flows left to right; hover a node for its details.</p>
<p class="legend"><span><i class="swatch" style="background:#e3f2fd;border-color:#1565c0;border-radius:6px"></i>artifact</span>
<span><i class="swatch" style="background:#fff3e0;border-color:#e65100"></i>execution</span></p>
<div class="canvas">
{to_svg(provenance, title)}</div>
</body></html>
"""
