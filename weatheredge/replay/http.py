"""Recorded HTTP answers served to the unchanged jobs: an aiohttp-compatible stub session.

A job's request waits until the replay reaches the tape's answer for that method and URL, so
the job resumes at the instant (and in the order) the live daemon read the body. Answers are
matched by method, path and query (the host and port of the recording are ignored; credential
values the tape scrubbed to ``***`` match any value).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import urllib.parse
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from weatheredge.tape.records import scrub_url

Key = tuple[str, str, tuple[tuple[str, str], ...]]
# The job a request belongs to (set by the replay in each job's task; gather children inherit it).
current_job: contextvars.ContextVar[str] = contextvars.ContextVar("replay_job", default="")


def request_key(method: str, url: str) -> Key:
    """What identifies a request across runs: method, path, sorted query (scrubbed)."""
    parts = urllib.parse.urlsplit(scrub_url(url))
    query = tuple(sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)))
    return method.upper(), parts.path, query


class Answer:
    """One recorded response (or transport failure)."""

    __slots__ = ("body", "error", "status", "url")

    def __init__(self, record: Mapping[str, Any]) -> None:
        self.status: int | None = record.get("status")
        body = record.get("body")
        if body is None and "body_b64" in record:
            self.body = base64.b64decode(record["body_b64"])
        else:
            self.body = (body or "").encode()
        self.error: str | None = record.get("error")
        self.url = str(record.get("url", ""))


class TapeHttp:
    """The answers the replay has reached, and the requests waiting for theirs."""

    def __init__(self) -> None:
        self._ready: dict[Key, deque[Answer]] = defaultdict(deque)
        self._waiting: dict[Key, deque[asyncio.Future[Answer]]] = defaultdict(deque)
        self.waiting = 0  # requests blocked on an answer not reached yet
        self.blocked: Counter[str] = Counter()  # job -> its requests blocked
        self.served = 0
        self.unanswered: list[Key] = []
        self.now_ns: Callable[[], int] = lambda: 0  # the replay's virtual monotonic clock
        self._since: dict[asyncio.Future[Answer], tuple[str, int]] = {}  # waiter -> job, asked
        self.missing: Counter[str] = Counter()  # "METHOD path" never answered on the tape

    def deliver(self, record: Mapping[str, Any]) -> bool:
        """The replay reached a recorded answer: hand it to its waiting request (True), or keep
        it for the request that is still to come (False)."""
        key = request_key(str(record.get("method", "GET")), str(record.get("url", "")))
        answer = Answer(record)
        waiters = self._waiting.get(key)
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                self.waiting -= 1
                fut.set_result(answer)
                return True
        self._ready[key].append(answer)
        return False

    def expire(self, jobs: frozenset[str], older_than_ns: int) -> int:
        """Fail the requests of ``jobs`` waiting since before ``older_than_ns`` (virtual) as
        timed out: the tape has no answer for them. Returns how many."""
        failed = 0
        for key, waiters in self._waiting.items():
            for fut in list(waiters):
                job, since = self._since.get(fut, ("", 0))
                if fut.done() or job not in jobs or since >= older_than_ns:
                    continue
                waiters.remove(fut)
                self.waiting -= 1
                self.missing[f"{key[0]} {key[1]}"] += 1
                fut.set_result(Answer({"status": None, "error": "not on the tape"}))
                failed += 1
        return failed

    def drop_ready(self, path_prefix: str = "") -> None:
        """Forget answers nobody asked for (a job run ended without asking)."""
        for key in [k for k in self._ready if k[1].startswith(path_prefix)]:
            del self._ready[key]

    async def answer(self, method: str, url: str) -> Answer:
        key = request_key(method, url)
        ready = self._ready.get(key)
        if ready:
            self.served += 1
            return ready.popleft()
        fut: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[key].append(fut)
        self.waiting += 1
        job = current_job.get()
        self.blocked[job] += 1
        self._since[fut] = (job, self.now_ns())
        try:
            answer = await fut
        except asyncio.CancelledError:
            if not fut.done():
                self.waiting -= 1
                self.unanswered.append(key)
            raise
        finally:
            self.blocked[job] -= 1
            self._since.pop(fut, None)
        self.served += 1
        return answer


class _Response:
    def __init__(self, answer: Answer, url: URL) -> None:
        self.status = answer.status or 0
        self.url = url
        self.headers = CIMultiDictProxy(CIMultiDict())
        self._body = answer.body

    async def read(self) -> bytes:
        return self._body

    async def text(self, encoding: str | None = None) -> str:
        return self._body.decode(encoding or "utf-8")

    async def json(self, **_: Any) -> Any:
        import json

        return json.loads(self._body)

    def raise_for_status(self) -> None:
        if self.status >= 400:
            raise aiohttp.ClientResponseError(
                None,  # type: ignore[arg-type]
                (),
                status=self.status,
                message="recorded error status",
            )

    def release(self) -> None:
        return None


class _RequestContext:
    def __init__(self, http: TapeHttp, method: str, url: URL) -> None:
        self._http, self._method, self._url = http, method, url

    async def __aenter__(self) -> _Response:
        answer = await self._http.answer(self._method, str(self._url))
        if answer.status is None:
            raise aiohttp.ClientConnectionError(f"recorded failure: {answer.error}")
        return _Response(answer, self._url)

    async def __aexit__(self, *exc: object) -> None:
        return None


class StubSession:
    """The subset of ``aiohttp.ClientSession`` the adapters use, answered from the tape."""

    closed = False

    def __init__(self, http: TapeHttp) -> None:
        self.http = http

    def request(self, method: str, url: str | URL, **kwargs: Any) -> _RequestContext:
        full = URL(str(url))
        params = kwargs.get("params")
        if params:
            full = full.extend_query(params)
        return _RequestContext(self.http, method.upper(), full)

    def get(self, url: str | URL, **kwargs: Any) -> _RequestContext:
        return self.request("GET", url, **kwargs)

    def post(self, url: str | URL, **kwargs: Any) -> _RequestContext:
        return self.request("POST", url, **kwargs)

    async def close(self) -> None:
        self.closed = True
