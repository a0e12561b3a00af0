"""DePlot's linearized table format (chart_table.py): the one definition the chart generator writes gold tables
with and the chart metrics read."""

import numpy as np

from visual_med_alpaca.chart_table import Table, parse_table
from visual_med_alpaca.data.charts import GENERATORS
from visual_med_alpaca.eval.metrics.chart import rms

GOLD = "TITLE | Papules <0x0A> Group | Before | After <0x0A> Treatment | 40 | 10 <0x0A> Control | 50 | 20"


def test_parse_round_trip():
    table = parse_table(GOLD)
    assert table.title == "Papules"
    assert table.headers == ["Group", "Before", "After"]
    assert table.rows == [["Treatment", "40", "10"], ["Control", "50", "20"]]
    assert table.linearize() == GOLD
    assert parse_table(GOLD.replace(" <0x0A> ", "\n")) == table  # real newlines separate rows too
    assert parse_table("  ") == Table(None, [], [])


def test_every_generator_gold_table_reads_back_as_written_and_scores_perfect():
    for name, (random_spec, _) in GENERATORS.items():
        for seed in range(5):
            table = random_spec(np.random.default_rng(seed)).table()
            text = table.linearize()
            assert parse_table(text) == table, (name, seed)
            assert rms(text, text)["f1"] == 1.0
