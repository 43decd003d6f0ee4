"""The built-in sandbox: simulated Polymarket and weather services on 127.0.0.1.

``Sandbox`` starts three real servers — the venue (Gamma, CLOB REST, market WebSocket), the
weather services (Open-Meteo ensemble/forecast, aviationweather METAR, the NWS API relay, HKO
and CWA open data) and a notification sink that apprise's ``json://`` scheme can post to — and
plays the scripted day of ``scenario`` with the seeded taker flow of ``flow`` on top.
``weatheredge demo``, the tests and the benchmarks all run against it.

Everything it seeds or serves that depends on "now" (the scripted events' days, the seeded
reports, which reports are visible, the forecasts' "today", frame timestamps) reads one
injected :class:`~weatheredge.clock.Clock`: the machine's by default; a test hands the same
clock to the sandbox and to the Engine its jobs run on, so both agree on the time of day.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from weatheredge.clock import SYSTEM, Clock
from weatheredge.sandbox import flow, moves, scenario
from weatheredge.sandbox.exchange import Exchange
from weatheredge.sandbox.venue import Venue, create_venue_app
from weatheredge.sandbox.weather import WeatherState
from weatheredge.sandbox.weather_http import create_weather_app


@dataclass(frozen=True, slots=True)
class SandboxUrls:
    gamma_url: str
    clob_url: str
    ws_url: str
    ensemble_url: str
    forecast_url: str
    metar_url: str
    nws_url: str
    hko_url: str
    cwa_url: str
    notify_url: str  # an apprise URL (json://…) that lands in Sandbox.notifications


def _sink_app(received: list[dict[str, Any]]) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        try:
            received.append(await request.json())
        except ValueError:
            return web.json_response({"error": "expected JSON"}, status=400)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/{path:.*}", receive)
    return app


@dataclass
class Sandbox:
    host: str = "127.0.0.1"
    port: int = 0  # first port; the others follow, or any free ports when 0
    cycle_s: float = moves.CYCLE_S
    first_edge_after_s: float = 2.0
    clock: Clock = SYSTEM
    flow_interval_s: float | None = flow.FLOW_INTERVAL_S  # None: no taker flow
    flow_seed: int = flow.SEED
    flow_refill_s: float = flow.REFILL_S
    # Built from ``clock`` so the venue and the weather services cannot disagree with it.
    venue: Venue = field(init=False)
    exchange: Exchange = field(init=False)  # order endpoints + /ws/user on the venue's port
    weather: WeatherState = field(init=False)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    quoted: list[scenario.Quoted] = field(default_factory=list)
    _runners: list[web.AppRunner] = field(default_factory=list)
    _script: asyncio.Task[None] | None = None
    taker_flow: flow.TakerFlow | None = None
    _flow_task: asyncio.Task[None] | None = None
    urls: SandboxUrls | None = None

    def __post_init__(self) -> None:
        self.venue = Venue(clock=self.clock.time)
        self.exchange = Exchange(self.venue)
        self.weather = WeatherState(clock=self.clock.now)

    async def start(self, *, play: bool = True) -> SandboxUrls:
        venue_app = create_venue_app(self.venue)
        self.exchange.add_routes(venue_app)
        apps = [
            venue_app,
            create_weather_app(self.weather),
            _sink_app(self.notifications),
        ]
        ports = []
        for offset, app in enumerate(apps):
            runner = web.AppRunner(app, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.port + offset if self.port else 0)
            await site.start()
            self._runners.append(runner)
            ports.append(runner.addresses[0][1])
        venue, weather, sink = (f"{self.host}:{p}" for p in ports)
        self.urls = SandboxUrls(
            gamma_url=f"http://{venue}",
            clob_url=f"http://{venue}",
            ws_url=f"ws://{venue}/ws/market",
            ensemble_url=f"http://{weather}/v1/ensemble",
            forecast_url=f"http://{weather}/v1/forecast",
            metar_url=f"http://{weather}/api/data/metar",
            nws_url=f"http://{weather}",
            hko_url=f"http://{weather}/weatherAPI/hko_data/regional-weather/latest_1min_temperature.csv",
            cwa_url=f"http://{weather}/api/v1/rest/datastore/O-A0003-001",
            notify_url=f"json://{sink}/sandbox-webhook",
        )
        self.quoted = scenario.install(self.venue, self.weather, self.clock.now())
        if play:
            self._script = asyncio.create_task(
                moves.play(
                    self.venue,
                    self.quoted,
                    cycle_s=self.cycle_s,
                    first_edge_after_s=self.first_edge_after_s,
                ),
                name="sandbox-script",
            )
            if self.flow_interval_s is not None:
                self.taker_flow = flow.TakerFlow(
                    self.venue,
                    self.quoted,
                    self.exchange.sweep,
                    seed=self.flow_seed,
                    refill_s=self.flow_refill_s,
                )
                self._flow_task = asyncio.create_task(
                    self.taker_flow.run(self.flow_interval_s), name="sandbox-flow"
                )
        return self.urls

    async def _stop_script(self) -> None:
        for task in (self._script, self._flow_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._script = self._flow_task = None

    async def resolve(self, *events: scenario.Quoted) -> None:
        """The venue resolves ``events`` (each to its likeliest bucket): the script and the
        flow stop (they move books that then vanish), Gamma shows the markets closed and the
        market channel sends ``market_resolved``."""
        await self._stop_script()
        for q in events:
            winner = max(range(len(q.probs)), key=q.probs.__getitem__)
            for i, market in enumerate(q.event["markets"]):
                self.venue.resolve_market(market["conditionId"], "Yes" if i == winner else "No")

    async def stop(self) -> None:
        await self._stop_script()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    def config_yaml(
        self, database: str, *, web_port: int = 0, extra: str = "", weather_extra: str = ""
    ) -> str:
        """A weatheredge config pointing every external URL at this sandbox.

        ``extra`` is appended as top-level YAML; ``weather_extra`` goes inside ``weather:``
        (indented two spaces), e.g. ``stations: {...}``.
        """
        assert self.urls is not None, "start() first"
        u = self.urls
        return f"""\
database: {json.dumps(database)}
polymarket:
  gamma_url: {u.gamma_url}
  clob_url: {u.clob_url}
  ws_url: {u.ws_url}
weather:
  ensemble_url: {u.ensemble_url}
  forecast_url: {u.forecast_url}
  metar_url: {u.metar_url}
  nws_url: {u.nws_url}
  hko_url: {u.hko_url}
  cwa_url: {u.cwa_url}
  cwa_api_key: sandbox-cwa-key
{weather_extra}notify:
  urls: ["{u.notify_url}"]
web:
  host: 127.0.0.1
  port: {web_port}
{extra}"""

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
