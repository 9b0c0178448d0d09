"""The demo: a small but realistic pipeline history, and the questions people ask of it.

Three daily runs of an ingest -> validate -> transform -> train -> evaluate ->
push pipeline are recorded with ``put_execution``, as an orchestrator would.
The second day's raw data is bad. The demo then asks which data trained the
latest model, which models descend from the bad dataset, and whether
re-running the trainer would be a cache hit, and draws one provenance DAG.
"""

from __future__ import annotations

import dataclasses
import pathlib

from lineage.metadata_store import MetadataStore
from lineage.proto import metadata_store_pb2 as pb

__all__ = ["record_history", "DemoHistory", "run_demo"]

_ARTIFACT_TYPES = {
    "RawData": {"day": pb.INT, "source": pb.STRING},
    "Statistics": {"day": pb.INT},
    "Schema": {},
    "Examples": {"day": pb.INT, "split": pb.STRING},
    "Model": {"day": pb.INT},
    "ModelEvaluation": {"accuracy": pb.DOUBLE},
    "PushedModel": {"version": pb.INT},
}
_EXECUTION_TYPES = {
    "ExampleGen": {}, "StatisticsGen": {}, "SchemaGen": {}, "Transform": {},
    "Trainer": {"learning_rate": pb.DOUBLE, "train_steps": pb.INT},
    "Evaluator": {}, "Pusher": {},
}


@dataclasses.dataclass
class DemoHistory:
    """Ids the demo's questions start from.

    Attributes:
        raw_data: Raw dataset id per day (1-based days).
        models: Model id per day.
        bad_day: The day whose raw data is bad.
        trainer_inputs: The latest trainer's inputs, by input key.
        trainer_properties: The latest trainer's properties.
        run_contexts: PipelineRun context id per day.
    """

    raw_data: dict[int, int]
    models: dict[int, int]
    bad_day: int
    trainer_inputs: dict[str, list[int]]
    trainer_properties: dict[str, object]
    run_contexts: dict[int, int]


def _path(key: str) -> pb.Event.Path:
    return pb.Event.Path(steps=[pb.Event.Path.Step(key=key), pb.Event.Path.Step(index=0)])


