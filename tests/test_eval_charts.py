"""`vmed eval charts` (eval/charts.py): bad output paths are refused before any chart is read."""

from __future__ import annotations

import json

import pytest

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.eval.charts import evaluate_chart_set, format_metrics


class NeverCalled:
    def describe(self, image):
        raise AssertionError("a chart was read before the output path was checked")


def _set(tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "gold.jsonl").write_text(json.dumps({"image": "images/a.png", "table": "A | B <0x0A> x | 1"}) + "\n")
    return folder


def test_an_out_that_is_a_folder_or_under_a_file_fails_before_the_charts_are_read(tmp_path):
    """It failed after reading every chart (minutes on a large set), the work lost."""
    folder = _set(tmp_path)
    with pytest.raises(UserInputError, match="is a folder"):
        evaluate_chart_set(folder, out=tmp_path, progress=False, expert=NeverCalled())
    (tmp_path / "file").write_text("")
    with pytest.raises((FileExistsError, NotADirectoryError)):  # the CLI says "cannot use PATH: ..."
        evaluate_chart_set(folder, out=tmp_path / "file" / "m.json", progress=False, expert=NeverCalled())


def test_a_set_that_is_a_file_is_named_as_such(tmp_path):
    """`vmed eval charts --set chart.png` said "chart.png has no gold.jsonl; make one with: vmed data make-charts
    --out chart.png", a hint to draw charts into an image file."""
    (tmp_path / "chart.png").write_bytes(b"")
    with pytest.raises(UserInputError, match="--set .*chart.png is a file: give the folder that holds gold.jsonl"):
        evaluate_chart_set(tmp_path / "chart.png", progress=False, expert=NeverCalled())


class Guess:
    """Reads every chart as the first chart's gold table (scores differ per chart); `stop_at`: the call that is
    interrupted (Ctrl-C), counting the warm-up."""

    table = ""

    def __init__(self, stop_at: int | None = None):
        self.calls, self.stop_at = 0, stop_at

    def describe(self, image):
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return self.table


@pytest.fixture(scope="module")
def three_charts(tmp_path_factory):
    from visual_med_alpaca.data.charts import make_chart_set

    folder = tmp_path_factory.mktemp("charts")
    make_chart_set(folder, 3, seed=7, progress=False, generator="plain")
    Guess.table = json.loads((folder / "gold.jsonl").read_text().splitlines()[0])["table"]
    return folder


def _without_times(metrics):
    """The scores of a metrics dict (seconds and this run's counts differ between runs)."""
    if isinstance(metrics, dict):
        return {k: _without_times(v) for k, v in metrics.items()
                if k not in ("seconds_per_chart", "charts_this_run", "seconds_per_chart_this_run", "metrics_file")}
    return metrics


def test_an_interrupted_run_resumes_where_it_stopped_with_the_same_metrics(three_charts, tmp_path):
    """`vmed eval charts` had no resume: an interrupted run lost every chart read (predictions were written at the
    end), and a rerun read them all again. Now each chart is saved as read and a rerun reads only the rest."""
    whole = evaluate_chart_set(three_charts, out=tmp_path / "whole.json", progress=False, expert=Guess(), resume=True)
    out = tmp_path / "cut.json"
    with pytest.raises(KeyboardInterrupt):  # warm-up, chart 1, chart 2, then Ctrl-C on chart 3
        evaluate_chart_set(three_charts, out=out, progress=False, expert=Guess(stop_at=4), resume=True)
    saved = [json.loads(line) for line in out.with_suffix(".predictions.jsonl").read_text().splitlines()]
    assert [row["id"] for row in saved] == ["chart_00000", "chart_00001"]
    again = Guess()
    resumed = evaluate_chart_set(three_charts, out=out, progress=False, expert=again, resume=True)
    assert again.calls == 2  # the warm-up and the one chart left
    assert resumed["charts_this_run"] == 1 and resumed["n"] == 3
    assert _without_times(resumed) == _without_times(whole) and 0.0 < whole["rms_f1"] < 1.0
    assert json.loads(out.read_text())["n"] == 3
    done = Guess()  # all read: the rerun reads nothing, not even a warm-up
    assert _without_times(evaluate_chart_set(three_charts, out=out, progress=False, expert=done, resume=True)) == \
        _without_times(whole) and done.calls == 0


