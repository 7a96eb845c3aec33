-- Operating systems: visitors, visits, bounce rate (%) and visit duration (s), most visitors first.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: read (a suppressed view: rows under the site's small_cell_threshold fold into '(other)').
-- Same numbers as POST /api/stats/query with dimensions ["visit:os"] for the days the sessioniser has closed.
SELECT value AS os, visitors, visits, bounce_rate, visit_duration
FROM analytics.read_visits(site = {site:String}, from = {from:Date}, to = {to:Date}, dimension = 'os')
ORDER BY value = '(other)', visitors DESC, value
LIMIT 100
