"""`python -m vertexd.engine FD PARENT_PID`: started by the server (engine/link.py) only."""

from vertexd.engine.process import main

main()
