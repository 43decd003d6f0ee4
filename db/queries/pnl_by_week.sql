-- title: PnL by week
-- Realised profit and loss per calendar week (Monday to Sunday, UTC) of the fills that realised
-- it, all events together: how the strategy does over time. Each fill's realized_pnl is what it
-- realised (a sale), paid in fees (a purchase) or, for a settlement at the venue's resolution
-- (side SETTLE: the shares still held paid 1 or 0, no fee), what the payout realised; failed
-- fills are left out. Trades and notional count sales and purchases only; settled_pnl is the
-- part of realised_pnl paid at resolution. Amounts are pUSD.
--
-- requires: trade_fills(realized_pnl, fee, size, price, side, status, matched_at)
--   trade_fills arrives with migration m003 (trading, issue 5); until then this query reports
--   "needs table trade_fills".
--
-- Named parameters (empty or NULL for "all"):
--   :since  first day to include, ISO date ("2026-11-01")
SELECT
    -- date(d, 'weekday 0') is the Sunday on or after d; six days earlier is its Monday.
    date(substr(f.matched_at, 1, 10), 'weekday 0', '-6 days')    AS week_of,
    SUM(f.side <> 'SETTLE')                                       AS fills,
    ROUND(SUM(CASE WHEN f.side <> 'SETTLE'
                   THEN CAST(f.price AS REAL) * CAST(f.size AS REAL) ELSE 0 END), 2) AS notional,
    ROUND(SUM(CAST(f.realized_pnl AS REAL)), 4)                   AS realised_pnl,
    ROUND(SUM(CASE WHEN f.side = 'SETTLE'
                   THEN CAST(f.realized_pnl AS REAL) ELSE 0 END), 4) AS settled_pnl,
    ROUND(SUM(CAST(f.fee AS REAL)), 4)                            AS fees
FROM trade_fills AS f
WHERE f.status <> 'FAILED'
  AND f.matched_at IS NOT NULL
  AND (NULLIF(:since, '') IS NULL OR substr(f.matched_at, 1, 10) >= :since)
GROUP BY week_of
ORDER BY week_of DESC;
