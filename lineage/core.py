"""The store's rules: one method per RPC of ``ml_metadata.MetadataStoreService``.

``MetadataService`` holds every semantic decision (type checks, upserts, id
order, timestamps, uniqueness, error classes) on top of a dumb ``Backend``.
The in-process ``MetadataStore`` and the gRPC server both call it, so a request
means the same thing whichever way it arrives. Each call runs in one backend
transaction: it either happens completely or leaves the store unchanged.
"""

from __future__ import annotations

import base64
import functools
import importlib
import random
import time
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message

from lineage import errors
from lineage.backends import missing_driver_error
from lineage.backends.base import (
    KINDS, NODE_CLASSES, TYPE_CLASSES, Backend, Kind, ListQuery, ConcurrentWriteError,
    SnapshotNeeded, UniquenessConflictError,
)
from lineage.proto import metadata_store_pb2 as pb
from lineage.proto import metadata_store_service_pb2 as svc
from lineage.query.ast import Attribute, Comparison, Neighbour
from lineage.query.sql_compiler import STRUCT_PREFIX

__all__ = ["MetadataService", "open_service", "open_backend", "downgrade_schema", "SYSTEM_TYPES", "run_writing"]

#: Types every MLMD store holds from birth, in id order (ids 1..9).
SYSTEM_TYPES: tuple[tuple[Kind, str], ...] = (
    ("artifact", "mlmd.Dataset"),
    ("artifact", "mlmd.Model"),
    ("artifact", "mlmd.Metrics"),
    ("artifact", "mlmd.Statistics"),
    ("execution", "mlmd.Train"),
    ("execution", "mlmd.Transform"),
    ("execution", "mlmd.Process"),
    ("execution", "mlmd.Evaluate"),
    ("execution", "mlmd.Deploy"),
)
_SYSTEM_TYPE_NAMES = frozenset(name for _, name in SYSTEM_TYPES)

#: Which base_type enum value maps to which system type, per kind.
_BASE_TYPES: dict[Kind, dict[int, str]] = {
    "artifact": {
        pb.ArtifactType.DATASET: "mlmd.Dataset",
        pb.ArtifactType.MODEL: "mlmd.Model",
        pb.ArtifactType.METRICS: "mlmd.Metrics",
        pb.ArtifactType.STATISTICS: "mlmd.Statistics",
    },
    "execution": {
        pb.ExecutionType.TRAIN: "mlmd.Train",
        pb.ExecutionType.TRANSFORM: "mlmd.Transform",
        pb.ExecutionType.PROCESS: "mlmd.Process",
        pb.ExecutionType.EVALUATE: "mlmd.Evaluate",
        pb.ExecutionType.DEPLOY: "mlmd.Deploy",
    },
    "context": {},
}

#: The Value oneof field each declared PropertyType requires.
_VALUE_FIELD = {
    pb.INT: "int_value",
    pb.DOUBLE: "double_value",
    pb.STRING: "string_value",
    pb.STRUCT: "struct_value",
    pb.PROTO: "proto_value",
    pb.BOOLEAN: "bool_value",
}

_MAX_PAGE_SIZE = 100
_DEFAULT_PAGE_SIZE = 20
_ORDER_FIELD_NAMES = {
    pb.ListOperationOptions.OrderByField.CREATE_TIME: "create_time_since_epoch",
    pb.ListOperationOptions.OrderByField.LAST_UPDATE_TIME: "last_update_time_since_epoch",
    pb.ListOperationOptions.OrderByField.ID: "id",
}

#: Backend module per ConnectionConfig oneof, imported only when used.
_BACKEND_MODULES = {
    "fake_database": ("lineage.backends.memory", None),
    "sqlite": ("lineage.backends.sql", None),
    "mysql": ("lineage.backends.sql", "mysql"),
    "postgresql": ("lineage.backends.sql", "postgresql"),
    "neo4j": ("lineage.backends.neo4j", "neo4j"),
}


def _now_ms() -> int:
    return int(time.time() * 1000)


_Response = TypeVar("_Response")

#: Runs of a writing call that met a concurrent writer (a deadlock, a name taken meanwhile,
#: a node deleted meanwhile). Each run reads afresh; with many writers on a few shared
#: nodes several runs may meet one, so the runs after the second wait a moment first.
_STALE_ATTEMPTS = 10
_STALE_PAUSE = 0.005


#: Characters in a name, external id, type version or property name: MLMD's
#: VARCHAR(255) columns, so that every backend accepts the same records.
MAX_NAME_LENGTH = 255
#: UTF-8 bytes of a uri, or of a string property value with its property name:
#: PostgreSQL indexes both columns whole, and a B-tree entry holds about 2.7 kB.
MAX_INDEXED_TEXT_BYTES = 2600
#: Nesting of structs and lists in a struct property: protobuf decoders stop
#: at 100 message levels, and each level of a Struct takes two.
MAX_STRUCT_DEPTH = 32

# Fields whose strings live in a VARCHAR(255) column.
_NAME_FIELDS = frozenset({"name", "external_id", "version", "type_name", "type_version"})


def _repeated(field) -> bool:
    # protobuf 5.28+ spells it is_repeated and later majors drop label.
    flag = getattr(field, "is_repeated", None)
    return flag if flag is not None else field.label == field.LABEL_REPEATED


def _spell(path) -> str:
    """Formats a path kept as nested ``(parent, step)`` pairs, built only when needed."""
    steps = []
    while path:
        path, step = path
        steps.append(step)
    text = ""
    for step in reversed(steps):
        text += step if step.startswith("[") or not text else "." + step
    return text


def _check_text(text: str | bytes, path) -> None:
    # protobuf parses a proto2 string field holding invalid UTF-8 (a client
    # may send any bytes) and hands it over as bytes.
    if not isinstance(text, str):
        raise errors.InvalidArgumentError(f"{_spell(path)} is not valid UTF-8 text")
    if "\x00" in text:
        raise errors.InvalidArgumentError(
            f"{_spell(path)} holds a NUL character, which not every database can store")


def _check_struct_depth(value, path) -> None:
    """Refuses a struct nested deeper than ``MAX_STRUCT_DEPTH`` (iteratively)."""
    stack = [(value, 1)]
    while stack:
        message, level = stack.pop()
        if level > MAX_STRUCT_DEPTH:
            raise errors.InvalidArgumentError(
                f"{_spell(path)} nests structs and lists more than {MAX_STRUCT_DEPTH} deep")
        items = message.fields.values() if hasattr(message, "fields") else message.values
        for item in items:
            kind = item.WhichOneof("kind")
            if kind == "struct_value":
                stack.append((item.struct_value, level + 1))
            elif kind == "list_value":
                stack.append((item.list_value, level + 1))
            elif kind == "string_value":
                _check_text(item.string_value, path)


