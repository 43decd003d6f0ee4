"""Cost of the settling rule on each re-price: reading a station's day and conditioning on it.

    .venv/bin/python benchmarks/settling.py [--repeat 2000]

A KLGA day of 24 routine reports (SLP, T-group) and 24 SPECIs, read under the NOAA hourly rule
(``read_day``) and turned into an 11-bucket ladder (``conditioned_on_distribution``), once with
every report certain and once with each SPECI's body settling one degree above its T-group
(every SPECI uncertain: the worst case). The observation job does this per event per tick.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from weatheredge.model.buckets import Bucket, Rounding, Unit
from weatheredge.model.conditioning import conditioned_on_distribution
from weatheredge.model.day_extreme import read_day
from weatheredge.model.observations import Observation, observation_from_report
from weatheredge.model.probability import Normal
from weatheredge.model.rules import SourceKind
from weatheredge.model.settling import SettlingRule

RULE = SettlingRule(SourceKind.NOAA_WRH, True, Unit.F, Rounding.HALF_UP, "max")
LADDER = [
    Bucket(None, 65, Unit.F),
    *(Bucket(a, a + 1, Unit.F) for a in range(66, 84, 2)),
    Bucket(84, None, Unit.F),
]


def day(body_shift: int) -> list[Observation]:
    start = dt.datetime(2026, 9, 15, 4, 51, tzinfo=dt.UTC)
    out = []
    for h in range(24):
        tenths = 200 + 3 * h
        at = start + dt.timedelta(hours=h)
        texts = [
            (at, f"KLGA {at:%d%H%M}Z 20009KT 10SM 20/16 A3004 RMK AO2 SLP171 T0{tenths:03d}0161"),
        ]
        speci = at + dt.timedelta(minutes=20)
        body = (tenths + 4 + 5) // 10 + body_shift
        texts.append(
            (
                speci,
                f"SPECI KLGA {speci:%d%H%M}Z 20009KT 10SM {body:02d}/16 A3004 RMK AO2"
                f" T0{tenths + 4:03d}0161",
            )
        )
        for when, raw in texts:
            obs = observation_from_report("KLGA", when, raw)
            assert obs is not None
            out.append(obs)
    return out


def measure(reports: list[Observation], repeat: int) -> tuple[float, float, int]:
    prior = Normal(75.0, 3.0)
    t0 = time.perf_counter()
    for _ in range(repeat):
        reading = read_day(RULE, reports, "America/New_York", dt.date(2026, 9, 15))
    t1 = time.perf_counter()
    assert reading is not None
    for _ in range(repeat):
        conditioned_on_distribution(
            prior.cdf, LADDER, Rounding.HALF_UP, reading.distribution, "max", open_weight=0.3
        )
    t2 = time.perf_counter()
    return 1e6 * (t1 - t0) / repeat, 1e6 * (t2 - t1) / repeat, len(reading.distribution)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    args = parser.parse_args()
    for name, shift in (("all certain", 0), ("every SPECI uncertain", 1)):
        read_us, mix_us, values = measure(day(shift), args.repeat)
        print(
            f"{name:<22} 48 reports: read_day {read_us:7.1f} µs, ladder {mix_us:6.1f} µs"
            f" ({values} possible value(s) of the day's max)"
        )


if __name__ == "__main__":
    main()
