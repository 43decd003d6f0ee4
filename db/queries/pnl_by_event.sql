-- title: PnL by event
-- Realised profit and loss per event from the positions the trading engine keeps (paper or
-- live), with the fees paid and what is still held at cost. Realised PnL includes the venue's
-- resolution: once an event resolves, every share still held is settled at its payout (1 for
-- YES of the winning bucket and NO of the others, else 0; no fee), shown apart as
-- settled_pnl. Amounts are pUSD. Money columns are exact decimal text in the database; they
-- are cast to REAL here (good to the cent).
--
-- requires: events(event_id, city, date, title)
-- requires: positions(token_id, event_id, shares, avg_price, fees, realized_pnl)
-- requires: trade_fills(token_id, side, realized_pnl)
--   positions and trade_fills arrive with migration m003 (trading, issue 5); until then this
--   query reports "needs table positions".
--
-- Named parameters (empty or NULL for "all"):
--   :city   exact city as in the event title ("NYC")
--   :since  first market day to include, ISO date ("2026-11-01")
SELECT
    ev.city,
    ev.date,
    ev.title,
    COUNT(*)                                                       AS positions,
    ROUND(SUM(CAST(p.realized_pnl AS REAL)), 4)                    AS realised_pnl,
    ROUND(SUM(CAST(p.fees AS REAL)), 4)                            AS fees,
    -- The part of realised_pnl paid at resolution (settlement fills, side SETTLE).
    ROUND(SUM(COALESCE(s.settled, 0)), 4)                          AS settled_pnl,
    -- Shares still held and what they cost: unrealised until sold or settled.
    ROUND(SUM(CAST(p.shares AS REAL)), 2)                          AS open_shares,
    ROUND(SUM(CAST(p.shares AS REAL) * CAST(p.avg_price AS REAL)), 4) AS open_cost
FROM positions AS p
JOIN events AS ev ON ev.event_id = p.event_id
LEFT JOIN (
    SELECT token_id, SUM(CAST(realized_pnl AS REAL)) AS settled
    FROM trade_fills
    WHERE side = 'SETTLE'
    GROUP BY token_id
) AS s ON s.token_id = p.token_id
WHERE (NULLIF(:city, '') IS NULL OR ev.city = :city)
  AND (NULLIF(:since, '') IS NULL OR ev.date >= :since)
GROUP BY ev.event_id
ORDER BY ev.date DESC, ev.city;
