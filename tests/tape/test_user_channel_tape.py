"""The user channel (live trading) tapes every message as received, and never our auth."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Any

from tests.conftest import eventually
from tests.trading.livekit import box, connect, loopback_only, yes_token
from weatheredge.sandbox import Sandbox
from weatheredge.trading.gateway import OrderRequest
from weatheredge.trading.userchannel import UserChannel

__all__ = ["box", "loopback_only"]  # fixtures


async def test_user_channel_messages_are_taped_as_received(box: Sandbox) -> None:
    assert box.urls is not None
    gateway, creds = await connect(box)
    taped: list[tuple[str, dict[str, Any], int]] = []
    channel = UserChannel(
        box.urls.clob_url.replace("http://", "ws://") + "/ws/user",
        gateway.api_credentials,
        on_trade=lambda _t: None,
        on_reconnect=lambda: None,
        tape=lambda kind, fields, mono_ns: taped.append((kind, fields, mono_ns)),
    )
    task = asyncio.create_task(channel.run())
    try:
        await eventually(lambda: box.exchange.user_client_count == 1)
        yes = yes_token(box)
        box.venue.set_book(yes, [("0.10", "50")], [("0.20", "6")], mirror=False)
        await gateway.place(OrderRequest("k", yes, "BUY", Decimal("0.20"), Decimal("6")))
        await eventually(lambda: any('"CONFIRMED"' in f["raw"] for _k, f, _m in taped))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await gateway.close()
    assert {k for k, _f, _m in taped} == {"user"}
    assert all(f["epoch"] == 1 and m > 0 for _k, f, m in taped)
    text = "".join(f["raw"] for _k, f, _m in taped)
    assert '"event_type":"order"' in text.replace(" ", "") and "trade" in text
    assert creds.api_secret and creds.api_secret not in text  # our subscription is not taped
    assert creds.api_passphrase and creds.api_passphrase not in text
