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
