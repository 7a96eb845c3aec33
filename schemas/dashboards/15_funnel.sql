-- A funnel of pages: how many consented visitors reached each step, in order, within one hour.
-- Parameters: {site:String}, {from:Date}, {to:Date}, {steps:Array(String)} (2 to 8 page paths).
-- Role: analyst (reads the raw events of consented visitors, whose id is stable: raw retention only). Not suppressed.
SELECT step, countIf(reached >= step) AS visitors
FROM
(
    SELECT visitor_id, windowFunnel(3600)(ts,
        path = {steps:Array(String)}[1], path = {steps:Array(String)}[2], path = {steps:Array(String)}[3],
        path = {steps:Array(String)}[4], path = {steps:Array(String)}[5], path = {steps:Array(String)}[6],
        path = {steps:Array(String)}[7], path = {steps:Array(String)}[8]) AS reached
    FROM analytics.events
    WHERE site = {site:String} AND toDate(ts) BETWEEN {from:Date} AND {to:Date} AND tier = 'full' AND type = 'pageview'
    GROUP BY visitor_id
)
ARRAY JOIN arrayEnumerate({steps:Array(String)}) AS step
GROUP BY step
ORDER BY step
