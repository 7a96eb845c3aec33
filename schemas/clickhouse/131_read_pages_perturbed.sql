-- Top pages: visitors and pageviews per page. Call as analytics.read_pages(site='…', from='YYYY-MM-DD', to='YYYY-MM-DD').
-- Suppressed for the read role (collector/read/suppress.py spells out the rule): rows under the site's
-- small_cell_threshold k (analytics.site_privacy) fold into '(other)', more rows fold while '(other)' is
-- under k, and an '(other)' still under k is left out. rows_folded: how many rows a row holds.
-- Replaces the view of migration 046: every count it releases carries the consistent cell-key noise
-- of the stats API (collector/read/cellkey.py; the site's secret in analytics.cell_keys, which no reader
-- can select), and a row is shown only when its exact and its perturbed visitors both reach k.
CREATE OR REPLACE VIEW analytics.read_pages
AS SELECT
    d0 AS page,
    visitors,
    pageviews,
    folded AS rows_folded
FROM
(
    SELECT
        if(fold, '(other)', g0) AS d0,
        if(((
            SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
            FROM analytics.site_privacy
            WHERE site = {site:String}
        ) > 1) AND (uniqCombined64Merge(12)(p_v) > 0), toUInt64(greatest(0, toInt64(uniqCombined64Merge(12)(p_v)) + ([-3, -2, -1, 0, 1, 2, 3][arrayFirstIndex(e -> ((sipHash64Keyed((
            SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), argMin(k1, (created_at, k0, k1)))
            FROM analytics.cell_keys
            WHERE site = {site:String}
        ), {site:String}, toUInt64(uniqCombined64Merge(12)(p_v))) % 100) < e), [5, 15, 35, 65, 85, 95, 100])]))), toUInt64(uniqCombined64Merge(12)(p_v))) AS visitors,
        if(((
            SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
            FROM analytics.site_privacy
            WHERE site = {site:String}
        ) > 1) AND (sum(p_pv) > 0), toUInt64(greatest(0, toInt64(sum(p_pv)) + ([-3, -2, -1, 0, 1, 2, 3][arrayFirstIndex(e -> ((sipHash64Keyed((
            SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), argMin(k1, (created_at, k0, k1)))
            FROM analytics.cell_keys
            WHERE site = {site:String}
        ), {site:String}, toUInt64(sum(p_pv))) % 100) < e), [5, 15, 35, 65, 85, 95, 100])]))), toUInt64(sum(p_pv))) AS pageviews,
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
                sum(finalizeAggregation(p_v)) OVER (ORDER BY finalizeAggregation(p_v) ASC, g0 ASC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum
            FROM
            (
                SELECT
                    path AS g0,
                    uniqCombined64MergeState(12)(visitors) AS p_v,
                    sum(views) AS p_pv
                FROM analytics.top_pages_daily
                WHERE (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
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
WHERE NOT (is_other AND ((exact_visitors < (
    SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
    FROM analytics.site_privacy
    WHERE site = {site:String}
)) OR (visitors < (
    SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
    FROM analytics.site_privacy
    WHERE site = {site:String}
))))
