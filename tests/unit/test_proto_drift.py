"""The committed lineage/proto/ is exactly what protos/ generates.

Regenerates the Python bindings with ``scripts/gen-protos`` into a temporary
directory and compares them file by file with the committed ones. The script
runs its own pinned protoc (a cached tool venv), so the comparison does not
depend on what this environment has installed.
"""

from __future__ import annotations

import difflib
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "lineage" / "proto"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def _generated_names(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory holding freshly generated bindings."""
    out = tmp_path_factory.mktemp("gen")
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "gen-protos"), str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, f"scripts/gen-protos failed:\n{done.stderr}"
    return out / "lineage" / "proto"


def test_generator_produced_bindings(regenerated: Path) -> None:
    # Every .proto under protos/ becomes a module and its stub file.
    expected = set()
    for source in (ROOT / "protos").rglob("*.proto"):
        expected |= {f"{source.stem}_pb2.py", f"{source.stem}_pb2.pyi"}
    assert expected and expected <= _generated_names(regenerated)


def test_no_runtime_version_check() -> None:
    # Newer protoc/grpcio-tools embed checks that refuse other protobuf majors or older grpcio;
    # the committed code must import under the whole supported range.
    checked = [p for p in COMMITTED.iterdir() if p.name.endswith(("_pb2.py", "_pb2_grpc.py"))]
    assert checked
    for path in checked:
        text = path.read_text(encoding="utf-8")
        assert "ValidateProtobufRuntimeVersion" not in text, path.name
        assert "GRPC_GENERATED_VERSION" not in text, path.name


def test_same_set_of_generated_files(regenerated: Path) -> None:
    fresh, committed = _generated_names(regenerated), _generated_names(COMMITTED)
    assert not fresh - committed, f"not committed, run scripts/gen-protos: {sorted(fresh - committed)}"
    assert not committed - fresh, f"stale, no longer generated: {sorted(committed - fresh)}"


def test_generated_files_match(regenerated: Path) -> None:
    drifted = []
    for name in sorted(_generated_names(regenerated) & _generated_names(COMMITTED)):
        fresh = (regenerated / name).read_text(encoding="utf-8")
        committed = (COMMITTED / name).read_text(encoding="utf-8")
        if fresh != committed:
            diff = difflib.unified_diff(
                committed.splitlines(), fresh.splitlines(),
                f"lineage/proto/{name} (committed)", f"lineage/proto/{name} (from protos/)",
                lineterm="", n=1,
            )
            # The serialized descriptor is one very long line; keep the report short.
            drifted.append("\n".join(line[:160] for line in list(diff)[:40]))
    assert not drifted, "lineage/proto/ is out of date; run scripts/gen-protos:\n" + "\n\n".join(drifted)
