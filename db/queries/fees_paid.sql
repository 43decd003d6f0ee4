-- title: Fees paid
-- Taker fees paid per day (UTC day of the fill) and city: how much of the edge the venue kept.
-- Prices, sizes and fees are exact decimal text in the database; they are cast to REAL here, so
-- the sums are good to the cent, not to the micro. Failed fills are left out.
--
-- requires: markets(yes_token, no_token, event_id)
-- requires: events(event_id, city)
-- requires: trade_fills(token_id, price, size, fee, status, matched_at)
--   trade_fills arrives with migration m003 (trading, issue 5); until then this query reports
--   "needs table trade_fills".
--
-- Named parameters (empty or NULL for "all"):
--   :city   exact city as in the event title ("NYC")
--   :since  first fill day to include, ISO date ("2026-11-01")
SELECT
    substr(f.matched_at, 1, 10)                                 AS day,
    ev.city,
    COUNT(*)                                                    AS fills,
    ROUND(SUM(CAST(f.size AS REAL)), 2)                         AS shares,
    ROUND(SUM(CAST(f.price AS REAL) * CAST(f.size AS REAL)), 2) AS notional,
    ROUND(SUM(CAST(f.fee AS REAL)), 4)                          AS fees,
    -- Fees as a fraction of the money that changed hands.
    ROUND(SUM(CAST(f.fee AS REAL))
          / NULLIF(SUM(CAST(f.price AS REAL) * CAST(f.size AS REAL)), 0), 4) AS fee_share
FROM trade_fills AS f
JOIN markets AS m ON f.token_id IN (m.yes_token, m.no_token)
JOIN events AS ev ON ev.event_id = m.event_id
WHERE f.status <> 'FAILED' AND f.side <> 'SETTLE'  -- a payout is no trade: no fee, no notional
  AND (NULLIF(:city, '') IS NULL OR ev.city = :city)
  AND (NULLIF(:since, '') IS NULL OR substr(f.matched_at, 1, 10) >= :since)
GROUP BY day, ev.city
ORDER BY day DESC, ev.city;
