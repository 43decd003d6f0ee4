"""`weatheredge status`, `--help` on every command, and the rotating log file."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import eventually, running_daemon
from weatheredge.cli import build_parser, setup_logging
from weatheredge.config import parse_config
from weatheredge.sandbox import Sandbox


async def _cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "weatheredge", *args,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_status_command_talks_to_the_running_daemon(sandbox: Sandbox, tmp_path: Path) -> None:
    from weatheredge.status import health_verdict

    async with running_daemon(sandbox, tmp_path / "we.db") as (daemon, base):
        await eventually(lambda: daemon.engine.status()["books_synced"] == 88, within=15)
        await eventually(lambda: health_verdict(daemon)["state"] == "healthy", within=15)
        code, out, err = await _cli("status", "--url", base)
        assert code == 0, err
        assert ": HEALTHY, mode DRY_RUN" in out
        assert "88/88 books synced" in out and "discover_markets" in out
        code, out, _ = await _cli("status", "--url", base, "--json")
        assert code == 0 and '"mode": "dry_run"' in out
        await daemon.halt("storm over NYC")
        code, out, _ = await _cli("status", "--url", base)
        assert code == 1 and "HEALTHY" not in out.splitlines()[0]
        assert ": HALTED, mode DRY_RUN" in out and "HALTED: storm over NYC" in out


async def test_status_command_when_nothing_runs() -> None:
    code, _, err = await _cli("status", "--url", "http://127.0.0.1:9", "--timeout", "2")
    assert code == 3
    assert "not answering" in err and "weatheredge run" in err
    assert "connection refused" in err and "Errno" not in err


def test_every_command_has_help_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    epilogs = {}
    for name, command in sub.choices.items():  # type: ignore[union-attr]
        with pytest.raises(SystemExit):
            parser.parse_args([name, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text and f"weatheredge {name}" in text, name
        epilogs[name] = command.epilog
        for action in command._actions:  # every option says what it does
            assert action.help, f"{name} {action.option_strings or action.dest}: no help text"
    assert len(set(epilogs.values())) == len(epilogs), "a shared example block"
    general = parser.epilog or ""
    for word in ("halt", "resume", "arm", "disarm", "trades", "pnl", "demo --mode paper"):
        assert word in general, word


def test_rotating_log_file_is_redacted(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "weatheredge.log"
    hook = "json://127.0.0.1:9/SecretHookPath12345"
    loaded = parse_config(
        f"notify: {{urls: [!env HOOK]}}\nlogging: {{file: {log}, max_bytes: 10000, "
        "backup_count: 2, level: DEBUG}\n",
        env={"HOOK": hook},
    )
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        setup_logging(loaded, "WARNING")
        logger = logging.getLogger("weatheredge.test")
        logger.debug("posting to %s", hook)
        for i in range(300):
            logger.info("line %d %s", i, "x" * 60)
        logger.warning("still posting to %s", hook)
        for handler in root.handlers:
            handler.flush()
    finally:
        for handler in root.handlers:
            if handler not in saved[0]:
                handler.close()
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    files = sorted(p.name for p in log.parent.iterdir())
    assert files == ["weatheredge.log", "weatheredge.log.1", "weatheredge.log.2"]
    text = "".join(p.read_text() for p in log.parent.iterdir())
    assert "SecretHookPath12345" not in text and "still posting to" in text
    assert all(p.stat().st_size <= 10_500 for p in log.parent.iterdir())
