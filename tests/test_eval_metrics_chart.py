"""DePlot RMS and RNSS on hand-made table pairs whose scores can be worked out by hand."""

import pytest

from visual_med_alpaca.eval.metrics.chart import parse_table, rms, rnss

GOLD = "TITLE | Papules <0x0A> Group | Before | After <0x0A> Treatment | 40 | 10 <0x0A> Control | 50 | 20"


def test_identical_is_perfect():
    assert rms(GOLD, GOLD) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert rnss(GOLD, GOLD) == 1.0


def test_one_value_off_by_five_percent():
    # 5 points (title + 4 values); one value scores 1 - 0.05, the rest 1.
    pred = GOLD.replace("| 50 |", "| 52.5 |")
    scores = rms(GOLD, pred)
    assert scores["f1"] == pytest.approx(4.95 / 5)
    # RNSS: 4 numbers, one at relative distance 0.05.
    assert rnss(GOLD, pred) == pytest.approx(1 - 0.05 / 4)


def test_one_value_off_by_ten_percent_hits_the_threshold():
    # DePlot counts a relative error >= number_theta (0.1) as fully wrong for RMS; RNSS is uncapped below 1.
    pred = GOLD.replace("| 50 |", "| 55 |")
    assert rms(GOLD, pred)["f1"] == pytest.approx(4 / 5)
    assert rnss(GOLD, pred) == pytest.approx(1 - 0.1 / 4)


def test_transposed_table_scores_the_same():
    transposed = parse_table(GOLD).transposed().linearize()
    assert transposed != GOLD
    assert rms(GOLD, transposed) == rms(GOLD, GOLD)


def test_missing_and_extra_entries():
    pred = "TITLE | Papules <0x0A> Group | Before <0x0A> Treatment | 40 <0x0A> Control | 50"
    scores = rms(GOLD, pred)
    assert scores["precision"] == pytest.approx(1.0)
    assert scores["recall"] == pytest.approx(3 / 5)
    assert rms(GOLD, "")["f1"] == 0.0
    assert rnss(GOLD, "no numbers here") == 0.0


def test_header_typo_is_partly_forgiven():
    pred = GOLD.replace("Control", "Contro1")
    f1 = rms(GOLD, pred)["f1"]
    assert 0.9 < f1 < 1.0


def test_a_title_the_gold_table_lacks_costs_one_entry_unless_titles_are_not_scored():
    gold = GOLD.replace("TITLE | Papules", "TITLE | ")  # ChartQA's gold tables carry no title
    read = GOLD  # the chart's title read: an entry the gold scores as wrong
    assert rms(gold, read)["f1"] == pytest.approx(4 / 5)
    assert rms(gold, read, score_title=False)["f1"] == 1.0
    assert rms(gold, gold.replace("| 50 |", "| 55 |"), score_title=False)["f1"] == pytest.approx(3 / 4)
    # a gold title is always scored: a wrong one still costs its entry
    assert rms(GOLD, GOLD.replace("Papules", "Weather"), score_title=False)["f1"] == pytest.approx(4 / 5)


# -- printed_scores: OpenCQA's partial gold from a chart's printed text boxes ------------------------------------------
from types import SimpleNamespace  # noqa: E402

from visual_med_alpaca.eval.metrics.chart import printed_data_numbers, printed_labels, printed_scores  # noqa: E402


def _boxes(*items):
    return [SimpleNamespace(text=text, box=box) for text, box in items]


# a column chart: a y axis 0-60 on one right edge (evenly spaced in position and value), two bars' values, a year
# label, a note, a source line, the title, two category labels
CHART = _boxes(("60", (10, 10, 24, 20)), ("40", (10, 40, 24, 50)), ("20", (10, 70, 24, 80)), ("0", (17, 100, 24, 110)),
               ("52%", (40, 30, 60, 40)), ("17 <1", (80, 80, 110, 90)), ("2019", (40, 112, 70, 122)),
               ("Note: 3 in 10 did not answer", (0, 130, 200, 140)), ("Source: Survey of 1,503 adults", (0, 142, 200, 152)),
               ("Most say the economy is bad", (0, 0, 200, 8)), ("Democrats", (40, 112, 90, 122)),
               ("Republicans", (90, 112, 150, 122)))
