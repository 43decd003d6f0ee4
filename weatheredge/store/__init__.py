"""The SQLite store, split by job (see docs/architecture.md, "The store").

* :mod:`.records` — the typed records jobs and the engine submit;
* :mod:`.sql` — the SQL each record is written with;
* :mod:`.writer` — :class:`Store`: the single writer thread, its queue, retries and flush;
* :mod:`.reads` — read helpers on their own read-only connections.

Every name is re-exported here: callers import from ``weatheredge.store``.
"""

from weatheredge.store.reads import (
    _rows,
    count_rows,
    diurnal_training,
    event_markets,
    recent_edges,
    saved_calibration,
    saved_diurnal,
    scoring_rows,
    settlement_summary,
    training_rows,
    unchecked_settlements,
    unsettled_events,
)
from weatheredge.store.records import (
    CalibrationSaved,
    DiurnalSaved,
    EdgeClosed,
    EdgeOpened,
    EdgeUpdated,
    EventSeen,
    EventSettled,
    ExtremeChanged,
    ForecastSnapshot,
    HorizonSnapshot,
    ModelRecord,
    NotificationResult,
    ObservationsSeen,
    Record,
    ReportsAssessed,
    ReportTimed,
    VenueChecked,
    describe,
    new_edge_id,
)
from weatheredge.store.rows import (
    CalibrationRow,
    DiurnalReport,
    DiurnalShapeRow,
    EdgeRow,
    EventRow,
    MarketRow,
    PendingVenueCheck,
    ScoringRow,
    TrainingRow,
)
from weatheredge.store.sql import MissingRowError
from weatheredge.store.writer import Store, StoreError, is_transient

__all__ = [
    "CalibrationRow",
    "CalibrationSaved",
    "DiurnalReport",
    "DiurnalSaved",
    "DiurnalShapeRow",
    "EdgeClosed",
    "EdgeOpened",
    "EdgeRow",
    "EdgeUpdated",
    "EventRow",
    "EventSeen",
    "EventSettled",
    "ExtremeChanged",
    "ForecastSnapshot",
    "HorizonSnapshot",
    "MarketRow",
    "MissingRowError",
    "ModelRecord",
    "NotificationResult",
    "ObservationsSeen",
    "PendingVenueCheck",
    "Record",
    "ReportTimed",
    "ReportsAssessed",
    "ScoringRow",
    "Store",
    "StoreError",
    "TrainingRow",
    "VenueChecked",
    "_rows",
    "count_rows",
    "describe",
    "diurnal_training",
    "event_markets",
    "is_transient",
    "new_edge_id",
    "recent_edges",
    "saved_calibration",
    "saved_diurnal",
    "scoring_rows",
    "settlement_summary",
    "training_rows",
    "unchecked_settlements",
    "unsettled_events",
]
