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

Suppression alone cannot stop differencing (a total minus a negated filter is the hidden row), so for a
reader with k > 1 every released count also carries the consistent cell-key noise of
collector/read/cellkey.py, applied here, where the rows are released: a row is shown only when its exact and
its perturbed visitors both reach k (`cellkey.released`), and its counts are the perturbed ones.

k is the site's `small_cell_threshold`; the admin reads with k = 0 (nothing folds, nothing is perturbed).
Ties are broken by the dimension values, so the same data always folds the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import Config
from ..store import Store
from . import cellkey

OTHER = "(other)"


def fold_sql(inner: str, ndims: int, metrics: Mapping[str, str], merge: str, order: Sequence[str],
             perturb: bool = False, k: str = "{k:UInt64}", key: str = cellkey.PARAM_KEY,
             many: bool = False, counted: bool = False) -> str:
    """Wrap `inner` (columns g0..gN-1, a visitors sketch state `p_v` and partial sums) in the fold.

    Output columns: d0..dN-1 (strings, `(other)` for folded rows), the `metrics` (name -> SQL over the
    partials; those named in cellkey.COUNTS perturbed when `perturb`), `is_other` (1 on the folded row),
    `folded` (how many rows it holds), `total_rows` and `suppressed_rows` (over the whole result, before
    LIMIT), `exact_visitors`. Parameters: {site:String}, {k:UInt64} (or the SQL `k`), {limit:UInt64},
    {offset:UInt64}, and when perturbing the cell key's {ck0:UInt64} and {ck1:UInt64} (`cellkey.key_of`;
    or the SQL `key`). `order` lists ORDER BY terms over d* and metric names. `many`: the result has many
    rows with large sketches (a page list), so only the folded rows' sketches are merged again. `counted`:
    `inner` also has each row's visitors counted, as `vis`, and only the rows that can fold need a sketch."""
    def released(count: str) -> str:
        return cellkey.noisy_sql(count, k, key) if perturb else count

    groups = [f"g{i}" for i in range(ndims)]
    # A visible row is one inner row whose visitors `vis` are already counted. With many rows, only the folded
    # rows' sketches are merged again (for a 30-day page list at 10M events, merging every row's sketch a
    # second time cost ~35 ms); with a few, the plain merge is the cheaper statement to plan (~5-10 ms).
    fn, _, fn_params = merge.partition("(")
    once = f"if(max(fold), {fn}If{'(' + fn_params if fn_params else ''}(p_v, fold), any(vis))" if many or counted \
        else f"{merge}(p_v)"
    metrics = {name: sql.replace(f"{merge}(p_v)", once) for name, sql in metrics.items()}
    tiebreak = "".join(f", {g} ASC" for g in groups)
    vis = "vis" if counted else "finalizeAggregation(p_v)"
    ranked = (f"SELECT *,{'' if counted else f' {vis} AS vis,'} sum({vis}) OVER (ORDER BY {vis} ASC{tiebreak} "
              f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS cum FROM ({inner})")
    small = f"vis < {k}" + (f" OR {released('vis')} < {k}" if perturb else "")
    flagged = f"SELECT *, {small} OR (cum > 0 AND cum < {k}) AS fold FROM ({ranked})"
    dims = [f"if(fold, '{OTHER}', {g}) AS d{i}" for i, g in enumerate(groups)]
    cols = dims + [f"{released(sql) if name in cellkey.COUNTS else sql} AS {name}"
                   for name, sql in metrics.items()]
    cols += ["max(fold) AS is_other", "count() AS folded", "count() OVER () AS total_rows",
             "sum(if(max(fold), count(), 0)) OVER () AS suppressed_rows",
             f"{once} AS exact_visitors"]
    group = f" GROUP BY {', '.join(f'd{i}' for i in range(ndims))}" if ndims else ""
    return (f"SELECT {', '.join(cols)} FROM ({flagged}){group} ORDER BY is_other ASC, {', '.join(order)} "
            "LIMIT {limit:UInt64} OFFSET {offset:UInt64}")


def visible(rows: list[dict[str, Any]], k: int, ndims: int) -> tuple[list[dict[str, Any]], int]:
    """Rule 3 on the rows of `fold_sql` (dicts by column name): (rows to show, rows dropped). A row is
    shown when its exact and its released visitors reach k (`(other)`, and a result with no dimension;
    the others were folded in SQL by the same rule). A dimensionless result under k keeps its row with
    metrics set to None."""
    out, dropped = [], 0
    for row in rows:
        if (row["is_other"] or ndims == 0) and not cellkey.released(row["exact_visitors"], row["visitors"], k):
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
    """Write each site's k to analytics.site_privacy, where the read role's views find it (and give each
    site its cell key, should the start-up not have)."""
    cellkey.ensure_keys(store, config, now)
    rows = [(site, p.small_cell_threshold, int(now), p.rollup_retention_days) for site, p in config.sites.items()]
    if rows:
        with store.connection() as client:
            client.insert("analytics.site_privacy", rows,
                                column_names=["site", "small_cell_threshold", "updated_at", "retention_days"])
