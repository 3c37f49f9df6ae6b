"""videoespresso_hf.tables.aligned_table: the one text-table formatter (score leaderboard, build report, training
metrics)."""

from __future__ import annotations

from videoespresso_hf.tables import aligned_table

ROWS = [["name", "n", "score"], ["a", "12", "50.0"], ["longer name", "3", "-"]]


def test_labels_left_numbers_right_columns_as_wide_as_their_widest_cell():
    assert aligned_table(ROWS) == [
        "name          n  score",
        "a            12   50.0",
        "longer name   3      -",
    ]


def test_all_left_aligned_with_a_rule_per_column_and_no_trailing_spaces():
    assert aligned_table(ROWS, right_from=None, rule="columns") == [
        "name         n   score",
        "-----------  --  -----",
        "a            12  50.0",
        "longer name  3   -",
    ]


def test_least_widths_one_space_gap_and_a_rule_as_long_as_the_header():
    lines = aligned_table([["stage", "ran"], ["sample", "7"]], gap=" ", min_widths=[8, 5], rule="line")
    assert lines == ["stage      ran", "-" * 14, "sample       7"]
    # A cell wider than its least width widens the column instead of pushing the row out of line.
    wide = aligned_table([["stage", "ran"], ["sample", "1234567"]], gap=" ", min_widths=[8, 5])
    assert wide == ["stage        ran", "sample   1234567"]


def test_no_rows_no_lines():
    assert aligned_table([]) == []
