-- Device classes (desktop, mobile, tablet): visitors, visits, bounce rate (%) and visit duration (s), most visitors first.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: read (a suppressed view: rows under the site's small_cell_threshold fold into '(other)').
-- Same numbers as POST /api/stats/query with dimensions ["visit:device"] for the days the sessioniser has closed.
SELECT value AS device, visitors, visits, bounce_rate, visit_duration
FROM analytics.read_visits(site = {site:String}, from = {from:Date}, to = {to:Date}, dimension = 'device')
ORDER BY value = '(other)', visitors DESC, value
LIMIT 100
