"""The one UTC timestamp format of the database (and of the status documents).

Every table stores its times as ISO-8601 UTC text with milliseconds and ``Z``
(``2026-07-01T12:00:00.000Z``): it sorts as text and parses with ``fromisoformat``. Both the
edge store, the trading ledger and the status page use this one format, so they format
through here.
"""

from __future__ import annotations

import datetime as dt


def require_aware(at: dt.datetime) -> None:
    # A naive time would be stored as if it were UTC and silently shift every report by the
    # host's offset, so reject it where the record is made.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware (UTC) time")


def utc_iso(at: dt.datetime, *, zulu: bool = True) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``: sorts as text, parses with fromisoformat.

    ``zulu=False`` keeps ``+00:00`` instead: only ``weatheredge tape info`` prints that form
    (never stored), and its output is read by people and scripts as it is.
    """
    require_aware(at)
    text = at.astimezone(dt.UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if zulu else text


def now_iso() -> str:
    """The current wall time in :func:`utc_iso`'s format."""
    return utc_iso(dt.datetime.now(dt.UTC))
