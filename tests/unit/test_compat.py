"""lineage.compat: ``import ml_metadata`` code runs on lineage after an explicit install().

Each case runs in a fresh interpreter, so the alias never leaks into other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap


def _python(source: str, *, path: str | None = None) -> dict:
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = os.pathsep.join([path, env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ml_metadata_code_runs_unchanged_after_install():
    result = _python("""
        import json, sys
        from lineage import compat
        before = "ml_metadata" in sys.modules
        compat.install()
        compat.install()  # idempotent

        import ml_metadata as mlmd
        from ml_metadata import errors
        from ml_metadata.metadata_store import metadata_store
        from ml_metadata.proto import metadata_store_pb2, metadata_store_service_pb2_grpc
        import lineage

        config = metadata_store_pb2.ConnectionConfig()
        config.fake_database.SetInParent()
        store = metadata_store.MetadataStore(config)
        type_id = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="DataSet"))
        [artifact_id] = store.put_artifacts([metadata_store_pb2.Artifact(type_id=type_id, uri="u")])
        try:
            store.get_artifact_type("missing")
            caught = None
        except errors.NotFoundError as e:
            caught = type(e).__name__
        got = store.get_artifacts(list_options=mlmd.ListOptions(filter_query='uri = "u"'))
        compat.uninstall()
        print(json.dumps({
            "before": before, "caught": caught, "ids": [a.id for a in got], "artifact_id": artifact_id,
            "same_store": mlmd.MetadataStore is lineage.MetadataStore,
            "stub": hasattr(metadata_store_service_pb2_grpc, "MetadataStoreServiceStub"),
            "version": mlmd.__version__ == lineage.__version__,
            "after": [name for name in sys.modules if name.startswith("ml_metadata")],
        }))
    """)
    assert result == {
        "before": False, "caught": "NotFoundError", "ids": [result["artifact_id"]],
        "artifact_id": result["artifact_id"], "same_store": True, "stub": True, "version": True,
        "after": [],
    }


def test_install_refuses_to_shadow_a_real_ml_metadata(tmp_path):
    # Any importable distribution named ml_metadata counts as real.
    package = tmp_path / "ml_metadata"
    package.mkdir()
    (package / "__init__.py").write_text("REAL = True\n")
    result = _python("""
        import json
        from lineage import compat, errors
        try:
            compat.install()
            outcome = None
        except errors.FailedPreconditionError as e:
            outcome = e.message
        import ml_metadata
        print(json.dumps({"outcome": outcome, "real": getattr(ml_metadata, "REAL", False),
                          "installed": compat.installed()}))
    """, path=str(tmp_path))
    assert result["outcome"] and "real ml_metadata is installed" in result["outcome"]
    assert str(package) in result["outcome"]
    assert result["real"] is True
    assert result["installed"] is False