TITLE = "Most say the economy is bad"


def test_printed_data_numbers_drop_tick_runs_years_bounds_and_notes():
    assert sorted(printed_data_numbers(CHART, TITLE)) == [(17.0, 0), (52.0, 0)]


def test_ticks_on_one_row_are_dropped_but_uneven_values_on_a_column_are_kept():
    row = _boxes(("0", (10, 100, 16, 110)), ("25", (50, 100, 62, 110)), ("50", (90, 100, 102, 110)),
                 ("75", (130, 100, 142, 110)))
    assert printed_data_numbers(row) == []
    values = _boxes(("12", (100, 10, 112, 20)), ("47", (100, 30, 112, 40)), ("30", (100, 50, 112, 60)))
    assert sorted(printed_data_numbers(values)) == [(12.0, 0), (30.0, 0), (47.0, 0)]


def test_printed_labels_leave_out_numbers_long_notes_and_the_title():
    assert printed_labels(CHART, TITLE) == ["democrats", "republicans"]


def test_printed_scores_of_a_hand_made_table():
    table = "TITLE | Economy <0x0A> Party | Bad | Good <0x0A> Dem | 52 | 40.0 <0x0A> Republican | 17.4 | 9"
    scores = printed_scores(CHART, TITLE, table)
    # printed 52 and 17 are found (17.4 rounds to 17 at the printed precision); 2 of 4 numeric cells are printed
    assert scores["value_recall"] == 1.0 and scores["value_precision"] == 0.5
    assert scores["value_f1"] == pytest.approx(2 * 0.5 / 1.5)
    # "republicans" is within ANLS distance 0.5 of "republican"; "democrats" of nothing ("dem" is too far)
    assert scores["label_recall"] == 0.5
    unread = printed_scores(CHART, TITLE, None)
    assert (unread["value_f1"], unread["value_recall"], unread["label_recall"]) == (0.0, 0.0, 0.0)
    assert printed_scores(_boxes(("Yes", (0, 0, 9, 9))), "", table)["value_f1"] is None  # nothing printed to find


def test_values_run_together_with_a_short_label_are_data_and_its_words_a_label():
    """(version 2) OpenCQA's OCR often joins a label and its values in one sentence (`Iraq 23 11`, `72 Poland`): those
    numbers are printed data and the words a label; numbers at both ends or among the words (notes) are not."""
    joined = _boxes(("Iraq 23 11", (10, 10, 80, 20)), ("72 Poland", (200, 40, 260, 50)), ("1 in 5 adults", (0, 90, 80, 99)),
                    ("Survey of 1,503 adults", (0, 100, 150, 110)), ("Ages 18-29", (0, 120, 60, 130)))
    assert sorted(printed_data_numbers(joined)) == [(11.0, 0), (23.0, 0), (72.0, 0)]
    assert printed_labels(joined) == ["iraq", "poland"]
    scores = printed_scores(joined, "", "TITLE | T <0x0A> Country | A | B <0x0A> Iraq | 23 | 11 <0x0A> Poland | 72 | ")
    assert (scores["value_recall"], scores["value_precision"], scores["label_recall"]) == (1.0, 1.0, 1.0)


def test_a_partly_read_tables_note_names_nothing():
    """(version 3) The closing note of a partly read table is the reader's words: a printed label inside it is not read."""
    table = "TITLE | Economy <0x0A> Category | Printed value 1 <0x0A> Dem | 52 <0x0A> (partly read: e.g. Republicans)"
    assert printed_scores(CHART, TITLE, table)["label_recall"] == 0.0  # `dem` is too far from `democrats`
    named = table.replace("<0x0A> Dem |", "<0x0A> Republicans |")
    assert printed_scores(CHART, TITLE, named)["label_recall"] == 0.5
