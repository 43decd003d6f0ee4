-- title: Edges by city and day
-- Edge episodes per city and market day: how many opened, how big, how fast, how they ended.
--
-- requires: edges(city, date, status, side, market_id, open_edge, max_edge, opened_at)
--
-- Named parameters (bind NULL or empty for "all"):
--   :city   exact city as in the event title ("NYC")
--   :since  first market day to include, ISO date ("2026-11-01")
--
-- sqlite3 shell:  sqlite3 -header -column weatheredge.db < db/queries/edges_by_city_day.sql
--                 (unbound parameters are NULL there; `.param set :city "'NYC'"` to filter)
-- Python:         db.saved_query("edges_by_city_day") with {"city": None, "since": None}
--
-- Edge values are expected value per share in pUSD after the taker fee (see db/README.md).
SELECT
    e.city,
    e.date,                                              -- the station's local day resolved
    COUNT(*)                              AS episodes,
    SUM(e.status = 'open')                AS still_open,
    SUM(e.side = 'YES')                   AS yes_side,
    SUM(e.side = 'NO')                    AS no_side,
    COUNT(DISTINCT e.market_id)           AS buckets,
    ROUND(AVG(e.open_edge), 4)            AS avg_open_edge,
    ROUND(MAX(e.max_edge), 4)             AS best_edge,
    MIN(e.opened_at)                      AS first_opened,
    MAX(e.opened_at)                      AS last_opened,
    -- Episode length in seconds; open episodes count up to their last update.
    ROUND(AVG((julianday(COALESCE(e.closed_at, e.updated_at)) - julianday(e.opened_at))
              * 86400.0), 1)              AS avg_duration_s,
    ROUND(AVG(e.latency_us))              AS avg_latency_us,   -- frame receipt to decision
    SUM(e.notified)                       AS notified
FROM edges AS e
WHERE (NULLIF(:city, '') IS NULL OR e.city = :city)
  AND (NULLIF(:since, '') IS NULL OR e.date >= :since)
GROUP BY e.city, e.date
ORDER BY e.date DESC, e.city;
