-- title: Hit rate of edges after settlement
-- Did the edges we saw pay? For every settled event, each edge episode is scored against the
-- winning bucket: a YES edge hits when its bucket won, a NO edge when it did not. Also the
-- realised value per share if one share had been bought at the opening ask
-- (payout − open_price − taker fee), next to the edge we expected at open.
--
-- requires: edges(event_id, market_id, side, open_price, open_edge, fee_rate)
-- requires: settlements(event_id, status, winning_market_id)
--   settlements arrives with migration m002 (issue 4, settlement); until then this query
--   reports "needs table settlements".
--
-- Named parameters (empty or NULL for "all"):
--   :city   exact city as in the event title ("NYC")
--   :since  first market day to include, ISO date ("2026-11-01")
WITH scored AS (
    SELECT
        e.city,
        e.side,
        e.open_edge,
        -- 1 when the side bought pays out, else 0.
        CASE
            WHEN e.side = 'YES' THEN (e.market_id = s.winning_market_id)
            ELSE (e.market_id <> s.winning_market_id)
        END AS hit,
        CAST(e.open_price AS REAL) AS price,
        e.fee_rate
    FROM edges AS e
    JOIN settlements AS s ON s.event_id = e.event_id
    WHERE s.status = 'settled' AND s.winning_market_id IS NOT NULL
      AND (NULLIF(:city, '') IS NULL OR e.city = :city)
      AND (NULLIF(:since, '') IS NULL OR e.date >= :since)
)
SELECT
    city,
    side,
    COUNT(*)                                        AS episodes,
    SUM(hit)                                        AS hits,
    ROUND(AVG(hit), 3)                              AS hit_rate,
    ROUND(AVG(open_edge), 4)                        AS avg_expected_edge,
    -- What one share bought at the opening ask actually returned, after the taker fee.
    ROUND(AVG(hit - price - fee_rate * price * (1 - price)), 4) AS avg_realised_per_share
FROM scored
GROUP BY city, side
ORDER BY city, side;
