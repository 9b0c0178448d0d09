"""Store URLs: one string naming a backend and where its data lives.

``memory://``                           the in-memory graph (MLMD's fake database)
``sqlite:///path/to/metadata.sqlite``   an MLMD SQLite file (``sqlite://`` alone: in memory)
``mysql://user:password@host:port/db``  MLMD's schema in MySQL or MariaDB
``postgresql://user:password@host:port/db``
``neo4j://user:password@host:port/db`` / ``bolt://...``  a Neo4j graph
``grpc://host:port``                    a metadata server (``lineage serve`` or MLMD's), plaintext
``grpcs://host:port?ca=FILE&cert=FILE&key=FILE``  the same over TLS: ``ca`` is the PEM file of the
                                        CA that signed the server (default: the system's), ``cert``
                                        and ``key`` a client certificate for servers that verify clients
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from lineage import errors
from lineage.proto import metadata_store_pb2 as pb

__all__ = ["config_from_url", "client_config_from_url", "is_server_url", "SCHEMES", "SERVER_SCHEMES"]

SCHEMES = ("memory", "sqlite", "mysql", "postgresql", "postgres", "neo4j", "neo4j+s", "bolt", "bolt+s")
#: Schemes that name a metadata server rather than a database.
SERVER_SCHEMES = ("grpc", "grpcs")
#: The port MLMD's metadata_store_server and ``lineage serve`` listen on by default.
DEFAULT_SERVER_PORT = 8080
_TLS_FILES = {"ca": "custom_ca", "cert": "server_cert", "key": "client_key"}


def is_server_url(url: str) -> bool:
    """Whether the URL names a metadata server (grpc:// or grpcs://)."""
    # Only the scheme matters here; a malformed rest is reported by the parser that reads it.
    return isinstance(url, str) and url.partition(":")[0].lower() in SERVER_SCHEMES


def client_config_from_url(url: str) -> pb.MetadataStoreClientConfig:
    """Builds the MetadataStoreClientConfig a grpc:// or grpcs:// URL describes.

    Raises:
        InvalidArgumentError: the URL is malformed, or a TLS file cannot be read.
    """
    try:
        parts = urlsplit(url)
    except ValueError as e:  # an unclosed [IPv6 host
        raise errors.InvalidArgumentError(f"server URL {url!r} is malformed: {e}") from e
    scheme = parts.scheme.lower()
    if scheme not in SERVER_SCHEMES:
        raise errors.InvalidArgumentError(f"server URL {url!r} must start with grpc:// or grpcs://")
    try:
        port = parts.port or DEFAULT_SERVER_PORT
    except ValueError as e:
        raise errors.InvalidArgumentError(f"server URL {url!r} has an invalid port") from e
    config = pb.MetadataStoreClientConfig(host=parts.hostname or "127.0.0.1", port=port)
    query = parse_qs(parts.query)
    unknown = sorted(set(query) - set(_TLS_FILES))
    if unknown:
        raise errors.InvalidArgumentError(
            f"server URL option(s) {', '.join(unknown)} unknown; grpcs:// takes ca, cert and key")
    if scheme == "grpc":
        if query:
            raise errors.InvalidArgumentError("ca, cert and key are TLS options: use grpcs://")
        return config
    config.ssl_config.SetInParent()
    for option, field in _TLS_FILES.items():
        if option in query:
            path = query[option][0]
            try:
                with open(path, encoding="ascii") as f:
                    setattr(config.ssl_config, field, f.read())
            except (OSError, UnicodeDecodeError) as e:
                raise errors.InvalidArgumentError(f"grpcs:// option {option}={path!r} cannot be read: {e}") from e
    if config.ssl_config.HasField("server_cert") != config.ssl_config.HasField("client_key"):
        raise errors.InvalidArgumentError("grpcs:// options cert and key go together")
    return config


def config_from_url(url: str) -> pb.ConnectionConfig:
    """Builds the ConnectionConfig a store URL describes.

    Raises:
        InvalidArgumentError: the URL is malformed or its scheme is unknown.
    """
    if not isinstance(url, str):
        raise errors.InvalidArgumentError(f"a store URL must be a string; got {type(url).__name__}")
    try:
        return _config_from_url(url)
    except ValueError as e:
        # urllib refuses a port that is not a number below 65536, or an unclosed [IPv6 host.
        raise errors.InvalidArgumentError(f"store URL {url!r} is malformed: {e}") from e


def _config_from_url(url: str) -> pb.ConnectionConfig:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    config = pb.ConnectionConfig()
    if scheme == "memory":
        config.fake_database.SetInParent()
    elif scheme == "sqlite":
        if parts.netloc:
            raise errors.InvalidArgumentError(
                f"sqlite URL {url!r} must look like sqlite:///relative/path or sqlite:////absolute/path"
            )
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        config.sqlite.filename_uri = path
        mode = parse_qs(parts.query).get("mode", ["rwc"])[0]
        modes = {
            "ro": pb.SqliteMetadataSourceConfig.READONLY,
            "rw": pb.SqliteMetadataSourceConfig.READWRITE,
            "rwc": pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE,
        }
        if mode not in modes:
            raise errors.InvalidArgumentError(f"sqlite URL mode {mode!r} must be one of ro, rw, rwc")
        config.sqlite.connection_mode = modes[mode]
    elif scheme == "mysql":
        mysql = config.mysql
        mysql.host = parts.hostname or "127.0.0.1"
        mysql.port = parts.port or 3306
        mysql.database = parts.path.lstrip("/") or "mlmd"
        if parts.username:
            mysql.user = unquote(parts.username)
        if parts.password:
            mysql.password = unquote(parts.password)
        socket = parse_qs(parts.query).get("unix_socket")
        if socket:
            mysql.socket = socket[0]
    elif scheme in ("postgresql", "postgres"):
        postgres = config.postgresql
        postgres.host = parts.hostname or "127.0.0.1"
        postgres.port = str(parts.port or 5432)
        postgres.dbname = parts.path.lstrip("/") or "mlmd"
        if parts.username:
            postgres.user = unquote(parts.username)
        if parts.password:
            postgres.password = unquote(parts.password)
    elif scheme in ("neo4j", "neo4j+s", "bolt", "bolt+s"):
        neo4j = config.neo4j
        host = parts.hostname or "127.0.0.1"
        port = f":{parts.port}" if parts.port else ""
        neo4j.uri = f"{scheme}://{host}{port}"
        if parts.username:
            neo4j.user = unquote(parts.username)
        if parts.password:
            neo4j.password = unquote(parts.password)
        if parts.path.strip("/"):
            neo4j.database = parts.path.strip("/")
    elif scheme in SERVER_SCHEMES:
        raise errors.InvalidArgumentError(
            f"{url!r} names a metadata server, not a database: open it as a client (lineage.connect)")
    else:
        raise errors.InvalidArgumentError(
            f"store URL {url!r} has an unknown scheme {parts.scheme!r}; use one of "
            + ", ".join(f"{s}://" for s in SCHEMES + SERVER_SCHEMES)
        )
    return config
