"""Artifacts, executions and contexts: create, update, validate, fetch."""

from __future__ import annotations

import pytest

from ._api import errors, lineage_only, metadata_store_pb2 as pb
from ._helpers import (
    ARTIFACT, BOOLEAN, CONTEXT, DOUBLE, EXECUTION, INT, KINDS, PROTO, STRING, STRUCT,
    by_id, fill, ids, make_type, now_ms, snapshot, tick,
)

kinds = pytest.mark.parametrize("kind", KINDS, ids=str)

PROPERTIES = {"i": INT, "d": DOUBLE, "s": STRING, "b": BOOLEAN, "st": STRUCT, "pr": PROTO}


def full_type(kind, store, name="T"):
    return make_type(kind, store, name, PROPERTIES)


def full_node(kind, type_id, name="n1", **fields):
    node = kind.new_node(type_id, name=name, **fields)
    fill(node,
         {"i": 7, "d": 2.5, "s": "text", "b": True,
          "st": {"a": 1, "b": ["x", 2], "c": {"d": True}}},
         {"ci": -3, "cd": 0.25, "cs": "custom", "cb": False, "cst": {"k": "v"}})
    node.properties["pr"].proto_value.Pack(pb.Artifact(uri="inner"))
    node.custom_properties["cpr"].proto_value.Pack(pb.Context(name="inner"))
    if kind is ARTIFACT:
        node.uri = "/data/1"
        node.state = pb.Artifact.LIVE
    elif kind is EXECUTION:
        node.last_known_state = pb.Execution.RUNNING
    return node


def get_one(kind, store, node_id):
    [node] = kind.get_nodes_by_id(store, [node_id])
    return node


@kinds
def test_fresh_store_has_no_nodes(store, kind):
    assert kind.get_nodes(store) == []


def test_ids_are_sequential_per_kind_starting_at_one(store):
    artifact_type = make_type(ARTIFACT, store, "A")
    execution_type = make_type(EXECUTION, store, "E")
    context_type = make_type(CONTEXT, store, "C")

    assert store.put_artifacts([pb.Artifact(type_id=artifact_type)] * 2) == [1, 2]
    assert store.put_executions([pb.Execution(type_id=execution_type)]) == [1]
    assert store.put_contexts([pb.Context(type_id=context_type, name="c1")]) == [1]
    assert store.put_artifacts([pb.Artifact(type_id=artifact_type)]) == [3]
    assert store.put_executions([pb.Execution(type_id=execution_type)] * 3) == [2, 3, 4]


@kinds
def test_node_round_trips_with_every_value_kind(store, kind):
    type_id = full_type(kind, store)
    node = full_node(kind, type_id, external_id="ext-1")
    before = now_ms()

    [node_id] = kind.put_nodes(store, [node])

    after = now_ms()
    stored = get_one(kind, store, node_id)
    expected = kind.node_cls()
    expected.CopyFrom(node)
    expected.id = node_id
    expected.type = "T"
    expected.create_time_since_epoch = stored.create_time_since_epoch
    expected.last_update_time_since_epoch = stored.last_update_time_since_epoch
    assert stored == expected
    assert before - 1 <= stored.create_time_since_epoch <= after + 1
    assert stored.last_update_time_since_epoch == stored.create_time_since_epoch


# MLMD's schema gives int_value 32 bits on MySQL and PostgreSQL (64 on SQLite).
NARROW_INT_BACKENDS = {"mysql", "postgresql"}


