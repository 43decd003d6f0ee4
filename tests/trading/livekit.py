"""Helpers for tests that drive the real ``polymarket-client`` SDK against the sandbox exchange.

``loopback_only`` makes any connection to a host other than 127.0.0.1 / ::1 / localhost fail
loudly for the duration of a test, so a URL the override missed cannot reach a real host.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from eth_account import Account

from weatheredge.sandbox import Sandbox
from weatheredge.trading.sdk import Credentials, SdkGateway, environment_for

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
attempts: list[str] = []  # non-loopback destinations tried (and refused) during a test


class NotLoopback(OSError):
    pass


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(host: object) -> None:
        if str(host) not in LOOPBACK and not str(host).startswith("127."):
            attempts.append(str(host))
            raise NotLoopback(f"test network guard: {host} is not loopback")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None:
            check(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            check(address[0])
        return real_connect_ex(self, address)

    attempts.clear()
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts
    assert attempts == [], f"non-loopback connections attempted: {attempts}"


@pytest.fixture
async def box(loopback_only: list[str]) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox()
    sandbox.exchange.settle_s = 0.02
    await sandbox.start(play=False)
    try:
        yield sandbox
    finally:
        await sandbox.stop()


def throwaway() -> tuple[str, str]:
    """A fresh private key (hex) and its address: an EOA wallet, generated here."""
    account = Account.create()
    return account.key.hex(), account.address


async def connect(box: Sandbox, *, with_api_key: bool = True) -> tuple[SdkGateway, Credentials]:
    """An SdkGateway on a throwaway EOA, every SDK URL on the sandbox's loopback port."""
    assert box.urls is not None
    key, address = throwaway()
    api: tuple[str | None, ...] = (None, None, None)
    if with_api_key:
        c = box.exchange.register_api_key(address)
        api = (c.key, c.secret, c.passphrase)
    creds = Credentials(key, address, *api)
    gateway = await SdkGateway.connect(creds, environment=environment_for(box.urls.clob_url))
    return gateway, creds


def yes_token(box: Sandbox, index: int = 0) -> str:
    return box.quoted[0].tokens(index)[0]
