"""The Backend protocol: the only seam between the store's rules and its storage.

A backend stores and fetches records; it never decides. Type checks, upserts,
timestamps, uniqueness and error classes belong to ``lineage.core``. Every
method here runs inside ``transaction()``; the caller opens it.

Records travel as the generated protos of ``lineage.proto.metadata_store_pb2``:
node protos arrive complete (type name, times, state already set by the core)
and come back as they were stored.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import TYPE_CHECKING, ContextManager, Iterable, Literal, Mapping, Protocol, Sequence, Union

from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

if TYPE_CHECKING:
    from lineage.query.ast import Expr

__all__ = [
    "Kind",
    "KINDS",
    "NODE_CLASSES",
    "TYPE_CLASSES",
    "Node",
    "NodeType",
    "ListQuery",
    "Backend",
    "ConcurrentWriteError",
    "StaleSnapshotError",
    "SnapshotNeeded",
    "UniquenessConflictError",
    "STATEMENT_TIMEOUT_ENV",
    "DEFAULT_STATEMENT_TIMEOUT_S",
    "statement_timeout",
    "deadline_error",
]

#: The three kinds of node; each has its own type kind and id sequence.
Kind = Literal["artifact", "execution", "context"]
KINDS: tuple[Kind, ...] = ("artifact", "execution", "context")

Node = Union[pb.Artifact, pb.Execution, pb.Context]
NodeType = Union[pb.ArtifactType, pb.ExecutionType, pb.ContextType]

NODE_CLASSES = {"artifact": pb.Artifact, "execution": pb.Execution, "context": pb.Context}
TYPE_CLASSES = {
    "artifact": pb.ArtifactType,
    "execution": pb.ExecutionType,
    "context": pb.ContextType,
}

#: The environment variable that sets how long one statement may run, in seconds.
STATEMENT_TIMEOUT_ENV = "LINEAGE_STATEMENT_TIMEOUT"
#: The statement timeout when the variable is unset.
DEFAULT_STATEMENT_TIMEOUT_S = 30.0


def statement_timeout() -> float | None:
    """Returns how long one statement may run on the database, in seconds; None for no limit.

    Every backend stops a statement (Neo4j: a transaction) that runs longer,
    on the server itself, so a query nobody waits for any more stops using
    the server. Read when a store opens, from ``LINEAGE_STATEMENT_TIMEOUT``
    (seconds; 0 means no limit).

    Raises:
        InvalidArgumentError: The variable is not a non-negative number.
    """
    text = os.environ.get(STATEMENT_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_STATEMENT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise errors.InvalidArgumentError(
            f"{STATEMENT_TIMEOUT_ENV}={text!r} must be a number of seconds (0 for no limit)")
    return value or None


def deadline_error(where: str) -> errors.DeadlineExceededError:
    """The error for a statement the database stopped at the statement timeout."""
    return errors.DeadlineExceededError(
        f"{where}: the query ran longer than the statement timeout and was stopped on the "
        f"server; the limit is set by {STATEMENT_TIMEOUT_ENV} (seconds, default "
        f"{DEFAULT_STATEMENT_TIMEOUT_S:g})")


#: Order fields a list may be sorted by, as node proto field names.
ORDER_FIELDS = ("id", "create_time_since_epoch", "last_update_time_since_epoch")


@dataclasses.dataclass(frozen=True)
class ListQuery:
    """One page of a filtered, ordered node listing.

    Attributes:
        filter: Parsed filter expression, or None for every node of the kind.
        order_field: One of ``ORDER_FIELDS``; ties are always broken by id.
        ascending: Sort direction for both the order field and the id tie-break.
        limit: Maximum number of nodes to return (the core asks for one more
            than a page to learn whether another page exists).
        after: Keyset cursor ``(order_value, id)``: return only nodes strictly
            after it in the sort order.
    """

    filter: "Expr | None" = None
    order_field: str = "id"
    ascending: bool = True
    limit: int | None = None
    after: tuple[int, int] | None = None


def add_to_answer(into, found: list) -> list:
    """Adds finished messages (nodes, events) to ``into`` when given (a repeated field of an answer).

    A backend that builds its messages field by field builds them in ``into``
    instead (``into.add(...)``), which spares this copy; one that holds
    finished messages calls this.

    Returns:
        ``found`` without ``into``; otherwise the messages added to it.
    """
    if into is None:
        return found
    into.extend(found)
    return into[len(into) - len(found):]


class ConcurrentWriteError(errors.AbortedError):
    """A writing transaction met a concurrent one: a deadlock, a serialization
    failure, a key another writer inserted meanwhile, a row deleted meanwhile.

    Nothing was written; the service runs the unit of work again, which then
    reads what the other writer did.
    """


class StaleSnapshotError(ConcurrentWriteError):
    """A writing transaction relied on what another writer changed before it committed.

    A backend that answers from what its thread read before, and checks at
    commit that nothing changed since, raises it from ``transaction()``.
    Nothing was written; running the unit of work again at once is safe, and
    the backend then reads afresh.
    """


class UniquenessConflictError(errors.AlreadyExistsError):
    """A uniqueness rule of the store failed as a writing transaction wrote.

    Either a real duplicate, or a name (or external id) a concurrent writer
    committed after the unit of work looked it up and found it free. Nothing
    was written; running the unit of work again tells which.
    """


class SnapshotNeeded(Exception):
    """A read opened with ``one_statement=True`` came to a second statement.

    The first ran on its own, outside any snapshot, so the two could disagree;
    nothing was written. The caller runs the read again in a transaction
    opened without ``one_statement``.
    """


class Backend(Protocol):
    """Storage primitives shared by every backend.

    Protos a backend returns may be shared with its memory: callers copy one
    before changing it.
    """

    def transaction(self, write: bool = True, one_statement: bool = False) -> ContextManager[None]:
        """Opens an all-or-nothing unit of work; nested calls join the outer one.

        ``write=False`` promises that the unit of work only reads, so a
        backend may skip locks it takes for writers. ``one_statement=True``
        (with ``write=False``) expects one read statement to answer: a backend
        whose transactions cost statements of their own may then run that
        statement alone, and raises ``SnapshotNeeded`` if a second one comes.
        """

    def close(self) -> None:
        """Releases connections and files."""

    def commit_import_part(self) -> bool:
        """Commits what the open writing transaction wrote and goes on in a fresh one, if need be.

        Only an Import into an empty store calls it, between chunks. A backend
        whose transaction cannot hold a whole large store (Neo4j keeps one in
        server memory) commits and returns True; the others keep their one
        transaction and return False.
        """

    def empty_store(self, keep_type_ids: Iterable[int]) -> None:
        """Deletes every node, edge, fingerprint and type but ``keep_type_ids``, and resets the id counters.

        Undoes an Import that committed parts (``commit_import_part``) and then
        failed: the store is empty again, as it was before the Import. Runs
        outside any transaction of the caller's.
        """

    # -- types --------------------------------------------------------------
    def insert_type(self, kind: Kind, type_: NodeType) -> int:
        """Stores a new type; returns its id (one id sequence for all kinds)."""

    def update_type(self, kind: Kind, type_: NodeType) -> None:
        """Replaces the stored type with the same id."""

    def get_types(self, kind: Kind, ids: Iterable[int] | None = None) -> list[NodeType]:
        """Returns types of a kind by id (all of them when ``ids`` is None), by id."""

    def find_type(self, kind: Kind, name: str, version: str | None) -> NodeType | None:
        """Returns the type with this name and version (None or "" = no version)."""

    def find_types_by_external_id(self, kind: Kind, external_ids: Iterable[str]) -> list[NodeType]:
        """Returns the types of a kind whose external_id is among ``external_ids``."""

    def set_parent_type(self, kind: Kind, type_id: int, parent_type_id: int) -> None:
        """Records that ``type_id`` derives from ``parent_type_id``."""

    def get_parent_types(self, kind: Kind, type_ids: Iterable[int]) -> dict[int, list[int]]:
        """Returns parent type ids for each given type id that has some."""

    # -- nodes --------------------------------------------------------------
    def insert_nodes(self, kind: Kind, nodes: Sequence[Node]) -> list[int]:
        """Stores new nodes (``id`` unset); returns their new ids in order."""

    def update_nodes(self, kind: Kind, nodes: Sequence[Node]) -> None:
        """Replaces stored nodes by id with the given complete protos."""

    def get_nodes(self, kind: Kind, ids: Iterable[int], into=None) -> list[Node]:
        """Returns existing nodes among ``ids``, ascending by id.

        With ``into`` (a repeated field of an answer) the nodes are added to it
        and the added ones returned; see ``add_to_answer``.
        """

    def find_nodes(
        self,
        kind: Kind,
        *,
        type_ids: Iterable[int] | None = None,
        name: str | None = None,
        uri: str | None = None,
        external_ids: Iterable[str] | None = None,
        into=None,
    ) -> list[Node]:
        """Index lookup: nodes matching every given criterion, ascending by id.

        With ``into`` (a repeated field of an answer) the nodes are added to it
        as ``get_nodes`` adds them.
        """

    def node_ids_by_name(self, kind: Kind, type_id: int, name: str) -> list[int]:
        """Ids of the nodes of one type whose name the store's unique key on (type, name) takes for ``name``.

        The same name; on MySQL also one that differs only in letter case or
        trailing spaces, which MLMD's schema compares in a case-insensitive
        collation. For the checks and reuses of a write, which need no more of
        the node; ascending.
        """

    def list_nodes(self, kind: Kind, query: ListQuery, into=None) -> list[Node]:
        """Returns the nodes matching ``query.filter`` in the requested order.

        With ``into`` (a repeated field of an answer) the nodes are added to it
        and the added ones returned; see ``add_to_answer``.
        """

    # -- edges --------------------------------------------------------------
    def insert_events(self, events: Sequence[pb.Event]) -> None:
        """Stores complete events (time and path set)."""

    def get_events(
        self,
        *,
        artifact_ids: Iterable[int] | None = None,
        execution_ids: Iterable[int] | None = None,
        into=None,
    ) -> list[pb.Event]:
        """Returns events touching any of the given artifacts or executions.

        With ``into`` the events are added to it; see ``add_to_answer``.
        """

    def insert_attributions(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Stores (artifact_id, context_id) links; one stored already stays as it is."""

    def insert_associations(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Stores (execution_id, context_id) links; one stored already stays as it is."""

    def insert_parent_contexts(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Stores (child_id, parent_id) links."""

    def get_context_links(
        self, kind: Kind, *, node_ids: Iterable[int] | None = None,
        context_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        """Returns (node_id, context_id) attribution or association pairs.

        ``kind`` "artifact" reads attributions, "execution" associations.
        """

    def get_parent_contexts(
        self, *, child_ids: Iterable[int] | None = None,
        parent_ids: Iterable[int] | None = None,
    ) -> list[tuple[int, int]]:
        """Returns (child_id, parent_id) pairs touching the given contexts."""

    # -- cache index ----------------------------------------------------------
    def set_fingerprints(self, fingerprints: Mapping[int, Sequence[str]]) -> None:
        """Replaces the cache fingerprints recorded for each execution id given (one call for many).

        A fingerprint is the 64 hex digits of a SHA-256 digest (``lineage.cache``).
        """

    def executions_by_fingerprint(self, fingerprint: str) -> list[int]:
        """Returns ids of executions recorded under a fingerprint, newest (highest id) first."""

    # -- deletion -------------------------------------------------------------
    def delete_nodes(self, kind: Kind, ids: Sequence[int]) -> None:
        """Removes nodes with every edge touching them, in the caller's transaction.

        Gone with a node: its properties, its events (with their paths), its
        attributions or associations, its parent-context links (a context's, as
        child or parent) and, for an execution, its cache fingerprints. Ids that
        name no node are ignored.
        """