@kinds
def test_edge_values_round_trip(store, kind, request):
    narrow = request.node.callspec.params.get("store") in NARROW_INT_BACKENDS
    widest = 2**31 if narrow else 2**63
    type_id = make_type(kind, store, "T", {"i": INT, "s": STRING, "d": DOUBLE, "b": BOOLEAN})
    node = fill(kind.new_node(type_id, name="名前 ✓"),
                {"i": 0, "s": "", "d": 0.0, "b": False},
                {"max": widest - 1, "min": -widest, "neg": -0.5, "big": 1.5e300, "small": 1e-5,
                 "text": "ünï\ncode ✓ 名前 'q' \"dq\""})
    if kind is ARTIFACT:
        node.uri = "gs://bücket/päth with spaces/%20"
    [node_id] = kind.put_nodes(store, [node])
    stored = get_one(kind, store, node_id)
    assert stored.name == node.name
    assert stored.properties == node.properties
    assert stored.custom_properties == node.custom_properties
    # Zero values are still set values of their own kind.
    assert {k: v.WhichOneof("value") for k, v in stored.properties.items()} == {
        "i": "int_value", "s": "string_value", "d": "double_value", "b": "bool_value"}
    if kind is ARTIFACT:
        assert stored.uri == node.uri


@kinds
def test_int_values_beyond_32_bits_fit_or_are_refused_cleanly(store, kind, request):
    type_id = make_type(kind, store, "T")
    node = fill(kind.new_node(type_id, name="n"), {}, {"max": 2**31})
    if request.node.callspec.params.get("store") in NARROW_INT_BACKENDS:
        before = snapshot(store)
        with pytest.raises(errors.InvalidArgumentError, match="max"):
            kind.put_nodes(store, [node])
        assert snapshot(store) == before
    else:
        [node_id] = kind.put_nodes(store, [node])
        assert get_one(kind, store, node_id).custom_properties["max"].int_value == 2**31


# MLMD 1.17.1 writes doubles into its SQL text with six decimals, so 1/3 comes
# back as 0.333333 and 1e-300 as 0.0. A double is stored as given here.
@lineage_only
@kinds
def test_doubles_round_trip_exactly(store, kind):
    values = {"a": 0.1 + 0.2, "b": 1 / 3, "c": 3.141592653589793, "d": 1e-300,
              "e": 123456789.12345679, "f": -2.2250738585072014e-308}
    type_id = make_type(kind, store, "T", {"p": DOUBLE})
    [node_id] = kind.put_nodes(store, [fill(kind.new_node(type_id), {"p": 1 / 7}, values)])
    stored = get_one(kind, store, node_id)
    assert stored.properties["p"].double_value == 1 / 7
    assert {k: v.double_value for k, v in stored.custom_properties.items()} == values


@kinds
def test_put_returns_ids_aligned_with_input(store, kind):
    type_id = make_type(kind, store, "T")
    nodes = [kind.new_node(type_id, name=f"n{i}") for i in range(5)]
    node_ids = kind.put_nodes(store, nodes)
    assert len(node_ids) == 5 and len(set(node_ids)) == 5
    for node_id, node in zip(node_ids, nodes):
        assert get_one(kind, store, node_id).name == node.name
    assert kind.put_nodes(store, []) == []


@kinds
def test_read_fills_the_type_name(store, kind):
    first = make_type(kind, store, "First")
    second = make_type(kind, store, "Second", version="v2")
    node_ids = kind.put_nodes(store, [kind.new_node(first), kind.new_node(second)])
    stored = {n.id: n for n in kind.get_nodes_by_id(store, node_ids)}
    assert stored[node_ids[0]].type == "First"
    assert stored[node_ids[1]].type == "Second"
    assert [n.type_id for n in by_id(stored.values())] == [first, second]


@kinds
def test_client_supplied_times_are_ignored(store, kind):
    type_id = make_type(kind, store, "T")
    node = kind.new_node(type_id, create_time_since_epoch=5, last_update_time_since_epoch=7)
    before = now_ms()
    [node_id] = kind.put_nodes(store, [node])
    stored = get_one(kind, store, node_id)
    assert stored.create_time_since_epoch >= before - 1
    assert stored.last_update_time_since_epoch >= before - 1

    update = kind.node_cls()
    update.CopyFrom(stored)
    update.create_time_since_epoch = 5
    update.last_update_time_since_epoch = 7
    update.custom_properties["x"].int_value = 1
    kind.put_nodes(store, [update])
    again = get_one(kind, store, node_id)
    assert again.create_time_since_epoch == stored.create_time_since_epoch
    assert again.last_update_time_since_epoch >= stored.last_update_time_since_epoch


