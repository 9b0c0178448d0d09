"""The cache fingerprint's text is fixed: stores keep fingerprints written by earlier versions."""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from lineage import cache
from lineage.proto import metadata_store_pb2 as pb


def _specified(type_name, type_version, inputs, properties) -> str:
    """The fingerprint as specified: SHA-256 of the whole document as compact JSON."""
    if isinstance(inputs, dict):
        keyed = True
        canonical_inputs = sorted(
            (str(k), sorted({v} if isinstance(v, int) else set(v))) for k, v in inputs.items())
        canonical_inputs = [list(pair) for pair in canonical_inputs]
    else:
        keyed, canonical_inputs = False, sorted(set(inputs))
    canonical_properties = sorted([k, cache.canonical_value(v)] for k, v in properties.items())
    document = ["lineage-cache-v1", type_name, type_version, keyed, canonical_inputs, canonical_properties]
    return hashlib.sha256(json.dumps(document, separators=(",", ":")).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("seed", range(5))
def test_fingerprint_is_the_digest_of_the_specified_document(seed):
    rng = random.Random(seed)
    for _ in range(200):
        properties = {f"p{rng.randint(0, 6)}": rng.choice([0, -7, 2.5, 1e300, "x", "é\"\\", True, False])
                      for _ in range(rng.randint(0, 4))}
        if rng.random() < 0.5:
            inputs = {rng.choice(["", "examples", "model", "ключ"]): [rng.randint(1, 50) for _ in range(3)]
                      for _ in range(rng.randint(1, 3))}
        else:
            inputs = [rng.randint(1, 50) for _ in range(rng.randint(0, 5))]
        name, version = rng.choice(["Trainer", "Träiner", 'a"b']), rng.choice(["", "v1"])
        assert cache.fingerprint(name, version, inputs, properties) == _specified(name, version, inputs, properties)


def test_an_execution_is_indexed_under_the_fingerprints_of_its_question():
    execution = pb.Execution(id=7, type_id=3)
    execution.properties["lr"].double_value = 0.01
    execution.custom_properties["seed"].int_value = 4
    type_ = pb.ExecutionType(id=3, name="Trainer", version="2")
    events = [pb.Event(artifact_id=a, execution_id=7, type=pb.Event.INPUT) for a in (5, 2)]
    events[0].path.steps.add().key = "examples"
    events.append(pb.Event(artifact_id=9, execution_id=7, type=pb.Event.OUTPUT))
    by_ids, by_keys = cache.execution_fingerprints(execution, type_, events)
    properties = {"lr": 0.01, "seed": 4}
    assert by_ids == _specified("Trainer", "2", [2, 5], properties)
    assert by_keys == _specified("Trainer", "2", {"examples": [5], "": [2]}, properties)
