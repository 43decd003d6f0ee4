"""A derived, parse-once copy of a closed segment for replays (never the source of truth).

A tape line holds a market frame as received (JSON text inside JSON), so a replay parses JSON
twice per frame: the line (unescaping the frame's text) and then, in ``Engine.on_frame``, the
frame. The first replay of a closed segment writes ``.<segment>.replay`` beside it: the same
records in the same order, each frame's receive times and text as msgpack (no envelope to parse,
no escapes), the other records as the tape has them, its bad-line and torn-tail warnings in
place. A later replay of that segment (a backtest sweep) reads that: the frame's text goes to
``Engine.on_frame`` as live, parsed once. (Keeping the frames decoded into wire structs instead
measured no faster: building the structs, not parsing, is the cost, and msgpack builds them no
cheaper than JSON.)

The copy is used only while the segment's size, modification time and the hash of its last
64 KiB are the ones it was made from, only for segments whose UTC hour ended
``CLOSED_AFTER_S`` ago (a live writer may still append to the current hour's), and it is
remade when unreadable; any trouble writing it leaves the replay reading the tape.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import zstandard

from weatheredge.tape.reader import (
    FrameRecord,
    Frames,
    iter_frames,
    read_segment,
    resolve_body,
)

logger = logging.getLogger(__name__)

VERSION = 1
CLOSED_AFTER_S = 600.0  # a segment's hour must have ended this long ago to be cached
_BATCH = 256  # records per zstd frame of the cache (small batches: objects die young)
_TAIL = 64 * 1024


class _Frame(msgspec.Struct, tag=1, array_like=True, gc=False):
    wall_ns: int
    mono_ns: int
    raw: str


class _Other(msgspec.Struct, tag=2, array_like=True):
    record: dict[str, Any]


class _Warn(msgspec.Struct, tag=3, array_like=True):
    message: str


class _End(msgspec.Struct, tag=4, array_like=True):
    """The last entry: a copy cut at a frame boundary is not taken for a short segment."""

    records: int


_Entry = _Frame | _Other | _Warn | _End
_ENTRIES = msgspec.msgpack.Decoder(list[_Entry])
_HEADER = msgspec.msgpack.Decoder(dict[str, Any])
_ENCODE = msgspec.msgpack.Encoder().encode

Warn = Callable[[str], None]


def cache_path(segment: Path) -> Path:
    return segment.with_name(f".{segment.name}.replay")


def closed(segment: Path, now: float | None = None) -> bool:
    """Whether the segment's UTC hour (from its day directory and ``HH`` name) ended long ago."""
    try:
        hour = dt.datetime.strptime(f"{segment.parent.name} {segment.name[:2]}", "%Y-%m-%d %H")
    except ValueError:
        return False
    end = hour.replace(tzinfo=dt.UTC).timestamp() + 3600
    return (time.time() if now is None else now) >= end + CLOSED_AFTER_S


def _identity(segment: Path) -> dict[str, Any] | None:
    try:
        stat = segment.stat()
        with open(segment, "rb") as f:
            f.seek(max(0, stat.st_size - _TAIL))
            tail = hashlib.blake2b(f.read(), digest_size=16).hexdigest()
    except OSError:
        return None
    return {
        "v": VERSION,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "tail": tail,
    }


def read_cached(segment: Path, warn: Warn) -> Iterator[dict[str, Any] | FrameRecord]:
    """The records of one segment as ``read_segment(..., frames=True)`` gives them: from the
    cache when it is current, else from the tape (writing the cache on the way when the
    segment is closed)."""
    identity = _identity(segment) if closed(segment) else None
    if identity is None:
        yield from read_segment(segment, warn, frames=True)
        return
    path = cache_path(segment)
    report = Frames()
    chunks = _open(path, identity, report)
    if chunks is None:
        yield from _build(segment, warn, path, identity)
        return
    records = warnings = 0
    bodies: dict[tuple[Any, Any], Any] = {}
    try:
        for chunk in chunks:
            for entry in _ENTRIES.decode(chunk):
                if type(entry) is _Frame:
                    records += 1
                    yield FrameRecord("frame", entry.wall_ns, entry.mono_ns, entry.raw)
                elif type(entry) is _Other:
                    records += 1
                    yield resolve_body(entry.record, bodies)
                elif type(entry) is _Warn:
                    warnings += 1
                    warn(entry.message)
                elif entry.records == records:
                    return
        raise ValueError(report.torn or "no end")
    except (msgspec.DecodeError, zstandard.ZstdError, ValueError) as err:
        # Unreadable part way: go on from the tape at the same record (the copy is remade by
        # the next replay), its warnings so far already given.
        logger.warning("tape: replay cache %s unreadable (%s): reading the segment", path, err)
        _remove(path)
        seen = 0

        def later(message: str) -> None:
            nonlocal seen
            seen += 1
            if seen > warnings:
                warn(message)

        for n, record in enumerate(read_segment(segment, later, frames=True)):
            if n >= records:
                yield record


def _open(path: Path, identity: dict[str, Any], report: Frames) -> Iterator[bytes] | None:
    """The cache's record chunks, or None when it is missing, stale or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    chunks = iter_frames(data, report)
    try:
        header = _HEADER.decode(next(chunks))
    except (StopIteration, msgspec.DecodeError, zstandard.ZstdError):
        return None
    if header != identity:
        return None
    return chunks


def _build(
    segment: Path, warn: Warn, path: Path, identity: dict[str, Any]
) -> Iterator[dict[str, Any] | FrameRecord]:
    """The tape's records, the cache written on the way (complete or not at all)."""
    entries: list[_Entry] = []

    def noted(message: str) -> None:
        entries.append(_Warn(message))
        warn(message)

    compress = zstandard.ZstdCompressor(level=1, write_checksum=True).compress
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    out: Any = None
    try:
        out = open(tmp, "wb")  # closed below; renamed into place only when complete
        out.write(compress(_ENCODE(identity)))
    except OSError:  # a read-only tape: replay it as it is
        if out is not None:
            out.close()
            _remove(tmp)
        out = None
    complete = False
    bodies: dict[tuple[Any, Any], Any] = {}
    try:
        count = 0
        for record in read_segment(segment, noted, frames=True, resolve=False):
            count += 1
            if type(record) is FrameRecord:
                entries.append(_Frame(record.wall_ns, record.mono_ns, str(record.raw)))
                yield record
            else:
                entries.append(_Other(dict(record)))
                yield resolve_body(record, bodies)
            if out is not None and len(entries) >= _BATCH:
                out = _flush(out, entries, compress)
        entries.append(_End(count))
        if out is not None:
            out = _flush(out, entries, compress)
        complete = out is not None
    finally:
        if out is not None:
            out.close()
        if complete:
            try:
                os.replace(tmp, path)
            except OSError:
                complete = False
        if not complete:
            _remove(tmp)


def _flush(out: Any, entries: list[_Entry], compress: Callable[[bytes], bytes]) -> Any:
    try:
        out.write(compress(_ENCODE(entries)))
    except (OSError, TypeError, OverflowError, msgspec.EncodeError) as err:
        logger.info("tape: replay cache not written: %s", err)
        out.close()
        out = None
    entries.clear()
    return out


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
