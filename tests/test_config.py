"""Config loading: defaults, every error named by its key path, secrets, env overrides."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from weatheredge.config import ConfigError, Mode, load_config, parse_config

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_is_valid_and_matches_defaults() -> None:
    shipped = load_config(REPO / "config.yaml", env={}).settings
    defaults = parse_config("", env={}).settings
    # The one difference: a path in a file is taken relative to that file.
    assert shipped.database == str(REPO / defaults.database)
    assert msgspec.structs.replace(shipped, database=defaults.database) == defaults
    assert shipped.mode is Mode.DRY_RUN


def test_every_problem_is_named_by_its_path() -> None:
    text = """
mode: yolo
min_edge: 2
colour: blue
polymarket: {ws_url: not-a-url, extra: 1}
websocket: {heartbeat_interval: 30}
weather: {stations: {XHKO: {latitude: 95, timezone: Asia/Hong_Kong}}}
"""
    with pytest.raises(ConfigError) as err:
        parse_config(text, env={})
    problems = "\n".join(err.value.problems)
    for path in (
        "$.mode",
        "$.min_edge",
        "$.colour: unknown key",
        "$.polymarket.ws_url",
        "$.polymarket.extra: unknown key",
        "$.websocket.heartbeat_interval",
        "$.weather.stations.XHKO.latitude",
        "$.weather.stations.XHKO.longitude: required key is missing",
    ):
        assert path in problems
    assert len(err.value.problems) == 8


def test_env_overrides_the_three_websocket_settings() -> None:
    env = {"USE_WEBSOCKET": "false", "WS_RECONNECT_ATTEMPTS": "5", "WS_HEARTBEAT_INTERVAL": "7.5"}
    ws = parse_config("websocket: {enabled: true}", env=env).settings.websocket
    assert (ws.enabled, ws.reconnect_attempts, ws.heartbeat_interval) == (False, 5, 7.5)


def test_bad_env_override_is_reported_by_path() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("", env={"WS_RECONNECT_ATTEMPTS": "-1"})
    assert any(p.startswith("$.websocket.reconnect_attempts") for p in err.value.problems)


def test_secret_and_env_tags(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("hook: json://127.0.0.1:9/token-xyz\n")
    os.chmod(tmp_path / "secrets.yaml", 0o600)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("notify:\n  urls: [!secret hook, !env OTHER_HOOK]\n")
    loaded = load_config(cfg, env={"OTHER_HOOK": "ntfy://topic-secret"})
    assert loaded.settings.notify.urls == ["json://127.0.0.1:9/token-xyz", "ntfy://topic-secret"]
    assert loaded.secrets == {"json://127.0.0.1:9/token-xyz", "ntfy://topic-secret"}


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("hook: json://x/y\n")
    os.chmod(tmp_path / "secrets.yaml", 0o644)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("notify: {urls: [!secret hook]}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg, env={})
    assert "0600" in str(err.value)
    assert "json://x/y" not in str(err.value)


def test_missing_secret_and_env_are_errors(tmp_path: Path) -> None:
    (tmp_path / "secrets.yaml").write_text("other: 1\n")
    os.chmod(tmp_path / "secrets.yaml", 0o600)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("notify: {urls: [!secret hook, !env NOPE]}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg, env={})
    assert len(err.value.problems) == 2


def test_check_config_cli_exit_codes(tmp_path: Path) -> None:
    # The shipped config, on a port nobody else on this machine is using.
    shipped = tmp_path / "config.yaml"
    shipped.write_text((REPO / "config.yaml").read_text().replace("port: 8787", "port: 0"))
    good = subprocess.run(
        [sys.executable, "-m", "weatheredge", "check-config", "-c", str(shipped)],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr
    bad_cfg = tmp_path / "bad.yaml"
    bad_cfg.write_text("min_edge: -1\nweb: {port: 99999, hots: x}\n")
    bad = subprocess.run(
        [sys.executable, "-m", "weatheredge", "check-config", "-c", str(bad_cfg)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    for path in ("$.min_edge", "$.web.port", "$.web.hots"):
        assert path in bad.stderr


def test_unreadable_config_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(tmp_path / "missing.yaml", env={})


def test_every_trade_notification_kind_can_be_silenced() -> None:
    text = 'trading: {notify: {settled: "off", exit: silent, intent: "on"}}\n'
    notify = parse_config(text, env={}).settings.trading.notify
    assert (str(notify.settled), str(notify.exit), str(notify.intent)) == ("off", "silent", "on")


def test_trading_min_edge_old_spelling_is_read_with_a_deprecation_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="weatheredge.config_trading"):
        settings = parse_config("min_edge: 0.07\ntrading: {min_edge: 0.11}\n", env={}).settings
    assert (settings.min_edge, settings.trading.min_trade_edge) == (0.07, 0.11)
    [warning] = [r.getMessage() for r in caplog.records]
    assert "trading.min_edge is deprecated" in warning and "trading.min_trade_edge" in warning


def test_trading_min_trade_edge_is_read_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="weatheredge.config_trading"):
        settings = parse_config("trading: {min_trade_edge: 0.09}\n", env={}).settings
    assert settings.trading.min_trade_edge == 0.09 and settings.min_edge == 0.05
    assert caplog.records == []


def test_both_spellings_of_the_trading_threshold_are_refused() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("trading: {min_edge: 0.1, min_trade_edge: 0.2}\n", env={})
    assert "$.trading.min_edge: renamed trading.min_trade_edge" in str(err.value)
