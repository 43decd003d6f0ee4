"""The authenticated user channel (``/ws/user``): our order and trade events.

The subscription carries the CLOB API secret, so nothing here ever logs a frame we send. Trade
events are turned into :class:`TradeView` from our side (taker, or the maker orders that are
ours) and handed to the trader, which deduplicates on (trade id, status). The channel does not
replay what was missed, so every reconnect asks the trader to reconcile over REST first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import websockets

from weatheredge.ratelog import RateLimitedLog
from weatheredge.trading.gateway import OrderGateway, TradeView, UserChannelAuth
from weatheredge.trading.trader import Trader

logger = logging.getLogger(__name__)
_log = RateLimitedLog(logger)


_MAX_PRICE = Decimal(1)
_MAX_SHARES = Decimal(10**12)  # no book holds a trillion shares (model.prices.MAX_SIZE_MICROS)


def _amount(value: Any, upper: Decimal) -> Decimal:
    """A fill's price or size: finite, positive, at most ``upper``. ``NaN`` would poison every
    sum it enters (and raise on comparison), a negative size would unwind a position."""
    amount = Decimal(str(value))
    if not amount.is_finite() or not 0 < amount <= upper:
        raise ValueError(f"amount out of range: {str(value)[:20]}")
    return amount


def trades_from_event(
    event: dict[str, Any], api_key: str, log: RateLimitedLog = _log
) -> list[TradeView]:
    """Our fills in one ``trade`` event (empty if it is not ours or malformed)."""
    try:
        trade_id, status = str(event["id"]), str(event["status"]).removeprefix("TRADE_STATUS_")
        ts = int(str(event.get("timestamp") or "0"))
        at_ms = ts if ts > 10**12 else ts * 1000
        makers = event.get("maker_orders") or []
        ours_as_maker = any(m.get("owner") == api_key for m in makers)
        if event.get("trader_side") == "TAKER" or (
            event.get("owner") == api_key and not ours_as_maker
        ):
            return [
                TradeView(
                    trade_id,
                    str(event["taker_order_id"]),
                    str(event["asset_id"]),
                    str(event["side"]),
                    _amount(event["price"], _MAX_PRICE),
                    _amount(event["size"], _MAX_SHARES),
                    status,
                    "TAKER",
                    None,
                    at_ms,
                )
            ]
        out = []
        for m in event.get("maker_orders") or []:
            if m.get("owner") != api_key:
                continue
            out.append(
                TradeView(
                    f"{trade_id}:{m['order_id']}",
                    str(m["order_id"]),
                    str(m["asset_id"]),
                    str(m["side"]),
                    _amount(m["price"], _MAX_PRICE),
                    _amount(m["matched_amount"], _MAX_SHARES),
                    status,
                    "MAKER",
                    Decimal(0),
                    at_ms,
                )
            )
        return out
    except (KeyError, ValueError, ArithmeticError, TypeError, AttributeError):
        log("malformed_trade", "user channel: malformed trade event dropped")
        return []


class UserChannel:
    def __init__(
        self,
        url: str,
        auth: tuple[str, str, str],
        *,
        on_trade: Callable[[TradeView], None],
        on_reconnect: Callable[[], None],
        on_order: Callable[[dict[str, Any]], None] | None = None,
        heartbeat_s: float = 10.0,
        tape: Callable[..., None] | None = None,
    ) -> None:
        self.url = url
        self._tape = tape  # record(kind, fields, mono_ns): each frame as received
        self._auth = auth
        self._on_trade = on_trade
        self._on_reconnect = on_reconnect
        self._on_order = on_order or (lambda _e: None)
        self._heartbeat_s = heartbeat_s
        self.connects = 0
        self.connected = False
        self.bad_frames: Counter[str] = Counter()
        self._log = RateLimitedLog(logger)  # per channel: one bad peer, one budget

    def _subscribe_frame(self) -> str:
        key, secret, passphrase = self._auth
        return json.dumps(
            {"type": "user", "auth": {"apiKey": key, "secret": secret, "passphrase": passphrase}}
        )

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with websockets.connect(self.url, ping_interval=None) as ws:
                    await ws.send(self._subscribe_frame())
                    self.connects += 1
                    self.connected = True
                    delay = 0.5
                    if self.connects > 1:
                        self._on_reconnect()  # a gap: REST reconciliation before trusting us
                    pinger = asyncio.create_task(self._ping(ws))
                    try:
                        async for frame in ws:
                            if self._tape is not None:
                                raw = {"epoch": self.connects, "raw": frame}
                                self._tape("user", raw, time.perf_counter_ns())
                            self._handle(frame)
                    finally:
                        pinger.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await pinger
            except asyncio.CancelledError:
                raise
            except Exception as err:  # never the frame text: the subscription holds a secret
                logger.warning("user channel lost: %s", type(err).__name__)
            self.connected = False
            await asyncio.sleep(random.uniform(0, delay))
            delay = min(30.0, delay * 2)

    async def _ping(self, ws: Any) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            await ws.send("PING")

    def _handle(self, frame: str | bytes) -> None:
        if frame in ("PONG", b"PONG"):
            return
        try:
            data = json.loads(frame)
        except (ValueError, RecursionError) as err:  # never the text: it may be ours, with a key
            self.bad_frames[type(err).__name__] += 1
            self._log(
                "bad_frame", "user channel: undecodable frame dropped (%s)", type(err).__name__
            )
            return
        events: Iterable[Any] = data if isinstance(data, list) else [data]
        for event in events:
            if not isinstance(event, dict):
                continue
            if event.get("event_type") == "trade":
                for trade in trades_from_event(event, self._auth[0], self._log):
                    self._on_trade(trade)
            elif event.get("event_type") == "order":
                self._on_order(event)


def start_user_channel(
    url: str, gateway: OrderGateway | None, trader: Trader, tape: Callable[..., None] | None = None
) -> asyncio.Task[None] | None:
    if not isinstance(gateway, UserChannelAuth):
        return None
    on_trade, on_reconnect = trader.on_trade_event, trader.request_reconcile
    if tape is not None:  # what the trader was handed, when: a replay's tape venue hands it too

        def on_trade(trade: TradeView) -> None:
            tape("user_trade", trade)
            trader.on_trade_event(trade)

        def on_reconnect() -> None:
            tape("user_reconnect", {"reconcile": True})
            trader.request_reconcile()

    channel = UserChannel(
        url,
        gateway.api_credentials,
        on_trade=on_trade,
        on_reconnect=on_reconnect,
        tape=tape,
    )
    return asyncio.create_task(channel.run(), name="user-channel")
