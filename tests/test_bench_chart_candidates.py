"""bench/chart_candidates.py's decision rule (R1-R4) on made-up per-chart scores."""

import importlib.util

import pytest

from conftest import REPO


def _module():
    spec = importlib.util.spec_from_file_location("chart_candidates", REPO / "bench" / "chart_candidates.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _decide():
    return _module().decide


def _sets(**changed):
    sets = {name: {f"{name}{i}": 0.5 for i in range(10)} for name in ("foldA", "foldB", "plain", "studio", "survey", "ends")}
    for name, (chart, score) in changed.items():
        sets[name][f"{name}{chart}"] = score
    return sets


def test_the_survey_pool_alone_adopts_only_when_no_fold_goes_down():
    decide, base = _decide(), _sets()
    assert decide(_sets(survey=(0, 0.9)), base)[0]
    adopt, _, failed = decide({**_sets(survey=(0, 0.9)), "foldA": _sets(foldA=(1, 0.45))["foldA"]}, base)
    assert not adopt and failed == ["R4"]
    assert decide({**_sets(plain=(0, 0.9)), "foldA": _sets(foldA=(1, 0.45))["foldA"]}, base)[0]  # R4: survey only
    assert decide(_sets(survey=(0, 0.6), studio=(0, 0.1)), base)[2] == ["R3"]  # +0.01 and -0.04: the sum falls


def test_a_pool_the_base_was_not_scored_on_counts_as_unchanged():
    decide = _decide()
    base = {k: v for k, v in _sets().items() if k != "survey"}
    adopt, delta, failed = decide(_sets(plain=(0, 0.9)), base)
    assert adopt and delta["survey"] == 0.0
    assert decide(_sets(survey=(0, 0.9)), base)[2] == ["R2", "R3"]


def test_more_unread_dev_charts_reject_a_candidate():
    decide = _decide()
    better = _sets(plain=(0, 0.9))
    assert decide(better, _sets(), 1, 0)[2] == ["R5"]
    assert decide(better, _sets(), 0, 0)[0] and decide(better, _sets(), None, 0)[0]


def test_the_ends_pool_with_one_fold_adopts_only_when_no_other_set_goes_down():
    """R4e (round 17): a gain on the `ends` pool (and one fold) is adopted iff the other fold and every other pool are
    unchanged or up."""
    decide, base = _decide(), _sets()
    assert decide(_sets(ends=(0, 0.9), foldB=(0, 0.9)), base)[0]
    assert decide(_sets(ends=(0, 0.9)), base)[0]
    for other in ("foldA", "plain", "studio", "survey"):
        adopt, _, failed = decide({**_sets(ends=(0, 0.9), foldB=(0, 0.9)), other: _sets(**{other: (1, 0.45)})[other]}, base)
        assert not adopt and "R4e" in failed, (other, failed)
    assert decide({**_sets(ends=(0, 0.9), plain=(0, 0.9)), "survey": _sets(survey=(1, 0.45))["survey"]}, base)[0]


def test_the_second_plain_pool_counts_like_the_first():
    """Round 23: `plain2` (fresh plain seeds) is a synthetic pool of its own: it alone adopts, it alone losing more
    than one chart's worth rejects, and it lifts R4's survey-only condition as `plain` does."""
    decide = _decide()
    base = {**_sets(), "plain2": {f"p{i}": 0.5 for i in range(10)}}
    assert decide({**_sets(), "plain2": {**base["plain2"], "p0": 0.9}}, base)[0]
    plain_up = {k: 1.0 for k in base["plain"]}  # +0.5 on plain, -0.15 on plain2: the sum rises, R1 alone rejects
    adopt, _, failed = decide({**_sets(), "plain": plain_up, "plain2": {k: 0.35 for k in base["plain2"]}}, base)
    assert not adopt and failed == ["R1"]
    survey_fold_down = {**_sets(survey=(0, 0.9)), "foldA": _sets(foldA=(1, 0.45))["foldA"]}
    assert decide({**survey_fold_down, "plain2": {**base["plain2"], "p0": 0.9}}, base)[0]
    assert decide({**survey_fold_down, "plain2": base["plain2"]}, base)[2] == ["R4"]


def test_the_second_survey_pool_counts_like_the_first():
    """Round 27: `survey2` (a fresh survey seed) is a set of its own: it alone adopts when no fold goes down, R4 holds
    for it as for `survey` (with no plain / studio / plain2 gain a fold going down rejects), and it alone losing more
    than one chart's worth rejects."""
    decide = _decide()
    base = {**_sets(), "survey2": {f"s{i}": 0.5 for i in range(10)}}
    up = {**base["survey2"], "s0": 0.9}
    assert decide({**_sets(), "survey2": up}, base)[0]
    fold_down = _sets(foldA=(1, 0.45))["foldA"]
    adopt, _, failed = decide({**_sets(), "foldA": fold_down, "survey2": up}, base)
    assert not adopt and failed == ["R4"]
    assert decide({**_sets(plain=(0, 0.9)), "foldA": fold_down, "survey2": up}, base)[0]
    plain_up = {k: 1.0 for k in base["plain"]}  # +0.5 on plain, -0.15 on survey2: the sum rises, R1 alone rejects
    adopt, _, failed = decide({**_sets(), "plain": plain_up, "survey2": {k: 0.35 for k in base["survey2"]}}, base)
    assert not adopt and failed == ["R1"]


def test_the_trend_pool_counts_like_the_ends_pool():
    """Round 40: `trend` (Pew trend charts, drawn after looking at dev charts of their kind) alone adopts (R2) only
    when no other set goes down (R4e); a plain gain lifts R4e."""
    decide = _decide()
    base = {**_sets(), "trend": {f"t{i}": 0.5 for i in range(10)}}
    up = {**base["trend"], "t0": 0.9}
    assert decide({**_sets(), "trend": up}, base)[0]
    adopt, _, failed = decide({**_sets(), "foldA": _sets(foldA=(1, 0.45))["foldA"], "trend": up}, base)
    assert not adopt and failed == ["R4e"]
    assert decide({**_sets(plain=(0, 0.9)), "foldA": _sets(foldA=(1, 0.45))["foldA"], "trend": up}, base)[0]
    adopt, _, failed = decide({**_sets(ends=(0, 0.9)), "trend": {k: 0.45 if k == "t1" else v for k, v in base["trend"].items()}}, base)
    assert not adopt and failed == ["R4e"]


def test_the_third_survey_pool_counts_like_the_first():
    """Round 28: `survey3` (a survey seed drawn for a confirmatory test) is a set of its own, counted like `survey`:
    it alone adopts, R4 holds for it, and it alone losing more than one chart's worth rejects."""
    decide = _decide()
    base = {**_sets(), "survey3": {f"t{i}": 0.5 for i in range(10)}}
    up = {**base["survey3"], "t0": 0.9}
    assert decide({**_sets(), "survey3": up}, base)[0]
    adopt, _, failed = decide({**_sets(), "foldA": _sets(foldA=(1, 0.45))["foldA"], "survey3": up}, base)
    assert not adopt and failed == ["R4"]
    plain_up = {k: 1.0 for k in base["plain"]}
    adopt, _, failed = decide({**_sets(), "plain": plain_up, "survey3": {k: 0.35 for k in base["survey3"]}}, base)
    assert not adopt and failed == ["R1"]


def test_unread_charts_are_counted_per_set(tmp_path, monkeypatch):
    """Round 28: the decide command counts unread (failed) charts per set, the dev half split into its two folds."""
    import json

    module = _module()
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "runs" / "chart_candidates" / "t"
    work.mkdir(parents=True)
    dev = [{"image": f"{i}.png", "failed": i < 3} for i in range(20)]
    (work / "chartqa_dev.predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dev))
    name = module.pool_name(*module.POOLS["survey3"][0])
    (work / f"{name}.predictions.jsonl").write_text('{"failed": true}\n{"failed": false}\n{"failed": true}\n')
    counts = module.unread_by_set("t")
    assert counts["foldA"] + counts["foldB"] == 3
    assert counts["foldA"] == sum(module.fold(r["image"]) == "foldA" for r in dev[:3])
    assert counts["survey3"] == 2 and "plain" not in counts


def test_deciding_against_a_tag_never_scored_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "bench" / "chart_candidates.py"), "decide", "new1", "base1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: no scores for new1 in runs/chart_candidates: run `score new1` first"]


