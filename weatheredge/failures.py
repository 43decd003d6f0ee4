"""Failures in words a person can act on: "DNS lookup failed", "connection refused", "HTTP 503".

Library exceptions reach the log, ``/status``, ``/healthz`` and ``weatheredge status`` only through
``describe``: their reprs (``ClientConnectorDNSError(ConnectionKey(host=…, …``) name internals,
not the cause. The traceback stays available at DEBUG.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import aiohttp

OFFLINE_HINT = "no internet? `weatheredge demo` runs offline"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first (cycles cut)."""
    seen: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in seen:
        seen.append(node)
        node = node.__cause__ or node.__context__
    return seen


def _one(exc: BaseException) -> str | None:
    """Words for one exception we recognise, else None."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError | socket.gaierror):
        host = getattr(exc, "host", None)
        return f"DNS lookup failed{f' for {host}' if host else ''}"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | ssl.SSLError):
        return "TLS handshake failed (certificate or proxy?)"
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = f"{exc.host}:{exc.port}"
        if isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused by {where}"
        if isinstance(exc.os_error, TimeoutError):
            return f"connecting to {where} timed out"
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect to {where} ({reason})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    status = getattr(getattr(exc, "response", None), "status_code", None)  # websockets
    if isinstance(status, int):
        return f"HTTP {status} on the WebSocket handshake"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return None


def describe(exc: BaseException) -> str:
    """The worded cause found along ``exc``'s cause chain.

    Our own errors (``GammaError`` …) already carry words: they are used as they are unless a
    library error below them says more."""
    chain = _chain(exc)
    for node in chain:
        if type(node).__module__.startswith("weatheredge.") and str(node).strip():
            return str(node).strip()
    for node in chain:  # a library's wrapper (host, port) says more than the bare OSError
        words = _one(node)
        if words is not None:
            return words
    text = str(exc).strip()
    return text or type(exc).__name__


def is_offline(exc: BaseException) -> bool:
    """DNS failures and unreachable networks: most likely this machine has no internet."""
    for node in _chain(exc):
        if isinstance(node, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return True
        errno = getattr(getattr(node, "os_error", node), "errno", None)
        if errno in (101, 113):  # ENETUNREACH, EHOSTUNREACH
            return True
    return False


def with_hint(words: str, exc: BaseException) -> str:
    return f"{words} — {OFFLINE_HINT}" if is_offline(exc) else words
