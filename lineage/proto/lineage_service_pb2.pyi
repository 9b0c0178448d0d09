from lineage.proto import metadata_store_pb2 as _metadata_store_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    UPSTREAM: _ClassVar[Direction]
    DOWNSTREAM: _ClassVar[Direction]

class NodeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NODE_KIND_UNSPECIFIED: _ClassVar[NodeKind]
    ARTIFACT: _ClassVar[NodeKind]
    EXECUTION: _ClassVar[NodeKind]
    CONTEXT: _ClassVar[NodeKind]
DIRECTION_UNSPECIFIED: Direction
UPSTREAM: Direction
DOWNSTREAM: Direction
NODE_KIND_UNSPECIFIED: NodeKind
ARTIFACT: NodeKind
EXECUTION: NodeKind
CONTEXT: NodeKind

class EventTypes(_message.Message):
    __slots__ = ("types",)
    TYPES_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedScalarFieldContainer[_metadata_store_pb2.Event.Type]
    def __init__(self, types: _Optional[_Iterable[_Union[_metadata_store_pb2.Event.Type, str]]] = ...) -> None: ...

class TraceRequest(_message.Message):
    __slots__ = ("artifact_ids", "execution_ids", "direction", "max_hops", "event_types", "as_of_ms", "chunk_size", "max_nodes")
    ARTIFACT_IDS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_IDS_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    MAX_HOPS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_MS_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_NODES_FIELD_NUMBER: _ClassVar[int]
    artifact_ids: _containers.RepeatedScalarFieldContainer[int]
    execution_ids: _containers.RepeatedScalarFieldContainer[int]
    direction: Direction
    max_hops: int
    event_types: EventTypes
    as_of_ms: int
    chunk_size: int
    max_nodes: int
    def __init__(self, artifact_ids: _Optional[_Iterable[int]] = ..., execution_ids: _Optional[_Iterable[int]] = ..., direction: _Optional[_Union[Direction, str]] = ..., max_hops: _Optional[int] = ..., event_types: _Optional[_Union[EventTypes, _Mapping]] = ..., as_of_ms: _Optional[int] = ..., chunk_size: _Optional[int] = ..., max_nodes: _Optional[int] = ...) -> None: ...

class GraphChunk(_message.Message):
    __slots__ = ("graph",)
    GRAPH_FIELD_NUMBER: _ClassVar[int]
    graph: _metadata_store_pb2.LineageGraph
    def __init__(self, graph: _Optional[_Union[_metadata_store_pb2.LineageGraph, _Mapping]] = ...) -> None: ...

class ImpactedRequest(_message.Message):
    __slots__ = ("artifact_id", "artifact_type", "as_of_ms", "max_nodes")
    ARTIFACT_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_NODES_FIELD_NUMBER: _ClassVar[int]
    artifact_id: int
    artifact_type: str
    as_of_ms: int
    max_nodes: int
    def __init__(self, artifact_id: _Optional[int] = ..., artifact_type: _Optional[str] = ..., as_of_ms: _Optional[int] = ..., max_nodes: _Optional[int] = ...) -> None: ...

class ImpactedResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Artifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[_metadata_store_pb2.Artifact, _Mapping]]] = ...) -> None: ...

class DiffRequest(_message.Message):
    __slots__ = ("artifact_a", "artifact_b")
    ARTIFACT_A_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_B_FIELD_NUMBER: _ClassVar[int]
    artifact_a: int
    artifact_b: int
    def __init__(self, artifact_a: _Optional[int] = ..., artifact_b: _Optional[int] = ...) -> None: ...

