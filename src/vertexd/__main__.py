"""`python -m vertexd`: the same as the `vertexd` command."""

from vertexd.cli.entry import run

if __name__ == "__main__":
    run()
