"""Load test of the gRPC metadata server: concurrent clients mixing puts and gets.

Starts ``python -m lineage.server`` on loopback (or uses ``--target``), runs
``--clients`` concurrent clients (processes by default, or threads), each with
its own channel, until ``--requests`` calls are made in all or ``--max-seconds``
pass. Each call is either a ``PutExecution`` (one execution, one new output
artifact, its event) or a ``GetArtifactsByID`` of up to five artifacts that
client wrote before. Afterwards every write is read back and checked.

Prints requests/s and p50/p99 latency per RPC; ``--json FILE`` also writes
the figures. Exits non-zero when a call failed or a write is missing.

Usage::

    python benchmarks/load_grpc.py                       # 16 clients, in-memory store
    python benchmarks/load_grpc.py --clients 4 --requests 2000 --mode thread
    python benchmarks/load_grpc.py --db sqlite:////tmp/load.sqlite
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lineage.proto import metadata_store_pb2 as pb  # noqa: E402
from lineage.proto import metadata_store_service_pb2 as svc  # noqa: E402
from lineage.proto import metadata_store_service_pb2_grpc as svc_grpc  # noqa: E402

__all__ = ["main"]

READY = "lineage metadata server listening on "
_READ_BATCH = 100
_GETS_PER_CALL = 5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _stub(target: str) -> tuple[grpc.Channel, svc_grpc.MetadataStoreServiceStub]:
    channel = grpc.insecure_channel(target)
    return channel, svc_grpc.MetadataStoreServiceStub(channel)


def _setup(target: str) -> dict[str, int]:
    """Creates the types and one seed artifact; returns their ids."""
    channel, stub = _stub(target)
    with channel:
        artifact_type = pb.ArtifactType(name="LoadDataset", properties={"worker": pb.INT})
        type_id = stub.PutArtifactType(
            svc.PutArtifactTypeRequest(artifact_type=artifact_type), timeout=30).type_id
        execution_type = pb.ExecutionType(name="LoadStep", properties={"worker": pb.INT})
        execution_type_id = stub.PutExecutionType(
            svc.PutExecutionTypeRequest(execution_type=execution_type), timeout=30).type_id
        seed = stub.PutArtifacts(svc.PutArtifactsRequest(
            artifacts=[pb.Artifact(type_id=type_id, uri="seed")]), timeout=30).artifact_ids[0]
    return {"artifact_type": type_id, "execution_type": execution_type_id, "seed": seed}


def _put_request(ids: dict[str, int], worker: int, n: int) -> svc.PutExecutionRequest:
    execution = pb.Execution(type_id=ids["execution_type"], name=f"w{worker}-{n}",
                             last_known_state=pb.Execution.COMPLETE)
    execution.properties["worker"].int_value = worker
    artifact = pb.Artifact(type_id=ids["artifact_type"], uri=f"load://w{worker}/{n}",
                           state=pb.Artifact.LIVE)
    artifact.properties["worker"].int_value = worker
    event = pb.Event(type=pb.Event.OUTPUT)
    event.path.steps.add().key = "out"
    request = svc.PutExecutionRequest(execution=execution)
    request.artifact_event_pairs.add(artifact=artifact, event=event)
    return request


def client_worker(target: str, ids: dict[str, int], worker: int, quota: int, put_ratio: float,
                  deadline_wall: float, ready: Any, go: Any, results: Any) -> None:
    """One client: ``quota`` calls or until ``deadline_wall``; reports through ``results``."""
    rng = random.Random(worker)
    latencies: dict[str, list[float]] = {"PutExecution": [], "GetArtifactsByID": []}
    failures: collections.Counter[str] = collections.Counter()
    written: list[tuple[int, int, str]] = []  # (execution id, artifact id, uri)
    stale_reads = 0
    channel, stub = _stub(target)
    try:
        # One cheap call so connection set-up is not timed.
        stub.GetArtifactsByID(svc.GetArtifactsByIDRequest(artifact_ids=[ids["seed"]]), timeout=30)
        ready.put(worker)
        go.wait(120)
        for n in range(quota):
            if time.time() >= deadline_wall:
                break
            if not written or rng.random() < put_ratio:
                rpc, request = "PutExecution", _put_request(ids, worker, n)
            else:
                sample = rng.sample(written, min(_GETS_PER_CALL, len(written)))
                rpc = "GetArtifactsByID"
                request = svc.GetArtifactsByIDRequest(artifact_ids=[a for _, a, _ in sample])
            started = time.perf_counter()
            try:
                response = getattr(stub, rpc)(request, timeout=60)
            except grpc.RpcError as e:
                failures[f"{rpc} {e.code().name}"] += 1
                continue
            latencies[rpc].append(time.perf_counter() - started)
            if rpc == "PutExecution":
                written.append((response.execution_id, response.artifact_ids[0],
                                request.artifact_event_pairs[0].artifact.uri))
            elif {a.uri for a in response.artifacts} != {uri for _, _, uri in sample}:
                stale_reads += 1
    except Exception as e:  # noqa: BLE001 - reported to the parent, which fails the run
        failures[f"client crashed: {type(e).__name__}: {e}"] += 1
        ready.put(worker)
    finally:
        channel.close()
    results.put({"worker": worker, "latencies": latencies, "failures": dict(failures),
                 "written": written, "stale_reads": stale_reads})


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def _verify(target: str, written: list[tuple[int, int, str]]) -> dict[str, Any]:
    """Reads every write back; returns counts of what was found."""
    channel, stub = _stub(target)
    found_artifacts = found_executions = found_events = 0
    wrong_uri = 0
    with channel:
        for start in range(0, len(written), _READ_BATCH):
            batch = written[start:start + _READ_BATCH]
            expected = {a: uri for _, a, uri in batch}
            artifacts = stub.GetArtifactsByID(
                svc.GetArtifactsByIDRequest(artifact_ids=list(expected)), timeout=60).artifacts
            found_artifacts += len(artifacts)
            wrong_uri += sum(1 for a in artifacts if expected.get(a.id) != a.uri)
            execution_ids = [e for e, _, _ in batch]
            found_executions += len(stub.GetExecutionsByID(
                svc.GetExecutionsByIDRequest(execution_ids=execution_ids), timeout=60).executions)
            events = stub.GetEventsByExecutionIDs(
                svc.GetEventsByExecutionIDsRequest(execution_ids=execution_ids), timeout=60).events
            pairs = {(e, a) for e, a, _ in batch}
            found_events += sum(1 for ev in events if (ev.execution_id, ev.artifact_id) in pairs)
    return {"written": len(written), "artifacts": found_artifacts, "executions": found_executions,
            "events": found_events, "wrong_uri": wrong_uri,
            "ok": found_artifacts == found_executions == found_events == len(written)
            and wrong_uri == 0}


class _Server:
    """A ``lineage.server`` subprocess on loopback."""

    def __init__(self, db: str, workers: int, timeout: float):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lineage.server", "--host", "127.0.0.1", "--port", "0",
             "--db", db, "--workers", str(workers), "--log-level", "WARNING"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()),
                         daemon=True).start()
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            line = ""
        if not line.startswith(READY):
            self.process.kill()
            _, err = self.process.communicate(timeout=30)
            raise SystemExit(f"the server did not start: {line!r}\n{err}")
        self.target = line[len(READY):].strip()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate(timeout=30)
            return -9
        return self.process.returncode


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Runs the load against a server and returns the report."""
    server = None if args.target else _Server(args.db, args.server_workers, 60)
    target = args.target or server.target
    server_exit = None
    try:
        ids = _setup(target)
        if args.mode == "process":
            ctx = multiprocessing.get_context("spawn")
            ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
            spawn = ctx.Process
        else:
            ready, results, go = queue.Queue(), queue.Queue(), threading.Event()
            spawn = threading.Thread
        quotas = [args.requests // args.clients + (1 if w < args.requests % args.clients else 0)
                  for w in range(args.clients)]
        # Wall clock, because child processes cannot share a monotonic origin.
        deadline = time.time() + args.max_seconds
        clients = [spawn(target=client_worker, daemon=True,
                         args=(target, ids, w, quotas[w], args.put_ratio, deadline, ready, go,
                               results))
                   for w in range(args.clients)]
        for c in clients:
            c.start()
        for _ in clients:
            ready.get(timeout=max(1.0, deadline - time.time()))
        started = time.perf_counter()
        go.set()
        reports = [results.get(timeout=max(1.0, deadline - time.time() + 60)) for _ in clients]
        elapsed = time.perf_counter() - started
        for c in clients:
            c.join(timeout=30)
        written = [w for r in reports for w in r["written"]]
        verification = _verify(target, written)
    finally:
        if server is not None:
            server_exit = server.stop()

    latencies: dict[str, list[float]] = collections.defaultdict(list)
    failures: collections.Counter[str] = collections.Counter()
    for r in reports:
        for rpc, values in r["latencies"].items():
            latencies[rpc].extend(values)
        failures.update(r["failures"])
    total = sum(len(v) for v in latencies.values())
    per_rpc = {}
    for rpc, values in sorted(latencies.items()):
        values.sort()
        per_rpc[rpc] = {
            "count": len(values),
            "rps": len(values) / elapsed,
            "p50_ms": _percentile(values, 0.50) * 1000,
            "p99_ms": _percentile(values, 0.99) * 1000,
            "max_ms": (values[-1] * 1000) if values else float("nan"),
        }
    return {
        "db": None if args.target else args.db,
        "target": target,
        "mode": args.mode,
        "clients": args.clients,
        "server_workers": None if args.target else args.server_workers,
        "requests_asked": args.requests,
        "requests_done": total,
        "seconds": elapsed,
        "rps": total / elapsed if elapsed else float("nan"),
        "per_rpc": per_rpc,
        "failures": dict(failures),
        "stale_reads": sum(r["stale_reads"] for r in reports),
        "verification": verification,
        "server_exit": server_exit,
        "cpus": os.cpu_count(),
    }


