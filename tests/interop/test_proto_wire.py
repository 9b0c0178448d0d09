"""Wire compatibility of lineage.proto with ml-metadata 1.17.1, both ways.

ml-metadata runs in its own virtual environment (``scripts/mlmd-venv``) and is
driven through ``mlmd_wire_peer.py``. The tests compare descriptors field by
field, then push real messages across in both directions and require identical
bytes and identical text format.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2, message, message_factory, text_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from lineage.proto import metadata_store_pb2, metadata_store_service_pb2

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
PEER_PATH = Path(__file__).with_name("mlmd_wire_peer.py")
MLMD_VERSION = "1.17.1"

# ml-metadata's file name -> ours.
FILES = {
    "ml_metadata/proto/metadata_store.proto": metadata_store_pb2,
    "ml_metadata/proto/metadata_store_service.proto": metadata_store_service_pb2,
}
OUR_EXTRA_MESSAGES = {"ml_metadata.Neo4jDatabaseConfig"}
OUR_EXTRA_FIELDS = {"ml_metadata.ConnectionConfig.neo4j"}


def _load_peer() -> Any:
    spec = importlib.util.spec_from_file_location("mlmd_wire_peer", PEER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


peer = _load_peer()
SAMPLE_NAMES = sorted(peer.SAMPLES)


@pytest.fixture(scope="module")
def mlmd_python() -> str:
    """Path of the python that has ml-metadata 1.17.1, building it if needed."""
    try:
        done = subprocess.run(
            [str(ROOT / "scripts" / "mlmd-venv")],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"scripts/mlmd-venv could not run: {e}")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        pytest.fail(
            "scripts/mlmd-venv failed to provide ml-metadata "
            f"{MLMD_VERSION} (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    return lines[-1]


def _ask(mlmd_python: str, request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [mlmd_python, str(PEER_PATH)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.fail(f"ml-metadata peer failed on {request['op']}:\n{done.stderr[-3000:]}")
    reply = json.loads(done.stdout)
    assert reply["ml_metadata"] == MLMD_VERSION
    return reply


def _our_class(full_name: str) -> type[message.Message]:
    pool = metadata_store_pb2.DESCRIPTOR.pool
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))


def _bytes(msg: message.Message) -> bytes:
    return msg.SerializeToString(deterministic=True)


def _int_keyed_map_inside(desc: Descriptor, seen: set[str] | None = None) -> bool:
    """Whether messages of this type can hold a map with integer keys.

    Deterministic serialization orders the entries of such maps differently
    in protobuf 4.25 and 7.x, while parsers accept any order; for those
    messages bytes are compared after one side re-encodes them.
    """
    seen = set() if seen is None else seen
    if desc.full_name in seen:
        return False
    seen.add(desc.full_name)
    for field in desc.fields:
        sub = field.message_type
        if sub is None:
            continue
        if sub.GetOptions().map_entry and sub.fields_by_name["key"].type != FieldDescriptor.TYPE_STRING:
            return True
        if _int_keyed_map_inside(sub, seen):
            return True
    return False


def _same_bytes(theirs: bytes, ours: message.Message) -> None:
    """Asserts ml-metadata's encoding equals ours, byte for byte where defined."""
    name = ours.DESCRIPTOR.full_name
    reencoded = _bytes(type(ours).FromString(theirs))
    assert reencoded == _bytes(ours), name
    if not _int_keyed_map_inside(ours.DESCRIPTOR):
        assert theirs == _bytes(ours), name


def _text(msg: message.Message) -> str:
    # Explicit, because the protobuf releases disagree on the default.
    return text_format.MessageToString(msg, as_utf8=True)


# ---------------------------------------------------------------- descriptors


def _walk(
    prefix: str, messages: Any, enums: Any, out_msgs: dict, out_enums: dict
) -> None:
    for enum in enums:
        out_enums[f"{prefix}.{enum.name}"] = enum
    for msg in messages:
        name = f"{prefix}.{msg.name}"
        out_msgs[name] = msg
        _walk(name, msg.nested_type, msg.enum_type, out_msgs, out_enums)


def _index(fdp: descriptor_pb2.FileDescriptorProto) -> tuple[dict, dict]:
    msgs: dict[str, descriptor_pb2.DescriptorProto] = {}
    enums: dict[str, descriptor_pb2.EnumDescriptorProto] = {}
    _walk(fdp.package, fdp.message_type, fdp.enum_type, msgs, enums)
    return msgs, enums