@kinds
def test_update_moves_last_update_time_and_keeps_create_time(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    [node_id] = kind.put_nodes(store, [fill(kind.new_node(type_id, name="n"), {"p": 1})])
    created = get_one(kind, store, node_id)
    tick()
    before = now_ms()

    update = kind.node_cls()
    update.CopyFrom(created)
    update.properties["p"].int_value = 2
    assert kind.put_nodes(store, [update]) == [node_id]

    after = now_ms()
    updated = get_one(kind, store, node_id)
    assert updated.properties["p"].int_value == 2
    assert updated.create_time_since_epoch == created.create_time_since_epoch
    assert before - 1 <= updated.last_update_time_since_epoch <= after + 1
    assert updated.last_update_time_since_epoch > created.last_update_time_since_epoch


@kinds
def test_identical_update_keeps_last_update_time(store, kind):
    type_id = full_type(kind, store)
    [node_id] = kind.put_nodes(store, [full_node(kind, type_id)])
    stored = get_one(kind, store, node_id)
    tick()
    assert kind.put_nodes(store, [stored]) == [node_id]
    assert get_one(kind, store, node_id) == stored


@kinds
def test_update_replaces_the_whole_node(store, kind):
    type_id = full_type(kind, store)
    [node_id] = kind.put_nodes(store, [full_node(kind, type_id, external_id="e1")])

    update = kind.new_node(id=node_id)
    if kind is CONTEXT:
        update.name = "n1"  # contexts must keep a name
    fill(update, {"i": 8}, {"new": "v"})
    assert kind.put_nodes(store, [update]) == [node_id]

    stored = get_one(kind, store, node_id)
    assert dict(stored.properties) == {"i": pb.Value(int_value=8)}
    assert dict(stored.custom_properties) == {"new": pb.Value(string_value="v")}
    assert not stored.HasField("external_id")
    assert stored.type_id == type_id
    assert stored.name == "n1"
    if kind is ARTIFACT:
        assert stored.uri == "" and not stored.HasField("state")
    if kind is EXECUTION:
        assert not stored.HasField("last_known_state")


@pytest.mark.parametrize("kind", [ARTIFACT, EXECUTION], ids=str)
def test_artifact_and_execution_names_cannot_change(store, kind):
    # The stored name of an artifact or execution is fixed at creation: an
    # update that names it differently (or names an unnamed one) keeps the old
    # name, without an error, while the rest of the update applies.
    type_id = make_type(kind, store, "T")
    named, unnamed = kind.put_nodes(store, [kind.new_node(type_id, name="first"),
                                            kind.new_node(type_id)])

    kind.put_nodes(store, [kind.new_node(type_id, id=named, name="second", external_id="x"),
                           kind.new_node(type_id, id=unnamed, name="late")])

    assert get_one(kind, store, named).name == "first"
    assert get_one(kind, store, named).external_id == "x"
    assert not get_one(kind, store, unnamed).HasField("name")
    assert kind.get_node_by_type_and_name(store, "T", "second") is None


def test_context_can_be_renamed(store):
    type_id = make_type(CONTEXT, store, "C")
    [context_id] = store.put_contexts([pb.Context(type_id=type_id, name="old")])
    store.put_contexts([pb.Context(id=context_id, name="new")])
    assert get_one(CONTEXT, store, context_id).name == "new"
    assert store.get_context_by_type_and_name("C", "old") is None
    assert store.get_context_by_type_and_name("C", "new").id == context_id


@pytest.mark.parametrize("name", [None, ""], ids=["unset", "empty"])
def test_context_needs_a_name(store, name):
    type_id = make_type(CONTEXT, store, "C")
    [existing] = store.put_contexts([pb.Context(type_id=type_id, name="keep")])
    before = snapshot(store)

    new = pb.Context(type_id=type_id)
    update = pb.Context(id=existing)
    if name is not None:
        new.name = name
        update.name = name
    with pytest.raises(errors.InvalidArgumentError):
        store.put_contexts([new])
    with pytest.raises(errors.InvalidArgumentError):
        store.put_contexts([update])
    assert snapshot(store) == before


@kinds
def test_update_without_type_id_keeps_the_type(store, kind):
    type_id = make_type(kind, store, "T")
    [node_id] = kind.put_nodes(store, [kind.new_node(type_id, name="n")])
    update = kind.new_node(id=node_id, name="n")
    update.custom_properties["x"].int_value = 1
    kind.put_nodes(store, [update])
    stored = get_one(kind, store, node_id)
    assert stored.type_id == type_id
    assert stored.custom_properties["x"].int_value == 1


@kinds
def test_update_to_another_type_is_invalid_argument(store, kind):
    type_id = make_type(kind, store, "T")
    other = make_type(kind, store, "Other")
    [node_id] = kind.put_nodes(store, [kind.new_node(type_id, name="n")])
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [kind.new_node(other, id=node_id, name="n")])
    assert snapshot(store) == before


