-- Click heatmap cells of one page and viewport width bucket (x_cell 0..19 of the width, y_cell 0..49 of
-- the height). Call as analytics.read_heatmap(site='…', from='…', to='…', page='/path', width=1280).
-- Suppressed for the read role (collector/read/suppress.py spells out the rule): rows under the site's
-- small_cell_threshold k (analytics.site_privacy) fold into '(other)', more rows fold while '(other)' is
-- under k, and an '(other)' still under k is left out. rows_folded: how many rows a row holds.
-- Replaces the view of migration 049: every count it releases carries the consistent cell-key noise
-- of the stats API (collector/read/cellkey.py; the site's secret in analytics.cell_keys, which no reader
-- can select), and a row is shown only when its exact and its perturbed visitors both reach k.
CREATE OR REPLACE VIEW analytics.read_heatmap
AS SELECT
    toUInt8(if(d0 = '(other)', 255, toUInt8OrZero(d0))) AS x_cell,
    toUInt8(if(d1 = '(other)', 255, toUInt8OrZero(d1))) AS y_cell,
    clicks,
    visitors,
    folded AS rows_folded
FROM
(
    SELECT
        if(fold, '(other)', g0) AS d0,
        if(fold, '(other)', g1) AS d1,
        if(((
            SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
            FROM analytics.site_privacy
            WHERE site = {site:String}
        ) > 1) AND (sum(p_clicks) > 0), toUInt64(greatest(0, toInt64(sum(p_clicks)) + ([-3, -2, -1, 0, 1, 2, 3][arrayFirstIndex(e -> ((sipHash64Keyed((
            SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), argMin(k1, (created_at, k0, k1)))
            FROM analytics.cell_keys
            WHERE site = {site:String}
        ), {site:String}, toUInt64(sum(p_clicks))) % 100) < e), [5, 15, 35, 65, 85, 95, 100])]))), toUInt64(sum(p_clicks))) AS clicks,
        if(((
            SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
            FROM analytics.site_privacy
            WHERE site = {site:String}
        ) > 1) AND (uniqCombined64Merge(12)(p_v) > 0), toUInt64(greatest(0, toInt64(uniqCombined64Merge(12)(p_v)) + ([-3, -2, -1, 0, 1, 2, 3][arrayFirstIndex(e -> ((sipHash64Keyed((
            SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), argMin(k1, (created_at, k0, k1)))
            FROM analytics.cell_keys
            WHERE site = {site:String}
        ), {site:String}, toUInt64(uniqCombined64Merge(12)(p_v))) % 100) < e), [5, 15, 35, 65, 85, 95, 100])]))), toUInt64(uniqCombined64Merge(12)(p_v))) AS visitors,
        max(fold) AS is_other,
        count() AS folded,
        count() OVER () AS total_rows,
        sum(if(max(fold), count(), 0)) OVER () AS suppressed_rows,
        uniqCombined64Merge(12)(p_v) AS exact_visitors
    FROM
    (
        SELECT
            *,
            (vis < (
                SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
                FROM analytics.site_privacy
                WHERE site = {site:String}
            )) OR (if(((
                SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
                FROM analytics.site_privacy
                WHERE site = {site:String}
            ) > 1) AND (vis > 0), toUInt64(greatest(0, toInt64(vis) + ([-3, -2, -1, 0, 1, 2, 3][arrayFirstIndex(e -> ((sipHash64Keyed((
                SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), argMin(k1, (created_at, k0, k1)))
                FROM analytics.cell_keys
                WHERE site = {site:String}
            ), {site:String}, toUInt64(vis)) % 100) < e), [5, 15, 35, 65, 85, 95, 100])]))), toUInt64(vis)) < (
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
                sum(finalizeAggregation(p_v)) OVER (ORDER BY finalizeAggregation(p_v) ASC, g0 ASC, g1 ASC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum
            FROM
            (
                SELECT
                    toString(x_cell) AS g0,
                    toString(y_cell) AS g1,
                    uniqCombined64MergeState(12)(visitors) AS p_v,
                    sum(clicks) AS p_clicks
                FROM analytics.heatmap_daily
                WHERE (site = {site:String}) AND (path = {page:String}) AND ((day >= {from:Date}) AND (day <= {to:Date})) AND (width = {width:UInt16})
                GROUP BY
                    g0,
                    g1
            )
        )
    )
    GROUP BY
        d0,
        d1
    ORDER BY
        is_other ASC,
        clicks DESC,
        d0 ASC,
        d1 ASC
)
WHERE NOT (is_other AND ((exact_visitors < (
    SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
    FROM analytics.site_privacy
    WHERE site = {site:String}
)) OR (visitors < (
    SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
    FROM analytics.site_privacy
    WHERE site = {site:String}
))))