def _check_value(value: pb.Value, path, name: str) -> None:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text = value.string_value
        _check_text(text, path)
        if len(text) * 4 + len(name) * 4 > MAX_INDEXED_TEXT_BYTES and \
                len(text.encode("utf-8")) + len(name.encode("utf-8")) > MAX_INDEXED_TEXT_BYTES:
            raise errors.InvalidArgumentError(
                f"{_spell(path)} is longer than {MAX_INDEXED_TEXT_BYTES} bytes (UTF-8) with its "
                "property name; a database index cannot hold it")
    elif kind == "double_value" and value.double_value == 0.0:
        # -0.0 and 0.0 compare equal everywhere; stored as 0.0, they also read back alike.
        value.double_value = 0.0
    elif kind == "struct_value":
        _check_struct_depth(value.struct_value, path)
        # SQL keeps a struct in the indexed string_value column, as MLMD does
        # (prefix + base64 of the serialized Struct); MLMD has no other column
        # it reads structs from, so one that cannot be indexed is refused.
        stored = len(STRUCT_PREFIX) + 4 * -(-value.struct_value.ByteSize() // 3)
        if stored + len(name.encode("utf-8")) > MAX_INDEXED_TEXT_BYTES:
            raise errors.InvalidArgumentError(
                f"{_spell(path)} takes {stored} bytes as MLMD stores a struct; with its property "
                f"name the limit is {MAX_INDEXED_TEXT_BYTES} bytes, all a database index can hold")


def check_request(request: _message.Message, writes: bool) -> None:
    """Refuses, before any backend sees it, a request holding values some backend cannot store.

    Every backend then answers the same way: NUL characters, over-long names
    and indexed strings, and structs larger than an index holds or deeper
    than protobuf can carry back are ``InvalidArgumentError`` naming the field. A writing request also has its
    negative zeros made positive, as SQLite and MySQL would store them.

    Args:
        request: The RPC's request message.
        writes: Whether the RPC writes (limits that only storage needs apply
            to writes; NUL characters are refused in lookups too).

    Raises:
        InvalidArgumentError: The request holds such a value.
    """
    if not writes:
        # A lookup is refused only for a NUL character or invalid UTF-8 in its
        # text, which show in its wire form as a zero byte or a byte past
        # ASCII. A wire form of neither (a lookup by uri, by name) holds
        # neither, found without a Python step per field.
        wire = request.SerializeToString()
        if wire.isascii() and b"\x00" not in wire:
            return
    stack: list[tuple[_message.Message, Any]] = [(request, None)]
    while stack:
        message, path = stack.pop()
        for field, value in message.ListFields():
            shape = _SHAPES.get(field)
            if shape is None:
                shape = _SHAPES[field] = _shape(field)
            if shape is _TEXT or shape is _TEXTS:
                name = field.name
                repeated = shape is _TEXTS
                for index, text in enumerate(value if repeated else (value,)):
                    if not isinstance(text, str) or "\x00" in text:
                        _check_text(text, ((path, name), f"[{index}]") if repeated else (path, name))
                    if not writes:
                        continue
                    if name in _NAME_FIELDS and len(text) > MAX_NAME_LENGTH:
                        at = _spell(((path, name), f"[{index}]") if repeated else (path, name))
                        raise errors.InvalidArgumentError(
                            f"{at} is {len(text)} characters long; the limit is {MAX_NAME_LENGTH}")
                    if name == "uri" and len(text) * 4 > MAX_INDEXED_TEXT_BYTES and \
                            len(text.encode("utf-8")) > MAX_INDEXED_TEXT_BYTES:
                        raise errors.InvalidArgumentError(
                            f"{_spell((path, name))} is longer than {MAX_INDEXED_TEXT_BYTES} bytes "
                            "(UTF-8); a database index cannot hold it")
            elif shape is _MAP or shape is _MESSAGE_MAP:
                here = (path, field.name)
                for key in value:
                    if isinstance(key, bytes):
                        _check_text(key, (here, f"[{key!r}]"))
                    if isinstance(key, str):
                        if "\x00" in key:
                            _check_text(key, (here, f"[{key!r}]"))
                        if writes and len(key) > MAX_NAME_LENGTH:
                            raise errors.InvalidArgumentError(
                                f"{_spell(here)} has a name {len(key)} characters long; the "
                                f"limit is {MAX_NAME_LENGTH}")
                    if shape is _MAP:
                        continue
                    item = value[key]
                    if writes and isinstance(item, pb.Value):
                        _check_value(item, (here, f"[{key!r}]"), key)
                    else:
                        stack.append((item, (here, f"[{key!r}]")))
            elif shape is _MESSAGES:
                here = (path, field.name)
                stack.extend((item, (here, f"[{index}]")) for index, item in enumerate(value))
            elif shape is _ONE_MESSAGE:
                if writes and isinstance(value, pb.Value):
                    _check_value(value, (path, field.name), "")
                else:
                    stack.append((value, (path, field.name)))


# How check_request treats a field, by its descriptor (computed once per field).
_TEXT, _TEXTS, _MAP, _MESSAGE_MAP, _MESSAGES, _ONE_MESSAGE, _OTHER = (
    "text", "texts", "map", "message map", "messages", "message", "other")
_SHAPES: dict[Any, str] = {}


def _shape(field) -> str:
    repeated = _repeated(field)
    if field.type == _descriptor.FieldDescriptor.TYPE_STRING:
        return _TEXTS if repeated else _TEXT
    if field.type != _descriptor.FieldDescriptor.TYPE_MESSAGE:
        return _OTHER
    if field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        return _MESSAGE_MAP if value_field.type == _descriptor.FieldDescriptor.TYPE_MESSAGE else _MAP
    if repeated:
        return _MESSAGES
    # A proto_value's Any holds bytes, not text: carried as it is.
    return _OTHER if field.message_type.full_name == "google.protobuf.Any" else _ONE_MESSAGE


def _reads(rpc: Callable[..., _Response]) -> Callable[..., _Response]:
    """Runs an RPC that only reads in one reading transaction."""

    @functools.wraps(rpc)
    def run(self: "MetadataService", request: Any) -> _Response:
        check_request(request, writes=False)
        with self.backend.transaction(write=False):
            return rpc(self, request)

    return run


def _reads_one_statement(rpc: Callable[..., _Response]) -> Callable[..., _Response]:
    """Runs an RPC that only reads, and usually with one backend statement.

    The backend may then skip the transaction around that statement (on
    PostgreSQL, BEGIN and COMMIT are two round trips of three). When the RPC
    needs a second statement after all, it runs again in a whole transaction.
    """

    @functools.wraps(rpc)
    def run(self: "MetadataService", request: Any) -> _Response:
        check_request(request, writes=False)
        try:
            with self.backend.transaction(write=False, one_statement=True):
                return rpc(self, request)
        except SnapshotNeeded:
            pass
        with self.backend.transaction(write=False):
            return rpc(self, request)

    return run


def run_writing(backend: Backend, work: Callable[[], _Response]) -> _Response:
    """Runs ``work`` in one writing transaction, again if it met a concurrent writer.

    When every run met one, the last run's error is raised: an
    ``AlreadyExistsError`` for a duplicate the store's own rules caught.
    """
    for attempt in range(1, _STALE_ATTEMPTS + 1):
        try:
            with backend.transaction(write=True):
                return work()
        except (ConcurrentWriteError, UniquenessConflictError):
            if attempt == _STALE_ATTEMPTS:
                raise
            if attempt > 1:
                # Lets the writers it met finish; spread so they do not meet again.
                time.sleep(random.uniform(0, _STALE_PAUSE * attempt))
    raise AssertionError("unreachable")


def _writes(rpc: Callable[..., _Response]) -> Callable[..., _Response]:
    """Runs an RPC that writes in one writing transaction, again at once if it met a stale snapshot."""

    @functools.wraps(rpc)
    def run(self: "MetadataService", request: Any) -> _Response:
        check_request(request, writes=True)
        return run_writing(self.backend, lambda: rpc(self, request))

    return run


def open_backend(config: pb.ConnectionConfig, migration_options: pb.MigrationOptions | None = None) -> Backend:
    """Creates the backend named by a ConnectionConfig.

    Raises:
        InvalidArgumentError: no backend is set in the config.
        UnimplementedError: the backend's module is not available in this build.
        FailedPreconditionError: the backend's optional driver is not installed.
    """
    which = config.WhichOneof("config")
    if which is None:
        raise errors.InvalidArgumentError(
            "ConnectionConfig.config is unset: choose fake_database, sqlite, mysql, postgresql or neo4j"
        )
    module_name, extra = _BACKEND_MODULES[which]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise errors.UnimplementedError(
                f"ConnectionConfig.{which} is not supported by this build of lineage"
            ) from e
        raise missing_driver_error(which, e.name, extra) from e
    return module.open_backend(config, migration_options or pb.MigrationOptions())


def open_service(
    config: pb.ConnectionConfig, migration_options: pb.MigrationOptions | None = None
) -> "MetadataService":
    """Opens the store described by ``config`` and returns its service."""
    return MetadataService(open_backend(config, migration_options))


def downgrade_schema(config: pb.ConnectionConfig, downgrade_to_schema_version: int) -> None:
    """Downgrades a relational store's schema to an older MLMD schema version.

    Raises:
        InvalidArgumentError: the version is negative or newer than the current one.
        UnimplementedError: the backend has no schema versions.
    """
    if downgrade_to_schema_version < 0:
        raise errors.InvalidArgumentError("downgrade_to_schema_version must be >= 0")
    options = pb.MigrationOptions(downgrade_to_schema_version=downgrade_to_schema_version)
    backend = open_backend(config, options)
    backend.close()


def _kind_label(kind: Kind) -> str:
    return kind.capitalize()


def _unique_keys(node) -> set[tuple]:
    """The keys that must be unique among nodes of a kind: (type, name) and external_id."""
    keys = set()
    if node.HasField("name") and node.name:
        keys.add(("name", node.type_id, node.name))
    if node.HasField("external_id"):
        keys.add(("external_id", node.external_id))
    return keys


def _encode_token(token: pb.ListOperationNextPageToken) -> str:
    return base64.urlsafe_b64encode(token.SerializeToString()).decode("ascii").rstrip("=")


def _decode_token(text: str) -> pb.ListOperationNextPageToken:
    token = pb.ListOperationNextPageToken()
    try:
        token.ParseFromString(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, _message.DecodeError) as e:
        raise errors.InvalidArgumentError(f"next_page_token {text!r} is not a valid page token") from e
    return token


class MetadataService:
    """Implements the 52 RPCs of MetadataStoreService over one Backend.

    Method names match the RPC names; each takes the request proto and returns
    the response proto, raising ``lineage.errors.*`` on failure.
    """

    def __init__(self, backend: Backend):
        self.backend = backend
        with backend.transaction(write=False):
            empty = not any(backend.get_types(kind) for kind in KINDS)
        if empty:
            run_writing(backend, self._add_system_types)

    def _add_system_types(self) -> None:
        # Looked at again as a writer: another client may have filled the store meanwhile.
        if not any(self.backend.get_types(kind) for kind in KINDS):
            for kind, name in SYSTEM_TYPES:
                self.backend.insert_type(kind, TYPE_CLASSES[kind](name=name))

    def close(self) -> None:
        """Closes the backend."""
        self.backend.close()

    @functools.cached_property
    def lineage(self):
        """The lineage extension service (``lineage.v1.LineageService``) over the same backend."""
        from lineage.lineage_service import LineageService

        return LineageService(self)

    # ------------------------------------------------------------------ types
    def _get_type_by_id(self, kind: Kind, type_id: int):
        found = self.backend.get_types(kind, [type_id])
        return found[0] if found else None

    def _put_type(self, kind: Kind, given, can_add_fields: bool, can_omit_fields: bool) -> int:
        """Creates a type, or reconciles it with the stored one of the same name and version.

        As in MLMD the request's id is ignored; a stored type gains new properties
        only with ``can_add_fields``, keeps omitted ones only with
        ``can_omit_fields``, takes a new external_id, keeps its description, and
        may get a base_type once.
        """
        label = f"{_kind_label(kind)}Type"
        if not given.name:
            raise errors.InvalidArgumentError(f"{label}.name is required: no type name is specified")
        for prop, prop_type in given.properties.items():
            if prop_type == pb.UNKNOWN:
                raise errors.InvalidArgumentError(
                    f"{label}.properties[{prop!r}] has type UNKNOWN; declare INT, DOUBLE, STRING, "
                    "STRUCT, PROTO or BOOLEAN"
                )
        version = given.version if given.HasField("version") else None
        stored = self.backend.find_type(kind, given.name, version)
        if stored is None:
            self._check_type_external_id(label, given, None)
            new = TYPE_CLASSES[kind]()
            new.CopyFrom(given)
            new.ClearField("id")
            if not new.version:
                new.ClearField("version")
            type_id = self.backend.insert_type(kind, new)
            self._link_base_type(kind, new)
            return type_id
        stored_props, given_props = dict(stored.properties), dict(given.properties)
        for prop, prop_type in given_props.items():
            if prop in stored_props and stored_props[prop] != prop_type:
                raise errors.AlreadyExistsError(
                    f"{label} {given.name!r} already exists with properties[{prop!r}] of type "
                    f"{pb.PropertyType.Name(stored_props[prop])}, not "
                    f"{pb.PropertyType.Name(prop_type)}"
                )
        omitted = set(stored_props) - set(given_props)
        if omitted and not can_omit_fields:
            raise errors.AlreadyExistsError(
                f"{label} {given.name!r} already exists with more properties "
                f"({', '.join(sorted(omitted))}); set can_omit_fields to accept that"
            )
        added = set(given_props) - set(stored_props)
        if added and not can_add_fields:
            raise errors.AlreadyExistsError(
                f"{label} {given.name!r} already exists without properties "
                f"({', '.join(sorted(added))}); set can_add_fields to add them"
            )
        stored_base = self._with_base_types(kind, [stored])[0].base_type if kind != "context" else 0
        new_base = None
        if given.HasField("base_type") and given.base_type != stored_base:
            if stored_base or not given.base_type:
                raise errors.UnimplementedError(
                    f"{label}.base_type of {given.name!r} is already "
                    f"{type(given).SystemDefinedBaseType.Name(stored_base)}; changing it is not supported"
                )
            new_base = given.base_type
        new_external_id = given.HasField("external_id") and given.external_id != stored.external_id
        if added or new_external_id:
            updated = TYPE_CLASSES[kind]()
            updated.CopyFrom(stored)
            for prop in added:
                updated.properties[prop] = given_props[prop]
            if new_external_id:
                self._check_type_external_id(label, given, stored.id)
                updated.external_id = given.external_id
            self.backend.update_type(kind, updated)
        if new_base is not None:
            linked = TYPE_CLASSES[kind]()
            linked.CopyFrom(stored)
            linked.base_type = new_base
            self._link_base_type(kind, linked)
        return stored.id

    def _link_base_type(self, kind: Kind, type_) -> None:
        base = getattr(type_, "base_type", 0)
        if not base:
            return
        system_name = _BASE_TYPES[kind].get(base)
        system = self.backend.find_type(kind, system_name, None) if system_name else None
        if system is None:
            raise errors.InvalidArgumentError(
                f"{_kind_label(kind)}Type.base_type {base} names no known system type"
            )
        self.backend.set_parent_type(kind, type_.id, system.id)

    def _check_type_external_id(self, label: str, given, own_id: int | None) -> None:
        """Type external ids are unique across all three kinds of type."""
        if not given.HasField("external_id"):
            return
        for kind in KINDS:
            for other in self.backend.find_types_by_external_id(kind, [given.external_id]):
                if other.id != own_id:
                    raise errors.AlreadyExistsError(
                        f"{label}.external_id {given.external_id!r} is already used by "
                        f"{kind} type {other.name!r} (id {other.id})"
                    )

    def _put_type_rpc(self, kind: Kind, request, field: str, response):
        response.type_id = self._put_type(
            kind, getattr(request, field), request.can_add_fields, request.can_omit_fields
        )
        return response

    @_writes
    def PutArtifactType(self, request: svc.PutArtifactTypeRequest) -> svc.PutArtifactTypeResponse:
        return self._put_type_rpc("artifact", request, "artifact_type", svc.PutArtifactTypeResponse())

    @_writes
    def PutExecutionType(self, request: svc.PutExecutionTypeRequest) -> svc.PutExecutionTypeResponse:
        return self._put_type_rpc("execution", request, "execution_type", svc.PutExecutionTypeResponse())

    @_writes
    def PutContextType(self, request: svc.PutContextTypeRequest) -> svc.PutContextTypeResponse:
        return self._put_type_rpc("context", request, "context_type", svc.PutContextTypeResponse())

    @_writes
    def PutTypes(self, request: svc.PutTypesRequest) -> svc.PutTypesResponse:
        response = svc.PutTypesResponse()
        for kind in KINDS:
            ids = getattr(response, f"{kind}_type_ids")
            for given in getattr(request, f"{kind}_types"):
                ids.append(
                    self._put_type(kind, given, request.can_add_fields, request.can_omit_fields)
                )
        return response

    def _with_base_types(self, kind: Kind, types: Sequence) -> list:
        """Returns copies of ``types`` with base_type filled from their parent links."""
        parents = self.backend.get_parent_types(kind, [t.id for t in types])
        if not parents:
            return list(types)
        by_name = {name: value for value, name in _BASE_TYPES[kind].items()}
        system = {t.id: t.name for t in self.backend.get_types(kind, {p for ps in parents.values() for p in ps})}
        result = []
        for type_ in types:
            names = [system.get(p) for p in parents.get(type_.id, ())]
            base = next((by_name[n] for n in names if n in by_name), None)
            if base is None:
                result.append(type_)
                continue
            copy = TYPE_CLASSES[kind]()
            copy.CopyFrom(type_)
            copy.base_type = base
            result.append(copy)
        return result

    def _get_type_rpc(self, kind: Kind, request, response):
        version = request.type_version if request.HasField("type_version") else None
        found = self.backend.find_type(kind, request.type_name, version)
        if found is None:
            raise errors.NotFoundError(
                f"No {kind} type found with type_name {request.type_name!r}"
                + (f" and type_version {version!r}" if version else "")
            )
        getattr(response, f"{kind}_type").CopyFrom(self._with_base_types(kind, [found])[0])
        return response

    @_reads
    def GetArtifactType(self, request: svc.GetArtifactTypeRequest) -> svc.GetArtifactTypeResponse:
        return self._get_type_rpc("artifact", request, svc.GetArtifactTypeResponse())

    @_reads
    def GetExecutionType(self, request: svc.GetExecutionTypeRequest) -> svc.GetExecutionTypeResponse:
        return self._get_type_rpc("execution", request, svc.GetExecutionTypeResponse())

    @_reads
    def GetContextType(self, request: svc.GetContextTypeRequest) -> svc.GetContextTypeResponse:
        return self._get_type_rpc("context", request, svc.GetContextTypeResponse())

    def _types_rpc(self, kind: Kind, response, fetch: Callable[[], list]):
        getattr(response, f"{kind}_types").extend(self._with_base_types(kind, fetch()))
        return response

    def _types_by_external_ids(self, kind: Kind, external_ids: Sequence[str]) -> list:
        found = self.backend.find_types_by_external_id(kind, external_ids)
        if external_ids and not found:
            # MLMD answers a lookup that matches nothing with NotFound, not an empty list.
            raise errors.NotFoundError(f"No {kind} type found with external_ids {list(external_ids)}")
        return found

    def _user_types(self, kind: Kind) -> list:
        return [t for t in self.backend.get_types(kind) if t.name not in _SYSTEM_TYPE_NAMES]

    @_reads
    def GetArtifactTypes(self, request: svc.GetArtifactTypesRequest) -> svc.GetArtifactTypesResponse:
        return self._types_rpc("artifact", svc.GetArtifactTypesResponse(), lambda: self._user_types("artifact"))

    @_reads
    def GetExecutionTypes(self, request: svc.GetExecutionTypesRequest) -> svc.GetExecutionTypesResponse:
        return self._types_rpc("execution", svc.GetExecutionTypesResponse(), lambda: self._user_types("execution"))

    @_reads
    def GetContextTypes(self, request: svc.GetContextTypesRequest) -> svc.GetContextTypesResponse:
        return self._types_rpc("context", svc.GetContextTypesResponse(), lambda: self._user_types("context"))

    @_reads
    def GetArtifactTypesByID(self, request: svc.GetArtifactTypesByIDRequest) -> svc.GetArtifactTypesByIDResponse:
        return self._types_rpc(
            "artifact", svc.GetArtifactTypesByIDResponse(),
            lambda: self.backend.get_types("artifact", request.type_ids))

    @_reads
    def GetExecutionTypesByID(self, request: svc.GetExecutionTypesByIDRequest) -> svc.GetExecutionTypesByIDResponse:
        return self._types_rpc(
            "execution", svc.GetExecutionTypesByIDResponse(),
            lambda: self.backend.get_types("execution", request.type_ids))

    @_reads
    def GetContextTypesByID(self, request: svc.GetContextTypesByIDRequest) -> svc.GetContextTypesByIDResponse:
        return self._types_rpc(
            "context", svc.GetContextTypesByIDResponse(),
            lambda: self.backend.get_types("context", request.type_ids))

    @_reads
    def GetArtifactTypesByExternalIds(
        self, request: svc.GetArtifactTypesByExternalIdsRequest
    ) -> svc.GetArtifactTypesByExternalIdsResponse:
        return self._types_rpc(
            "artifact", svc.GetArtifactTypesByExternalIdsResponse(),
            lambda: self._types_by_external_ids("artifact", request.external_ids))

    @_reads
    def GetExecutionTypesByExternalIds(
        self, request: svc.GetExecutionTypesByExternalIdsRequest
    ) -> svc.GetExecutionTypesByExternalIdsResponse:
        return self._types_rpc(
            "execution", svc.GetExecutionTypesByExternalIdsResponse(),
            lambda: self._types_by_external_ids("execution", request.external_ids))

    @_reads
    def GetContextTypesByExternalIds(
        self, request: svc.GetContextTypesByExternalIdsRequest
    ) -> svc.GetContextTypesByExternalIdsResponse:
        return self._types_rpc(
            "context", svc.GetContextTypesByExternalIdsResponse(),
            lambda: self._types_by_external_ids("context", request.external_ids))

    # ------------------------------------------------------------------ nodes
    def _check_properties(self, kind: Kind, node, type_) -> None:
        label = _kind_label(kind)
        declared = type_.properties
        for prop, value in node.properties.items():
            if prop not in declared:
                raise errors.InvalidArgumentError(
                    f"{label}.properties[{prop!r}] is not declared by type {type_.name!r}; "
                    "use custom_properties for undeclared values"
                )
            expected = _VALUE_FIELD.get(declared[prop])
            actual = value.WhichOneof("value")
            if actual != expected:
                # Leads with MLMD's wording: callers match on it.
                raise errors.InvalidArgumentError(
                    f"Found unmatched property type: {prop}: {label}.properties[{prop!r}] holds "
                    f"{actual or 'no value'} but type {type_.name!r} declares it "
                    f"{pb.PropertyType.Name(declared[prop])}"
                )

    def _check_unique(self, kind: Kind, node, own_id: int | None, check_name: bool = True) -> None:
        label = _kind_label(kind)
        if check_name and node.HasField("name") and node.name:
            for other in self.backend.node_ids_by_name(kind, node.type_id, node.name):
                if other != own_id:
                    raise errors.AlreadyExistsError(
                        f"{label}.name {node.name!r} is already used by {kind} {other} of type "
                        f"{node.type!r}: (type, name) must be unique"
                    )
        if node.HasField("external_id"):
            for other in self.backend.find_nodes(kind, external_ids=[node.external_id]):
                if other.id != own_id:
                    raise errors.AlreadyExistsError(
                        f"{label}.external_id {node.external_id!r} is already used by {kind} {other.id}"
                    )

    def _upsert_nodes(
        self,
        kind: Kind,
        given: Sequence,
        mask_paths: Sequence[str] = (),
        force_update_time: bool = False,
        created: set[int] | None = None,
        new_nodes: dict[int, Any] | None = None,
        names_free: bool = False,
    ) -> list[int]:
        """Creates nodes without id and updates nodes with one; returns ids in order.

        Ids of nodes created by this call are added to ``created`` when given, so
        later steps of the same call can skip checks a new node cannot fail;
        the created nodes, as stored, go to ``new_nodes`` when given, so later
        steps need not read them back. ``names_free`` says the caller found
        no stored node with a new node's (type, name) in this transaction.
        """
        backend = self.backend
        label = _kind_label(kind)
        now = _now_ms()
        types: dict[int, object] = {}

        def type_of(type_id: int):
            if type_id not in types:
                found = self._get_type_by_id(kind, type_id)
                if found is None:
                    raise errors.NotFoundError(f"{label}.type_id {type_id} names no {kind} type")
                types[type_id] = found
            return types[type_id]

        ids: list[int] = []
        # New nodes go to the backend together (one batch is fewer round trips
        # than one insert each); a batch is written before any update or any
        # node that could clash with one of it, so every check sees what the
        # nodes before it in the request made, as if written one by one.
        pending: list = []
        pending_keys: set[tuple] = set()

        def write_pending() -> None:
            if not pending:
                return
            new_ids = backend.insert_nodes(kind, pending)
            for new, new_id in zip(pending, new_ids, strict=True):
                new.id = new_id
                if new_nodes is not None:
                    new_nodes[new_id] = new
            if created is not None:
                created.update(new_ids)
            ids.extend(new_ids)
            pending.clear()
            pending_keys.clear()

        for node in given:
            if node.HasField("id"):
                write_pending()
                ids.append(self._update_node(kind, node, mask_paths, force_update_time, now, type_of))
                continue
            if not node.HasField("type_id"):
                raise errors.InvalidArgumentError(f"{label}.type_id is required to create a {kind}")
            type_ = type_of(node.type_id)
            if kind == "context" and not node.name:
                raise errors.InvalidArgumentError("Context.name is required and must not be empty")
            new = NODE_CLASSES[kind]()
            new.CopyFrom(node)
            new.type = type_.name
            if kind == "artifact" and not new.HasField("uri"):
                new.uri = ""
            new.create_time_since_epoch = now
            new.last_update_time_since_epoch = now
            self._check_properties(kind, new, type_)
            keys = _unique_keys(new)
            if keys & pending_keys:
                write_pending()
            self._check_unique(kind, new, None, check_name=not names_free)
            pending.append(new)
            pending_keys.update(keys)
        write_pending()
        return ids

    def _update_node(self, kind, node, mask_paths, force_update_time, now, type_of) -> int:
        label = _kind_label(kind)
        found = self.backend.get_nodes(kind, [node.id])
        if not found:
            raise errors.InvalidArgumentError(f"{label}.id {node.id} names no stored {kind}")
        stored = found[0]
        if node.HasField("type_id") and node.type_id != stored.type_id:
            raise errors.InvalidArgumentError(
                f"{label}.type_id {node.type_id} differs from the stored type_id {stored.type_id} "
                f"of {kind} {node.id}: a node cannot change type"
            )
        updated = NODE_CLASSES[kind]()
        if mask_paths:
            updated.CopyFrom(stored)
            _apply_mask(updated, node, mask_paths)
        else:
            updated.CopyFrom(node)
            updated.type_id = stored.type_id
        updated.type = stored.type
        if kind != "context":
            # MLMD never renames an artifact or execution: a new name is ignored.
            if stored.HasField("name"):
                updated.name = stored.name
            else:
                updated.ClearField("name")
        updated.create_time_since_epoch = stored.create_time_since_epoch
        updated.last_update_time_since_epoch = stored.last_update_time_since_epoch
        if kind == "context" and not updated.name:
            raise errors.InvalidArgumentError("Context.name is required and must not be empty")
        if kind == "artifact" and not updated.HasField("uri"):
            updated.uri = ""
        if updated == stored and not force_update_time:
            return stored.id
        self._check_properties(kind, updated, type_of(stored.type_id))
        self._check_unique(kind, updated, stored.id)
        updated.last_update_time_since_epoch = max(now, stored.last_update_time_since_epoch)
        self.backend.update_nodes(kind, [updated])
        return stored.id

    def _put_nodes_rpc(self, kind: Kind, request, response):
        ids = self._upsert_nodes(kind, getattr(request, f"{kind}s"), list(request.update_mask.paths))
        getattr(response, f"{kind}_ids").extend(ids)
        return response

    @_writes
    def PutArtifacts(self, request: svc.PutArtifactsRequest) -> svc.PutArtifactsResponse:
        if request.options.abort_if_latest_updated_time_changed:
            self._check_not_changed(request.artifacts)
            return self._put_nodes_rpc("artifact", request, svc.PutArtifactsResponse())
        return self._put_nodes_rpc("artifact", request, svc.PutArtifactsResponse())

    def _check_not_changed(self, artifacts) -> None:
        stored = {a.id: a for a in self.backend.get_nodes("artifact", [a.id for a in artifacts if a.HasField("id")])}
        for artifact in artifacts:
            current = stored.get(artifact.id)
            if current is not None and (
                current.last_update_time_since_epoch != artifact.last_update_time_since_epoch
            ):
                raise errors.FailedPreconditionError(
                    f"Artifact {artifact.id} changed since it was read: last_update_time_since_epoch "
                    f"is {current.last_update_time_since_epoch}, not "
                    f"{artifact.last_update_time_since_epoch}"
                )

    @_writes
    def PutExecutions(self, request: svc.PutExecutionsRequest) -> svc.PutExecutionsResponse:
        response = self._put_nodes_rpc("execution", request, svc.PutExecutionsResponse())
        self._refresh_fingerprints(response.execution_ids)
        return response

    @_writes
    def PutContexts(self, request: svc.PutContextsRequest) -> svc.PutContextsResponse:
        return self._put_nodes_rpc("context", request, svc.PutContextsResponse())

    # ------------------------------------------------------------------ edges
    def _insert_events(
        self, events: Iterable[pb.Event], now: int, created: frozenset[int] | set[int] = frozenset(),
        known: Mapping[str, set[int]] | None = None,
    ) -> None:
        """Validates and stores events; ``created`` holds executions new in this call.

        Events of a new execution need no lookup of stored events; artifacts in
        ``known["artifact"]`` were stored or read earlier in this call and need
        no lookup either.
        """
        backend = self.backend
        events = list(events)
        for event in events:
            if not event.HasField("artifact_id") or not event.HasField("execution_id"):
                raise errors.InvalidArgumentError("Event.artifact_id and Event.execution_id are required")
            if not event.HasField("type") or event.type == pb.Event.UNKNOWN:
                raise errors.InvalidArgumentError("Event.type is required: no event type is specified")
        # One lookup per kind for the whole batch: backends answer sets as cheaply as one id.
        resolved = known["artifact"] if known else set()
        artifact_ids = {e.artifact_id for e in events} - resolved
        known_artifacts = ({a.id for a in backend.get_nodes("artifact", artifact_ids)} if artifact_ids
                           else set()) | resolved
        stored_executions = {e.execution_id for e in events} - set(created)
        unknown_executions = stored_executions - (known["execution"] if known else set())
        known_executions = stored_executions - unknown_executions
        if unknown_executions:
            known_executions |= {e.id for e in backend.get_nodes("execution", unknown_executions)}
        seen: dict[int, set[tuple[int, int]]] = {e: set() for e in created}
        for stored_event in backend.get_events(execution_ids=sorted(known_executions)) if known_executions else ():
            seen.setdefault(stored_event.execution_id, set()).add((stored_event.artifact_id, stored_event.type))
        complete = []
        for event in events:
            if event.artifact_id not in known_artifacts:
                raise errors.InvalidArgumentError(f"Event.artifact_id {event.artifact_id} names no artifact")
            if event.execution_id not in known_executions and event.execution_id not in created:
                raise errors.InvalidArgumentError(
                    f"Event.execution_id {event.execution_id} names no execution"
                )
            keys = seen.setdefault(event.execution_id, set())
            if (event.artifact_id, event.type) in keys:
                raise errors.AlreadyExistsError(
                    f"Event of type {pb.Event.Type.Name(event.type)} between artifact "
                    f"{event.artifact_id} and execution {event.execution_id} already exists"
                )
            keys.add((event.artifact_id, event.type))
            stored = pb.Event()
            stored.CopyFrom(event)
            if not stored.HasField("milliseconds_since_epoch"):
                stored.milliseconds_since_epoch = now
            complete.append(stored)
        backend.insert_events(complete)

    @_writes
    def PutEvents(self, request: svc.PutEventsRequest) -> svc.PutEventsResponse:
        self._insert_events(request.events, _now_ms())
        self._refresh_fingerprints({e.execution_id for e in request.events})
        return svc.PutEventsResponse()

    def _refresh_fingerprints(
        self, execution_ids: Iterable[int], known_events: Sequence[pb.Event] | None = None,
        known_executions: Mapping[int, pb.Execution] | None = None,
    ) -> None:
        """Re-indexes the cache fingerprints of executions whose inputs or properties changed.

        ``known_events``, when given, are all the events of these executions (a
        call that just created them), and ``known_executions`` some of the
        executions as stored by this call; both save reading them back.
        """
        from lineage.cache import execution_fingerprints

        ids = sorted(set(execution_ids))
        if not ids:
            return
        backend = self.backend
        known = known_executions or {}
        unread = [i for i in ids if i not in known]
        executions = [known[i] for i in ids if i in known]
        if unread:
            executions = sorted([*executions, *backend.get_nodes("execution", unread)], key=lambda e: e.id)
        types = {t.id: t for t in backend.get_types("execution", {e.type_id for e in executions})}
        events: dict[int, list[pb.Event]] = {}
        if known_events is None:
            known_events = backend.get_events(execution_ids=ids)
        for event in known_events:
            events.setdefault(event.execution_id, []).append(event)
        backend.set_fingerprints({
            execution.id: execution_fingerprints(execution, types[execution.type_id], events.get(execution.id, ()))
            for execution in executions})

    def _link_to_contexts(
        self, kind: Kind, pairs: Iterable[tuple[int, int]], created: frozenset[int] | set[int] = frozenset(),
        known: Mapping[str, set[int]] | None = None,
    ) -> None:
        """Stores attributions (artifacts) or associations (executions), skipping existing ones.

        Nodes in ``created`` were made by this call: they exist and have no links yet.
        Nodes and contexts in ``known`` (by kind) were stored or read earlier in
        this call: they exist.
        """
        backend = self.backend
        wanted = list(dict.fromkeys(pairs))  # without repeats, in the order given
        if not wanted:
            return
        label = "Attribution" if kind == "artifact" else "Association"
        node_ids = {n for n, _ in wanted}
        context_ids = {c for _, c in wanted}
        stored_ids = node_ids - set(created)
        resolved_nodes = known[kind] if known else set()
        resolved_contexts = known["context"] if known else set()
        # Ids this call already stored or read exist: only the others are looked up.
        unknown_nodes = stored_ids - resolved_nodes
        unknown_contexts = context_ids - resolved_contexts
        known_nodes = node_ids - unknown_nodes
        if unknown_nodes:
            known_nodes |= {n.id for n in backend.get_nodes(kind, unknown_nodes)}
        known_contexts = context_ids - unknown_contexts
        if unknown_contexts:
            known_contexts |= {c.id for c in backend.get_nodes("context", unknown_contexts)}
        for node_id, context_id in wanted:
            if node_id not in known_nodes:
                raise errors.InvalidArgumentError(f"{label}.{kind}_id {node_id} names no {kind}")
            if context_id not in known_contexts:
                raise errors.InvalidArgumentError(f"{label}.context_id {context_id} names no context")
        # Links stored already are the backend's to skip: one statement, not a read and a write.
        if kind == "artifact":
            backend.insert_attributions(wanted)
        else:
            backend.insert_associations(wanted)

    @_writes
    def PutAttributionsAndAssociations(
        self, request: svc.PutAttributionsAndAssociationsRequest
    ) -> svc.PutAttributionsAndAssociationsResponse:
        self._link_to_contexts("artifact", [(a.artifact_id, a.context_id) for a in request.attributions])
        self._link_to_contexts("execution", [(a.execution_id, a.context_id) for a in request.associations])
        return svc.PutAttributionsAndAssociationsResponse()

    @_writes
    def PutParentContexts(self, request: svc.PutParentContextsRequest) -> svc.PutParentContextsResponse:
        backend = self.backend
        for link in request.parent_contexts:
            child, parent = link.child_id, link.parent_id
            if child == parent:
                raise errors.InvalidArgumentError(
                    f"ParentContext.child_id and parent_id are both {child}: a context cannot be its own parent"
                )
            known = {c.id for c in backend.get_nodes("context", [child, parent])}
            for field, value in (("child_id", child), ("parent_id", parent)):
                if value not in known:
                    raise errors.InvalidArgumentError(f"ParentContext.{field} {value} names no context")
            if (child, parent) in backend.get_parent_contexts(child_ids=[child]):
                raise errors.AlreadyExistsError(
                    f"ParentContext (child_id {child}, parent_id {parent}) already exists"
                )
            if child in self._ancestors(parent):
                raise errors.InvalidArgumentError(
                    f"ParentContext (child_id {child}, parent_id {parent}) would make a cycle"
                )
            backend.insert_parent_contexts([(child, parent)])
        return svc.PutParentContextsResponse()

    def _ancestors(self, context_id: int) -> set[int]:
        seen: set[int] = set()
        frontier = [context_id]
        while frontier:
            links = self.backend.get_parent_contexts(child_ids=frontier)
            frontier = [p for _, p in links if p not in seen]
            seen.update(frontier)
        return seen

    # ------------------------------------------------- put execution / subgraph
    def _resolve_contexts(self, contexts: Sequence[pb.Context], reuse: bool, force_reuse: bool) -> list[int]:
        """Upserts the contexts of a put_execution / put_lineage_subgraph call.

        ``force_reuse`` takes a context given by id as it is stored (NotFound if
        it is not); ``reuse`` (or ``force_reuse``) takes a new context whose
        (type, name) is already stored as that stored context, unchanged.
        """
        ids: list[int] = []
        for context in contexts:
            if context.HasField("id") and force_reuse:
                if not self.backend.get_nodes("context", [context.id]):
                    raise errors.NotFoundError(f"Context.id {context.id} names no stored context")
                ids.append(context.id)
                continue
            name_free = False
            if not context.HasField("id") and (reuse or force_reuse) and context.HasField("type_id"):
                existing = self.backend.node_ids_by_name("context", context.type_id, context.name)
                if existing:
                    ids.append(existing[0])
                    continue
                name_free = True
            ids.extend(self._upsert_nodes("context", [context], names_free=name_free))
        return ids

    def _resolve_artifacts(
        self, artifacts: Sequence[pb.Artifact], reuse_by_external_id: bool, created: set[int] | None = None
    ) -> list[int]:
        """Upserts artifacts; with ``reuse_by_external_id`` a new artifact whose
        external_id is stored updates that stored artifact instead."""
        if not reuse_by_external_id:
            return self._upsert_nodes("artifact", artifacts, created=created)
        ids = []
        for artifact in artifacts:
            if not artifact.HasField("id") and artifact.HasField("external_id"):
                existing = self.backend.find_nodes("artifact", external_ids=[artifact.external_id])
                if existing:
                    update = pb.Artifact()
                    update.CopyFrom(artifact)
                    update.id = existing[0].id
                    ids.extend(self._upsert_nodes("artifact", [update]))
                    continue
            ids.extend(self._upsert_nodes("artifact", [artifact], created=created))
        return ids

    @_writes
    def PutExecution(self, request: svc.PutExecutionRequest) -> svc.PutExecutionResponse:
        options = request.options
        response = svc.PutExecutionResponse()
        now = _now_ms()
        created: set[int] = set()
        new_executions: dict[int, pb.Execution] = {}
        [execution_id] = self._upsert_nodes(
            "execution", [request.execution], force_update_time=options.force_update_time,
            created=created, new_nodes=new_executions,
        )
        new_execution = execution_id in created
        created_artifacts: set[int] = set()
        resolved_artifacts: list[int] = []
        artifact_ids = []
        events = []
        for index, pair in enumerate(request.artifact_event_pairs):
            if pair.HasField("artifact"):
                [artifact_id] = self._resolve_artifacts(
                    [pair.artifact], options.reuse_artifact_if_already_exist_by_external_id,
                    created_artifacts,
                )
                resolved_artifacts.append(artifact_id)
            elif pair.HasField("event") and pair.event.HasField("artifact_id"):
                artifact_id = pair.event.artifact_id
            else:
                raise errors.InvalidArgumentError(
                    f"PutExecutionRequest.artifact_event_pairs[{index}] has neither an artifact "
                    "nor an event with artifact_id"
                )
            artifact_ids.append(artifact_id)
            if pair.HasField("event"):
                events.append(self._bind_event(pair.event, artifact_id, execution_id, index))
        # Nodes this call stored or read: later steps need not look them up again.
        known = {"artifact": set(resolved_artifacts), "execution": {execution_id}}
        self._insert_events(events, now, created, known)
        context_ids = self._resolve_contexts(
            request.contexts, options.reuse_context_if_already_exist, options.force_reuse_context
        )
        known["context"] = set(context_ids)
        self._link_to_contexts(
            "artifact", [(a, c) for c in context_ids for a in artifact_ids], created_artifacts, known
        )
        self._link_to_contexts("execution", [(execution_id, c) for c in context_ids], created, known)
        self._refresh_fingerprints([execution_id], events if new_execution else None, new_executions)
        response.execution_id = execution_id
        response.artifact_ids.extend(artifact_ids)
        response.context_ids.extend(context_ids)
        return response

    @staticmethod
    def _bind_event(event: pb.Event, artifact_id: int, execution_id: int, index: int) -> pb.Event:
        bound = pb.Event()
        bound.CopyFrom(event)
        for field, value in (("artifact_id", artifact_id), ("execution_id", execution_id)):
            if bound.HasField(field) and getattr(bound, field) != value:
                raise errors.InvalidArgumentError(
                    f"artifact_event_pairs[{index}].event.{field} {getattr(bound, field)} does not "
                    f"match the {field.split('_')[0]} it is paired with ({value})"
                )
            setattr(bound, field, value)
        return bound

    @staticmethod
    def _edge_event(index: int, edge, execution_ids: list[int], artifact_ids: list[int]) -> pb.Event:
        """Binds an event edge to node ids: by index into the request's lists, or by the
        ids the event itself names (nodes stored earlier)."""
        event = pb.Event()
        event.CopyFrom(edge.event)
        for kind, ids in (("execution", execution_ids), ("artifact", artifact_ids)):
            index_field, id_field = f"{kind}_index", f"{kind}_id"
            where = f"PutLineageSubgraphRequest.event_edges[{index}]"
            if edge.HasField(index_field):
                position = getattr(edge, index_field)
                if not 0 <= position < len(ids):
                    raise errors.OutOfRangeError(
                        f"{where}.{index_field} {position} is outside the {len(ids)} {kind}s of the request"
                    )
                if event.HasField(id_field) and getattr(event, id_field) != ids[position]:
                    raise errors.InvalidArgumentError(
                        f"{where}.event.{id_field} {getattr(event, id_field)} differs from the "
                        f"{kind} at {index_field} {position} (id {ids[position]})"
                    )
                setattr(event, id_field, ids[position])
            elif not event.HasField(id_field):
                raise errors.InvalidArgumentError(f"{where} names no {kind}: set {index_field} or event.{id_field}")
        return event

    @_writes
    def PutLineageSubgraph(self, request: svc.PutLineageSubgraphRequest) -> svc.PutLineageSubgraphResponse:
        options = request.options
        response = svc.PutLineageSubgraphResponse()
        for field in ("contexts", "artifacts", "executions"):
            for index, node in enumerate(getattr(request, field)):
                if node.HasField("id") and not node.HasField("type_id"):
                    raise errors.InvalidArgumentError(
                        f"PutLineageSubgraphRequest.{field}[{index}].type_id is required, "
                        "also for a stored node given by id"
                    )
        now = _now_ms()
        context_ids = self._resolve_contexts(request.contexts, options.reuse_context_if_already_exist, False)
        created_artifacts: set[int] = set()
        created_executions: set[int] = set()
        artifact_ids = self._resolve_artifacts(
            request.artifacts, options.reuse_artifact_if_already_exist_by_external_id, created_artifacts
        )
        new_executions: dict[int, pb.Execution] = {}
        execution_ids = self._upsert_nodes("execution", request.executions, created=created_executions,
                                           new_nodes=new_executions)
        events = [
            self._edge_event(index, edge, execution_ids, artifact_ids)
            for index, edge in enumerate(request.event_edges)
        ]
        # Nodes this call stored or read: later steps need not look them up again.
        known = {"artifact": set(artifact_ids), "execution": set(execution_ids), "context": set(context_ids)}
        self._insert_events(events, now, created_executions, known)
        self._link_to_contexts(
            "artifact", [(a, c) for c in context_ids for a in artifact_ids], created_artifacts, known
        )
        self._link_to_contexts(
            "execution", [(e, c) for c in context_ids for e in execution_ids], created_executions, known
        )
        # Edges may add inputs to executions stored earlier: re-index those too.
        touched = set(execution_ids) | {e.execution_id for e in events}
        self._refresh_fingerprints(touched, events if created_executions >= touched else None, new_executions)
        response.execution_ids.extend(execution_ids)
        response.artifact_ids.extend(artifact_ids)
        response.context_ids.extend(context_ids)
        return response

    # ------------------------------------------------------------ node reads
    def _list(self, kind: Kind, request, response, *, base_filter=None, within=None) -> object:
        """Fills ``response.<kind>s`` (and its page token) honouring ListOperationOptions."""
        from lineage.query import parse_filter

        listed = getattr(response, f"{kind}s")
        if not request.HasField("options"):
            self._select(kind, ListQuery(filter=base_filter), within, into=listed)
            return response
        options = request.options
        page_size = options.max_result_size
        if page_size <= 0:
            raise errors.InvalidArgumentError(
                f"ListOperationOptions.max_result_size must be positive, got {page_size}"
            )
        page_size = min(page_size, _MAX_PAGE_SIZE)
        order = options.order_by_field
        order_field = _ORDER_FIELD_NAMES.get(order.field, "id")
        ascending = order.is_asc
        after = None
        if options.next_page_token:
            token = _decode_token(options.next_page_token)
            plain = pb.ListOperationOptions()
            plain.CopyFrom(options)
            plain.ClearField("next_page_token")
            # Clients shrink the last page, so the page size may change between pages.
            plain.max_result_size = token.set_options.max_result_size
            if token.set_options != plain:
                raise errors.InvalidArgumentError(
                    "ListOperationOptions changed between pages: next_page_token belongs to "
                    "other options"
                )
            after = (token.field_offset, token.id_offset)
        expr = base_filter
        if options.filter_query:
            parsed = parse_filter(options.filter_query, kind)
            expr = parsed if expr is None else _and(expr, parsed)
        query = ListQuery(
            filter=expr, order_field=order_field, ascending=ascending,
            limit=page_size + 1, after=after,
        )
        more = len(self._select(kind, query, within, into=listed)) > page_size
        if more:
            del listed[page_size:]
            last = listed[-1]
            token = pb.ListOperationNextPageToken(
                id_offset=last.id, field_offset=getattr(last, order_field)
            )
            token.set_options.CopyFrom(options)
            token.set_options.ClearField("next_page_token")
            response.next_page_token = _encode_token(token)
        return response

    def _select(self, kind: Kind, query: ListQuery, within, into=None) -> list:
        if within is not None:
            query = ListQuery(
                filter=_and(within, query.filter) if query.filter is not None else within,
                order_field=query.order_field, ascending=query.ascending,
                limit=query.limit, after=query.after,
            )
        return self.backend.list_nodes(kind, query, into)

    @_reads_one_statement
    def GetArtifacts(self, request: svc.GetArtifactsRequest) -> svc.GetArtifactsResponse:
        return self._list("artifact", request, svc.GetArtifactsResponse())

    @_reads_one_statement
    def GetExecutions(self, request: svc.GetExecutionsRequest) -> svc.GetExecutionsResponse:
        return self._list("execution", request, svc.GetExecutionsResponse())

    @_reads_one_statement
    def GetContexts(self, request: svc.GetContextsRequest) -> svc.GetContextsResponse:
        return self._list("context", request, svc.GetContextsResponse())

    def _by_id_rpc(self, kind: Kind, ids: Iterable[int], response):
        self.backend.get_nodes(kind, ids, into=getattr(response, f"{kind}s"))
        return response

    @_reads_one_statement
    def GetArtifactsByID(self, request: svc.GetArtifactsByIDRequest) -> svc.GetArtifactsByIDResponse:
        response = svc.GetArtifactsByIDResponse()
        artifacts = self.backend.get_nodes("artifact", request.artifact_ids, into=response.artifacts)
        if request.populate_artifact_types:
            type_ids = sorted({a.type_id for a in artifacts})
            response.artifact_types.extend(
                self._with_base_types("artifact", self.backend.get_types("artifact", type_ids))
            )
        return response

    @_reads_one_statement
    def GetExecutionsByID(self, request: svc.GetExecutionsByIDRequest) -> svc.GetExecutionsByIDResponse:
        return self._by_id_rpc("execution", request.execution_ids, svc.GetExecutionsByIDResponse())

    @_reads_one_statement
    def GetContextsByID(self, request: svc.GetContextsByIDRequest) -> svc.GetContextsByIDResponse:
        return self._by_id_rpc("context", request.context_ids, svc.GetContextsByIDResponse())

    def _by_type_rpc(self, kind: Kind, request, response):
        version = request.type_version if request.HasField("type_version") else None
        type_ = self.backend.find_type(kind, request.type_name, version)
        if type_ is None:
            return response
        if not request.HasField("options"):
            self.backend.find_nodes(kind, type_ids=[type_.id], into=getattr(response, f"{kind}s"))
            return response
        return self._list(
            kind, request, response,
            base_filter=Comparison(Attribute("type_id"), "=", type_.id),
        )

    @_reads
    def GetArtifactsByType(self, request: svc.GetArtifactsByTypeRequest) -> svc.GetArtifactsByTypeResponse:
        return self._by_type_rpc("artifact", request, svc.GetArtifactsByTypeResponse())

    @_reads
    def GetExecutionsByType(self, request: svc.GetExecutionsByTypeRequest) -> svc.GetExecutionsByTypeResponse:
        return self._by_type_rpc("execution", request, svc.GetExecutionsByTypeResponse())

    @_reads
    def GetContextsByType(self, request: svc.GetContextsByTypeRequest) -> svc.GetContextsByTypeResponse:
        return self._by_type_rpc("context", request, svc.GetContextsByTypeResponse())

    def _by_type_and_name_rpc(self, kind: Kind, request, response):
        version = request.type_version if request.HasField("type_version") else None
        name = getattr(request, f"{kind}_name")
        type_ = self.backend.find_type(kind, request.type_name, version)
        if type_ is not None:
            found = self.backend.find_nodes(kind, type_ids=[type_.id], name=name)
            if found:
                getattr(response, kind).CopyFrom(found[0])
        return response

    @_reads
    def GetArtifactByTypeAndName(
        self, request: svc.GetArtifactByTypeAndNameRequest
    ) -> svc.GetArtifactByTypeAndNameResponse:
        return self._by_type_and_name_rpc("artifact", request, svc.GetArtifactByTypeAndNameResponse())

    @_reads
    def GetExecutionByTypeAndName(
        self, request: svc.GetExecutionByTypeAndNameRequest
    ) -> svc.GetExecutionByTypeAndNameResponse:
        return self._by_type_and_name_rpc("execution", request, svc.GetExecutionByTypeAndNameResponse())

    @_reads
    def GetContextByTypeAndName(
        self, request: svc.GetContextByTypeAndNameRequest
    ) -> svc.GetContextByTypeAndNameResponse:
        return self._by_type_and_name_rpc("context", request, svc.GetContextByTypeAndNameResponse())

    @_reads_one_statement
    def GetArtifactsByURI(self, request: svc.GetArtifactsByURIRequest) -> svc.GetArtifactsByURIResponse:
        response = svc.GetArtifactsByURIResponse()
        uris = set(request.uris)
        if len(uris) == 1:
            # The common lookup: its artifacts, in id order, built in the answer.
            self.backend.find_nodes("artifact", uri=uris.pop(), into=response.artifacts)
            return response
        found: dict[int, pb.Artifact] = {}
        for uri in uris:
            found.update((a.id, a) for a in self.backend.find_nodes("artifact", uri=uri))
        response.artifacts.extend(found[i] for i in sorted(found))
        return response

    def _by_external_ids_rpc(self, kind: Kind, request, response):
        external_ids = list(request.external_ids)
        found = self.backend.find_nodes(kind, external_ids=external_ids, into=getattr(response, f"{kind}s"))
        if external_ids and not found:
            # MLMD answers a lookup that matches nothing with NotFound, not an empty list.
            raise errors.NotFoundError(f"No {kind} found with external_ids {external_ids}")
        return response

    @_reads
    def GetArtifactsByExternalIds(
        self, request: svc.GetArtifactsByExternalIdsRequest
    ) -> svc.GetArtifactsByExternalIdsResponse:
        return self._by_external_ids_rpc("artifact", request, svc.GetArtifactsByExternalIdsResponse())

    @_reads
    def GetExecutionsByExternalIds(
        self, request: svc.GetExecutionsByExternalIdsRequest
    ) -> svc.GetExecutionsByExternalIdsResponse:
        return self._by_external_ids_rpc("execution", request, svc.GetExecutionsByExternalIdsResponse())

    @_reads
    def GetContextsByExternalIds(
        self, request: svc.GetContextsByExternalIdsRequest
    ) -> svc.GetContextsByExternalIdsResponse:
        return self._by_external_ids_rpc("context", request, svc.GetContextsByExternalIdsResponse())

    def _events_rpc(self, response, **ids):
        self.backend.get_events(**ids, into=response.events)
        return response

    @_reads_one_statement
    def GetEventsByExecutionIDs(
        self, request: svc.GetEventsByExecutionIDsRequest
    ) -> svc.GetEventsByExecutionIDsResponse:
        return self._events_rpc(svc.GetEventsByExecutionIDsResponse(), execution_ids=list(request.execution_ids))

    @_reads_one_statement
    def GetEventsByArtifactIDs(self, request: svc.GetEventsByArtifactIDsRequest) -> svc.GetEventsByArtifactIDsResponse:
        return self._events_rpc(svc.GetEventsByArtifactIDsResponse(), artifact_ids=list(request.artifact_ids))

    # ----------------------------------------------------------- context links
    def _contexts_of(self, kind: Kind, node_id: int, response):
        links = self.backend.get_context_links(kind, node_ids=[node_id])
        if not links:
            # MLMD reports a node without contexts (or no such node) as NotFound.
            raise errors.NotFoundError(f"No contexts found for {kind}_id {node_id}")
        self.backend.get_nodes("context", [c for _, c in links], into=response.contexts)
        return response

    @_reads
    def GetContextsByArtifact(self, request: svc.GetContextsByArtifactRequest) -> svc.GetContextsByArtifactResponse:
        return self._contexts_of("artifact", request.artifact_id, svc.GetContextsByArtifactResponse())

    @_reads
    def GetContextsByExecution(
        self, request: svc.GetContextsByExecutionRequest
    ) -> svc.GetContextsByExecutionResponse:
        return self._contexts_of("execution", request.execution_id, svc.GetContextsByExecutionResponse())

    def _nodes_in_context(self, kind: Kind, request, response):
        within = Comparison(_WITHIN_CONTEXT_ID, "=", request.context_id)
        # Without options too: one joined listing reads the nodes, where links
        # and then nodes by id took a statement more.
        return self._list(kind, request, response, within=within)

    @_reads_one_statement
    def GetArtifactsByContext(self, request: svc.GetArtifactsByContextRequest) -> svc.GetArtifactsByContextResponse:
        return self._nodes_in_context("artifact", request, svc.GetArtifactsByContextResponse())

    @_reads_one_statement
    def GetExecutionsByContext(
        self, request: svc.GetExecutionsByContextRequest
    ) -> svc.GetExecutionsByContextResponse:
        return self._nodes_in_context("execution", request, svc.GetExecutionsByContextResponse())

    def _related_contexts(self, context_ids: Iterable[int], parents: bool) -> dict[int, list]:
        backend = self.backend
        ids = list(context_ids)
        if parents:
            links = backend.get_parent_contexts(child_ids=ids)
            pairs = [(child, parent) for child, parent in links]
        else:
            links = backend.get_parent_contexts(parent_ids=ids)
            pairs = [(parent, child) for child, parent in links]
        by_id = {c.id: c for c in backend.get_nodes("context", {other for _, other in pairs})}
        related: dict[int, list] = {}
        for own, other in pairs:
            related.setdefault(own, []).append(by_id[other])
        return related

    @_reads
    def GetParentContextsByContext(
        self, request: svc.GetParentContextsByContextRequest
    ) -> svc.GetParentContextsByContextResponse:
        response = svc.GetParentContextsByContextResponse()
        response.contexts.extend(self._related_contexts([request.context_id], True).get(request.context_id, []))
        return response

    @_reads
    def GetChildrenContextsByContext(
        self, request: svc.GetChildrenContextsByContextRequest
    ) -> svc.GetChildrenContextsByContextResponse:
        response = svc.GetChildrenContextsByContextResponse()
        response.contexts.extend(self._related_contexts([request.context_id], False).get(request.context_id, []))
        return response

    @_reads
    def GetParentContextsByContexts(
        self, request: svc.GetParentContextsByContextsRequest
    ) -> svc.GetParentContextsByContextsResponse:
        response = svc.GetParentContextsByContextsResponse()
        for child, parents in self._related_contexts(request.context_ids, True).items():
            response.contexts[child].parent_contexts.extend(parents)
        return response

    @_reads
    def GetChildrenContextsByContexts(
        self, request: svc.GetChildrenContextsByContextsRequest
    ) -> svc.GetChildrenContextsByContextsResponse:
        response = svc.GetChildrenContextsByContextsResponse()
        for parent, children in self._related_contexts(request.context_ids, False).items():
            response.contexts[parent].children_contexts.extend(children)
        return response

    # ---------------------------------------------------------------- lineage
    @_reads
    def GetLineageGraph(self, request: svc.GetLineageGraphRequest) -> svc.GetLineageGraphResponse:
        from lineage.lineage_queries import lineage_graph

        response = svc.GetLineageGraphResponse()
        response.subgraph.CopyFrom(lineage_graph(self, request.options))
        return response

    @_reads
    def GetLineageSubgraph(self, request: svc.GetLineageSubgraphRequest) -> svc.GetLineageSubgraphResponse:
        from lineage.lineage_queries import lineage_subgraph

        response = svc.GetLineageSubgraphResponse()
        # Filled in place: a graph of tens of thousands of records costs a copy's time.
        response.lineage_subgraph.SetInParent()
        lineage_subgraph(self, request.lineage_subgraph_query_options, list(request.read_mask.paths),
                         response.lineage_subgraph)
        return response


#: The id of a node's context in a context's listing. "$" cannot appear in a
#: user's alias, so this join never clashes with one; built once, as each
#: call would spend longer building it than the memory store spends listing.
_WITHIN_CONTEXT_ID = Attribute("id", Neighbour("contexts", "$within"))


def _and(left, right):
    from lineage.query.ast import And

    return And((left, right))


def _apply_mask(target, given, paths: Sequence[str]) -> None:
    """Copies the fields named by a FieldMask from ``given`` into ``target``.

    ``properties.<name>`` and ``custom_properties.<name>`` update one entry (and
    delete it when ``given`` lacks it); a bare map name replaces the whole map.
    Paths that are empty or name no field are skipped, as MLMD skips them.
    """
    descriptor = target.DESCRIPTOR
    for path in paths:
        head, _, key = path.partition(".")
        if head in ("properties", "custom_properties") and key:
            source_map, target_map = getattr(given, head), getattr(target, head)
            if key in source_map:
                target_map[key].CopyFrom(source_map[key])
            elif key in target_map:
                del target_map[key]
            continue
        if head in ("id", "type_id", "type", "create_time_since_epoch", "last_update_time_since_epoch"):
            continue
        field = descriptor.fields_by_name.get(head)
        if field is None or key:
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            target.ClearField(head)
            for map_key, value in getattr(given, head).items():
                getattr(target, head)[map_key].CopyFrom(value)
        elif given.HasField(head):
            if field.message_type is not None:
                getattr(target, head).CopyFrom(getattr(given, head))
            else:
                setattr(target, head, getattr(given, head))
        else:
            target.ClearField(head)
