"""Secrets stay secret through every door (issue 13, break 4): every document the daemon
serves, its logs, the CLI's stderr, and YAML errors in secrets.yaml / config.yaml."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import eventually
from weatheredge import cli
from weatheredge.config import ConfigError, load_config, parse_config
from weatheredge.daemon import DAEMON
from weatheredge.runtime import make_app, serve
from weatheredge.sandbox import Sandbox

PIECE = "gk-Sup3rSecretPath"  # the secret part of a Gamma URL given by !env


async def test_a_secret_url_is_masked_in_every_document_and_log(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert sandbox.urls is not None
    gamma, ws = sandbox.urls.gamma_url, sandbox.urls.ws_url
    text = sandbox.config_yaml(str(tmp_path / "we.db"), extra="jobs: {discovery_interval: 0.2}\n")
    text = text.replace(f"gamma_url: {gamma}", "gamma_url: !env WE_GAMMA")
    # A secret URL's public path words (".../ws/market") must not be masked everywhere: that
    # turned /status into "discover_****s" and "Poly**** Gamma".
    assert ws.endswith("/ws/market")
    text = text.replace(f"ws_url: {ws}", "ws_url: !env WE_WS")
    # The venue answers 404 under that prefix: discovery fails and names the URL it tried.
    loaded = parse_config(text, env={"WE_GAMMA": f"{gamma}/{PIECE}", "WE_WS": ws})
    app = make_app(loaded)
    runner = await serve(app, asyncio.Event())
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        health = app[DAEMON].health
        await eventually(lambda: health.job("discover_markets").failures_in_row >= 3, within=15)
        assert PIECE in (health.job("discover_markets").last_error or "")  # the leak's source
        async with aiohttp.ClientSession() as http:
            bodies = {}
            for path in (
                "/healthz",
                "/status",
                "/metrics",
                "/api/v1/state",
                "/api/v1/trading",
                "/api/v1/queries",
                "/api/v1/edges",
            ):
                async with http.get(base + path) as resp:
                    bodies[path] = await resp.text()
            async with http.get(f"{base}/api/v1/stream") as resp:
                async for line in resp.content:
                    if line.startswith(b"data: "):
                        bodies["stream"] = line.decode()
                        break
        for path, body in bodies.items():
            assert PIECE not in body, path
        assert "failed" in bodies["/healthz"] and "****" in bodies["/healthz"]
        assert "Polymarket Gamma" in bodies["/healthz"] and "discover_markets" in bodies["/status"]
        assert "****s" not in bodies["/healthz"] + bodies["/status"]
        last_error = json.loads(bodies["/status"])["jobs"]["discover_markets"]["last_error"]
        assert "****" in last_error
        assert "discover_markets" in caplog.text and PIECE not in caplog.text
    finally:
        await runner.cleanup()


def _config_dir(tmp_path: Path, config: str, secrets: str) -> Path:
    (tmp_path / "config.yaml").write_text(config)
    path = tmp_path / "secrets.yaml"
    path.write_text(secrets)
    os.chmod(path, 0o600)
    return tmp_path / "config.yaml"


SECRET = "hunter2-Very-Secret-Token-XYZ"


def test_yaml_error_in_secrets_names_file_and_line_never_the_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_dir(
        tmp_path,
        "web:\n  token: !secret web_token\n",
        f'other: fine\nweb_token: "{SECRET}\nmore: x\n',  # unterminated quote
    )
    with pytest.raises(ConfigError) as err:
        load_config(config, env={})
    text = "\n".join(err.value.problems)
    assert "secrets.yaml, line " in text and "at line 2" in text
    assert SECRET not in text and "hunter2" not in text
    # The command line prints the same, on stderr, exit 2.
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check-config", "-c", str(config)])
    assert exit_.value.code == cli.EXIT_CONFIG
    out = capsys.readouterr()
    assert "secrets.yaml, line " in out.err and "hunter2" not in out.err + out.out


def test_yaml_error_in_config_names_file_and_line_never_the_content(tmp_path: Path) -> None:
    config = _config_dir(
        tmp_path,
        f"web:\n  token: !secret web_token\nnotify:\n  urls: [json://h/{SECRET}\n",
        f"web_token: {SECRET}\n",
    )
    with pytest.raises(ConfigError) as err:
        load_config(config, env={})
    text = "\n".join(err.value.problems)
    assert f"{config}, line " in text and "hunter2" not in text


def test_a_crash_in_a_command_prints_a_masked_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_dir(
        tmp_path,
        "polymarket:\n  gamma_url: !secret gamma\n",
        f"gamma: https://gamma.example.com/{SECRET}\n",
    )

    def crashing(args: object) -> int:
        url = cli._load(str(config)).settings.polymarket.gamma_url
        raise RuntimeError(f"cannot reach {url}/events?limit=5")

    monkeypatch.setattr(cli, "cmd_check_config", crashing)
    assert cli.main(["check-config", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: cannot reach" in err and "Traceback" in err
    assert SECRET not in err and "****" in err


@pytest.mark.parametrize("written", ["!{s}", "*{s}", "!!{s} x", "[*{s}]"])
def test_a_secret_yaml_reads_as_a_tag_or_alias_is_withheld_from_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    """An unquoted secret starting with ! or * is a tag or alias to YAML: PyYAML's message
    quotes it ("could not determine a constructor for the tag '!hunter2…'")."""
    config = _config_dir(
        tmp_path, "web:\n  token: !secret web_token\n", f"web_token: {written.format(s=SECRET)}\n"
    )
    with pytest.raises(SystemExit) as exit_:
        cli.main(["check-config", "-c", str(config)])
    assert exit_.value.code == cli.EXIT_CONFIG
    out = capsys.readouterr()
    assert "secrets.yaml, line 1" in out.err and "hunter2" not in out.err + out.out
