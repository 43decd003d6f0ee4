"""JSON replies shared by the sandbox venue's HTTP handlers (Gamma, CLOB REST, order venue)."""

from __future__ import annotations

import json

from aiohttp import web


def json_reply(body: object, status: int = 200) -> web.Response:
    """``body`` as JSON with non-ASCII text kept as is (as Gamma and the CLOB send it)."""
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """The venue's error shape: ``{"error": message}``."""
    return web.json_response({"error": message}, status=status, headers=headers)
