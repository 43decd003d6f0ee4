"""Authentication: L1 (``ClobAuth`` signature) key endpoints and L2 (HMAC) request checks.

- L1 (``POST /auth/api-key``, ``GET /auth/derive-api-key``): the EIP-712 ``ClobAuth``
  signature must recover to ``POLY_ADDRESS``, else 401 ``Invalid L1 Request headers``.
- L2: the five ``POLY_*`` headers, the passphrase and the HMAC over
  ``timestamp + method + path + body`` with the key's secret, else 401
  ``Unauthorized/Invalid api key``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

from aiohttp import web

from weatheredge.sandbox.exchange.signing import clob_auth_signer
from weatheredge.sandbox.exchange.state import (
    BAD_L1,
    BUSY_TEXT,
    UNAUTHORIZED,
    ApiCreds,
    ExchangeState,
)
from weatheredge.sandbox.replies import error_reply


class AuthApi(ExchangeState):
    """API keys and the checks every authenticated endpoint starts with."""

    def register_api_key(self, address: str, nonce: int = 0) -> ApiCreds:
        """Issue CLOB API credentials for an address (as ``create`` would)."""
        creds = ApiCreds(
            key=str(uuid.uuid4()),
            secret=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            passphrase=secrets.token_hex(16),
            address=address,
        )
        self._keys[creds.key] = creds
        self._derived[(address.lower(), nonce)] = creds.key
        return creds

    async def handle_create_api_key(self, request: web.Request) -> web.Response:
        signer = self._l1_request(request, "POST /auth/api-key")
        if isinstance(signer, web.Response):
            return signer
        address, nonce = signer
        if (address.lower(), nonce) in self._derived:
            return error_reply(400, "Could not create api key")
        return self._creds_json(self.register_api_key(address, nonce))

    async def handle_derive_api_key(self, request: web.Request) -> web.Response:
        signer = self._l1_request(request, "GET /auth/derive-api-key")
        if isinstance(signer, web.Response):
            return signer
        address, nonce = signer
        key = self._derived.get((address.lower(), nonce))
        creds = self._keys[key] if key else self.register_api_key(address, nonce)
        return self._creds_json(creds)

    @staticmethod
    def _creds_json(creds: ApiCreds) -> web.Response:
        return web.json_response(
            {"apiKey": creds.key, "secret": creds.secret, "passphrase": creds.passphrase}
        )

    async def handle_api_keys(self, request: web.Request) -> web.Response:
        creds = await self._authorize(request, "GET /auth/api-keys")
        if not isinstance(creds, ApiCreds):
            return creds
        keys = [k for k, c in self._keys.items() if c.address.lower() == creds.address.lower()]
        return web.json_response({"apiKeys": keys})

    async def _authorize(
        self, request: web.Request, route: str, *, busy: bool = False
    ) -> ApiCreds | web.Response:
        """The common preamble: count the request under ``route``, check L2 (401) and, for
        ``busy`` endpoints (order posts), the busy fault. The credentials or the refusal."""
        self.requests[route] += 1
        creds = await self._l2(request)
        if creds is None:
            return error_reply(401, UNAUTHORIZED)
        if busy and self.faults.busy > 0:
            f = self.faults
            f.busy -= 1
            headers = {"Retry-After": str(f.retry_after_s)} if f.busy_status == 429 else None
            return error_reply(f.busy_status, BUSY_TEXT.get(f.busy_status, "busy"), headers=headers)
        return creds

    async def _authorized_json(
        self,
        request: web.Request,
        route: str,
        shape: type[dict[str, Any]] | type[list[Any]],
        *,
        invalid: str = "Invalid payload",
        busy: bool = False,
    ) -> tuple[ApiCreds, Any] | web.Response:
        """``_authorize``, then the JSON body: (credentials, body), or the refusal (400
        ``invalid`` for a body that is not JSON of the given ``shape``)."""
        creds = await self._authorize(request, route, busy=busy)
        if not isinstance(creds, ApiCreds):
            return creds
        try:
            body = json.loads(await request.read())
        except ValueError:
            return error_reply(400, invalid)
        return (creds, body) if isinstance(body, shape) else error_reply(400, invalid)

    def _l1_request(self, request: web.Request, route: str) -> tuple[str, int] | web.Response:
        """Count the request under ``route``; (address, nonce) of a valid L1 signature or 401."""
        self.requests[route] += 1
        signer = self._l1(request)
        return error_reply(401, BAD_L1) if signer is None else signer

    def _expire_heartbeats(self) -> None:
        raise NotImplementedError  # AccountApi: the dead-man switch, run on every L2 request

    def _l1(self, request: web.Request) -> tuple[str, int] | None:
        """(address, nonce) when the ClobAuth signature recovers to POLY_ADDRESS."""
        h = request.headers
        try:
            address, signature = h["POLY_ADDRESS"], h["POLY_SIGNATURE"]
            timestamp, nonce = int(h["POLY_TIMESTAMP"]), int(h.get("POLY_NONCE", "0"))
            recovered = clob_auth_signer(address, timestamp, nonce, signature)
        except Exception:  # missing header, bad number, bad signature: all the same 401
            self.auth_failures += 1
            return None
        if recovered.lower() != address.lower():
            self.auth_failures += 1
            return None
        return address, nonce

    async def _l2(self, request: web.Request) -> ApiCreds | None:
        """The API credentials of a correctly signed L2 request, else None."""
        h = request.headers
        body = (await request.read()).decode("utf-8", "replace")
        try:
            key, passphrase = h["POLY_API_KEY"], h["POLY_PASSPHRASE"]
            address, signature, timestamp = (
                h["POLY_ADDRESS"],
                h["POLY_SIGNATURE"],
                h["POLY_TIMESTAMP"],
            )
            int(timestamp)
        except (KeyError, ValueError):
            self.auth_failures += 1
            return None
        creds = self._keys.get(key)
        if creds is None or not hmac.compare_digest(creds.passphrase, passphrase):
            self.auth_failures += 1
            return None
        if creds.address.lower() != address.lower():
            self.auth_failures += 1
            return None
        path = request.raw_path.split("?", 1)[0]
        message = f"{timestamp}{request.method}{path}{body}"
        try:
            raw = base64.urlsafe_b64decode(creds.secret + "=" * (-len(creds.secret) % 4))
        except (binascii.Error, ValueError):
            return None
        expected = base64.urlsafe_b64encode(
            hmac.new(raw, message.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, signature):
            self.auth_failures += 1
            return None
        self._expire_heartbeats()
        return creds
