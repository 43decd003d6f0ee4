"""The replay's parse-once copy of a closed segment (tape/cache.py): the records a replay reads
through it are the tape's, warnings included, whether the copy is being written, read, stale,
corrupt or not allowed (the current hour's segment)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import zstandard

from weatheredge.replay.driver import tape_records
from weatheredge.tape.cache import cache_path, closed
from weatheredge.tape.writer import enforce_retention

_ZC = zstandard.ZstdCompressor()


def _lines(*records: dict[str, Any]) -> bytes:
    return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()


def _frame(n: int) -> dict[str, Any]:
    raw = json.dumps({"event_type": "price_change", "market": "0x1", "n": n, "s": 'q"\\'})
    return {"wall_ns": n, "mono_ns": 10 + n, "kind": "frame", "shard": 0, "epoch": 1, "raw": raw}


def _segment(root: Path, day: str = "2026-11-01", hour: str = "00") -> Path:
    """Frames, a repeated HTTP body, a bad line, a binary frame, a torn tail."""
    (root / day).mkdir(parents=True, exist_ok=True)
    http = {"wall_ns": 5, "mono_ns": 5, "kind": "http", "source": "gamma", "method": "GET",
            "url": "u", "status": 200, "body": '{"a": 1}'}  # fmt: skip
    chunks = [
        _lines(_frame(1), _frame(2), http),
        _lines({**http, "wall_ns": 6, "body_same": True}) + b'{"wall_ns":7,"kind"\n',
        _lines({"wall_ns": 8, "mono_ns": 8, "kind": "frame", "raw_b64": "AA=="}, _frame(9)),
    ]
    data = b"".join(_ZC.compress(c) for c in chunks) + _ZC.compress(_lines(_frame(10)))[:-4]
    path = root / day / f"{hour}.jsonl.zst"
    path.write_bytes(data)
    return path


def _read(root: Path, cache: bool) -> tuple[list[Any], list[str]]:
    warnings: list[str] = []
    return list(tape_records(root, warnings.append, cache=cache)), warnings


def test_a_closed_segment_is_read_the_same_from_the_tape_while_writing_and_from_the_copy(
    tmp_path: Path,
) -> None:
    segment = _segment(tmp_path)
    want = _read(tmp_path, cache=False)
    assert len(want[0]) == 6 and len(want[1]) == 2  # a bad line and the torn tail
    assert want[0][3]["body"] == '{"a": 1}'  # the repeated body, carried forward
    assert not cache_path(segment).exists()
    assert _read(tmp_path, cache=True) == want  # the first replay: written on the way
    assert cache_path(segment).exists()
    assert _read(tmp_path, cache=True) == want  # the next: from the copy
    assert [p.name for p in segment.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_changed_segment_is_read_from_the_tape_and_its_copy_remade(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    _read(tmp_path, cache=True)
    before = cache_path(segment).read_bytes()
    with open(segment, "ab") as f:  # the torn tail cut, a frame added (a repair, a rewrite)
        f.truncate(len(segment.read_bytes()) - 10)
        f.write(_ZC.compress(_lines(_frame(11))))
    want = _read(tmp_path, cache=False)
    assert _read(tmp_path, cache=True) == want
    assert cache_path(segment).read_bytes() != before
    assert _read(tmp_path, cache=True) == want


def test_a_corrupt_copy_is_never_believed(tmp_path: Path) -> None:
    segment = _segment(tmp_path)
    want = _read(tmp_path, cache=False)
    _read(tmp_path, cache=True)
    copy = cache_path(segment)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte in the records
    copy.write_bytes(bytes(data))
    os.utime(copy)
    assert _read(tmp_path, cache=True) == want
    copy.write_bytes(b"not a cache")
    assert _read(tmp_path, cache=True) == want


def test_the_current_hours_segment_gets_no_copy(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    segment = _segment(tmp_path, now.strftime("%Y-%m-%d"), now.strftime("%H"))
    assert not closed(segment)
    assert _read(tmp_path, cache=True) == _read(tmp_path, cache=False)
    assert not cache_path(segment).exists()
    hour = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
    assert closed(_segment(tmp_path), now=hour + 3600 + 601)
    assert not closed(_segment(tmp_path), now=hour + 3600 + 60)  # the writer may be closing it


def test_retention_deletes_a_segments_copy_with_it(tmp_path: Path) -> None:
    old, kept = _segment(tmp_path, hour="00"), _segment(tmp_path, hour="05")
    _read(tmp_path, cache=True)
    assert cache_path(old).exists() and cache_path(kept).exists()
    now = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC).timestamp()
    assert enforce_retention(tmp_path, 4 / 24, 10**9, now=now) == 1  # 00:00-01:00 is too old
    assert not old.exists() and not cache_path(old).exists()
    assert enforce_retention(tmp_path, 365, 1, keep=None, now=now) == 1  # over the disk cap
    assert list(tmp_path.iterdir()) == []  # the day directory went with its last files


def test_the_disk_cap_counts_the_replay_copies(tmp_path: Path) -> None:
    old, new = _segment(tmp_path, hour="00"), _segment(tmp_path, hour="05")
    _read(tmp_path, cache=True)
    segments_only = old.stat().st_size + new.stat().st_size
    assert cache_path(old).stat().st_size > 0
    now = dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC).timestamp()
    # the segments alone fit the cap; with their copies they do not: the oldest goes
    assert enforce_retention(tmp_path, 365, segments_only, now=now) == 1
    assert not old.exists() and not cache_path(old).exists() and new.exists()
