"""The engine: the process that runs jobs (the scheduler and its supervisors, the tuning
controller, the pipeline follower), apart from the API's process, so that what jobs cost
in Python never delays an API answer. The store is the truth both read; the API asks the
engine to look again or to stop something through `link.py`."""
