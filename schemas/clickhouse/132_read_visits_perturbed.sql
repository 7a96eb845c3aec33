-- Visits by one attribute of the visit, from the visit rollups (days the sessioniser has closed; the stats
-- API adds the last open days from raw events). Call as analytics.read_visits(site='…', from='…', to='…',
-- dimension='…') with dimension one of day, source, referrer, utm_source, utm_medium, utm_campaign,
-- utm_content, utm_term, entry_page, exit_page, country, region, city, device, browser, browser_version, os,
-- os_version.
-- Suppressed for the read role (collector/read/suppress.py spells out the rule): rows under the site's
-- small_cell_threshold k (analytics.site_privacy) fold into '(other)', more rows fold while '(other)' is
-- under k, and an '(other)' still under k is left out. rows_folded: how many rows a row holds.
-- Replaces the view of migration 047: every count it releases carries the consistent cell-key noise
-- of the stats API (collector/read/cellkey.py; the site's secret in analytics.cell_keys, which no reader
-- can select), and a row is shown only when its exact and its perturbed visitors both reach k.
CREATE OR REPLACE VIEW analytics.read_visits
AS SELECT
    d0 AS value,
    visitors,
    visits,
    pageviews,
    bounce_rate,
    visit_duration,
    views_per_visit,
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
        ) > 1) AND (sum(p_visits) > 0), toUInt64(greatest(0, toInt64(sum(p_visits)) + ([-3, -2, -1, 0, 1, 2, 3][arrayFirstIndex(e -> ((sipHash64Keyed((
            SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), argMin(k1, (created_at, k0, k1)))
            FROM analytics.cell_keys
            WHERE site = {site:String}
        ), {site:String}, toUInt64(sum(p_visits))) % 100) < e), [5, 15, 35, 65, 85, 95, 100])]))), toUInt64(sum(p_visits))) AS visits,
        if(((
            SELECT greatest(1, if(count() = 0, 5, argMax(small_cell_threshold, updated_at)))
            FROM analytics.site_privacy
            WHERE site = {site:String}
        ) > 1) AND (sum(p_pv) > 0), toUInt64(greatest(0, toInt64(sum(p_pv)) + ([-3, -2, -1, 0, 1, 2, 3][arrayFirstIndex(e -> ((sipHash64Keyed((
            SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), argMin(k1, (created_at, k0, k1)))
            FROM analytics.cell_keys
            WHERE site = {site:String}
        ), {site:String}, toUInt64(sum(p_pv))) % 100) < e), [5, 15, 35, 65, 85, 95, 100])]))), toUInt64(sum(p_pv))) AS pageviews,
        if(sum(p_visits) = 0, 0, toInt64(round((100 * sum(p_bounces)) / sum(p_visits)))) AS bounce_rate,
        if(sum(p_visits) = 0, 0, toInt64(round(sum(p_dur) / sum(p_visits)))) AS visit_duration,
        if(sum(p_visits) = 0, 0, round(sum(p_pv) / sum(p_visits), 2)) AS views_per_visit,
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
                    g0,
                    uniqCombined64MergeState(12)(p_v) AS p_v,
                    sum(p_visits) AS p_visits,
                    sum(p_bounces) AS p_bounces,
                    sum(p_pv) AS p_pv,
                    sum(p_dur) AS p_dur
                FROM
                (
                    SELECT
                        multiIf({dimension:String} = 'source', if(utm_source != '', utm_source, if(referrer_host != '', referrer_host, 'Direct / None')), {dimension:String} = 'referrer', if(referrer_host = '', 'Direct / None', referrer_host), {dimension:String} = 'utm_source', utm_source, {dimension:String} = 'utm_medium', utm_medium, {dimension:String} = 'utm_campaign', utm_campaign, {dimension:String} = 'utm_content', utm_content, {dimension:String} = 'utm_term', utm_term, '') AS g0,
                        uniqCombined64MergeState(12)(visitors) AS p_v,
                        sum(visit_count) AS p_visits,
                        sum(bounces) AS p_bounces,
                        sum(pageviews) AS p_pv,
                        sum(duration_s) AS p_dur
                    FROM analytics.visit_sources_daily
                    WHERE ({dimension:String} IN ('source', 'referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term')) AND (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
                    GROUP BY g0
                    UNION ALL
                    SELECT
                        multiIf({dimension:String} = 'country', country, {dimension:String} = 'region', region, {dimension:String} = 'city', city, '') AS g0,
                        uniqCombined64MergeState(12)(visitors) AS p_v,
                        sum(visit_count) AS p_visits,
                        sum(bounces) AS p_bounces,
                        sum(pageviews) AS p_pv,
                        sum(duration_s) AS p_dur
                    FROM analytics.visit_geo_daily
                    WHERE ({dimension:String} IN ('country', 'region', 'city')) AND (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
                    GROUP BY g0
                    UNION ALL
                    SELECT
                        multiIf({dimension:String} = 'device', device, {dimension:String} = 'browser', browser, {dimension:String} = 'browser_version', browser_version, {dimension:String} = 'os', os, {dimension:String} = 'os_version', os_version, '') AS g0,
                        uniqCombined64MergeState(12)(visitors) AS p_v,
                        sum(visit_count) AS p_visits,
                        sum(bounces) AS p_bounces,
                        sum(pageviews) AS p_pv,
                        sum(duration_s) AS p_dur
                    FROM analytics.visit_technology_daily
                    WHERE ({dimension:String} IN ('device', 'browser', 'browser_version', 'os', 'os_version')) AND (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
                    GROUP BY g0
                    UNION ALL
                    SELECT
                        multiIf({dimension:String} = 'day', toString(day), '') AS g0,
                        uniqCombined64MergeState(12)(visitors) AS p_v,
                        sum(visit_count) AS p_visits,
                        sum(bounces) AS p_bounces,
                        sum(pageviews) AS p_pv,
                        sum(duration_s) AS p_dur
                    FROM analytics.visits_daily
                    WHERE ({dimension:String} IN ('day')) AND (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
                    GROUP BY g0
                    UNION ALL
                    SELECT
                        page AS g0,
                        uniqCombined64MergeState(12)(visitors) AS p_v,
                        sum(visit_count) AS p_visits,
                        sum(bounces) AS p_bounces,
                        sum(pageviews) AS p_pv,
                        sum(duration_s) AS p_dur
                    FROM analytics.visit_pages_daily
                    WHERE ({dimension:String} = 'entry_page') AND (kind = 'entry') AND (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
                    GROUP BY g0
                    UNION ALL
                    SELECT
                        page AS g0,
                        uniqCombined64MergeState(12)(visitors) AS p_v,
                        sum(visit_count) AS p_visits,
                        sum(bounces) AS p_bounces,
                        sum(pageviews) AS p_pv,
                        sum(duration_s) AS p_dur
                    FROM analytics.visit_pages_daily
                    WHERE ({dimension:String} = 'exit_page') AND (kind = 'exit') AND (site = {site:String}) AND ((day >= {from:Date}) AND (day <= {to:Date}))
                    GROUP BY g0
                )
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
