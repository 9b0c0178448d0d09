"""Types: registration, evolution, look-up, and the id sequence they share."""

from __future__ import annotations

import pytest

from ._api import errors, lineage_only, metadata_store_pb2 as pb
from ._helpers import (
    ARTIFACT, BOOLEAN, CONTEXT, DOUBLE, EXECUTION, INT, KINDS, PROTO, STRING, STRUCT,
    by_id, make_type, snapshot,
)

kinds = pytest.mark.parametrize("kind", KINDS, ids=str)

ALL_PROPERTY_TYPES = {
    "i": INT, "d": DOUBLE, "s": STRING, "st": STRUCT, "pr": PROTO, "b": BOOLEAN,
}


@kinds
def test_fresh_store_lists_no_types(store, kind):
    assert kind.get_types(store) == []


@kinds
def test_put_type_round_trips_every_property_type(store, kind):
    node_type = kind.type_cls(name="T", description="a type", external_id="ext-T")
    for name, prop_type in ALL_PROPERTY_TYPES.items():
        node_type.properties[name] = prop_type

    type_id = kind.put_type(store, node_type)

    assert isinstance(type_id, int) and type_id > 0
    expected = kind.type_cls()
    expected.CopyFrom(node_type)
    expected.id = type_id
    assert kind.get_type(store, "T") == expected
    assert kind.get_types_by_id(store, [type_id]) == [expected]
    # The full list leaves external_id out in MLMD 1.17.1; see the test below.
    listed = kind.get_types(store)
    for listed_type in listed:
        listed_type.ClearField("external_id")
    expected.ClearField("external_id")
    assert listed == [expected]


# MLMD 1.17.1's list-all-types query does not select external_id, so
# get_*_types() returns types without it while every other getter has it.
@lineage_only
@kinds
def test_listing_all_types_includes_external_id(store, kind):
    make_type(kind, store, "T", external_id="ext-T")
    assert [t.external_id for t in kind.get_types(store)] == ["ext-T"]


# MLMD 1.17.1 drops base_type from types fetched by external id (and from the
# types returned by get_artifacts_and_types_by_artifact_ids); other getters
# return it.
@lineage_only
def test_types_fetched_by_external_id_include_base_type(store):
    type_id = make_type(ARTIFACT, store, "T", external_id="e", base_type=pb.ArtifactType.MODEL)
    [fetched] = store.get_artifact_types_by_external_ids(["e"])
    assert fetched.base_type == pb.ArtifactType.MODEL
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=type_id)])
    _, [with_artifact] = store.get_artifacts_and_types_by_artifact_ids([artifact_id])
    assert with_artifact.base_type == pb.ArtifactType.MODEL


@kinds
def test_putting_the_same_type_again_returns_the_same_id(store, kind):
    first = make_type(kind, store, "T", {"p": INT})
    second = make_type(kind, store, "T", {"p": INT})
    assert first == second
    assert len(kind.get_types(store)) == 1


def test_types_of_all_kinds_share_one_id_sequence(store):
    artifact_type = make_type(ARTIFACT, store, "Same")
    execution_type = make_type(EXECUTION, store, "Same")
    context_type = make_type(CONTEXT, store, "Same")
    second_artifact_type = make_type(ARTIFACT, store, "Other")

    assert artifact_type < execution_type < context_type < second_artifact_type
    # A type id names one type of one kind only.
    assert store.get_execution_types_by_id([artifact_type, context_type]) == []
    assert store.get_context_types_by_id([artifact_type, execution_type]) == []
    assert [t.id for t in store.get_artifact_types_by_id(
        [artifact_type, execution_type, context_type, second_artifact_type])] == [
            artifact_type, second_artifact_type]


@kinds
def test_type_without_name_is_invalid_argument(store, kind):
    make_type(kind, store, "Existing")
    before = snapshot(store)
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_type(store, kind.type_cls())
    assert snapshot(store) == before


@kinds
def test_unknown_property_type_is_invalid_argument(store, kind):
    before = snapshot(store)
    node_type = kind.type_cls(name="T")
    node_type.properties["ok"] = INT
    node_type.properties["bad"] = pb.UNKNOWN
    with pytest.raises(errors.InvalidArgumentError):
        kind.put_type(store, node_type)
    assert snapshot(store) == before


@kinds
@pytest.mark.parametrize("can_add, can_omit", [(False, False), (True, True)])
def test_changing_a_property_type_is_already_exists(store, kind, can_add, can_omit):
    make_type(kind, store, "T", {"p": INT})
    before = snapshot(store)
    changed = kind.type_cls(name="T")
    changed.properties["p"] = STRING
    with pytest.raises(errors.AlreadyExistsError):
        kind.put_type(store, changed, can_add_fields=can_add, can_omit_fields=can_omit)
    assert snapshot(store) == before


