"""Export and Import of a whole store, in-process and through a real metadata server.

A copy made through the server (its Export read by a client, or a client's
stream written by its Import) must equal the in-process copy record for
record, ids and times included; a refused or broken import writes nothing.
Stores are compared through MLMD's public API, event paths included.
"""

from __future__ import annotations

import pytest
from engine_helpers import random_history

import lineage
from lineage import errors
from lineage.copy import COUNT_KEYS, copy_store, count_records
from lineage.proto import lineage_service_pb2 as lsvc
from lineage.proto import metadata_store_pb2 as pb
from lineage.server import serve


@pytest.fixture
def served(store):
    """(in-process store, gRPC client of a server over the same store)."""
    handle = serve(store._service, "127.0.0.1", 0, workers=4, grace=1)
    client = lineage.MetadataStore(pb.MetadataStoreClientConfig(host="127.0.0.1", port=handle.port))
    try:
        yield store, client
    finally:
        client.close()
        handle.stop(1)


def dump(store) -> dict[str, list]:
    """Every record through the public API, serialized deterministically, in id order."""
    def ser(items):
        return [i.SerializeToString(deterministic=True) for i in sorted(items, key=lambda i: i.id)]

    artifacts, executions, contexts = store.get_artifacts(), store.get_executions(), store.get_contexts()
    return {
        "types": [ser(store.get_artifact_types()), ser(store.get_execution_types()), ser(store.get_context_types())],
        "artifacts": ser(artifacts),
        "executions": ser(executions),
        "contexts": ser(contexts),
        "events": sorted(e.SerializeToString(deterministic=True)
                         for e in store.get_events_by_execution_ids([e.id for e in executions])),
        "attributions": sorted((a.id, c.id) for c in contexts for a in store.get_artifacts_by_context(c.id)),
        "associations": sorted((e.id, c.id) for c in contexts for e in store.get_executions_by_context(c.id)),
        "parents": sorted((c.id, p.id) for c in contexts for p in store.get_parent_contexts_by_context(c.id)),
    }


def _history(store, seed: int):
    history = random_history(store, seed, executions=25)
    # Parent contexts and a type with a base type, which random histories lack.
    contexts = history.contexts
    store.put_parent_contexts([pb.ParentContext(child_id=c, parent_id=contexts[0]) for c in contexts[1:]])
    return history


def _serialized(chunks) -> list[bytes]:
    return [c.SerializeToString(deterministic=True) for c in chunks]


@pytest.mark.parametrize("seed", [4, 17])
def test_a_copy_through_the_server_equals_an_in_process_copy(served, seed):
    store, client = served
    _history(store, seed)
    with lineage.connect("memory://") as here, lineage.connect("memory://") as there:
        mine = copy_store(store, here, batch_size=7)
        theirs = copy_store(client, there, batch_size=7)
        assert mine.ids_kept and theirs.ids_kept
        assert mine.counts == theirs.counts == count_records(client) == count_records(store)
        assert dump(there) == dump(here) == dump(store)
        # The stream itself is the same whichever way it is read.
        assert _serialized(client.lineage.export_store(5)) == _serialized(store.lineage.export_store(5))


def test_a_copy_into_the_server_keeps_ids_and_times(served):
    store, client = served
    with lineage.connect("memory://") as source:
        _history(source, 9)
        # Ids with gaps are refused: the stream stays as the source holds it.
        report = copy_store(source, client, batch_size=11)
        assert report.ids_kept and report.counts == count_records(source)
        assert dump(store) == dump(source)
        before = dump(store)
        with pytest.raises(errors.FailedPreconditionError, match="not empty"):
            copy_store(source, client)
        assert dump(store) == before


def test_an_import_cut_short_writes_nothing(served):
    store, client = served
    with lineage.connect("memory://") as source:
        _history(source, 2)
        chunks = list(source.lineage.export_store(chunk_size=10))
    assert chunks[-1].HasField("end") and not any(c.HasField("end") for c in chunks[:-1])
    empty = dump(store)
    # Forced, so that ids a rolled-back attempt burnt (MySQL, PostgreSQL) do not stop the next one.
    for target in (store, client):
        with pytest.raises(errors.InvalidArgumentError, match="ended before its last chunk"):
            target.lineage.import_store(iter(chunks[:-1]), force=True)
        assert dump(store) == empty
    # A stream whose end miscounts it is refused too.
    wrong = lsvc.StoreChunk()
    wrong.CopyFrom(chunks[-1])
    wrong.end.events += 1
    with pytest.raises(errors.InvalidArgumentError, match="events: end says"):
        client.lineage.import_store(iter(chunks[:-1] + [wrong]), force=True)
    assert dump(store) == empty


def test_a_client_that_fails_mid_stream_leaves_the_server_store_unchanged(served):
    store, client = served
    with lineage.connect("memory://") as source:
        _history(source, 6)
        chunks = list(source.lineage.export_store(chunk_size=10))
    empty = dump(store)

    def breaks():
        yield from chunks[:4]
        raise RuntimeError("the client fails half-way")

    with pytest.raises((errors.StatusError, RuntimeError)):
        client.lineage.import_store(breaks())
    assert dump(store) == empty
    # Nothing was left that stops a complete import afterwards (forced: MySQL and
    # PostgreSQL keep the ids the rolled-back attempt burnt).
    response = client.lineage.import_store(iter(chunks), force=True)
    assert {k: getattr(response.counts, k) for k in COUNT_KEYS} == count_records(store)


