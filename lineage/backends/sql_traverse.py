"""Native provenance traversal for the relational backend.

The walk is ``lineage.traversal.traverse``'s breadth-first loop (same nodes,
same events in the same order, same depth); what differs is where each hop's
events come from:

* ``hops``: one query per hop fetches the events that lead away from the
  whole frontier in the walked direction (``Event`` is indexed on both ends).
* ``cte``: one recursive query collects every node reachable within the
  remaining hops (UNION, so cycles end) and returns the events leaving them;
  the remaining hops are then answered from memory.

Measured on a history of 2000 pipeline runs of 10 steps plus a 20000-step
chain (SQLite file, MariaDB, PostgreSQL on one machine), the recursive query is
faster everywhere: 0.2 / 0.7 / 0.8 ms against 0.3 / 3 / 1.9 ms for the 20 hops
of one run, 10 / 11 / 22 ms against 43 / 224 / 178 ms for 2000 hops. It is the
default; ``hops`` remains for comparison (and can switch to the recursive
query part way, ``switch_after``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

import sqlalchemy as sa

from lineage import errors
from lineage.backends import sql_schema as schema
from lineage.backends.sql_exec import id_list
from lineage.proto import metadata_store_pb2 as pb
from lineage.traversal import BOTH, DOWNSTREAM, UPSTREAM, Reach, leaving_types

if TYPE_CHECKING:
    from lineage.backends.sql import SqlBackend

__all__ = ["traverse", "followed_types", "STRATEGIES"]

STRATEGIES = ("cte", "hops")

_ALL_TYPES = frozenset(pb.Event.Type.values())
_ARTIFACT, _EXECUTION = 0, 1

Row = tuple  # (event id, artifact_id, execution_id, type, milliseconds_since_epoch)
Fetch = Callable[[set, set], list]


def followed_types(direction: str, event_types: Iterable[int] | None) -> tuple[list[int], list[int]]:
    """Event types walked away from an artifact and from an execution in ``direction``."""
    from_artifact, from_execution = (types or _ALL_TYPES for types in leaving_types(direction))
    if event_types is not None:
        allowed = frozenset(int(t) for t in event_types)
        from_artifact, from_execution = from_artifact & allowed, from_execution & allowed
    return sorted(from_artifact), sorted(from_execution)


def traverse(
    backend: "SqlBackend",
    artifact_ids: Iterable[int] = (),
    execution_ids: Iterable[int] = (),
    *,
    direction: str = UPSTREAM,
    max_hops: int | None = None,
    event_types: Iterable[int] | None = None,
    stop_artifacts: set[int] | None = None,
    stop_executions: set[int] | None = None,
    strategy: str = "cte",
    switch_after: int | None = None,
    as_of_ms: int | None = None,
) -> Reach:
    """Walks events breadth-first; arguments and answers as ``lineage.traversal.traverse``.

    Args:
        as_of_ms: Walk the graph as it stood at this moment: only events
            recorded at or before it (or with no time) whose artifact and
            execution were both created by then, as the generic walk over
            ``lineage_service``'s as-of view sees them. The filter is part of
            every statement, so no later event is ever fetched.
        strategy: "cte" or "hops" (see the module docstring).
        switch_after: With "hops", fetch the rest with the recursive query
            once the walk is this many hops deep (None: never).

    Raises:
        InvalidArgumentError: ``max_hops`` is negative, the direction or the
            strategy is unknown.
    """
    if max_hops is not None and max_hops < 0:
        raise errors.InvalidArgumentError(f"max_hops must be >= 0, got {max_hops}")
    if direction not in (UPSTREAM, DOWNSTREAM, BOTH):
        raise errors.InvalidArgumentError(
            f"direction must be upstream, downstream or both, got {direction!r}")
    if strategy not in STRATEGIES:
        raise errors.InvalidArgumentError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    types_a, types_e = followed_types(direction, event_types)
    set_a, set_e = frozenset(types_a), frozenset(types_e)
    stop_a = set(stop_artifacts or ())
    stop_e = set(stop_executions or ())
    reach = Reach({int(i) for i in artifact_ids}, {int(i) for i in execution_ids})
    walked: list[Row] = []
    seen: set[int] = set()
    artifacts = reach.artifact_ids - stop_a
    executions = reach.execution_ids - stop_e

    def from_database(frontier_a: set, frontier_e: set) -> list[Row]:
        return _hop_rows(backend, frontier_a if types_a else (), frontier_e if types_e else (),
                         types_a, types_e, as_of_ms)

    fetch: Fetch = from_database
    switch_at = 0 if strategy == "cte" else switch_after
    hops = 0
    while (artifacts or executions) and (max_hops is None or hops < max_hops):
        if hops == switch_at:
            remaining = None if max_hops is None else max_hops - hops
            fetch = _InMemory(_reachable_events(backend, artifacts, executions, types_a, types_e,
                                                remaining, stop_a, stop_e, as_of_ms)).fetch
        rows = fetch(artifacts, executions)
        next_a: set[int] = set()
        next_e: set[int] = set()
        for row in rows:
            event_id, artifact_id, execution_id, type_ = row[0], row[1], row[2], row[3]
            from_artifact = artifact_id in artifacts and type_ in set_a
            from_execution = execution_id in executions and type_ in set_e
            if from_artifact and execution_id not in reach.execution_ids:
                next_e.add(execution_id)
            if from_execution and artifact_id not in reach.artifact_ids:
                next_a.add(artifact_id)
            if (from_artifact or from_execution) and event_id not in seen:
                seen.add(event_id)
                walked.append(row)
        if not next_a and not next_e:
            break
        hops += 1
        reach.depth = hops
        reach.artifact_ids |= next_a
        reach.execution_ids |= next_e
        artifacts = next_a - stop_a
        executions = next_e - stop_e
    reach.events = backend._events_from_rows(walked)
    return reach


def _event_columns(e):
    return (e.c.id, e.c.artifact_id, e.c.execution_id, e.c.type, e.c.milliseconds_since_epoch)


def _visible(e):
    """The events the store held at ``b_as_of``: recorded by then, between nodes created by then."""
    a, x = schema.artifact_table, schema.execution_table
    moment = sa.bindparam("b_as_of", type_=sa.BigInteger())
    return sa.and_(
        sa.or_(e.c.milliseconds_since_epoch.is_(None), e.c.milliseconds_since_epoch <= moment),
        sa.exists().where(a.c.id == e.c.artifact_id, a.c.create_time_since_epoch <= moment),
        sa.exists().where(x.c.id == e.c.execution_id, x.c.create_time_since_epoch <= moment),
    )


def _hop_rows(backend: "SqlBackend", artifacts, executions, types_a, types_e,
              as_of_ms: int | None = None) -> list[Row]:
    """Events leaving the frontier in the walked direction, by event id."""
    if not artifacts and not executions:
        return []
    e = schema.event_table
    sides = ("a" if artifacts else "") + ("e" if executions else "")
    dated = as_of_ms is not None

    def build():
        conditions = []
        if "a" in sides:
            conditions.append(sa.and_(id_list(e.c.artifact_id, "b_artifacts"),
                                      id_list(e.c.type, "b_types_a")))
        if "e" in sides:
            conditions.append(sa.and_(id_list(e.c.execution_id, "b_executions"),
                                      id_list(e.c.type, "b_types_e")))
        query = sa.select(*_event_columns(e)).where(sa.or_(*conditions))
        if dated:
            query = query.where(_visible(e))
        return query.order_by(e.c.id)

    compiled = backend._stmt(("traverse_hop", sides, dated), build)
    params = {}
    if dated:
        params["b_as_of"] = int(as_of_ms)
    if artifacts:
        params["b_artifacts"], params["b_types_a"] = sorted(artifacts), types_a
    if executions:
        params["b_executions"], params["b_types_e"] = sorted(executions), types_e
    return backend._rows(compiled, params)


class _InMemory:
    """Events fetched once, answering each hop's question like ``_hop_rows``."""

    def __init__(self, rows: list[Row]):
        self.by_artifact: dict[int, list[Row]] = {}
        self.by_execution: dict[int, list[Row]] = {}
        for row in rows:
            self.by_artifact.setdefault(row[1], []).append(row)
            self.by_execution.setdefault(row[2], []).append(row)

    def fetch(self, artifacts: set, executions: set) -> list[Row]:
        found: dict[int, Row] = {}
        for node_id in artifacts:
            for row in self.by_artifact.get(node_id, ()):
                found[row[0]] = row
        for node_id in executions:
            for row in self.by_execution.get(node_id, ()):
                found[row[0]] = row
        return [found[key] for key in sorted(found)]


