"""Reading a tape: segments in time order, zstd frame by frame, a torn tail skipped with a
warning (a killed writer leaves at most one incomplete frame at the end of its last segment)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import zstandard

logger = logging.getLogger(__name__)

_SEGMENT = re.compile(r"^(\d\d)(?:\.(\d+))?\.jsonl\.zst$")


def _order(path: Path) -> tuple[str, int, int]:
    m = _SEGMENT.match(path.name)
    assert m is not None
    return path.parent.name, int(m.group(1)), int(m.group(2) or 0)


def segments(path: str | Path) -> list[Path]:
    """The segment files of a tape directory (or the one file given), oldest first."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        return []
    found = [f for f in p.glob("*/*.jsonl.zst") if _SEGMENT.match(f.name)]
    return sorted(found, key=_order)


@dataclass
class Frames:
    """The complete zstd frames of one segment, and what was wrong at its end."""

    chunks: list[bytes] = field(default_factory=list)
    good_bytes: int = 0  # length of the readable prefix
    torn: str | None = None  # why the rest was skipped


def split_frames(data: bytes) -> Frames:
    out = Frames()
    dctx = zstandard.ZstdDecompressor()
    rest = data
    while rest:
        obj = dctx.decompressobj()
        try:
            chunk = obj.decompress(rest)
        except zstandard.ZstdError as err:
            out.torn = f"corrupt zstd frame at byte {out.good_bytes}: {err}"
            break
        if not obj.eof:
            out.torn = f"incomplete zstd frame at byte {out.good_bytes} ({len(rest)} bytes)"
            break
        out.chunks.append(chunk)
        used = len(rest) - len(obj.unused_data)
        out.good_bytes += used
        rest = obj.unused_data
    return out


def repair_tail(path: Path) -> bool:
    """Truncate a torn last frame so the segment stays readable by any zstd reader."""
    try:
        frames = split_frames(path.read_bytes())
    except OSError:
        return False
    if frames.torn is None:
        return False
    logger.warning("tape: %s: torn tail cut (%s)", path, frames.torn)
    with open(path, "r+b") as f:
        f.truncate(frames.good_bytes)
    return True


Warn = Callable[[str], None]


def _default_warn(message: str) -> None:
    logger.warning("tape: %s", message)


def read_segment(path: Path, warn: Warn = _default_warn) -> Iterator[dict[str, Any]]:
    """Every record of one segment; a torn tail or a bad line is reported to ``warn``."""
    frames = split_frames(path.read_bytes())
    decoder = msgspec.json.Decoder()
    for chunk in frames.chunks:
        for n, line in enumerate(chunk.splitlines()):
            if not line:
                continue
            try:
                record = decoder.decode(line)
            except msgspec.DecodeError as err:
                warn(f"{path}: bad line {n} skipped ({err})")
                continue
            if isinstance(record, dict):
                yield record
    if frames.torn is not None:
        warn(f"{path}: torn tail skipped: {frames.torn}")


def read_tape(path: str | Path, warn: Warn = _default_warn) -> Iterator[dict[str, Any]]:
    """Every record of a tape directory (or one segment file), in segment order."""
    for seg in segments(path):
        yield from read_segment(seg, warn)
