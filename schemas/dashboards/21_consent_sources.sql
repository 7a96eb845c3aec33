-- Consent sources: where the visitors' consent choices came from, as visitors and the share of visitors per
-- source: the site's consent banner signal read by the tracker (gcm, tcf, klaro, cookieconsent) or api (the page
-- called pa.consent() itself, or a server did). A visitor with an id counts once per source (all its receipts
-- carry one pseudonymous id); a refusal without an id counts once per refusal receipt. Opt-out signals (gpc,
-- dnt) are not choices: the tiers card shows what they decided.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: analyst (reads the consent receipts).
SELECT toString(source) AS source, uniqExactIf(visitor_id, visitor_id != 0) + countIf(visitor_id = 0) AS visitors,
    round(100 * visitors / sum(visitors) OVER (), 2) AS visitor_share,
    countIf(action = 'grant') AS grants, countIf(action = 'withdraw') AS refusals
FROM analytics.consent_receipts
WHERE site = {site:String} AND toDate(ts) BETWEEN {from:Date} AND {to:Date} AND source NOT IN ('gpc', 'dnt')
GROUP BY source
ORDER BY visitors DESC, source
