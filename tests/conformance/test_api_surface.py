"""The public surface of MLMD 1.17.1's Python API, name for name."""

from __future__ import annotations

import inspect

import pytest

from ._api import errors, mlmd

# method -> parameter names after ``self``, in order, as in ml-metadata 1.17.1.
METHODS = {
    "get_artifact_by_type_and_name": ["type_name", "artifact_name", "type_version",
                                      "extra_options"],
    "get_artifact_type": ["type_name", "type_version", "extra_options"],
    "get_artifact_types": ["extra_options"],
    "get_artifact_types_by_external_ids": ["external_ids", "extra_options"],
    "get_artifact_types_by_id": ["type_ids", "extra_options"],
    "get_artifacts": ["list_options", "extra_options"],
    "get_artifacts_and_types_by_artifact_ids": ["artifact_ids", "extra_options"],
    "get_artifacts_by_context": ["context_id", "list_options", "extra_options"],
    "get_artifacts_by_external_ids": ["external_ids", "extra_options"],
    "get_artifacts_by_id": ["artifact_ids", "extra_options"],
    "get_artifacts_by_type": ["type_name", "type_version", "extra_options"],
    "get_artifacts_by_uri": ["uri", "extra_options"],
    "get_children_contexts_by_context": ["context_id", "extra_options"],
    "get_context_by_type_and_name": ["type_name", "context_name", "type_version",
                                     "extra_options"],
    "get_context_type": ["type_name", "type_version", "extra_options"],
    "get_context_types": ["extra_options"],
    "get_context_types_by_external_ids": ["external_ids", "extra_options"],
    "get_context_types_by_id": ["type_ids", "extra_options"],
    "get_contexts": ["list_options", "extra_options"],
    "get_contexts_by_artifact": ["artifact_id", "extra_options"],
    "get_contexts_by_execution": ["execution_id", "extra_options"],
    "get_contexts_by_external_ids": ["external_ids", "extra_options"],
    "get_contexts_by_id": ["context_ids", "extra_options"],
    "get_contexts_by_type": ["type_name", "type_version", "extra_options"],
    "get_events_by_artifact_ids": ["artifact_ids", "extra_options"],
    "get_events_by_execution_ids": ["execution_ids", "extra_options"],
    "get_execution_by_type_and_name": ["type_name", "execution_name", "type_version",
                                       "extra_options"],
    "get_execution_type": ["type_name", "type_version", "extra_options"],
    "get_execution_types": ["extra_options"],
    "get_execution_types_by_external_ids": ["external_ids", "extra_options"],
    "get_execution_types_by_id": ["type_ids", "extra_options"],
    "get_executions": ["list_options", "extra_options"],
    "get_executions_by_context": ["context_id", "list_options", "extra_options"],
    "get_executions_by_external_ids": ["external_ids", "extra_options"],
    "get_executions_by_id": ["execution_ids", "extra_options"],
    "get_executions_by_type": ["type_name", "type_version", "extra_options"],
    "get_lineage_subgraph": ["query_options", "field_mask_paths", "extra_options"],
    "get_parent_contexts_by_context": ["context_id", "extra_options"],
    "put_artifact_type": ["artifact_type", "can_add_fields", "can_omit_fields",
                          "extra_options"],
    "put_artifacts": ["artifacts", "field_mask_paths", "extra_options"],
    "put_attributions_and_associations": ["attributions", "associations", "extra_options"],
    "put_context_type": ["context_type", "can_add_fields", "can_omit_fields", "extra_options"],
    "put_contexts": ["contexts", "field_mask_paths", "extra_options"],
    "put_events": ["events", "extra_options"],
    "put_execution": ["execution", "artifact_and_events", "contexts",
                      "reuse_context_if_already_exist",
                      "reuse_artifact_if_already_exist_by_external_id", "force_reuse_context",
                      "force_update_time", "extra_options"],
    "put_execution_type": ["execution_type", "can_add_fields", "can_omit_fields",
                           "extra_options"],
    "put_executions": ["executions", "field_mask_paths", "extra_options"],
    "put_lineage_subgraph": ["executions", "artifacts", "contexts", "event_edges",
                             "reuse_context_if_already_exist",
                             "reuse_artifact_if_already_exist_by_external_id",
                             "extra_options"],
    "put_parent_contexts": ["parent_contexts", "extra_options"],
}

ERROR_CLASSES = [
    "CancelledError", "UnknownError", "InvalidArgumentError", "DeadlineExceededError",
    "NotFoundError", "AlreadyExistsError", "PermissionDeniedError", "UnauthenticatedError",
    "ResourceExhaustedError", "FailedPreconditionError", "AbortedError", "OutOfRangeError",
    "UnimplementedError", "InternalError", "UnavailableError", "DataLossError",
]


def test_package_exports():
    for name in ("MetadataStore", "ListOptions", "OrderByField", "errors"):
        assert hasattr(mlmd, name), name


@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_has_the_mlmd_signature(method):
    function = getattr(mlmd.MetadataStore, method)
    parameters = list(inspect.signature(function).parameters.values())
    assert parameters[0].name == "self"
    assert [p.name for p in parameters[1:]] == METHODS[method]
    for parameter in parameters[1:]:
        assert parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        if parameter.name in ("extra_options", "type_version", "field_mask_paths",
                              "list_options"):
            assert parameter.default is None, parameter.name
        if parameter.name.startswith(("can_", "reuse_", "force_")):
            assert parameter.default is False, parameter.name


def test_error_classes_and_codes():
    for name in ERROR_CLASSES:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.StatusError), name
    assert errors.make_exception("m", errors.INVALID_ARGUMENT).__class__ is \
        errors.InvalidArgumentError
    assert errors.exception_type_from_error_code(errors.NOT_FOUND) is errors.NotFoundError
    codes = {"CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
             "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7,
             "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9, "ABORTED": 10,
             "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12, "INTERNAL": 13, "UNAVAILABLE": 14,
             "DATA_LOSS": 15, "UNAUTHENTICATED": 16}
    for name, code in codes.items():
        assert getattr(errors, name) == code, name


def test_raised_errors_carry_message_and_code(store):
    with pytest.raises(errors.NotFoundError) as raised:
        store.get_artifact_type("Missing")
    assert raised.value.error_code == errors.NOT_FOUND
    assert "Missing" in str(raised.value)


def test_pipeline_asset_is_none(store):
    assert store.pipeline_asset is None
