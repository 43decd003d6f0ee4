"""The tape: every frame, page and response the daemon receives, and what it decided.

Hourly zstd JSONL segments (``<dir>/YYYY-MM-DD/HH.jsonl.zst``, UTC), written off the event
loop; readable with DuckDB or pandas without weatheredge. Format: docs/tape.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from weatheredge.tape.writer import Recorder

__all__ = ["Recorder", "open_recorder", "tape_dir"]


def tape_dir(settings: Any, config_path: Path | None) -> Path:
    """``tape.dir``, relative to the config file's directory (without a file: the database's)."""
    path = Path(settings.tape.dir).expanduser()
    if path.is_absolute():
        return path
    base = Path(config_path).resolve().parent if config_path else Path(settings.database).parent
    return base / path


def open_recorder(settings: Any, config_path: Path | None) -> Recorder | None:
    """A started recorder for these settings, or None when ``tape.enabled`` is false."""
    t = settings.tape
    if not t.enabled:
        return None
    from weatheredge import __version__

    return Recorder(
        tape_dir(settings, config_path),
        keep_days=t.keep_days,
        max_disk_mb=t.max_disk_mb,
        queue_size=t.queue_size,
        # format 2: paper_match records (the paper venue's match instants), settlement fills;
        # 3: applied records (the instant a job's result was in force); 4: discovery's too;
        # 5: the venue's answers (order) and the user channel's fills as handed to the trader
        meta={"version": __version__, "mode": settings.mode.value, "tape_format": 5},
    ).start()
