-- Retention cohorts of consented visitors: per week of first visit, how many came back 0, 1, 2, ... weeks later.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: analyst (consented visitors only: anonymous ids change every day; raw retention only). Not suppressed.
SELECT cohort, weeks_later, uniqExact(visitor_id) AS visitors
FROM
(
    SELECT visitor_id, toMonday(toDate(ts)) AS week, min(toMonday(toDate(ts))) OVER (PARTITION BY visitor_id) AS cohort,
        intDiv(dateDiff('day', cohort, week), 7) AS weeks_later
    FROM analytics.events
    WHERE site = {site:String} AND toDate(ts) BETWEEN {from:Date} AND {to:Date} AND tier = 'full'
)
GROUP BY cohort, weeks_later
ORDER BY cohort, weeks_later