class DiffResponse(_message.Message):
    __slots__ = ("artifact_a", "artifact_b", "differences", "inputs_only_a", "inputs_only_b")
    class Difference(_message.Message):
        __slots__ = ("name", "value_a", "value_b")
        NAME_FIELD_NUMBER: _ClassVar[int]
        VALUE_A_FIELD_NUMBER: _ClassVar[int]
        VALUE_B_FIELD_NUMBER: _ClassVar[int]
        name: str
        value_a: _metadata_store_pb2.Value
        value_b: _metadata_store_pb2.Value
        def __init__(self, name: _Optional[str] = ..., value_a: _Optional[_Union[_metadata_store_pb2.Value, _Mapping]] = ..., value_b: _Optional[_Union[_metadata_store_pb2.Value, _Mapping]] = ...) -> None: ...
    ARTIFACT_A_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_B_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    INPUTS_ONLY_A_FIELD_NUMBER: _ClassVar[int]
    INPUTS_ONLY_B_FIELD_NUMBER: _ClassVar[int]
    artifact_a: _metadata_store_pb2.Artifact
    artifact_b: _metadata_store_pb2.Artifact
    differences: _containers.RepeatedCompositeFieldContainer[DiffResponse.Difference]
    inputs_only_a: _containers.RepeatedScalarFieldContainer[int]
    inputs_only_b: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, artifact_a: _Optional[_Union[_metadata_store_pb2.Artifact, _Mapping]] = ..., artifact_b: _Optional[_Union[_metadata_store_pb2.Artifact, _Mapping]] = ..., differences: _Optional[_Iterable[_Union[DiffResponse.Difference, _Mapping]]] = ..., inputs_only_a: _Optional[_Iterable[int]] = ..., inputs_only_b: _Optional[_Iterable[int]] = ...) -> None: ...

class ContextDagRequest(_message.Message):
    __slots__ = ("context_id", "chunk_size", "max_nodes")
    CONTEXT_ID_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_NODES_FIELD_NUMBER: _ClassVar[int]
    context_id: int
    chunk_size: int
    max_nodes: int
    def __init__(self, context_id: _Optional[int] = ..., chunk_size: _Optional[int] = ..., max_nodes: _Optional[int] = ...) -> None: ...

class InputIds(_message.Message):
    __slots__ = ("artifact_ids",)
    ARTIFACT_IDS_FIELD_NUMBER: _ClassVar[int]
    artifact_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, artifact_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class StepQuery(_message.Message):
    __slots__ = ("type_name", "type_id", "input_ids", "keyed_inputs", "keyed", "properties")
    class KeyedInputsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: InputIds
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[InputIds, _Mapping]] = ...) -> None: ...
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _metadata_store_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_metadata_store_pb2.Value, _Mapping]] = ...) -> None: ...
    TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_IDS_FIELD_NUMBER: _ClassVar[int]
    KEYED_INPUTS_FIELD_NUMBER: _ClassVar[int]
    KEYED_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    type_name: str
    type_id: int
    input_ids: _containers.RepeatedScalarFieldContainer[int]
    keyed_inputs: _containers.MessageMap[str, InputIds]
    keyed: bool
    properties: _containers.MessageMap[str, _metadata_store_pb2.Value]
    def __init__(self, type_name: _Optional[str] = ..., type_id: _Optional[int] = ..., input_ids: _Optional[_Iterable[int]] = ..., keyed_inputs: _Optional[_Mapping[str, InputIds]] = ..., keyed: bool = ..., properties: _Optional[_Mapping[str, _metadata_store_pb2.Value]] = ...) -> None: ...

class CacheKeyRequest(_message.Message):
    __slots__ = ("step",)
    STEP_FIELD_NUMBER: _ClassVar[int]
    step: StepQuery
    def __init__(self, step: _Optional[_Union[StepQuery, _Mapping]] = ...) -> None: ...

class CacheKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: str
    def __init__(self, key: _Optional[str] = ...) -> None: ...

class FindReusableExecutionRequest(_message.Message):
    __slots__ = ("step",)
    STEP_FIELD_NUMBER: _ClassVar[int]
    step: StepQuery
    def __init__(self, step: _Optional[_Union[StepQuery, _Mapping]] = ...) -> None: ...

class FindReusableExecutionResponse(_message.Message):
    __slots__ = ("execution", "outputs")
    class Outputs(_message.Message):
        __slots__ = ("key", "artifacts")
        KEY_FIELD_NUMBER: _ClassVar[int]
        ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
        key: str
        artifacts: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Artifact]
        def __init__(self, key: _Optional[str] = ..., artifacts: _Optional[_Iterable[_Union[_metadata_store_pb2.Artifact, _Mapping]]] = ...) -> None: ...
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    execution: _metadata_store_pb2.Execution
    outputs: _containers.RepeatedCompositeFieldContainer[FindReusableExecutionResponse.Outputs]
    def __init__(self, execution: _Optional[_Union[_metadata_store_pb2.Execution, _Mapping]] = ..., outputs: _Optional[_Iterable[_Union[FindReusableExecutionResponse.Outputs, _Mapping]]] = ...) -> None: ...

