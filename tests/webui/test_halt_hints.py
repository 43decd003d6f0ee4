"""A halted daemon's hints repeat the ``-c`` the user gave (issue 12 item 3)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

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


async def test_a_refused_halt_is_never_reported_as_done(tmp_path: Path) -> None:
    """A daemon that answers with an error (say a token it does not have) is still trading."""

    async def refuse(_request: web.Request) -> web.Response:
        return web.json_response({"error": "unauthorized"}, status=401)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        cfg = tmp_path / "config.yaml"
        cfg.write_text(f"database: we.db\nweb:\n  port: {port}\n")
        code, out, err = await _cli("halt", "-c", str(cfg), "--reason", "storm")
        assert code == 1, out
        assert "HTTP 401" in err and "NOT halted" in err and "HALTED" not in out
        assert "not reachable" not in out
    finally:
        await runner.cleanup()
