"""Random provenance histories and MLMD lineage queries, played on any MLMD-style store.

Run with the python of the ml-metadata virtual environment (see
``scripts/mlmd-venv``)::

    python mlmd_lineage_peer.py SEED[:cyclic] ... [chain:STEPS]

For each seed it builds a random history in a fresh ml-metadata fake database
(``:cyclic`` adds events a faulty client could write, closing cycles), asks a
battery of ``get_lineage_subgraph`` questions and prints one JSON document on
stdout: ``{"api": {"version", "get_lineage_graph"}, "cases": {"SEED[:cyclic]":
{"history": ..., "answers": [...]}}}``; ``chain:STEPS`` asks about a long chain.

The test plays the same seeds on ``lineage.MetadataStore`` in its own process
through :func:`play` and compares the answers. Both stores get the same writes
in the same order, so their ids agree and answers compare by id. This module
imports nothing from ml-metadata or lineage at import time.
"""

from __future__ import annotations

import dataclasses
import json
import random
import sys
from types import ModuleType
from typing import Any

from google.protobuf import json_format

#: Fields that hold wall-clock times; they differ between any two runs.
TIME_FIELDS = ("create_time_since_epoch", "last_update_time_since_epoch", "milliseconds_since_epoch")

#: Every field of a LineageGraph, in proto order.
GRAPH_FIELDS = ("artifacts", "executions", "contexts", "events", "attributions", "associations",
                "artifact_types", "execution_types", "context_types")


@dataclasses.dataclass
class Api:
    """The pieces of the MLMD Python API the peer needs.

    Attributes:
        store: An open, empty ``MetadataStore``.
        pb: Its ``metadata_store_pb2`` module.
        errors: Its ``errors`` module.
    """

    store: Any
    pb: ModuleType
    errors: ModuleType


@dataclasses.dataclass
class History:
    """What :func:`build_history` wrote, by id.

    Attributes:
        artifacts: Artifact ids in write order.
        executions: Execution ids in write order.
        contexts: Context ids in write order.
        events: (artifact_id, execution_id, Event.Type) in write order.
    """

    artifacts: list[int] = dataclasses.field(default_factory=list)
    executions: list[int] = dataclasses.field(default_factory=list)
    contexts: list[int] = dataclasses.field(default_factory=list)
    events: list[tuple[int, int, int]] = dataclasses.field(default_factory=list)


def _event(pb: ModuleType, artifact_id: int, execution_id: int, kind: int, key: str, index: int):
    event = pb.Event(artifact_id=artifact_id, execution_id=execution_id, type=kind)
    event.path.steps.add().key = key
    event.path.steps.add().index = index
    return event


