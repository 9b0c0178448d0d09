"""ListOptions: limit, ordering and paging of the list calls."""

from __future__ import annotations

import pytest

from ._api import errors, metadata_store_pb2 as pb, mlmd
from ._helpers import ARTIFACT, CONTEXT, EXECUTION, KINDS, ids, make_type, snapshot, tick

kinds = pytest.mark.parametrize("kind", KINDS, ids=str)
ListOptions, OrderByField = mlmd.ListOptions, mlmd.OrderByField


def test_list_options_defaults():
    options = ListOptions()
    assert (options.limit, options.order_by, options.is_asc, options.filter_query) == (
        None, None, True, None)
    options = ListOptions(limit=3, order_by=OrderByField.ID, is_asc=False, filter_query="id > 1")
    assert (options.limit, options.order_by, options.is_asc, options.filter_query) == (
        3, OrderByField.ID, False, "id > 1")


def test_order_by_fields_carry_the_proto_enum_values():
    field = pb.ListOperationOptions.OrderByField.Field
    assert OrderByField.CREATE_TIME.value == field.CREATE_TIME
    assert OrderByField.UPDATE_TIME.value == field.LAST_UPDATE_TIME
    assert OrderByField.ID.value == field.ID
    assert {f.name for f in OrderByField} == {"CREATE_TIME", "UPDATE_TIME", "ID"}


@pytest.fixture
def timeline(store, kind):
    """Five nodes of ``kind`` created 2+ ms apart; the second is updated last.

    Returns the ids in creation order.
    """
    type_id = make_type(kind, store, "T")
    node_ids = []
    for i in range(5):
        node_ids += kind.put_nodes(store, [kind.new_node(type_id, name=f"n{i}")])
        tick()
    update = kind.new_node(type_id, id=node_ids[1], name="n1")
    update.custom_properties["touched"].bool_value = True
    kind.put_nodes(store, [update])
    return node_ids


def listed(kind, store, **options):
    return ids(kind.get_nodes(store, list_options=ListOptions(**options)))


@kinds
def test_without_options_the_order_is_ascending_id(store, kind, timeline):
    assert ids(kind.get_nodes(store)) == timeline
    assert listed(kind, store) == timeline


@kinds
def test_order_by_id(store, kind, timeline):
    assert listed(kind, store, order_by=OrderByField.ID) == timeline
    assert listed(kind, store, order_by=OrderByField.ID, is_asc=False) == timeline[::-1]


@kinds
def test_descending_without_a_field_orders_by_id(store, kind, timeline):
    assert listed(kind, store, is_asc=False) == timeline[::-1]


@kinds
def test_order_by_create_time(store, kind, timeline):
    assert listed(kind, store, order_by=OrderByField.CREATE_TIME) == timeline
    assert listed(kind, store, order_by=OrderByField.CREATE_TIME, is_asc=False) == timeline[::-1]


@kinds
def test_order_by_update_time(store, kind, timeline):
    by_update = [timeline[0]] + timeline[2:] + [timeline[1]]
    assert listed(kind, store, order_by=OrderByField.UPDATE_TIME) == by_update
    assert listed(kind, store, order_by=OrderByField.UPDATE_TIME, is_asc=False) == \
        by_update[::-1]


@kinds
def test_limit_takes_the_first_in_order(store, kind, timeline):
    assert listed(kind, store, limit=2) == timeline[:2]
    assert listed(kind, store, limit=2, order_by=OrderByField.ID, is_asc=False) == \
        timeline[::-1][:2]
    assert listed(kind, store, limit=1, order_by=OrderByField.UPDATE_TIME, is_asc=False) == \
        [timeline[1]]
    assert listed(kind, store, limit=5) == timeline
    assert listed(kind, store, limit=50) == timeline


@kinds
def test_limit_zero_means_no_limit(store, kind, timeline):
    assert listed(kind, store, limit=0) == timeline


@kinds
@pytest.mark.parametrize("limit", [-1, -100])
def test_negative_limit_is_invalid_argument(store, kind, timeline, limit):
    with pytest.raises(errors.InvalidArgumentError):
        kind.get_nodes(store, list_options=ListOptions(limit=limit))


@pytest.fixture
def many(store, kind):
    """250 nodes of ``kind`` written in one call (so most share a creation time)."""
    type_id = make_type(kind, store, "T")
    return kind.put_nodes(store, [kind.new_node(type_id, name=f"n{i:03}") for i in range(250)])


@kinds
def test_listing_more_than_a_page(store, kind, many):
    assert ids(kind.get_nodes(store)) == many
    for field in (OrderByField.ID, OrderByField.CREATE_TIME, OrderByField.UPDATE_TIME):
        # Equal times are ordered by id, in the same direction.
        assert listed(kind, store, order_by=field) == many
        assert listed(kind, store, order_by=field, is_asc=False) == many[::-1]


@kinds
@pytest.mark.parametrize("limit", [99, 100, 101, 150, 200, 249, 250, 251, 1000])
def test_limit_across_pages(store, kind, many, limit):
    assert listed(kind, store, limit=limit) == many[:limit]
    assert listed(kind, store, limit=limit, order_by=OrderByField.CREATE_TIME, is_asc=False) == \
        many[::-1][:limit]


@kinds
def test_limit_with_a_filter_across_pages(store, kind, many):
    assert listed(kind, store, limit=120, filter_query="name LIKE 'n1%'") == many[100:200][:120]
    assert listed(kind, store, limit=30, filter_query="name LIKE 'n1%'", is_asc=False,
                  order_by=OrderByField.ID) == many[100:200][::-1][:30]


