"""Copying a whole store to another, keeping every id, time and link.

``copy_store(source, destination)`` moves types (properties, versions, base
types, external ids), artifacts, executions and contexts (properties, custom
properties, states, create and update times), events (paths and times),
attributions, associations and parent contexts, and has the destination
rebuild its cache fingerprint index.

It pipes the source's ``Export`` stream into the destination's ``Import``
(``store.lineage.export_store`` / ``import_store``), one chunk at a time, so
either store may be opened in this process or be a metadata server
(``grpc://``), and the store is never held in memory whole.

How ids are kept
    Ids are handed out by the destination, 1, 2, 3... per node kind (types
    share one sequence). The destination is written in source id order while
    empty, and each id it hands out is checked against the source's. A source
    whose ids have gaps (a database that burnt ids on rolled-back writes)
    cannot be reproduced that way, so such a copy is refused; with ``force`` it
    proceeds and renumbers, returning the old -> new id map.

All or nothing
    The source is read in one transaction (a consistent snapshot), and the
    destination written in one transaction, counted and checked against the
    stream, and committed only if every check passes; any failure,
    interruption included, rolls it back. Into an empty Neo4j store the
    import commits in parts (``lineage.transfer.COMMIT_RECORDS`` records
    each) and a failure deletes what it wrote, so the store is empty again;
    other clients may see part of it meanwhile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from lineage import errors
from lineage.proto import lineage_service_pb2 as lsvc
from lineage.transfer import COUNT_KEYS, chunk_records

if TYPE_CHECKING:
    from lineage.metadata_store import MetadataStore

__all__ = ["copy_store", "count_records", "CopyReport", "BATCH_SIZE", "COUNT_KEYS"]

#: Records per streamed chunk (and per backend call while reading the source).
BATCH_SIZE = 500

#: Called as on_progress(phase, done, total) while a copy runs; phase is
#: "copy" (records streamed so far, of an estimate that grows when passed)
#: and, once the destination has checked and committed, "done".
ProgressCallback = Callable[[str, int, int], None]


@dataclasses.dataclass(frozen=True)
class CopyReport:
    """What a copy did.

    Attributes:
        counts: Records copied, by kind (keys as ``COUNT_KEYS``; system types not counted).
        ids_kept: True when every record kept its source id.
        id_map: When ids were not kept: "type" / "artifact" / "execution" /
            "context" -> {source id: destination id}. Empty when they were.
        seconds: Wall time of the whole copy.
    """

    counts: dict[str, int]
    ids_kept: bool
    id_map: dict[str, dict[int, int]]
    seconds: float

    @property
    def records(self) -> int:
        """Total records copied."""
        return sum(self.counts.values())


class _Progress:
    def __init__(self, callback: ProgressCallback | None):
        self._callback = callback
        self.phase, self.done, self.total = "", 0, 0

    def start(self, phase: str, total: int) -> None:
        self.phase, self.done, self.total = phase, 0, total
        self._report()

    def advance(self, n: int) -> None:
        self.done += n
        self._report()

    def _report(self) -> None:
        if self._callback is not None:
            self._callback(self.phase, min(self.done, self.total), self.total)


def count_records(store: "MetadataStore", batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Counts what a store holds, by the keys of ``COUNT_KEYS`` (system types not counted).

    Reads the store's export stream to its end, so it works against a server too.
    """
    with contextlib.closing(store.lineage.export_store(chunk_size=batch_size)) as stream:
        for chunk in stream:
            if chunk.HasField("end"):
                return {key: getattr(chunk.end, key) for key in COUNT_KEYS}
    raise errors.DataLossError("the store's export stream ended without its counts")


