"""Home Assistant bridge: MQTT discovery of sensors and a halt switch.

Off unless ``homeassistant.enabled``. Once connected to the broker it publishes, retained:

- one discovery config per entity under ``<discovery_prefix>/<component>/<node_id>/<object>/config``
  (sensors: feed state, open edges, best edge, PnL today, mode, health; a switch: halt; a
  button: reload the config file),
  all grouped under one device and pointing at one availability topic;
- ``weatheredge/<node_id>/availability``: ``online`` now, ``offline`` on a clean stop, and the
  same ``offline`` as the connection's last will, so Home Assistant greys the entities out if
  the daemon dies or the network drops;
- ``weatheredge/<node_id>/state``: one JSON document every ``state_interval`` seconds (and at
  once after a halt/resume), which each entity reads with a ``value_template``.

It listens to ``<discovery_prefix>/status``: when Home Assistant announces ``online`` (its birth
message, after a restart) every config is published again. ``ON``/``OFF`` on
``weatheredge/<node_id>/halt/set`` calls the daemon's halt/resume hook; ``PRESS`` on
``weatheredge/<node_id>/reload/press`` reloads the config (as ``weatheredge reload`` does).

The broker connection is retried forever with capped backoff; the bridge never affects the
hot path or the rest of the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiomqtt
from aiohttp import web

from weatheredge import __version__ as VERSION
from weatheredge.config import HomeAssistantSettings
from weatheredge.daemon import Daemon

logger = logging.getLogger(__name__)

ON, OFF = "ON", "OFF"
PRESS = "PRESS"
BACKOFF_MAX_S = 30.0


def _entities() -> dict[str, dict[str, Any]]:
    """object_id -> (component, config fields) for every entity we publish."""
    return {
        "feed_state": {
            "component": "sensor",
            "name": "Feed state",
            "icon": "mdi:access-point-network",
            "value_template": "{{ value_json.feed_state }}",
        },
        "open_edges": {
            "component": "sensor",
            "name": "Open edges",
            "icon": "mdi:chart-bell-curve",
            "state_class": "measurement",
            "value_template": "{{ value_json.open_edges }}",
        },
        "best_edge": {
            "component": "sensor",
            "name": "Best edge",
            "icon": "mdi:trending-up",
            "state_class": "measurement",
            "unit_of_measurement": "USD/share",
            "suggested_display_precision": 3,
            "value_template": "{{ value_json.best_edge.value }}",
            "json_attributes_template": "{{ value_json.best_edge | tojson }}",
        },
        "pnl_today": {
            "component": "sensor",
            "name": "PnL today",
            "icon": "mdi:cash",
            "device_class": "monetary",
            "unit_of_measurement": "USD",
            "value_template": "{{ value_json.pnl_today }}",
        },
        "mode": {
            "component": "sensor",
            "name": "Mode",
            "icon": "mdi:shield-check",
            "value_template": "{{ value_json.mode }}",
        },
        "healthy": {
            "component": "binary_sensor",
            "name": "Problem",
            "device_class": "problem",
            # "problem" is ON when something is wrong.
            "value_template": "{{ 'OFF' if value_json.healthy else 'ON' }}",
        },
        "halt": {
            "component": "switch",
            "name": "Halt trading",
            "icon": "mdi:hand-back-left",
            "value_template": "{{ value_json.halted }}",
            "payload_on": ON,
            "payload_off": OFF,
            "state_on": ON,
            "state_off": OFF,
        },
        "reload": {
            "component": "button",
            "name": "Reload config",
            "icon": "mdi:file-refresh",
            "payload_press": PRESS,
        },
    }


def state_document(daemon: Daemon) -> dict[str, Any]:
    """What the entities show, from the same sources as the status page."""
    from weatheredge.webui.state import _shards, _trading

    engine = daemon.engine
    feed = daemon.stream.status() if daemon.stream is not None else {"mode": "disabled"}
    shards = _shards(feed)
    states = {str(s.get("state")) for s in shards}
    if not shards:
        feed_state = "disabled"
    elif len(states) == 1:
        feed_state = states.pop()
    else:
        up = sum(1 for s in shards if s.get("connected"))
        feed_state = f"degraded ({up}/{len(shards)} connected)"
    best: dict[str, Any] = {"value": 0.0}
    open_edges = 0
    if engine is not None:
        market = engine.market
        for key in market.open_edges():
            open_edges += 1
            ref, q = market.ref(key), market.quote(key)
            if ref is not None and q is not None and q.edge > best["value"]:
                best = {
                    "value": round(q.edge, 4),
                    "city": ref.event.city,
                    "date": ref.event.date.isoformat(),
                    "bucket": ref.market.label,
                    "side": ref.side.value,
                    "ask": q.price / 1_000_000,
                    "prob": round(q.prob, 4),
                }
    trading = _trading(daemon)
    pnl = None
    for k in ("pnl_today", "pnl_today_usd", "realized_pnl_today"):
        if trading.get(k) is not None:
            with contextlib.suppress(TypeError, ValueError):
                pnl = round(float(trading[k]), 2)
            break
    from weatheredge.status import DEGRADED, HEALTHY, health_verdict

    return {
        "feed_state": feed_state,
        "open_edges": open_edges,
        "best_edge": best,
        "pnl_today": pnl,
        "mode": daemon.settings.mode.value,
        "halted": ON if daemon.halted else OFF,
        "healthy": health_verdict(daemon)["state"] in (HEALTHY, DEGRADED),  # not while starting
    }


def pnl_today(database: str) -> float | None:
    """Realised PnL of today's fills (UTC day), from the database; None without trading tables."""
    import sqlite3
    from pathlib import Path

    from db.readonly import connect_read_only

    path = Path(database)
    if not path.exists():
        return None
    try:
        conn = connect_read_only(path, timeout=1.0, named_rows=False)
        try:
            row = conn.execute(
                "SELECT COALESCE(SUM(CAST(realized_pnl AS REAL)), 0) FROM trade_fills "
                "WHERE status <> 'FAILED' AND substr(matched_at, 1, 10) = date('now')"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:  # no trade_fills table (no trading migration) or a busy file
        return None
    return round(float(row[0]), 2)


async def call_halt(daemon: Daemon, halt: bool, reason: str = "Home Assistant switch") -> None:
    """Engage or release the daemon's kill switch."""
    if halt:
        await daemon.halt(reason)
    else:
        await daemon.resume()


class HomeAssistantBridge:
    def __init__(self, daemon: Daemon, settings: HomeAssistantSettings) -> None:
        self.daemon = daemon
        self.settings = settings
        node = settings.node_id
        self.base = f"weatheredge/{node}"
        self.availability_topic = f"{self.base}/availability"
        self.state_topic = f"{self.base}/state"
        self.command_topic = f"{self.base}/halt/set"
        self.reload_topic = f"{self.base}/reload/press"
        self.birth_topic = f"{settings.discovery_prefix}/status"
        self.connected = False
        self.announcements = 0  # discovery rounds published (tests, /status)
        self.errors = 0
        self._stop = asyncio.Event()
        self._poke = asyncio.Event()
        self._client: aiomqtt.Client | None = None

    # -- payloads ---------------------------------------------------------------------------

    def discovery(self) -> dict[str, dict[str, Any]]:
        """topic -> config payload, for every entity."""
        s = self.settings
        device = {
            "identifiers": [f"weatheredge_{s.node_id}"],
            "name": "weatheredge" if s.node_id == "weatheredge" else f"weatheredge {s.node_id}",
            "manufacturer": "weatheredge",
            "model": "Polymarket temperature edge daemon",
            "sw_version": VERSION,
        }
        out = {}
        for object_id, spec in _entities().items():
            config = {k: v for k, v in spec.items() if k != "component"}
            config.update(
                {
                    "unique_id": f"{s.node_id}_{object_id}",
                    "object_id": f"{s.node_id}_{object_id}",
                    "state_topic": self.state_topic,
                    "availability_topic": self.availability_topic,
                    "payload_available": "online",
                    "payload_not_available": "offline",
                    "device": device,
                    "origin": {"name": "weatheredge", "sw_version": VERSION},
                }
            )
            if spec["component"] == "switch":
                config["command_topic"] = self.command_topic
            elif spec["component"] == "button":  # stateless: pressed, never on or off
                del config["state_topic"]
                config["command_topic"] = self.reload_topic
            topic = f"{s.discovery_prefix}/{spec['component']}/{s.node_id}/{object_id}/config"
            out[topic] = config
        return out

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            try:
                await self._session()
                delay = 1.0
            except aiomqtt.MqttError as err:
                self.errors += 1
                if self.connected or self.errors == 1:
                    logger.warning("Home Assistant MQTT broker: %s; retrying", err)
                self.connected = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(BACKOFF_MAX_S, delay * 2)

    def stop(self) -> None:
        """Ask the bridge to say offline and disconnect; await the run() task to finish."""
        self._stop.set()

    def poke(self) -> None:
        """Publish the state now (after a halt/resume, say)."""
        self._poke.set()

    async def _session(self) -> None:
        s = self.settings
        will = aiomqtt.Will(self.availability_topic, "offline", qos=1, retain=True)
        client = aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=f"weatheredge-{s.node_id}",
            will=will,
            keepalive=30,
            timeout=10,
        )
        async with client:
            self._client = client
            self.connected = True
            logger.info("Home Assistant bridge connected to %s:%s", s.host, s.port)
            await client.subscribe(self.birth_topic, qos=1)
            await client.subscribe(self.command_topic, qos=1)
            await client.subscribe(self.reload_topic, qos=1)
            await self._announce(client)
            listener = asyncio.create_task(self._listen(client), name="ha-listen")
            try:
                while not self._stop.is_set():
                    await self._publish_state(client)
                    waits = [
                        asyncio.create_task(self._stop.wait()),
                        asyncio.create_task(self._poke.wait()),
                        listener,
                    ]
                    done, _ = await asyncio.wait(
                        waits, timeout=s.state_interval, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in waits[:2]:
                        task.cancel()
                    self._poke.clear()
                    if listener in done:
                        listener.result()  # re-raise the broker error
                        break
                # A clean stop: say so ourselves (the broker sends the will only on a drop).
                await client.publish(self.availability_topic, "offline", qos=1, retain=True)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await listener
                self._client = None
                self.connected = False

    async def _announce(self, client: aiomqtt.Client) -> None:
        for topic, config in self.discovery().items():
            await client.publish(topic, json.dumps(config), qos=1, retain=True)
        await client.publish(self.availability_topic, "online", qos=1, retain=True)
        self.announcements += 1
        await self._publish_state(client)

    async def _publish_state(self, client: aiomqtt.Client) -> None:
        doc = state_document(self.daemon)
        if doc["pnl_today"] is None and self.daemon.trading is not None:
            doc["pnl_today"] = await asyncio.to_thread(pnl_today, self.daemon.settings.database)
        await client.publish(self.state_topic, json.dumps(doc), qos=0, retain=True)

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            text = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
            if message.topic.matches(self.birth_topic):
                if text.strip() == "online":
                    logger.info("Home Assistant came online: republishing discovery")
                    await self._announce(client)
            elif message.topic.matches(self.reload_topic) and text.strip() == PRESS:
                reloader = self.daemon.reloader
                if reloader is not None:
                    reloader.trigger("Home Assistant button")
            elif message.topic.matches(self.command_topic):
                command = text.strip().upper()
                if command in (ON, OFF):
                    logger.warning(
                        "Home Assistant switch: %s", "halt" if command == ON else "resume"
                    )
                    await call_halt(self.daemon, command == ON)
                    await self._publish_state(client)
                else:
                    logger.warning("Home Assistant switch: ignored payload %.40r", text)


def cleanup_ctx(key: web.AppKey[Daemon]) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup_ctx that runs the bridge while the app runs (when enabled)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        daemon = app[key]
        settings = daemon.settings.homeassistant
        if not settings.enabled:
            yield
            return
        bridge = HomeAssistantBridge(daemon, settings)
        app[BRIDGE] = bridge
        task = asyncio.create_task(bridge.run(), name="homeassistant")
        try:
            yield
        finally:
            bridge.stop()
            try:
                await asyncio.wait_for(task, 3.0)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                logger.exception("Home Assistant bridge failed while stopping")

    return ctx


BRIDGE = web.AppKey("homeassistant_bridge", HomeAssistantBridge)
