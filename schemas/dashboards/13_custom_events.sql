-- Custom events (goals): visitors and events per event name.
-- Parameters: {site:String}, {from:Date}, {to:Date}.
-- Role: read (a suppressed view: rows under the site's small_cell_threshold fold into '(other)').
-- Same numbers as POST /api/stats/query with dimensions ["event:goal"], metrics ["visitors", "events"].
SELECT goal, visitors, events
FROM analytics.read_goals(site = {site:String}, from = {from:Date}, to = {to:Date})
ORDER BY goal = '(other)', visitors DESC, goal