def test_malformed_streams_name_what_is_wrong(served):
    store, client = served
    with lineage.connect("memory://") as source:
        _history(source, 1)
        chunks = list(source.lineage.export_store(chunk_size=1000))
    empty = dump(store)
    orphan = lsvc.StoreChunk()
    orphan.events.add(artifact_id=10**6, execution_id=1, type=pb.Event.INPUT)
    with pytest.raises(errors.InvalidArgumentError, match="events.artifact_id names artifact 1000000"):
        client.lineage.import_store(iter([chunks[0], orphan, chunks[-1]]), force=True)
    late_types = lsvc.StoreChunk()
    late_types.artifact_types.add(id=99, name="Late")
    with pytest.raises(errors.InvalidArgumentError, match="types and type links belong in the first chunk"):
        client.lineage.import_store(iter([chunks[0], late_types, chunks[-1]]), force=True)
    with pytest.raises(errors.InvalidArgumentError, match="chunk_size"):
        client.lineage.export_store(chunk_size=0)
    assert dump(store) == empty


def test_force_renumbers_into_a_store_that_holds_records(served):
    store, client = served
    kept_type = store.put_artifact_type(pb.ArtifactType(name="Kept"))
    [kept] = store.put_artifacts([pb.Artifact(type_id=kept_type, uri="/kept")])
    with lineage.connect("memory://") as source:
        _history(source, 8)
        report = copy_store(source, client, force=True)
        assert not report.ids_kept
        assert report.id_map["artifact"] == {old: old + 1 for old in range(1, report.counts["artifacts"] + 1)}
        assert len(store.get_artifacts()) == len(source.get_artifacts()) + 1
        assert store.get_artifacts_by_id([kept])[0].uri == "/kept"


def test_a_copy_in_large_batches_equals_the_source_and_indexes_the_cache(store):
    """Chunks of hundreds of records take the backends' bulk writes (multi-row, COPY);
    chunks of one record their single-row writes: both give the source's store."""
    from lineage.cache import execution_fingerprints

    with lineage.connect("memory://") as source, lineage.connect("memory://") as single:
        history = random_history(source, 23, executions=150)
        source.put_parent_contexts([pb.ParentContext(child_id=c, parent_id=history.contexts[0])
                                    for c in history.contexts[1:]])
        report = copy_store(source, store, batch_size=500)
        assert report.ids_kept and report.counts == count_records(source)
        copy_store(source, single, batch_size=1)
        assert dump(store) == dump(source) == dump(single)
        assert _serialized(store.lineage.export_store(50)) == _serialized(source.lineage.export_store(50))
        # The fingerprint index is rebuilt in bulk: every execution is found under each of its keys.
        backend = store._service.backend
        executions = store.get_executions()
        types = {t.id: t for t in store.get_execution_types()}
        assert len(executions) == 150
        with backend.transaction(write=False):
            for execution in executions:
                events = store.get_events_by_execution_ids([execution.id])
                for key in execution_fingerprints(execution, types[execution.type_id], events):
                    assert execution.id in backend.executions_by_fingerprint(key)


def test_an_import_committed_in_parts_that_fails_leaves_the_store_empty(store, backend_name, monkeypatch):
    """Neo4j commits an import into an empty store in parts; a failure empties it again,
    and a complete import afterwards keeps every id (the counters were reset)."""
    import concurrent.futures

    import lineage.transfer

    monkeypatch.setattr(lineage.transfer, "COMMIT_RECORDS", 40)
    with lineage.connect("memory://") as source:
        history = random_history(source, 31, executions=60)
        source.put_parent_contexts([pb.ParentContext(child_id=c, parent_id=history.contexts[0])
                                    for c in history.contexts[1:]])
        chunks = list(source.lineage.export_store(chunk_size=10))
        expected = dump(source)
    empty = dump(store)
    seen_midway = []

    def breaks():
        for number, chunk in enumerate(chunks[:-1]):
            yield chunk
            if number == len(chunks) // 2:
                # Another thread, another transaction: what it sees was committed.
                with concurrent.futures.ThreadPoolExecutor(1) as pool:
                    seen_midway.append(pool.submit(count_records, store).result()
                                       if backend_name == "neo4j" else None)
        raise RuntimeError("the stream breaks off before its end")

    with pytest.raises(RuntimeError, match="breaks off"):
        store.lineage.import_store(breaks())
    if backend_name == "neo4j":
        assert seen_midway[0]["artifacts"] > 0, "no part was committed before the failure"
    assert dump(store) == empty
    assert count_records(store) == dict.fromkeys(COUNT_KEYS, 0)
    # MySQL and PostgreSQL keep ids a rolled-back import burnt: forced, the next one renumbers.
    burns_ids = backend_name in ("mysql", "postgresql")
    # A miscounted stream (the check after the last part) is undone too.
    wrong = lsvc.StoreChunk()
    wrong.CopyFrom(chunks[-1])
    wrong.end.events += 1
    with pytest.raises(errors.InvalidArgumentError, match="events: end says"):
        store.lineage.import_store(iter(chunks[:-1] + [wrong]), force=burns_ids)
    assert dump(store) == empty
    response = store.lineage.import_store(iter(chunks), force=burns_ids)
    assert {k: getattr(response.counts, k) for k in COUNT_KEYS} == count_records(store)
    if not burns_ids:
        assert response.ids_kept
        assert dump(store) == expected
