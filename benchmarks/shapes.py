"""Query-shape benchmark: MLMD's whole read surface, lineage beside ml-metadata.

One script, two roles. With ``--target NAME`` (a target of
``benchmarks/workload.py``) it builds a history in a fresh store of that target,
times every shape and prints one JSON object (progress goes to stderr); it runs
under the interpreter of that target's implementation. With ``--targets`` it
runs each target in its own process (``--target NAME --serve``): the histories
are written side by side, a run of each target in turn, then every shape is
timed with the targets' calls interleaved, a short turn of calls of each in
turn (``--turn-calls``), so that the load of a shared machine falls on all of
them alike. It prints one table:
per shape the median of each target, the result size, and for every lineage
target the ratio ml-metadata / lineage (above 1 = lineage is faster), plus the
geometric mean of the ratios.

History: the pipeline of ``benchmarks/workload.py`` (``runs`` runs of ``steps``
chained steps, one ``PipelineRun`` context per run), and per run one more
``Trainer`` execution that reads the last ``Examples`` and writes a ``Model``
(``accuracy`` DOUBLE, ``day`` INT, custom ``framework`` STRING, a name on two
models of three). Every run context is a child of one ``Pipeline`` context.
Executions = runs x (steps + 1). Every write is one ``put_execution`` call and
is timed; ``put_lineage_subgraph`` is timed on extra runs written at the end.

Every shape returns a result size; the table marks a lineage result whose size
differs from ml-metadata's as WRONG.

Usage::

    python benchmarks/shapes.py --runs 100 --repeat 3                    # memory and SQLite, both systems
    python benchmarks/shapes.py --runs 1000 --targets mlmd-fake,lineage-memory
    python benchmarks/shapes.py --target lineage-memory --runs 100       # one child, JSON only
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import (  # noqa: E402
    SERVER_URL_ENV,
    TARGETS,
    RssPeak,
    Workload,
    connection_config,
    empty_neo4j,
    load_api,
    log,
    rss_kib,
    run_name,
    server_database,
)

__all__ = ["main", "measure"]

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DEFAULT_TARGETS = "mlmd-fake,lineage-memory,mlmd-sqlite,lineage-sqlite"

#: A shape stops repeating once it has spent this long (after ``MIN_REPEAT`` calls).
BUDGET_S = 4.0
MIN_REPEAT = 3
#: Untimed calls before a shape's timed ones (both systems alike): a first
#: call compiles this project's statements and both systems' first calls fill
#: the server's caches for a new statement. A shape whose first call took
#: most of a second gets no second warm-up call.
WARMUP_CALLS = 2
#: A turn of an interleaved run: up to this many calls of one target (the
#: default of ``--turn-calls``), fewer when they would take longer than
#: ``TURN_S``. With one call a turn, each call starts from caches the other
#: targets' processes have just filled: a read of 0.1 ms then measures the
#: CPU's cold caches more than the store.
TURN_CALLS = 5
TURN_S = 0.05
#: How many calls of a shape ``--profile`` records.
PROFILE_CALLS = 20
#: How many extra runs are written with put_lineage_subgraph.
SUBGRAPH_RUNS = 50


def accuracy_of(run: int) -> float:
    """A deterministic accuracy in [0, 1) spread over the runs."""
    return ((run * 7919) % 10007) / 10007.0


class ShapeWorkload(Workload):
    """The pipeline history of ``Workload`` plus models, a parent context and the shapes."""

    def put_types(self) -> None:
        super().put_types()
        pb = self.pb
        model = pb.ArtifactType(name="Model")
        model.properties["accuracy"] = pb.DOUBLE
        model.properties["day"] = pb.INT
        self.model_type = self.store.put_artifact_type(model)
        trainer = pb.ExecutionType(name="Trainer")
        trainer.properties["day"] = pb.INT
        self.trainer_type = self.store.put_execution_type(trainer)
        pipeline = pb.ContextType(name="Pipeline")
        self.pipeline_type = self.store.put_context_type(pipeline)
        [self.pipeline_id] = self.store.put_contexts([pb.Context(type_id=self.pipeline_type, name="bench")])
        self.model_ids: list[int] = []
        self.raw_ids: list[int] = []
        self.context_ids: list[int] = []

    def put_model(self, run: int, examples: Any, context: Any,
                  on_execution: Callable[[float], None]) -> None:
        """Writes the run's Trainer execution and its Model with one put_execution."""
        pb = self.pb
        execution = pb.Execution(type_id=self.trainer_type, last_known_state=pb.Execution.COMPLETE)
        execution.properties["day"].int_value = run % 365
        model = pb.Artifact(type_id=self.model_type, uri=f"/models/{run_name(run)}", state=pb.Artifact.LIVE)
        model.properties["accuracy"].double_value = accuracy_of(run)
        model.properties["day"].int_value = run % 365
        model.custom_properties["framework"].string_value = ("tf", "torch", "jax")[run % 3]
        if run % 3:
            model.name = f"model-{run_name(run)}"
        pairs = [
            (examples, self._event(pb.Event.INPUT, "examples")),
            (model, self._event(pb.Event.OUTPUT, "model")),
        ]
        t0 = time.perf_counter()
        execution_id, artifact_ids, _ = self.store.put_execution(
            execution, pairs, [context])
        on_execution(time.perf_counter() - t0)
        self.execution_ids.append(execution_id)
        self.model_ids.append(artifact_ids[1])

    def ingest(self, on_execution: Callable[[float], None], start: int = 0, stop: int | None = None) -> None:
        """Writes the runs from ``start`` to ``stop`` (all by default): each run, its model and its parent link."""
        pb = self.pb
        for run in range(start, self.runs if stop is None else stop):
            first_artifact = len(self.artifact_ids)
            self.put_run(run, on_execution)
            self.raw_ids.append(self.artifact_ids[first_artifact])
            [context] = self.store.get_contexts_by_execution(self.execution_ids[-1])
            self.context_ids.append(context.id)
            # The stored last Examples, whole: put_execution upserts what it is given.
            [last] = self.store.get_artifacts_by_id([self.artifact_ids[-1]])
            self.put_model(run, last, context, on_execution)
            self.store.put_parent_contexts(
                [pb.ParentContext(child_id=context.id, parent_id=self.pipeline_id)])
            if (run + 1) % max(1, self.runs // 10) == 0:
                log(f"  {run + 1}/{self.runs} runs")

    def put_subgraph_run(self, run: int) -> Callable[[], Any]:
        """A call writing one more run of three chained steps with put_lineage_subgraph."""
        pb = self.pb
        context = pb.Context(type_id=self.run_type, name=f"sub-{run_name(run)}")
        context.properties["pipeline"].string_value = "sub"
        executions, artifacts, edges = [], [], []
        for step in range(3):
            e = pb.Execution(type_id=self.step_types[step], last_known_state=pb.Execution.COMPLETE)
            e.properties["step"].int_value = step
            executions.append(e)
        for step in range(4):
            a = pb.Artifact(type_id=self.examples_type, uri=f"/sub/{run_name(run)}/{step}",
                            state=pb.Artifact.LIVE)
            a.properties["step"].int_value = step
            artifacts.append(a)
        for step in range(3):
            edges.append((step, step, self._event(pb.Event.INPUT, "examples")))
            edges.append((step, step + 1, self._event(pb.Event.OUTPUT, "examples")))
        return lambda: self.store.put_lineage_subgraph(
            executions, artifacts, [context], edges, reuse_context_if_already_exist=True)

    def shapes(self) -> list[tuple[str, Callable[[], int]]]:
        """The timed shapes: ``(label, call returning a result size)``."""
        mlmd, pb, store = self.mlmd, self.pb, self.store
        lo = mlmd.ListOptions
        n_art = len(self.artifact_ids)
        mid = self.runs // 2
        ctx = self.context_ids[mid]
        ids100 = self.artifact_ids[:: max(1, n_art // 100)][:100]
        eids100 = self.execution_ids[:: max(1, len(self.execution_ids) // 100)][:100]
        last_exec = self.execution_ids[mid * (self.steps + 1) + 2]
        uri_a = f"/models/{run_name(mid)}"
        uri_b = f"/models/{run_name(mid + 1)}"
        names = ", ".join(f'"model-{run_name(r)}"' for r in range(1, min(self.runs, 31)) if r % 3)
        first_100_end = self.execution_ids[min(100, len(self.execution_ids) - 1)]

        def arts(q: str, **kw: Any) -> Callable[[], int]:
            return lambda: len(store.get_artifacts(list_options=lo(filter_query=q, **kw)))

        def execs(q: str, **kw: Any) -> Callable[[], int]:
            return lambda: len(store.get_executions(list_options=lo(filter_query=q, **kw)))

        def ctxs(q: str) -> Callable[[], int]:
            return lambda: len(store.get_contexts(list_options=lo(filter_query=q)))

        def each_call_another_run(read: Callable[[int], int]) -> Callable[[], int]:
            # The same runs in the same order on both systems; a store that
            # keeps anything per value read gains nothing from repeats.
            calls = itertools.count(1)
            return lambda: read(next(calls) * 7919 % self.runs)

        def subgraph(start: int, direction: Any) -> Callable[[], int]:
            options = pb.LineageSubgraphQueryOptions(max_num_hops=20, direction=direction)
            options.starting_artifacts.filter_query = f"id = {start}"

            def call() -> int:
                g = store.get_lineage_subgraph(options)
                return len(g.artifacts) + len(g.executions) + len(g.contexts) + len(g.events)
            return call

        directions = pb.LineageSubgraphQueryOptions
        latest = {"order_by": mlmd.OrderByField.CREATE_TIME, "is_asc": False, "limit": 10}
        return [
            ("all artifacts", lambda: len(store.get_artifacts())),
            ("all executions", lambda: len(store.get_executions())),
            ("all contexts", lambda: len(store.get_contexts())),
            ("artifacts by type Model", lambda: len(store.get_artifacts_by_type("Model"))),
            ("executions by type Step3", lambda: len(store.get_executions_by_type("Step3"))),
            ("artifacts by context", lambda: len(store.get_artifacts_by_context(ctx))),
            ("executions by context", lambda: len(store.get_executions_by_context(ctx))),
            ("artifacts by context, another each call", each_call_another_run(
                lambda run: len(store.get_artifacts_by_context(self.context_ids[run])))),
            ("artifacts by 100 ids", lambda: len(store.get_artifacts_by_id(ids100))),
            ("executions by 100 ids", lambda: len(store.get_executions_by_id(eids100))),
            ("artifacts by uri", lambda: len(store.get_artifacts_by_uri(uri_a))),
            ("events by 100 artifact ids", lambda: len(store.get_events_by_artifact_ids(ids100))),
            ("events by 100 execution ids", lambda: len(store.get_events_by_execution_ids(eids100))),
            ("f: id > last-100", arts(f"id > {self.artifact_ids[-1] - 100}")),
            ('f: type = "Model"', arts('type = "Model"')),
            ("f: type AND accuracy > 0.99", arts('type = "Model" AND properties.accuracy.double_value > 0.99')),
            ("f: accuracy > 0.99", arts("properties.accuracy.double_value > 0.99")),
            ("f: day range (int)", arts("properties.day.int_value >= 40 AND properties.day.int_value < 43")),
            ("f: custom framework = tf", arts('custom_properties.framework.string_value = "tf"')),
            ("f: uri LIKE", arts(f'uri LIKE "%/{run_name(mid)}/%"')),
            ("f: uri = A OR uri = B", arts(f'uri = "{uri_a}" OR uri = "{uri_b}"')),
            ("f: uri =, another each call", each_call_another_run(lambda run: len(store.get_artifacts(
                list_options=lo(filter_query=f'uri = "/models/{run_name(run)}"'))))),
            ("f: name IN (20)", arts(f"name IN ({names})")),
            ("f: Model AND name IS NULL", arts('type = "Model" AND name IS NULL')),
            ("f: NOT type = Examples", arts('NOT(type = "Examples")')),
            ("f: create time range", execs(f"create_time_since_epoch >= 0 AND id < {first_100_end}")),
            ("f: contexts_a.name (artifacts)", arts(f'contexts_a.name = "{run_name(mid)}"')),
            ("f: contexts_a type+name (executions)",
             execs(f'contexts_a.type = "PipelineRun" AND contexts_a.name = "{run_name(mid)}"')),
            ("f: parent_contexts_a.name (contexts)", ctxs('parent_contexts_a.name = "bench"')),
            ("f: child_contexts_a.name (contexts)", ctxs(f'child_contexts_a.name = "{run_name(mid)}"')),
            ("f: events_0.execution_id (artifacts)", arts(f"events_0.execution_id = {last_exec}")),
            ("latest 10 models (create time)", arts('type = "Model"', **latest)),
            ("latest 10 executions (update time)",
             lambda: len(store.get_executions(list_options=lo(
                 order_by=mlmd.OrderByField.UPDATE_TIME, is_asc=False, limit=10)))),
            ("page all Examples by create time", arts('type = "Examples"', order_by=mlmd.OrderByField.CREATE_TIME)),
            ("lineage subgraph upstream of model", subgraph(self.model_ids[mid], directions.UPSTREAM)),
            ("lineage subgraph downstream of raw", subgraph(self.raw_ids[mid], directions.DOWNSTREAM)),
        ]


class ShapeRunner:
    """The shapes of one target's history, called on request.

    A shape's first request makes its ``WARMUP_CALLS`` untimed calls first.
    """

    def __init__(self, wl: ShapeWorkload) -> None:
        self.calls = dict(wl.shapes())
        self.warmed: set[str] = set()

    def labels(self) -> list[str]:
        return list(self.calls)

    def run(self, label: str, calls: int) -> tuple[list[float], list[float], int]:
        """Makes ``calls`` timed calls of one shape.

        Returns:
            Wall times, CPU times of this process, and the last result size.
        """
        fn = self.calls[label]
        if label not in self.warmed:
            self.warmed.add(label)
            for _ in range(WARMUP_CALLS):
                t0 = time.perf_counter()
                fn()
                if time.perf_counter() - t0 > BUDGET_S / 5:
                    break
        times: list[float] = []
        cpu: list[float] = []
        size = -1
        for _ in range(calls):
            c0, t0 = time.process_time(), time.perf_counter()
            size = fn()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return times, cpu, size


def shape_entry(times: list[float], cpu: list[float], size: int) -> dict[str, Any]:
    """A shape's figures in a result: medians in ms, result size, number of calls."""
    return {"median_ms": statistics.median(times) * 1000, "cpu_ms": statistics.median(cpu) * 1000,
            "size": size, "n": len(times)}


def turn_calls(times: list[float], args: argparse.Namespace) -> int:
    """How many calls a target's next turn makes, from its calls of the shape so far.

    One call first; then up to ``args.turn_calls`` that fit in ``TURN_S`` by
    the calls' median, never more than the shape still needs.
    """
    if not times:
        return 1
    fit = int(TURN_S / max(statistics.median(times), 1e-9))
    return max(1, min(args.turn_calls, fit, args.repeat - len(times)))


def enough(times: list[float], repeat: int) -> bool:
    """Whether a shape has been called often enough: ``repeat`` calls, or ``BUDGET_S`` spent after ``MIN_REPEAT``."""
    return len(times) >= repeat or (len(times) >= MIN_REPEAT and sum(times) > BUDGET_S)


class History:
    """One target's history in a fresh store, written a number of runs at a time.

    Every ``put_execution`` is timed; the peak RSS is followed from the first
    run written to the last.
    """

    def __init__(self, target_name: str, runs: int, steps: int, workdir: str) -> None:
        target = TARGETS[target_name]
        mlmd, pb, version = load_api(target.impl)
        config, db_path = connection_config(pb, target, workdir)
        if db_path is not None and os.path.exists(db_path):
            os.remove(db_path)
        if target.backend == "neo4j":
            empty_neo4j(config.neo4j.uri)
        self.result: dict[str, Any] = {"target": target_name, "version": version, "runs": runs, "steps": steps,
                                       "executions": runs * (steps + 1), "shapes": {}, "errors": {}}
        if target.backend in SERVER_URL_ENV:
            self.result["database"] = server_database(target)
        self.wl = ShapeWorkload(mlmd, pb, mlmd.MetadataStore(config), runs, steps)
        self.wl.put_types()
        log(f"[{target_name}] ingesting {runs} runs x {steps + 1} executions ...")
        # After the imports and the store's own start-up: what remains is the records' cost.
        self._before = rss_kib()
        self._peak = RssPeak()
        self._put_times: list[float] = []
        self._written = 0
        self._seconds = 0.0

    @property
    def complete(self) -> bool:
        return self._written >= self.wl.runs

    def write(self, runs: int) -> None:
        """Writes up to ``runs`` more runs; the last of them ends the peak RSS watch."""
        if self._written == 0:
            self._peak.__enter__()
        stop = min(self.wl.runs, self._written + runs)
        t0 = time.perf_counter()
        self.wl.ingest(self._put_times.append, self._written, stop)
        self._seconds += time.perf_counter() - t0
        self._written = stop
        if self.complete:
            self._peak.__exit__(None, None, None)
            result = self.result
            result["ingest_s"] = self._seconds
            if self._before.get("rss") and self._peak.peak:
                result["peak_rss_kib_per_1k_executions"] = (
                    (self._peak.peak - self._before["rss"]) * 1000.0 / result["executions"])
            result["shapes"]["put_execution"] = {"median_ms": statistics.median(self._put_times) * 1000,
                                                 "size": len(self._put_times)}


def measure(target_name: str, runs: int, steps: int, repeat: int, workdir: str,
            profile: str | None = None) -> dict[str, Any]:
    """Builds the history in a fresh store of one target and times every shape, alone.

    With ``profile`` (comma-separated texts), the shapes whose label holds one
    of them run ``PROFILE_CALLS`` more times under cProfile, whose top entries go to stderr.
    """
    history = History(target_name, runs, steps, workdir)
    history.write(runs)
    wl, result = history.wl, history.result
    runner = ShapeRunner(wl)
    for label in runner.labels():
        times: list[float] = []
        cpu: list[float] = []
        try:
            while not enough(times, repeat):
                more_times, more_cpu, size = runner.run(label, 1)
                times += more_times
                cpu += more_cpu
        except Exception as e:  # noqa: BLE001 - a failing shape is a result
            result["errors"][label] = f"{type(e).__name__}: {e}"[:300]
            log(f"[{target_name}] {label}: {result['errors'][label]}")
            continue
        result["shapes"][label] = shape_entry(times, cpu, size)
        log(f"[{target_name}] {label}: {result['shapes'][label]['median_ms']:.2f} ms, {size} results, "
            f"{len(times)} calls")
        if profile is not None and any(part and part in label for part in profile.split(",")):
            _profile(runner.calls[label])
    finish(wl, result)
    return result


def finish(wl: ShapeWorkload, result: dict[str, Any]) -> None:
    """Times ``put_lineage_subgraph`` on the extra runs, last: it adds to the history."""
    sub_times = time_subgraph_runs(wl)
    result["shapes"]["put_lineage_subgraph"] = {"median_ms": statistics.median(sub_times) * 1000,
                                                "size": len(sub_times)}


def serve(target_name: str, runs: int, steps: int, workdir: str) -> None:
    """A child of an interleaved run: answers the driver's requests, one JSON line each.

    Requests, one JSON object per line on stdin: ``{"write": n}`` writes up to
    n more runs of the history (answers ``{"complete": bool}``, and once
    complete the result so far and the shapes' labels); ``{"label": L,
    "calls": k}`` makes k timed calls of a shape (``{"wall", "cpu", "size"}``
    or ``{"error"}``); ``{"subgraph": i}`` writes the extra run i with one
    timed ``put_lineage_subgraph`` (``{"wall"}``). A first line says the store
    is open; the end of stdin ends the child.
    """
    history = History(target_name, runs, steps, workdir)
    runner = None
    _answer({"open": True})
    for line in sys.stdin:
        request = json.loads(line)
        if "write" in request:
            history.write(request["write"])
            answer: dict[str, Any] = {"complete": history.complete}
            if history.complete:
                runner = ShapeRunner(history.wl)
                answer.update(result=history.result, labels=runner.labels())
            _answer(answer)
        elif "subgraph" in request:
            _answer({"wall": time_subgraph_run(history.wl, request["subgraph"])})
        else:
            try:
                times, cpu, size = runner.run(request["label"], request["calls"])
            except Exception as e:  # noqa: BLE001 - a failing shape is a result
                _answer({"error": f"{type(e).__name__}: {e}"[:300]})
                continue
            _answer({"wall": times, "cpu": cpu, "size": size})


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def time_subgraph_run(wl: ShapeWorkload, run: int) -> float:
    """Writes extra run ``run`` with one put_lineage_subgraph; returns the call's seconds."""
    call = wl.put_subgraph_run(run)
    t0 = time.perf_counter()
    call()
    return time.perf_counter() - t0


def time_subgraph_runs(wl: ShapeWorkload) -> list[float]:
    """Writes ``SUBGRAPH_RUNS`` more runs with put_lineage_subgraph; returns each call's seconds."""
    return [time_subgraph_run(wl, run) for run in range(SUBGRAPH_RUNS)]


def _profile(call: Callable[[], int]) -> None:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    # Several calls, after the timed ones: first-use costs (statement
    # compilation, caches) are not what a profile of a steady shape should show.
    for _ in range(PROFILE_CALLS):
        profiler.runcall(call)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    log(out.getvalue())


# ---------------------------------------------------------------- driver

class _Child:
    """A target's ``--serve`` process: one JSON request and one JSON answer per line."""

    def __init__(self, python: str, target: str, args: argparse.Namespace) -> None:
        import subprocess

        cmd = [python, str(Path(__file__).resolve()), "--target", target, "--serve",
               "--runs", str(args.runs), "--steps", str(args.steps)]
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        log(f"== {target}: {python}")
        self.target = target
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env, cwd=HERE.parent)

    def receive(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.target} exited ({self.proc.wait()})")
        return json.loads(line)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def close(self) -> None:
        """Ends the child: the end of its stdin, or a kill when it does not exit within a minute."""
        import subprocess

        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def run_interleaved(targets: list[str], pythons: dict[str, str], args: argparse.Namespace
                    ) -> dict[str, dict[str, Any]]:
    """Builds the targets' histories and times the shapes, the targets' calls interleaved.

    The histories are written side by side, a run of each target in turn;
    then, per shape, every target takes a turn of calls (``turn_calls``) in
    turn until each has made enough (``enough``); last, every target writes the extra runs with
    ``put_lineage_subgraph``, a call of each in turn. A burst of load on a
    shared machine thus falls on every target alike, writes included.

    Returns:
        Per target its result (``{"failed": ...}`` when its process failed).
    """
    children: dict[str, _Child] = {}
    results: dict[str, dict[str, Any]] = {}
    labels: list[str] = []
    try:
        for name in targets:
            child = _Child(pythons[TARGETS[name].impl], name, args)
            try:
                child.receive()
            except (RuntimeError, ValueError) as e:
                child.close()
                results[name] = {"target": name, "failed": str(e)}
                continue
            children[name] = child
        writing = list(children)
        while writing:
            for name in list(writing):
                answer = children[name].ask({"write": 1})
                if answer["complete"]:
                    writing.remove(name)
                    results[name] = answer["result"]
                    labels += [label for label in answer["labels"] if label not in labels and chosen(label, args)]
        for label in labels:
            figures = {name: ([], [], -1) for name in children}
            active = list(children)
            while active:
                for name in list(active):
                    times = figures[name][0]
                    answer = children[name].ask({"label": label, "calls": turn_calls(times, args)})
                    if "error" in answer:
                        results[name]["errors"][label] = answer["error"]
                        log(f"[{name}] {label}: {answer['error']}")
                        active.remove(name)
                        continue
                    times, cpu, _ = figures[name]
                    figures[name] = (times + answer["wall"], cpu + answer["cpu"], answer["size"])
                    if enough(figures[name][0], args.repeat):
                        active.remove(name)
            for name, (times, cpu, size) in figures.items():
                if times and label not in results[name]["errors"]:
                    results[name]["shapes"][label] = shape_entry(times, cpu, size)
            log(f"{label}: " + ", ".join(
                f"{name} {results[name]['shapes'][label]['median_ms']:.2f} ms"
                for name in children if label in results[name]["shapes"]))
        writes: dict[str, list[float]] = {name: [] for name in children}
        for run in range(SUBGRAPH_RUNS if chosen("put_lineage_subgraph", args) else 0):
            for name, child in children.items():
                writes[name].append(child.ask({"subgraph": run})["wall"])
        for name, times in writes.items():
            if not times:
                continue
            results[name]["shapes"]["put_lineage_subgraph"] = {"median_ms": statistics.median(times) * 1000,
                                                               "size": len(times)}
    finally:
        for child in children.values():
            child.close()
    return results


def chosen(label: str, args: argparse.Namespace) -> bool:
    """Whether ``--only`` leaves the shape ``label`` in the run (without it, every shape is)."""
    return not args.only or any(part and part in label for part in args.only.split(","))


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several rounds of one target: per shape the median of the rounds' medians.

    Rounds of the targets alternate (A B A B ...), so a burst of load on a
    shared machine falls on both systems instead of on whichever ran then.
    """
    if len(rounds) == 1 or any("failed" in r for r in rounds):
        return next((r for r in rounds if "failed" in r), rounds[0])
    merged = dict(rounds[0], rounds=len(rounds))
    shapes: dict[str, dict[str, Any]] = {}
    for label, first in rounds[0]["shapes"].items():
        entries = [r["shapes"][label] for r in rounds if label in r["shapes"]]
        shape = dict(first)
        for metric in ("median_ms", "cpu_ms"):
            if all(metric in e for e in entries):
                shape[metric] = statistics.median(e[metric] for e in entries)
        sizes = {e["size"] for e in entries}
        if len(sizes) > 1:
            shape["size"] = f"differs between rounds: {sorted(sizes)}"
        shapes[label] = shape
    merged["shapes"] = shapes
    merged["errors"] = {k: v for r in rounds for k, v in (r.get("errors") or {}).items()}
    peaks = [r["peak_rss_kib_per_1k_executions"] for r in rounds if r.get("peak_rss_kib_per_1k_executions")]
    if peaks:
        merged["peak_rss_kib_per_1k_executions"] = statistics.median(peaks)
    return merged


def build_table(results: dict[str, dict[str, Any]], metric: str = "median_ms"
                ) -> tuple[list[str], list[list[str]], dict[str, float]]:
    """One row per shape: medians, result size, ml-metadata / lineage ratios; and geometric means.

    ``metric`` is ``median_ms`` (wall) or ``cpu_ms`` (this process's CPU; ingest
    rows have wall times only, and a server's work is not in it).
    """
    from run import fmt

    names = [n for n in results if "failed" not in results[n]]
    pairs = [(n, TARGETS[n].baseline) for n in names if TARGETS[n].baseline in names]
    labels: list[str] = []
    for n in names:
        for label in [*results[n]["shapes"], *results[n]["errors"]]:
            if label not in labels:
                labels.append(label)
    header = ["shape", "size", *(f"{n} ms" for n in names), *(f"{b} / {o}" for o, b in pairs)]
    rows = []
    logs: dict[str, list[float]] = {o: [] for o, _ in pairs}
    for label in labels:
        sizes = {results[n]["shapes"][label]["size"] for n in names if label in results[n]["shapes"]}
        row = [label, "/".join(str(s) for s in sorted(sizes))]
        for n in names:
            entry = results[n]["shapes"].get(label)
            row.append(fmt(entry.get(metric, entry["median_ms"])) if entry else "error")
        for ours, base in pairs:
            a, b = results[ours]["shapes"].get(label), results[base]["shapes"].get(label)
            if not a or not b:
                row.append("-")
                continue
            ratio = b.get(metric, b["median_ms"]) / a.get(metric, a["median_ms"])
            logs[ours].append(math.log(ratio))
            wrong = "" if a["size"] == b["size"] else " WRONG"
            row.append(f"{ratio:.2f}x{wrong}")
        rows.append(row)
    means = {o: math.exp(sum(v) / len(v)) for o, v in logs.items() if v}
    mem = ["peak RSS KiB / 1k executions", ""]
    for n in names:
        value = results[n].get("peak_rss_kib_per_1k_executions")
        mem.append(fmt(value) if value is not None else "-")
    for ours, base in pairs:
        a = results[ours].get("peak_rss_kib_per_1k_executions")
        b = results[base].get("peak_rss_kib_per_1k_executions")
        mem.append(f"{b / a:.2f}x" if a and b else "-")
    rows.append(mem)
    rows.append(["geometric mean of ratios", "", *([""] * len(names)),
                 *(f"{means[o]:.2f}x" if o in means else "-" for o, _ in pairs)])
    return header, rows, means


def drive(args: argparse.Namespace) -> int:
    from run import drop_database, mlmd_python, print_table, server_urls

    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise SystemExit(f"unknown targets {unknown}; choose from {', '.join(TARGETS)}")
    pythons = {"lineage": sys.executable}
    if any(TARGETS[t].impl == "mlmd" for t in targets):
        pythons["mlmd"] = args.mlmd_python or mlmd_python()
    servers = {TARGETS[t].backend for t in targets} & set(SERVER_URL_ENV)
    if servers:
        server_urls(servers)
    started = dt.datetime.now(dt.timezone.utc)
    reused: dict[str, Any] = {}
    if args.reuse:
        reused = json.loads(args.reuse.read_text())["targets"]
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for _ in range(args.rounds):
        measured = []
        for name in targets:
            kept = reused.get(name) if TARGETS[name].impl == "mlmd" else None
            if (kept is not None and "failed" not in kept and kept["runs"] == args.runs
                    and kept["steps"] == args.steps
                    and (not args.cpu or any("cpu_ms" in e for e in kept["shapes"].values()))):
                log(f"== {name}: from {args.reuse}")
                rounds[name].append(kept)
            else:
                measured.append(name)
        for name, result in run_interleaved(measured, pythons, args).items():
            rounds[name].append(result)
            if TARGETS[name].backend in SERVER_URL_ENV:
                drop_database(TARGETS[name].backend, result.get("database"))
    results = {name: merge_rounds(kept) for name, kept in rounds.items()}
    metric = "cpu_ms" if args.cpu else "median_ms"
    header, rows, means = build_table(results, metric)
    executions = args.runs * (args.steps + 1)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    title = (f"{args.runs} runs x {args.steps + 1} executions = {executions:,} executions; "
             f"{'CPU' if args.cpu else 'wall'} medians of "
             f"{MIN_REPEAT}-{args.repeat} calls in turns of up to {args.turn_calls}; ratio = ml-metadata / lineage (above 1 = lineage faster); "
             f"load {load:.1f}")
    print_table(title, header, rows)
    for name, r in results.items():
        for label, err in (r.get("errors") or {}).items():
            print(f"{name} {label}: {err}")
        if "failed" in r:
            print(f"{name} failed: {r['failed']}")
    args.out.mkdir(parents=True, exist_ok=True)
    storages = "-".join(sorted({TARGETS[t].backend for t in targets}))
    path = args.out / f"shapes-{started.strftime('%Y%m%dT%H%M%SZ')}-E{executions}-{storages}.json"
    path.write_text(json.dumps({"started": started.isoformat(timespec="seconds"),
                                "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                            "load1": load},
                                "settings": {k: str(v) for k, v in vars(args).items()},
                                "geometric_means": means, "targets": results}, indent=2) + "\n")
    print(f"results: {path}")
    wrong = any("WRONG" in cell for row in rows for cell in row)
    return 1 if wrong or any("failed" in r or r.get("errors") for r in results.values()) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", choices=sorted(TARGETS), help="measure one target, print JSON")
    p.add_argument("--targets", default=DEFAULT_TARGETS, help="comma-separated targets to compare")
    p.add_argument("--runs", type=int, default=910, help="pipeline runs (default 910: ~10^4 executions)")
    p.add_argument("--steps", type=int, default=10, help="steps per run, before the Trainer")
    p.add_argument("--repeat", type=int, default=101, help="most calls per shape (a shape stops after 4 s)")
    p.add_argument("--turn-calls", type=int, default=TURN_CALLS,
                   help="most calls of one target in a turn of an interleaved run (1: one call of each "
                        "in turn, every call from caches the others filled)")
    p.add_argument("--mlmd-python", help="interpreter with ml-metadata (default: scripts/mlmd-venv)")
    p.add_argument("--rounds", type=int, default=1,
                   help="run the targets this many times, alternating, and keep per shape the median "
                        "of the rounds (evens out load on a shared machine)")
    p.add_argument("--cpu", action="store_true",
                   help="compare the CPU time of the measuring process instead of wall time "
                        "(in-process stores on a busy machine)")
    p.add_argument("--reuse", type=Path,
                   help="a results file of an earlier run: its ml-metadata targets of the same size "
                        "are taken from it instead of run again")
    p.add_argument("--serve", action="store_true",
                   help="with --target: build the history, then time shapes as a driver asks on stdin "
                        "(the children of an interleaved run)")
    p.add_argument("--only", help="with --targets: time only the shapes whose label holds one of these "
                                   "comma-separated texts (put_execution is always timed: it writes the history)")
    p.add_argument("--profile", help="with --target: profile the shapes whose label holds one of these comma-separated texts")
    p.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    args = p.parse_args(argv)
    if min(args.runs, args.steps, args.repeat, args.rounds, args.turn_calls) < 1:
        p.error("--runs, --steps, --repeat, --rounds and --turn-calls must be positive")
    if args.target is None:
        return drive(args)
    workdir = tempfile.mkdtemp(prefix="lineage-shapes-")
    try:
        if args.serve:
            serve(args.target, args.runs, args.steps, workdir)
            return 0
        result = measure(args.target, args.runs, args.steps, args.repeat, workdir, args.profile)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
