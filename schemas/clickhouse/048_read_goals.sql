-- Custom events (goals): visitors and events per name. Call as analytics.read_goals(site='…', from='…', to='…').
-- Suppressed for the read role (collector/read/suppress.py spells out the rule): rows under the site's
-- small_cell_threshold k (analytics.site_privacy) fold into '(other)', more rows fold while '(other)' is
-- under k, and an '(other)' still under k is left out. rows_folded: how many rows a row holds.
CREATE VIEW IF NOT EXISTS analytics.read_goals
AS SELECT
    d0 AS goal,
    visitors,
    events,
    folded AS rows_folded
FROM
(
    SELECT
        if(fold, '(other)', g0) AS d0,
        uniqCombined64Merge(p_v) AS visitors,
        sum(p_ev) AS events,
        max(fold) AS is_other,
        count() AS folded,
        count() OVER () AS total_rows,
        sum(if(max(fold), count(), 0)) OVER () AS suppressed_rows,
        uniqCombined64Merge(p_v) AS exact_visitors
    FROM
    (
        SELECT
            *,
            (vis < (
                SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
                FROM analytics.site_privacy
                WHERE site = {site:String}
            )) OR ((cum > 0) AND (cum < (
                SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
                FROM analytics.site_privacy
                WHERE site = {site:String}
            ))) AS fold
        FROM
        (
            SELECT
                *,
                finalizeAggregation(p_v) AS vis,
                sum(finalizeAggregation(p_v)) OVER (ORDER BY finalizeAggregation(p_v) ASC, g0 ASC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum
            FROM
            (
                SELECT
                    name AS g0,
                    uniqCombined64MergeState(visitors) AS p_v,
                    sum(events) AS p_ev
                FROM analytics.events_daily
                WHERE (type = 'custom') AND (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
                GROUP BY g0
            )
        )
    )
    GROUP BY d0
    ORDER BY
        is_other ASC,
        visitors DESC,
        d0 ASC
)
WHERE NOT (is_other AND (exact_visitors < (
    SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
    FROM analytics.site_privacy
    WHERE site = {site:String}
)))