@kinds
def test_update_of_unknown_id_is_invalid_argument(store, kind):
    type_id = make_type(kind, store, "T")
    kind.put_nodes(store, [kind.new_node(type_id, name="n")])
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [kind.new_node(type_id, id=10_000, name="x")])
    assert snapshot(store) == before


@kinds
def test_new_node_without_type_id_is_invalid_argument(store, kind):
    make_type(kind, store, "T")
    before = snapshot(store)
    node = kind.new_node(name="n")
    node.type = "T"  # the type name alone does not name the type
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [node])
    assert snapshot(store) == before


@kinds
def test_unknown_type_id_is_not_found(store, kind):
    make_type(kind, store, "T")
    other_kinds_type = make_type(next(k for k in KINDS if k is not kind), store, "Other")
    before = snapshot(store)
    with pytest.raises(errors.NotFoundError):
        kind.put_nodes(store, [kind.new_node(10_000, name="n")])
    with pytest.raises(errors.NotFoundError):
        kind.put_nodes(store, [kind.new_node(other_kinds_type, name="n")])
    assert snapshot(store) == before


@kinds
def test_undeclared_property_is_invalid_argument(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [fill(kind.new_node(type_id), {"q": 1})])
    assert snapshot(store) == before


@kinds
@pytest.mark.parametrize("declared, value", [
    (INT, "1"), (INT, 1.0), (INT, True), (DOUBLE, 1), (STRING, 1), (BOOLEAN, 1),
    (STRUCT, "x"), (PROTO, 1), (INT, None),
], ids=["int<-str", "int<-double", "int<-bool", "double<-int", "string<-int",
        "bool<-int", "struct<-str", "proto<-int", "int<-empty"])
def test_property_value_of_the_wrong_kind_is_invalid_argument(store, kind, declared, value):
    type_id = make_type(kind, store, "T", {"p": declared})
    [existing] = kind.put_nodes(store, [kind.new_node(type_id, name="existing")])
    before = snapshot(store)

    new = kind.new_node(type_id, name="new")
    update = kind.new_node(type_id, id=existing, name="existing")
    for node in (new, update):
        if value is None:
            node.properties["p"].SetInParent()
        else:
            fill(node, {"p": value})
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [new])
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [update])
    assert snapshot(store) == before


