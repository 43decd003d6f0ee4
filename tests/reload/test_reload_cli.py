"""`weatheredge reload` from the command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reload.conftest import config_text, daemon_from_file, free_port
from weatheredge.cli import main
from weatheredge.sandbox import Sandbox


def test_no_daemon_valid_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"web: {{port: {free_port()}}}\n")
    assert main(["reload", "-c", str(cfg)]) == 3
    assert "connection refused" in capsys.readouterr().err  # in words, not an exception's name


def test_no_daemon_invalid_file_exits_2_naming_every_bad_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"web: {{port: {free_port()}}}\nmin_edge: -1\nnotify: {{retries: x}}\n")
    assert main(["reload", "-c", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "$.min_edge" in err and "$.notify.retries" in err and "config rejected" in err


async def test_an_edited_web_port_is_still_told_to_need_a_restart(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """After editing web.port the file points elsewhere: the command still finds the daemon."""
    cfg = tmp_path / "config.yaml"
    text = config_text(sandbox, tmp_path, port=free_port())
    cfg.write_text(text)
    async with daemon_from_file(cfg) as (daemon, _base):
        port = daemon.settings.web.port
        cfg.write_text(text.replace(f"port: {port}", f"port: {free_port()}"))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "weatheredge", "reload", "-c", str(cfg),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert f"needs a restart (not applied): web.port {port} ->" in out.decode()
        assert daemon.settings.web.port == port
