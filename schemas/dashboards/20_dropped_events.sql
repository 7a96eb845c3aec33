-- Events the collector did not store, per day and reason (bots, unknown sites, denied consent, ...): what the
-- privacy rules and filters suppressed. Counts only; nothing about any visitor.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: analyst (reads the dropped-events counters).
SELECT day, reason, sum(events) AS events
FROM analytics.dropped_daily
WHERE site = {site:String} AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY day, reason
ORDER BY day, reason