class PurgeRequest(_message.Message):
    __slots__ = ("kind", "ids", "filter_query", "with_downstream", "older_than_ms", "states", "dry_run", "sample_size")
    KIND_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_QUERY_FIELD_NUMBER: _ClassVar[int]
    WITH_DOWNSTREAM_FIELD_NUMBER: _ClassVar[int]
    OLDER_THAN_MS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    kind: NodeKind
    ids: _containers.RepeatedScalarFieldContainer[int]
    filter_query: str
    with_downstream: bool
    older_than_ms: int
    states: _containers.RepeatedScalarFieldContainer[int]
    dry_run: bool
    sample_size: int
    def __init__(self, kind: _Optional[_Union[NodeKind, str]] = ..., ids: _Optional[_Iterable[int]] = ..., filter_query: _Optional[str] = ..., with_downstream: bool = ..., older_than_ms: _Optional[int] = ..., states: _Optional[_Iterable[int]] = ..., dry_run: bool = ..., sample_size: _Optional[int] = ...) -> None: ...

class PurgeResponse(_message.Message):
    __slots__ = ("nodes", "artifacts", "executions", "contexts", "events", "attributions", "associations", "parent_contexts", "sample", "deleted")
    class TypeCount(_message.Message):
        __slots__ = ("kind", "type_name", "count")
        KIND_FIELD_NUMBER: _ClassVar[int]
        TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
        COUNT_FIELD_NUMBER: _ClassVar[int]
        kind: NodeKind
        type_name: str
        count: int
        def __init__(self, kind: _Optional[_Union[NodeKind, str]] = ..., type_name: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...
    class Sample(_message.Message):
        __slots__ = ("kind", "id", "type_name", "name")
        KIND_FIELD_NUMBER: _ClassVar[int]
        ID_FIELD_NUMBER: _ClassVar[int]
        TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
        NAME_FIELD_NUMBER: _ClassVar[int]
        kind: NodeKind
        id: int
        type_name: str
        name: str
        def __init__(self, kind: _Optional[_Union[NodeKind, str]] = ..., id: _Optional[int] = ..., type_name: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...
    NODES_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    PARENT_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[PurgeResponse.TypeCount]
    artifacts: int
    executions: int
    contexts: int
    events: int
    attributions: int
    associations: int
    parent_contexts: int
    sample: _containers.RepeatedCompositeFieldContainer[PurgeResponse.Sample]
    deleted: bool
    def __init__(self, nodes: _Optional[_Iterable[_Union[PurgeResponse.TypeCount, _Mapping]]] = ..., artifacts: _Optional[int] = ..., executions: _Optional[int] = ..., contexts: _Optional[int] = ..., events: _Optional[int] = ..., attributions: _Optional[int] = ..., associations: _Optional[int] = ..., parent_contexts: _Optional[int] = ..., sample: _Optional[_Iterable[_Union[PurgeResponse.Sample, _Mapping]]] = ..., deleted: bool = ...) -> None: ...

class ExportRequest(_message.Message):
    __slots__ = ("chunk_size",)
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    chunk_size: int
    def __init__(self, chunk_size: _Optional[int] = ...) -> None: ...

class TypeLink(_message.Message):
    __slots__ = ("kind", "type_id", "parent_type_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TYPE_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_TYPE_ID_FIELD_NUMBER: _ClassVar[int]
    kind: NodeKind
    type_id: int
    parent_type_id: int
    def __init__(self, kind: _Optional[_Union[NodeKind, str]] = ..., type_id: _Optional[int] = ..., parent_type_id: _Optional[int] = ...) -> None: ...

class StoreCounts(_message.Message):
    __slots__ = ("types", "artifacts", "executions", "contexts", "events", "attributions", "associations", "parent_contexts")
    TYPES_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    PARENT_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    types: int
    artifacts: int
    executions: int
    contexts: int
    events: int
    attributions: int
    associations: int
    parent_contexts: int
    def __init__(self, types: _Optional[int] = ..., artifacts: _Optional[int] = ..., executions: _Optional[int] = ..., contexts: _Optional[int] = ..., events: _Optional[int] = ..., attributions: _Optional[int] = ..., associations: _Optional[int] = ..., parent_contexts: _Optional[int] = ...) -> None: ...

class ImportOptions(_message.Message):
    __slots__ = ("force",)
    FORCE_FIELD_NUMBER: _ClassVar[int]
    force: bool
    def __init__(self, force: bool = ...) -> None: ...

class StoreChunk(_message.Message):
    __slots__ = ("artifact_types", "execution_types", "context_types", "parent_types", "artifacts", "executions", "contexts", "events", "attributions", "associations", "parent_contexts", "end", "options", "estimate")
    ARTIFACT_TYPES_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_TYPES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TYPES_FIELD_NUMBER: _ClassVar[int]
    PARENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    PARENT_CONTEXTS_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    artifact_types: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.ArtifactType]
    execution_types: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.ExecutionType]
    context_types: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.ContextType]
    parent_types: _containers.RepeatedCompositeFieldContainer[TypeLink]
    artifacts: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Artifact]
    executions: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Execution]
    contexts: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Context]
    events: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Event]
    attributions: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Attribution]
    associations: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.Association]
    parent_contexts: _containers.RepeatedCompositeFieldContainer[_metadata_store_pb2.ParentContext]
    end: StoreCounts
    options: ImportOptions
    estimate: StoreCounts
    def __init__(self, artifact_types: _Optional[_Iterable[_Union[_metadata_store_pb2.ArtifactType, _Mapping]]] = ..., execution_types: _Optional[_Iterable[_Union[_metadata_store_pb2.ExecutionType, _Mapping]]] = ..., context_types: _Optional[_Iterable[_Union[_metadata_store_pb2.ContextType, _Mapping]]] = ..., parent_types: _Optional[_Iterable[_Union[TypeLink, _Mapping]]] = ..., artifacts: _Optional[_Iterable[_Union[_metadata_store_pb2.Artifact, _Mapping]]] = ..., executions: _Optional[_Iterable[_Union[_metadata_store_pb2.Execution, _Mapping]]] = ..., contexts: _Optional[_Iterable[_Union[_metadata_store_pb2.Context, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[_metadata_store_pb2.Event, _Mapping]]] = ..., attributions: _Optional[_Iterable[_Union[_metadata_store_pb2.Attribution, _Mapping]]] = ..., associations: _Optional[_Iterable[_Union[_metadata_store_pb2.Association, _Mapping]]] = ..., parent_contexts: _Optional[_Iterable[_Union[_metadata_store_pb2.ParentContext, _Mapping]]] = ..., end: _Optional[_Union[StoreCounts, _Mapping]] = ..., options: _Optional[_Union[ImportOptions, _Mapping]] = ..., estimate: _Optional[_Union[StoreCounts, _Mapping]] = ...) -> None: ...

class ImportResponse(_message.Message):
    __slots__ = ("counts", "ids_kept", "id_maps")
    class IdMap(_message.Message):
        __slots__ = ("ids",)
        class IdsEntry(_message.Message):
            __slots__ = ("key", "value")
            KEY_FIELD_NUMBER: _ClassVar[int]
            VALUE_FIELD_NUMBER: _ClassVar[int]
            key: int
            value: int
            def __init__(self, key: _Optional[int] = ..., value: _Optional[int] = ...) -> None: ...
        IDS_FIELD_NUMBER: _ClassVar[int]
        ids: _containers.ScalarMap[int, int]
        def __init__(self, ids: _Optional[_Mapping[int, int]] = ...) -> None: ...
    class IdMapsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ImportResponse.IdMap
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ImportResponse.IdMap, _Mapping]] = ...) -> None: ...
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    IDS_KEPT_FIELD_NUMBER: _ClassVar[int]
    ID_MAPS_FIELD_NUMBER: _ClassVar[int]
    counts: StoreCounts
    ids_kept: bool
    id_maps: _containers.MessageMap[str, ImportResponse.IdMap]
    def __init__(self, counts: _Optional[_Union[StoreCounts, _Mapping]] = ..., ids_kept: bool = ..., id_maps: _Optional[_Mapping[str, ImportResponse.IdMap]] = ...) -> None: ...
