"""Configuration: one YAML file, validated at load into frozen typed settings.

Every problem is reported at once, each named by its key path (``$.polymarket.ws_url``).
Secrets never live in the YAML itself: a value may be ``!secret NAME`` (looked up in
``secrets.yaml`` beside the config, which must be mode 0600) or ``!env VAR``.
The seed plan's three WebSocket settings can also be overridden from the environment:
``USE_WEBSOCKET``, ``WS_RECONNECT_ATTEMPTS`` and ``WS_HEARTBEAT_INTERVAL``.
"""

from __future__ import annotations

import enum
import math
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from zoneinfo import ZoneInfo

import msgspec
import yaml

from weatheredge import config_yaml
from weatheredge.errors import ConfigError

# Any duration above a year is a typo, and huge ones overflow the scheduler's date arithmetic.
YEAR_S = 366 * 86400.0
Probability = Annotated[float, msgspec.Meta(ge=0.0, lt=1.0)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=YEAR_S)]
Seconds0 = Annotated[float, msgspec.Meta(ge=0, le=YEAR_S)]  # 0 switches the feature off
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
    # Gamma tags to list; events are merged by id. Tagging is inconsistent (some events carry
    # only highest-/lowest-temperature, some only a city tag under "weather"), so no one tag.
    # At least one tag: an empty list would silently discover nothing.
    tag_slugs: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: [
            "daily-temperature",
            "highest-temperature",
            "lowest-temperature",
            "weather",
        ],
    )
    tag_slug: str | None = None  # older single-tag key: added to tag_slugs when set


class WebsocketSettings(_Section):
    enabled: bool = True
    reconnect_attempts: Annotated[int, msgspec.Meta(ge=0)] = 0  # 0 = forever
    # Polymarket closes sockets that send no PING for about 10 s.
    heartbeat_interval: Annotated[float, msgspec.Meta(gt=0, le=10)] = 10.0


class FeedSettings(_Section):
    """Market-feed resilience: sharding, reconnects, staleness watchdog, polling fallback."""

    # Tokens per market-channel connection; more connections are opened as needed.
    max_tokens_per_connection: Annotated[int, msgspec.Meta(ge=2, le=500)] = 200
    # Minimum gap between two connection opens (initial and reconnects), so shards never
    # hit the venue all at once.
    connect_stagger: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.5
    backoff_base: Annotated[float, msgspec.Meta(gt=0, le=0.5)] = 0.5
    backoff_cap: Annotated[float, msgspec.Meta(gt=0, le=30)] = 30.0
    stable_after: Seconds = 60.0  # backoff resets once a socket stayed up this long
    # Synced books quiet this long are compared with REST /books; a difference reconnects.
    stale_after: Seconds = 120.0
    watchdog_interval: Seconds = 30.0
    # A subscribed token still without a snapshot this long after connecting is checked too.
    sync_timeout: Seconds = 15.0
    # Each connection is dropped and reopened this often (staggered); 0 = never.
    proactive_reconnect: Seconds0 = 86400.0
    # Poll REST /books once the WebSocket has been down this long (and while it is disabled).
    poll_after: Seconds = 30.0
    # Our own cap on POST /books calls per 10 s (the venue allows 500).
    poll_max_requests_per_10s: Annotated[int, msgspec.Meta(ge=1, le=500)] = 250
    # Frames larger than this are dropped and counted as bad ("oversize").
    max_frame_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 4 * 1024 * 1024


class StationOverride(_Section):
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    timezone: str
    elevation_m: float = 0.0


class WeatherSettings(_Section):
    ensemble_url: Url = "https://ensemble-api.open-meteo.com/v1/ensemble"
    forecast_url: Url = "https://api.open-meteo.com/v1/forecast"
    metar_url: Url = "https://aviationweather.gov/api/data/metar"
    # Second source for US METARs (weather.md §2.4): asked when aviationweather fails or a
    # station's newest report there is older than metar_lag; "always" asks it every poll (to
    # measure which feed is first), "off" never.
    nws_url: Url = "https://api.weather.gov"
    nws_user_agent: str = "weatheredge (https://pypi.org/project/weatheredge/)"
    second_source: Literal["fallback", "always", "off"] = "fallback"
    metar_lag: Seconds = 75 * 60.0
    # Non-METAR resolution sources, each polled through its own official open-data feed.
    hko_url: Url = (
        "https://data.weather.gov.hk/weatherAPI/hko_data/regional-weather/"
        "latest_1min_temperature.csv"
    )
    cwa_url: Url = "https://opendata.cwa.gov.tw/api/v1/rest/datastore/O-A0003-001"
    cwa_api_key: str | None = None  # free key from opendata.cwa.gov.tw; use !secret
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
    # An edge the feed interrupted (reconnect, stale or desynced book) that reopens within this
    # many seconds at a price no better is recorded but not pushed again; 0 pushes every time.
    renotify_window: Seconds0 = 300.0


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: Port = 8787
    # Required when host is not loopback; must come from !secret or !env, never plain YAML.
    # Browsers pass it once as ?token=…; API clients as "Authorization: Bearer …".
    token: str | None = None
    push_interval: Annotated[float, msgspec.Meta(ge=0.1, le=60)] = 1.0  # status page updates
    # Host names the app answers to besides loopback and web.host (DNS-rebinding defence), e.g.
    # the box's LAN name or a reverse proxy's public name; no port, no scheme.
    allowed_hosts: list[Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9.:\[\]_-]+$")]] = (
        msgspec.field(default_factory=list)
    )