def copy_store(
    source: "MetadataStore",
    destination: "MetadataStore",
    *,
    force: bool = False,
    batch_size: int = BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> CopyReport:
    """Copies every record of ``source`` into ``destination``, all or nothing.

    Args:
        source: The store to read; it is not changed.
        destination: An empty store (one that holds only the system types),
            unless ``force``.
        force: Also copy when ids cannot be kept: into a destination that
            already holds records (types are merged by name and version as
            ``put_*_type(can_add_fields=True, can_omit_fields=True)`` does,
            nodes get new ids) or from a source whose ids have gaps.
        batch_size: Records per streamed chunk.
        on_progress: Called as ``on_progress(phase, done, total)``.

    Returns:
        A CopyReport with the counts copied and, when ids changed, the id map.

    Raises:
        InvalidArgumentError: source and destination are the same store, or a bad batch size.
        FailedPreconditionError: the destination is not empty, or ids cannot be
            kept, and ``force`` is False. Nothing is written.
        AlreadyExistsError: with ``force``, a record clashes with one in the
            destination (type properties, node names, external ids). Nothing is written.
        DataLossError: the written copy did not match the source; it was rolled back.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise errors.InvalidArgumentError(f"batch_size must be >= 1, got {batch_size}")
    if source is destination:
        raise errors.InvalidArgumentError("the source and the destination are the same store")
    started = time.perf_counter()
    progress = _Progress(on_progress)
    pump = _Pump(lambda: source.lineage.export_store(chunk_size=batch_size))
    try:
        response = destination.lineage.import_store(_counted(pump, progress), force=force)
    except BaseException as e:
        # A stream the source broke off ends the import too; the source's error is the one to tell.
        if pump.error is not None and pump.error is not e:
            raise pump.error from e
        if pump.error is e or not isinstance(e, _DESTINATION_FAILURES):
            raise
        raise type(e)(
            f"the destination could not take the copy ({e.message}); it was rolled back and is unchanged. "
            "A forced copy into a store that holds records is one transaction, so the destination must "
            "hold it in one (a Neo4j server needs enough server.memory.heap.max_size and "
            "dbms.memory.transaction.total.max)"
        ) from e
    finally:
        pump.close()
    counts = {key: getattr(response.counts, key) for key in COUNT_KEYS}
    progress.start("done", sum(counts.values()))
    progress.advance(sum(counts.values()))
    id_map = {kind: dict(mapping.ids) for kind, mapping in response.id_maps.items()}
    return CopyReport(counts, response.ids_kept, id_map, time.perf_counter() - started)


class _Pump:
    """Reads a source's export stream in a thread of its own, a few chunks ahead of the writer.

    The source's transaction is opened, read and closed by that one thread
    (a gRPC client hands a request stream to a thread of its own, and a
    transaction must end in the thread that began it), and reading overlaps
    writing. At most ``depth`` chunks wait in between.
    """

    def __init__(self, open_stream: Callable[[], Iterator[lsvc.StoreChunk]], depth: int = 4):
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(open_stream,), name="lineage-copy-source",
                                        daemon=True)
        self._thread.start()

    def _put(self, item: tuple[str, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, open_stream: Callable[[], Iterator[lsvc.StoreChunk]]) -> None:
        try:
            with contextlib.closing(open_stream()) as stream:
                for chunk in stream:
                    if not self._put(("chunk", chunk)):
                        return
            self._put(("end", None))
        except BaseException as e:  # noqa: BLE001 - handed to the reading thread
            self.error = e
            self._put(("error", e))

    def __iter__(self) -> Iterator[lsvc.StoreChunk]:
        while True:
            what, value = self._queue.get()
            if what == "end":
                return
            if what == "error":
                raise value
            yield value

    def close(self) -> None:
        """Stops reading (the source's transaction ends) and waits for the thread."""
        self._stop.set()
        self._thread.join()


def _counted(stream: Iterable[lsvc.StoreChunk], progress: _Progress) -> Iterator[lsvc.StoreChunk]:
    """Passes the chunks on, reporting the records that went by."""
    progress.start("copy", 0)
    for chunk in stream:
        if chunk.HasField("estimate"):
            progress.total = sum(getattr(chunk.estimate, key) for key in COUNT_KEYS)
        records = chunk_records(chunk)
        if progress.done + records > progress.total:
            progress.total = progress.done + records
        progress.advance(records)
        yield chunk
    # The estimate counted ids, not records: the bar ends full.
    progress.total = progress.done
    progress.advance(0)


#: What a destination may raise while it takes a copy, besides the copy's own refusals.
_DESTINATION_FAILURES = (
    errors.AbortedError, errors.ResourceExhaustedError, errors.UnavailableError,
    errors.DeadlineExceededError, errors.InternalError,
)
