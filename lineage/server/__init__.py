"""The gRPC metadata server: ``ml_metadata.MetadataStoreService`` over a store,
with the lineage extension service ``lineage.v1.LineageService`` on the same port.

A drop-in for MLMD's ``metadata_store_server``: MLMD clients (and
``lineage.MetadataStore`` with a ``MetadataStoreClientConfig``) talk to it
unchanged. ``main`` is the ``lineage serve`` command; ``serve`` starts a
server in the calling process and returns its handle.
"""

from __future__ import annotations

from lineage.server.app import (
    DEFAULT_GRACE_SECONDS,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_WORKERS,
    ServerHandle,
    serve,
    server_credentials,
)
from lineage.server.command import build_parser, load_server_config, main
from lineage.server.servicer import (
    LINEAGE_RPC_NAMES,
    LINEAGE_SERVICE_NAME,
    RPC_NAMES,
    SERVICE_NAME,
    LineageServicer,
    MetadataStoreServicer,
)

__all__ = [
    "main",
    "serve",
    "ServerHandle",
    "MetadataStoreServicer",
    "LineageServicer",
    "server_credentials",
    "load_server_config",
    "build_parser",
    "RPC_NAMES",
    "SERVICE_NAME",
    "LINEAGE_RPC_NAMES",
    "LINEAGE_SERVICE_NAME",
    "DEFAULT_WORKERS",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "DEFAULT_GRACE_SECONDS",
]
