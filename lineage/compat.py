"""Opt-in ``ml_metadata`` import alias: code written for ml-metadata runs on lineage unchanged.

Call ``lineage.compat.install()`` once, before the first ``import ml_metadata``
(for example at the top of a notebook, a ``sitecustomize.py`` or a test's
``conftest.py``). Afterwards these imports give lineage's modules:

``ml_metadata``                                        MetadataStore, ListOptions, OrderByField,
                                                       downgrade_schema, errors, proto
``ml_metadata.errors``                                 lineage.errors
``ml_metadata.metadata_store``                         the same four names
``ml_metadata.metadata_store.metadata_store``          lineage.metadata_store
``ml_metadata.proto``                                  lineage.proto
``ml_metadata.proto.metadata_store_pb2``               lineage.proto.metadata_store_pb2
``ml_metadata.proto.metadata_store_service_pb2``       lineage.proto.metadata_store_service_pb2
``ml_metadata.proto.metadata_store_service_pb2_grpc``  lineage.proto.metadata_store_service_pb2_grpc
``ml_metadata.version``                                ``__version__``

Nothing is installed on disk and nothing happens without the call. It refuses to
shadow a real ml-metadata: when a distribution providing ``ml_metadata`` is
importable, or already imported, ``install`` raises ``FailedPreconditionError``.

Limits: ml-metadata's ``simple_types``, ``tools`` and ``metadata_store.mlmd_types``
modules have no alias; the messages are lineage's own generated classes (same
package name ``ml_metadata``, same wire format), so a message built with a real
ml-metadata's classes cannot be passed in the same process.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types

from lineage import errors

__all__ = ["install", "uninstall", "installed", "MODULE_NAMES"]

#: Every module name ``install`` registers, parents before children.
MODULE_NAMES = (
    "ml_metadata",
    "ml_metadata.errors",
    "ml_metadata.version",
    "ml_metadata.proto",
    "ml_metadata.proto.metadata_store_pb2",
    "ml_metadata.proto.metadata_store_service_pb2",
    "ml_metadata.proto.metadata_store_service_pb2_grpc",
    "ml_metadata.metadata_store",
    "ml_metadata.metadata_store.metadata_store",
)

# Marks the synthetic modules, so a second install() or uninstall() can tell them
# from a real ml-metadata that someone imported meanwhile.
_MARK = "__lineage_compat__"
_API = ("MetadataStore", "ListOptions", "OrderByField", "downgrade_schema")


def installed() -> bool:
    """Whether the alias is in place in this interpreter."""
    return getattr(sys.modules.get("ml_metadata"), _MARK, False)


def _real_ml_metadata_origin() -> str | None:
    """Where a real ml_metadata lives, if one is imported or importable; else None."""
    module = sys.modules.get("ml_metadata")
    if module is not None:
        return getattr(module, "__file__", None) or repr(module)
    spec = importlib.machinery.PathFinder.find_spec("ml_metadata")
    if spec is None:
        return None
    return spec.origin or ", ".join(spec.submodule_search_locations or []) or "ml_metadata"


def _package(name: str, doc: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    # An empty __path__ makes it a package to the import system; its children are
    # found in sys.modules only, never on disk.
    module.__path__ = []
    module.__dict__.update(attributes)
    setattr(module, _MARK, True)
    return module


def install() -> None:
    """Registers the ``ml_metadata`` module names as aliases of lineage's modules.

    Idempotent. Raises:
        FailedPreconditionError: a real ml-metadata is installed or already imported;
            the alias would shadow it.
    """
    if installed():
        return
    origin = _real_ml_metadata_origin()
    if origin is not None:
        raise errors.FailedPreconditionError(
            f"a real ml_metadata is installed ({origin}); lineage.compat.install() does not "
            "shadow it: uninstall ml-metadata, or import lineage directly"
        )
    import lineage
    from lineage import metadata_store, proto
    from lineage.proto import metadata_store_pb2, metadata_store_service_pb2, metadata_store_service_pb2_grpc

    api = {name: getattr(metadata_store, name) for name in _API}
    version = types.ModuleType("ml_metadata.version", "Version of the store behind the alias.")
    version.__version__ = lineage.__version__
    store_package = _package(
        "ml_metadata.metadata_store", "lineage's MetadataStore under ml-metadata's name.",
        metadata_store=metadata_store, **api)
    proto_package = proto
    root = _package(
        "ml_metadata", "lineage, under ml-metadata's module names (see lineage.compat).",
        errors=errors, proto=proto_package, metadata_store=store_package, version=version,
        __version__=lineage.__version__, __all__=list(_API), **api)
    modules = {
        "ml_metadata": root,
        "ml_metadata.errors": errors,
        "ml_metadata.version": version,
        "ml_metadata.proto": proto_package,
        "ml_metadata.proto.metadata_store_pb2": metadata_store_pb2,
        "ml_metadata.proto.metadata_store_service_pb2": metadata_store_service_pb2,
        "ml_metadata.proto.metadata_store_service_pb2_grpc": metadata_store_service_pb2_grpc,
        "ml_metadata.metadata_store": store_package,
        "ml_metadata.metadata_store.metadata_store": metadata_store,
    }
    assert tuple(modules) == MODULE_NAMES
    sys.modules.update(modules)


def uninstall() -> None:
    """Removes the alias (only the names ``install`` registered). Idempotent."""
    if not installed():
        return
    for name in MODULE_NAMES:
        sys.modules.pop(name, None)