class LoggingSettings(_Section):
    """Optional rotating log file, in addition to stderr (journald under systemd)."""

    file: str | None = None
    level: Annotated[str, msgspec.Meta(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    max_bytes: Annotated[int, msgspec.Meta(ge=10_000)] = 10 * 1024 * 1024
    backup_count: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5


class HomeAssistantSettings(_Section):
    """MQTT discovery for Home Assistant: sensors and a halt switch (off unless enabled)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None  # !secret / !env
    discovery_prefix: str = "homeassistant"
    node_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]+$")] = "weatheredge"
    state_interval: Annotated[float, msgspec.Meta(ge=0.1, le=3600)] = 10.0


class ReloadSettings(_Section):
    """Live reload (also by `weatheredge reload` and SIGHUP): follow edits of the file itself."""

    watch: bool = False


class TapeSettings(_Section):
    """The raw tape (docs/tape.md): everything received, for replay and audits."""

    enabled: bool = True
    dir: str = "tape"  # relative paths resolve against the config file's directory
    keep_days: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    max_disk_mb: Annotated[float, msgspec.Meta(gt=0)] = 20000.0  # oldest segments go first
    queue_size: Annotated[int, msgspec.Meta(ge=1)] = 100_000  # full: records are dropped


class JobSettings(_Section):
    discovery_interval: Seconds = 60.0
    forecast_interval: Seconds = 600.0
    # Only used while websocket.enabled is false: REST /books polling cadence.
    poll_interval: Seconds = 5.0


class NotifyLevel(enum.StrEnum):
    ON = "on"  # pushed at once (folded into a digest when many fire together)
    SILENT = "silent"  # recorded, and only pushed inside the next digest
    OFF = "off"  # not notified (still recorded in the trading tables)


class TradingNotifySettings(_Section):
    # YAML reads a bare on/off as true/false: both spellings are accepted.
    intent: NotifyLevel | bool = NotifyLevel.ON  # before an order is sent: what, why, size, limits
    filled: NotifyLevel | bool = NotifyLevel.ON
    partial: NotifyLevel | bool = NotifyLevel.ON
    rejected: NotifyLevel | bool = NotifyLevel.ON  # by the venue (with its reason) or a failed send
    cancelled: NotifyLevel | bool = NotifyLevel.SILENT
    blocked: NotifyLevel | bool = NotifyLevel.OFF  # an order stopped by one of our own limits
    exit: NotifyLevel | bool = NotifyLevel.ON  # a held position crossed the exit/take-profit rule
    halt: NotifyLevel | bool = NotifyLevel.ON  # kill switch engaged or released
    settled: NotifyLevel | bool = NotifyLevel.ON  # the venue resolved a held position: payout, PnL
    quotes: NotifyLevel | bool = NotifyLevel.ON  # maker mode: one quote digest per event
    # More than `burst` pushes within `digest_window` seconds are folded into one digest.
    burst: Annotated[int, msgspec.Meta(ge=1)] = 3
    digest_window: Seconds = 30.0


class Strategy(enum.StrEnum):
    TAKER = "taker"  # buy edges at the ask (issue 5)
    MAKER = "maker"  # rest post-only bids below fair value (issue 14, docs/strategy.md)
    BOTH = "both"


class MakerSettings(_Section):
    """Maker mode (issue 14): post-only quotes at fair value minus a margin."""

    margin: Annotated[float, msgspec.Meta(gt=0, lt=0.5)] = 0.02  # below p, per share
    min_replace_interval: Annotated[float, msgspec.Meta(ge=0, le=60)] = 0.25  # s, per order
    event_limit_usd: Annotated[float, msgspec.Meta(gt=0)] | None = None  # None: max_event_usd
    pull_before_report: Seconds0 = 60.0  # cancel this long before a station report is due
    digest_interval: Seconds = 300.0  # one quote-activity digest per event per interval
    on_start: Literal["cancel", "adopt"] = "cancel"  # quotes a previous run left open


class TradingSettings(_Section):
    """Sizing, limits and execution (see docs/going-live.md). Money is in pUSD."""

    bankroll: Annotated[float, msgspec.Meta(gt=0)] = 1000.0
    kelly_fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.25
    max_order_usd: Annotated[float, msgspec.Meta(gt=0)] = 50.0
    max_bucket_usd: Annotated[float, msgspec.Meta(gt=0)] = 100.0
    max_event_usd: Annotated[float, msgspec.Meta(gt=0)] = 200.0
    max_city_date_usd: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    max_total_usd: Annotated[float, msgspec.Meta(gt=0)] = 500.0
    daily_loss_limit_usd: Annotated[float, msgspec.Meta(gt=0)] = 100.0
    day_timezone: str = "America/New_York"  # the venue's trading day for the daily loss limit
    max_open_orders: Annotated[int, msgspec.Meta(ge=1)] = 10
    min_edge: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.05  # per share, after the fee
    min_depth: Annotated[float, msgspec.Meta(ge=0)] = 5.0  # shares offered at the best price
    exit_threshold: Probability = 0.03  # exit when bid - fee exceeds our probability by this
    take_profit: bool = True
    take_profit_margin: Probability = 0.01  # converged: bid - fee within this of our price
    order_timeout: Seconds = 5.0
    max_send_attempts: Annotated[int, msgspec.Meta(ge=1, le=5)] = 3  # 429/425/503 only
    cancel_on_halt: bool = True
    heartbeat: bool = False  # venue dead-man switch: resting orders die with the daemon
    key_file: str | None = None  # YAML {private_key, wallet}, mode 0600; else the environment
    user_ws_url: Url = "wss://ws-subscriptions-clob.polymarket.com/ws/user"
    notify: TradingNotifySettings = msgspec.field(default_factory=TradingNotifySettings)
    strategy: Strategy = Strategy.TAKER
    maker: MakerSettings = msgspec.field(default_factory=MakerSettings)


class ModelSettings(_Section):
    """The probability model (issue 4): calibration, live observations, settlement, scoring."""

    # A forecast with fewer usable ensemble members than this marks its events stale.
    min_members: Annotated[int, msgspec.Meta(ge=1)] = 10
    # METAR polling (issue 10): the job ticks every observation_tick s; a station is fetched
    # every observation_fast s from observation_lead s before its next report is expected
    # (its own routine minute + publication delay) until the report is in hand, else every
    # observation_slow s; a routine report not in hand observation_give_up s after it was
    # expected is taken as not filed. Never more than observation_max_per_minute requests.
    observation_tick: Seconds = 1.0
    observation_fast: Annotated[float, msgspec.Meta(gt=0, le=5)] = 3.0
    observation_slow: Seconds = 300.0
    observation_lead: Annotated[float, msgspec.Meta(ge=0)] = 20.0
    observation_give_up: Seconds = 900.0
    observation_max_per_minute: Annotated[int, msgspec.Meta(ge=1, le=100)] = 60
    # A live day whose station has been silent this long marks its events stale.
    max_report_silence: Seconds = 3 * 3600.0
    # A report stamped further than this in the future means a clock is wrong: stale.
    max_clock_skew: Seconds = 600.0
    settle_interval: Seconds = 900.0
    settle_after: Seconds = 3600.0  # settle this long after the local day ends (late reports)
    snapshot_interval: Seconds = 60.0
    horizons: list[Annotated[int, msgspec.Meta(ge=0, le=72)]] = msgspec.field(
        default_factory=lambda: [24, 6, 1]
    )  # hours before the local day ends at which ours and the market's prices are recorded
    refit_interval: Seconds = 6 * 3600.0
    training_days: Annotated[int, msgspec.Meta(ge=7, le=730)] = 90  # rolling EMOS window
    shrink_days: Annotated[float, msgspec.Meta(ge=0)] = 20.0  # prior weight, in settled days
    # Each station's diurnal shape (peak hour, range, share of the extreme still to come by
    # hour) is pulled toward the global prior with this weight, in settled days (issue 10).
    diurnal_shrink_days: Annotated[float, msgspec.Meta(ge=0)] = 10.0
    # Ladder arbitrage: value per set after fees for an episode to open (its own threshold:
    # a locked-in cent is worth more than a modelled one).
    ladder_min_edge: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.005


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
    model: ModelSettings = msgspec.field(default_factory=ModelSettings)
    feed: FeedSettings = msgspec.field(default_factory=FeedSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    homeassistant: HomeAssistantSettings = msgspec.field(default_factory=HomeAssistantSettings)
    reload: ReloadSettings = msgspec.field(default_factory=ReloadSettings)
    # live mode places orders only when armed (here, or with `weatheredge arm`) and keys exist.
    armed: bool = False
    trading: TradingSettings = msgspec.field(default_factory=TradingSettings)
    tape: TapeSettings = msgspec.field(default_factory=TapeSettings)


class LoadedConfig(msgspec.Struct, frozen=True):
    settings: Settings
    secrets: frozenset[str]  # every value that came from !secret or !env, for log redaction
    path: Path | None


ENV_OVERRIDES = {
    "USE_WEBSOCKET": ("websocket", "enabled"),
    "WS_RECONNECT_ATTEMPTS": ("websocket", "reconnect_attempts"),
    "WS_HEARTBEAT_INTERVAL": ("websocket", "heartbeat_interval"),
}


class _Loader(config_yaml.StrictLoader):
    """StrictLoader that resolves !secret and !env, remembering what it resolved."""


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
    try:
        text = config_yaml.decode(path.read_bytes(), str(path))
        data, duplicates = config_yaml.load(text, config_yaml.StrictLoader, str(path))
    except ConfigError as err:  # names the file and line, never the content: it is secret
        problems.extend(err.problems)
        return {}
    except OSError as err:
        problems.append(f"{path}: cannot read ({err.strerror})")
        return {}
    problems.extend(duplicates)
    data = data or {}
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
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(f"{sub}: must be a finite number, not {value}")
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
    raw, duplicates = config_yaml.load(text, loader, str(path) if path else "config")
    problems.extend(duplicates)
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(["$: the config must be a mapping of keys"])
    _apply_env(raw, env, problems)
    problems.extend(validate_struct(raw, Settings))
    if problems:
        raise ConfigError(problems)
    settings = msgspec.convert(raw, Settings)
    problems.extend(_check_web(settings.web, found))
    problems.extend(_check_timezones(settings))
    if problems:
        raise ConfigError(problems)
    if path is not None:
        settings = resolve_paths(settings, Path(os.path.abspath(path)).parent)
    return LoadedConfig(settings, frozenset(s for s in found if s), path)


def _check_timezones(settings: Settings) -> list[str]:
    zones = {"$.trading.day_timezone": settings.trading.day_timezone}
    for code, station in settings.weather.stations.items():
        zones[f"$.weather.stations.{code}.timezone"] = station.timezone
    problems = []
    for where, name in zones.items():
        try:
            ZoneInfo(name)
        # Not found is a KeyError; a path-like name a ValueError; a directory ("America") an
        # OSError.
        except (KeyError, ValueError, OSError):
            problems.append(f"{where}: unknown time zone {name!r} (e.g. America/New_York, UTC)")
    return problems


def _resolve(value: str, base: Path) -> str:
    if value == ":memory:":
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else base / p)


def resolve_paths(settings: Settings, base: Path) -> Settings:
    """Relative paths in a config file mean "beside the config", whatever the working directory."""
    replace = msgspec.structs.replace
    log, trading = settings.logging, settings.trading
    return replace(
        settings,
        database=_resolve(settings.database, base),
        logging=replace(log, file=_resolve(log.file, base) if log.file else log.file),
        trading=replace(
            trading, key_file=_resolve(trading.key_file, base) if trading.key_file else None
        ),
    )


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _check_web(web: WebSettings, found: set[str]) -> list[str]:
    """The status page shows positions and can halt trading: off loopback it needs a token."""
    problems = []
    if web.token is not None and web.token not in found:
        problems.append("$.web.token: must come from !secret NAME or !env VAR, never plain YAML")
    elif web.token is not None and len(web.token) < 16:
        problems.append("$.web.token: too short (use at least 16 random characters)")
    if web.host not in LOOPBACK_HOSTS and not web.token:
        problems.append(
            f"$.web.token: required because web.host is {web.host!r}, not loopback "
            "(or set web.host: 127.0.0.1)"
        )
    return problems


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load ``path`` (or all defaults when None). Raises ConfigError."""
    if path is None:
        return parse_config("", env=env)
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as err:
        raise ConfigError([f"{p}: cannot read config ({err.strerror})"]) from None
    return parse_config(config_yaml.decode(data, str(p)), path=p, env=env)