def _field_facts(msg: descriptor_pb2.DescriptorProto, f: descriptor_pb2.FieldDescriptorProto) -> dict:
    return {
        "number": f.number,
        "type": f.type,
        "label": f.label,
        "type_name": f.type_name,
        "default": f.default_value if f.HasField("default_value") else None,
        "oneof": msg.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else None,
        "packed": f.options.packed if f.options.HasField("packed") else None,
        "deprecated": f.options.deprecated,
        "proto3_optional": f.proto3_optional,
        "json_name": f.json_name if f.HasField("json_name") else None,
    }


def _parse_fdp(data: bytes) -> descriptor_pb2.FileDescriptorProto:
    return descriptor_pb2.FileDescriptorProto.FromString(data)


@pytest.fixture(scope="module")
def file_pairs(mlmd_python: str) -> list[tuple[str, descriptor_pb2.FileDescriptorProto, descriptor_pb2.FileDescriptorProto]]:
    """(ml-metadata file name, theirs, ours) for both proto files."""
    reply = _ask(mlmd_python, {"op": "descriptors"})
    assert set(reply["files"]) == set(FILES)
    return [
        (
            name,
            _parse_fdp(base64.b64decode(reply["files"][name])),
            _parse_fdp(FILES[name].DESCRIPTOR.serialized_pb),
        )
        for name in sorted(FILES)
    ]


def test_descriptors_package_imports_and_extensions(file_pairs) -> None:
    our_names = {theirs: mod.DESCRIPTOR.name for theirs, mod in FILES.items()}
    for name, theirs, ours in file_pairs:
        assert ours.package == theirs.package == "ml_metadata", name
        assert ours.syntax == theirs.syntax, name
        assert [our_names.get(d, d) for d in theirs.dependency] == list(ours.dependency), name
        assert list(ours.extension) == list(theirs.extension), name
        assert ours.options == theirs.options, name


def test_descriptors_same_messages_and_fields(file_pairs) -> None:
    extra_fields: set[str] = set()
    for name, theirs, ours in file_pairs:
        their_msgs, _ = _index(theirs)
        our_msgs, _ = _index(ours)
        missing = set(their_msgs) - set(our_msgs)
        assert not missing, f"{name}: messages missing here: {sorted(missing)}"
        extra = set(our_msgs) - set(their_msgs)
        assert extra <= OUR_EXTRA_MESSAGES, f"{name}: unexpected extra messages {sorted(extra)}"
        for full_name, their_msg in their_msgs.items():
            our_msg = our_msgs[full_name]
            their_fields = {f.name: _field_facts(their_msg, f) for f in their_msg.field}
            our_fields = {f.name: _field_facts(our_msg, f) for f in our_msg.field}
            for field_name, facts in their_fields.items():
                assert field_name in our_fields, f"{full_name}.{field_name} missing here"
                assert our_fields[field_name] == facts, f"{full_name}.{field_name} differs"
            extra_fields |= {f"{full_name}.{n}" for n in set(our_fields) - set(their_fields)}
            # Declaration order is part of the descriptor too.
            our_order = [f.name for f in our_msg.field if f"{full_name}.{f.name}" not in OUR_EXTRA_FIELDS]
            assert our_order == [f.name for f in their_msg.field], full_name
            assert [o.name for o in our_msg.oneof_decl] == [o.name for o in their_msg.oneof_decl], full_name
            assert [n.name for n in our_msg.nested_type] == [n.name for n in their_msg.nested_type], full_name
            assert [e.name for e in our_msg.enum_type] == [e.name for e in their_msg.enum_type], full_name
            assert list(our_msg.reserved_range) == list(their_msg.reserved_range), full_name
            assert list(our_msg.reserved_name) == list(their_msg.reserved_name), full_name
            assert list(our_msg.extension_range) == list(their_msg.extension_range), full_name
            assert our_msg.options == their_msg.options, full_name
            if full_name not in {f.rsplit(".", 1)[0] for f in OUR_EXTRA_FIELDS}:
                # Nothing else (json names, options, ...) may differ either.
                assert our_msg == their_msg, full_name
    assert extra_fields == OUR_EXTRA_FIELDS


def test_descriptors_our_extension_field() -> None:
    field = metadata_store_pb2.ConnectionConfig.DESCRIPTOR.fields_by_name["neo4j"]
    assert field.number == 100
    assert field.containing_oneof.name == "config"
    assert field.message_type.full_name == "ml_metadata.Neo4jDatabaseConfig"


