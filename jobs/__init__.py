"""Scheduled workflows: thin async orchestration over weatheredge's adapters and model.

Each module exposes ``async def run(ctx: JobContext) -> None``; the runtime schedules them by
textual reference (``jobs.discover_markets:run``) so weatheredge itself never imports jobs.
"""
