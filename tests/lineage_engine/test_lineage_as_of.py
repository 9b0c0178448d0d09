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
