"""The recorder and reader on real files: round trip, drops, rotation, retention, torn tails."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import pytest

from weatheredge.config import parse_config
from weatheredge.tape import Recorder, tape_dir
from weatheredge.tape.info import render, scan
from weatheredge.tape.reader import read_tape, repair_tail, segments
from weatheredge.tape.records import scrub_url
from weatheredge.tape.writer import enforce_retention

HOUR_NS = 3600 * 10**9
T0 = int(dt.datetime(2026, 11, 20, 22, 10, tzinfo=dt.UTC).timestamp()) * 10**9


def _kinds(path: Path) -> list[str]:
    return [r["kind"] for r in read_tape(path)]


def test_records_round_trip_as_received(tmp_path: Path) -> None:
    rec = Recorder(tmp_path).start()
    read_at = time.perf_counter_ns()  # the transport's reading, before parsing
    rec.frame(3, 2, '{"event_type":"book","asset_id":"1"}', read_at)
    rec.frame(0, 1, b"\xff\x00binary", read_at + 1)
    rec.record("http", {"source": "gamma", "method": "GET", "url": "u", "status": 200,
                        "body": b'[{"id":"1"}]'})  # fmt: skip
    rec.record("http", {"source": "gamma", "method": "GET", "url": "u", "status": 200,
                        "body": b'[{"id":"1"}]'})  # fmt: skip
    rec.close()
    records = list(read_tape(tmp_path))
    assert [r["kind"] for r in records] == [
        "segment", "session", "frame", "frame", "http", "http", "session_end"
    ]  # fmt: skip
    text, binary = records[2], records[3]
    assert text["raw"] == '{"event_type":"book","asset_id":"1"}'
    assert (text["shard"], text["epoch"], text["mono_ns"]) == (3, 2, read_at)
    assert 0 <= time.time_ns() - text["wall_ns"] < 60 * 10**9
    assert binary["raw_b64"] == "/wBiaW5hcnk="
    # A body repeated within a segment is stored once; the reader carries it forward.
    assert records[4]["body"] == records[5]["body"] == '[{"id":"1"}]'
    stored = list(read_tape(tmp_path, resolve=False))
    assert "body" not in stored[5] and stored[5]["body_same"] is True


def test_record_never_blocks_and_counts_what_a_slow_writer_drops(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, queue_size=100)  # the writer is not running: it never catches up
    for i in range(1000):
        rec.frame(0, 1, f'{{"n":{i}}}', i)
    assert rec.dropped == 900 and rec.status()["queued"] == 100
    assert "weatheredge_tape_dropped_total 900" in rec.metrics_text()
    rec.flush()  # the writer catches up: the loss is on the tape itself
    lost = [r for r in read_tape(tmp_path) if r["kind"] == "tape_dropped"]
    assert [r["count"] for r in lost] == [900]
    assert scan(tmp_path).dropped == 900


def test_a_failing_disk_loses_records_as_counted_drops(tmp_path: Path) -> None:
    (tmp_path / "2026-11-20").write_text("not a directory")  # the segment cannot be created
    rec = Recorder(tmp_path)
    for i in range(5):
        rec.record_at(T0 + i, i, "frame", (0, 1, f"lost {i}"))
    with pytest.raises(OSError):
        rec.flush()
    # What was taken for the failed write is lost and counted; the rest waits in the queue.
    assert rec.dropped == 1 and rec.status()["queued"] == 4
    (tmp_path / "2026-11-20").unlink()
    rec.record_at(T0 + 10, 10, "frame", (0, 1, "kept"))
    rec.flush()
    records = list(read_tape(tmp_path))
    assert [r.get("count") for r in records if r["kind"] == "tape_dropped"] == [1]
    frames = [r["raw"] for r in records if r["kind"] == "frame"]
    assert frames == ["lost 1", "lost 2", "lost 3", "lost 4", "kept"]


def test_hourly_segments_in_utc_and_a_later_process_never_appends(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    for i in range(4):  # 22:10, 23:10, 00:10 (next day), 01:10
        rec.record_at(T0 + i * HOUR_NS, i, "frame", (0, 1, f"f{i}"))
    rec.flush()
    rec.close()
    names = [str(p.relative_to(tmp_path)) for p in segments(tmp_path)]
    assert names == [
        "2026-11-20/22.jsonl.zst", "2026-11-20/23.jsonl.zst",
        "2026-11-21/00.jsonl.zst", "2026-11-21/01.jsonl.zst",
    ]  # fmt: skip
    again = Recorder(tmp_path)
    again.record_at(T0 + 3 * HOUR_NS + 10**9, 9, "frame", (0, 1, "later"))
    again.flush()
    assert (tmp_path / "2026-11-21" / "01.1.jsonl.zst").exists()
    raws = [r["raw"] for r in read_tape(tmp_path) if r["kind"] == "frame"]
    assert raws == ["f0", "f1", "f2", "f3", "later"]


def test_keep_days_then_disk_cap_delete_oldest_first(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    for i in range(6):
        rec.record_at(T0 + i * HOUR_NS, i, "frame", (0, 1, os.urandom(3000).hex()))
    rec.flush()
    rec.close()
    files = segments(tmp_path)
    assert len(files) == 6
    # keep_days (4 h, at 06:00): the hours ending before 02:00 go (22, 23 and 00 h).
    now = (T0 // HOUR_NS + 6) * 3600 + 2 * 3600
    assert enforce_retention(tmp_path, 4 / 24, 10**9, now=now) == 3
    assert segments(tmp_path) == files[3:]
    # Disk cap: the oldest go until it fits, but never the segment being written (``keep``).
    size = files[-1].stat().st_size
    assert enforce_retention(tmp_path, 365, size + 10, keep=files[3], now=now) == 2
    assert segments(tmp_path) == [files[3]]


def _torn(tmp_path: Path) -> Path:
    rec = Recorder(tmp_path)
    rec.record_at(T0, 1, "frame", (0, 1, "complete"))
    rec.flush()
    rec.record_at(T0 + 10**9, 2, "frame", (0, 1, "x" * 5000))
    rec.flush()
    rec.close()
    [seg] = segments(tmp_path)
    data = seg.read_bytes()
    seg.write_bytes(data[: len(data) - 40])  # a kill in the middle of the last write
    return seg


def test_a_torn_tail_is_skipped_with_a_warning_and_repaired(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seg = _torn(tmp_path)
    warnings: list[str] = []
    assert [r.get("raw") for r in read_tape(tmp_path, warnings.append)] == [None, "complete"]
    assert len(warnings) == 1 and "torn tail skipped" in warnings[0]
    out = render(scan(tmp_path))
    assert "torn tails / bad lines: 1" in out and "incomplete zstd frame" in out
    with caplog.at_level(logging.WARNING):
        Recorder(tmp_path).start().close()  # the next start cuts it: any zstd reader opens it
    assert "torn tail cut" in caplog.text
    warnings.clear()
    assert _kinds(seg)[-1] == "frame" and not warnings
    assert repair_tail(seg) is False


def test_duckdb_and_pandas_open_segments_directly(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    pd = pytest.importorskip("pandas")
    rec = Recorder(tmp_path)
    for i in range(3):  # three flushes: three zstd frames in one file
        rec.record_at(T0 + i, i, "frame", (i, 1, f'{{"n":{i}}}'))
        rec.record_at(T0 + i, i, "http", {"source": "nws", "method": "GET", "url": "u",
                                          "status": 200, "body": f"b{i}"})  # fmt: skip
        rec.flush()
    rec.close()
    glob = f"{tmp_path}/*/*.jsonl.zst"
    rows = duckdb.sql(
        f"SELECT kind, count(*) FROM read_json('{glob}', format='newline_delimited', "
        "union_by_name=true) GROUP BY kind ORDER BY kind"
    ).fetchall()
    assert rows == [("frame", 3), ("http", 3), ("segment", 1)]
    frame = pd.read_json(segments(tmp_path)[0], lines=True, compression="zstd")
    assert list(frame[frame.kind == "frame"].raw) == ['{"n":0}', '{"n":1}', '{"n":2}']


def test_tape_info_reports_span_counts_blind_windows_and_gaps(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    s = 10**9
    rec.record_at(T0, 0, "session", {"session": "a"})
    rec.record_at(T0 + s, 1, "blind", {"scope": "shard-1", "state": "start", "reason": "down"})
    rec.record_at(T0 + 2 * s, 2, "frame", (0, 1, "x"))
    rec.record_at(T0 + 4 * s, 4, "blind", {"scope": "shard-1", "state": "end", "reason": "live"})
    rec.record_at(T0 + 5 * s, 5, "blind", {"scope": "shard-0", "state": "start", "reason": "poll"})
    rec.record_at(T0 + 300 * s, 6, "session", {"session": "b"})  # a restart after a crash
    rec.record_at(T0 + 301 * s, 7, "http", {"source": "gamma", "url": "u", "body": "[]"})
    rec.flush()
    out = render(scan(tmp_path))
    assert "sessions : 2" in out
    assert "frame shard-0                1" in out and "http gamma                   1" in out
    assert "blind windows: 2" in out
    assert "shard-1" in out and "3.0 s" in out and "down" in out
    assert "poll (until restart)" in out
    assert "gaps (no record for > 60 s): 1" in out and "295.0 s" in out
    assert "2026-11-20T22:10:00.000+00:00 .. 2026-11-20T22:15:01.000+00:00" in out


def test_urls_lose_credentials() -> None:
    url = "https://opendata.cwa.gov.tw/x?Authorization=CWA-SECRET&StationId=466920&api_key=k"
    clean = scrub_url(url, ["CWA-SECRET"])
    assert "CWA-SECRET" not in clean and "StationId=466920" in clean
    assert scrub_url("https://u:pw@h/p?a=1") == "https://h/p?a=1"
    assert "TOKEN123" not in scrub_url("https://h/p/TOKEN123/x", ["TOKEN123"])


def test_tape_is_on_by_default_and_dir_is_relative_to_the_config(tmp_path: Path) -> None:
    loaded = parse_config("", env={})
    assert loaded.settings.tape.enabled is True
    cfg = tmp_path / "etc" / "config.yaml"
    assert tape_dir(loaded.settings, cfg) == (tmp_path / "etc" / "tape").resolve()
    db_only = parse_config(f"database: {tmp_path / 'x.db'}\n", env={}).settings
    assert tape_dir(db_only, None) == tmp_path / "tape"


def test_synth_writes_a_multi_day_tape_of_many_cities(tmp_path: Path) -> None:
    from weatheredge.sandbox.synth_tape import synthesize

    # 7.2 hours from 21:00 UTC: across a day boundary, cheap enough for a test.
    stats = synthesize(tmp_path, days=0.3, cities=2, frames_per_s=0.05, start="2026-11-01T21:00")
    assert stats["tokens"] == 240 and stats["bytes_per_day"] > 0
    info = scan(tmp_path)
    assert info.segments == 8
    assert {p.parent.name for p in segments(tmp_path)} == {"2026-11-01", "2026-11-02"}
    assert info.counts["http gamma"] == 432  # a listing every minute
    assert info.counts["http open-meteo-ensemble"] == 43 * 2 * 2  # every 10 min, city, extreme
    assert info.counts["frame shard-0"] + info.counts["frame shard-1"] > 1000  # dumps + changes
    assert [(b[0][:6], (b[2] - b[1]) // 10**9) for b in info.blind] == [("shard-", 5)]
    assert len(info.sessions) == 1 and not info.gaps and not info.warnings
