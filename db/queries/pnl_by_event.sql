-- title: PnL by event
-- Realised profit and loss per event from the positions the trading engine keeps (paper or
-- live), with the fees paid and what is still held at cost. Amounts are pUSD. Money columns are
-- exact decimal text in the database; they are cast to REAL here (good to the cent).
--
-- requires: events(event_id, city, date, title)
-- requires: positions(event_id, shares, avg_price, fees, realized_pnl)
--   positions arrives with migration m003 (trading, issue 5); until then this query reports
--   "needs table positions".
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
    -- Shares still held and what they cost: unrealised until sold or settled.
    ROUND(SUM(CAST(p.shares AS REAL)), 2)                          AS open_shares,
    ROUND(SUM(CAST(p.shares AS REAL) * CAST(p.avg_price AS REAL)), 4) AS open_cost
FROM positions AS p
JOIN events AS ev ON ev.event_id = p.event_id
WHERE (NULLIF(:city, '') IS NULL OR ev.city = :city)
  AND (NULLIF(:since, '') IS NULL OR ev.date >= :since)
GROUP BY ev.event_id
ORDER BY ev.date DESC, ev.city;
