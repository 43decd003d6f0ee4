"""Settlement: positions paid out once the venue has resolved their event.

:class:`Settler` owns the venue winners known to this run (event -> the market resolved YES and
where that was read) and when the recorded resolutions were last read. A winner comes from a
``market_resolved`` frame (``MarketView.venue_winner``), from the runtime's venue check
(:meth:`Settler.on_resolution`), or from ``settlements.venue_market_id`` as the settlement job
recorded it, read at most every ``poll_s`` seconds while a held event is unresolved. Our own
settlement from station reports never moves money.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

from weatheredge.clock import SYSTEM, Clock
from weatheredge.trading.flags import Counters
from weatheredge.trading.holdings import Holdings
from weatheredge.trading.ledger import Ledger
from weatheredge.trading.messages import TradeMessages
from weatheredge.trading.portfolio import Position, _txt, resolution_payout
from weatheredge.trading.view import MarketView

logger = logging.getLogger(__name__)

FRAME, VENUE_CHECK = "market_resolved", "venue check"  # where a venue winner was read


class Settler:
    def __init__(
        self,
        *,
        ledger: Ledger,
        view: MarketView,
        holdings: Holdings,
        messages: TradeMessages,
        counters: Counters,
        on_settled: Callable[[str], Awaitable[None]],
        poll_s: float,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self.ledger = ledger
        self.view = view
        self._holdings = holdings
        self._messages = messages
        self._counters = counters
        self._on_settled = on_settled  # token -> its open exit episode ends
        self._poll_s = poll_s
        self._winners: dict[str, tuple[str, str]] = {}  # event -> (YES market, where read)
        self._read_at = -math.inf  # monotonic time settlements were last read

    def on_resolution(self, event_id: str, market_id: str, source: str = VENUE_CHECK) -> None:
        self._winners.setdefault(event_id, (market_id, source))

    def request_check(self) -> None:
        self._read_at = -math.inf

    async def settle_resolved(self) -> None:
        """Settle every held position whose event the venue has resolved.

        Exactly once per position: the settlement empties it in the same transaction that
        records the settlement fill, so a repeated signal or a restart finds nothing left to
        settle. Shares that arrive later (a fill reported after the resolution) are settled by
        a further settlement fill of their own.
        """
        held = [p for p in self._holdings.held() if p.event_id]
        if not held:
            return
        for event_id in {p.event_id for p in held} - set(self._winners):
            assert event_id is not None
            market_id = self.view.venue_winner(event_id)
            if market_id is not None:
                self._winners[event_id] = (market_id, FRAME)
        unknown = sorted({str(p.event_id) for p in held} - set(self._winners))
        now = self._clock.monotonic()
        if unknown and now - self._read_at >= self._poll_s:
            self._read_at = now
            for event_id, market_id in (await self.ledger.venue_winners(unknown)).items():
                self._winners[event_id] = (market_id, VENUE_CHECK)
        for pos in held:
            winner = self._winners.get(str(pos.event_id))
            if winner is not None:
                await self._settle(pos, *winner)

    async def _settle(self, pos: Position, winner: str, source: str) -> None:
        if pos.market_id is None or pos.outcome is None:
            self._counters.add("unsettleable_positions")
            return
        payout = resolution_payout(pos.market_id, pos.outcome, winner)
        if payout is None:
            self._counters.add("unsettleable_positions")
            return
        avg = pos.avg_price
        won = "won" if payout else "lost"
        reason = f"venue resolved market {winner} YES ({source}): {pos.outcome} {won}"
        episode = {
            "kind": "settlement",
            "token_id": pos.token_id,
            "event_id": pos.event_id,
            "outcome": pos.outcome,
            "status": "closed",
            "reason": reason,
            "price": _txt(payout),
        }
        done = await self._holdings.settle(pos, payout, episode)
        if done is None:
            return
        settled, fill = done
        self._counters.add("settlements")
        await self._on_settled(pos.token_id)
        logger.info(
            "settled %s %s: %s shares at %s, realised %s (%s)",
            pos.token_id[:12], pos.outcome, _txt(fill.size), _txt(payout), _txt(fill.realized),
            source,
        )  # fmt: skip
        self._messages.settled(settled, avg, fill.size, payout, fill.realized, reason,
                               fill.trade_id)  # fmt: skip
