"""The SDK gateway's safety rails (the full SDK-against-sandbox order test is not built yet):
every SDK base URL can be pointed at loopback, and a failing client creation leaks no key."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from weatheredge.trading.gateway import GatewayError
from weatheredge.trading.sdk import Credentials, SdkGateway, environment_for


def test_environment_override_leaves_no_real_host() -> None:
    from polymarket._internal.environment import get_environment_config

    config = get_environment_config(environment_for("http://127.0.0.1:9"))
    urls = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    urls = {k: v for k, v in urls.items() if k.endswith("_url")}
    assert urls and all(
        v.startswith(("http://127.0.0.1:9", "ws://127.0.0.1:9")) for v in urls.values()
    )
    assert config.clob_user_ws_url == "ws://127.0.0.1:9/ws/user"


async def test_client_creation_failure_hides_the_key() -> None:
    account = Account.create()  # a throwaway key, generated here
    key = account.key.hex()
    creds = Credentials(key, account.address, "k", "c2VjcmV0", "p")  # EOA: wallet == signer
    with pytest.raises(GatewayError) as err:
        await SdkGateway.connect(creds, environment=environment_for("http://127.0.0.1:9"))
    assert key.removeprefix("0x") not in str(err.value)
    assert "c2VjcmV0" not in str(err.value)
