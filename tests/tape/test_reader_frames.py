"""The replay's reading mode: text frames as FrameRecord structs (no dict per frame), everything
else exactly as the plain reader gives it, on tapes our writer made and on lines it never
writes (another key order, binary frames, bad lines, CR line ends, a torn tail)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import zstandard

from weatheredge.tape import Recorder
from weatheredge.tape.reader import FrameRecord, read_tape


def _as_dict(record: Any) -> dict[str, Any]:
    if type(record) is FrameRecord:
        return {"kind": record.kind, "wall_ns": record.wall_ns, "mono_ns": record.mono_ns,
                "raw": record.raw}  # fmt: skip
    return record


def _same_records(path: Path) -> tuple[list[Any], list[str]]:
    """The fast reading, checked against the plain one; returns it with its warnings."""
    plain_warnings: list[str] = []
    fast_warnings: list[str] = []
    plain = list(read_tape(path, plain_warnings.append))
    fast = list(read_tape(path, fast_warnings.append, frames=True))
    assert len(fast) == len(plain)
    for got, want in zip(fast, plain, strict=True):
        if type(got) is FrameRecord:
            assert want["kind"] == "frame"
            assert _as_dict(got) == {k: want[k] for k in ("kind", "wall_ns", "mono_ns", "raw")}
        else:
            assert got == want
    assert fast_warnings == plain_warnings
    return fast, fast_warnings


def test_text_frames_come_as_structs_and_the_rest_as_the_plain_reader_gives_it(
    tmp_path: Path,
) -> None:
    rec = Recorder(tmp_path).start()
    read_at = time.perf_counter_ns()
    rec.frame(3, 2, '[{"event_type":"book","note":"a \\"kind\\":\\"frame\\""}]', read_at)
    rec.frame(0, 1, b"\xff\x00binary", read_at + 1)
    answer = {"source": "gamma", "method": "GET", "url": "u", "status": 200}
    for _ in range(2):  # the second is stored as body_same
        rec.record("http", {**answer, "body": b'{"kind":"frame"}'})
    rec.close()
    fast, warnings = _same_records(tmp_path)
    kinds = [(type(r).__name__, _as_dict(r)["kind"]) for r in fast]
    assert kinds == [("dict", "segment"), ("dict", "session"), ("FrameRecord", "frame"),
                     ("dict", "frame"), ("dict", "http"), ("dict", "http"),
                     ("dict", "session_end")]  # fmt: skip
    assert fast[2].raw.endswith('\\"kind\\":\\"frame\\""}]') and fast[2].mono_ns == read_at
    assert fast[5]["body"] == '{"kind":"frame"}'  # a repeated body is carried forward
    assert warnings == []


def test_lines_our_writer_never_writes_read_as_before(tmp_path: Path) -> None:
    day = tmp_path / "2026-11-01"
    day.mkdir()
    lines = [
        {"wall_ns": 1, "mono_ns": 1, "kind": "frame", "shard": 0, "epoch": 1, "raw": "{}"},
        {"raw": "[]", "kind": "frame", "wall_ns": 2, "mono_ns": 2},  # another key order
        {"wall_ns": 3, "mono_ns": 3, "kind": "frame", "raw_b64": "AA=="},
        {"wall_ns": "4", "mono_ns": 4, "kind": "frame", "raw": "{}"},  # a string clock
        {"wall_ns": 5, "mono_ns": 5, "data": {"kind": "frame"}, "kind": "edge"},
    ]
    text = "\n".join(json.dumps(x, separators=(",", ":")) for x in lines)
    text += '\n{"wall_ns":6,"kind":"frame","raw":"x"\n[1,2]\n\n'  # a bad line, not an object
    text += '{"wall_ns":7,"mono_ns":7,"kind":"frame","raw":"{}"}\r\n'  # CR LF in a later flush
    zc = zstandard.ZstdCompressor()
    head, tail = text.rsplit("\n{", 1)
    data = zc.compress((head + "\n").encode()) + zc.compress(("{" + tail).encode())
    (day / "00.jsonl.zst").write_bytes(data + zc.compress(b'{"kind":"x"}\n')[:-3])  # torn
    fast, warnings = _same_records(tmp_path)
    assert [type(r) is FrameRecord for r in fast] == [True, True, False, False, False, True]
    assert [_as_dict(r)["wall_ns"] for r in fast] == [1, 2, 3, "4", 5, 7]
    assert len(warnings) == 2 and "bad line 5" in warnings[0] and "torn tail" in warnings[1]