@kinds
def test_custom_properties_are_not_checked_against_the_type(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    node = fill(kind.new_node(type_id), {"p": 1}, {"p": "a string", "anything": 2.5})
    [node_id] = kind.put_nodes(store, [node])
    stored = get_one(kind, store, node_id)
    assert stored.properties["p"].int_value == 1
    assert stored.custom_properties["p"].string_value == "a string"
    assert stored.custom_properties["anything"].double_value == 2.5


@kinds
def test_duplicate_name_within_a_type_is_already_exists(store, kind):
    type_id = make_type(kind, store, "T")
    kind.put_nodes(store, [kind.new_node(type_id, name="dup")])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        kind.put_nodes(store, [kind.new_node(type_id, name="dup")])
    assert snapshot(store) == before


@kinds
def test_same_name_under_other_types_is_fine(store, kind):
    first = make_type(kind, store, "T")
    second = make_type(kind, store, "U")
    for other in KINDS:
        if other is not kind:
            other.put_nodes(store, [other.new_node(make_type(other, store, "T"), name="same")])
    node_ids = kind.put_nodes(store, [kind.new_node(first, name="same"),
                                      kind.new_node(second, name="same")])
    assert len(set(node_ids)) == 2


@kinds
def test_duplicate_name_within_one_batch_writes_nothing(store, kind):
    type_id = make_type(kind, store, "T")
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        kind.put_nodes(store, [kind.new_node(type_id, name="fresh"),
                               kind.new_node(type_id, name="dup"),
                               kind.new_node(type_id, name="dup")])
    assert snapshot(store) == before


@kinds
def test_duplicate_external_id_is_already_exists(store, kind):
    type_id = make_type(kind, store, "T")
    other_type = make_type(kind, store, "U")
    kind.put_nodes(store, [kind.new_node(type_id, external_id="ext")])
    before = snapshot(store)
    # external_id is unique among all nodes of a kind, whatever their type.
    with pytest.raises(errors.AlreadyExistsError):
        kind.put_nodes(store, [kind.new_node(other_type, external_id="ext")])
    assert snapshot(store) == before


def test_external_ids_of_different_kinds_are_independent(store):
    ids_by_kind = []
    for kind in KINDS:
        type_id = make_type(kind, store, "T")
        ids_by_kind.append(kind.put_nodes(store, [kind.new_node(type_id, external_id="same")]))
    for kind, node_ids in zip(KINDS, ids_by_kind):
        assert ids(kind.get_nodes_by_external_ids(store, ["same"])) == node_ids


# MLMD 1.17.1 refuses an update that takes another node's external_id, but
# lets the raw UNIQUE-constraint failure out as InternalError. Inserting the
# same clash gives AlreadyExistsError, which is what we give for both.
@lineage_only
@kinds
def test_update_to_a_taken_external_id_is_already_exists(store, kind):
    type_id = make_type(kind, store, "T")
    first, _ = kind.put_nodes(store, [kind.new_node(type_id, name="a", external_id="a"),
                                      kind.new_node(type_id, name="b", external_id="b")])
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        kind.put_nodes(store, [kind.new_node(type_id, id=first, name="a", external_id="b")])
    assert snapshot(store) == before


@kinds
def test_batch_with_one_invalid_node_writes_nothing(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    [existing] = kind.put_nodes(store, [fill(kind.new_node(type_id, name="e"), {"p": 1})])
    before = snapshot(store)
    good_update = fill(kind.new_node(type_id, id=existing, name="e"), {"p": 2})
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [kind.new_node(type_id, name="ok"), good_update,
                               fill(kind.new_node(type_id, name="bad"), {"p": "x"})])
    assert snapshot(store) == before


@kinds
def test_get_by_id_leaves_out_missing_ids(store, kind):
    type_id = make_type(kind, store, "T")
    node_ids = kind.put_nodes(store, [kind.new_node(type_id) for _ in range(3)])
    found = kind.get_nodes_by_id(store, [node_ids[2], 10_000, node_ids[0]])
    assert sorted(ids(found)) == [node_ids[0], node_ids[2]]
    assert kind.get_nodes_by_id(store, [10_000]) == []
    assert kind.get_nodes_by_id(store, []) == []


@kinds
def test_get_all_is_in_id_order(store, kind):
    type_id = make_type(kind, store, "T")
    other = make_type(kind, store, "U")
    node_ids = []
    for type_ in (type_id, other, type_id):
        node_ids += kind.put_nodes(store, [kind.new_node(type_)])
    assert ids(kind.get_nodes(store)) == sorted(node_ids)


@kinds
def test_get_by_type(store, kind):
    type_id = make_type(kind, store, "T")
    versioned = make_type(kind, store, "T", version="v1")
    other = make_type(kind, store, "U")
    plain_ids = kind.put_nodes(store, [kind.new_node(type_id), kind.new_node(type_id)])
    versioned_ids = kind.put_nodes(store, [kind.new_node(versioned)])
    kind.put_nodes(store, [kind.new_node(other)])

    assert sorted(ids(kind.get_nodes_by_type(store, "T"))) == plain_ids
    assert ids(kind.get_nodes_by_type(store, "T", "v1")) == versioned_ids
    assert kind.get_nodes_by_type(store, "T", "v2") == []
    assert kind.get_nodes_by_type(store, "Missing") == []


@kinds
def test_get_by_type_and_name(store, kind):
    type_id = make_type(kind, store, "T")
    versioned = make_type(kind, store, "T", version="v1")
    [plain_id, versioned_id] = kind.put_nodes(
        store, [kind.new_node(type_id, name="n"), kind.new_node(versioned, name="n")])

    assert kind.get_node_by_type_and_name(store, "T", "n").id == plain_id
    assert kind.get_node_by_type_and_name(store, "T", "n", "v1").id == versioned_id
    assert kind.get_node_by_type_and_name(store, "T", "other") is None
    assert kind.get_node_by_type_and_name(store, "Missing", "n") is None
    assert kind.get_node_by_type_and_name(store, "T", "n", "v2") is None


@kinds
def test_get_by_external_ids(store, kind):
    type_id = make_type(kind, store, "T")
    node_ids = kind.put_nodes(store, [kind.new_node(type_id, external_id="a"),
                                      kind.new_node(type_id, external_id="b"),
                                      kind.new_node(type_id)])
    assert ids(kind.get_nodes_by_external_ids(store, ["b"])) == [node_ids[1]]
    found = kind.get_nodes_by_external_ids(store, ["b", "nope", "a"])
    assert sorted(ids(found)) == node_ids[:2]
    assert kind.get_nodes_by_external_ids(store, []) == []


@kinds
def test_get_by_external_ids_with_no_match_is_not_found(store, kind):
    type_id = make_type(kind, store, "T")
    kind.put_nodes(store, [kind.new_node(type_id, external_id="a")])
    with pytest.raises(errors.NotFoundError):
        kind.get_nodes_by_external_ids(store, ["nope"])


def test_get_artifacts_by_uri(store):
    type_id = make_type(ARTIFACT, store, "A")
    other = make_type(ARTIFACT, store, "B")
    node_ids = store.put_artifacts([pb.Artifact(type_id=type_id, uri="/a"),
                                    pb.Artifact(type_id=other, uri="/a"),
                                    pb.Artifact(type_id=type_id, uri="/b")])
    assert sorted(ids(store.get_artifacts_by_uri("/a"))) == node_ids[:2]
    assert ids(store.get_artifacts_by_uri("/b")) == node_ids[2:]
    assert store.get_artifacts_by_uri("/A") == []
    assert store.get_artifacts_by_uri("/missing") == []


def test_get_artifacts_and_types_by_artifact_ids(store):
    first = make_type(ARTIFACT, store, "A", {"p": INT}, description="first")
    second = make_type(ARTIFACT, store, "B", version="v2")
    make_type(ARTIFACT, store, "Unused")
    node_ids = store.put_artifacts([pb.Artifact(type_id=first), pb.Artifact(type_id=second),
                                    pb.Artifact(type_id=first)])

    artifacts, types = store.get_artifacts_and_types_by_artifact_ids(
        [node_ids[2], 10_000, node_ids[1], node_ids[0]])

    assert sorted(ids(artifacts)) == sorted(node_ids)
    assert by_id(artifacts) == by_id(store.get_artifacts_by_id(node_ids))
    assert sorted(t.id for t in types) == [first, second]
    listed = {t.id: t for t in types}
    assert listed[first].name == "A" and dict(listed[first].properties) == {"p": INT}
    assert listed[first].description == "first"
    assert (listed[second].name, listed[second].version) == ("B", "v2")
    assert store.get_artifacts_and_types_by_artifact_ids([]) == ([], [])
    assert store.get_artifacts_and_types_by_artifact_ids([10_000]) == ([], [])


@pytest.mark.parametrize("state", list(pb.Artifact.State.values()))
def test_artifact_states_round_trip(store, state):
    type_id = make_type(ARTIFACT, store, "A")
    [node_id] = store.put_artifacts([pb.Artifact(type_id=type_id, state=state)])
    assert get_one(ARTIFACT, store, node_id).state == state


@pytest.mark.parametrize("state", list(pb.Execution.State.values()))
def test_execution_states_round_trip(store, state):
    type_id = make_type(EXECUTION, store, "E")
    [node_id] = store.put_executions([pb.Execution(type_id=type_id, last_known_state=state)])
    assert get_one(EXECUTION, store, node_id).last_known_state == state


# --- partial updates with field_mask_paths -----------------------------------------------

def masked_fixture(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT, "q": STRING})
    node = fill(kind.new_node(type_id, name="n", external_id="e"), {"p": 1, "q": "x"},
                {"c": 5, "d": 6})
    if kind is ARTIFACT:
        node.uri = "/old"
        node.state = pb.Artifact.LIVE
    if kind is EXECUTION:
        node.last_known_state = pb.Execution.RUNNING
    [node_id] = kind.put_nodes(store, [node])
    return type_id, node_id, get_one(kind, store, node_id)


