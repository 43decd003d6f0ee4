"""The observation race benchmark wraps the daemon's report fetch and order send; a rename in
the code it measures must break a test, not only the next benchmark run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import jobs.poll_observations as poll_job

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "observation_race.py"


def test_the_race_benchmark_hooks_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("observation_race", BENCH)
    assert spec is not None and spec.loader is not None
    race = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "observation_race", race)  # its dataclasses look it up
    spec.loader.exec_module(race)
    monkeypatch.setattr(poll_job, "fetch_reports", poll_job.fetch_reports)  # restored after
    gateway = SimpleNamespace(place=lambda request: request)
    daemon = SimpleNamespace(trading=SimpleNamespace(trader=SimpleNamespace(gateway=gateway)))
    race._instrument(daemon, [])
    assert poll_job.fetch_reports.__qualname__.endswith("<locals>.fetch")
