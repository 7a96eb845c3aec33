-- Web vitals per page: the 75th percentile of LCP, INP, FCP, TTFB (ms) and CLS, with the number of samples.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: analyst (reads the vitals rollup; the quantile sketch keeps no visitor ids).
SELECT path, name, sum(samples) AS samples, round(quantilesMerge(0.5, 0.75, 0.95)(value)[2], 3) AS p75
FROM analytics.vitals_daily
WHERE site = {site:String} AND day BETWEEN {from:Date} AND {to:Date}
GROUP BY path, name
ORDER BY samples DESC, path, name
LIMIT 500
