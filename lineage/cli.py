"""The ``lineage`` command: explore a store, see provenance as a picture, move stores.

Commands::

    lineage demo                      record a small pipeline history and answer questions about it
    lineage ls artifacts|executions|contexts|types
    lineage show artifact|execution|context ID
    lineage trace ID                  provenance as an indented tree
    lineage impacted ID               artifacts made from an artifact
    lineage graph ID [-o FILE]        provenance as HTML, SVG, DOT, Mermaid or JSON
    lineage stats                     counts per type and the deepest provenance chain
    lineage copy SRC_URL DST_URL      copy a whole store to another backend, ids kept
    lineage purge KIND [ID ...]       delete nodes with their edges (dry run unless --yes)
    lineage serve                     the gRPC metadata server

Every command takes ``--db URL`` (default ``$LINEAGE_DB``) and ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pathlib
import re
import shutil
import sys
import textwrap
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from lineage import errors

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_USER_ERROR", "EXIT_USAGE", "EXIT_UNAVAILABLE"]

EXIT_OK = 0
#: A mistake in what was asked: unknown id or type, malformed filter, non-empty destination...
EXIT_USER_ERROR = 1
#: The command line itself is wrong (argparse's own code).
EXIT_USAGE = 2
#: The store cannot be reached or opened, or could not do the work (aborted, out of resources).
EXIT_UNAVAILABLE = 3

_EXIT_CODES_HELP = """\
exit codes: 0 ok; 1 user error (unknown id or type, malformed filter, non-empty
destination...); 2 usage error; 3 store unreachable, unavailable or out of
resources.

The store URL comes from --db, else $LINEAGE_DB: memory://, sqlite:///path,
mysql://user:pw@host/db, postgresql://user:pw@host/db, neo4j://user:pw@host,
or a metadata server: grpc://host:port, grpcs://host:port?ca=FILE[&cert=FILE&key=FILE]."""

_KINDS = {"artifacts": "artifact", "executions": "execution", "contexts": "context"}
_GRAPH_SUFFIXES = {
    ".html": "html", ".htm": "html", ".svg": "svg", ".dot": "dot", ".gv": "dot",
    ".mmd": "mermaid", ".mermaid": "mermaid", ".json": "json",
}
_GRAPH_EXTENSIONS = {"html": "html", "svg": "svg", "dot": "dot", "mermaid": "mmd", "json": "json"}


class _Unavailable(errors.UnavailableError):
    """The store named on the command line could not be opened."""


