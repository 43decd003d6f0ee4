"""The renotify policy: which engine signals become pushed edge messages.

Runs on the outbox's side (``Notifier(screen=EdgeAlerts(...).message_for)``, in a loop callback
after the hot path's), never inside the hot path: ``EdgeSink`` only hands the signal over.
Openings are pushed unless the feed interrupted the same edge moments ago
(:class:`~weatheredge.model.renotify.RenotifyGuard`); closes only with ``notify.on_close``.
Settings are read per signal, so a reload applies to the next one.
"""

from __future__ import annotations

from collections.abc import Callable

from weatheredge.config import NotifySettings
from weatheredge.engine import EdgeSignal
from weatheredge.messages import EdgeMessage
from weatheredge.model.edge import Change
from weatheredge.model.renotify import RenotifyGuard
from weatheredge.sinks import edge_message


class EdgeAlerts:
    def __init__(self, settings: Callable[[], NotifySettings]) -> None:
        self._settings = settings
        self._guard = RenotifyGuard(settings().renotify_window)

    def message_for(self, signal: EdgeSignal) -> EdgeMessage | None:
        """The message to push for this change, or None. Sees every change, in order."""
        settings = self._settings()
        self._guard.window_s = settings.renotify_window
        price = signal.quote.price if signal.quote is not None else None
        key = (signal.market.market_id, signal.side.value, signal.kind)
        # The signal's own time, not the outbox's: the queue may lag behind the frame.
        now = signal.at.timestamp()
        fresh = self._guard.observe(signal.change.value, key, price, signal.reason, now)
        if fresh or (signal.change is Change.CLOSE and settings.on_close):
            return edge_message(signal)
        return None