@kinds
def test_mask_updates_only_the_listed_fields(store, kind):
    _, node_id, original = masked_fixture(store, kind)
    update = fill(kind.new_node(id=node_id, external_id="changed"), {"p": 2}, {"c": 50})
    tick()

    kind.put_nodes(store, [update], field_mask_paths=["external_id"])

    stored = get_one(kind, store, node_id)
    expected = kind.node_cls()
    expected.CopyFrom(original)
    expected.external_id = "changed"
    expected.last_update_time_since_epoch = stored.last_update_time_since_epoch
    assert stored == expected
    assert stored.last_update_time_since_epoch > original.last_update_time_since_epoch


def test_mask_updates_artifact_uri_and_state(store):
    _, node_id, original = masked_fixture(store, ARTIFACT)
    update = pb.Artifact(id=node_id, uri="/new", state=pb.Artifact.DELETED, external_id="x")
    store.put_artifacts([update], field_mask_paths=["uri", "state"])
    stored = get_one(ARTIFACT, store, node_id)
    assert (stored.uri, stored.state, stored.external_id) == ("/new", pb.Artifact.DELETED, "e")
    assert stored.properties == original.properties


def test_mask_updates_execution_state(store):
    _, node_id, original = masked_fixture(store, EXECUTION)
    update = pb.Execution(id=node_id, last_known_state=pb.Execution.COMPLETE)
    store.put_executions([update], field_mask_paths=["last_known_state"])
    stored = get_one(EXECUTION, store, node_id)
    assert stored.last_known_state == pb.Execution.COMPLETE
    assert (stored.properties, stored.custom_properties) == (
        original.properties, original.custom_properties)


