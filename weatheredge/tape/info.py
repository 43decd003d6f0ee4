"""``weatheredge tape info PATH``: what a tape holds, and where it is blind."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weatheredge.tape.reader import read_segment, segments
from weatheredge.timestamps import utc_iso

GAP_S = 60.0  # no record at all for this long is a gap (the daemon down, or the tape)


@dataclass
class TapeInfo:
    segments: int = 0
    bytes: int = 0
    records: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    sessions: list[str] = field(default_factory=list)
    blind: list[tuple[str, int, int | None, str]] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    dropped: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "segments": self.segments,
            "bytes": self.bytes,
            "records": self.records,
            "first": _iso(self.first_ns),
            "last": _iso(self.last_ns),
            "counts": dict(sorted(self.counts.items())),
            "sessions": self.sessions,
            "blind_windows": [
                {"scope": s, "start": _iso(a), "end": _iso(b), "reason": r}
                for s, a, b, r in self.blind
            ],
            "gaps": [{"start": _iso(a), "end": _iso(b)} for a, b in self.gaps],
            "dropped": self.dropped,
            "warnings": self.warnings,
        }


def _source(record: dict[str, Any]) -> str:
    kind = str(record.get("kind"))
    if kind == "frame":
        return f"frame shard-{record.get('shard')}"
    if kind == "http":
        return f"http {record.get('source', '?')}"
    if kind in ("edge", "trade") and record.get("type"):
        return f"{kind} {record['type']}"
    return kind


def scan(path: str | Path, gap_s: float = GAP_S) -> TapeInfo:
    info = TapeInfo()
    open_blind: dict[str, tuple[int, str]] = {}
    gap_ns = int(gap_s * 1e9)
    for seg in segments(path):
        info.segments += 1
        info.bytes += seg.stat().st_size
        for record in read_segment(seg, info.warnings.append):
            wall = record.get("wall_ns")
            if not isinstance(wall, int):
                continue
            info.records += 1
            if info.last_ns is not None and wall - info.last_ns > gap_ns:
                info.gaps.append((info.last_ns, wall))
            info.first_ns = wall if info.first_ns is None else min(info.first_ns, wall)
            info.last_ns = wall if info.last_ns is None else max(info.last_ns, wall)
            info.counts[_source(record)] += 1
            kind = record.get("kind")
            if kind == "session":
                info.sessions.append(str(record.get("session")))
                for scope, (start, why) in open_blind.items():  # the old process died blind
                    info.blind.append((scope, start, wall, f"{why} (until restart)"))
                open_blind.clear()
            elif kind == "tape_dropped":
                info.dropped += int(record.get("count", 0) or 0)
            elif kind == "blind":
                scope = str(record.get("scope"))
                if record.get("state") == "start" and scope not in open_blind:
                    open_blind[scope] = (wall, str(record.get("reason", "")))
                elif record.get("state") == "end" and scope in open_blind:
                    start, why = open_blind.pop(scope)
                    info.blind.append((scope, start, wall, why))
    for scope, (start, why) in open_blind.items():
        info.blind.append((scope, start, None, why))
    info.blind.sort(key=lambda b: b[1])
    return info


def _iso(ns: int | None) -> str | None:
    if ns is None:
        return None
    return utc_iso(dt.datetime.fromtimestamp(ns / 1e9, dt.UTC), zulu=False)


def _dur(a: int, b: int | None) -> str:
    return "open at the end of the tape" if b is None else f"{(b - a) / 1e9:.1f} s"


def render(info: TapeInfo) -> str:
    lines = [
        f"segments : {info.segments} ({info.bytes / 1e6:.2f} MB compressed)",
        f"records  : {info.records}",
        f"span     : {_iso(info.first_ns)} .. {_iso(info.last_ns)}"
        + (
            f" ({(info.last_ns - info.first_ns) / 3.6e12:.2f} h)"
            if info.first_ns is not None and info.last_ns is not None
            else ""
        ),
        f"sessions : {len(info.sessions)}",
        f"dropped  : {info.dropped} records (the writer fell behind)",
        "counts per source:",
    ]
    lines += [f"  {k:<28} {v}" for k, v in sorted(info.counts.items())]
    lines.append(f"blind windows: {len(info.blind)}")
    lines += [f"  {s:<10} {_iso(a)}  {_dur(a, b):<28} {r}" for s, a, b, r in info.blind]
    lines.append(f"gaps (no record for > {GAP_S:.0f} s): {len(info.gaps)}")
    lines += [f"  {_iso(a)} .. {_iso(b)}  {_dur(a, b)}" for a, b in info.gaps]
    lines.append(f"torn tails / bad lines: {len(info.warnings)}")
    lines += [f"  warning: {w}" for w in info.warnings]
    return "\n".join(lines)
