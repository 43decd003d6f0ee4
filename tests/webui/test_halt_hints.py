"""A halted daemon's hints repeat the ``-c`` the user gave (issue 12 item 3)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import running_daemon
from tests.webui.test_cli import _cli
from weatheredge.sandbox import Sandbox


async def test_halt_and_status_hints_repeat_the_config(sandbox: Sandbox, tmp_path: Path) -> None:
    async with running_daemon(sandbox, tmp_path / "we.db") as (_daemon, base):
        cfg = tmp_path / "sub" / "x.yaml"
        cfg.parent.mkdir()
        cfg.write_text(f"database: we.db\nweb:\n  port: {base.rsplit(':', 1)[1]}\n")
        code, out, err = await _cli("halt", "-c", str(cfg), "--reason", "storm")
        assert code == 0, err
        assert out.startswith("HALTED") and f"weatheredge resume -c {cfg}" in out
        code, out, _ = await _cli("status", "-c", str(cfg))
        assert code == 1
        assert f"HALTED: storm (weatheredge resume -c {cfg})" in out
