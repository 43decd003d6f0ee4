"""Composition of the trading subsystem for the daemon: ledger, gateway, trader; its messages
go through the daemon's one outbox.

Live mode places orders only when all three hold: ``mode: live``, keys present, and armed
(``armed: true`` in the config, or ``weatheredge arm`` recorded in the database). Otherwise
the daemon still runs, records edges, and says loudly why it does not trade.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from weatheredge.config import Mode, PolymarketSettings, Settings, TradingSettings
from weatheredge.engine import EdgeSignal, Engine
from weatheredge.feed.manager import FeedManager
from weatheredge.model.live import LiveState
from weatheredge.notify import Notifier
from weatheredge.redact import install_redaction
from weatheredge.trading.gateway import OrderGateway
from weatheredge.trading.ledger import Ledger, use_clock
from weatheredge.trading.ledger_files import read_state
from weatheredge.trading.paper import PaperGateway
from weatheredge.trading.trader import EngineView, Trader

logger = logging.getLogger(__name__)


class TradingRefused(Exception):
    """Live mode asked for, but not armed or without keys. The message is safe to print."""


def is_armed(settings: Settings) -> bool:
    return settings.armed or read_state(settings.database, "armed") == "1"


def _custom_clob(settings: Settings) -> str | None:
    """The configured CLOB base URL when it is not Polymarket's own (a sandbox), else None."""
    clob = settings.polymarket.clob_url.rstrip("/")
    return None if clob == PolymarketSettings().clob_url.rstrip("/") else clob


def sdk_environment(settings: Settings) -> Any:
    """The SDK's environment: production, or (``polymarket.clob_url`` changed) one whose every
    URL (CLOB, Gamma, data, relayer, RPC, WebSockets) is that host, so nothing can leak to a
    real one."""
    clob = _custom_clob(settings)
    if clob is None:
        return None
    from weatheredge.trading.sdk import environment_for

    return environment_for(clob)


def user_ws_url(settings: Settings) -> str:
    """``trading.user_ws_url``; left at its default with a custom CLOB host, that host's."""
    url = settings.trading.user_ws_url
    clob = _custom_clob(settings)
    if clob is None or url != TradingSettings().user_ws_url:
        return url
    return clob.replace("https://", "wss://").replace("http://", "ws://") + "/ws/user"


class TradeTape(Protocol):
    """What trading records on the tape (``weatheredge.tape.Recorder``, handed in by the
    composition root: trading never imports the tape)."""

    def record(self, kind: str, fields: Any = None, mono_ns: int | None = None) -> None: ...


@dataclass(slots=True)
class Trading:
    trader: Trader
    ledger: Ledger
    notifier: Notifier  # the daemon's outbox, shared (closed by the daemon)
    gateway: OrderGateway | None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def on_signal(self, signal: EdgeSignal) -> None:
        self.trader.on_signal(signal)

    async def halt(self, reason: str = "manual", cancel: bool | None = None) -> int:
        return await self.trader.halt(reason, cancel=cancel)

    async def resume(self) -> None:
        await self.trader.resume()

    def status(self) -> dict[str, Any]:
        return self.trader.status()

    async def close(self) -> None:
        await self.trader.shutdown()  # no decision in flight, then every resting quote cancelled
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 1.0)
        with contextlib.suppress(Exception):  # nobody watches them once the daemon is gone
            await self.ledger.close_open_episodes("daemon stopped")
        if self.gateway is not None:
            with contextlib.suppress(Exception):
                await self.gateway.close()
        await self.ledger.close()


def _poll_timing(settings: Settings) -> Any:
    from weatheredge.model.report_schedule import PollTiming

    m = settings.model
    return PollTiming(m.observation_fast, m.observation_slow, m.observation_lead,
                      m.observation_give_up)  # fmt: skip


async def start_trading(
    settings: Settings,
    *,
    engine: Engine,
    stream: Callable[[], FeedManager | None],
    notifier: Notifier,
    env: Mapping[str, str] | None = None,
    gateway: OrderGateway | None = None,
    tape: TradeTape | None = None,
    live: LiveState | None = None,
) -> Trading:
    """Build and start trading for the configured mode. Raises TradingRefused for live mode
    without keys or arming (the caller keeps running without trading)."""
    t = settings.trading
    mode = settings.mode
    if mode is Mode.LIVE and gateway is None:
        if not is_armed(settings):
            raise TradingRefused(
                "LIVE mode is NOT ARMED: no order will be placed. "
                "Run `weatheredge arm -c CONFIG` (or set armed: true) after reading "
                "docs/going-live.md"
            )
        from weatheredge.trading.sdk import CredentialsError, SdkGateway, load_credentials

        try:
            creds = load_credentials(t.key_file, os.environ if env is None else env)
        except CredentialsError as err:
            raise TradingRefused(f"LIVE mode without keys: {err}") from None
        install_redaction(creds.secrets())
        gateway = await SdkGateway.connect(creds, environment=sdk_environment(settings))
    ledger = Ledger.open(settings.database)
    use_clock(engine.clock)
    traders: list[Trader] = []  # resting paper orders' fills go to the trader, once it exists
    if mode is Mode.PAPER and gateway is None:
        paper = PaperGateway(
            engine.market.book, ledger, clock=engine.clock,
            on_fill=lambda trade: [t.on_trade_event(trade) for t in traders],
        )  # fmt: skip
        await paper.load()  # what earlier runs took: never the same offer twice
        engine.set_tap(paper.tap)  # prints and level changes of the tokens paper orders rest on
        gateway = paper
    if tape is not None:
        ledger.tape = tape.record
        if gateway is not None and not isinstance(gateway, PaperGateway):
            from weatheredge.trading.gateway_tape import TapedGateway

            gateway = TapedGateway(gateway, tape.record)  # the venue's answers, for a replay
    from weatheredge.trading.maker_view import EngineMakerView

    maker_inputs = EngineMakerView(engine, live, _poll_timing(settings))
    trader = Trader(
        maker_inputs=maker_inputs,
        mode=mode,
        settings=t,
        ledger=ledger,
        gateway=gateway,
        view=EngineView(engine, stream),
        notify=notifier.post if mode is not Mode.DRY_RUN else None,
        clock=engine.clock,
    )
    traders.append(trader)
    maker_inputs.set_wake(trader.maker.poke)  # taker mode keeps its tick, not every frame
    trading = Trading(trader, ledger, notifier, gateway)
    trading.tasks.append(trader.start())
    if t.heartbeat and mode is Mode.LIVE:
        trading.tasks.append(asyncio.create_task(trader.heartbeat_loop(), name="heartbeat"))
    if mode is Mode.LIVE:
        from weatheredge.trading.userchannel import start_user_channel

        task = start_user_channel(
            user_ws_url(settings), gateway, trader, tape=None if tape is None else tape.record
        )
        if task is not None:
            trading.tasks.append(task)
    logger.info("trading ready in %s mode", mode.value)
    return trading