def test_scoring_without_the_data_folder_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "bench" / "chart_candidates.py"), "score", "new1",
                           "--data-dir", str(tmp_path / "nowhere")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: data folder not found: {tmp_path / 'nowhere'} (pass --data-dir or set VMED_DATA_DIR to the folder "
        "holding vqa_rad/, medquad/, medpix2/, ...)"]
    assert not (tmp_path / "runs" / "chart_candidates" / "new1.json").exists()


@pytest.mark.parametrize("pool, rule, fold", [("portal", "R4p", "foldA"), ("pew", "R4w", "foldB"),
                                              ("kinds", "R4k", "foldA"), ("pewfig", "R4f", "foldB"),
                                              ("survey4", "R4p", "foldA"), ("portal2", "R4p", "foldB"),
                                              ("survey5", "R4p", "foldA")])
def test_a_pool_drawn_after_looking_adopts_alone_only_when_no_other_set_goes_down(pool, rule, fold):
    """Rounds 50 (R4p: `portal`, Statista portal charts), 53 (R4w: `pew`, Pew's stacked / diverging bars), 61
    (R4k: `kinds`, chart kinds no other generator draws, its candidate built on it) and 62 (R4f: `pewfig`, Pew's
    grouped bars, dot plots and grouped columns), each a weak witness: the pool alone adopts (R2) only when no other
    set goes down; a plain gain lifts the rule. Round 67's `survey4` / `portal2` and round 72's `survey5` (looked at
    per chart) count like `portal`, not like `survey`."""
    decide = _decide()
    base = {**_sets(), pool: {f"c{i}": 0.5 for i in range(10)}}
    up = {**base[pool], "c0": 0.9}
    assert decide({**_sets(), pool: up}, base)[0]
    adopt, _, failed = decide({**_sets(), fold: _sets(**{fold: (1, 0.45)})[fold], pool: up}, base)
    assert not adopt and failed == [rule]
    assert decide({**_sets(plain=(0, 0.9)), fold: _sets(**{fold: (1, 0.45)})[fold], pool: up}, base)[0]


