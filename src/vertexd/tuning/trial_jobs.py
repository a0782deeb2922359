"""What tuning needs from the rest of vertexd: run a trial as a CustomJob, stop it, and say
when one has ended. The service implements it (service/trial_jobs.py); tuning imports
neither the service nor the scheduler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from vertexd.store.records import TrialLink


class TrialJobs(Protocol):
    def start(self, parent: str, job_id: str, custom_job: dict[str, Any], trial: TrialLink) -> None:
        """Queue the trial's CustomJob (wire form), scheduled like any other; raises ApiError
        when it cannot run. Any thread."""
        ...

    def stop(self, job_name: str) -> None:
        """Ask for a trial's CustomJob to stop; nothing when it has ended. Any thread."""
        ...

    def on_end(self, callback: Callable[[], None]) -> None:
        """Call `callback()` (on the event loop, briefly) whenever a trial's CustomJob ends."""
        ...