def build_history(api: Api, seed: int, *, executions: int = 40, cyclic: bool = False) -> History:
    """Writes a random pipeline history through the MLMD API.

    Executions are written in a topological order: each reads 0-3 existing
    artifacts (sometimes new raw ones) and writes 1-2 new ones, over all input
    and output event types. With ``cyclic`` a few output events then point
    from late executions back to early artifacts, as a faulty client could.
    A few contexts group random nodes. Layers (``custom_properties.layer``)
    and ``Raw`` / ``Data`` / ``Model`` types make filters meaningful.

    Args:
        api: The store and its modules.
        seed: Seed of the random choices; equal seeds give equal writes.
        executions: How many executions to write.
        cyclic: Whether to close cycles.

    Returns:
        The ids written.
    """
    rng = random.Random(seed)
    pb, store = api.pb, api.store
    history = History()
    artifact_types = {}
    for name in ("Raw", "Data", "Model"):
        artifact_type = pb.ArtifactType(name=name)
        artifact_type.properties["size"] = pb.INT
        artifact_types[name] = store.put_artifact_type(artifact_type)
    execution_types = {}
    for name in ("Transform", "Train"):
        execution_type = pb.ExecutionType(name=name)
        execution_type.properties["attempt"] = pb.INT
        execution_types[name] = store.put_execution_type(execution_type)
    run_type = store.put_context_type(pb.ContextType(name="Run"))
    layer: dict[int, int] = {}
    inputs = (pb.Event.INPUT, pb.Event.INPUT, pb.Event.DECLARED_INPUT, pb.Event.INTERNAL_INPUT)
    outputs = (pb.Event.OUTPUT, pb.Event.OUTPUT, pb.Event.DECLARED_OUTPUT,
               pb.Event.INTERNAL_OUTPUT, pb.Event.PENDING_OUTPUT)

    def new_artifact(type_name: str, depth: int) -> int:
        n = len(history.artifacts)
        artifact = pb.Artifact(type_id=artifact_types[type_name], name=f"a{n}",
                               uri=f"/data/a{n}", state=pb.Artifact.LIVE)
        artifact.properties["size"].int_value = rng.randrange(1000)
        artifact.custom_properties["layer"].int_value = depth
        [artifact_id] = store.put_artifacts([artifact])
        history.artifacts.append(artifact_id)
        layer[artifact_id] = depth
        return artifact_id

    for _ in range(3):
        new_artifact("Raw", 0)
    for n in range(executions):
        if rng.random() < 0.15:
            new_artifact("Raw", 0)
        chosen = rng.sample(history.artifacts, min(len(history.artifacts), rng.choice((0, 1, 1, 2, 2, 3))))
        depth = 1 + max((layer[a] for a in chosen), default=0)
        type_name = rng.choice(("Transform", "Transform", "Train"))
        execution = pb.Execution(type_id=execution_types[type_name], name=f"e{n}",
                                 last_known_state=pb.Execution.COMPLETE)
        execution.properties["attempt"].int_value = rng.randrange(3)
        execution.custom_properties["layer"].int_value = depth
        [execution_id] = store.put_executions([execution])
        history.executions.append(execution_id)
        events = [_event(pb, a, execution_id, rng.choice(inputs), "in", i) for i, a in enumerate(chosen)]
        made = [new_artifact("Model" if type_name == "Train" else "Data", depth)
                for _ in range(rng.choice((1, 1, 2)))]
        events += [_event(pb, a, execution_id, rng.choice(outputs), "out", i) for i, a in enumerate(made)]
        store.put_events(events)
        history.events.extend((e.artifact_id, e.execution_id, e.type) for e in events)
    if cyclic:
        late = history.executions[len(history.executions) // 2:]
        early = history.artifacts[: len(history.artifacts) // 3]
        taken = {(a, e) for a, e, _ in history.events}
        for _ in range(4):
            a, e = rng.choice(early), rng.choice(late)
            if (a, e) in taken:
                continue
            taken.add((a, e))
            store.put_events([_event(pb, a, e, pb.Event.OUTPUT, "back", 0)])
            history.events.append((a, e, pb.Event.OUTPUT))
    for n in range(3):
        context_id = store.put_contexts([pb.Context(type_id=run_type, name=f"run{n}")])[0]
        history.contexts.append(context_id)
        store.put_attributions_and_associations(
            [pb.Attribution(artifact_id=a, context_id=context_id)
             for a in rng.sample(history.artifacts, min(6, len(history.artifacts)))],
            [pb.Association(execution_id=e, context_id=context_id)
             for e in rng.sample(history.executions, min(4, len(history.executions)))],
        )
    return history


def build_chain(api: Api, steps: int) -> History:
    """Writes a chain raw -> step0 -> a1 -> step1 -> ... of ``steps`` executions."""
    pb, store = api.pb, api.store
    history = History()
    artifact_type = store.put_artifact_type(pb.ArtifactType(name="Link"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="Step"))
    [previous] = store.put_artifacts([pb.Artifact(type_id=artifact_type, name="link0")])
    history.artifacts.append(previous)
    for n in range(steps):
        [execution_id] = store.put_executions([pb.Execution(type_id=execution_type, name=f"step{n}")])
        [made] = store.put_artifacts([pb.Artifact(type_id=artifact_type, name=f"link{n + 1}")])
        store.put_events([pb.Event(artifact_id=previous, execution_id=execution_id, type=pb.Event.INPUT),
                          pb.Event(artifact_id=made, execution_id=execution_id, type=pb.Event.OUTPUT)])
        history.executions.append(execution_id)
        history.artifacts.append(made)
        previous = made
    return history


def questions(seed: int, history: History) -> list[dict[str, Any]]:
    """A seeded battery of get_lineage_subgraph questions, as plain data.

    Each question has ``start`` ("artifacts" or "executions") and ``filter``,
    optional ``direction`` (an enum name), ``hops``, ``ending`` (a list of
    {"kind", "filter", "include"}) and ``mask`` (field mask paths or None).
    """
    rng = random.Random(seed * 7919 + 1)
    directions = ("UPSTREAM", "DOWNSTREAM", "BIDIRECTIONAL", None)
    hops_choices = (0, 1, 2, 3, 4, 6, 9, None)
    masks = (None, None, None, ["artifacts"], ["events"], ["executions", "events"],
             ["contexts", "attributions", "associations"],
             ["artifact_types", "execution_types", "context_types"], ["artifacts", "context_types"])
    starts = [
        lambda: ("artifacts", f"name = 'a{rng.randrange(len(history.artifacts))}'"),
        lambda: ("artifacts", f"id = {rng.choice(history.artifacts)}"),
        lambda: ("artifacts", "type = 'Raw'"),
        lambda: ("artifacts", f"type = 'Model' AND custom_properties.layer.int_value <= {rng.randrange(2, 6)}"),
        lambda: ("artifacts", f"properties.size.int_value < {rng.randrange(50, 200)}"),
        lambda: ("executions", f"name = 'e{rng.randrange(len(history.executions))}'"),
        lambda: ("executions", "type = 'Train'"),
        lambda: ("executions", f"custom_properties.layer.int_value = {rng.randrange(1, 5)}"),
    ]
    endings = [
        ("artifacts", "type = 'Model'"),
        ("artifacts", "type = 'Raw'"),
        ("artifacts", f"custom_properties.layer.int_value = {rng.randrange(1, 4)}"),
        ("executions", "type = 'Train'"),
        ("executions", f"name = 'e{rng.randrange(len(history.executions))}'"),
    ]
    asked = []
    for _ in range(60):
        start, filter_query = rng.choice(starts)()
        question: dict[str, Any] = {
            "start": start, "filter": filter_query, "direction": rng.choice(directions),
            "hops": rng.choice(hops_choices), "mask": rng.choice(masks), "ending": [],
        }
        if rng.random() < 0.4:
            for kind, ending_filter in rng.sample(endings, rng.choice((1, 1, 2))):
                question["ending"].append(
                    {"kind": kind, "filter": ending_filter, "include": rng.random() < 0.5})
        asked.append(question)
    return asked


def chain_questions(history: History) -> list[dict[str, Any]]:
    """Questions about a chain: from both ends, up to and beyond 100 hops."""
    first, last = history.artifacts[0], history.artifacts[-1]
    asked = []
    for hops in (0, 1, 10, 99, 100, 101, 150, 200, 250, 400, None):
        asked.append({"start": "artifacts", "filter": f"id = {last}", "direction": "UPSTREAM",
                      "hops": hops, "mask": ["artifacts", "executions"], "ending": []})
        asked.append({"start": "artifacts", "filter": f"id = {first}", "direction": "DOWNSTREAM",
                      "hops": hops, "mask": ["artifacts", "events"], "ending": []})
    asked.append({"start": "artifacts", "filter": f"id = {last}", "direction": "UPSTREAM", "hops": 150,
                  "mask": ["artifacts"],
                  "ending": [{"kind": "artifacts", "filter": "name = 'link40'", "include": True}]})
    # Too many starting nodes, a starting filter that matches nothing, an odd mask.
    asked.append({"start": "artifacts", "filter": "type = 'Link'", "direction": "UPSTREAM", "hops": 1,
                  "mask": ["artifacts"], "ending": []})
    asked.append({"start": "executions", "filter": "name = 'nothing'", "direction": None, "hops": 1,
                  "mask": None, "ending": []})
    asked.append({"start": "artifacts", "filter": f"id = {last}", "direction": None, "hops": 2,
                  "mask": ["artifacts", "no_such_field"], "ending": []})
    asked.append({"start": "artifacts", "filter": f"id <= {first + 99}", "direction": "DOWNSTREAM",
                  "hops": 3, "mask": ["artifacts", "events"], "ending": []})
    asked.append({"start": "artifacts", "filter": f"id <= {first + 100}", "direction": "DOWNSTREAM",
                  "hops": 3, "mask": ["artifacts", "events"], "ending": []})
    return asked


def options_of(pb: ModuleType, question: dict[str, Any]):
    """Builds the LineageSubgraphQueryOptions of a question."""
    options_cls = pb.LineageSubgraphQueryOptions
    options = options_cls()
    getattr(options, f"starting_{question['start']}").filter_query = question["filter"]
    if question.get("direction"):
        options.direction = options_cls.Direction.Value(question["direction"])
    if question.get("hops") is not None:
        options.max_num_hops = question["hops"]
    for ending in question.get("ending", ()):
        field = getattr(options, f"ending_{ending['kind']}")
        field.filter_query = ending["filter"]
        field.include_ending_nodes = ending["include"]
    return options


def _plain(message) -> dict[str, Any]:
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return {k: v for k, v in data.items() if k not in TIME_FIELDS}


def canonical_graph(graph) -> dict[str, Any]:
    """A LineageGraph as comparable plain data: nodes and types by id, edges as sorted keys."""
    result: dict[str, Any] = {}
    for field in ("artifacts", "executions", "contexts", "artifact_types", "execution_types", "context_types"):
        result[field] = sorted((_plain(m) for m in getattr(graph, field)), key=lambda d: int(d.get("id", 0)))
    result["events"] = sorted(
        [e.artifact_id, e.execution_id, e.type, json.dumps(_plain(e.path), sort_keys=True)]
        for e in graph.events
    )
    result["attributions"] = sorted([a.artifact_id, a.context_id] for a in graph.attributions)
    result["associations"] = sorted([a.execution_id, a.context_id] for a in graph.associations)
    return result


def ask(api: Api, question: dict[str, Any]) -> dict[str, Any]:
    """Asks one question; returns the canonical graph or the error class."""
    try:
        graph = api.store.get_lineage_subgraph(options_of(api.pb, question), question.get("mask"))
    except api.errors.StatusError as e:
        return {"error": type(e).__name__}
    return {"graph": canonical_graph(graph)}


def play(api: Api, case: str) -> dict[str, Any]:
    """Builds the history of one case (``SEED``, ``SEED:cyclic`` or ``chain:STEPS``) and asks its questions."""
    if case.startswith("chain:"):
        history = build_chain(api, int(case.split(":")[1]))
        asked = chain_questions(history)
    else:
        seed_text, _, flavour = case.partition(":")
        history = build_history(api, int(seed_text), cyclic=flavour == "cyclic")
        asked = questions(int(seed_text), history)
    result = {
        "history": dataclasses.asdict(history),
        "answers": [{"question": q, **ask(api, q)} for q in asked],
    }
    # Through JSON and back, so both sides compare as the same plain types.
    return json.loads(json.dumps(result))


def _mlmd_api() -> Api:
    import ml_metadata as mlmd
    from ml_metadata import errors
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig(fake_database=metadata_store_pb2.FakeDatabaseConfig())
    return Api(mlmd.MetadataStore(config), metadata_store_pb2, errors)


def main(argv: list[str]) -> int:
    """Plays each case named on the command line on a fresh ml-metadata store."""
    import ml_metadata

    results = {
        "api": {
            "version": ml_metadata.__version__,
            "get_lineage_graph": hasattr(ml_metadata.MetadataStore, "get_lineage_graph"),
        },
        "cases": {case: play(_mlmd_api(), case) for case in argv},
    }
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
