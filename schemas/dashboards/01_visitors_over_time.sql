-- Visitors, visits, pageviews, bounce rate (%), visit duration (s) and views per visit per day.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: read (a suppressed view: rows under the site's small_cell_threshold fold into '(other)').
-- Same numbers as POST /api/stats/query with dimensions ["time:day"] for the days the sessioniser has closed.
SELECT value AS day, visitors, visits, pageviews, bounce_rate, visit_duration, views_per_visit
FROM analytics.read_visits(site = {site:String}, from = {from:Date}, to = {to:Date}, dimension = 'day')
ORDER BY value = '(other)', day
