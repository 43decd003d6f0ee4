"""Polymarket adapter: wire structs, Gamma discovery, CLOB REST books and the market stream.

No weather, store or notification code lives here; callers get typed structs and model objects.
Import the pieces from their modules (``weatheredge.polymarket.wire``, ``.gamma``, ``.clob``,
``.stream``); this package imports nothing, so the hot path's ``wire`` comes alone.
"""
