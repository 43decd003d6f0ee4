"""Which edge openings deserve a push, once the feed has interrupted them.

Episodes must close when their book can no longer be trusted (a dropped socket, a stale or
desynced book), so a reconnect closes an edge and, seconds later, reopens it as a new episode.
The user was already told about that edge: within ``window_s`` of such an interruption, a
reopening on the same side of the same market at a price no better is recorded but not pushed.
A better price, a different close reason, or a longer gap pushes as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Close reasons that say "we stopped trusting the book", not "the edge went away".
FEED_REASONS = ("feed lost", "book stale", "book desynced", "book not synced")


@dataclass(slots=True)
class RenotifyGuard:
    window_s: float = 300.0
    _price: dict[tuple[str, str, str], int] = field(default_factory=dict)  # open episodes
    _interrupted: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)

    def observe(
        self, change: str, key: tuple[str, str, str], price: int | None, reason: str, now: float
    ) -> bool:
        """Track one episode change; True when an opening should be pushed.

        ``change`` is "open", "update" or "close"; ``price`` the ask in micro-units (None on a
        close without a quote); ``key`` identifies market, side and edge kind.
        """
        if change == "close":
            last = self._price.pop(key, None)
            if last is not None and reason.startswith(FEED_REASONS) and self.window_s > 0:
                self._interrupted[key] = (now, last)
            else:
                self._interrupted.pop(key, None)
            return False
        if price is not None:
            self._price[key] = price
        if change != "open":
            return False
        before = self._interrupted.pop(key, None)
        self._forget_old(now)
        if before is None or price is None:
            return True
        at, old_price = before
        return now - at > self.window_s or price < old_price

    def _forget_old(self, now: float) -> None:
        stale = [k for k, (at, _) in self._interrupted.items() if now - at > self.window_s]
        for key in stale:
            del self._interrupted[key]
