"""Generated protobuf modules (package ``ml_metadata``); regenerate with scripts/gen-protos."""

from lineage.proto import metadata_store_pb2, metadata_store_service_pb2

# MLMD exposes the message classes on its proto package; so do we.
from lineage.proto.metadata_store_pb2 import *  # noqa: F401,F403
from lineage.proto.metadata_store_service_pb2 import *  # noqa: F401,F403

__all__ = ["metadata_store_pb2", "metadata_store_service_pb2"]
