"""The backtest scoreboard: one :class:`CombinationResult` per ``--set`` combination.

Pure: it reads what one replay produced (:class:`RunData`: its decisions, the positions left,
the probability/mid samples and the venue's resolutions on the tape) and computes named
metrics. Metrics live in a registry so another module adds a column with one decorated
function::

    @metric("quotes", "{:d}", header="quotes")
    def quotes(run: RunData) -> int:
        return sum(1 for d in run.decisions if d.kind == "intent")

PnL is realised at the venue's resolution: the fills' realised PnL (exits, settlements, fees
paid on buys) plus, for each position still held when the replay ends, what the venue's
resolution on the tape pays (``(payout - average price) × shares``); a position whose event has
no resolution on the tape stays open (counted, not valued). Scores compare our P(YES) with the
market's mid sampled at the same instants (:mod:`weatheredge.replay.sampler`), per lead and city.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from weatheredge.replay.driver import Decision
from weatheredge.replay.maker_metrics import maker_metrics
from weatheredge.replay.resolutions import Resolutions
from weatheredge.replay.sampler import LEADS, Samples

ZERO = Decimal(0)


@dataclass
class RunData:
    """What one replay produced, as the metrics read it."""

    overrides: dict[str, str]
    decisions: list[Decision]
    positions: list[dict[str, Any]]  # the replay database's ``positions`` rows at the end
    samples: Samples
    resolutions: Resolutions
    end_ns: int  # virtual wall time the replay ended
    db_path: str = ""  # the replay's output database, readable while metrics are computed

    @functools.cached_property
    def maker(self) -> dict[str, float | int]:
        """The quoting metrics (:mod:`weatheredge.replay.maker_metrics`), read once."""
        return maker_metrics(self.db_path) if self.db_path else {}

    @functools.cached_property
    def fills(self) -> list[tuple[int, dict[str, Any]]]:
        out = []
        for d in self.decisions:
            if d.kind == "fill":
                out.append(
                    (int(d.record.get("wall_ns", 0)), d.record.get("data", {}).get("fill", {}))
                )
        return out

    @functools.cached_property
    def realisations(self) -> list[tuple[int, Decimal, str, bool]]:
        """(wall ns, PnL, city, closes a position) in time order: every fill, then each held
        position valued at its resolution."""
        out = [
            (at, Decimal(str(f.get("realized_pnl") or 0)), self.city_of_token(f.get("token_id")),
             f.get("side") in ("SELL", "SETTLE"))
            for at, f in self.fills
        ]  # fmt: skip
        for pos, payout, at in self.resolved_positions:
            pnl = (payout - Decimal(str(pos["avg_price"]))) * Decimal(str(pos["shares"]))
            out.append((max(at, self.end_ns), pnl, str(pos.get("city") or "?"), True))
        return sorted(out, key=lambda r: r[0])

    @functools.cached_property
    def held(self) -> list[dict[str, Any]]:
        return [p for p in self.positions if Decimal(str(p.get("shares") or 0)) > 0]

    @functools.cached_property
    def resolved_positions(self) -> list[tuple[dict[str, Any], Decimal, int]]:
        out = []
        for pos in self.held:
            market, outcome = pos.get("market_id"), pos.get("outcome")
            won = self.resolutions.outcome_of(str(market), pos.get("event_id"))
            if won is None or outcome not in ("YES", "NO"):
                continue
            payout = Decimal(1) if bool(won) == (outcome == "YES") else ZERO
            out.append((pos, payout, self.resolutions.at_ns.get(str(market), self.end_ns)))
        return out

    def city_of_token(self, token: Any) -> str:
        s = self.samples
        market = s.yes_tokens.get(token) or s.no_tokens.get(token)
        return s.markets.get(market, ("", "?"))[1] if market else "?"

    @functools.cached_property
    def curve(self) -> list[tuple[int, float]]:
        """Cumulative realised PnL after each realisation: (wall ns, pUSD)."""
        total, out = ZERO, []
        for at, pnl, _, _ in self.realisations:
            total += pnl
            out.append((at, float(total)))
        return out


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[[RunData], Any]
    fmt: str  # format spec for the printed table, e.g. "{:.4f}"
    header: str


METRICS: dict[str, Metric] = {}
# The printed tables: name -> its columns. "main" is every combination's; "maker" is printed
# only when some combination quotes, so a taker sweep's output stays as it was.
TABLES: dict[str, list[str]] = {"main": [], "maker": []}


def metric(
    name: str, fmt: str = "{}", *, header: str | None = None, tables: tuple[str, ...] = ("main",)
) -> Callable[..., Any]:
    """Register a scoreboard column (in registration order) of the named tables."""

    def register(fn: Callable[[RunData], Any]) -> Callable[[RunData], Any]:
        METRICS[name] = Metric(name, fn, fmt, header or name)
        for table in tables:
            TABLES.setdefault(table, []).append(name)
        return fn

    return register


@dataclass
class CombinationResult:
    overrides: dict[str, str]
    metrics: dict[str, Any]
    scores: dict[str, dict[str, dict[str, float]]]  # "horizon"/"city" -> group -> score
    pnl_by_city: dict[str, float]
    curve: list[tuple[int, float]]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.overrides.items()) or "(config)"


def score(run: RunData) -> CombinationResult:
    by_city: dict[str, Decimal] = defaultdict(Decimal)
    for _, pnl, city, _ in run.realisations:
        by_city[city] += pnl
    return CombinationResult(
        overrides=run.overrides,
        metrics={name: m.compute(run) for name, m in METRICS.items()},
        scores=forecast_scores(run.samples, run.resolutions),
        pnl_by_city={c: float(v) for c, v in sorted(by_city.items())},
        curve=run.curve,
    )


def format_metric(name: str, value: Any) -> str:
    if value is None:
        return "-"
    return METRICS[name].fmt.format(value)


# -- the standard columns ----------------------------------------------------------------------


@metric("edges", "{:d}")
def edges_opened(run: RunData) -> int:
    return sum(
        1 for d in run.decisions if d.kind == "edge" and d.record.get("type") == "EdgeOpened"
    )


@metric("trades", "{:d}")
def trades(run: RunData) -> int:
    return sum(1 for _, f in run.fills if f.get("side") in ("BUY", "SELL"))


@metric("fees", "{:.4f}")
def fees(run: RunData) -> float:
    return float(sum((Decimal(str(f.get("fee") or 0)) for _, f in run.fills), ZERO))


@metric("pnl", "{:+.4f}", header="realised PnL")
def realised(run: RunData) -> float:
    return float(sum((pnl for _, pnl, _, _ in run.realisations), ZERO))


@metric("max_drawdown", "{:.4f}", header="max DD")
def max_drawdown(run: RunData) -> float:
    peak = worst = 0.0
    for _, total in run.curve:
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


@metric("hit_rate", "{:.0%}", header="hit")
def hit_rate(run: RunData) -> float | None:
    closing = [pnl for _, pnl, _, closes in run.realisations if closes]
    return sum(1 for p in closing if p > 0) / len(closing) if closing else None


@metric("open", "{:d}", header="open")
def still_open(run: RunData) -> int:
    """Positions held at the end whose event has no resolution on the tape (not valued)."""
    return len(run.held) - len(run.resolved_positions)


@metric("brier", "{:.4f}", header="Brier ours")
def brier_ours(run: RunData) -> float | None:
    return forecast_scores(run.samples, run.resolutions)["all"].get("all", {}).get("brier")


@metric("brier_market", "{:.4f}", header="Brier mkt")
def brier_market(run: RunData) -> float | None:
    return forecast_scores(run.samples, run.resolutions)["all"].get("all", {}).get("brier_mkt")


@metric("log_loss", "{:.4f}", header="logL ours")
def log_loss_ours(run: RunData) -> float | None:
    return forecast_scores(run.samples, run.resolutions)["all"].get("all", {}).get("log_loss")


@metric("log_loss_market", "{:.4f}", header="logL mkt")
def log_loss_market(run: RunData) -> float | None:
    scores = forecast_scores(run.samples, run.resolutions)
    return scores["all"].get("all", {}).get("log_loss_mkt")


# -- the maker columns (a second table; docs/fill-model.md, replay/maker_metrics.py) ------------


def _maker(name: str, fmt: str, header: str) -> None:
    def compute(run: RunData) -> Any:
        if name.startswith("adverse") and not run.maker.get(f"{name}_fills"):
            return None  # no quote fill with both marks: nothing measured, not zero
        return run.maker.get(name)

    metric(name, fmt, header=header, tables=("maker",))(compute)


_maker("quotes_placed", "{:d}", "placed")
_maker("quotes_replaced", "{:d}", "replaced")
_maker("quotes_cancelled", "{:d}", "cancelled")
_maker("fills", "{:d}", "fills")
_maker("fill_rate", "{:.0%}", "fill rate")
_maker("adverse_1m", "{:+.4f}", "adverse 1m")
_maker("adverse_10m", "{:+.4f}", "adverse 10m")
_maker("rebates", "{:.4f}", "rebates")
# The maker table also shows what every fill paid and the PnL at the venue's resolution.
TABLES["maker"] = [*TABLES["maker"][:-1], "fees", "rebates", "pnl", "max_drawdown"]


# -- forecast scores ---------------------------------------------------------------------------


def forecast_scores(samples: Samples, resolutions: Resolutions) -> dict[str, dict[str, dict]]:
    """Mean Brier score and log loss of ours and the market's mid over every resolved sample:
    overall, per lead ("running day", "1 day", "2+ days") and per city."""
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * 5)
    for (market_id, lead), cell in samples.cells.items():
        event_id, city = samples.markets.get(market_id, ("", "?"))
        outcome = resolutions.outcome_of(market_id, event_id)
        if outcome is None or not cell.ours.n:
            continue
        add = (
            cell.ours.n,
            cell.ours.brier(outcome),
            cell.market.brier(outcome),
            cell.ours.log_loss(outcome),
            cell.market.log_loss(outcome),
        )
        for group in (("all", "all"), ("horizon", lead), ("city", city)):
            acc = sums[group]
            for i, v in enumerate(add):
                acc[i] += v
    out: dict[str, dict[str, dict]] = {"all": {}, "horizon": {}, "city": {}}
    for (by, group), (n, b, bm, ll, llm) in sums.items():
        out[by][group] = {
            "n": int(n), "brier": b / n, "brier_mkt": bm / n, "log_loss": ll / n,
            "log_loss_mkt": llm / n,
        }  # fmt: skip
    out["horizon"] = {k: out["horizon"][k] for k in LEADS if k in out["horizon"]}
    out["city"] = dict(sorted(out["city"].items()))
    return out