def test_descriptors_same_enums(file_pairs) -> None:
    for name, theirs, ours in file_pairs:
        _, their_enums = _index(theirs)
        _, our_enums = _index(ours)
        assert set(our_enums) == set(their_enums), name
        for full_name, their_enum in their_enums.items():
            our_enum = our_enums[full_name]
            assert [(v.name, v.number) for v in our_enum.value] == [
                (v.name, v.number) for v in their_enum.value
            ], full_name
            # Carries the system_type_extension names of the base types.
            assert [v.options.SerializeToString(deterministic=True) for v in our_enum.value] == [
                v.options.SerializeToString(deterministic=True) for v in their_enum.value
            ], full_name
            assert our_enum == their_enum, full_name


def test_descriptors_same_service(file_pairs) -> None:
    services = {name: (theirs.service, ours.service) for name, theirs, ours in file_pairs}
    their_services, our_services = services["ml_metadata/proto/metadata_store_service.proto"]
    assert [s.name for s in our_services] == [s.name for s in their_services] == ["MetadataStoreService"]
    theirs, ours = their_services[0], our_services[0]

    def methods(service: descriptor_pb2.ServiceDescriptorProto) -> list[tuple]:
        return [
            (m.name, m.input_type, m.output_type, m.client_streaming, m.server_streaming)
            for m in service.method
        ]

    assert len(theirs.method) == 52
    assert methods(ours) == methods(theirs)
    assert ours == theirs


# ------------------------------------------------------------- bytes both ways


@pytest.fixture(scope="module")
def ours_through_mlmd(mlmd_python: str) -> dict[str, dict[str, Any]]:
    """Each sample built here, as ml-metadata parsed and re-serialized it."""
    items = [
        {
            "type": msg.DESCRIPTOR.full_name,
            "data": base64.b64encode(_bytes(msg)).decode(),
        }
        for msg in (peer.SAMPLES[n](metadata_store_pb2, metadata_store_service_pb2) for n in SAMPLE_NAMES)
    ]
    reply = _ask(mlmd_python, {"op": "reserialize", "items": items})
    return dict(zip(SAMPLE_NAMES, reply["items"]))


@pytest.fixture(scope="module")
def built_by_mlmd(mlmd_python: str) -> dict[str, dict[str, Any]]:
    """Each sample built with ml-metadata's own classes."""
    reply = _ask(mlmd_python, {"op": "build", "names": SAMPLE_NAMES})
    return dict(zip(SAMPLE_NAMES, reply["items"]))


def _ours(name: str) -> message.Message:
    return peer.SAMPLES[name](metadata_store_pb2, metadata_store_service_pb2)


def test_samples_are_rich() -> None:
    artifact = _ours("artifact")
    kinds = {v.WhichOneof("value") for v in artifact.properties.values()}
    assert kinds == set(metadata_store_pb2.Value.DESCRIPTOR.fields_by_name)
    assert {v.WhichOneof("value") for v in artifact.custom_properties.values()} == kinds
    graph = _ours("lineage_graph")
    for field in metadata_store_pb2.LineageGraph.DESCRIPTOR.fields:
        assert len(getattr(graph, field.name)) > 0, field.name
    steps = _ours("event").path.steps
    assert {s.WhichOneof("value") for s in steps} == {"index", "key"}


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_ours_parsed_by_mlmd(name: str, ours_through_mlmd) -> None:
    ours = _ours(name)
    seen = ours_through_mlmd[name]
    assert seen["type"] == ours.DESCRIPTOR.full_name
    assert not seen["unknown"], f"ml-metadata did not recognise some fields of {name}"
    _same_bytes(base64.b64decode(seen["data"]), ours)
    assert seen["text"] == _text(ours)
    back = type(ours)()
    text_format.Parse(seen["text"], back)
    assert back == ours


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_mlmd_parsed_here(name: str, built_by_mlmd) -> None:
    theirs = built_by_mlmd[name]
    data = base64.b64decode(theirs["data"])
    parsed = _our_class(theirs["type"]).FromString(data)
    assert not peer.has_unknown_fields(parsed), f"fields of {name} unknown here"
    assert parsed == _ours(name)
    _same_bytes(data, _ours(name))
    assert _text(parsed) == theirs["text"]


# A value per scalar type, distinct per field number so swapped numbers show.
def _scalar(field: FieldDescriptor, salt: int) -> Any:
    t = field.type
    if t == FieldDescriptor.TYPE_BOOL:
        return True
    if t == FieldDescriptor.TYPE_STRING:
        return f"s{field.number}-{salt}"
    if t == FieldDescriptor.TYPE_BYTES:
        return bytes([field.number % 256, salt % 256])
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return field.number + 0.5
    if t == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values[-1].number
    return -(field.number * 1000 + salt) if t in (
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
    ) else field.number * 1000 + salt


