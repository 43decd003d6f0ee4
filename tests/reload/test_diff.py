"""The pure part of a reload: which keys changed, which apply live, what the daemon keeps."""

from __future__ import annotations

from weatheredge.config import Mode, Settings, parse_config
from weatheredge.reload import LIVE_KEYS, MASK, diff, effective, flatten


def _settings(text: str) -> Settings:
    return parse_config(text, env={}).settings


def test_live_and_restart_keys_are_told_apart() -> None:
    old = _settings("")
    new = _settings(
        "min_edge: 0.08\nmode: live\ndatabase: other.db\n"
        "web: {port: 9999, push_interval: 2}\njobs: {forecast_interval: 300}\n"
        "trading: {max_order_usd: 10, key_file: k.yaml}\nwebsocket: {heartbeat_interval: 5}\n"
    )
    d = diff(old, new)
    assert {c.path for c in d.live} == {
        "min_edge",
        "web.push_interval",
        "jobs.forecast_interval",
        "trading.max_order_usd",
    }
    assert {c.path for c in d.restart} == {
        "mode",
        "database",
        "web.port",
        "trading.key_file",
        "websocket.heartbeat_interval",
    }
    assert d.touched("trading") and d.touched("min_edge") and not d.touched("notify")
    mode = next(c for c in d.restart if c.path == "mode").describe()
    assert mode.startswith("mode 'dry_run' -> 'live'") and "weatheredge arm" in mode
    assert not diff(old, _settings("")).changes


def test_effective_settings_keep_every_restart_only_value() -> None:
    old = _settings("")
    new = _settings("min_edge: 0.2\nmode: live\nweb: {port: 9999}\nnotify: {urls: [json://x/y]}")
    kept = effective(old, new, diff(old, new))
    assert kept.min_edge == 0.2 and kept.notify.urls == ["json://x/y"]
    assert kept.mode is Mode.DRY_RUN and kept.web.port == old.web.port
    assert effective(old, old, diff(old, old)) is old


def test_secret_values_are_masked_in_descriptions() -> None:
    old = _settings("")
    new = _settings("notify: {urls: ['json://user:hunter2@host/x']}\nweather: {models: [gfs]}")
    d = diff(old, new)
    text = " ".join(c.describe() for c in d.changes)
    assert "hunter2" not in text and f"notify.urls {MASK}" in text
    assert "weather.models ['ecmwf_ifs025'" in text and "-> ['gfs']" in text
    # A value that came from secrets.yaml is masked wherever it sits.
    change = next(c for c in d.changes if c.path == "weather.models")
    assert change.describe(secrets={"gfs"}) == f"weather.models {MASK}"


def test_every_live_key_names_a_setting() -> None:
    paths = {path for path, _ in flatten(Settings())}
    for key in LIVE_KEYS:
        assert any(p == key or (key.endswith(".") and p.startswith(key)) for p in paths), key
