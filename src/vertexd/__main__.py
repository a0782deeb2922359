"""`python -m vertexd`: the same as the `vertexd` command."""

from vertexd.cli.main import app

if __name__ == "__main__":
    app(prog_name="vertexd")
