"""What an enormous lineage answer costs the client: downstream of a dataset every run read.

Builds a store where ``--runs`` executions each read one shared raw dataset
and write one model (so the dataset's downstream holds ``2 * runs + 1``
nodes), with batched ``put_executions`` / ``put_artifacts`` / ``put_events``
calls, then asks for that downstream in three ways, each ``--repeat`` times:

* ``downstream``: the whole answer (``store.lineage.downstream``);
* ``refused``: the same walk with ``max_nodes`` below its size, which the
  store refuses with ResourceExhaustedError before it reads a node;
* ``impacted``: the impacted models (``store.lineage.impacted``).

For each it reports the median time and the peak resident memory the call
added to the process (Linux: the peak is reset through ``/proc/self/clear_refs``
before each call and read from ``VmHWM``), which covers protobuf's own arenas
that ``tracemalloc`` does not see. The store lives in the same process (memory
or SQLite), so the figures are the client's and the store's together.

Usage::

    python benchmarks/large_answer.py --runs 25000 --db memory://
    python benchmarks/large_answer.py --runs 25000 --db sqlite:////tmp/large.sqlite
"""

from __future__ import annotations

import argparse
import gc
import json
import pathlib
import statistics
import sys
import time

import lineage
from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

BATCH = 5000


def _status(field: str) -> int:
    """A field of /proc/self/status in KiB."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> None:
    pathlib.Path("/proc/self/clear_refs").write_text("5")


def build(store, runs: int) -> int:
    """Writes the history; returns the shared dataset's id."""
    data_type = store.put_artifact_type(pb.ArtifactType(name="RawData"))
    model_type = store.put_artifact_type(pb.ArtifactType(name="Model"))
    trainer = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    [data] = store.put_artifacts([pb.Artifact(type_id=data_type, uri="/raw/shared", state=pb.Artifact.LIVE)])
    for start in range(0, runs, BATCH):
        count = min(BATCH, runs - start)
        executions = store.put_executions(
            [pb.Execution(type_id=trainer, last_known_state=pb.Execution.COMPLETE) for _ in range(count)])
        models = store.put_artifacts(
            [pb.Artifact(type_id=model_type, uri=f"/model/{start + i}", state=pb.Artifact.LIVE)
             for i in range(count)])
        events = []
        for execution, model in zip(executions, models):
            events.append(pb.Event(artifact_id=data, execution_id=execution, type=pb.Event.INPUT))
            events.append(pb.Event(artifact_id=model, execution_id=execution, type=pb.Event.OUTPUT))
        store.put_events(events)
    return data


def measure(call, repeat: int) -> dict[str, float]:
    times, peaks = [], []
    for _ in range(repeat):
        gc.collect()
        before = _status("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        size = call()
        times.append(time.perf_counter() - started)
        peaks.append((_status("VmHWM") - before) / 1024)
        del size
    return {"median_s": round(statistics.median(times), 3), "peak_mib": round(statistics.median(peaks), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=25_000)
    parser.add_argument("--db", default="memory://")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    store = lineage.connect(args.db)
    started = time.perf_counter()
    data = build(store, args.runs)
    built_s = time.perf_counter() - started
    nodes = 2 * args.runs + 1

    def downstream() -> int:
        graph = store.lineage.downstream(artifact_ids=[data])
        return len(graph.artifacts) + len(graph.executions)

    def refused() -> int:
        try:
            store.lineage.downstream(artifact_ids=[data], max_nodes=nodes - 1)
        except errors.ResourceExhaustedError:
            return 0
        raise AssertionError("max_nodes did not hold")

    def impacted() -> int:
        return len(store.lineage.impacted(data, "Model"))

    assert downstream() == nodes
    result = {"db": args.db, "runs": args.runs, "nodes": nodes, "build_s": round(built_s, 1),
              "rss_after_build_mib": round(_status("VmRSS") / 1024, 1)}
    for name, call in (("downstream", downstream), ("refused", refused), ("impacted", impacted)):
        result[name] = measure(call, args.repeat)
    json.dump(result, sys.stdout, indent=2)
    print()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
