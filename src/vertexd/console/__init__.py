"""The web console: static pages served at `/`, plus a few read-only helpers under
`/console/api/` for what the v1 API does not say (the executor catalogue, machine types,
files under an output URI, the projects in use). Every resource is read and changed through
the v1 API, as any client does."""

from vertexd.console.routes import install_console

__all__ = ["install_console"]
