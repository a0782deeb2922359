"""`python -m vertexd.engine REQUESTS_FD REPLIES_FD PARENT_PID`: started by the server only
(engine/link.py)."""

from vertexd.engine.process import main

main()
