"""A replay through the closed segments' parse-once copies (tape/cache.py) decides exactly as one
reading the tape: the run that writes the copies and the run that reads them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.replay.test_parity import box, recorded
from weatheredge.config import Settings
from weatheredge.replay.driver import Replay, tape_records
from weatheredge.replay.parity import differences, edge_rows, trade_rows
from weatheredge.replay.settings import replay_settings
from weatheredge.tape.cache import cache_path
from weatheredge.tape.reader import segments

__all__ = ["box", "recorded"]


async def test_a_replay_from_the_copies_decides_as_one_from_the_tape(
    recorded: Path, tmp_path: Path
) -> None:
    def settings(db: str) -> Settings:
        return replay_settings(str(recorded / "paper.yaml"), {}, str(tmp_path / db))

    old = tmp_path / "old-tape"  # the same segments under a past day: closed, so cached
    for segment in segments(recorded / "tape"):
        (old / "2020-01-01").mkdir(parents=True, exist_ok=True)
        shutil.copy(segment, old / "2020-01-01" / segment.name)
    plain = await Replay(settings("plain.db")).run(tape_records(old, cache=False))
    assert not any(cache_path(s).exists() for s in segments(old))
    writing = await Replay(settings("writing.db")).run(tape_records(old))
    assert all(cache_path(s).exists() for s in segments(old))
    cached = await Replay(settings("cached.db")).run(tape_records(old))
    assert differences(plain.taped, plain.decisions) == []
    for run in (writing, cached):
        assert edge_rows(run.decisions) == edge_rows(plain.decisions)
        assert trade_rows(run.decisions) == trade_rows(plain.decisions)
        assert [d.trigger for d in run.decisions] == [d.trigger for d in plain.decisions]
        assert run.counts == plain.counts and run.span_ns == plain.span_ns
        assert differences(run.taped, run.decisions) == []
