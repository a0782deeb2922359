"""The Cloud Storage JSON API over the local buckets, on vertexd's own port."""

from vertexd.api.gcs.routes import install_gcs_api

__all__ = ["install_gcs_api"]
