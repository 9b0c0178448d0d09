"""MLMD's getting-started scenario, end to end, checking each step's answers.

The steps, type names, properties and queries are those of the MLMD guide;
only the import of the store differs between targets.
"""

from __future__ import annotations

from ._api import metadata_store_pb2, mlmd


def walk_through(store):
    # 1. Artifact types for the data and the model.
    dataset_type = metadata_store_pb2.ArtifactType()
    dataset_type.name = "DataSet"
    dataset_type.properties["day"] = metadata_store_pb2.INT
    dataset_type.properties["split"] = metadata_store_pb2.STRING
    dataset_type_id = store.put_artifact_type(dataset_type)

    model_type = metadata_store_pb2.ArtifactType()
    model_type.name = "SavedModel"
    model_type.properties["version"] = metadata_store_pb2.INT
    model_type.properties["name"] = metadata_store_pb2.STRING
    model_type_id = store.put_artifact_type(model_type)

    assert sorted(t.name for t in store.get_artifact_types()) == ["DataSet", "SavedModel"]

    # 2. An execution type for the training step.
    trainer_type = metadata_store_pb2.ExecutionType()
    trainer_type.name = "Trainer"
    trainer_type.properties["state"] = metadata_store_pb2.STRING
    trainer_type_id = store.put_execution_type(trainer_type)

    [fetched_trainer_type] = store.get_execution_types_by_id([trainer_type_id])
    assert fetched_trainer_type.name == "Trainer"
    assert dict(fetched_trainer_type.properties) == {"state": metadata_store_pb2.STRING}

    # 3. The input data set, and several ways to find it again.
    dataset = metadata_store_pb2.Artifact()
    dataset.uri = "path/to/data"
    dataset.properties["day"].int_value = 1
    dataset.properties["split"].string_value = "train"
    dataset.type_id = dataset_type_id
    [dataset_id] = store.put_artifacts([dataset])

    assert [a.id for a in store.get_artifacts()] == [dataset_id]
    [stored_dataset] = store.get_artifacts_by_id([dataset_id])
    assert stored_dataset.uri == "path/to/data"
    assert stored_dataset.properties["day"].int_value == 1
    assert stored_dataset.properties["split"].string_value == "train"
    assert stored_dataset.type == "DataSet"
    assert [a.id for a in store.get_artifacts_by_uri(dataset.uri)] == [dataset_id]
    matching = store.get_artifacts(list_options=mlmd.ListOptions(
        filter_query='uri LIKE "%/data" AND properties.day.int_value > 0'))
    assert [a.id for a in matching] == [dataset_id]

    # 4. A training run, found by id and by a query.
    run = metadata_store_pb2.Execution()
    run.type_id = trainer_type_id
    run.properties["state"].string_value = "RUNNING"
    [run_id] = store.put_executions([run])

    assert [e.id for e in store.get_executions_by_id([run_id])] == [run_id]
    matching = store.get_executions(list_options=mlmd.ListOptions(
        filter_query='type = "Trainer" AND properties.state.string_value IS NOT NULL'))
    assert [e.id for e in matching] == [run_id]

    # 5. The run read the data set.
    read = metadata_store_pb2.Event()
    read.artifact_id = dataset_id
    read.execution_id = run_id
    read.type = metadata_store_pb2.Event.DECLARED_INPUT
    store.put_events([read])

    # 6. The model it wrote.
    model = metadata_store_pb2.Artifact()
    model.uri = "path/to/model/file"
    model.properties["version"].int_value = 1
    model.properties["name"].string_value = "MNIST-v1"
    model.type_id = model_type_id
    [model_id] = store.put_artifacts([model])

    # 7. The run wrote the model.
    wrote = metadata_store_pb2.Event()
    wrote.artifact_id = model_id
    wrote.execution_id = run_id
    wrote.type = metadata_store_pb2.Event.DECLARED_OUTPUT
    store.put_events([wrote])

    assert sorted((e.artifact_id, e.type) for e in store.get_events_by_execution_ids([run_id])) \
        == sorted([(dataset_id, metadata_store_pb2.Event.DECLARED_INPUT),
                   (model_id, metadata_store_pb2.Event.DECLARED_OUTPUT)])

    # 8. The run is done.
    run.id = run_id
    run.properties["state"].string_value = "COMPLETED"
    assert store.put_executions([run]) == [run_id]
    [finished] = store.get_executions_by_id([run_id])
    assert finished.properties["state"].string_value == "COMPLETED"

    # 9. An experiment groups the run and its model.
    experiment_type = metadata_store_pb2.ContextType()
    experiment_type.name = "Experiment"
    experiment_type.properties["note"] = metadata_store_pb2.STRING
    experiment_type_id = store.put_context_type(experiment_type)

    experiment = metadata_store_pb2.Context()
    experiment.type_id = experiment_type_id
    experiment.name = "exp1"
    experiment.properties["note"].string_value = "My first experiment."
    [experiment_id] = store.put_contexts([experiment])

    attribution = metadata_store_pb2.Attribution()
    attribution.artifact_id = model_id
    attribution.context_id = experiment_id
    association = metadata_store_pb2.Association()
    association.execution_id = run_id
    association.context_id = experiment_id
    store.put_attributions_and_associations([attribution], [association])

    assert [a.id for a in store.get_artifacts_by_context(experiment_id)] == [model_id]
    assert [e.id for e in store.get_executions_by_context(experiment_id)] == [run_id]
    in_experiment = store.get_artifacts(list_options=mlmd.ListOptions(
        filter_query='contexts_a.type = "Experiment" AND contexts_a.name = "exp1"'))
    assert [a.id for a in in_experiment] == [model_id]
    in_experiment = store.get_executions(list_options=mlmd.ListOptions(
        filter_query=f"contexts_a.id = {experiment_id}"))
    assert [e.id for e in in_experiment] == [run_id]


def test_walkthrough(store):
    walk_through(store)


def test_walkthrough_on_a_store_made_as_the_guide_makes_it():
    connection_config = metadata_store_pb2.ConnectionConfig()
    connection_config.fake_database.SetInParent()
    walk_through(mlmd.MetadataStore(connection_config))
