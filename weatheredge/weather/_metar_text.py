"""Reading values out of a raw METAR text, shared by every feed that relays one.

aviationweather and the NWS API both carry the report as sent (``rawOb`` / ``rawMessage``);
the remarks T-group holds the tenths °C that US resolution pages convert to °F.
"""

from __future__ import annotations

import re

# Sign digit (0 = +, 1 = -) then three digits of tenths; the dew-point half may be missing.
_T_GROUP = re.compile(r"(?:^|\s)T([01])(\d{3})(?:[01]\d{3})?(?=\s|$)")


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
