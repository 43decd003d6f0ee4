"""Where the daemon hands what it sees to the tape, without its adapters knowing the tape.

- HTTP: one ``aiohttp.ClientResponse`` subclass for the shared session records every body the
  daemon reads (Gamma pages, REST /books, Open-Meteo, METAR/NWS/HKO/CWA), with its URL scrubbed
  of credentials and its source named by the configured base URL it starts with.
- Everything else calls ``Recorder.record``/``Recorder.frame`` through a plain callable.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import aiohttp

from weatheredge.tape.records import scrub_url

Record = Callable[..., None]
Sources = Sequence[tuple[str, str]]  # (base URL, source name); two may share a base URL


def source_of(url: str, sources: Sources) -> str:
    """The name of the longest configured base URL ``url`` starts with, else its host.

    Gamma and the CLOB may share a base URL (the sandbox serves both): then the path decides."""
    best, names = -1, []
    for base, label in sources:
        if base and url.startswith(base):
            if len(base) > best:
                best, names = len(base), [label]
            elif len(base) == best:
                names.append(label)
    if len(names) > 1 and "clob" in names and "gamma" in names:
        path = url[best:].split("?")[0]
        return "gamma" if path.startswith(("/events", "/markets", "/tags")) else "clob"
    if names:
        return names[0]
    return url.split("/")[2] if url.count("/") >= 2 else "other"


def response_class(
    record: Record, sources: Sources, secrets: Iterable[str] = ()
) -> type[aiohttp.ClientResponse]:
    """A response class that tapes every body read through it (on the loop: only queued)."""
    hidden = tuple(secrets)

    class TapedResponse(aiohttp.ClientResponse):
        async def read(self) -> bytes:
            first = self._body is None
            body = await super().read()
            if first:
                mono = time.perf_counter_ns()
                url = str(self.url)
                record(
                    "http",
                    {
                        "source": source_of(url, sources),
                        "method": self.method,
                        "url": scrub_url(url, hidden),
                        "status": self.status,
                        "body": body,
                    },
                    mono,
                )
            return body

    return TapedResponse


def failure_trace(
    record: Record, sources: Sources, secrets: Iterable[str] = ()
) -> aiohttp.TraceConfig:
    """Tapes requests that never produced a body (timeouts, refused connections): a replay
    must see that the daemon asked and got nothing."""
    hidden = tuple(secrets)
    trace = aiohttp.TraceConfig()

    async def failed(_session: Any, _ctx: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        url = str(params.url)
        error = type(params.exception).__name__
        record(
            "http",
            {
                "source": source_of(url, sources),
                "method": params.method,
                "url": scrub_url(url, hidden),
                "status": None,
                "error": error,
            },
        )

    trace.on_request_exception.append(failed)
    return trace


def applied_marker(record: Record) -> Callable[[str, str], Awaitable[None]]:
    """``JobContext.applying`` live: tapes the instant a job applies a result (``applied``), so
    a replay applies it between the same inputs. Never suspends: the job applies at once."""

    async def applying(job: str, key: str) -> None:
        record("applied", {"job": job, "key": key})

    return applying


def settings_sources(settings: Any) -> Sources:
    """(base URL, source name) for every HTTP service in the settings."""
    pm, w = settings.polymarket, settings.weather
    return (
        (pm.gamma_url, "gamma"),
        (pm.clob_url, "clob"),
        (w.ensemble_url, "open-meteo-ensemble"),
        (w.forecast_url, "open-meteo-forecast"),
        (w.metar_url, "aviationweather"),
        (w.nws_url, "nws"),
        (w.hko_url.split("?")[0], "hko"),
        (w.cwa_url.split("?")[0], "cwa"),
    )
