"""The slow jobs: which run, how often, and the APScheduler that runs them on the daemon's loop."""

from __future__ import annotations

import datetime as dt
import logging
import pkgutil
from dataclasses import dataclass
from typing import Protocol

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from weatheredge.config import LoadedConfig
from weatheredge.context import JobContext
from weatheredge.health import Health


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    func: str  # textual reference, resolved at startup so a typo fails fast
    interval_s: float
    misfire_grace_s: int
    run_at_start: bool


def job_specs(loaded: LoadedConfig) -> list[JobSpec]:
    jobs = loaded.settings.jobs
    specs = [
        JobSpec("discover_markets", "jobs.discover_markets:run", jobs.discovery_interval, 30, True),
        # First run is requested by discovery as soon as it has events to price.
        JobSpec(
            "refresh_forecasts", "jobs.refresh_forecasts:run", jobs.forecast_interval, 120, False
        ),
    ]
    model = loaded.settings.model  # issue 4: observations, settlement, scoring, calibration
    specs += [
        JobSpec(
            "poll_observations", "jobs.poll_observations:run", model.observation_tick, 10, True
        ),
        JobSpec("snapshot_market", "jobs.snapshot_market:run", model.snapshot_interval, 30, True),
        JobSpec("settle_events", "jobs.settle_events:run", model.settle_interval, 300, True),
        JobSpec("refit_calibration", "jobs.refit_calibration:run", model.refit_interval, 600, True),
    ]
    # REST polling (websocket disabled, or down too long) is the feed's own loop (issue 3).
    return specs


class _SchedulerTracebacks(logging.Filter):
    """APScheduler logs every failed run with its (chained) traceback at ERROR; our job
    listener logs one worded line per transition instead, and the traceback at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.exc_info is None or record.levelno < logging.ERROR


class JobListener(Protocol):
    """What the scheduler tells the daemon: a run submitted, a run finished."""

    def on_job_submitted(self, event: JobExecutionEvent) -> None: ...

    def on_job_event(self, event: JobExecutionEvent) -> None: ...


def build_scheduler(
    loaded: LoadedConfig, ctx: JobContext, health: Health, listener: JobListener
) -> AsyncIOScheduler:
    """The scheduler with every job added, not started: ``start_scheduler`` starts it once the
    services it runs against are all built."""
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    executors = logging.getLogger("apscheduler.executors.default")
    if not any(isinstance(f, _SchedulerTracebacks) for f in executors.filters):
        executors.addFilter(_SchedulerTracebacks())
    for spec in job_specs(loaded):
        pkgutil.resolve_name(spec.func)
        scheduler.add_job(
            spec.func,
            "interval",
            seconds=spec.interval_s,
            args=[ctx],
            id=spec.name,
            name=spec.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=spec.misfire_grace_s,
            next_run_time=None,
        )
        health.job(spec.name)
    scheduler.add_listener(listener.on_job_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.add_listener(listener.on_job_submitted, EVENT_JOB_SUBMITTED)
    return scheduler


def start_scheduler(scheduler: AsyncIOScheduler, loaded: LoadedConfig) -> None:
    scheduler.start()
    now = dt.datetime.now(dt.UTC)
    for spec in job_specs(loaded):
        first = now if spec.run_at_start else now + dt.timedelta(seconds=spec.interval_s)
        scheduler.modify_job(spec.name, next_run_time=first)
