"""The settings a replay runs with: the config file, ``--set`` overrides, and no way out."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import yaml

from weatheredge.config import ConfigError, Mode, Settings, load_config


def parse_sets(items: Iterable[str]) -> dict[str, list[str]]:
    """``key=v1,v2`` pairs -> {key: [v1, v2]} (several values: a backtest sweep)."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError([f"--set {item!r}: expected key=value"])
        out[key.strip()] = [v.strip() for v in value.split(",")]
    return out


def with_overrides(settings: Settings, overrides: dict[str, str]) -> Settings:
    """``settings`` with dotted keys replaced (``min_edge``, ``model.ladder_min_edge``),
    each value read as YAML and validated as the config file's would be."""
    data = msgspec.to_builtins(settings)
    for key, text in overrides.items():
        node = data
        *path, last = key.split(".")
        for part in path:
            if not isinstance(node.get(part), dict):
                raise ConfigError([f"--set {key}: no section {part!r}"])
            node = node[part]
        if last not in node:
            raise ConfigError([f"--set {key}: no such setting"])
        node[last] = _value(text)
    try:
        return msgspec.convert(data, Settings)
    except msgspec.ValidationError as err:
        raise ConfigError([f"--set: {err}"]) from None


def _value(text: str) -> object:
    value = yaml.safe_load(text)
    if isinstance(value, str):  # YAML 1.1 reads 1e12 as text
        try:
            return float(value)
        except ValueError:
            return value
    return value


def replay_settings(config: str | None, overrides: dict[str, str], database: str) -> Settings:
    """The config's settings for a replay: its own database, no tape, no notifications, and
    paper trading in place of live (a replay never reaches a venue)."""
    settings = with_overrides(load_config(config).settings, overrides)
    mode = Mode.PAPER if settings.mode is Mode.LIVE else settings.mode
    return msgspec.structs.replace(
        settings,
        database=database,
        mode=mode,
        tape=msgspec.structs.replace(settings.tape, enabled=False),
        notify=msgspec.structs.replace(settings.notify, urls=[]),
        homeassistant=msgspec.structs.replace(settings.homeassistant, enabled=False),
    )