def record_history(store: MetadataStore, days: int = 3, bad_day: int = 2) -> DemoHistory:
    """Records ``days`` runs of the demo pipeline; returns the ids the questions need."""
    artifact_types = {}
    for name, props in _ARTIFACT_TYPES.items():
        artifact_types[name] = store.put_artifact_type(pb.ArtifactType(name=name, properties=props))
    execution_types = {}
    for name, props in _EXECUTION_TYPES.items():
        execution_types[name] = store.put_execution_type(pb.ExecutionType(name=name, properties=props))
    pipeline_type = store.put_context_type(pb.ContextType(name="Pipeline"))
    run_type = store.put_context_type(pb.ContextType(name="PipelineRun"))
    [pipeline_id] = store.put_contexts([pb.Context(type_id=pipeline_type, name="taxi")])
    pipeline = store.get_contexts_by_id([pipeline_id])[0]
    schema_id = None
    history = DemoHistory({}, {}, bad_day, {}, {}, {})

    for day in range(1, days + 1):
        [run_id] = store.put_contexts([pb.Context(type_id=run_type, name=f"taxi-day-{day}")])
        store.put_parent_contexts([pb.ParentContext(child_id=run_id, parent_id=pipeline_id)])
        run = store.get_contexts_by_id([run_id])[0]
        history.run_contexts[day] = run_id

        def step(step_type, inputs, outputs, properties=None, run=run):
            execution = pb.Execution(type_id=execution_types[step_type], last_known_state=pb.Execution.COMPLETE)
            for key, value in (properties or {}).items():
                field = "double_value" if isinstance(value, float) else "int_value"
                setattr(execution.properties[key], field, value)
            pairs = []
            for key, artifact_id in inputs.items():
                artifact = store.get_artifacts_by_id([artifact_id])[0]
                pairs.append((artifact, pb.Event(type=pb.Event.INPUT, path=_path(key))))
            for key, (type_name, uri, props) in outputs.items():
                artifact = pb.Artifact(type_id=artifact_types[type_name], uri=uri, state=pb.Artifact.LIVE)
                for prop, value in props.items():
                    field = {int: "int_value", float: "double_value", str: "string_value"}[type(value)]
                    setattr(artifact.properties[prop], field, value)
                pairs.append((artifact, pb.Event(type=pb.Event.OUTPUT, path=_path(key))))
            _, artifact_ids, _ = store.put_execution(
                execution, pairs, [pipeline, run], reuse_context_if_already_exist=True
            )
            return dict(zip(list(inputs) + list(outputs), artifact_ids, strict=True))

        source = "bad-export" if day == bad_day else "warehouse"
        raw = step("ExampleGen", {}, {"examples": ("RawData", f"/data/raw/day{day}", {"day": day, "source": source})})
        raw_id = raw["examples"]
        history.raw_data[day] = raw_id
        stats = step("StatisticsGen", {"examples": raw_id},
                     {"statistics": ("Statistics", f"/data/stats/day{day}", {"day": day})})["statistics"]
        if schema_id is None:
            schema_id = step("SchemaGen", {"statistics": stats}, {"schema": ("Schema", "/data/schema", {})})["schema"]
        transformed = step(
            "Transform", {"examples": raw_id, "schema": schema_id},
            {"transformed": ("Examples", f"/data/transformed/day{day}", {"day": day, "split": "train"})},
        )["transformed"]
        trainer_properties = {"learning_rate": 0.01, "train_steps": 1000 * day}
        trainer_inputs = {"examples": transformed, "schema": schema_id}
        model = step("Trainer", trainer_inputs,
                     {"model": ("Model", f"/models/day{day}", {"day": day})}, trainer_properties)["model"]
        history.models[day] = model
        history.trainer_inputs = {k: [v] for k, v in trainer_inputs.items()}
        history.trainer_properties = trainer_properties
        accuracy = 0.61 if day == bad_day else 0.90 + day / 100
        evaluation = step("Evaluator", {"model": model, "examples": transformed},
                          {"evaluation": ("ModelEvaluation", f"/eval/day{day}", {"accuracy": accuracy})})["evaluation"]
        step("Pusher", {"model": model, "evaluation": evaluation},
             {"pushed": ("PushedModel", f"/serving/taxi/{day}", {"version": day})})
    return history


def _answer(console, text: str) -> None:
    """Prints an answer indented under its question; in a terminal its wrapped lines are too."""
    from rich.padding import Padding

    if console.soft_wrap:  # a pipe or a file: one whole line, for grep
        console.print("   " + text)
    else:
        console.print(Padding(text, (0, 0, 0, 3)))


def _explain_older_raw_data(console, upstream, raw, history: DemoHistory, latest_day: int) -> None:
    """Says why raw data of an earlier day shows up upstream of the latest model: the path it takes."""
    import networkx as nx

    from lineage.render import short_id

    graph = upstream.to_networkx()
    model = ("artifact", history.models[latest_day])
    for artifact in raw:
        day = next(d for d, raw_id in history.raw_data.items() if raw_id == artifact.id)
        if day == latest_day:
            continue
        path = nx.shortest_path(graph, ("artifact", artifact.id), model)
        steps = " → ".join(f"{graph.nodes[n]['type']} {short_id(*n)}" for n in path)
        _answer(
            console,
            f"Why {artifact.uri} too: SchemaGen ran once, on day {day}'s statistics, and every later run "
            f"reads that schema, so day {day}'s raw data is part of the latest model's provenance by design, "
            f"not by mistake: {steps}"
        )


