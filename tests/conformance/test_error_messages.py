"""Error messages name what was wrong, where that is stable across implementations."""

from __future__ import annotations

import pytest

from ._api import errors, metadata_store_pb2 as pb, mlmd
from ._helpers import ARTIFACT, CONTEXT, EXECUTION, INT, fill, make_type


@pytest.fixture
def types(store):
    return (make_type(ARTIFACT, store, "Dataset", {"epochs": INT}),
            make_type(EXECUTION, store, "Trainer"), make_type(CONTEXT, store, "Experiment"))


def message_of(error_class, call, *args, **kwargs):
    with pytest.raises(error_class) as raised:
        call(*args, **kwargs)
    return str(raised.value).lower()


def test_messages_name_the_offending_field(store, types):
    artifact_type, execution_type, context_type = types
    [artifact_id] = store.put_artifacts([pb.Artifact(type_id=artifact_type, name="taken")])
    [execution_id] = store.put_executions([pb.Execution(type_id=execution_type)])

    assert "unexpected_property" in message_of(
        errors.InvalidArgumentError, store.put_artifacts,
        [fill(pb.Artifact(type_id=artifact_type), {"unexpected_property": 1})])
    assert "epochs" in message_of(
        errors.InvalidArgumentError, store.put_artifacts,
        [fill(pb.Artifact(type_id=artifact_type), {"epochs": "many"})])
    assert "name" in message_of(errors.InvalidArgumentError, store.put_contexts,
                                [pb.Context(type_id=context_type)])
    assert "name" in message_of(errors.InvalidArgumentError, store.put_artifact_type,
                                pb.ArtifactType())
    assert "taken" in message_of(errors.AlreadyExistsError, store.put_artifacts,
                                 [pb.Artifact(type_id=artifact_type, name="taken")])
    assert "type_id" in message_of(errors.NotFoundError, store.put_artifacts,
                                   [pb.Artifact(type_id=98765)])
    assert "98765" in message_of(errors.InvalidArgumentError, store.put_events,
                                 [pb.Event(artifact_id=98765, execution_id=execution_id,
                                           type=pb.Event.INPUT)])
    assert "type" in message_of(errors.InvalidArgumentError, store.put_events,
                                [pb.Event(artifact_id=artifact_id, execution_id=execution_id)])
    assert "missing_type_name" in message_of(errors.NotFoundError, store.get_execution_type,
                                             "missing_type_name")
    assert "filter_query" in message_of(
        errors.InvalidArgumentError, store.get_artifacts,
        list_options=mlmd.ListOptions(filter_query="uri =="))
    assert "limit" in message_of(errors.InvalidArgumentError, store.get_artifacts,
                                 list_options=mlmd.ListOptions(limit=-1))
    assert "execution_index" in message_of(
        errors.OutOfRangeError, store.put_lineage_subgraph, [], [], [],
        [(3, None, pb.Event(type=pb.Event.INPUT, artifact_id=artifact_id))])
    assert "max_num_hops" in message_of(
        errors.InvalidArgumentError, store.get_lineage_subgraph,
        pb.LineageSubgraphQueryOptions(
            starting_artifacts=pb.LineageSubgraphQueryOptions.StartingNodes(
                filter_query="id > 0"), max_num_hops=-1))