def _printed(changed=(), unread=()):
    """An `opencqa` set of 10 charts (value F1 0.5, label recall 0.5), `changed` = [(chart, value_f1, label_recall)]."""
    charts = {f"o{i}.png": {"value_f1": 0.5, "value_recall": 0.5, "label_recall": 0.5, "unread": False} for i in range(10)}
    for chart, value, label in changed:
        charts[f"o{chart}.png"].update(value_f1=value, label_recall=label)
    for chart in unread:
        charts[f"o{chart}.png"].update(value_f1=0.0, label_recall=0.0, unread=True)
    return charts


def test_the_opencqa_set_witnesses_alone_and_its_losses_and_unread_charts_reject():
    """(session 39) OpenCQA's real Pew charts (printed-text proxy): a gain of one chart's worth in value F1 or label
    recall, or one unread chart fewer, adopts where nothing else moves (R2o); a loss of one chart's worth (1 / 10
    here) rejects (R1o); a chart newly unread rejects (R6o); with it the only witness, no other set may go down (R4o)."""
    decide, base = _decide(), {**_sets(), "opencqa": _printed()}
    assert decide({**_sets(), "opencqa": _printed([(0, 1.0, 0.5)])}, base)[0]  # value F1 up
    assert decide({**_sets(), "opencqa": _printed([(0, 0.5, 1.0)])}, base)[0]  # label recall up
    assert decide({**_sets(), "opencqa": _printed()}, base)[2] == ["R2", "R3"]  # nothing moved
    worse = [(0, 0.0, 0.5), (1, 0.0, 0.5)]  # -0.1 value F1: one chart's worth
    assert "R1o" in decide({**_sets(plain=(0, 0.9)), "opencqa": _printed(worse)}, base)[2]
    assert decide({**_sets(plain=(0, 0.9), studio=(0, 0.9)), "opencqa": _printed([(0, 0.0, 0.5)])}, base)[0]  # half a chart's worth
    assert "R6o" in decide({**_sets(plain=(0, 0.9)), "opencqa": _printed([(1, 1.0, 1.0)], unread=[0])}, base)[2]
    fewer_unread = {**base, "opencqa": _printed(unread=[0])}
    assert decide({**_sets(), "opencqa": _printed()}, fewer_unread)[0]  # an unread chart read
    adopt, _, failed = decide({**_sets(studio=(0, 0.45)), "opencqa": _printed([(0, 1.0, 1.0)])}, base)
    assert not adopt and failed == ["R4o"]
    assert decide({**_sets(plain=(0, 0.9), studio=(0, 0.45)), "opencqa": _printed([(0, 1.0, 1.0)])}, base)[0]


def test_opencqa_scored_with_two_metric_versions_is_not_compared():
    """A base scored with the printed-text metric's first version (no `version` field) and a candidate with the
    second are not decided against each other: the numbers mean different things."""
    decide = _decide()
    v2 = {name: {**chart, "version": 2} for name, chart in _printed().items()}
    with pytest.raises(ValueError, match="v\\[1\\] in the base and v\\[2\\]"):
        decide({**_sets(), "opencqa": v2}, {**_sets(), "opencqa": _printed()})
    assert decide({**_sets(plain=(0, 0.9)), "opencqa": v2}, {**_sets(), "opencqa": v2})[0]
