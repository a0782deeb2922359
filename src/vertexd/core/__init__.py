"""Neutral pieces every layer shares and that import nothing of vertexd's own: job states,
google.rpc codes, the job-log line format, and the errors clients see."""
