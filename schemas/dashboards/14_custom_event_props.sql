-- The properties of one custom event: visitors and events per property key and value.
-- Parameters: {site:String}, {from:Date}, {to:Date}, {goal:String}.
-- Role: analyst (reads the raw events, so only within the site's raw retention). Not suppressed.
-- Same numbers as POST /api/stats/query with dimensions ["event:props:<key>"], filters [["is", "event:goal", [goal]]].
SELECT prop.1 AS key, prop.2 AS value, uniqExact(visitor_id) AS visitors, count() AS events
FROM analytics.events
ARRAY JOIN CAST(props, 'Array(Tuple(String, String))') AS prop
WHERE site = {site:String} AND toDate(ts) BETWEEN {from:Date} AND {to:Date} AND type = 'custom' AND name = {goal:String}
GROUP BY key, value
ORDER BY key, visitors DESC, value
