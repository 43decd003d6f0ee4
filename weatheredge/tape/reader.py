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


_MAGIC = b"\x28\xb5\x2f\xfd"
_MAX_HEADER = 18


def frame_spans(data: bytes) -> tuple[list[tuple[int, int]], str | None]:
    """Byte spans of the complete zstd frames at the start of ``data``, and why the rest (if
    any) is unreadable. Walks frame and block headers only: no decompression, no copies."""
    spans: list[tuple[int, int]] = []
    n, pos = len(data), 0
    view = memoryview(data)
    while pos < n:
        head = view[pos : pos + _MAX_HEADER]
        if bytes(head[:4]) != _MAGIC:
            return spans, f"no zstd frame at byte {pos}"
        try:
            header = zstandard.frame_header_size(head)
            checksum = zstandard.get_frame_parameters(head).has_checksum
        except zstandard.ZstdError:
            return spans, f"incomplete zstd frame at byte {pos} ({n - pos} bytes)"
        p = pos + header
        while True:  # blocks: 3-byte header = last flag, type, size
            if p + 3 > n:
                return spans, f"incomplete zstd frame at byte {pos} ({n - pos} bytes)"
            block = int.from_bytes(view[p : p + 3], "little")
            kind, size = (block >> 1) & 3, block >> 3
            if kind == 3:
                return spans, f"corrupt zstd block at byte {p}"
            p += 3 + (1 if kind == 1 else size)
            if block & 1:
                break
        p += 4 if checksum else 0
        if p > n:
            return spans, f"incomplete zstd frame at byte {pos} ({n - pos} bytes)"
        spans.append((pos, p))
        pos = p
    return spans, None


@dataclass
class Frames:
    """The decompressed frames of one segment, and what was wrong at its end."""

    chunks: list[bytes] = field(default_factory=list)
    good_bytes: int = 0  # length of the readable prefix
    torn: str | None = None  # why the rest was skipped


def iter_frames(data: bytes, frames: Frames | None = None) -> Iterator[bytes]:
    """Each complete frame decompressed, lazily; ``frames`` gets the torn-tail report."""
    spans, torn = frame_spans(data)
    dctx = zstandard.ZstdDecompressor()
    view = memoryview(data)
    for start, end in spans:
        try:
            chunk = dctx.decompressobj().decompress(view[start:end])
        except zstandard.ZstdError as err:
            torn = f"corrupt zstd frame at byte {start}: {err}"
            break
        if frames is not None:
            frames.good_bytes = end
        yield chunk
    if frames is not None:
        frames.torn = torn


def split_frames(data: bytes) -> Frames:
    out = Frames()
    out.chunks = list(iter_frames(data, out))
    return out


def repair_tail(path: Path) -> bool:
    """Truncate a torn last frame so the segment stays readable by any zstd reader."""
    try:
        spans, torn = frame_spans(path.read_bytes())
    except OSError:
        return False
    if torn is None:
        return False
    good = spans[-1][1] if spans else 0
    logger.warning("tape: %s: torn tail cut (%s)", path, torn)
    with open(path, "r+b") as f:
        f.truncate(good)
    return True


Warn = Callable[[str], None]


def _default_warn(message: str) -> None:
    logger.warning("tape: %s", message)


class FrameRecord(msgspec.Struct, gc=False):
    """A ``frame`` record with what a replay needs of it (``read_tape(..., frames=True)``):
    no dict, and the other envelope fields (``shard``, ``epoch``) not decoded."""

    kind: str = ""
    wall_ns: int = 0
    mono_ns: int = 0
    raw: str | None = None


_FRAME = msgspec.json.Decoder(FrameRecord)
# Our writer puts the envelope first (wall_ns, mono_ns, kind): a line with a "frame" kind near
# its start is decoded as a FrameRecord, and kept as one if it is a text frame (the search may
# run into the next line or a nested object: the decoded kind decides); any other line is
# decoded as a dict, as before.
_FRAME_MARK = b'"kind":"frame"'
_MARK_WITHIN = 80


def _line_spans(chunk: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each line, as ``bytes.splitlines`` cuts them, without copying them."""
    if b"\r" in chunk:  # never written by our writer: let splitlines say what a line is
        pos = 0
        for line in chunk.splitlines(keepends=True):
            stripped = line.rstrip(b"\r\n")
            yield pos, pos + len(stripped)
            pos += len(line)
        return
    pos, size, find = 0, len(chunk), chunk.find
    while pos < size:
        nl = find(b"\n", pos)
        if nl < 0:
            nl = size
        yield pos, nl
        pos = nl + 1


def resolve_body(record: dict[str, Any], bodies: dict[tuple[Any, Any], Any]) -> dict[str, Any]:
    """An ``http`` record's repeated body (``body_same``) back from ``bodies``, the last body per
    method and URL of the segment so far (which this one updates)."""
    if record.get("kind") == "http":
        key = (record.get("method"), record.get("url"))
        if record.get("body_same"):
            record["body"] = bodies.get(key)
        elif "body" in record:
            bodies[key] = record["body"]
    return record


def read_segment(
    path: Path, warn: Warn = _default_warn, *, resolve: bool = True, frames: bool = False
) -> Iterator[dict[str, Any] | FrameRecord]:
    """Every record of one segment, in the order the daemon handed them to the tape; a torn tail
    or a bad line is reported to ``warn``. ``resolve``: a repeated HTTP body (``body_same``) gets
    its ``body`` back from the previous response to the same method and URL. ``frames``: text
    ``frame`` records come as :class:`FrameRecord` (the replay's fast path), the rest as dicts."""
    report = Frames()
    decode, decode_frame = msgspec.json.Decoder().decode, _FRAME.decode
    bodies: dict[tuple[Any, Any], Any] = {}
    for chunk in iter_frames(path.read_bytes(), report):
        for n, (start, end) in enumerate(_line_spans(chunk)):
            if start == end:
                continue
            line = memoryview(chunk)[start:end]  # no copy: a segment's lines are ~100 MB/h
            if frames and chunk.find(_FRAME_MARK, start, start + _MARK_WITHIN) >= 0:
                try:
                    frame = decode_frame(line)
                except msgspec.DecodeError:
                    pass  # decoded as a dict below, which reports what is wrong
                else:
                    if frame.kind == "frame" and frame.raw is not None:
                        yield frame
                        continue
            try:
                record = decode(line)
            except msgspec.DecodeError as err:
                warn(f"{path}: bad line {n} skipped ({err})")
                continue
            if not isinstance(record, dict):
                continue
            yield resolve_body(record, bodies) if resolve else record
    if report.torn is not None:
        warn(f"{path}: torn tail skipped: {report.torn}")


def read_tape(
    path: str | Path, warn: Warn = _default_warn, *, resolve: bool = True, frames: bool = False
) -> Iterator[dict[str, Any] | FrameRecord]:
    """Every record of a tape directory (or one segment file), in segment order; ``frames``:
    see :func:`read_segment`."""
    for seg in segments(path):
        yield from read_segment(seg, warn, resolve=resolve, frames=frames)
