"""Per-component health: last run, last success, failures; logs on transitions only."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class JobHealth:
    name: str
    runs: int = 0
    failures_in_row: int = 0
    last_run: dt.datetime | None = None
    last_success: dt.datetime | None = None
    last_error: str | None = None
    next_run: dt.datetime | None = None

    def as_dict(self) -> dict[str, object]:
        def iso(t: dt.datetime | None) -> str | None:
            return None if t is None else t.isoformat(timespec="seconds")

        return {
            "runs": self.runs,
            "failures_in_row": self.failures_in_row,
            "last_run": iso(self.last_run),
            "last_success": iso(self.last_success),
            "last_error": self.last_error,
            "next_run": iso(self.next_run),
        }


@dataclass(slots=True)
class Health:
    jobs: dict[str, JobHealth] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # component -> why it is degraded

    def job(self, name: str) -> JobHealth:
        return self.jobs.setdefault(name, JobHealth(name))

    def job_succeeded(self, name: str) -> None:
        job = self.job(name)
        now = dt.datetime.now(dt.UTC)
        if job.failures_in_row:
            logger.info("job %s recovered after %d failures", name, job.failures_in_row)
        job.runs += 1
        job.last_run = job.last_success = now
        job.failures_in_row = 0
        job.last_error = None

    def job_failed(self, name: str, error: str) -> None:
        job = self.job(name)
        if not job.failures_in_row:
            logger.error("job %s failing: %s", name, error)
        job.runs += 1
        job.last_run = dt.datetime.now(dt.UTC)
        job.failures_in_row += 1
        job.last_error = error

    def note(self, component: str, why: str | None) -> None:
        """Set (or clear with None) a degradation note, logging only when it changes."""
        old = self.notes.get(component)
        if why == old:
            return
        if why is None:
            self.notes.pop(component, None)
            logger.info("%s ok again", component)
        else:
            self.notes[component] = why
            logger.warning("%s degraded: %s", component, why)
