"""``weatheredge demo`` and ``weatheredge sandbox``: the whole loop offline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from weatheredge.config import parse_config
from weatheredge.daemon import Daemon
from weatheredge.runtime import run_daemon
from weatheredge.sandbox import Sandbox
from weatheredge.store import EdgeRow, count_rows, recent_edges

SHOW_NOTIFICATIONS = 12


@contextlib.asynccontextmanager
async def sandbox_run(
    *,
    duration: float,
    db_path: str | None,
    extra: str = "",
    label: str = "demo",
    resolve_after: float | None = None,
) -> AsyncIterator[tuple[str, Daemon, Sandbox]]:
    """Start the sandbox, run the daemon against it for ``duration`` s, then yield
    (database path, daemon, sandbox) for reporting; a temporary database lives until exit.
    ``resolve_after``: s into the run, the venue resolves NYC's high and London's events."""
    with contextlib.ExitStack() as stack:
        if db_path is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"weatheredge-{label}-"))
            db_path = str(Path(tmp) / f"{label}.db")
        sandbox = Sandbox()
        await sandbox.start()
        print(f"sandbox up: venue {sandbox.urls.gamma_url}, weather {sandbox.urls.ensemble_url}")
        print(f"running the daemon ({label}) for {duration:g} s (database {db_path}) ...")
        try:
            loaded = parse_config(sandbox.config_yaml(db_path, extra=extra), env={})
            resolving = None
            if resolve_after is not None:
                resolving = asyncio.get_running_loop().call_later(
                    resolve_after,
                    lambda: asyncio.ensure_future(sandbox.resolve(*sandbox.quoted[0:3:2])),
                )
            daemon = await run_daemon(loaded, duration=duration)
            if resolving is not None:
                resolving.cancel()
        finally:
            await sandbox.stop()
        yield db_path, daemon, sandbox


async def run_demo(*, duration: float, db_path: str | None, record: str | None = None) -> int:
    extra = record_yaml(record)
    async with sandbox_run(duration=duration, db_path=db_path, extra=extra) as (
        db,
        daemon,
        sandbox,
    ):
        print(summary(db, daemon, sandbox))
    print_tape(record)
    return 0


def print_tape(record: str | None) -> None:
    if record:
        from weatheredge.tape.info import render, scan

        print(f"\n== tape {record} ==\n{render(scan(record))}")


def record_yaml(record: str | None) -> str:
    """Config lines keeping the run's tape in ``record`` (else it sits beside the database)."""
    if not record:
        return ""
    return f"tape:\n  enabled: true\n  dir: {json.dumps(str(Path(record).resolve()))}\n"


def summary(db_path: str, daemon: object, sandbox: Sandbox) -> str:
    discovery = getattr(getattr(daemon, "ctx", None), "discovery", {}) or {}
    lines = [
        "",
        "== weatheredge demo summary ==",
        f"events discovered : {discovery.get('events', 0)} "
        f"({discovery.get('markets', 0)} bucket markets; "
        f"{discovery.get('rejected', 0)} records skipped)",
    ]
    for why in discovery.get("rejected_sample", []):
        lines.append(f"  skipped  {why}")
    for component, why in sorted(daemon.health.notes.items()):
        lines.append(f"  degraded {component}: {why}")
    lines.append(f"forecast snapshots: {count_rows(db_path, 'forecasts')}")
    edges = recent_edges(db_path, limit=20)
    lines.append(f"edge episodes     : {len(edges)}")
    for e in edges:
        lines.append(f"  {e.opened_at}  {e.city} {e.date}  {_describe_edge(e)}")
    shown = sandbox.notifications[:SHOW_NOTIFICATIONS]
    lines.append(f"notifications     : {len(sandbox.notifications)} received by the sandbox sink")
    for n in shown:
        lines.append(f"  {n.get('title', '')}")
    if len(sandbox.notifications) > len(shown):
        lines.append(f"  … and {len(sandbox.notifications) - len(shown)} more")
    if not edges:
        lines.append("no edge seen: try a longer --duration")
    return "\n".join(lines)


def _describe_edge(e: EdgeRow) -> str:
    tail = f"[{e.status}] decided in {e.latency_us} µs"
    if e.kind == "ladder":
        action = "buy every YES" if e.side == "YES" else "sell every YES"
        return (
            f"{e.bucket}: {action} for {e.open_price} per set, "
            f"edge={e.open_edge:+.3f} sets={e.open_size} {tail}"
        )
    return (
        f"{e.bucket:<16} buy {e.side:<3} at {e.open_price:<6} p={e.prob:.3f} "
        f"edge={e.open_edge:+.3f} size={e.open_size} {tail}"
    )


async def run_sandbox_forever(
    host: str, port: int, *, write_config: str | None = None, db: str = "sandbox.db"
) -> int:
    sandbox = Sandbox(host=host, port=port)
    urls = await sandbox.start()
    print("weatheredge sandbox running (Ctrl-C to stop)")
    for name in urls.__slots__:
        print(f"  {name:<13} {getattr(urls, name)}")
    config = sandbox.config_yaml(db, web_port=8787)
    if write_config:
        # Once, before anything else runs on the loop; written whole so a reader never sees half.
        tmp = Path(f"{write_config}.tmp")
        tmp.write_text(config)  # noqa: ASYNC240
        tmp.replace(write_config)  # noqa: ASYNC240
        print(f"\nconfig pointing at it written to {write_config}")
    else:
        print("\nconfig pointing at it:\n")
        print(config)
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await sandbox.stop()
    return 0
