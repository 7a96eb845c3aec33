"""Small-cell suppression: no aggregate a non-admin sees describes fewer than k distinct visitors.

The rule, applied in SQL to every grouped result (the stats API, CSV, heatmap cells, and the read role's
views in schemas/clickhouse/046-049, which spell out the same SQL):

1. A row with fewer than k visitors is folded into one `(other)` row.
2. Complementary suppression: if the folded rows add up to fewer than k visitors (but more than none),
   `(other)` would tell, next to a total, how many people the hidden rows hold; so the smallest visible
   rows are folded too, in ascending order, until the folded visitors reach k.
3. `(other)`'s visitors are then counted exactly (its sketches are merged); an `(other)` still under k
   (every row was small, or the folded rows share visitors) is dropped, its rows counted as suppressed.
   A result with no dimension is one row: under k, its metrics are withheld.

k is the site's `small_cell_threshold`; the admin reads with k = 0 (nothing folds). Ties are broken by the
dimension values, so the same data always folds the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import Config
from ..store import Store

OTHER = "(other)"


def fold_sql(inner: str, ndims: int, metrics: Mapping[str, str], merge: str, order: Sequence[str]) -> str:
    """Wrap `inner` (columns g0..gN-1, a visitors sketch state `p_v` and partial sums) in the fold.

    Output columns: d0..dN-1 (strings, `(other)` for folded rows), the `metrics` (name -> SQL over the
    partials), `is_other` (1 on the folded row), `folded` (how many rows it holds), `total_rows` and
    `suppressed_rows` (over the whole result, before LIMIT). Parameters: {k:UInt64}, {limit:UInt64},
    {offset:UInt64}. `order` lists ORDER BY terms over d* and metric names."""
    groups = [f"g{i}" for i in range(ndims)]
    tiebreak = "".join(f", {g} ASC" for g in groups)
    ranked = (f"SELECT *, finalizeAggregation(p_v) AS vis, sum(finalizeAggregation(p_v)) OVER (ORDER BY "
              f"finalizeAggregation(p_v) ASC{tiebreak} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum "
              f"FROM ({inner})")
    flagged = f"SELECT *, vis < {{k:UInt64}} OR (cum > 0 AND cum < {{k:UInt64}}) AS fold FROM ({ranked})"
    dims = [f"if(fold, '{OTHER}', {g}) AS d{i}" for i, g in enumerate(groups)]
    cols = dims + [f"{sql} AS {name}" for name, sql in metrics.items()]
    cols += ["max(fold) AS is_other", "count() AS folded", "count() OVER () AS total_rows",
             "sum(if(max(fold), count(), 0)) OVER () AS suppressed_rows",
             f"{merge}(p_v) AS exact_visitors"]
    group = f" GROUP BY {', '.join(f'd{i}' for i in range(ndims))}" if ndims else ""
    return (f"SELECT {', '.join(cols)} FROM ({flagged}){group} ORDER BY is_other ASC, {', '.join(order)} "
            "LIMIT {limit:UInt64} OFFSET {offset:UInt64}")


def visible(rows: list[dict[str, Any]], k: int, ndims: int) -> tuple[list[dict[str, Any]], int]:
    """Rule 3 on the rows of `fold_sql` (dicts by column name): (rows to show, rows dropped).
    A dimensionless result under k keeps its row with metrics set to None."""
    out, dropped = [], 0
    for row in rows:
        if row["is_other"] and row["exact_visitors"] < k:
            if ndims == 0:
                out.append({**row, "suppressed": True})
            dropped += 0 if ndims == 0 else 1
            continue
        out.append(row)
    return out, dropped


def threshold(config: Config, site: str, admin: bool) -> int:
    """The k a reader gets: the site's small_cell_threshold, 0 for the admin."""
    return 0 if admin else max(1, config.sites[site].small_cell_threshold)


def publish_thresholds(store: Store, config: Config, now: float) -> None:
    """Write each site's k to analytics.site_privacy, where the read role's views find it."""
    rows = [(site, p.small_cell_threshold, int(now), p.rollup_retention_days) for site, p in config.sites.items()]
    if rows:
        with store.connection() as client:
            client.insert("analytics.site_privacy", rows,
                                column_names=["site", "small_cell_threshold", "updated_at", "retention_days"])