def _step(reach, event, on, columns, bounded: bool):
    """One recursive member: the nodes one event away from those reached."""
    if bounded:
        columns = [*columns, (reach.c.depth + 1).label("depth")]
    step = sa.select(*columns).select_from(sa.join(reach, event, on))
    if bounded:
        step = step.where(reach.c.depth < sa.bindparam("b_max_hops", type_=sa.Integer()))
    return step


def _reachable_events(backend: "SqlBackend", starts_a: set, starts_e: set, types_a, types_e,
                      max_hops: int | None, stop_a: set, stop_e: set, as_of_ms: int | None = None) -> list[Row]:
    """Runs the recursive query from a frontier; returns the events leaving every node it reaches.

    The recursive member walks one event away from a reached node: from an
    artifact along ``types_a``, from an execution along ``types_e``, never
    from a stop node, and (when bounded) only below ``max_hops``. A single
    recursive member with an OR join keeps the statement valid on
    PostgreSQL, which allows one reference to the recursive table.
    """
    if not starts_a and not starts_e:
        return []
    bounded = max_hops is not None
    dated = as_of_ms is not None
    key = ("traverse_cte", bounded, bool(starts_a), bool(starts_e), bool(types_a), bool(types_e),
           bool(stop_a), bool(stop_e), dated)

    def build():
        e = schema.event_table
        a, x = schema.artifact_table, schema.execution_table
        seeds = []
        for side, table, name, present in ((_ARTIFACT, a, "b_starts_a", starts_a),
                                           (_EXECUTION, x, "b_starts_e", starts_e)):
            if not present:
                continue
            columns = [sa.literal(side, sa.Integer()).label("kind"), table.c.id.label("node_id")]
            if bounded:
                columns.append(sa.literal(0, sa.Integer()).label("depth"))
            seeds.append(sa.select(*columns).where(id_list(table.c.id, name)))
        reach = seeds[0].cte("lineage_reach", recursive=True)
        steps = []
        for side, own, other, types_name, stop_name, has_types, has_stop in (
            (_ARTIFACT, e.c.artifact_id, e.c.execution_id, "b_types_a", "b_stop_a", bool(types_a), bool(stop_a)),
            (_EXECUTION, e.c.execution_id, e.c.artifact_id, "b_types_e", "b_stop_e", bool(types_e), bool(stop_e)),
        ):
            if not has_types:
                continue
            condition = [reach.c.kind == side, own == reach.c.node_id, id_list(e.c.type, types_name)]
            if dated:
                condition.append(_visible(e))
            if has_stop:
                condition.append(sa.not_(id_list(reach.c.node_id, stop_name)))
            steps.append((side, other, sa.and_(*condition)))
        members = list(seeds[1:])
        if steps and (one_member or len(steps) == 1):
            # PostgreSQL allows the recursive table once per statement: one
            # member joins both ways (its planner still uses both indexes).
            if len(steps) == 1:
                side, other_column, on = steps[0]
                columns = [sa.literal(1 - side, sa.Integer()).label("kind"), other_column.label("node_id")]
            else:
                on = sa.or_(*(condition for _, _, condition in steps))
                other_column = sa.case((reach.c.kind == _ARTIFACT, e.c.execution_id), else_=e.c.artifact_id)
                columns = [(sa.literal(1, sa.Integer()) - reach.c.kind).label("kind"),
                           other_column.label("node_id")]
            members.append(_step(reach, e, on, columns, bounded))
        else:
            # One member per side, each an indexed join (an OR join is a scan on MySQL).
            for side, other_column, on in steps:
                columns = [sa.literal(1 - side, sa.Integer()).label("kind"), other_column.label("node_id")]
                members.append(_step(reach, e, on, columns, bounded))
        # "seed UNION seed UNION step [UNION step]": recursive members come last.
        if members:
            reach = reach.union(*members)
        # One indexed join per side, rather than IN (subquery) OR IN (subquery),
        # which the planners answer with a scan of every event.
        sides = [(side, own, id_list(e.c.type, types_name))
                 for side, own, types_name, present in ((_ARTIFACT, e.c.artifact_id, "b_types_a2", types_a),
                                                        (_EXECUTION, e.c.execution_id, "b_types_e2", types_e))
                 if present]
        if not sides:
            return sa.select(*_event_columns(e)).where(sa.false())
        if one_member and len(sides) == 2:
            # PostgreSQL: one OR join, as in the recursive member. Per side, its
            # planner estimates an artifact's events by the average (two) and
            # reads them by artifact_id alone, filtering the type: upstream
            # through a dataset that thousands of runs read, that steps through
            # every read at each hop (17 ms at 10^6 executions, against 1 ms).
            # The OR join looks them up by (artifact_id, type).
            on = sa.or_(*(sa.and_(reach.c.kind == side, own == reach.c.node_id, typed)
                          for side, own, typed in sides))
            leaving = sa.select(*_event_columns(e)).distinct().select_from(sa.join(reach, e, on))
            if dated:
                leaving = leaving.where(_visible(e))
            return leaving.order_by(e.c.id)
        walked = []
        for side, own, typed in sides:
            leaving = sa.select(*_event_columns(e)).select_from(
                sa.join(reach, e, own == reach.c.node_id)).where(reach.c.kind == side, typed)
            walked.append(leaving.where(_visible(e)) if dated else leaving)
        if len(walked) == 1:
            return walked[0].order_by(e.c.id)
        union = sa.union(*walked).subquery("walked")
        return sa.select(*union.c).order_by(union.c.id)

    one_member = backend._dialect == "postgresql"
    compiled = backend._stmt(key, build)
    params: dict = {}
    if starts_a:
        params["b_starts_a"] = sorted(starts_a)
    if starts_e:
        params["b_starts_e"] = sorted(starts_e)
    if types_a:
        params["b_types_a"] = params["b_types_a2"] = types_a
    if types_e:
        params["b_types_e"] = params["b_types_e2"] = types_e
    if stop_a:
        params["b_stop_a"] = sorted(stop_a)
    if stop_e:
        params["b_stop_e"] = sorted(stop_e)
    if bounded:
        params["b_max_hops"] = int(max_hops)
    if dated:
        params["b_as_of"] = int(as_of_ms)
    return backend._rows(compiled, params)
