"""Live orders through the official unified SDK ``polymarket-client`` (import ``polymarket``).

Only this module imports the SDK. Orders are signed locally (``create_limit_order``) and posted
with ``post_order``: never ``place_limit_order``, whose allowance recovery may broadcast an
approval transaction on its own. Only the post is ambiguous (a timeout there may hide an
accepted order); a failure while fetching market metadata or signing sent nothing.

Credentials come from :func:`load_credentials`: the environment or a mode-0600 YAML file. They
are held in memory only, and every error this module raises is stripped of them.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from weatheredge.trading.gateway import (
    GatewayBusy,
    GatewayError,
    GatewayTimeout,
    OpenOrderView,
    OrderRequest,
    PlaceResult,
    TradeView,
)

logger = logging.getLogger(__name__)

ENV_KEY = "WEATHEREDGE_PRIVATE_KEY"
ENV_WALLET = "WEATHEREDGE_WALLET"
ENV_API = ("WEATHEREDGE_CLOB_API_KEY", "WEATHEREDGE_CLOB_SECRET", "WEATHEREDGE_CLOB_PASSPHRASE")


class CredentialsError(Exception):
    """Keys missing or unsafe. The message never contains a secret."""


@dataclass(frozen=True, slots=True)
class Credentials:
    private_key: str = dataclasses.field(repr=False)
    wallet: str
    api_key: str | None = dataclasses.field(default=None, repr=False)
    api_secret: str | None = dataclasses.field(default=None, repr=False)
    api_passphrase: str | None = dataclasses.field(default=None, repr=False)

    def secrets(self) -> list[str]:
        """Every value that must never be logged (for the redaction filter)."""
        values = [self.private_key, self.private_key.removeprefix("0x")]
        values += [v for v in (self.api_key, self.api_secret, self.api_passphrase) if v]
        return [v for v in values if v]


def load_credentials(key_file: str | None, env: Mapping[str, str] | None = None) -> Credentials:
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    if key_file:
        path = Path(key_file)
        if not path.exists():
            raise CredentialsError(f"trading.key_file {path} does not exist")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise CredentialsError(f"{path} must be mode 0600 (is {mode:04o}): it holds a key")
        loaded = yaml.safe_load(path.read_text()) or {}
        if not isinstance(loaded, dict):
            raise CredentialsError(f"{path} must be a mapping (private_key, wallet, ...)")
        data = loaded
    key = str(data.get("private_key") or env.get(ENV_KEY) or "")
    wallet = str(data.get("wallet") or env.get(ENV_WALLET) or "")
    if not key or not wallet:
        raise CredentialsError(
            f"live trading needs a private key and a wallet address: set {ENV_KEY} and "
            f"{ENV_WALLET}, or trading.key_file (mode 0600)"
        )
    api = [
        data.get(name) or env.get(var)
        for name, var in zip(("api_key", "api_secret", "api_passphrase"), ENV_API, strict=True)
    ]
    if any(api) and not all(api):
        raise CredentialsError("CLOB API credentials need all three: key, secret, passphrase")
    return Credentials(key, wallet, *(str(v) if v else None for v in api))


def environment_for(base_url: str, ws_base: str | None = None) -> Any:
    """An SDK environment whose every URL points at ``base_url`` (the sandbox, in tests).

    Uses the SDK's own (internal) environment factory: 0.14 has no public host override.
    Every URL is replaced, so nothing can reach a real host, and the RPC URL too (an EOA
    wallet never needs it for orders).
    """
    from polymarket._internal.environment import PRODUCTION_CONFIG, create_environment

    ws = ws_base or base_url.replace("http://", "ws://").replace("https://", "wss://")
    urls = {
        f.name: base_url
        for f in dataclasses.fields(PRODUCTION_CONFIG)
        if f.name.endswith("_url") and isinstance(getattr(PRODUCTION_CONFIG, f.name), str)
    }
    for name in urls:
        if "ws" in name:
            urls[name] = ws
    urls["clob_market_ws_url"] = f"{ws}/ws/market"
    urls["clob_user_ws_url"] = f"{ws}/ws/user"
    config = dataclasses.replace(PRODUCTION_CONFIG, **urls)
    return create_environment(name="weatheredge-override", config=config)


def _clean(err: BaseException, creds: Credentials) -> str:
    text = f"{type(err).__name__}: {err}"
    for secret in creds.secrets():
        text = text.replace(secret, "****")
    return text[:300]


class SdkGateway:
    name = "live"

    def __init__(self, client: Any, creds: Credentials) -> None:
        self._client = client
        self._creds = creds
        self._heartbeat_id = ""

    @classmethod
    async def connect(cls, creds: Credentials, *, environment: Any = None) -> SdkGateway:
        from polymarket import AsyncSecureClient
        from polymarket.models import ApiKeyCreds

        api = None
        if creds.api_key:
            api = ApiKeyCreds.model_validate(
                {
                    "apiKey": creds.api_key,
                    "secret": creds.api_secret,
                    "passphrase": creds.api_passphrase,
                }
            )
        kwargs: dict[str, Any] = {}
        if environment is not None:
            kwargs["environment"] = environment
        try:
            client = await AsyncSecureClient.create(
                private_key=creds.private_key, wallet=creds.wallet, credentials=api, **kwargs
            )
        except Exception as err:
            raise GatewayError(f"cannot create the trading client: {_clean(err, creds)}") from None
        return cls(client, creds)

    @property
    def api_credentials(self) -> tuple[str, str, str]:
        """(key, secret, passphrase) for the user channel; never log them."""
        c = self._client.credentials
        return c.key, c.secret, c.passphrase

    async def place(self, request: OrderRequest) -> PlaceResult:
        from polymarket import errors as E

        try:
            signed = await self._client.create_limit_order(
                token_id=request.token_id,
                price=str(request.price),
                size=str(request.size),
                side=request.side,
                post_only=request.post_only,
            )
        except Exception as err:  # nothing was posted: a plain, unambiguous failure
            raise GatewayError(_clean(err, self._creds)) from None
        try:
            response = await self._client.post_order(signed)
        except E.RateLimitError as err:
            raise GatewayBusy(429, "rate limited", err.retry_after) from None
        except E.RequestRejectedError as err:
            if err.status in (425, 429, 503):
                raise GatewayBusy(err.status, _clean(err, self._creds), err.retry_after) from None
            if err.status >= 500:
                raise GatewayTimeout(_clean(err, self._creds)) from None  # may have landed
            raise GatewayError(_clean(err, self._creds)) from None
        except (E.TransportError, E.TimeoutError, E.ConnectionLostError) as err:
            raise GatewayTimeout(_clean(err, self._creds)) from None
        if not response.ok:
            return PlaceResult(False, status=response.code, reason=response.message)
        # Shares matched at placement: what a BUY takes, what a SELL gives.
        matched = response.taking_amount if request.side == "BUY" else response.making_amount
        trades: tuple[TradeView, ...] = ()
        known = True
        if response.trade_ids:
            trades, known = await self._placement_trades(request.token_id, response)
        # A GTC remainder rests. Fills we could not read yet keep the order working: they
        # arrive on the user channel or at the next reconcile, never inferred as cancelled.
        resting = response.status != "matched" or matched < request.size or not known
        return PlaceResult(True, response.order_id, response.status, trades=trades, resting=resting)

    async def _placement_trades(
        self, token_id: str, response: Any
    ) -> tuple[tuple[TradeView, ...], bool]:
        """The fills listed in an order response, read back over REST (an unambiguous read:
        the order is already known). (trades, all found)."""
        wanted = set(response.trade_ids)
        try:
            found = [
                t
                for t in await self.trades(token_id)
                if t.order_id == response.order_id and t.trade_id in wanted
            ]
        except Exception as err:
            logger.warning(
                "fills of order %s not read: %s", response.order_id, _clean(err, self._creds)
            )
            return (), False
        return tuple(found), {t.trade_id for t in found} == wanted

    async def cancel(self, order_id: str) -> bool:
        response = await self._wrap(self._client.cancel_order(order_id=order_id))
        return order_id in response.canceled

    async def cancel_all(self) -> list[str]:
        response = await self._wrap(self._client.cancel_all())
        return list(response.canceled)

    async def open_orders(self, token_id: str | None = None) -> list[OpenOrderView]:
        out = []
        async for o in self._client.list_open_orders(asset_id=token_id).iter_items():
            out.append(
                OpenOrderView(
                    o.id,
                    o.asset_id,
                    o.side,
                    Decimal(o.price),
                    Decimal(o.original_size),
                    Decimal(o.size_matched),
                )
            )
        return out

    async def trades(self, token_id: str | None = None) -> list[TradeView]:
        out: list[TradeView] = []
        async for t in self._client.list_account_trades(asset_id=token_id).iter_items():
            if t.trader_side == "TAKER":
                out.append(
                    TradeView(
                        t.id,
                        t.taker_order_id,
                        t.asset_id,
                        t.side,
                        t.price,
                        t.size,
                        str(t.status).removeprefix("TRADE_STATUS_"),
                        "TAKER",
                    )
                )
            else:
                for m in t.maker_orders:
                    if m.maker_address.lower() != self._creds.wallet.lower():
                        continue
                    out.append(
                        TradeView(
                            f"{t.id}:{m.order_id}",
                            m.order_id,
                            m.asset_id,
                            m.side,
                            m.price,
                            m.matched_amount,
                            str(t.status).removeprefix("TRADE_STATUS_"),
                            "MAKER",
                            Decimal(0),
                        )
                    )
        return out

    async def heartbeat(self) -> None:
        beat = await self._wrap(self._client.send_order_heartbeat(heartbeat_id=self._heartbeat_id))
        self._heartbeat_id = getattr(beat, "heartbeat_id", "") or self._heartbeat_id

    async def close(self) -> None:
        await self._client.close()

    async def _wrap(self, coro: Any) -> Any:
        try:
            return await coro
        except Exception as err:
            raise GatewayError(_clean(err, self._creds)) from None
