"""The gs:// shim that replicas get in local-buckets mode (see vertexd_gs_shim.py)."""
