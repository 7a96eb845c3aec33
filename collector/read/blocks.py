"""Ranges split into aligned blocks of days, for the rollups kept per block (schemas/clickhouse/160-165).

A page list over a long range spends its time merging one visitors sketch per page per day. The block
rollups hold each page's sketch over aligned 1-, 4- and 16-day blocks (a block of `span` days starts on a
day whose number since 1970-01-01 is divisible by `span`), so a 30-day range merges about 7 sketches per page
instead of 30, with the same result: merging sketches does not depend on how the days are grouped.
"""

from __future__ import annotations

import datetime as dt

SPANS = (16, 4, 1)  # largest first
_EPOCH = dt.date(1970, 1, 1)


def _number(day: dt.date) -> int:
    return (day - _EPOCH).days


def _day(number: int) -> dt.date:
    return _EPOCH + dt.timedelta(days=number)


def split(start: dt.date, end: dt.date, spans: tuple[int, ...] = SPANS) -> list[tuple[int, dt.date, dt.date]]:
    """[start, end] as (span, first block start, last block start) pieces, largest blocks in the middle:
    every day of the range in exactly one block, no block reaching outside it."""
    if start > end:
        return []
    span, rest = spans[0], spans[1:]
    a, b = _number(start), _number(end)
    first = -(-a // span) * span  # the first aligned start at or after `start`
    last = (b + 1) // span * span - span  # the last aligned start whose block ends by `end`
    if first > last:
        return split(start, end, rest) if rest else []
    return [*split(start, _day(first - 1), rest), (span, _day(first), _day(last)),
            *split(_day(last + span), end, rest)]
