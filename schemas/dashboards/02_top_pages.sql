-- Top pages: visitors and pageviews per page, most visitors first.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: read (a suppressed view: rows under the site's small_cell_threshold fold into '(other)').
-- Same numbers as POST /api/stats/query with dimensions ["event:page"], metrics ["visitors", "pageviews"].
SELECT page, visitors, pageviews
FROM analytics.read_pages(site = {site:String}, from = {from:Date}, to = {to:Date})
ORDER BY page = '(other)', visitors DESC, page
LIMIT 100
