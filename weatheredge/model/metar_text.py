"""The parts of a raw METAR/SPECI text that decide whether, and with which value, it settles.

Pure text reading (no I/O), shared by the aviationweather adapter and by anything that rebuilds
reports from stored raw text. Only what the settling rules need is read:

* report type: a leading ``SPECI`` (or ``METAR``) token, else the feed's own ``metarType``;
* ``COR`` (a correction: it replaces the report it corrects), ``AUTO`` (unattended), ``NIL``
  (a filed report without data: nothing to settle);
* the observation day/hour/minute of the ``DDHHMMZ`` group;
* the body temperature group ``TT/DD`` in whole °C (``M`` = minus, ``M00`` is between -0.5 and
  0), and the remarks T-group in tenths (``T01171011`` = 11.7 °C);
* whether the remarks carry a sea-level pressure (``SLP191``; ``SLPNO`` = not available), which
  is how the NOAA hourly table tells a routine row from a 5-minute one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ReportText", "parse_report", "parse_t_group"]

# Sign digit (0 = +, 1 = -) then three digits of tenths; the dew-point half may be missing.
_T_GROUP = re.compile(r"(?:^|\s)T([01])(\d{3})(?:[01]\d{3})?(?=\s|$)")
_TIME = re.compile(r"^(\d{2})(\d{2})(\d{2})Z$")
# Two digits on the temperature side keep visibility fractions (1/2SM, M1/4SM) out.
_BODY_TEMP = re.compile(r"^(M?)(\d{2})/(?:M?\d{2}|//)?$")
_STATION = re.compile(r"^[A-Z][A-Z0-9]{3}$")
_SLP = re.compile(r"(?:^|\s)SLP\d{3}(?=\s|$)")


@dataclass(frozen=True, slots=True)
class ReportText:
    """What one raw report says, as far as settlement cares."""

    station: str | None
    kind: str | None  # "METAR" / "SPECI" when the text says so, else None
    day: int | None
    hour: int | None
    minute: int | None
    cor: bool
    auto: bool
    nil: bool
    body_c: int | None  # whole °C from the TT/DD group; None when missing (//, sensor out)
    body_negative_zero: bool  # "M00": below zero but rounds to 0
    t_group_c: float | None  # tenths °C from the remarks T-group
    slp: bool  # remarks carry SLPnnn (SLPNO does not count)


def parse_t_group(raw_ob: str) -> float | None:
    """Temperature in tenths °C from the remarks T-group, or None when there is none."""
    _, sep, remarks = raw_ob.partition(" RMK ")
    if not sep:
        return None
    match = _T_GROUP.search(remarks)
    if match is None:
        return None
    value = int(match.group(2)) / 10.0
    return -value if match.group(1) == "1" else value


def parse_report(raw_ob: str) -> ReportText:
    """Read ``raw_ob`` leniently: unknown groups are skipped, never an error."""
    text = " ".join(raw_ob.replace("=", " ").split())
    body, sep, remarks = text.partition(" RMK ")
    tokens = body.split(" ")
    kind: str | None = None
    if tokens and tokens[0] in ("METAR", "SPECI"):
        kind = tokens.pop(0)
    cor = auto = nil = False
    station: str | None = None
    day = hour = minute = None
    body_c: int | None = None
    negative_zero = False
    for token in tokens:
        if token == "COR":
            cor = True
        elif token == "AUTO":
            auto = True
        elif token == "NIL":
            nil = True
        elif station is None and day is None and _STATION.match(token):
            station = token
        elif day is None and (m := _TIME.match(token)):
            day, hour, minute = int(m.group(1)), int(m.group(2)), int(m.group(3))
        elif body_c is None and (m := _BODY_TEMP.match(token)):
            whole = int(m.group(2))
            body_c = -whole if m.group(1) else whole
            negative_zero = bool(m.group(1)) and whole == 0
    return ReportText(
        station=station,
        kind=kind,
        day=day,
        hour=hour,
        minute=minute,
        cor=cor,
        auto=auto,
        nil=nil,
        body_c=body_c,
        body_negative_zero=negative_zero,
        t_group_c=parse_t_group(text) if sep else None,
        slp=bool(sep) and _SLP.search(remarks) is not None,
    )