# -- plumbing -----------------------------------------------------------------------
def _redact(url: str) -> str:
    """The URL with any password replaced by ***, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _store_url(args: argparse.Namespace, default: str | None = None) -> str:
    url = args.db or os.environ.get("LINEAGE_DB") or default
    if not url:
        args.parser.error("no store given: pass --db URL or set LINEAGE_DB")
    return url


def _check_sqlite_file(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite":
        return
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if path and path != ":memory:" and not os.path.exists(path):
        raise _Unavailable(f"no SQLite store at {path}")


@contextlib.contextmanager
def _open(url: str, *, must_exist: bool = True) -> Iterator[Any]:
    """Opens a store for one command; anything but a malformed URL is 'unavailable'."""
    import lineage

    if must_exist:
        _check_sqlite_file(url)
    try:
        store = lineage.connect(url)
    except errors.InvalidArgumentError as e:
        raise errors.InvalidArgumentError(e.message.replace(url, _redact(url))) from e
    except errors.StatusError as e:
        raise _Unavailable(f"cannot open the store at {_redact(url)}: {e.message}") from e
    try:
        yield store
    finally:
        store.close()


def _console(stderr: bool = False):
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    # A terminal gets prose wrapped between words, so no path or id is split by the terminal;
    # a pipe or a file gets every line whole, for grep. Tables always fit the width they are
    # given (they are printed with soft_wrap=False).
    console.soft_wrap = not console.is_terminal
    return console


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _time(ms: int) -> str:
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _properties(node) -> dict[str, Any]:
    from lineage.lineage_service import property_value

    return {k: property_value(v) for k, v in sorted(node.properties.items())}


def _custom(node) -> dict[str, Any]:
    from lineage.lineage_service import property_value

    return {k: property_value(v) for k, v in sorted(node.custom_properties.items())}


def _short_props(node, limit: int = 3, longest: int = 16) -> str:
    """The first properties as k=v, each at most ``longest`` characters (a table cell's summary)."""
    merged = {**_custom(node), **_properties(node)}
    parts = [f"{k}={json.dumps(v, default=str)}" for k, v in sorted(merged.items())[:limit]]
    # A table cannot be narrower than its longest word: long ones end in an ellipsis here.
    parts = [p if len(p) <= longest else p[:longest - 1] + "…" for p in parts]
    if len(merged) > limit:
        parts.append(f"+{len(merged) - limit}")
    return ", ".join(parts)


def _state(kind: str, node) -> str:
    from lineage.proto import metadata_store_pb2 as pb

    if kind == "artifact":
        return pb.Artifact.State.Name(node.state)
    if kind == "execution":
        return pb.Execution.State.Name(node.last_known_state)
    return ""


def _node_dict(kind: str, node) -> dict[str, Any]:
    data: dict[str, Any] = {"id": node.id, "type": node.type, "type_id": node.type_id}
    if node.HasField("name"):
        data["name"] = node.name
    if kind == "artifact":
        data["uri"] = node.uri
    if kind != "context":
        data["state"] = _state(kind, node)
    if node.HasField("external_id"):
        data["external_id"] = node.external_id
    data["properties"] = _properties(node)
    data["custom_properties"] = _custom(node)
    data["create_time_since_epoch"] = node.create_time_since_epoch
    data["last_update_time_since_epoch"] = node.last_update_time_since_epoch
    return data


def _get_node(store, kind: str, node_id: int):
    found = getattr(store, f"get_{kind}s_by_id")([node_id])
    if not found:
        raise errors.NotFoundError(f"no {kind} with id {node_id}")
    return found[0]


def _escape(text: Any) -> str:
    from rich.markup import escape

    return escape(str(text))


# -- demo ---------------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> int:
    from lineage.demo import run_demo

    url = _store_url(args, "memory://")
    with _open(url, must_exist=False) as store:
        if store.get_artifact_types() or store.get_execution_types() or store.get_contexts():
            raise errors.FailedPreconditionError(
                f"the store at {_redact(url)} is not empty; the demo records its history into an empty store"
            )
        console = _console(stderr=args.json)
        history = run_demo(store, pathlib.Path(args.output), console=console, store_url=_redact(url))
        if args.json:
            _emit_json({
                "store": _redact(url),
                "picture": str(pathlib.Path(args.output).resolve()),
                "artifacts": len(store.get_artifacts()),
                "executions": len(store.get_executions()),
                "contexts": len(store.get_contexts()),
                "models": history.models,
                "bad_raw_data": history.raw_data[history.bad_day],
            })
    return EXIT_OK


# -- ls -----------------------------------------------------------------------------
def _ls(args: argparse.Namespace) -> int:
    import lineage

    if args.limit is not None and args.limit < 0:
        args.parser.error("--limit must be >= 0 (0 lists everything)")
    if args.what == "types":
        if args.filter or args.type:
            args.parser.error("ls types takes neither --filter nor --type")
        return _ls_types(args)
    kind = _KINDS[args.what]
    with _open(_store_url(args)) as store:
        query = args.filter
        if args.type:
            getattr(store, f"get_{kind}_type")(args.type)  # NotFoundError names the unknown type
            clause = f"type = {json.dumps(args.type, ensure_ascii=False)}"
            query = f"{clause} AND ({query})" if query else clause
        limit = 50 if args.limit is None else args.limit
        options = lineage.ListOptions(
            limit=limit + 1 if limit else None,
            order_by=lineage.OrderByField.ID,
            is_asc=not args.newest,
            filter_query=query or None,
        )
        nodes = getattr(store, f"get_{kind}s")(list_options=options)
    more = bool(limit) and len(nodes) > limit
    nodes = nodes[:limit] if limit else nodes
    if args.json:
        _emit_json({args.what: [_node_dict(kind, n) for n in nodes], "truncated": more})
        return EXIT_OK
    from rich.table import Table

    # An empty column only takes room from the others (artifacts and executions rarely have names).
    named = kind == "context" or any(node.name for node in nodes)
    rows = []
    for node in nodes:
        row = {"id": str(node.id), "type": node.type}
        if named:
            row["name"] = node.name
        if kind == "artifact":
            row["uri"] = node.uri
        if kind != "context":
            row["state"] = _state(kind, node)
        row["updated"] = _time(node.last_update_time_since_epoch)
        row["properties"] = _short_props(node)
        rows.append(row)
    columns = list(rows[0]) if rows else ["id", "type", "updated", "properties"]
    # A value too long for its cell ends in an ellipsis rather than folding onto the next line
    # mid-token (which breaks copy, paste and grep); --json has every value whole. Ids, types and
    # uris are not wrapped at all: the other columns give way first.
    table = Table(title=f"{args.what} ({len(nodes)}{'+' if more else ''})", title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column == "id" else "left", overflow="ellipsis",
                         no_wrap=column in ("id", "type", "uri"))
    for row in rows:
        table.add_row(*(_escape(row[c]) for c in columns))
    console = _console()
    console.print(table, soft_wrap=False)
    if more:
        console.print(f"more {args.what} exist: raise --limit (0 lists all) or narrow with --filter")
    return EXIT_OK


def _type_dict(kind: str, type_) -> dict[str, Any]:
    from lineage.proto import metadata_store_pb2 as pb

    data: dict[str, Any] = {"kind": kind, "id": type_.id, "name": type_.name}
    if type_.HasField("version"):
        data["version"] = type_.version
    if type_.HasField("description"):
        data["description"] = type_.description
    if type_.HasField("external_id"):
        data["external_id"] = type_.external_id
    if kind != "context" and type_.base_type:
        data["base_type"] = type(type_).SystemDefinedBaseType.Name(type_.base_type)
    data["properties"] = {k: pb.PropertyType.Name(v) for k, v in sorted(type_.properties.items())}
    return data


def _ls_types(args: argparse.Namespace) -> int:
    with _open(_store_url(args)) as store:
        types = []
        for kind in ("artifact", "execution", "context"):
            types += [_type_dict(kind, t) for t in getattr(store, f"get_{kind}_types")()]
    types.sort(key=lambda t: t["id"])
    if args.limit:
        types = types[: args.limit]
    if args.json:
        _emit_json({"types": types})
        return EXIT_OK
    from rich.table import Table

    table = Table(title=f"types ({len(types)})", title_justify="left")
    for column in ("id", "kind", "name", "version", "base type", "properties"):
        table.add_column(column, justify="right" if column == "id" else "left", overflow="ellipsis")
    for t in types:
        props = ", ".join(f"{k}:{v}" for k, v in t["properties"].items())
        table.add_row(*map(_escape, (t["id"], t["kind"], t["name"], t.get("version", ""),
                                      t.get("base_type", ""), props)))
    _console().print(table, soft_wrap=False)
    return EXIT_OK


# -- show ---------------------------------------------------------------------------
def _event_dict(event) -> dict[str, Any]:
    from lineage.proto import metadata_store_pb2 as pb

    steps = []
    for step in event.path.steps:
        steps.append(step.key if step.HasField("key") else step.index)
    return {
        "artifact_id": event.artifact_id,
        "execution_id": event.execution_id,
        "type": pb.Event.Type.Name(event.type),
        "path": steps,
        "milliseconds_since_epoch": event.milliseconds_since_epoch,
    }


def _show(args: argparse.Namespace) -> int:
    kind = args.what
    with _open(_store_url(args)) as store:
        node = _get_node(store, kind, args.id)
        data = {kind: _node_dict(kind, node)}
        if kind == "artifact":
            events = store.get_events_by_artifact_ids([node.id])
            others = {e.id: e for e in store.get_executions_by_id({ev.execution_id for ev in events})}
            data["events"] = [dict(_event_dict(e), execution_type=others[e.execution_id].type)
                              for e in events if e.execution_id in others]
            data["contexts"] = _contexts_of(store, kind, node.id)
        elif kind == "execution":
            events = store.get_events_by_execution_ids([node.id])
            others = {a.id: a for a in store.get_artifacts_by_id({ev.artifact_id for ev in events})}
            data["events"] = [dict(_event_dict(e), artifact_type=others[e.artifact_id].type,
                                   artifact_uri=others[e.artifact_id].uri)
                              for e in events if e.artifact_id in others]
            data["contexts"] = _contexts_of(store, kind, node.id)
        else:
            data["parents"] = [_context_brief(c) for c in store.get_parent_contexts_by_context(node.id)]
            data["children"] = [_context_brief(c) for c in store.get_children_contexts_by_context(node.id)]
            artifacts = store.get_artifacts_by_context(node.id)
            executions = store.get_executions_by_context(node.id)
            data["artifacts"] = [{"id": a.id, "type": a.type, "uri": a.uri, "state": _state("artifact", a)}
                                 for a in sorted(artifacts, key=lambda a: a.id)]
            data["executions"] = [{"id": e.id, "type": e.type, "state": _state("execution", e)}
                                  for e in sorted(executions, key=lambda e: e.id)]
    if args.json:
        _emit_json(data)
        return EXIT_OK
    _print_show(kind, data)
    return EXIT_OK


def _context_brief(context) -> dict[str, Any]:
    return {"id": context.id, "type": context.type, "name": context.name}


def _contexts_of(store, kind: str, node_id: int) -> list[dict[str, Any]]:
    """The contexts of an artifact or execution that exists; none is an empty list here."""
    try:
        contexts = getattr(store, f"get_contexts_by_{kind}")(node_id)
    except errors.NotFoundError:
        # MLMD's API reports "in no context" as NotFound; the node itself was found above.
        return []
    return [_context_brief(c) for c in sorted(contexts, key=lambda c: c.id)]


def _print_show(kind: str, data: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    node = data[kind]
    console.print(f"[bold]{_short_id(kind, node['id'])}[/bold] {kind} {node['id']}  {_escape(node['type'])}"
                  + (f"  [dim]{_escape(node['name'])}[/dim]" if node.get("name") else ""))
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="dim")
    fields.add_column()
    for label, key in (("type", "type"), ("name", "name"), ("uri", "uri"), ("state", "state"),
                       ("external id", "external_id")):
        if node.get(key) not in (None, ""):
            fields.add_row(label, _escape(node[key]))
    fields.add_row("type id", str(node["type_id"]))
    fields.add_row("created", _time(node["create_time_since_epoch"]))
    fields.add_row("updated", _time(node["last_update_time_since_epoch"]))
    console.print(fields, soft_wrap=False)
    props = [(k, v, "property") for k, v in node["properties"].items()]
    props += [(k, v, "custom") for k, v in node["custom_properties"].items()]
    if props:
        table = Table(title="properties", title_justify="left")
        for column in ("name", "value", "kind"):
            table.add_column(column, overflow="ellipsis")
        for name, value, which in props:
            table.add_row(_escape(name), _escape(json.dumps(value, default=str)), which)
        console.print(table, soft_wrap=False)
    if "events" in data:
        table = Table(title=f"events ({len(data['events'])})", title_justify="left")
        other = "execution" if kind == "artifact" else "artifact"
        for column in ("event", other, "type", "path", "time"):
            table.add_column(column, overflow="ellipsis")
        for event in data["events"]:
            if kind == "artifact":
                who, what = event["execution_id"], event["execution_type"]
            else:
                who, what = event["artifact_id"], event["artifact_type"]
                if event.get("artifact_uri"):
                    what += f" {event['artifact_uri']}"
            table.add_row(event["type"], _short_id(other, who), _escape(what),
                          _escape("/".join(map(str, event["path"]))), _time(event["milliseconds_since_epoch"]))
        console.print(table, soft_wrap=False)
    if kind != "context" and not data["contexts"]:
        console.print("[bold]contexts[/bold]: none")
    for section in ("contexts", "parents", "children"):
        if data.get(section):
            items = ", ".join(f"{c['id']} {c['type']} {c['name']!r}" for c in data[section])
            console.print(f"[bold]{section}[/bold]: {_escape(items)}")
    for section in ("artifacts", "executions"):
        if section in data:
            items = data[section]
            shown = ", ".join(f"{i['id']} {i['type']}" for i in items[:30])
            more = f" (+{len(items) - 30} more)" if len(items) > 30 else ""
            console.print(f"[bold]{section}[/bold] ({len(items)}): {_escape(shown)}{more}")


# -- trace ----------------------------------------------------------------------------
#: A straight run longer than this is folded to its two first and two last nodes.
_FOLD_RUN_OVER = 8
#: A node with more inputs (or outputs) than this shows the first _SIBLINGS_SHOWN of them.
_FOLD_SIBLINGS_OVER, _SIBLINGS_SHOWN = 30, 25
#: Branch levels drawn indented; deeper branches are folded behind a re-rooting hint.
_MAX_INDENT_LEVELS = 12


#: The most nodes a command takes unless --max-nodes says otherwise. A picture past a few
#: thousand nodes takes minutes to lay out and cannot be read; a folded tree or a list
#: stays readable much longer.
DEFAULT_MAX_NODES = {"graph": 2_000, "trace": 25_000, "impacted": 25_000}
#: From this many nodes on, graph says how many before it starts drawing.
_ANNOUNCE_NODES = 500


def _max_nodes(args: argparse.Namespace) -> int | None:
    """The --max-nodes bound for the store: None for 0 (no bound)."""
    if args.max_nodes < 0:
        raise errors.InvalidArgumentError(f"--max-nodes must be >= 0 (0: no bound), got {args.max_nodes}")
    return args.max_nodes or None


@contextlib.contextmanager
def _bounded(args: argparse.Namespace, verb: str) -> Iterator[None]:
    """Turns the store's refusal of an answer past --max-nodes into the command's own words."""
    try:
        yield
    except errors.ResourceExhaustedError as e:
        size = re.search(r"holds (\d+) nodes \(([^)]*)\)", str(e.message))
        if size is None:
            raise
        raise errors.ResourceExhaustedError(
            f"the answer holds {size.group(1)} nodes ({size.group(2)}), more than --max-nodes "
            f"{args.max_nodes}: nothing was {verb}; raise --max-nodes (0: no bound) or narrow the "
            "walk with --depth") from e


def _walk(store, node_id: int, *, execution: bool, down: bool, depth: int | None, as_of: str | None = None,
          max_nodes: int | None = None):
    if depth is not None and depth < 0:
        raise errors.InvalidArgumentError(f"--depth must be >= 0, got {depth}")
    kind = "execution" if execution else "artifact"
    starts = {"artifact_ids": [], "execution_ids": []}
    starts[f"{kind}_ids"] = [node_id]
    walk = store.lineage.downstream if down else store.lineage.upstream
    return (kind, node_id), walk(**starts, max_hops=depth, as_of=_moment(as_of), max_nodes=max_nodes)


def _moment(text: str | None) -> dt.datetime | int | None:
    """An --as-of value: ISO 8601 (without a zone: UTC) or milliseconds since the epoch."""
    if text is None:
        return None
    if text.strip().lstrip("-").isdigit():
        return int(text)
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise errors.InvalidArgumentError(
            f"--as-of {text!r} does not parse: give ISO 8601 such as 2026-11-30T12:00 (UTC unless "
            "a zone is given) or milliseconds since the epoch") from e


def _trace_items(graph, root, down: bool) -> list[dict[str, Any]]:
    """The provenance DAG unfolded into a tree, as a flat pre-order list.

    Each item names its ``parent`` (an index into the list, None for the root) and its
    ``depth``. A node is expanded once, where the pre-order first meets it; later meetings
    are marked ``repeat`` and an edge back into the current path ``cycle``, neither expanded.
    The walk is iterative and linear in the size of the tree, so any depth works.
    """
    items: list[dict[str, Any]] = []
    expanded: set = set()
    on_path: set = set()

    def entry(node, parent: int | None, depth: int) -> dict[str, Any]:
        data = graph.nodes[node]
        item = {"key": f"{node[0]}:{node[1]}", "kind": node[0], "id": node[1], "type": data["type"],
                "state": data["state"], "parent": parent, "depth": depth}
        for field in ("name", "uri"):
            if data.get(field):
                item[field] = data[field]
        if parent is not None:
            edge = graph.edges[items[parent]["node"], node] if down else graph.edges[node, items[parent]["node"]]
            item["via"] = edge.get("key") or edge.get("event_type", "").lower()
        item["node"] = node
        return item

    # ("leave", node) pops a node off the current path once its subtree is done.
    stack: list[tuple] = [("enter", root, None, 0)]
    while stack:
        step = stack.pop()
        if step[0] == "leave":
            on_path.discard(step[1])
            continue
        _, node, parent, depth = step
        item = entry(node, parent, depth)
        index = len(items)
        items.append(item)
        if parent is not None and node in on_path:
            item["cycle"] = True
            continue
        if node in expanded:
            item["repeat"] = True
            continue
        expanded.add(node)
        on_path.add(node)
        stack.append(("leave", node))
        neighbours = graph.successors(node) if down else graph.predecessors(node)
        stack.extend(("enter", other, index, depth + 1) for other in sorted(neighbours, reverse=True))
    for item in items:
        del item["node"]
    return items


def _short_id(kind: str, node_id: int) -> str:
    from lineage.render import short_id

    return short_id(kind, node_id)


class _TraceText:
    """Lays out trace items as lines: straight runs unindented, long runs and wide fans folded.

    Every node of the walk is either on a line of its own or counted on a fold line that
    says how to see it.
    """

    def __init__(self, items: list[dict[str, Any]], *, down: bool, expand: bool, width: int | None):
        self.items, self.down, self.expand, self.width = items, down, expand, width
        self.children: list[list[int]] = [[] for _ in items]
        for index, item in enumerate(items):
            if item["parent"] is not None:
                self.children[item["parent"]].append(index)
        # Expanded nodes below each item (itself included), bottom-up: parents precede children.
        self.weight = [0 if item.get("repeat") or item.get("cycle") else 1 for item in items]
        for index in range(len(items) - 1, 0, -1):
            self.weight[items[index]["parent"]] += self.weight[index]
        self.lines: list[Any] = []
        self.shown: set[str] = set()

    # -- one line -------------------------------------------------------------------
    def _node_line(self, prefix: str, index: int):
        from rich.text import Text

        item = self.items[index]
        arrow = "→" if self.down else "←"
        colour = "blue" if item["kind"] == "artifact" else "dark_orange3"
        state_colour = {"LIVE": "green", "COMPLETE": "green", "CACHED": "green", "FAILED": "red"}.get(
            item["state"], "yellow")
        via = f"{arrow} {item['via']} " if "via" in item else ""
        token = _short_id(item["kind"], item["id"])
        detail = item.get("name") or item.get("uri") or ""
        mark, mark_style = "", ""
        if item.get("cycle"):
            mark, mark_style = " ↻ cycle: already on this path", "bold red"
        elif item.get("repeat"):
            # Lines come in pre-order, so its expanded place is above: drawn, or inside a fold.
            mark = " (shown above)" if item["key"] in self.shown else " (folded above)"
            mark_style = "dim"
        else:
            self.shown.add(item["key"])
        type_name = item["type"]
        if self.width:
            # Too wide: shorten the uri or name (keeping its end), then the type; never the id.
            fixed = len(prefix) + len(via) + len(token) + 1 + len(item["state"]) + 1 + len(mark)
            room = self.width - 1 - fixed - len(type_name) - (1 if detail else 0)
            if len(detail) > room:
                detail = "…" + detail[-(room - 1):] if room >= 6 else ""
                room = self.width - 1 - fixed - (len(detail) + 1 if detail else 0)
                if len(type_name) > room:
                    type_name = type_name[: max(room - 1, 1)] + "…"
        parts = [(prefix, "dim"), (via, "dim"), (token, f"bold {colour}"), (" ", ""), (type_name, "bold")]
        if detail:
            parts += [(" ", ""), (detail, "")]
        parts += [(" ", ""), (item["state"], state_colour), (mark, mark_style)]
        return Text.assemble(*parts)

    def _fold(self, prefix: str, text: str) -> None:
        """Adds a fold line; in a terminal too narrow for it, over several, broken between words."""
        from rich.text import Text

        chunks = [text]
        if self.width:
            room, chunks = max(self.width - 1 - len(prefix) - 2, 20), []
            for word in text.split(" "):
                if chunks and len(chunks[-1]) + 1 + len(word) <= room:
                    chunks[-1] += " " + word
                else:
                    chunks.append(word)
        for chunk in chunks:
            self.lines.append(Text.assemble((prefix, "dim"), ("┆ ", "yellow"), (chunk, "yellow")))

    def _span(self, indices: list[int]) -> str:
        first, last = self.items[indices[0]], self.items[indices[-1]]
        ends = [_short_id(first["kind"], first["id"])]
        if len(indices) > 1:
            ends.append(_short_id(last["kind"], last["id"]))
        return " … ".join(ends)

    # -- the whole tree --------------------------------------------------------------
    def render(self) -> list[Any]:
        """The lines, top to bottom; ``shown`` then holds the keys that have a line."""
        # Entries: ("node", index, prefix of its line, prefix below it, indent level) or
        # ("fold", prefix, text), printed once the siblings before it are done.
        stack: list[tuple] = [("node", 0, "", "", 0)]
        while stack:
            entry = stack.pop()
            if entry[0] == "fold":
                self._fold(entry[1], entry[2])
                continue
            _, index, own, rest, level = entry
            run = [index]
            while len(self.children[run[-1]]) == 1:
                run.append(self.children[run[-1]][0])
            self.lines.append(self._node_line(own, run[0]))
            tail = run[1:]
            if len(run) > _FOLD_RUN_OVER and not self.expand:
                # Inside a straight run every node but the last has one child, so each is expanded.
                hidden = run[2:-2]
                self.lines.append(self._node_line(rest, run[1]))
                self._fold(rest, f"{len(hidden)} more in a straight line ({self._span(hidden)}): --expand shows them")
                tail = run[-2:]
            for i in tail:
                self.lines.append(self._node_line(rest, i))
            last = self.items[run[-1]]
            kids = self.children[run[-1]]
            if not kids:
                continue
            token = _short_id(last["kind"], last["id"])
            if level >= _MAX_INDENT_LEVELS:
                flag = " --execution" if last["kind"] == "execution" else ""
                self._fold(rest, f"{self.weight[run[-1]] - 1} more in {len(kids)} branches beyond {token}: "
                           f"lineage trace {last['id']}{flag}{' --down' if self.down else ''} shows them")
                continue
            shown, hidden = kids, []
            if len(kids) > _FOLD_SIBLINGS_OVER and not self.expand:
                shown, hidden = kids[:_SIBLINGS_SHOWN], kids[_SIBLINGS_SHOWN:]
            entries: list[tuple] = []
            for position, kid in enumerate(shown):
                end = position == len(shown) - 1 and not hidden
                entries.append(("node", kid, rest + ("└─ " if end else "├─ "), rest + ("   " if end else "│  "),
                                level + 1))
            if hidden:
                weight = sum(self.weight[i] for i in hidden)
                entries.append(("fold", rest + "└─ ",
                                f"{len(hidden)} more {'outputs' if self.down else 'inputs'} of {token} "
                                f"({self._span(hidden)}), {weight} nodes: --expand shows them"))
            stack.extend(reversed(entries))
        return self.lines


def _trace(args: argparse.Namespace) -> int:
    with _open(_store_url(args)) as store, _bounded(args, "shown"):
        root, provenance = _walk(store, args.id, execution=args.execution, down=args.down, depth=args.depth,
                                 as_of=args.as_of, max_nodes=_max_nodes(args))
    graph = provenance.to_networkx()
    items = _trace_items(graph, root, args.down)
    if args.json:
        _emit_json({"direction": "down" if args.down else "up", "root": items[0]["key"],
                    "nodes": graph.number_of_nodes(), "events": graph.number_of_edges(), "tree": items})
        return EXIT_OK
    console = _console()
    # A terminal gets lines cut to its width; a pipe gets them whole, for grep.
    width = console.width if console.is_terminal else None
    text = _TraceText(items, down=args.down, expand=args.expand, width=width)
    for line in text.render():
        console.print(line, soft_wrap=True)
    total, shown = graph.number_of_nodes(), len(text.shown)
    word = "downstream" if args.down else "upstream"
    footer = f"{total} nodes {word}" + (f" within {args.depth} hops" if args.depth is not None else "")
    if shown < total:
        footer += f": {shown} shown, {total - shown} folded (the ┆ lines say how to see them)"
    console.print(footer, style="dim", soft_wrap=True)
    return EXIT_OK


# -- impacted -------------------------------------------------------------------------
def _impacted(args: argparse.Namespace) -> int:
    with _open(_store_url(args)) as store, _bounded(args, "listed"):
        artifacts = store.lineage.impacted(args.id, args.type, as_of=_moment(args.as_of),
                                           max_nodes=_max_nodes(args))
    if args.json:
        _emit_json({"artifact": args.id, "type": args.type, "count": len(artifacts),
                    "artifacts": [_node_dict("artifact", a) for a in artifacts]})
        return EXIT_OK
    from rich.table import Table

    what = f"{args.type} artifacts" if args.type else "artifacts"
    table = Table(title=f"{len(artifacts)} {what} downstream of artifact {args.id}", title_justify="left")
    for column in ("id", "type", "uri", "state"):
        table.add_column(column, justify="right" if column == "id" else "left", overflow="ellipsis",
                         no_wrap=column in ("id", "type", "uri"))
    for artifact in artifacts:
        table.add_row(str(artifact.id), _escape(artifact.type), _escape(artifact.uri), _state("artifact", artifact))
    _console().print(table, soft_wrap=False)
    return EXIT_OK


# -- graph ----------------------------------------------------------------------------
def _graph(args: argparse.Namespace) -> int:
    from lineage.render import to_html, to_svg

    if args.context is not None and args.id is not None:
        args.parser.error("give either an ID or --context CID, not both")
    if args.context is None and args.id is None:
        args.parser.error("give an artifact ID (--execution for an execution) or --context CID")
    fmt = args.format
    if args.json and args.output in (None, "-"):
        # --json means JSON: with nothing else to write, the drawing itself is the JSON.
        if fmt not in (None, "json"):
            args.parser.error(f"--json prints the graph as JSON; for --format {fmt} name a file with -o")
        fmt = "json"
    if fmt is None:
        suffix = pathlib.Path(args.output).suffix.lower() if args.output not in (None, "-") else ""
        fmt = _GRAPH_SUFFIXES.get(suffix, "html")
    with _open(_store_url(args)) as store, _bounded(args, "drawn"):
        if args.context is not None:
            context = _get_node(store, "context", args.context)
            provenance = store.lineage.context_dag(context.id, max_nodes=_max_nodes(args))
            title = f"Context {context.id}: {context.type} {context.name!r}"
            highlight = []
            stem = f"context-{_short_id('context', context.id)}"
        else:
            root, provenance = _walk(store, args.id, execution=args.execution, down=args.down, depth=args.depth,
                                     as_of=args.as_of, max_nodes=_max_nodes(args))
            title = f"{'Downstream' if args.down else 'Provenance'} of {root[0]} {root[1]} ({_short_id(*root)})"
            highlight = [root]
            stem = f"{'downstream' if args.down else 'provenance'}-{_short_id(*root)}"
    nodes = len(provenance.artifacts) + len(provenance.executions)
    if nodes >= _ANNOUNCE_NODES and not args.json:
        _console(stderr=True).print(
            f"drawing {len(provenance.artifacts)} artifacts, {len(provenance.executions)} executions and "
            f"{len(provenance.events)} events as {fmt}")
    if fmt == "html":
        text = to_html(provenance, title, highlight)
    elif fmt == "svg":
        text = to_svg(provenance, title, highlight)
    elif fmt == "dot":
        text = provenance.to_dot()
    elif fmt == "mermaid":
        text = provenance.to_mermaid()
    else:
        text = provenance.to_json()
    output = args.output
    if output is None:
        # A terminal is no place for a page of markup: name a file after the node instead.
        output = f"{stem}.{_GRAPH_EXTENSIONS[fmt]}" if sys.stdout.isatty() and not args.json else "-"
    if not text.endswith("\n"):
        text += "\n"
    if output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    path = pathlib.Path(output)
    path.write_text(text, encoding="utf-8")
    summary = {"file": str(path.resolve()), "format": fmt, "artifacts": len(provenance.artifacts),
               "executions": len(provenance.executions), "events": len(provenance.events)}
    if args.json:
        _emit_json(summary)
    else:
        _console(stderr=True).print(
            f"wrote {summary['artifacts']} artifacts, {summary['executions']} executions and "
            f"{summary['events']} events as {fmt} to {_escape(summary['file'])}")
    return EXIT_OK


# -- purge ----------------------------------------------------------------------------
_PURGE_DESCRIPTION = """\
Delete artifacts, executions or contexts chosen by id or --filter, optionally
with everything downstream of them, only those older than --older-than or in a
--state. Their events, attributions, associations, parent-context links and
cache fingerprints go with them, in one transaction. Without --yes this is a
dry run: it prints what would go, by kind and type, and a sample."""


def _purge(args: argparse.Namespace) -> int:
    kind = _KINDS[args.what]
    if not args.ids and args.filter is None:
        args.parser.error("give IDs or --filter QUERY: purge never selects a whole store by default")
    with _open(_store_url(args)) as store:
        report = store.lineage.purge(
            kind, args.ids, args.filter, with_downstream=args.with_downstream, older_than=args.older_than,
            states=args.state, dry_run=not args.yes, sample_size=args.sample)
    if args.json:
        _emit_json({"deleted": report.deleted, "counts": report.counts,
                    "by_type": [{"kind": k, "type": t, "count": c} for k, t, c in report.by_type],
                    "sample": [{"kind": k, "id": i, "type": t, "name": n} for k, i, t, n in report.sample]})
        return EXIT_OK
    from rich.table import Table

    console = _console()
    table = Table("kind", "type", "count", title="deleted" if report.deleted else "would delete (dry run)")
    for kind_name, type_name, count in report.by_type:
        table.add_row(kind_name, _escape(type_name), str(count))
    console.print(table)
    edges = ", ".join(f"{report.counts[k]} {k.replace('_', ' ')}"
                      for k in ("events", "attributions", "associations", "parent_contexts"))
    console.print(f"{report.nodes} nodes; {edges}")
    for kind_name, node_id, type_name, name in report.sample:
        console.print(f"  {kind_name} {node_id} [bold]{_escape(type_name)}[/bold] {_escape(name)}")
    if not report.deleted:
        console.print("[yellow]dry run: nothing was deleted; pass --yes to delete[/yellow]")
    return EXIT_OK


# -- stats ----------------------------------------------------------------------------
def _deepest_chain(flow) -> dict[str, Any]:
    """Longest path along events, counted in events; cycles are condensed first, so it ends."""
    import networkx as nx

    if flow.number_of_nodes() == 0:
        return {"events": 0, "path": [], "nodes_in_cycles": 0}
    condensed = nx.condensation(flow)
    in_cycles = sum(len(d["members"]) for _, d in condensed.nodes(data=True) if len(d["members"]) > 1)
    longest = nx.dag_longest_path(condensed)
    # A cycle is one step of the chain; it is named by its smallest member.
    path = [min(condensed.nodes[component]["members"]) for component in longest]
    return {
        "events": max(0, len(longest) - 1),
        "path": [f"{k}:{i}" for k, i in path],
        "nodes_in_cycles": in_cycles,
    }


def _stats(args: argparse.Namespace) -> int:
    import networkx as nx

    from lineage.traversal import INPUT_EVENT_TYPES

    kinds = {"artifact": "artifacts", "execution": "executions", "context": "contexts"}
    with _open(_store_url(args)) as store:
        result: dict[str, Any] = {}
        flow = nx.DiGraph()
        labels: dict = {}
        by_type: dict[str, dict[str, int]] = {field: {} for field in kinds.values()}
        events = 0
        # One pass over the store's export stream: it reads one snapshot, in-process or from a server.
        with contextlib.closing(store.lineage.export_store()) as stream:
            for chunk in stream:
                for kind, field in kinds.items():
                    for type_ in getattr(chunk, f"{kind}_types"):
                        if type_.name not in _system_names():
                            by_type[field].setdefault(type_.name, 0)
                    for node in getattr(chunk, field):
                        by_type[field][node.type] = by_type[field].get(node.type, 0) + 1
                        if kind != "context":
                            flow.add_node((kind, node.id))
                            labels[(kind, node.id)] = node.type
                for event in chunk.events:
                    events += 1
                    artifact, execution = ("artifact", event.artifact_id), ("execution", event.execution_id)
                    if event.type in INPUT_EVENT_TYPES:
                        flow.add_edge(artifact, execution)
                    else:
                        flow.add_edge(execution, artifact)
        for field, counts in by_type.items():
            result[field] = {"total": sum(counts.values()), "by_type": dict(sorted(counts.items()))}
        result["events"] = events
        chain = _deepest_chain(flow)
    result["deepest_chain"] = chain
    if args.json:
        _emit_json(result)
        return EXIT_OK
    from rich.table import Table

    console = _console()
    table = Table(title="records by type", title_justify="left")
    for column in ("kind", "type", "count"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for kind in ("artifacts", "executions", "contexts"):
        for name, count in result[kind]["by_type"].items():
            table.add_row(kind[:-1], _escape(name), str(count))
        table.add_row(f"[bold]{kind}[/bold]", "[bold]all[/bold]", f"[bold]{result[kind]['total']}[/bold]",
                      end_section=True)
    table.add_row("[bold]events[/bold]", "", f"[bold]{events}[/bold]")
    console.print(table, soft_wrap=False)
    path = chain["path"]
    if path:
        def name(key: str) -> str:
            kind, node_id = key.split(":")
            return f"{labels[(kind, int(node_id))]} {_short_id(kind, int(node_id))}"

        shown = [name(k) for k in path]
        if len(shown) > 9:
            shown = shown[:4] + [f"… {len(shown) - 8} more …"] + shown[-4:]
        console.print(f"[bold]deepest provenance chain[/bold]: {chain['events']} events, "
                      f"{len(path)} nodes: " + _escape(" → ".join(shown)))
    if chain["nodes_in_cycles"]:
        console.print(f"[red]{chain['nodes_in_cycles']} nodes lie on event cycles[/red] "
                      "(each cycle counted as one step of the chain)")
    return EXIT_OK


def _system_names() -> frozenset[str]:
    from lineage.core import SYSTEM_TYPES

    return frozenset(name for _, name in SYSTEM_TYPES)


# -- copy -----------------------------------------------------------------------------
_COPY_DESCRIPTION = """\
Copy a whole store into another backend: every type (properties, versions,
base types, external ids), artifact, execution and context (properties,
custom properties, states, create and update times), event (path and time),
attribution, association and parent context, keeping every id.

All or nothing: the source is read as one consistent snapshot, and the
destination is written in one transaction that is counted and checked
against the source before it commits. If anything fails (or you press
Ctrl-C), the destination is left exactly as it was; it is never left
half-copied. The destination must be empty (a new store) unless --force.
Into an empty Neo4j store the copy commits every 100,000 records (a server
holds an open transaction in its heap) and, if it fails, deletes what it
wrote: the store is empty again, but others may see part of it meanwhile.

Ids are kept: an empty destination hands out ids 1, 2, 3..., and the copy
checks each one against the source. A source whose ids have gaps (ids lost
to rolled-back writes, as MySQL and PostgreSQL do) cannot be reproduced
exactly; the copy then refuses before writing anything. --force copies
anyway, renumbering, and also merges into a non-empty destination (types
matched by name and version; clashing names or external ids abort the copy);
--id-map FILE records the old -> new ids. MySQL and PostgreSQL also keep the
ids a failed copy used: copy into a new database there to keep ids.

MLMD's API cannot set ids or times, so the copy streams the source's
lineage Export into the destination's Import (either may be a metadata
server, grpc://...), which store records exactly as read; types still pass
the store's own type rules, and the cache index is rebuilt."""


def _copy(args: argparse.Namespace) -> int:
    from lineage.copy import COUNT_KEYS, copy_store

    if len(args.urls) == 1:
        source_url, destination_url = _store_url(args), args.urls[0]
    elif len(args.urls) == 2:
        if args.db:
            args.parser.error("give the source either as SRC_URL or as --db, not both")
        source_url, destination_url = args.urls
    else:
        args.parser.error("expected SRC_URL DST_URL (or DST_URL with --db / $LINEAGE_DB as the source)")
    if source_url == destination_url:
        raise errors.InvalidArgumentError("the source and the destination are the same store")
    if args.id_map and not args.force:
        args.parser.error("--id-map needs --force (without it every id is kept)")
    with _open(source_url) as source, _open(destination_url, must_exist=False) as destination:
        with _copy_progress(enabled=not args.json and not args.quiet) as on_progress:
            report = copy_store(source, destination, force=args.force, batch_size=args.batch_size,
                                on_progress=on_progress)
    if args.id_map:
        mapping = {kind: {str(k): v for k, v in ids.items()} for kind, ids in report.id_map.items()}
        pathlib.Path(args.id_map).write_text(json.dumps(mapping, indent=1) + "\n", encoding="utf-8")
    rate = report.records / report.seconds if report.seconds else 0.0
    summary = {"source": _redact(source_url), "destination": _redact(destination_url),
               "counts": report.counts, "ids_kept": report.ids_kept,
               "seconds": round(report.seconds, 3), "records_per_second": round(rate, 1)}
    if args.json:
        _emit_json(summary)
        return EXIT_OK
    console = _console()
    counts = ", ".join(f"{report.counts[k]} {k.replace('_', ' ')}" for k in COUNT_KEYS)
    console.print(f"copied {_escape(summary['source'])} → {_escape(summary['destination'])}: {counts}")
    console.print(f"verified: counts match; ids {'kept' if report.ids_kept else 'renumbered (see --id-map)'}; "
                  f"{report.seconds:.2f} s, {rate:,.0f} records/s")
    return EXIT_OK


@contextlib.contextmanager
def _copy_progress(enabled: bool):
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = _console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def on_progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield on_progress


# -- the parser -----------------------------------------------------------------------
def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", help="store URL (default: $LINEAGE_DB)")
    common.add_argument("--json", action="store_true", help="print JSON for scripts instead of tables")
    return common


class _HelpFormatter(argparse.HelpFormatter):
    """Fills each paragraph of a description or epilog to the terminal, between words.

    argparse's default would join the paragraphs into one; the raw formatter would let the
    terminal cut lines (and words) at its edge.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(_wrap(paragraph, width, indent) for paragraph in text.split("\n\n"))


def _wrap(text: str, width: int, indent: str = "") -> str:
    """Text filled to ``width`` between words: URLs, paths and --options are never split."""
    return textwrap.fill(" ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _add(commands, name: str, handler, help_: str, **kwargs) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_, parents=[_common()], epilog=_EXIT_CODES_HELP,
                                 formatter_class=_HelpFormatter, **kwargs)
    parser.set_defaults(handler=handler, parser=parser)
    return parser


def _add_walk_options(parser: argparse.ArgumentParser) -> None:
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--up", dest="down", action="store_false", default=False,
                           help="walk towards inputs: what it was made from (default)")
    direction.add_argument("--down", dest="down", action="store_true",
                           help="walk towards outputs: what was made from it")
    parser.add_argument("--depth", type=int, metavar="N", help="stop after N hops (artifact -> execution is one)")
    parser.add_argument("--execution", action="store_true", help="ID names an execution, not an artifact")
    parser.add_argument("--as-of", metavar="TIME",
                        help="the graph as it stood then: ISO 8601 (UTC unless a zone is given) or epoch ms; "
                        "only nodes created and events recorded by then")


def _add_max_nodes(parser: argparse.ArgumentParser, command: str) -> None:
    default = DEFAULT_MAX_NODES[command]
    parser.add_argument("--max-nodes", type=int, default=default, metavar="N",
                        help=f"refuse an answer of more than N nodes, saying how many it holds, before "
                        f"anything is fetched or drawn (default {default:,}; 0: no bound)")


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of the ``lineage`` command."""
    parser = argparse.ArgumentParser(
        prog="lineage", description="An ML Metadata store on a graph: explore it, draw its provenance, copy it.",
        epilog=_EXIT_CODES_HELP, formatter_class=_HelpFormatter)
    from lineage import __version__

    parser.add_argument("--version", action="version", version=f"lineage {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _add(commands, "demo", _demo, "record a small pipeline history and show its lineage",
                description="Record three daily runs of a small ML pipeline (one with bad data) into a "
                "store (default: in memory), answer the questions a metadata store is for, and draw one "
                "provenance picture.")
    demo.add_argument("-o", "--output", default="lineage-demo.html", help="where to write the picture")

    ls = _add(commands, "ls", _ls, "list artifacts, executions, contexts or types as a table")
    ls.add_argument("what", choices=["artifacts", "executions", "contexts", "types"])
    ls.add_argument("--type", metavar="T", help="only nodes of this type name")
    ls.add_argument("--filter", metavar="QUERY",
                    help="MLMD filter query, e.g. 'uri LIKE \"%%day3%%\" AND properties.day.int_value = 3'")
    ls.add_argument("--limit", type=int, metavar="N", help="show at most N rows (default 50; 0: all)")
    ls.add_argument("--newest", action="store_true", help="highest ids first")

    show = _add(commands, "show", _show, "one artifact, execution or context with its properties, events and contexts")
    show.add_argument("what", choices=["artifact", "execution", "context"])
    show.add_argument("id", type=int, metavar="ID")

    trace = _add(commands, "trace", _trace, "provenance of a node as an indented tree",
                 description="Show where an artifact (or --execution) came from, or with --down what "
                 "came of it, as a tree. A node reached twice is expanded once and marked "
                 "'(shown above)' after; an edge back into the current path is marked as a cycle. "
                 "A straight run stays at one indentation; a long one shows its two first and two last "
                 "nodes and the count between (a line starting with ┆), as does a node with many inputs "
                 "or outputs; --expand shows them all. Artifacts are A<id>, executions E<id>. "
                 "--json lists every node once per place in the tree, in pre-order, each with the index "
                 "of its parent in the list and its depth (flat, so any depth parses).")
    trace.add_argument("id", type=int, metavar="ID")
    _add_walk_options(trace)
    _add_max_nodes(trace, "trace")
    trace.add_argument("--expand", action="store_true",
                       help="show every node: no folding of long straight runs or of wide fans")

    impacted = _add(commands, "impacted", _impacted, "artifacts made from a (bad) artifact, by type",
                    description="List every artifact downstream of artifact ID (itself left out), or only "
                    "those of --type T: what a bad dataset spoiled.")
    impacted.add_argument("id", type=int, metavar="ID")
    impacted.add_argument("--type", metavar="T", help="only artifacts of this type name")
    impacted.add_argument("--as-of", metavar="TIME", help="the store as it stood then (as in trace)")
    _add_max_nodes(impacted, "impacted")

    graph = _add(commands, "graph", _graph, "draw provenance as HTML, SVG, DOT, Mermaid or JSON",
                 description="Draw the provenance of an artifact (or --execution), or with --context every "
                 "execution of a context with its inputs and outputs.")
    graph.add_argument("id", type=int, nargs="?", metavar="ID")
    _add_walk_options(graph)
    _add_max_nodes(graph, "graph")
    graph.add_argument("--context", type=int, metavar="CID", help="draw a context's executions and artifacts")
    graph.add_argument("--format", choices=["html", "svg", "dot", "mermaid", "json"],
                       help="default: from the -o suffix, else html")
    graph.add_argument("-o", "--output", metavar="FILE",
                       help="where to write, - for stdout (default: stdout when it is a pipe or a file; "
                       "in a terminal, a file named after the node, e.g. provenance-A17.html); with --json "
                       "and no FILE, the graph as JSON on stdout")

    _add(commands, "stats", _stats, "counts per type and the deepest provenance chain")

    copy = _add(commands, "copy", _copy, "copy a whole store to another backend, keeping ids",
                description=_COPY_DESCRIPTION, usage="lineage copy [-h] [options] [SRC_URL] DST_URL")
    copy.add_argument("urls", nargs="+", metavar="URL", help="SRC_URL DST_URL, or DST_URL with --db as the source")
    copy.add_argument("--force", action="store_true",
                      help="copy even when ids cannot be kept: merge into a non-empty destination or "
                      "renumber a source with id gaps")
    copy.add_argument("--id-map", metavar="FILE", help="with --force: write the old -> new ids as JSON")
    copy.add_argument("--batch-size", type=int, default=500, metavar="N", help="records per streamed chunk")
    copy.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    purge = _add(commands, "purge", _purge, "delete nodes with their events and links (dry run unless --yes)",
                 description=_PURGE_DESCRIPTION)
    purge.add_argument("what", choices=["artifacts", "executions", "contexts"])
    purge.add_argument("ids", type=int, nargs="*", metavar="ID", help="nodes by id")
    purge.add_argument("--filter", metavar="QUERY", help="nodes by MLMD filter query (with ids: both must hold)")
    purge.add_argument("--with-downstream", action="store_true",
                       help="also everything made from them (a bad dataset and all it fed)")
    purge.add_argument("--older-than", metavar="AGE", help="only nodes created longer ago, e.g. 90d, 12h, 30m")
    purge.add_argument("--state", action="append", metavar="STATE",
                       help="only nodes in this state (LIVE, DELETED, COMPLETE...); repeatable")
    purge.add_argument("--sample", type=int, default=10, metavar="N", help="nodes to list (default 10)")
    purge.add_argument("--yes", action="store_true", help="delete; without it nothing is deleted")

    commands.add_parser("serve", help="run the gRPC metadata server (lineage serve --help)", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from lineage.server import main as serve_main

        rest = argv[1:]
        if os.environ.get("LINEAGE_DB") and not any(
                a in ("--db", "--config") or a.startswith(("--db=", "--config=")) for a in rest):
            rest = ["--db", os.environ["LINEAGE_DB"], *rest]
        return serve_main(rest)
    parser = build_parser()
    args = parser.parse_args(argv)
    _quiet_libraries()
    try:
        return args.handler(args)
    except (errors.UnavailableError, errors.DeadlineExceededError, errors.AbortedError,
            errors.ResourceExhaustedError) as e:
        _fail(e)
        return EXIT_UNAVAILABLE
    except errors.StatusError as e:
        _fail(e)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("lineage: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (| head): say nothing more.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return EXIT_OK
    except OSError as e:
        # A file named on the command line (-o, --id-map) cannot be written.
        where = f": {e.filename}" if e.filename else ""
        print(f"lineage: {e.strerror or e}{where}", file=sys.stderr)
        return EXIT_USER_ERROR


def _fail(error: errors.StatusError) -> None:
    name = "UnavailableError" if isinstance(error, _Unavailable) else type(error).__name__
    lines = str(error.message).rstrip().split("\n")
    caret = []
    if len(lines) >= 3 and lines[-1].strip() == "^":
        # A query and a caret under the mistake: they only line up on lines of their own.
        lines, caret = lines[:-2], lines[-2:]
    message = f"lineage: {name}: " + " ".join(" ".join(lines).split())
    if sys.stderr.isatty():
        # A terminal would cut the line at its edge, mid-word; a pipe or a log keeps it whole.
        message = _wrap(message, shutil.get_terminal_size().columns)
    print("\n".join([message, *caret]), file=sys.stderr)


def _quiet_libraries() -> None:
    """Keeps driver and gRPC log lines off stderr: a failure is reported once, as a typed error."""
    import logging

    # gRPC's C core reads these when it loads; an explicit setting in the environment wins.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    os.environ.setdefault("GLOG_minloglevel", "3")
    root = logging.getLogger()
    if not root.handlers:
        # Without a handler Python prints WARNING records itself (the neo4j driver logs routing
        # failures that way just before raising the error we report).
        root.addHandler(logging.NullHandler())


if __name__ == "__main__":
    sys.exit(main())