def test_a_resumed_run_says_its_seconds_per_chart_mix_runs(three_charts, tmp_path):
    """A resumed run printed one s/chart over charts timed by different runs (other load, other code) as if this
    run had measured them; it says so now and gives this run's own count and s/chart."""
    out = tmp_path / "m.json"
    whole = evaluate_chart_set(three_charts, out=out, progress=False, expert=Guess(), resume=True, limit=2)
    assert whole["seconds_per_chart_this_run"] == pytest.approx(whole["seconds_per_chart"])
    assert not any("note:" in line for line in format_metrics(whole))
    resumed = evaluate_chart_set(three_charts, out=out, progress=False, expert=Guess(), resume=True)
    assert resumed["charts_this_run"] == 1 and resumed["seconds_per_chart_this_run"] is not None
    assert json.loads(out.read_text())["seconds_per_chart_this_run"] == resumed["seconds_per_chart_this_run"]
    note = [line for line in format_metrics(resumed) if "note:" in line]
    assert note == [f"  note: 2 of 3 charts were read by earlier runs (resumed), so s/chart averages the seconds "
                    f"each chart took in the run that read it (1 read by this one, "
                    f"{resumed['seconds_per_chart_this_run']:.2f} s/chart)"]
    again = evaluate_chart_set(three_charts, out=out, progress=False, expert=Guess(stop_at=1), resume=True)  # no read
    assert again["seconds_per_chart_this_run"] is None
    assert "(none read by this one)" in format_metrics(again)[1]


def test_the_expert_code_hash_covers_the_package_modules_the_expert_imports(tmp_path, monkeypatch):
    """The hash covered only the expert's own folder: a change in a shared module it imports (chart_table.py,
    images.py for the chart expert) let a resumed run mix the old code's predictions with the new code's."""
    import sys
    import types

    from visual_med_alpaca.eval import charts

    package = tmp_path / "visual_med_alpaca"
    (package / "experts" / "mine").mkdir(parents=True)
    for name in ("__init__.py", "experts/__init__.py"):
        (package / name).write_text("")
    (package / "shared.py").write_text("SCALE = 1\n")
    (package / "helper.py").write_text("from . import shared\n")
    (package / "unrelated.py").write_text("X = 1\n")
    (package / "experts" / "mine" / "__init__.py").write_text("from .reader import Mine\n")
    (package / "experts" / "mine" / "reader.py").write_text(
        "from ...errors import Nothing\n\ndef read():\n    from ... import helper  # inside a function\n")
    module = types.ModuleType("mine_reader")
    module.__file__ = str(package / "experts" / "mine" / "reader.py")
    monkeypatch.setitem(sys.modules, "mine_reader", module)
    Mine = type("Mine", (), {"__module__": "mine_reader"})
    monkeypatch.setattr(charts, "_PACKAGE_DIR", package, raising=False)
    before = charts.expert_code(Mine)
    (package / "unrelated.py").write_text("X = 2  # not imported by the expert\n")
    assert charts.expert_code(Mine) == before
    (package / "shared.py").write_text("SCALE = 10  # imported through helper.py\n")
    assert charts.expert_code(Mine) != before


def test_a_rerun_with_another_expert_or_set_is_refused_and_keeps_the_file(three_charts, tmp_path):
    """Predictions of one expert (or its earlier code, or another set) are never mixed with another's."""
    out = tmp_path / "m.json"
    evaluate_chart_set(three_charts, out=out, progress=False, expert=Guess(), resume=True, limit=2)
    predictions = out.with_suffix(".predictions.jsonl").read_text()

    class Other(Guess):
        pass

    with pytest.raises(UserInputError, match=r"m.json holds predictions from a different setup \(expert_code changed\); "
                                              r"use another --out or --restart"):
        evaluate_chart_set(three_charts, out=out, progress=False, expert=Other(), resume=True)
    other_set = tmp_path / "copy"
    other_set.mkdir()
    (other_set / "gold.jsonl").write_text((three_charts / "gold.jsonl").read_text())
    (other_set / "images").symlink_to(three_charts / "images")
    with pytest.raises(UserInputError, match=r"\(set changed\)"):
        evaluate_chart_set(other_set, out=out, progress=False, expert=Guess(), resume=True)
    assert out.with_suffix(".predictions.jsonl").read_text() == predictions
    # without resume (the bench scripts), earlier predictions are deleted first, as before
    fresh = evaluate_chart_set(three_charts, out=out, progress=False, expert=Other())
    assert fresh["charts_this_run"] == 3


def test_a_gold_file_with_one_id_twice_is_one_error(tmp_path):
    """Predictions are kept by id: two charts with one id would be one chart's row read twice."""
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps({"image": f"{d}/a.png", "table": "TITLE | "}) + "\n"
                                                 for d in ("x", "y")))
    with pytest.raises(UserInputError, match="line 2: id 'a' is on line 1 too"):
        evaluate_chart_set(tmp_path, progress=False, expert=NeverCalled())


