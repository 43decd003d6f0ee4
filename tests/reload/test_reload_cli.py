"""`weatheredge reload` without a daemon to talk to."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reload.conftest import free_port
from weatheredge.cli import main


def test_no_daemon_valid_file_exits_3(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"web: {{port: {free_port()}}}\n")
    assert main(["reload", "-c", str(cfg)]) == 3


def test_no_daemon_invalid_file_exits_2_naming_every_bad_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"web: {{port: {free_port()}}}\nmin_edge: -1\nnotify: {{retries: x}}\n")
    assert main(["reload", "-c", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "$.min_edge" in err and "$.notify.retries" in err and "config rejected" in err