def test_mask_renames_a_context(store):
    _, node_id, original = masked_fixture(store, CONTEXT)
    store.put_contexts([pb.Context(id=node_id, name="renamed")], field_mask_paths=["name"])
    stored = get_one(CONTEXT, store, node_id)
    assert stored.name == "renamed"
    assert stored.properties == original.properties
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        store.put_contexts([pb.Context(id=node_id)], field_mask_paths=["name"])
    assert snapshot(store) == before


@kinds
def test_mask_path_for_one_property_sets_only_it(store, kind):
    _, node_id, original = masked_fixture(store, kind)
    update = fill(kind.new_node(id=node_id), {"p": 2, "q": "ignored"}, {"c": 50})
    kind.put_nodes(store, [update], field_mask_paths=["properties.p"])
    stored = get_one(kind, store, node_id)
    assert stored.properties["p"].int_value == 2
    assert stored.properties["q"].string_value == "x"
    assert stored.custom_properties == original.custom_properties


@kinds
def test_mask_path_for_a_property_missing_from_the_message_deletes_it(store, kind):
    _, node_id, original = masked_fixture(store, kind)
    kind.put_nodes(store, [kind.new_node(id=node_id)],
                   field_mask_paths=["properties.q", "custom_properties.d"])
    stored = get_one(kind, store, node_id)
    assert dict(stored.properties) == {"p": pb.Value(int_value=1)}
    assert dict(stored.custom_properties) == {"c": pb.Value(int_value=5)}


