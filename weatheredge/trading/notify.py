"""The outbox as the trader sees it: ``send(kind, title, body, ref)``.

Trading messages share the daemon's one outbox (:class:`weatheredge.notify.Notifier`, its
``post``): same queue, same apprise sender, same ``notifications`` records (kind
``trade_<kind>``). Per-kind ``on`` / ``silent`` / ``off`` levels and digests are the outbox's.
This class is the stand-alone form, for a trader without a daemon (tests, tools).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from weatheredge.config import TradingNotifySettings
from weatheredge.notify import Delivery, Notifier, TradeMessage

__all__ = ["TradeMessage", "TradeNotifier"]


class TradeNotifier(Notifier):
    def __init__(
        self,
        urls: Sequence[str],
        levels: TradingNotifySettings,
        *,
        record: Callable[[Delivery], None] | None = None,
        deliver: Callable[[str, str], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(urls, levels=levels, record=record, deliver=deliver, clock=clock)

    def send(self, kind: str, title: str, body: str, ref: str | None = None) -> None:  # type: ignore[override]
        """Queue a trading message. Never blocks, never raises."""
        self.post(kind, title, body, ref)
