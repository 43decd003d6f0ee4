"""Reads hand typed rows, not dicts, to callers outside the store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.store.conftest import T0
from weatheredge.model.calibration import EmosParams
from weatheredge.store import CalibrationRow, CalibrationSaved, Store, saved_calibration


async def test_saved_calibration_reads_back_as_typed_rows(store: Store, db_path: Path) -> None:
    params = EmosParams(a=0.5, b=0.9, c=1.2, d=0.8, x_ref=10.0, weights={"gfs": 1.0}, n=30)
    store.submit(CalibrationSaved("KLGA", "max", "F", 2, params, T0))
    store.submit(CalibrationSaved("KLGA", "max", "F", 3, params, T0 + dt.timedelta(hours=1)))
    await store.flush()

    rows = sorted(saved_calibration(db_path), key=lambda r: r.lead_days)
    assert all(isinstance(r, CalibrationRow) for r in rows)
    assert [(r.station, r.extreme, r.unit, r.lead_days) for r in rows] == [
        ("KLGA", "max", "F", 2),
        ("KLGA", "max", "F", 3),
    ]
    assert (rows[0].a, rows[0].n, rows[0].weights) == (0.5, 30, '{"gfs": 1.0}')
