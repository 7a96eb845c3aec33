-- Click heatmap of one page and viewport width bucket: clicks and visitors per grid cell (x_cell 0..19, each 5 %
-- of the page width; y_cell 0..49, each 2 % of its height; 255 is the '(other)' cell of folded clicks).
-- Parameters: {site:String}, {from:Date}, {to:Date}, {page:String}, {width:UInt16} (0, 320, 576, 768, 992, 1200, 1400).
-- Role: read (a suppressed view: rows under the site's small_cell_threshold fold into '(other)').
-- Same numbers as GET /api/stats/heatmap?site_id=…&page=…&width=….
SELECT x_cell, y_cell, clicks, visitors
FROM analytics.read_heatmap(site = {site:String}, from = {from:Date}, to = {to:Date}, page = {page:String}, width = {width:UInt16})
ORDER BY x_cell = 255, clicks DESC, x_cell, y_cell
