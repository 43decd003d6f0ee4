"""benchmarks/maker_latency.py wraps the gateway and reads the maker's decision times; a rename
in the code it measures must break a test, not only the next benchmark run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from weatheredge.trading.maker import Maker

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "maker_latency.py"


async def test_the_maker_benchmark_hooks_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("maker_latency", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "maker_latency", bench)
    spec.loader.exec_module(bench)

    async def place(request: object) -> object:
        return request

    async def cancel(order_id: str) -> bool:
        return True

    gateway = SimpleNamespace(place=place, cancel=cancel)
    stamps = bench.Stamps(gateway)
    await gateway.place("r")
    await gateway.cancel("o")
    assert len(stamps.places) == len(stamps.cancels) == 1
    names = Maker.__init__.__code__.co_names
    assert {"decision_ns", "refresh_ns", "tokens_decided"} <= set(names)
