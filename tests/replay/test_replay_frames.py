"""The replay's frame loop (frames read as structs, dispatched straight to the engine) decides
exactly as the record-by-record loop on dicts: same decisions, same counts, same span."""

from __future__ import annotations

from pathlib import Path

from tests.replay.test_parity import box, recorded
from weatheredge.config import Settings
from weatheredge.replay.driver import Replay, tape_records
from weatheredge.replay.parity import differences, edge_rows, trade_rows
from weatheredge.replay.settings import replay_settings
from weatheredge.tape.reader import FrameRecord, read_tape

__all__ = ["box", "recorded"]


async def test_the_frame_loop_replays_as_the_record_loop(recorded: Path) -> None:
    def settings(db: str) -> Settings:
        return replay_settings(str(recorded / "paper.yaml"), {}, str(recorded / db))

    assert any(type(r) is FrameRecord for r in tape_records(recorded / "tape"))
    fast = await Replay(settings("fast.db")).run(tape_records(recorded / "tape"))
    plain = await Replay(settings("plain.db")).run(read_tape(recorded / "tape"))
    assert differences(fast.taped, fast.decisions) == []
    assert edge_rows(fast.decisions) == edge_rows(plain.decisions)
    assert trade_rows(fast.decisions) == trade_rows(plain.decisions)
    assert [d.trigger for d in fast.decisions] == [d.trigger for d in plain.decisions]
    assert fast.counts == plain.counts and fast.span_ns == plain.span_ns
