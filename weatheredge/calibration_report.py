"""``weatheredge calibration``: how good were our probabilities, and the market's, once settled?

Reads ``settlements`` and ``horizon_snapshots`` (read-only) and, per horizon before the local
day's end, prints the mean per-bucket Brier score and log loss of our probabilities and of the
market's YES mids (normalised over the ladder), plus a reliability table; ``--plot`` draws the
reliability diagram (matplotlib, imported only then). First, per city and resolution source, how
often our settlement from the station's reports matched the venue's resolution, with every
disagreement listed (date, our value, the venue's bucket, the reports involved).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weatheredge.model.scoring import (
    ReliabilityBin,
    ScoreSummary,
    market_probabilities,
    outcome_pairs,
    reliability,
    summarise,
)
from weatheredge.settlement_reads import settlement_agreement
from weatheredge.store import ScoringRow, scoring_rows, settlement_summary

Ladder = tuple[list[float], int]


@dataclass(slots=True)
class HorizonScores:
    horizon_h: int
    ours: ScoreSummary | None
    market: ScoreSummary | None
    both: int  # events scored by both (the fair comparison)
    ours_bins: list[ReliabilityBin] = field(default_factory=list)
    market_bins: list[ReliabilityBin] = field(default_factory=list)


@dataclass(slots=True)
class CalibrationReport:
    horizons: list[HorizonScores]
    settlements: dict[str, int]
    agreement: dict[str, Any] = field(default_factory=dict)


def ladders_by_horizon(
    rows: list[ScoringRow],
) -> dict[int, list[tuple[Ladder | None, Ladder | None]]]:
    """horizon -> per event (our ladder, market ladder); either None when incomplete."""
    grouped: dict[tuple[str, int], list[ScoringRow]] = defaultdict(list)
    for row in rows:
        grouped[(row.event_id, row.horizon_h)].append(row)
    out: dict[int, list[tuple[Ladder | None, Ladder | None]]] = defaultdict(list)
    for (_, horizon), legs in grouped.items():
        ids = [leg.market_id for leg in legs]
        winner_id = legs[0].winning_market_id
        if winner_id not in ids:
            continue
        winner = ids.index(winner_id)
        probs = [leg.prob for leg in legs]
        ours = None
        if all(p is not None for p in probs):
            total = sum(probs)
            ours = ([p / total for p in probs], winner) if total > 0 else None
        market = market_probabilities([leg.mid for leg in legs])
        out[horizon].append((ours, None if market is None else (market, winner)))
    return out


def build_report(path: str | Path) -> CalibrationReport:
    by_horizon = ladders_by_horizon(scoring_rows(path))
    horizons = []
    for horizon in sorted(by_horizon, reverse=True):
        pairs = by_horizon[horizon]
        ours = [o for o, _ in pairs if o is not None]
        market = [m for _, m in pairs if m is not None]
        horizons.append(
            HorizonScores(
                horizon,
                summarise(ours),
                summarise(market),
                sum(1 for o, m in pairs if o is not None and m is not None),
                reliability(outcome_pairs(ours)),
                reliability(outcome_pairs(market)),
            )
        )
    return CalibrationReport(horizons, settlement_summary(path), settlement_agreement(path))


def _num(x: float | None, fmt: str = ".4f") -> str:
    return "-" if x is None else format(x, fmt)


def format_report(report: CalibrationReport) -> str:
    s = report.settlements
    lines = [
        f"settled events: {s['settled']}  (venue agrees {s['agree']}, disagrees {s['disagree']},"
        f" not resolved yet {s['unknown']})",
        "",
        *format_agreement(report.agreement),
    ]
    if not report.horizons:
        lines.append(
            "no scored events yet: horizon snapshots are taken 24/6/1 h before each local day ends"
            " and scored once the event settles"
        )
        return "\n".join(lines)
    head = ["horizon", "events", "brier_ours", "brier_mkt", "logloss_ours", "logloss_mkt"]
    table = [head]
    for h in report.horizons:
        table.append(
            [
                f"{h.horizon_h}h",
                str(max(h.ours.events if h.ours else 0, h.market.events if h.market else 0)),
                _num(h.ours.brier if h.ours else None),
                _num(h.market.brier if h.market else None),
                _num(h.ours.log_loss if h.ours else None, ".3f"),
                _num(h.market.log_loss if h.market else None, ".3f"),
            ]
        )
    lines += _columns(table)
    lines += ["", "reliability (bucket probability bins: mean forecast -> observed frequency, n)"]
    for h in report.horizons:
        lines.append(f"  {h.horizon_h}h ours:   " + _bins(h.ours_bins))
        lines.append(f"  {h.horizon_h}h market: " + _bins(h.market_bins))
    lines.append("")
    lines.append("lower is better; Brier is per bucket, log loss is -ln p(winning bucket)")
    return "\n".join(lines)


def format_agreement(agreement: dict[str, Any]) -> list[str]:
    """Settlement agreement per city and source, then every disagreement with its reports."""
    rows = agreement.get("by_city") or []
    if not rows:
        return []
    rate = agreement.get("agreement")
    lines = [
        "settlement vs venue: "
        + (
            f"{agreement['agree']}/{agreement['checked']} = {rate:.1%}" if rate is not None else "-"
        ),
    ]
    table = [["city", "source", "settled", "checked", "agree", "rate", "uncertain"]]
    for r in rows:
        share = "-" if r["agreement"] is None else f"{r['agreement']:.1%}"
        table.append(
            [
                r["city"],
                r["source"],
                str(r["settled"]),
                str(r["checked"]),
                str(r["agree"]),
                share,
                str(r["uncertain"]),
            ]
        )
    lines += ["  " + line for line in _columns(table)]
    for d in agreement.get("disagreements") or []:
        lines.append(
            f"  DISAGREE {d['date']} {d['city']} ({d['source']}, {d['station']}): ours"
            f" {d['settled_value']} ({d['winning_label'] or '-'}), venue {d['venue_label'] or '?'}"
            + ("" if d.get("certain") != 0 else "  [uncertain]")
        )
        for r in d.get("reports") or []:
            values = "/".join(str(v) for v in r.get("values", []))
            why = f" ({r['reason']})" if r.get("reason") else ""
            lines.append(f"      {r['observed_at']} {r['status']} {values}{why}: {r['raw']}")
    lines.append("")
    return lines


def _columns(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]


def _bins(bins: list[ReliabilityBin]) -> str:
    return "  ".join(f"{b.mean_prob:.2f}->{b.frequency:.2f}({b.count})" for b in bins) or "-"


def has_settled_data(report: CalibrationReport) -> bool:
    """Anything to draw: a reliability bin for us or the market at some horizon."""
    return any(h.ours_bins or h.market_bins for h in report.horizons)


def plot_reliability(report: CalibrationReport, file: str | Path) -> None:
    """Reliability diagram: one panel per horizon, ours vs the market, bin counts as labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(report.horizons))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 4.2), squeeze=False)
    for ax, h in zip(axes[0], report.horizons or [None], strict=False):
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
        if h is not None:
            for bins, name, marker in ((h.ours_bins, "ours", "o"), (h.market_bins, "market", "s")):
                if bins:
                    ax.plot(
                        [b.mean_prob for b in bins],
                        [b.frequency for b in bins],
                        marker=marker,
                        label=name,
                    )
            title = f"{h.horizon_h} h before day end"
            if h.ours and h.market:
                title += f"\nBrier ours {h.ours.brier:.4f} / mkt {h.market.brier:.4f}"
            ax.set_title(title, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("forecast probability")
        ax.set_ylabel("observed frequency")
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(file, dpi=110)
    plt.close(fig)
