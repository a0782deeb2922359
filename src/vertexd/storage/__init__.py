"""Storage URIs: gs:// (local buckets or Cloud Storage), file:// and plain paths."""

from vertexd.storage.storage import Mode, Storage
from vertexd.storage.uris import SUPPORTED, check_uri, split_uri

__all__ = ["SUPPORTED", "Mode", "Storage", "check_uri", "split_uri"]