def test_cli_rerun_skips_the_charts_done_shows_progress_and_refuses_another_expert(three_charts, tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    def vmed(*args):
        return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "eval", "charts", "--set",
                               str(three_charts), "--out", str(out), *args], cwd=REPO, capture_output=True,
                              text=True, timeout=120)

    out = tmp_path / "facts.json"
    first = vmed("--expert", "image-facts", "--limit", "2", "--quiet")
    assert first.returncode == 0, first.stderr
    second = vmed("--expert", "image-facts")
    assert second.returncode == 0, second.stderr
    assert "2/3" in second.stderr and "3/3" in second.stderr  # the bar starts at the charts already done
    assert "image-facts on 3 charts" in second.stdout and json.loads(out.read_text())["charts_this_run"] == 1
    refused = vmed("--expert", "dicom", "--quiet")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [f"error: {out} holds predictions from a different setup (expert, "
                                                   "expert_code changed); use another --out or --restart to start over"]
    restarted = vmed("--expert", "dicom", "--quiet", "--restart")
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(out.read_text())["charts_this_run"] == 3


def test_predictions_an_earlier_version_wrote_are_not_taken_as_done(three_charts, tmp_path):
    """`vmed eval charts` wrote SET/metrics_chart.predictions.jsonl before it resumed, with no run file: a rerun
    after the update took those charts as done (no chart read, the old code's scores) instead of saying so."""
    out = tmp_path / "m.json"
    evaluate_chart_set(three_charts, out=out, progress=False, expert=Guess())  # as the earlier version left it:
    out.with_suffix(".run.json").unlink()  # predictions, no run file
    with pytest.raises(UserInputError, match=r"m.json holds predictions without a record of the setup that wrote "
                                              r"them \(m.run.json is missing"):
        evaluate_chart_set(three_charts, out=out, progress=False, expert=Guess(), resume=True)
    again = Guess()
    assert evaluate_chart_set(three_charts, out=out, progress=False, expert=again)["charts_this_run"] == 3  # --restart
    assert again.calls == 4


def test_opencqa_leaves_out_chartqa_near_duplicates_then_splits_by_file_stem(tmp_path):
    """printed_set: a chart whose thumbnail matches a chartqa_dev picture is dropped (and only counted); the rest is
    split by split_of; printed scores come out per chart and by detected type."""
    from types import SimpleNamespace

    from PIL import Image, ImageDraw
    from test_data_sources_opencqa import make_opencqa

    from visual_med_alpaca.eval.charts import evaluate_printed_set, format_printed_metrics, printed_set, split_of

    folder = make_opencqa(tmp_path, {str(i): ("T", [("52", (5, 5, 20, 15)), ("Yes", (5, 30, 20, 40))]) for i in range(8)})
    (tmp_path / "chartqa_dev" / "png").mkdir(parents=True)
    for i in range(8):  # each chart its own picture; chart 3's is also in chartqa_dev
        image = Image.new("RGB", (64, 48), "white")
        ImageDraw.Draw(image).rectangle((i * 6, 0, i * 6 + 10, 47), fill="black")
        image.save(folder / "chart_images" / f"{i}.png")
    Image.open(folder / "chart_images" / "3.png").save(tmp_path / "chartqa_dev" / "png" / "3x.png")
    dev, dropped = printed_set("dev", tmp_path)
    report, _ = printed_set("report", tmp_path)
    assert dropped == 1 and len(dev) + len(report) == 7 and "3" not in {c.id for c in dev + report}
    assert all(split_of({"image": c.image.name}) == "dev" for c in dev)
    with pytest.raises(UserInputError, match="dev or report"):
        printed_set("all", tmp_path)

    class Reads:
        calls = 0

        def read(self, image):
            Reads.calls += 1
            return SimpleNamespace(text="TITLE | T <0x0A> Answer | Share <0x0A> Yes | 52", kind="bar")

    m = evaluate_printed_set("dev", tmp_path / "out" / "m.json", expert=Reads(), data=tmp_path, progress=False)
    assert (m["n"], m["value_f1"], m["label_recall"], m["unread"]) == (len(dev), 1.0, 1.0, 0)
    assert Reads.calls == len(dev) + 1  # one warm-up read, untimed, as the chartqa evaluation
    assert "1 near-duplicates of chartqa_dev dropped" in format_printed_metrics(m)[0]


def test_saved_opencqa_predictions_are_scored_again_with_this_metric(tmp_path):
    """rescore_printed: saved rows (the tables as read) against the folder's boxes; a row of another set is one error."""
    from test_data_sources_opencqa import make_opencqa

    from visual_med_alpaca.eval.charts import rescore_printed

    make_opencqa(tmp_path, {"1": ("T", [("Yes 52", (5, 5, 40, 15)), ("No 40", (5, 30, 40, 40))])})
    rows = [{"image": "1.png", "split": "dev", "detected": "hbar", "failed": False, "seconds": 0.5, "value_f1": 0.0,
             "prediction": "TITLE | T <0x0A> Answer | Share <0x0A> Yes | 52 <0x0A> No | 40"}]
    m = rescore_printed(rows, tmp_path)
    assert (m["n"], m["value_f1"], m["label_recall"], m["unread"]) == (1, 1.0, 1.0, 0)
    with pytest.raises(UserInputError, match="not one of OpenCQA"):
        rescore_printed([{**rows[0], "image": "other.png"}], tmp_path)
