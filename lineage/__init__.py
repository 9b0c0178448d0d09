"""lineage: an ML Metadata store on a graph, a drop-in for ml-metadata.

``import lineage as mlmd`` gives the names ``ml_metadata`` users know:
``MetadataStore``, ``ListOptions``, ``OrderByField``, ``errors``, ``proto``,
plus ``connect(url)`` to open a store from a URL such as ``memory://`` or
``sqlite:///metadata.sqlite``.
"""

from __future__ import annotations

from lineage import errors, proto
from lineage.metadata_store import (
    ExtraOptions,
    ListOptions,
    MetadataStore,
    OrderByField,
    downgrade_schema,
)
from lineage.urls import client_config_from_url, config_from_url, is_server_url

__all__ = [
    "MetadataStore",
    "ListOptions",
    "OrderByField",
    "ExtraOptions",
    "downgrade_schema",
    "connect",
    "config_from_url",
    "errors",
    "proto",
    "__version__",
]

__version__ = "0.1.0"


def connect(url: str = "memory://", *, enable_upgrade_migration: bool = False) -> MetadataStore:
    """Opens the store a URL names.

    Args:
        url: ``memory://``, ``sqlite:///path``, ``mysql://...``, ``postgresql://...``,
            ``neo4j://...`` or ``bolt://...``; or a metadata server: ``grpc://host:port``,
            ``grpcs://host:port?ca=FILE`` (see ``lineage.urls``).
        enable_upgrade_migration: Upgrade an older MLMD schema in place.

    Returns:
        A MetadataStore over that backend, or a client of that server.

    Raises:
        InvalidArgumentError: the URL is malformed.
        UnimplementedError, FailedPreconditionError, UnavailableError: the backend
            cannot be opened.
    """
    if is_server_url(url):
        return MetadataStore(client_config_from_url(url), enable_upgrade_migration=enable_upgrade_migration)
    return MetadataStore(config_from_url(url), enable_upgrade_migration=enable_upgrade_migration)
