"""The daemon's resources are released newest first, each on its own: a release that fails is
logged and never keeps the ones acquired before it from being released."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import pytest

from tests.conftest import running_daemon
from weatheredge.lifecycle import release
from weatheredge.notify import Notifier
from weatheredge.sandbox import Sandbox

STOPPED = re.compile(r"^(?:stopped (.+)|stopping (.+) failed: .*)$")


def _releases(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        if record.name == "weatheredge.lifecycle" and (m := STOPPED.match(record.getMessage())):
            out.append(m.group(1) or f"{m.group(2)} (failed)")
    return out


async def test_release_runs_newest_first_and_a_failure_skips_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []

    def step(name: str, fail: bool = False):
        async def run() -> None:
            ran.append(name)
            if fail:
                raise OSError("disk gone")

        return run

    caplog.set_level(logging.DEBUG, logger="weatheredge.lifecycle")
    async with contextlib.AsyncExitStack() as stack:
        release(stack, "first", step("first"))
        release(stack, "second", step("second", fail=True))
        release(stack, "third", step("third"))
    assert ran == ["third", "second", "first"]
    assert _releases(caplog) == ["third", "second (failed)", "first"]


async def test_daemon_releases_in_reverse_order_of_acquisition(
    sandbox: Sandbox, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="weatheredge.lifecycle")
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, _base):
        assert _releases(caplog) == []
    assert _releases(caplog) == [
        "trading",
        "scheduler",
        "engine",
        "market feed",
        "notifier",
        "store",
        "http session",
        "tape",
    ]
    assert daemon.running.session.closed


async def test_a_failing_release_does_not_skip_the_others(
    sandbox: Sandbox, tmp_path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Notifier, grace_s: float = 5.0) -> None:
        raise RuntimeError("outbox stuck")

    monkeypatch.setattr(Notifier, "close", broken)
    caplog.set_level(logging.DEBUG, logger="weatheredge.lifecycle")
    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, _base):
        outbox = [t for t in asyncio.all_tasks() if t.get_name() == "notifier"]
    releases = _releases(caplog)
    assert releases[releases.index("notifier (failed)") :] == [
        "notifier (failed)",
        "store",
        "http session",
        "tape",
    ]
    assert daemon.running.session.closed
    assert outbox and all(t.done() for t in outbox)  # the outbox task is cancelled anyway