def run_demo(
    store: MetadataStore, picture: pathlib.Path, console=None, store_url: str | None = None
) -> DemoHistory:
    """Records the history, prints the answers, and writes the picture (HTML).

    Args:
        store: An empty store to record into.
        picture: Where to write the HTML picture.
        console: A rich Console to print to (default: stdout).
        store_url: The store's URL; for a lasting store the closing hints use it.

    Returns:
        The ids the demo's questions started from.
    """
    from rich.console import Console
    from rich.table import Table

    from lineage.render import short_id, to_html

    console = console or Console(highlight=False)
    history = record_history(store)
    lineage = store.lineage
    latest_day = max(history.models)
    latest_model = history.models[latest_day]

    console.print(
        f"[bold]Recorded[/bold] {len(history.models)} daily runs of a taxi-fare pipeline "
        "(ExampleGen → StatisticsGen → SchemaGen → Transform → Trainer → Evaluator → Pusher): "
        f"{len(store.get_artifacts())} artifacts, {len(store.get_executions())} executions, "
        f"{len(store.get_contexts())} contexts. Day {history.bad_day}'s raw data came from a bad export."
    )

    console.print(f"\n[bold]1. Which data trained the latest model (artifact {latest_model})?[/bold]")
    upstream = lineage.upstream([latest_model])
    table = Table(show_edge=False, pad_edge=False)
    for column in ("artifact", "type", "uri"):
        table.add_column(column)
    for artifact in upstream.artifacts:
        if artifact.id != latest_model:
            table.add_row(short_id("artifact", artifact.id), artifact.type, artifact.uri)
    console.print(table, soft_wrap=False)
    raw = [a for a in upstream.artifacts if a.type == "RawData"]
    _answer(
        console,
        f"{len(upstream)} nodes upstream, walked without a hop limit; raw data: "
        + ", ".join(a.uri for a in raw)
    )
    _explain_older_raw_data(console, upstream, raw, history, latest_day)

    bad = history.raw_data[history.bad_day]
    impacted_models = lineage.impacted(bad, "Model")
    impacted_pushes = lineage.impacted(bad, "PushedModel")
    console.print(
        f"\n[bold]2. Which models descend from the bad dataset (artifact {bad}, day {history.bad_day})?[/bold]"
    )
    _answer(
        console,
        (", ".join(f"model {m.id} ({m.uri})" for m in impacted_models) or "none")
        + "; pushed to serving: " + (", ".join(p.uri for p in impacted_pushes) or "none")
    )

    console.print("\n[bold]3. Would re-running the latest trainer be a cache hit?[/bold]")
    hit = lineage.find_reusable_execution("Trainer", history.trainer_inputs, history.trainer_properties)
    changed = dict(history.trainer_properties, learning_rate=0.02)
    miss = lineage.find_reusable_execution("Trainer", history.trainer_inputs, changed)
    if hit is not None:
        key = lineage.cache_key("Trainer", history.trainer_inputs, history.trainer_properties)
        _answer(
            console,
            f"yes: execution {hit.execution.id} already made model {hit.outputs['model'][0].id} from the "
            f"same inputs and properties (cache key {key[:16]}...)"
        )
    else:
        _answer(console, "no")
    _answer(
        console,
        f"with learning_rate=0.02 instead: {'a hit' if miss else 'no reusable execution, the step must run'}"
    )

    picture.write_text(
        to_html(upstream, title=f"Provenance of model {latest_model}", highlight=[("artifact", latest_model)]),
        encoding="utf-8",
    )
    console.print(f"\n[bold]Picture[/bold] of model {latest_model}'s provenance: {picture.resolve()}")
    if store_url and not store_url.startswith("memory:"):
        console.print(
            f"\nExplore the store: lineage ls artifacts --db {store_url}\n"
            f"                   lineage trace {latest_model} --db {store_url}\n"
            f"                   lineage stats --db {store_url}"
        )
    else:
        console.print(
            "\nThe store lived in memory and is gone. To explore it afterwards, keep it in a file: "
            "lineage demo --db sqlite:///demo.sqlite, then lineage ls artifacts / trace / graph / stats "
            "--db sqlite:///demo.sqlite"
        )
    return history