@kinds
def test_adding_a_property_needs_can_add_fields(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    wider = kind.type_cls(name="T")
    wider.properties["p"] = INT
    wider.properties["q"] = DOUBLE
    before = snapshot(store)

    with pytest.raises(errors.AlreadyExistsError):
        kind.put_type(store, wider)
    assert snapshot(store) == before

    assert kind.put_type(store, wider, can_add_fields=True) == type_id
    assert dict(kind.get_type(store, "T").properties) == {"p": INT, "q": DOUBLE}


@kinds
def test_omitting_a_property_needs_can_omit_fields_and_keeps_it(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT, "q": STRING})
    narrower = kind.type_cls(name="T")
    narrower.properties["p"] = INT
    before = snapshot(store)

    with pytest.raises(errors.AlreadyExistsError):
        kind.put_type(store, narrower)
    assert snapshot(store) == before

    assert kind.put_type(store, narrower, can_omit_fields=True) == type_id
    # Omitting a property in the request does not remove it from the stored type.
    assert dict(kind.get_type(store, "T").properties) == {"p": INT, "q": STRING}


@kinds
def test_add_and_omit_in_one_request(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT})
    other = kind.type_cls(name="T")
    other.properties["q"] = BOOLEAN
    with pytest.raises(errors.AlreadyExistsError):
        kind.put_type(store, other, can_add_fields=True)
    with pytest.raises(errors.AlreadyExistsError):
        kind.put_type(store, other, can_omit_fields=True)
    assert kind.put_type(store, other, can_add_fields=True, can_omit_fields=True) == type_id
    assert dict(kind.get_type(store, "T").properties) == {"p": INT, "q": BOOLEAN}


@kinds
def test_get_missing_type_is_not_found(store, kind):
    make_type(kind, store, "T")
    with pytest.raises(errors.NotFoundError):
        kind.get_type(store, "Missing")
    with pytest.raises(errors.NotFoundError):
        kind.get_type(store, "T", "v1")


@kinds
def test_a_type_name_is_per_kind(store, kind):
    for other in KINDS:
        if other is not kind:
            make_type(other, store, "Shared")
    with pytest.raises(errors.NotFoundError):
        kind.get_type(store, "Shared")
    type_id = make_type(kind, store, "Shared")
    assert kind.get_type(store, "Shared").id == type_id


@kinds
def test_versions_make_distinct_types(store, kind):
    plain = make_type(kind, store, "T", {"p": INT})
    v1 = make_type(kind, store, "T", {"p": STRING}, version="v1")
    v2 = make_type(kind, store, "T", version="v2")

    assert len({plain, v1, v2}) == 3
    assert kind.get_type(store, "T").id == plain
    assert not kind.get_type(store, "T").HasField("version")
    fetched_v1 = kind.get_type(store, "T", "v1")
    assert (fetched_v1.id, fetched_v1.version) == (v1, "v1")
    assert dict(fetched_v1.properties) == {"p": STRING}
    assert kind.get_type(store, "T", "v2").id == v2
    assert sorted((t.id, t.version) for t in kind.get_types(store)) == sorted(
        [(plain, ""), (v1, "v1"), (v2, "v2")])


@kinds
def test_empty_version_means_no_version(store, kind):
    plain = make_type(kind, store, "T")
    assert make_type(kind, store, "T", version="") == plain
    assert kind.get_type(store, "T", "").id == plain
    assert len(kind.get_types(store)) == 1


@kinds
def test_get_types_by_id_leaves_out_missing_ids(store, kind):
    first = make_type(kind, store, "A")
    second = make_type(kind, store, "B")
    found = kind.get_types_by_id(store, [second, 10_000, first])
    assert sorted(t.id for t in found) == [first, second]
    assert kind.get_types_by_id(store, [10_000]) == []
    assert kind.get_types_by_id(store, []) == []


@kinds
def test_get_types_by_external_ids(store, kind):
    first = make_type(kind, store, "A", external_id="ext-a")
    second = make_type(kind, store, "B", external_id="ext-b")
    make_type(kind, store, "C")

    assert [t.id for t in kind.get_types_by_external_ids(store, ["ext-a"])] == [first]
    found = kind.get_types_by_external_ids(store, ["ext-b", "nope", "ext-a"])
    assert sorted(t.id for t in found) == [first, second]
    assert kind.get_types_by_external_ids(store, []) == []


@kinds
def test_get_types_by_external_ids_with_no_match_is_not_found(store, kind):
    make_type(kind, store, "A", external_id="ext-a")
    with pytest.raises(errors.NotFoundError):
        kind.get_types_by_external_ids(store, ["nope"])


