"""Read-only queries behind the settling rules (issue 16): stored reports, settlement agreement.

Separate read-only connections, like the CLI's reads in ``weatheredge.store``; call from a
worker thread in the daemon.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from weatheredge.model.observations import Observation, observation_from_report
from weatheredge.store import _rows
from weatheredge.timestamps import utc_iso

_AGREEMENT = """
SELECT e.city, e.source, count(*) AS settled,
       sum(s.agreement IS NOT NULL) AS checked,
       sum(s.agreement = 1) AS agree,
       sum(s.agreement = 0) AS disagree,
       sum(coalesce(s.certain, 1) = 0) AS uncertain
FROM settlements s JOIN events e USING (event_id)
WHERE s.status = 'settled'
GROUP BY e.city, e.source
ORDER BY e.city, e.source
"""

_DISAGREEMENTS = """
SELECT e.city, e.source, s.date, e.slug, s.station, s.settled_value, s.observed_value,
       s.winning_label, m.label AS venue_label, s.certain, s.evidence
FROM settlements s
JOIN events e USING (event_id)
LEFT JOIN markets m ON m.market_id = s.venue_market_id
WHERE s.status = 'settled' AND s.agreement = 0
ORDER BY s.date DESC, e.city
"""


def stored_reports(
    path: str | Path, icaos: Sequence[str], since: dt.datetime
) -> dict[str, list[Observation]]:
    """Each station's stored reports observed at or after ``since``, oldest first (one read)."""
    marks = ",".join("?" for _ in icaos)
    rows = _rows(
        path,
        "SELECT icao, observed_at, temp_c, kind, raw FROM observations "
        f"WHERE icao IN ({marks}) AND observed_at >= ? ORDER BY observed_at",
        [*icaos, utc_iso(since)],
    )
    out: dict[str, list[Observation]] = {icao: [] for icao in icaos}
    for row in rows:
        at = dt.datetime.fromisoformat(row["observed_at"].replace("Z", "+00:00"))
        obs = observation_from_report(
            row["icao"], at, row["raw"], kind=row["kind"], temp_c=row["temp_c"]
        )
        if obs is not None:
            out.setdefault(obs.icao, []).append(obs)
    return out


def settlement_agreement(path: str | Path) -> dict[str, Any]:
    """Per city and source: our settlements, how many the venue resolved, how many agreed; and
    every disagreement with our value, the venue's bucket and the reports involved."""
    by_city = []
    for row in _rows(path, _AGREEMENT):
        checked = int(row["checked"] or 0)
        agree = int(row["agree"] or 0)
        by_city.append(
            {
                "city": row["city"],
                "source": row["source"],
                "settled": int(row["settled"] or 0),
                "checked": checked,
                "agree": agree,
                "disagree": int(row["disagree"] or 0),
                "uncertain": int(row["uncertain"] or 0),
                "agreement": round(agree / checked, 4) if checked else None,
            }
        )
    disagreements = []
    for row in _rows(path, _DISAGREEMENTS):
        try:
            reports = json.loads(row["evidence"]) if row["evidence"] else []
        except ValueError:
            reports = []
        disagreements.append(
            {k: v for k, v in row.items() if k != "evidence"} | {"reports": reports}
        )
    checked = sum(r["checked"] for r in by_city)
    agree = sum(r["agree"] for r in by_city)
    return {
        "checked": checked,
        "agree": agree,
        "agreement": round(agree / checked, 4) if checked else None,
        "by_city": by_city,
        "disagreements": disagreements,
    }
