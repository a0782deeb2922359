"""vertexd: Vertex AI custom training on your own machines."""

__version__ = "0.1.0"