def _fill(msg: message.Message, depth: int) -> None:
    """Sets every field of msg, recursing into ml_metadata messages."""
    desc: Descriptor = msg.DESCRIPTOR
    for field in desc.fields:
        if field.containing_oneof is not None and msg.WhichOneof(field.containing_oneof.name):
            continue  # one member per oneof
        sub = field.message_type
        if sub is not None and not sub.full_name.startswith("ml_metadata."):
            # Well-known types (Any, Struct, FieldMask): the samples fill them.
            if not field.is_repeated:
                getattr(msg, field.name).SetInParent()
            continue
        if sub is not None and sub.GetOptions().map_entry:
            key_field, value_field = sub.fields_by_name["key"], sub.fields_by_name["value"]
            mapping = getattr(msg, field.name)
            key = _scalar(key_field, 1)
            if value_field.message_type is not None:
                if depth > 0:
                    _fill(mapping[key], depth - 1)
            else:
                mapping[key] = _scalar(value_field, 1)
            continue
        if field.is_repeated:
            container = getattr(msg, field.name)
            for salt in (1, 2):
                if sub is not None:
                    if depth > 0:
                        _fill(container.add(), depth - 1)
                else:
                    container.append(_scalar(field, salt))
            continue
        if sub is not None:
            if depth > 0:
                _fill(getattr(msg, field.name), depth - 1)
            else:
                getattr(msg, field.name).SetInParent()
            continue
        setattr(msg, field.name, _scalar(field, 0))


def _all_message_names() -> list[str]:
    names: list[str] = []

    def walk(desc: Descriptor) -> None:
        if not desc.GetOptions().map_entry:
            names.append(desc.full_name)
        for nested in desc.nested_types:
            walk(nested)

    for module in FILES.values():
        for desc in module.DESCRIPTOR.message_types_by_name.values():
            walk(desc)
    return sorted(names)


def test_every_message_filled_round_trips(mlmd_python: str) -> None:
    names = [n for n in _all_message_names() if n not in OUR_EXTRA_MESSAGES]
    assert len(names) > 150
    built = []
    for name in names:
        msg = _our_class(name)()
        _fill(msg, depth=2)
        if name == "ml_metadata.ConnectionConfig":
            assert msg.WhichOneof("config") != "neo4j"
        built.append(msg)
    reply = _ask(
        mlmd_python,
        {
            "op": "reserialize",
            "items": [
                {"type": m.DESCRIPTOR.full_name, "data": base64.b64encode(_bytes(m)).decode()}
                for m in built
            ],
        },
    )
    for msg, seen in zip(built, reply["items"]):
        name = msg.DESCRIPTOR.full_name
        assert _bytes(msg) or not msg.DESCRIPTOR.fields, f"{name} was left empty"
        assert not seen["unknown"], f"ml-metadata did not recognise some fields of {name}"
        _same_bytes(base64.b64decode(seen["data"]), msg)
        assert seen["text"] == _text(msg), name


# ------------------------------------------------------------------- controls


def test_mlmd_keeps_our_neo4j_config_as_unknown_bytes(mlmd_python: str) -> None:
    cfg = metadata_store_pb2.ConnectionConfig()
    cfg.neo4j.uri = "neo4j://localhost:7687"
    cfg.neo4j.database = "lineage"
    cfg.retry_options.max_num_retries = 2
    reply = _ask(
        mlmd_python,
        {
            "op": "reserialize",
            "items": [{"type": "ml_metadata.ConnectionConfig", "data": base64.b64encode(_bytes(cfg)).decode()}],
        },
    )
    seen = reply["items"][0]
    # ml-metadata does not know field 100, so the detector must fire here...
    assert seen["unknown"]
    assert "neo4j" not in seen["text"]
    # ...and it still hands the bytes back untouched.
    back = metadata_store_pb2.ConnectionConfig.FromString(base64.b64decode(seen["data"]))
    assert back == cfg


def test_unknown_field_detector_sees_nested_unknowns() -> None:
    inner = metadata_store_pb2.Artifact(id=1).SerializeToString()
    inner += bytes([0xF8, 0x3E, 0x01])  # field 999, varint 1
    outer = metadata_store_pb2.LineageGraph()
    outer.MergeFromString(bytes([0x22, len(inner)]) + inner)  # artifacts = 4
    assert peer.has_unknown_fields(outer)
    assert not peer.has_unknown_fields(metadata_store_pb2.LineageGraph(artifacts=[metadata_store_pb2.Artifact(id=1)]))