@kinds
def test_mask_path_for_a_new_custom_property_adds_it(store, kind):
    _, node_id, original = masked_fixture(store, kind)
    update = fill(kind.new_node(id=node_id), custom={"new": True, "c": 99})
    kind.put_nodes(store, [update], field_mask_paths=["custom_properties.new"])
    stored = get_one(kind, store, node_id)
    assert dict(stored.custom_properties) == {
        "c": pb.Value(int_value=5), "d": pb.Value(int_value=6), "new": pb.Value(bool_value=True)}


@kinds
def test_mask_path_for_a_whole_map_replaces_it(store, kind):
    _, node_id, original = masked_fixture(store, kind)
    update = fill(kind.new_node(id=node_id), {"q": "y"}, {"c": 50})
    kind.put_nodes(store, [update], field_mask_paths=["custom_properties", "properties"])
    stored = get_one(kind, store, node_id)
    assert dict(stored.properties) == {"q": pb.Value(string_value="y")}
    assert dict(stored.custom_properties) == {"c": pb.Value(int_value=50)}


@kinds
def test_masked_property_update_is_still_type_checked(store, kind):
    _, node_id, _ = masked_fixture(store, kind)
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [fill(kind.new_node(id=node_id), {"p": "text"})],
                       field_mask_paths=["properties.p"])
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [fill(kind.new_node(id=node_id), {"undeclared": 1})],
                       field_mask_paths=["properties.undeclared"])
    assert snapshot(store) == before


@kinds
def test_masked_update_of_unknown_id_or_other_type_is_invalid_argument(store, kind):
    type_id, node_id, _ = masked_fixture(store, kind)
    other = make_type(kind, store, "Other")
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [kind.new_node(id=10_000, external_id="x")],
                       field_mask_paths=["external_id"])
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_nodes(store, [kind.new_node(other, id=node_id, external_id="x")],
                       field_mask_paths=["external_id"])
    assert snapshot(store) == before


@kinds
def test_mask_is_ignored_when_inserting(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    new = fill(kind.new_node(type_id, name="whole", external_id="e"), {"p": 3}, {"c": "v"})
    [node_id] = kind.put_nodes(store, [new], field_mask_paths=["external_id"])
    stored = get_one(kind, store, node_id)
    assert (stored.name, stored.external_id) == ("whole", "e")
    assert stored.properties["p"].int_value == 3
    assert stored.custom_properties["c"].string_value == "v"


@kinds
def test_mask_applies_to_every_node_of_the_batch(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    first, second = kind.put_nodes(store, [fill(kind.new_node(type_id, name="a"), {"p": 1}),
                                           fill(kind.new_node(type_id, name="b"), {"p": 2})])
    [third] = kind.put_nodes(store, [fill(kind.new_node(id=first), {"p": 10}, {"c": 1}),
                                     fill(kind.new_node(id=second), {"p": 20}, {"c": 2}),
                                     fill(kind.new_node(type_id, name="c"), {"p": 3}, {"c": 3})],
                             field_mask_paths=["properties.p"])[2:]
    stored = {n.id: n for n in kind.get_nodes(store)}
    assert [stored[i].properties["p"].int_value for i in (first, second, third)] == [10, 20, 3]
    assert [len(stored[i].custom_properties) for i in (first, second, third)] == [0, 0, 1]
