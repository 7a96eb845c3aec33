-- Consent-tier share: events and visitors stored under the full (consented) and anonymous tiers, and the share
-- of visitors in each. Visitors of the two tiers are counted apart (an anonymous id is never a consented one).
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: analyst (reads the tiers rollup).
SELECT toString(tier) AS tier, sum(events) AS events, uniqCombined64Merge(visitors) AS visitors,
    round(100 * visitors / sum(visitors) OVER (), 2) AS visitor_share
FROM analytics.tiers_daily
WHERE site = {site:String} AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY tier
ORDER BY tier
