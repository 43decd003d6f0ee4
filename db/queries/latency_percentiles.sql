-- title: Decision latency percentiles
-- How fast edges are seen: microseconds from receiving the market frame to the decision that
-- opened an edge episode, per UTC day, as nearest-rank percentiles (p50, p90, p99) and the worst.
-- SQLite has no percentile function before 3.47, so ranks are computed with window functions.
--
-- requires: edges(opened_at, latency_us)
--
-- Named parameters (empty or NULL for "all"):
--   :since  first day to include, ISO date ("2026-11-01")
WITH ranked AS (
    SELECT
        substr(opened_at, 1, 10) AS day,
        latency_us,
        ROW_NUMBER() OVER (PARTITION BY substr(opened_at, 1, 10) ORDER BY latency_us) AS rn,
        COUNT(*) OVER (PARTITION BY substr(opened_at, 1, 10)) AS n
    FROM edges
    WHERE latency_us IS NOT NULL
      AND (NULLIF(:since, '') IS NULL OR substr(opened_at, 1, 10) >= :since)
)
SELECT
    day,
    n                                                 AS samples,
    -- nearest rank: the smallest value whose rank is at least p·n
    MIN(CASE WHEN rn >= 0.50 * n THEN latency_us END) AS p50_us,
    MIN(CASE WHEN rn >= 0.90 * n THEN latency_us END) AS p90_us,
    MIN(CASE WHEN rn >= 0.99 * n THEN latency_us END) AS p99_us,
    MAX(latency_us)                                   AS max_us
FROM ranked
GROUP BY day
ORDER BY day DESC;
