"""bench/vlm_yes_no_bias.py: the AUC it prints beside the log-odds quartiles."""

import math
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from vlm_yes_no_bias import auc  # noqa: E402


def test_auc_counts_ties_half_and_is_nan_without_both_kinds_of_reference():
    rows = [(2.0, True), (0.5, True), (0.5, False), (-1.0, False), (1.0, False)]
    # yes/no pairs: 2.0 beats all three; 0.5 ties 0.5, beats -1.0, loses to 1.0 -> (3 + 1.5) / 6
    assert math.isclose(auc(rows), 4.5 / 6)
    assert auc([(1.0, True), (-1.0, False)]) == 1.0 and auc([(-1.0, True), (1.0, False)]) == 0.0
    assert math.isnan(auc([(1.0, True), (2.0, True)]))  # no no-references: not an AUC of 0 (perfectly wrong)
