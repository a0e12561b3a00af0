"""bench/chart_gap.py: each re-scoring (one part made right) on tiny hand-made tables whose value is known, the
pairing (by name, by value, transposed), and that --aggregate-only prints no chart id (and that per-chart output of
chartqa_dev's report half is refused)."""

import hashlib
import json
import subprocess
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from chart_gap import decompose  # noqa: E402

from visual_med_alpaca.eval.metrics.chart import rms  # noqa: E402

SCRIPT = REPO / "bench" / "chart_gap.py"
GOLD = "TITLE |  <0x0A> Group | Before | After <0x0A> Treatment | 40 | 10 <0x0A> Control | 50 | 20"  # no title, as ChartQA


def _scores(prediction):
    return decompose(GOLD, prediction)["scores"]


def test_a_table_right_but_its_title_loses_only_the_title():
    s = _scores(GOLD.replace("TITLE |  ", "TITLE | Papules"))
    assert s["as_is"] == pytest.approx(0.8) and s["title"] == 1.0 and s["all_three"] == 1.0
    assert s["names"] == s["values"] == s["names_values"] == pytest.approx(0.8)
    titled = GOLD.replace("TITLE |  ", "TITLE | Acne")  # a synthetic set's gold carries its title
    s = decompose(titled, GOLD)["scores"]
    assert s["as_is"] == pytest.approx(0.8) and s["title"] == 1.0


def test_only_wrong_names_are_made_right_by_names_right_alone_paired_by_value_in_any_row_order():
    wrong = "TITLE |  <0x0A> Category | Pre | Post <0x0A> Arm B | 50 | 20 <0x0A> Arm A | 40 | 10"
    s = _scores(wrong)
    assert s["as_is"] == pytest.approx(0.2)  # only the (blank) title entry matches
    assert s["names"] == s["names_values"] == s["all_three"] == 1.0
    assert s["values"] == s["row_names"] == s["col_names"] == pytest.approx(0.2)  # rows and headers both wrong


def test_row_names_and_column_names_are_measured_apart():
    rows_wrong = "TITLE |  <0x0A> Group | Before | After <0x0A> X | 40 | 10 <0x0A> Y | 50 | 20"
    s = _scores(rows_wrong)
    assert s["row_names"] == s["names"] == 1.0 and s["col_names"] == s["as_is"] == pytest.approx(0.2)
    header_wrong = "TITLE |  <0x0A> Group | Share <0x0A> Treatment | 40% <0x0A> Control | 60%"
    s = decompose("TITLE |  <0x0A> Characteristic | Share of respondents <0x0A> Treatment | 40% <0x0A> Control | 60%",
                  header_wrong)["scores"]  # a pie's header: not printed on the chart
    assert s["as_is"] == pytest.approx(1 / 3) and s["col_names"] == s["names"] == 1.0 and s["row_names"] == s["as_is"]


def test_only_wrong_values_are_made_right_by_values_right_alone():
    s = _scores(GOLD.replace("| 40 |", "| 80 |").replace("| 20", "| 2"))
    assert s["as_is"] == pytest.approx(0.6) and s["values"] == 1.0
    assert s["names"] == s["row_names"] == s["col_names"] == pytest.approx(0.6)


def test_a_transposed_prediction_is_paired_transposed():
    transposed = "TITLE |  <0x0A> Category | Arm A | Arm B <0x0A> Pre | 40 | 50 <0x0A> Post | 10 | 20"
    chart = decompose(GOLD, transposed)
    assert chart["pairing"].transposed and chart["scores"]["names"] == 1.0 and chart["shape"] == (2, 2, 2, 2)


def test_a_missing_row_is_shape_left_after_names_values_and_title():
    chart = decompose(GOLD, "TITLE | Papules <0x0A> Group | Before | After <0x0A> Treatment | 40 | 10")
    assert chart["shape"] == (1, 2, 2, 2)
    assert chart["scores"]["all_three"] == pytest.approx(2 * 1 * 0.6 / 1.6)  # precision 3/3, recall 3/5
    assert chart["scores"]["gold"] == 1.0


def test_an_unread_chart_and_a_gold_nan_cell():
    s = _scores("")
    assert all(s[k] == 0.0 for k in s if k != "gold") and s["gold"] == 1.0
    nan_gold = GOLD.replace("| 10 ", "| nan ")
    assert decompose(nan_gold, nan_gold)["scores"]["gold"] == pytest.approx(0.8)  # the metric never scores `nan`


def _stem(split):
    """A Statista-like file stem that split_of puts in `split` (sha1 parity of the stem)."""
    for k in range(100):
        stem = f"two_col_{k}"
        if (int(hashlib.sha1(stem.encode()).hexdigest(), 16) % 2 == 0) == (split == "dev"):
            return stem
    raise AssertionError


def _write(folder, stems, predictions):
    folder.mkdir(exist_ok=True)
    (folder / "gold.jsonl").write_text("".join(json.dumps({"image": f"{s}.png", "table": GOLD}) + "\n" for s in stems))
    path = folder / "p.predictions.jsonl"
    path.write_text("".join(json.dumps({"id": s, "failed": not text, "detected": "unread" if not text else "bar",
                                        "prediction": text, "rms_f1": rms(GOLD, text)["f1"]}) + "\n"
                            for s, text in zip(stems, predictions)))
    return path


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)


def test_aggregate_only_prints_no_chart_id_and_the_report_half_needs_it(tmp_path):
    dev, report = _stem("dev"), _stem("report")
    path = _write(tmp_path / "dev", [dev], [GOLD.replace("TITLE |  ", "TITLE | Papules")])
    shown = _run(path, "--set-dir", tmp_path / "dev", "--show", dev)
    assert shown.returncode == 0, shown.stderr
    assert dev in shown.stdout and "row 'Treatment' -> 'Treatment'" in shown.stdout
    path = _write(tmp_path / "both", [dev, report], [GOLD, ""])
    refused = _run(path, "--set-dir", tmp_path / "both")
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "--aggregate-only" in refused.stderr
    done = _run(path, "--set-dir", tmp_path / "both", "--aggregate-only")
    assert done.returncode == 0, done.stderr
    assert dev not in done.stdout and report not in done.stdout
    all_row = next(line for line in done.stdout.splitlines() if line.startswith("| all |")).split(" | ")
    assert all_row[1:4] == ["2", "0.5000", "1 (0.5000)"]  # as is = bench_chart.py's mean; one unread of two
    assert "| statista | 2 |" in done.stdout and "| unread | 1 |" in done.stdout and "| bar | 1 |" in done.stdout
    assert "differs from the saved figure" not in done.stdout


def test_predictions_of_another_set_is_one_error_line(tmp_path):
    path = _write(tmp_path / "a", [_stem("dev")], [GOLD])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "gold.jsonl").write_text(json.dumps({"image": "other.png", "table": GOLD}) + "\n")
    done = _run(path, "--set-dir", tmp_path / "b")
    assert done.returncode == 2 and "is not in" in done.stderr and len(done.stderr.strip().splitlines()) == 1
