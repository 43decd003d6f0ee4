-- title: Settlement agreement with the venue
-- How often our settlement from the station's reports (only the reports the resolution table
-- shows, read the way it reads them) matched the venue's own resolution, per city and
-- resolution source. "uncertain" counts settlements where some report involved might not show
-- in the table or might show another value; those are where disagreements are expected.
--
-- requires: settlements(event_id, status, agreement, certain)
-- requires: events(event_id, city, source, date)
--   settlements arrives with migration m002 and its certain column with m005 (issue 16); until
--   then this query reports what is missing.
--
-- Named parameters (empty or NULL for "all"):
--   :city   exact city as in the event title ("NYC")
--   :since  first market day to include, ISO date ("2026-11-01")
SELECT
    e.city,
    e.source,
    COUNT(*)                                   AS settled,
    SUM(s.agreement IS NOT NULL)               AS checked,
    SUM(s.agreement = 1)                       AS agree,
    SUM(s.agreement = 0)                       AS disagree,
    ROUND(1.0 * SUM(s.agreement = 1) / NULLIF(SUM(s.agreement IS NOT NULL), 0), 4) AS agreement,
    SUM(COALESCE(s.certain, 1) = 0)            AS uncertain
FROM settlements AS s
JOIN events AS e USING (event_id)
WHERE s.status = 'settled'
  AND (NULLIF(:city, '') IS NULL OR e.city = :city)
  AND (NULLIF(:since, '') IS NULL OR e.date >= :since)
GROUP BY e.city, e.source
ORDER BY e.city, e.source;