@kinds
def test_duplicate_type_external_id_is_already_exists(store, kind):
    make_type(kind, store, "A", external_id="ext")
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        make_type(kind, store, "B", external_id="ext")
    assert snapshot(store) == before


# MLMD 1.17.1 keeps the types of all kinds in one table with a unique
# external_id column; it refuses the clash but leaks the raw constraint failure
# as InternalError. We refuse it with the error class of the same-kind case.
@lineage_only
def test_type_external_id_is_unique_across_kinds(store):
    make_type(ARTIFACT, store, "A", external_id="ext")
    before = snapshot(store)
    with pytest.raises(errors.AlreadyExistsError):
        make_type(EXECUTION, store, "E", external_id="ext")
    assert snapshot(store) == before


@kinds
def test_put_type_ignores_the_id_field(store, kind):
    existing = make_type(kind, store, "A")
    new_id = kind.put_type(store, kind.type_cls(id=existing, name="B"))
    assert new_id != existing
    assert kind.get_type(store, "A").id == existing
    assert kind.get_type(store, "B").id == new_id


@kinds
def test_putting_a_type_again_updates_external_id_but_not_description(store, kind):
    type_id = make_type(kind, store, "T", {"p": INT}, description="first", external_id="e1")
    again = kind.type_cls(name="T", description="second", external_id="e2")
    again.properties["p"] = INT

    assert kind.put_type(store, again) == type_id

    stored = kind.get_type(store, "T")
    assert stored.description == "first"
    assert stored.external_id == "e2"
    assert [t.id for t in kind.get_types_by_external_ids(store, ["e2"])] == [type_id]


@pytest.mark.parametrize("kind, base_type, other_base_type, unset", [
    (ARTIFACT, pb.ArtifactType.DATASET, pb.ArtifactType.MODEL, pb.ArtifactType.UNSET),
    (EXECUTION, pb.ExecutionType.TRAIN, pb.ExecutionType.DEPLOY, pb.ExecutionType.UNSET),
], ids=["artifact", "execution"])
def test_base_type_can_be_set_once_but_not_changed(store, kind, base_type, other_base_type,
                                                     unset):
    type_id = make_type(kind, store, "T")
    assert not kind.get_type(store, "T").HasField("base_type")
    assert make_type(kind, store, "T", base_type=base_type) == type_id
    assert kind.get_type(store, "T").base_type == base_type
    # Leaving base_type out keeps it; the same value again is fine.
    assert make_type(kind, store, "T") == type_id
    assert make_type(kind, store, "T", base_type=base_type) == type_id
    before = snapshot(store)

    with pytest.raises(errors.UnimplementedError):
        make_type(kind, store, "T", base_type=other_base_type)
    with pytest.raises(errors.UnimplementedError):
        make_type(kind, store, "T", base_type=unset)
    assert snapshot(store) == before
    assert kind.get_type(store, "T").base_type == base_type


def test_execution_type_input_and_output_types_round_trip(store):
    execution_type = pb.ExecutionType(name="Trainer")
    execution_type.input_type.dict.properties["examples"].simple.name = "Examples"
    execution_type.input_type.dict.properties["schema"].any.SetInParent()
    execution_type.output_type.list.element.simple.name = "Model"
    type_id = store.put_execution_type(execution_type)

    stored = store.get_execution_type("Trainer")
    assert stored.id == type_id
    assert stored.input_type == execution_type.input_type
    assert stored.output_type == execution_type.output_type


def test_system_base_types_are_preregistered_but_not_listed(store):
    # MLMD 1.17 seeds one type per SystemDefinedBaseType value; they can be
    # fetched by name but do not appear in the list of user types.
    for name in ("mlmd.Dataset", "mlmd.Model", "mlmd.Metrics", "mlmd.Statistics"):
        stored = store.get_artifact_type(name)
        assert stored.name == name
        assert store.put_artifact_type(pb.ArtifactType(name=name)) == stored.id
    for name in ("mlmd.Train", "mlmd.Transform", "mlmd.Process", "mlmd.Evaluate",
                 "mlmd.Deploy"):
        assert store.get_execution_type(name).name == name
    assert store.get_artifact_types() == []
    assert store.get_execution_types() == []
    assert store.get_context_types() == []
    user_type = store.put_artifact_type(pb.ArtifactType(name="Mine"))
    assert [t.id for t in store.get_artifact_types()] == [user_type]


@kinds
def test_list_of_types_is_in_id_order(store, kind):
    type_ids = [make_type(kind, store, name) for name in ("Zeta", "Alpha", "Mid")]
    assert [t.id for t in kind.get_types(store)] == sorted(type_ids)
    assert by_id(kind.get_types(store)) == kind.get_types(store)
