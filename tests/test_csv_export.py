"""CSV export (collector/read/csv_export.py): cells a spreadsheet would evaluate are neutralised."""

from __future__ import annotations

import csv
import io

import pytest

from collector.read.csv_export import neutralise, to_csv


@pytest.mark.parametrize("cell", ["=1+1", "+33 1 23", "-2", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"])
def test_text_that_a_spreadsheet_would_evaluate_gets_an_apostrophe(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["/pricing", "(other)", "", "a=b", "DE", 3, -4, 1.5, None])
def test_everything_else_is_written_as_it_is(cell: object) -> None:
    assert neutralise(cell) == cell


def test_a_card_as_csv_keeps_numbers_and_neutralises_text() -> None:
    data = to_csv(["event:page", "visitors"], [["=cmd|' /C calc'!A0", 12], ["/a,b\"c", -1], [None, 0]])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["event:page", "visitors"], ["'=cmd|' /C calc'!A0", "12"], ["/a,b\"c", "-1"], ["", "0"]]
