"""Click heatmap cells of one page from analytics.heatmap_daily, small-cell suppressed like every other
aggregate: a cell with fewer than k distinct visitors is folded into the `(other)` count, never drawn."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..config import Config
from ..store import Store
from . import answer, cellkey, query, suppress

X_CELLS, Y_CELLS = 20, 50  # the grid of migration 044: 5 % of the width by 2 % of the height

_INNER = ("SELECT toString(x_cell) AS g0, toString(y_cell) AS g1, uniqCombined64MergeState(12)(visitors) AS p_v, "
          "sum(clicks) AS p_clicks FROM analytics.heatmap_daily WHERE site = {site:String} AND path = {page:String} "
          "AND day BETWEEN {from:Date} AND {to:Date} AND ({width:Int32} < 0 OR width = {width:Int32}) "
          "GROUP BY g0, g1")
_METRICS = {"clicks": "sum(p_clicks)", "visitors": "uniqCombined64Merge(12)(p_v)"}
_ORDER = ["clicks DESC", "d0 ASC", "d1 ASC"]
SQL = suppress.fold_sql(_INNER, 2, _METRICS, "uniqCombined64Merge(12)", _ORDER)
# A reader's cells: counts perturbed (collector/read/cellkey.py) as in every other answer.
SQL_PERTURBED = suppress.fold_sql(_INNER, 2, _METRICS, "uniqCombined64Merge(12)", _ORDER, perturb=True)


def cells(store: Store, config: Config, site: str, page: str, start: dt.date, end: dt.date, width: str | None,
          admin: bool) -> dict[str, Any]:
    """{"cells": [{"x", "y", "clicks", "visitors"}], "other": {...} | None, "meta": {...}}; x and y are the
    cell's left and top edges as fractions of the page."""
    if width is not None and not (width.isdigit() and len(width) <= 5):
        raise query.bad("width", "must be a width bucket in CSS pixels (0, 320, 576, 768, 992, 1200, 1400)")
    if len(page) > 2000:
        raise query.bad("page", "at most 2000 characters")
    k = suppress.threshold(config, site, admin)
    params = {"site": site, "page": page, "from": start, "to": end, "width": int(width) if width else -1,
              "k": k, "limit": X_CELLS * Y_CELLS + 1, "offset": 0}
    if k > 1:
        params |= cellkey.key_of(store, site)
    rows, dropped = suppress.visible(answer.execute(store, SQL_PERTURBED if k > 1 else SQL, params), k, 2)
    shown = [{"x": int(r["d0"]) / X_CELLS, "y": int(r["d1"]) / Y_CELLS, "clicks": int(r["clicks"]),
              "visitors": int(r["visitors"])} for r in rows if not r["is_other"]]
    other = next(({"clicks": int(r["clicks"]), "visitors": int(r["visitors"])} for r in rows if r["is_other"]), None)
    return {"cells": shown, "other": other, "grid": {"x_cells": X_CELLS, "y_cells": Y_CELLS},
            "meta": {"small_cell_threshold": k, "suppressed_rows": int(rows[0]["suppressed_rows"]) if rows else 0,
                     "suppressed_other_row": bool(dropped), "date_range": [start.isoformat(), end.isoformat()]}}