@pytest.fixture
def context_members(store):
    """A context with 3 artifacts and 3 executions created 2+ ms apart."""
    artifact_type = make_type(ARTIFACT, store, "A")
    execution_type = make_type(EXECUTION, store, "E")
    context_type = make_type(CONTEXT, store, "C")
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="c")])
    artifact_ids, execution_ids = [], []
    for i in range(3):
        artifact_ids += store.put_artifacts([pb.Artifact(type_id=artifact_type, uri=f"/{i}")])
        execution_ids += store.put_executions([pb.Execution(type_id=execution_type,
                                                            name=f"e{i}")])
        tick()
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=context_id) for a in artifact_ids],
        [pb.Association(execution_id=e, context_id=context_id) for e in execution_ids])
    return context_id, artifact_ids, execution_ids


def test_list_options_on_artifacts_by_context(store, context_members):
    context_id, artifact_ids, _ = context_members

    def by_context(**options):
        return ids(store.get_artifacts_by_context(context_id,
                                                  list_options=ListOptions(**options)))

    assert by_context() == artifact_ids
    assert by_context(order_by=OrderByField.CREATE_TIME, is_asc=False) == artifact_ids[::-1]
    assert by_context(limit=2) == artifact_ids[:2]
    assert by_context(filter_query="uri = '/1'") == [artifact_ids[1]]
    with pytest.raises(errors.InvalidArgumentError):
        by_context(limit=-1)


def test_list_options_on_executions_by_context(store, context_members):
    context_id, _, execution_ids = context_members

    def by_context(**options):
        return ids(store.get_executions_by_context(context_id,
                                                   list_options=ListOptions(**options)))

    # Without list options the newest come first; with them the usual default holds.
    assert ids(store.get_executions_by_context(context_id)) == execution_ids[::-1]
    assert by_context() == execution_ids
    assert by_context(order_by=OrderByField.CREATE_TIME) == execution_ids
    assert by_context(limit=2, order_by=OrderByField.ID, is_asc=False) == execution_ids[::-1][:2]
    assert by_context(filter_query="name = 'e2'") == [execution_ids[2]]


def test_by_context_lists_page_through_many_members(store):
    artifact_type = make_type(ARTIFACT, store, "A")
    execution_type = make_type(EXECUTION, store, "E")
    context_type = make_type(CONTEXT, store, "C")
    [context_id] = store.put_contexts([pb.Context(type_id=context_type, name="c")])
    artifact_ids = store.put_artifacts([pb.Artifact(type_id=artifact_type)] * 230)
    execution_ids = store.put_executions([pb.Execution(type_id=execution_type)] * 230)
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=context_id) for a in artifact_ids],
        [pb.Association(execution_id=e, context_id=context_id) for e in execution_ids])
    assert ids(store.get_artifacts_by_context(context_id)) == artifact_ids
    assert ids(store.get_executions_by_context(context_id)) == execution_ids[::-1]
    assert ids(store.get_artifacts_by_context(
        context_id, list_options=ListOptions(limit=150, is_asc=False))) == \
        artifact_ids[::-1][:150]


def test_filters_on_neighbours_page_like_one_read(store):
    """Filters on contexts, parent contexts and events give, page by page in
    either direction, the nodes one read gives: none lost or repeated where
    a page ends."""
    artifact_type = make_type(ARTIFACT, store, "A")
    execution_type = make_type(EXECUTION, store, "E")
    context_type = make_type(CONTEXT, store, "C")
    run_id, everyone_id, parent_id = store.put_contexts(
        [pb.Context(type_id=context_type, name=name) for name in ("run", "everyone", "parent")])
    artifact_ids = store.put_artifacts([pb.Artifact(type_id=artifact_type) for _ in range(250)])
    in_run = [a for i, a in enumerate(artifact_ids) if i % 3]
    store.put_attributions_and_associations(
        [pb.Attribution(artifact_id=a, context_id=run_id) for a in in_run]
        + [pb.Attribution(artifact_id=a, context_id=everyone_id) for a in artifact_ids], [])
    [execution_id] = store.put_executions([pb.Execution(type_id=execution_type)])
    inputs = artifact_ids[::2][:110]
    store.put_events([pb.Event(artifact_id=a, execution_id=execution_id, type=pb.Event.INPUT)
                      for a in inputs])
    child_ids = store.put_contexts([pb.Context(type_id=context_type, name=f"child-{i}") for i in range(230)])
    children = child_ids[1::2]
    store.put_parent_contexts([pb.ParentContext(child_id=c, parent_id=parent_id) for c in children])

    cases = [
        (ARTIFACT, 'contexts_a.name = "run"', in_run),
        (ARTIFACT, f"contexts_a.id = {run_id} AND id >= {artifact_ids[0]}", in_run),
        (ARTIFACT, f"events_0.execution_id = {execution_id}", inputs),
        (CONTEXT, 'parent_contexts_a.name = "parent"', children),
    ]
    for kind, query, expected in cases:
        assert listed(kind, store, filter_query=query) == expected, query
        assert listed(kind, store, filter_query=query, is_asc=False) == expected[::-1], query
        assert listed(kind, store, filter_query=query, limit=130, order_by=OrderByField.ID) == \
            expected[:130], query
        assert listed(kind, store, filter_query=query, order_by=OrderByField.CREATE_TIME,
                      is_asc=False) == expected[::-1], query


@kinds
def test_listing_does_not_write(store, kind, timeline):
    before = snapshot(store)
    listed(kind, store, limit=2, order_by=OrderByField.UPDATE_TIME, is_asc=False)
    assert snapshot(store) == before
