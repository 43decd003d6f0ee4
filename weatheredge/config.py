"""Configuration: one YAML file, validated at load into frozen typed settings.

Every problem is reported at once, each named by its key path (``$.polymarket.ws_url``).
Secrets never live in the YAML itself: a value may be ``!secret NAME`` (looked up in
``secrets.yaml`` beside the config, which must be mode 0600) or ``!env VAR``.
The seed plan's three WebSocket settings can also be overridden from the environment:
``USE_WEBSOCKET``, ``WS_RECONNECT_ATTEMPTS`` and ``WS_HEARTBEAT_INTERVAL``.
"""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
import yaml

from weatheredge.errors import ConfigError

Probability = Annotated[float, msgspec.Meta(ge=0.0, lt=1.0)]
Seconds = Annotated[float, msgspec.Meta(gt=0)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Url = Annotated[str, msgspec.Meta(pattern=r"^(https?|wss?)://[^\s/]+")]


class Mode(enum.StrEnum):
    DRY_RUN = "dry_run"
    PAPER = "paper"
    LIVE = "live"


class _Section(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    pass


class PolymarketSettings(_Section):
    gamma_url: Url = "https://gamma-api.polymarket.com"
    clob_url: Url = "https://clob.polymarket.com"
    ws_url: Url = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    # Gamma tag covering both highest- and lowest-temperature events of every city.
    tag_slug: str = "daily-temperature"


class WebsocketSettings(_Section):
    enabled: bool = True
    reconnect_attempts: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0 = forever
    # Polymarket closes sockets that send no PING for about 10 s.
    heartbeat_interval: Annotated[float, msgspec.Meta(gt=0, le=10)] = 10.0


class StationOverride(_Section):
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    timezone: str
    elevation_m: float = 0.0


class WeatherSettings(_Section):
    ensemble_url: Url = "https://ensemble-api.open-meteo.com/v1/ensemble"
    forecast_url: Url = "https://api.open-meteo.com/v1/forecast"
    metar_url: Url = "https://aviationweather.gov/api/data/metar"
    models: list[str] = msgspec.field(
        default_factory=lambda: ["ecmwf_ifs025", "gfs_seamless", "icon_seamless", "gem_global"]
    )
    forecast_days: Annotated[int, msgspec.Meta(ge=1, le=16)] = 3
    # A forecast older than this stops producing edges (its events are marked stale).
    max_forecast_age: Seconds = 3 * 3600.0
    stations: dict[str, StationOverride] = msgspec.field(default_factory=dict)


class NotifySettings(_Section):
    urls: list[str] = msgspec.field(default_factory=list)
    on_close: bool = False
    retries: Annotated[int, msgspec.Meta(ge=0, le=20)] = 3


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: Port = 8787


class JobSettings(_Section):
    discovery_interval: Seconds = 60.0
    forecast_interval: Seconds = 600.0
    # Only used while websocket.enabled is false: REST /books polling cadence.
    poll_interval: Seconds = 5.0


class Settings(_Section):
    database: str = "weatheredge.db"
    mode: Mode = Mode.DRY_RUN
    # Minimum expected value per share, after the taker fee, for an edge to open.
    min_edge: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.05
    # An open edge closes only once it falls below min_edge - edge_hysteresis.
    edge_hysteresis: Probability = 0.01
    polymarket: PolymarketSettings = msgspec.field(default_factory=PolymarketSettings)
    websocket: WebsocketSettings = msgspec.field(default_factory=WebsocketSettings)
    weather: WeatherSettings = msgspec.field(default_factory=WeatherSettings)
    notify: NotifySettings = msgspec.field(default_factory=NotifySettings)
    web: WebSettings = msgspec.field(default_factory=WebSettings)
    jobs: JobSettings = msgspec.field(default_factory=JobSettings)


class LoadedConfig(msgspec.Struct, frozen=True):
    settings: Settings
    secrets: frozenset[str]  # every value that came from !secret or !env, for log redaction
    path: Path | None


ENV_OVERRIDES = {
    "USE_WEBSOCKET": ("websocket", "enabled"),
    "WS_RECONNECT_ATTEMPTS": ("websocket", "reconnect_attempts"),
    "WS_HEARTBEAT_INTERVAL": ("websocket", "heartbeat_interval"),
}


class _Loader(yaml.SafeLoader):
    """SafeLoader that resolves !secret and !env, remembering what it resolved."""


def _make_loader(
    config_path: Path | None, env: Mapping[str, str], found: set[str], problems: list[str]
) -> type[_Loader]:
    secrets_cache: dict[str, Any] = {}

    def secrets() -> dict[str, Any]:
        if not secrets_cache:
            secrets_cache.update(_read_secrets(config_path, problems))
        return secrets_cache

    def secret(loader: _Loader, node: yaml.Node) -> str:
        name = loader.construct_scalar(node)  # type: ignore[arg-type]
        value = secrets().get(str(name))
        if value is None:
            problems.append(f"!secret {name}: not found in secrets.yaml")
            return ""
        found.add(str(value))
        return str(value)

    def from_env(loader: _Loader, node: yaml.Node) -> str:
        name = str(loader.construct_scalar(node))  # type: ignore[arg-type]
        if name not in env:
            problems.append(f"!env {name}: environment variable is not set")
            return ""
        found.add(env[name])
        return env[name]

    loader = type("ConfigLoader", (_Loader,), {})
    loader.add_constructor("!secret", secret)
    loader.add_constructor("!env", from_env)
    return loader


def _read_secrets(config_path: Path | None, problems: list[str]) -> dict[str, Any]:
    if config_path is None:
        problems.append("!secret used but the config has no file to sit beside")
        return {}
    path = config_path.parent / "secrets.yaml"
    if not path.exists():
        problems.append(f"!secret used but {path} does not exist")
        return {}
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(f"{path} must be mode 0600 (is {mode:04o}): it holds secrets")
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        problems.append(f"{path} must be a mapping of NAME: value")
        return {}
    return data


def _apply_env(raw: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> None:
    for var, (section, key) in ENV_OVERRIDES.items():
        if var not in env:
            continue
        value: Any = env[var]
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            pass
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            problems.append(f"$.{section}: expected a mapping")
            continue
        target[key] = value


def _struct_type(tp: Any) -> type[msgspec.Struct] | None:
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp
    if get_origin(tp) is Union:
        for arg in get_args(tp):
            if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
                return arg
    return None


def validate_struct(data: Any, cls: type[msgspec.Struct], path: str = "$") -> list[str]:
    """Every problem in ``data`` for ``cls``, each named by its key path (msgspec stops at one)."""
    if not isinstance(data, dict):
        return [f"{path}: expected a mapping, got {type(data).__name__}"]
    problems = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    for key in data:
        if key not in fields:
            problems.append(f"{path}.{key}: unknown key (allowed: {', '.join(sorted(fields))})")
    for name, field in fields.items():
        sub = f"{path}.{name}"
        if name not in data:
            if field.required:
                problems.append(f"{sub}: required key is missing")
            continue
        nested = _struct_type(field.type)
        value = data[name]
        if nested is not None and isinstance(value, dict):
            problems.extend(validate_struct(value, nested, sub))
        elif get_origin(field.type) is dict and isinstance(value, dict):
            problems.extend(_validate_mapping(value, field.type, sub))
        else:
            try:
                msgspec.convert(value, field.type)
            except msgspec.ValidationError as err:
                problems.append(f"{sub}: {_describe(err)}{_choices(field.type)}")
    return problems


def _choices(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return f" (expected one of: {', '.join(str(m.value) for m in tp)})"
    return ""


def _validate_mapping(value: dict[str, Any], tp: Any, path: str) -> list[str]:
    _, value_type = get_args(tp)
    nested = _struct_type(value_type)
    problems = []
    for key, item in value.items():
        if nested is not None:
            problems.extend(validate_struct(item, nested, f"{path}.{key}"))
        else:
            try:
                msgspec.convert(item, value_type)
            except msgspec.ValidationError as err:
                problems.append(f"{path}.{key}: {_describe(err)}")
    return problems


def _describe(err: msgspec.ValidationError) -> str:
    text = str(err)
    return text.split(" - at `", 1)[0]


def parse_config(
    text: str, *, path: Path | None = None, env: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Validate YAML text into settings. Raises ConfigError listing every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []
    found: set[str] = set()
    loader = _make_loader(path, env, found, problems)
    try:
        raw = yaml.load(text, Loader=loader) or {}
    except yaml.YAMLError as err:
        raise ConfigError([f"invalid YAML: {err}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(["$: the config must be a mapping of keys"])
    _apply_env(raw, env, problems)
    problems.extend(validate_struct(raw, Settings))
    if problems:
        raise ConfigError(problems)
    settings = msgspec.convert(raw, Settings)
    return LoadedConfig(settings, frozenset(s for s in found if s), path)


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load ``path`` (or all defaults when None). Raises ConfigError."""
    if path is None:
        return parse_config("", env=env)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([f"{p}: cannot read config ({err.strerror})"]) from None
    return parse_config(text, path=p, env=env)