def _print(report: dict[str, Any]) -> None:
    print(f"target {report['target']}  store {report['db'] or '(external)'}  "
          f"{report['clients']} client {report['mode']}{'es' if report['mode'] == 'process' else 's'}  "
          f"server workers {report['server_workers']}  cpus {report['cpus']}")
    print(f"{report['requests_done']} requests in {report['seconds']:.2f} s: "
          f"{report['rps']:.0f} requests/s")
    print(f"{'rpc':<18} {'count':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for rpc, f in report["per_rpc"].items():
        print(f"{rpc:<18} {f['count']:>7} {f['rps']:>8.0f} {f['p50_ms']:>8.2f} "
              f"{f['p99_ms']:>8.2f} {f['max_ms']:>8.2f}")
    v = report["verification"]
    print(f"verification: {v['written']} writes; read back {v['artifacts']} artifacts, "
          f"{v['executions']} executions, {v['events']} events, {v['wrong_uri']} wrong: "
          f"{'OK' if v['ok'] else 'FAILED'}")
    if report["failures"]:
        print(f"failed calls: {report['failures']}")
    if report["stale_reads"]:
        print(f"reads missing an earlier write of the same client: {report['stale_reads']}")
    if report["server_exit"] not in (None, 0):
        print(f"server exit code {report['server_exit']}")


def main(argv: list[str] | None = None) -> int:
    """Runs the load test; returns 0 when every call succeeded and every write was found."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--mode", choices=["process", "thread"], default="process",
                        help="clients as processes (default) or threads of one process")
    parser.add_argument("--requests", type=int, default=16000,
                        help="calls in all, shared among clients (default 16000)")
    parser.add_argument("--put-ratio", type=float, default=0.5,
                        help="share of PutExecution calls; the rest are GetArtifactsByID")
    parser.add_argument("--max-seconds", type=float, default=120,
                        help="stop issuing calls after this long (default 120)")
    parser.add_argument("--db", default="memory://", help="store URL of the server (default memory://)")
    parser.add_argument("--server-workers", type=int, default=16,
                        help="the server's --workers (default 16)")
    parser.add_argument("--target", help="HOST:PORT of a running server instead of starting one")
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or not 0 <= args.put_ratio <= 1:
        parser.error("--clients and --requests must be positive, --put-ratio within 0..1")

    report = run(args)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    ok = (report["verification"]["ok"] and not report["failures"] and not report["stale_reads"]
          and report["server_exit"] in (None, 0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
