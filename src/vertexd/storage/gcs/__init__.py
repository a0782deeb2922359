"""The local buckets as Cloud Storage objects: names, metadata, listing, uploads."""

from vertexd.storage.gcs.objects import ObjectStore

__all__ = ["ObjectStore"]
