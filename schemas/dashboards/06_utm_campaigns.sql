-- Campaigns: visitors, visits and bounce rate (%) per value of one UTM parameter of the visit's first event.
-- Parameters: {site:String}, {from:Date}, {to:Date}, {utm:String} (utm_source, utm_medium, utm_campaign,
-- utm_content or utm_term).
-- Role: read (a suppressed view: rows under the site's small_cell_threshold fold into '(other)').
-- Same numbers as POST /api/stats/query with dimensions ["visit:<utm>"] for the days the sessioniser has closed.
SELECT value, visitors, visits, bounce_rate
FROM analytics.read_visits(site = {site:String}, from = {from:Date}, to = {to:Date}, dimension = {utm:String})
WHERE value != ''
ORDER BY value = '(other)', visitors DESC, value
LIMIT 100
