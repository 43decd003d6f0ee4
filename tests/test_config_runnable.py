"""Issue 13 break 8: a config that validates must also run; bad files are errors, not tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from weatheredge.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[1]


def check(tmp_path: Path, body: str | bytes) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.yaml"
    if isinstance(body, str):
        body = ("web: {port: 0}\n" + body).encode()
    cfg.write_bytes(body)
    return run_cli("check-config", "-c", str(cfg), cwd=tmp_path)


def rejected(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def unwritable_dir(tmp_path: Path) -> Path:
    """A directory nobody may create files in (root ignores permission bits, not /proc)."""
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        return ro
    if not Path("/proc/self").exists():
        pytest.skip("needs /proc to find a directory root cannot write")
    return Path("/proc")


def test_infinite_interval_is_rejected(tmp_path: Path) -> None:
    rejected(check(tmp_path, "jobs: {discovery_interval: .inf}\n"), "$.jobs.discovery_interval")


def test_durations_must_be_finite_and_at_most_a_year() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(
            "feed: {proactive_reconnect: 1.0e+12, stale_after: .nan}\n"
            "model: {shrink_days: .inf}\nweather: {max_forecast_age: -.inf}\n",
            env={},
        )
    named = sorted(problem.split(":", 1)[0] for problem in err.value.problems)
    assert named == [
        "$.feed.proactive_reconnect",
        "$.feed.stale_after",
        "$.model.shrink_days",
        "$.weather.max_forecast_age",
    ]


def test_unknown_time_zone_is_rejected(tmp_path: Path) -> None:
    rejected(check(tmp_path, "trading: {day_timezone: Mars/Olympus}\n"), "$.trading.day_timezone")
    with pytest.raises(ConfigError) as err:
        parse_config(
            "weather: {stations: {HKO: {latitude: 22.3, longitude: 114.2, timezone: America}}}",
            env={},
        )
    assert "$.weather.stations.HKO.timezone" in str(err.value)


def test_unwritable_database_is_rejected(tmp_path: Path) -> None:
    target = unwritable_dir(tmp_path) / "weatheredge.db"
    rejected(check(tmp_path, f"database: {target}\n"), "$.database", "cannot create")


def test_database_that_is_a_directory_is_rejected(tmp_path: Path) -> None:
    rejected(check(tmp_path, "database: /\n"), "$.database", "is a directory")


def test_database_in_a_missing_directory_or_not_sqlite_is_rejected(tmp_path: Path) -> None:
    rejected(check(tmp_path, "database: nowhere/x.db\n"), "$.database", "does not exist")
    (tmp_path / "notes.txt").write_text("not a database\n")
    rejected(check(tmp_path, "database: notes.txt\n"), "$.database", "not an SQLite database")


def test_unwritable_log_file_is_rejected(tmp_path: Path) -> None:
    target = unwritable_dir(tmp_path) / "weatheredge.log"
    rejected(check(tmp_path, f"logging: {{file: {target}}}\n"), "$.logging.file")


def test_run_refuses_an_unwritable_database_before_any_side_effect(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("database: /\nweb: {port: 0}\npolymarket: {gamma_url: http://127.0.0.1:9}\n")
    rejected(run_cli("run", "-c", str(cfg), cwd=tmp_path), "$.database")


def test_busy_web_port_is_rejected_by_check_config(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = tmp_path / "config.yaml"
        cfg.write_text(f"web: {{host: 127.0.0.1, port: {port}}}\n")
        rejected(run_cli("check-config", "-c", str(cfg), cwd=tmp_path), "$.web.port", "in use")


def test_non_utf8_file_is_rejected_with_its_line(tmp_path: Path) -> None:
    rejected(check(tmp_path, b"mode: paper\nweb:\n  host: caf\xe9\n"), "line 3", "not UTF-8")


def test_utf16_file_is_rejected(tmp_path: Path) -> None:
    rejected(check(tmp_path, "mode: paper\n".encode("utf-16")), "UTF-16", "UTF-8")
    rejected(check(tmp_path, "mode: paper\n".encode("utf-16-le")), "UTF-16")


def test_utf8_with_byte_order_mark_is_still_utf8(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_bytes("\ufeffmode: paper\n".encode())
    assert load_config(cfg, env={}).settings.mode.value == "paper"


def test_deep_nesting_is_rejected_with_a_key_path(tmp_path: Path) -> None:
    deep = "notify: {urls: " + "[" * 5000 + "]" * 5000 + "}\n"
    rejected(check(tmp_path, deep), "$.notify.urls[0]", "nested deeper")


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    rejected(check(tmp_path, "mode: paper\nmode: live\n"), "$.mode: duplicate key", "line 2")
    with pytest.raises(ConfigError) as err:
        parse_config("trading: {notify: {halt: 'on', halt: 'off'}}\n", env={})
    assert "$.trading.notify.halt: duplicate key" in str(err.value)


@pytest.mark.parametrize(
    ("secrets", "needle"),
    [
        (b"hook: json://x/secret-one\nhook: json://x/secret-two\n", "$.hook: duplicate key"),
        (b"hook: json://x/secret-\xe9\n", "not UTF-8"),
        ("hook: json://x/secret-one\n".encode("utf-16"), "UTF-16"),
        (b"hook: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested deeper"),
        (b"hook: [json://x/secret-one\n", "line 2"),
    ],
)
def test_bad_secrets_file_is_named_without_its_content(
    tmp_path: Path, secrets: bytes, needle: str
) -> None:
    (tmp_path / "secrets.yaml").write_bytes(secrets)
    os.chmod(tmp_path / "secrets.yaml", 0o600)
    cfg = tmp_path / "config.yaml"
    cfg.write_text("notify: {urls: [!secret hook]}\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg, env={})
    text = "\n".join(err.value.problems)
    assert "secrets.yaml" in text and needle in text
    assert "secret-one" not in text and "secret-two" not in text
