"""EIP-712 signatures the order venue checks: L1 ``ClobAuth`` headers and EOA orders."""

from __future__ import annotations

from typing import Any

CHAIN_ID = 137
EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"
_ATTESTATION = "This message attests that I control the given wallet"


def _fields(spec: str) -> list[dict[str, str]]:
    """EIP-712 struct members from ``"name:type name:type ..."``."""
    return [dict(zip(("name", "type"), f.split(":"), strict=True)) for f in spec.split()]


_DOMAIN_FIELDS = _fields("name:string version:string chainId:uint256")
_ORDER_FIELDS = _fields(
    "salt:uint256 maker:address signer:address tokenId:uint256 makerAmount:uint256"
    " takerAmount:uint256 side:uint8 signatureType:uint8 timestamp:uint256 metadata:bytes32"
    " builder:bytes32"
)


def _recover(typed: dict[str, Any], signature: str) -> str:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    return str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))


def clob_auth_signer(address: str, timestamp: int, nonce: int, signature: str) -> str:
    """The address a ``ClobAuth`` signature recovers to (raises on a malformed one)."""
    typed = {
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": CHAIN_ID},
        "types": {
            "EIP712Domain": _DOMAIN_FIELDS,
            "ClobAuth": _fields("address:address timestamp:string nonce:uint256 message:string"),
        },
        "primaryType": "ClobAuth",
        "message": {
            "address": address,
            "timestamp": str(timestamp),
            "nonce": nonce,
            "message": _ATTESTATION,
        },
    }
    return _recover(typed, signature)


def order_signature_ok(order: dict[str, Any], neg_risk: bool) -> bool:
    """EOA orders (signatureType 0): the EIP-712 signature recovers to the signer."""
    sig = str(order.get("signature", ""))
    if not sig.startswith("0x") or len(sig) < 132:
        return False
    if order.get("signatureType") != 0:
        return len(sig) >= 132  # contract wallets: checked on chain, not here
    try:
        typed = {
            "types": {
                "EIP712Domain": [
                    *_DOMAIN_FIELDS,
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Order": _ORDER_FIELDS,
            },
            "primaryType": "Order",
            "domain": {
                "name": "Polymarket CTF Exchange",
                "version": "2",
                "chainId": CHAIN_ID,
                "verifyingContract": NEG_RISK_EXCHANGE if neg_risk else EXCHANGE,
            },
            "message": {
                "salt": int(order["salt"]),
                "maker": order["maker"],
                "signer": order["signer"],
                "tokenId": int(order["tokenId"]),
                "makerAmount": int(order["makerAmount"]),
                "takerAmount": int(order["takerAmount"]),
                "side": 0 if order["side"] == "BUY" else 1,
                "signatureType": 0,
                "timestamp": int(order["timestamp"]),
                "metadata": order["metadata"],
                "builder": order["builder"],
            },
        }
        recovered = _recover(typed, sig)
    except Exception:
        return False
    return recovered.lower() == str(order["signer"]).lower()
