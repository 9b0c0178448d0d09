"""As-of questions on every backend: the graph as it stood at a moment."""

from __future__ import annotations

import datetime
import time

import pytest
from engine_helpers import Builder, Event, event, snapshot

from lineage import errors


def _now_ms() -> int:
    return int(time.time() * 1000)


def _pause() -> None:
    # Store times have millisecond resolution; keep writes on either side of a moment apart.
    time.sleep(0.02)


def test_as_of_sees_only_what_existed_then(store):
    build = Builder(store)
    raw = build.artifact("Data", "raw")
    clean = build.execution("Clean", "clean")
    table = build.artifact("Data", "table")
    build.link(event(raw, clean, Event.INPUT), event(table, clean, Event.OUTPUT))
    _pause()
    moment = _now_ms()
    then_down, then_up = store.lineage.downstream([raw]), store.lineage.upstream([table])
    then_impacted = store.lineage.impacted(raw)
    _pause()
    # Later history: a new consumer of raw, and a new input of the old execution.
    train = build.execution("Train", "train")
    model = build.artifact("Model", "model")
    extra = build.artifact("Data", "extra")
    build.link(event(raw, train, Event.INPUT), event(model, train, Event.OUTPUT),
               event(extra, clean, Event.INPUT))
    assert {a.id for a in store.lineage.downstream([raw]).artifacts} == {raw, table, model}

    assert store.lineage.downstream([raw], as_of=moment) == then_down
    assert store.lineage.upstream([table], as_of=moment) == then_up
    assert store.lineage.impacted(raw, as_of=moment) == then_impacted
    as_datetime = datetime.datetime.fromtimestamp(moment / 1000, tz=datetime.timezone.utc)
    assert store.lineage.downstream([raw], as_of=as_datetime) == then_down
    # Now is the present: the same as no as_of.
    _pause()
    assert store.lineage.downstream([raw], as_of=_now_ms()) == store.lineage.downstream([raw])
    # A node born after the moment did not exist then.
    with pytest.raises(errors.NotFoundError, match="existed"):
        store.lineage.upstream([model], as_of=moment)


@pytest.mark.parametrize("moment, message", [
    (lambda: _now_ms() + 3_600_000, "future"),
    (lambda: -1, "epoch"),
    (lambda: "yesterday", "datetime"),
])
def test_bad_moments_are_invalid_arguments(store, moment, message):
    raw = Builder(store).artifact("Data", "raw")
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError, match=message):
        store.lineage.downstream([raw], as_of=moment())
    assert snapshot(store) == before


def _reach_key(reach) -> tuple:
    return (sorted(reach.artifact_ids), sorted(reach.execution_ids), reach.depth,
            sorted((e.artifact_id, e.execution_id, e.type, e.milliseconds_since_epoch) for e in reach.events))


@pytest.mark.parametrize("seed", [1, 7, 23])
def test_native_as_of_walks_equal_the_generic_walk(store, seed):
    """A backend that filters by time inside its own traversal answers as the generic walk over the as-of view."""
    import random

    from engine_helpers import random_history

    from lineage import traversal
    from lineage.lineage_service import _AsOf
    from lineage.proto import metadata_store_pb2 as pb

    backend = store._service.backend
    if not getattr(backend, "traverses_as_of", False):
        pytest.skip("this backend answers as-of questions with the generic walk")
    history = random_history(store, seed, executions=20, cyclic=True)
    nodes = store.get_artifacts() + store.get_executions()
    events = store.get_events_by_execution_ids(history.executions)
    # Events recorded long ago (before any node) must still wait for both their nodes.
    store.put_events([pb.Event(artifact_id=history.artifacts[-1], execution_id=history.executions[0],
                               type=pb.Event.INPUT, milliseconds_since_epoch=1)])
    times = sorted({n.create_time_since_epoch for n in nodes} | {e.milliseconds_since_epoch for e in events})
    rng = random.Random(seed)
    moments = sorted(rng.sample(times, min(8, len(times)))) + [times[-1]]
    compared = 0
    sizes: set[int] = set()
    for moment in moments:
        view = _AsOf(backend, moment)
        with backend.transaction(write=False):
            existing_a = sorted(view.existing("artifact", history.artifacts))
            existing_e = sorted(view.existing("execution", history.executions))
        if not existing_a:
            continue
        for direction in (traversal.UPSTREAM, traversal.DOWNSTREAM):
            for max_hops, event_types in ((None, None), (2, None), (None, [pb.Event.INPUT, pb.Event.OUTPUT])):
                starts_a = rng.sample(existing_a, min(2, len(existing_a)))
                starts_e = rng.sample(existing_e, min(1, len(existing_e)))
                options = dict(direction=direction, max_hops=max_hops, event_types=event_types)
                with backend.transaction(write=False):
                    native = backend.traverse(starts_a, starts_e, as_of_ms=moment, **options)
                    generic = traversal.traverse(view, starts_a, starts_e, **options)
                assert _reach_key(native) == _reach_key(generic), (moment, options)
                compared += 1
                sizes.add(len(native.events))
    assert compared >= 12
    assert len(sizes) > 1  # the moments cut the history at different places
