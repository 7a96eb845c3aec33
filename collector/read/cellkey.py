"""Cell-key perturbation: every count a non-admin reader is shown carries a small, consistent noise.

Threshold suppression alone cannot keep a small group hidden once a reader may ask two tables whose
difference is that group (all visitors, and all visitors but page X). Statistics offices protect their
flexible table builders with the cell key method (ABS TableBuilder, Eurostat's census recommendation): each
released count gets a noise drawn from a fixed table of probabilities (the p-table), indexed by a key that
depends only on what is counted, so asking the same thing again, or spelling it another way, gives the same
number and nothing averages away. docs/privacy/threat-model.md says what this protects and what it does not.

Our key is the count itself, hashed with a per-site secret (analytics.cell_keys, which no reader can
select): `sipHash64Keyed(secret, site, count)`. The rollups keep visitors as sketches, from which no
per-visitor record key can be summed; keying by the count makes every answer that counts the same number
show the same figure, however it was filtered, dated or grouped and whichever metric it is (one visitor with
one pageview is 1 visitor, 1 visit, 1 pageview, 1 event: four metrics, one noise, nothing to average).

The noise is applied where answers are released (the fold of collector/read/suppress.py, and the realtime
and dashboard card numbers through `perturb`), only when the site's k is above 1: the admin (k = 0) and a
site that asks for no suppression (k = 1) see exact numbers.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from ..config import Config
from ..store import Store

# The p-table: (noise, probability in percent). Zero-mean, variance 2.1, at most MAX_NOISE either way. Why 3:
# with k = 5, a reader who knows this bound and differences two released totals around a hidden group of
# up to k - 1 visitors is left with at least four candidate sizes whatever the draws (see the docs page).
P_TABLE: tuple[tuple[int, int], ...] = ((-3, 5), (-2, 10), (-1, 20), (0, 30), (1, 20), (2, 10), (3, 5))
MAX_NOISE = max(abs(n) for n, _ in P_TABLE)
# Counts that are perturbed when released; rates and averages are computed from exact sums (see the docs).
COUNTS = frozenset({"visitors", "visits", "pageviews", "events", "clicks"})

# The site's secret, failing the query (never falling back to a key a reader could know) when it has none.
KEY_SQL = ("(SELECT (argMin(k0, (created_at, k0, k1)) + throwIf(count() = 0, 'the site has no cell key yet'), "
           "argMin(k1, (created_at, k0, k1))) FROM analytics.cell_keys WHERE site = {site:String})")


# The secret as query parameters, read once per answer by `key_of` (the stats API and the heatmap): a scalar
# subquery per released count costs more than the count itself.
PARAM_KEY = "({ck0:UInt64}, {ck1:UInt64})"


def key_of(store: Store, site: str) -> dict[str, int]:
    """The site's secret as the parameters of PARAM_KEY; the query fails when the site has none."""
    with store.lock:
        rows = store.client.query(f"SELECT {KEY_SQL} AS key", parameters={"site": site}).result_rows
    k0, k1 = rows[0][0]
    return {"ck0": int(k0), "ck1": int(k1)}


def _draw(u: str) -> str:
    """The p-table as SQL over `u`, a uniform integer in 0..99: the noise of the first bucket above `u`."""
    edges, total = [], 0
    for _, percent in P_TABLE:
        total += percent
        edges.append(str(total))
    noises = ", ".join(str(n) for n, _ in P_TABLE)
    return f"[{noises}][arrayFirstIndex(e -> ({u} < e), [{', '.join(edges)}])]"


def noisy_sql(count: str, k: str = "{k:UInt64}", key: str = KEY_SQL) -> str:
    """SQL of the exact non-negative count `count` as a reader with threshold `k` sees it: unchanged for
    k <= 1 and for 0, else count + noise (never below 0), the noise keyed by (site, count). `key` is the
    secret's SQL: KEY_SQL (read in the statement) or PARAM_KEY (parameters from `key_of`)."""
    u = f"(sipHash64Keyed({key}, {{site:String}}, toUInt64({count})) % 100)"
    perturbed = f"toUInt64(greatest(0, toInt64({count}) + {_draw(u)}))"
    return f"if({k} > 1 AND {count} > 0, {perturbed}, toUInt64({count}))"


def perturb(store: Store, site: str, k: int, counts: Sequence[int]) -> list[int]:
    """`counts` (exact) as a reader with threshold `k` sees them, by the same SQL as every other answer."""
    if k <= 1 or not counts:
        return [int(c) for c in counts]
    sql = (f"SELECT {noisy_sql('c')} AS n FROM (SELECT arrayJoin({{counts:Array(UInt64)}}) AS c, "
           "rowNumberInAllBlocks() AS i) ORDER BY i")
    with store.lock:
        rows = store.client.query(sql, parameters={"site": site, "k": k, "counts": [int(c) for c in counts]})
    return [int(r[0]) for r in rows.result_rows]


def released(exact: Any, shown: Any, k: int) -> bool:
    """A count is shown to a reader only when both its exact and its perturbed value reach k: the first keeps
    a true small group from being printed, the second keeps the suppression decision itself noisy."""
    return int(exact) >= k and int(shown) >= k


def ensure_keys(store: Store, config: Config, now: float) -> None:
    """Give every configured site a random secret if it has none, and confirm the existing ones (their TTL
    counts from the last start). Two processes racing here may both make one; every reader then takes the
    same one (the oldest, ties by value)."""
    with store.lock:
        have = {r[0]: r[1:] for r in store.client.query(
            "SELECT site, argMin(k0, (created_at, k0, k1)), argMin(k1, (created_at, k0, k1)), "
            "min(created_at) FROM analytics.cell_keys GROUP BY site").result_rows}
        rows = []
        for site, policy in config.sites.items():
            k0, k1, made = have.get(site) or (secrets.randbits(64), secrets.randbits(64), int(now))
            made = made if isinstance(made, int) else int(made.timestamp())
            rows.append((site, k0, k1, made, int(now), policy.rollup_retention_days))
        if rows:
            store.client.insert("analytics.cell_keys", rows, column_names=[
                "site", "k0", "k1", "created_at", "updated_at", "retention_days"])
