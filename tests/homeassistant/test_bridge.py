"""The Home Assistant MQTT bridge against a real mosquitto broker on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest
from aiohttp import web

from tests.conftest import eventually
from weatheredge.config import load_config, parse_config
from weatheredge.daemon import DAEMON
from weatheredge.homeassistant import BRIDGE
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox

MOSQUITTO = shutil.which("mosquitto") or (
    "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
)
pytestmark = pytest.mark.skipif(
    MOSQUITTO is None, reason="no mosquitto binary (apt-get install mosquitto)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    assert MOSQUITTO is not None
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "log_dest stderr\nlog_type error\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
            assert time.monotonic() < deadline, "mosquitto did not start"
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Observer:
    """An MQTT client standing in for Home Assistant: records everything it sees."""

    def __init__(self) -> None:
        self.seen: dict[str, list[tuple[str, bool]]] = defaultdict(list)

    def last(self, topic: str) -> str | None:
        return self.seen[topic][-1][0] if self.seen.get(topic) else None

    def configs(self) -> dict[str, dict]:
        return {t: json.loads(v[-1][0]) for t, v in self.seen.items() if t.endswith("/config")}

    def state(self) -> dict:
        return json.loads(self.last("weatheredge/weatheredge/state") or "{}")


@contextlib.asynccontextmanager
async def observer(port: int) -> AsyncIterator[tuple[Observer, aiomqtt.Client]]:
    obs = Observer()
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe("homeassistant/#")
        await client.subscribe("weatheredge/#")

        async def collect() -> None:
            async for msg in client.messages:
                payload = (
                    msg.payload.decode() if isinstance(msg.payload, bytes) else str(msg.payload)
                )
                obs.seen[str(msg.topic)].append((payload, bool(msg.retain)))

        task = asyncio.create_task(collect())
        try:
            yield obs, client
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def daemon_app(box: Sandbox, db: Path, extra: str) -> AsyncIterator[web.Application]:
    app = make_app(parse_config(box.config_yaml(str(db), extra=extra), env={}))
    runner = await serve(app, asyncio.Event())
    try:
        yield app
    finally:
        await runner.cleanup()


HA = "homeassistant:\n  enabled: true\n  host: 127.0.0.1\n  port: {port}\n  state_interval: 0.3\n"
AVAILABILITY = "weatheredge/weatheredge/availability"
COMMAND = "weatheredge/weatheredge/halt/set"


@pytest.mark.timeout(30)
async def test_discovery_switch_birth_and_last_will(
    broker: int, sandbox: Sandbox, tmp_path: Path
) -> None:
    async with observer(broker) as (obs, ha):
        async with daemon_app(sandbox, tmp_path / "we.db", HA.format(port=broker)) as app:
            daemon = app[DAEMON]
            await eventually(lambda: len(obs.configs()) == 8 and obs.last(AVAILABILITY) == "online")
            configs = obs.configs()
            kinds = sorted(t.split("/")[1] for t in configs)
            assert kinds == ["binary_sensor", "button", *["sensor"] * 5, "switch"]
            for topic, cfg in configs.items():
                assert topic.startswith("homeassistant/") and topic.endswith("/config")
                assert cfg["availability_topic"] == AVAILABILITY
                if "/button/" not in topic:  # a button has no state
                    assert cfg["state_topic"] == "weatheredge/weatheredge/state"
                assert cfg["device"]["identifiers"] == ["weatheredge_weatheredge"]
                assert cfg["unique_id"].startswith("weatheredge_")
            # Retained: Home Assistant starting later still finds every entity.
            async with observer(broker) as (late, _):
                await eventually(lambda: len(late.configs()) == 8)
                assert all(late.seen[t][0][1] for t in late.configs())  # the retain flag
                await eventually(lambda: late.last(AVAILABILITY) == "online")
            switch = configs["homeassistant/switch/weatheredge/halt/config"]
            assert switch["command_topic"] == COMMAND
            names = {c["name"] for c in configs.values()}
            assert {"Feed state", "Open edges", "Best edge", "PnL today", "Mode"} <= names

            # The state document the entities read.
            await eventually(lambda: obs.state().get("open_edges", 0) >= 1, within=15)
            state = obs.state()
            assert state["mode"] == "dry_run" and state["halted"] == "OFF"
            assert state["feed_state"] == "live"
            assert state["best_edge"]["value"] >= 0.05 and state["best_edge"]["city"]
            # Nothing traded today: 0 with trading running, None ("unknown" in HA) without.
            assert state["pnl_today"] in (None, 0.0)

            # The switch halts and resumes the daemon.
            await ha.publish(COMMAND, "ON", qos=1)
            await eventually(lambda: daemon.halted and obs.state().get("halted") == "ON")
            await ha.publish(COMMAND, "OFF", qos=1)
            await eventually(lambda: not daemon.halted and obs.state().get("halted") == "OFF")

            # Home Assistant restarts: its birth message makes us publish everything again.
            bridge = app[BRIDGE]
            before = bridge.announcements
            count = len(obs.seen["homeassistant/switch/weatheredge/halt/config"])
            await ha.publish("homeassistant/status", "online", qos=1)
            await eventually(lambda: bridge.announcements == before + 1)
            await eventually(
                lambda: len(obs.seen["homeassistant/switch/weatheredge/halt/config"]) > count
            )

            # The connection drops without a DISCONNECT: the broker publishes our last will,
            # then the bridge reconnects and says it is online again.
            obs.seen[AVAILABILITY].clear()
            paho = bridge._client._client  # type: ignore[union-attr]
            paho.socket().shutdown(socket.SHUT_RDWR)
            await eventually(lambda: obs.last(AVAILABILITY) == "offline", within=10)
            await eventually(lambda: obs.last(AVAILABILITY) == "online", within=10)
            assert bridge.connected
        # A clean stop says offline too.
        await eventually(lambda: obs.last(AVAILABILITY) == "offline", within=5)


async def test_bridge_is_off_unless_enabled(sandbox: Sandbox, tmp_path: Path) -> None:
    async with daemon_app(sandbox, tmp_path / "we.db", "") as app:
        assert app[DAEMON].settings.homeassistant.enabled is False
        assert BRIDGE not in app


RELOAD = "weatheredge/weatheredge/reload/press"


@pytest.mark.timeout(30)
async def test_reload_button(broker: int, sandbox: Sandbox, tmp_path: Path) -> None:
    """The button reloads the daemon's config file, like `weatheredge reload`."""
    cfg = tmp_path / "config.yaml"
    text = sandbox.config_yaml(str(tmp_path / "we.db"), extra=HA.format(port=broker))
    cfg.write_text(text)
    app = make_app(load_config(cfg))
    runner = await serve(app, asyncio.Event())
    try:
        async with observer(broker) as (obs, ha):
            button = "homeassistant/button/weatheredge/reload/config"
            await eventually(lambda: button in obs.configs())
            config = obs.configs()[button]
            assert config["command_topic"] == RELOAD and config["payload_press"] == "PRESS"
            assert config["name"] == "Reload config" and "state_topic" not in config
            cfg.write_text(text + "min_edge: 0.3\n")
            await eventually(lambda: app[BRIDGE].connected)
            await ha.publish(RELOAD, "PRESS", qos=1)
            daemon = app[DAEMON]
            await eventually(lambda: daemon.engine.min_edge == 0.3)
            assert daemon.reloader.status()["last_reload"]["source"] == "Home Assistant button"
    finally:
        await runner.cleanup()
