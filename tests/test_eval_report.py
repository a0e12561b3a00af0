"""`vmed eval report` on metrics files, and the LLM judge's parsing and relative score."""

import json
import re

import pytest

from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.eval.judge import judge_file, parse_scores
from visual_med_alpaca.eval.report import write_report


def _metrics(folder, benchmark, metrics, **extra):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({
        "benchmark": benchmark, "subset": None, "n_scored": 10, "mode": "generate", "model": "tiny",
        "experts_used": {"image-facts": 10}, "metrics": metrics, **extra}))


def test_report_table_and_chart(tmp_path):
    _metrics(tmp_path / "runs" / "vqa", "vqa-rad", {"closed_accuracy": 55.5, "open_recall": 12.25, "exact_match": 1.0,
                                                    "token_f1": 5.0})
    _metrics(tmp_path / "runs" / "pub", "pubmedqa", {"accuracy": 40.0, "macro_f1": 30.0, "majority_baseline": 55.2})
    _metrics(tmp_path / "runs" / "dev", "vqa-rad", {"closed_accuracy": 60.0, "open_recall": 20.0, "exact_match": 1.0,
                                                    "token_f1": 5.0}, subset="train-dev")
    table, png = write_report([tmp_path / "runs"], tmp_path / "out" / "report.md", tmp_path / "out" / "report.png")
    lines = table.splitlines()
    assert "| vqa | vqa-rad | 10 | tiny | generate | image-facts x10 | closed_accuracy | 55.50 | 81.98 |" in lines
    assert "| vqa | vqa-rad | 10 | tiny | generate | image-facts x10 | open_recall | 12.25 | 64.39 |" in lines
    assert any(line.startswith("| pub | pubmedqa |") and line.endswith("| 40.00 | - |") for line in lines)
    assert "| dev | vqa-rad (train-dev, dev) | 10 | tiny | generate | image-facts x10 | closed_accuracy | 60.00 | - |" in lines
    assert "arXiv:2306.00890" in table
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(UserInputError, match="no metrics.json"):
        write_report([tmp_path / "out"], tmp_path / "x.md", tmp_path / "x.png")


def test_report_on_a_folder_passes_over_other_tools_metrics_json(tmp_path):
    """docs/results holds training runs' metrics.json too (vlm-cpu/); `vmed eval report docs/results`, the command
    docs/benchmarks.md gives, used to stop at the first of them. Named explicitly, such a file is still an error."""
    _metrics(tmp_path / "runs" / "pub", "pubmedqa", {"accuracy": 40.0, "macro_f1": 30.0, "majority_baseline": 55.2})
    training = tmp_path / "runs" / "vlm-cpu" / "metrics.json"
    training.parent.mkdir()
    training.write_text(json.dumps({"stages": {"align": {"steps": 12}}}))
    table, _ = write_report([tmp_path / "runs"], tmp_path / "out" / "report.md", tmp_path / "out" / "report.png")
    assert [line for line in table.splitlines() if line.startswith("| pub | pubmedqa |")]
    with pytest.raises(UserInputError, match="vlm-cpu/metrics.json is not a metrics.json written by `vmed eval`"):
        write_report([training], tmp_path / "x.md", tmp_path / "x.png")
    with pytest.raises(UserInputError, match="no metrics.json written by `vmed eval`"):
        write_report([training.parent], tmp_path / "x.md", tmp_path / "x.png")


def test_a_file_reached_twice_is_one_run_in_the_table(tmp_path):
    """`vmed eval report runs runs/pub` (or a folder and a file in it) listed the run's rows twice."""
    _metrics(tmp_path / "runs" / "pub", "pubmedqa", {"accuracy": 40.0, "macro_f1": 30.0, "majority_baseline": 55.2})
    named = [tmp_path / "runs", tmp_path / "runs" / "pub", tmp_path / "runs" / "pub" / "metrics.json"]
    table, _ = write_report(named, tmp_path / "out" / "report.md", tmp_path / "out" / "report.png")
    assert len([line for line in table.splitlines() if line.startswith("| pub | pubmedqa |")]) == 3  # 3 metrics


@pytest.mark.parametrize("metrics", [{"accuracy": "forty", "macro_f1": 30.0}, ["accuracy", 40.0], {"accuracy": True}])
def test_a_hand_edited_metrics_file_is_one_error_not_a_traceback(tmp_path, metrics):
    """A metrics.json with the right keys but a word for a number (or `metrics` not a mapping) ended in a
    TypeError/AttributeError traceback while the table was written; named, it is one error; in a folder, passed over."""
    _metrics(tmp_path / "runs" / "pub", "pubmedqa", {"accuracy": 40.0, "macro_f1": 30.0, "majority_baseline": 55.2})
    _metrics(tmp_path / "runs" / "edited", "pubmedqa", metrics)
    edited = tmp_path / "runs" / "edited" / "metrics.json"
    with pytest.raises(UserInputError, match="edited/metrics.json is not a metrics.json written by `vmed eval`"):
        write_report([edited], tmp_path / "x.md", tmp_path / "x.png")
    table, _ = write_report([tmp_path / "runs"], tmp_path / "out" / "report.md", tmp_path / "out" / "report.png")
    assert [line for line in table.splitlines() if line.startswith("| pub | pubmedqa |")]
    assert not [line for line in table.splitlines() if line.startswith("| edited |")]


def test_a_chart_name_that_is_not_a_png_file_is_one_error(tmp_path):
    """`--chart c.txt` ended in matplotlib's ValueError traceback; `--chart name` (or a folder) wrote name.png but
    said "wrote name"; `--out report.png` wrote the table and then the chart over it."""
    _metrics(tmp_path / "runs" / "pub", "pubmedqa", {"accuracy": 40.0, "macro_f1": 30.0, "majority_baseline": 55.2})
    for chart in (tmp_path / "c.txt", tmp_path / "chart", tmp_path):
        with pytest.raises(UserInputError, match=f"--chart {chart}: the bar chart is a PNG file"):
            write_report([tmp_path / "runs"], tmp_path / "r.md", chart)
    with pytest.raises(UserInputError, match="--out and --chart both name"):
        write_report([tmp_path / "runs"], tmp_path / "r.png", tmp_path / "r.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # refused before anything was written


@pytest.mark.parametrize("reply, expected", [
    ("8 6\nAssistant 1 is more precise.", (8.0, 6.0)),
    ("7, 9.5", (7.0, 9.5)),
    ("Scores: 8 and 6", None),  # not the asked-for format
    ("11 3", None),  # out of range
    ("", None),
])
def test_parse_scores(reply, expected):
    assert parse_scores(reply) == expected


class FakeJudge:
    """Stands in for the OpenAI-compatible judge: replies by whether the candidate repeats the reference."""

    name = "fake-judge"

    def __init__(self):
        self.prompts = []

    def stream(self, prompt, settings):
        self.prompts.append(prompt)
        candidate = prompt.split("[Assistant 2]\n")[1].split("\n[End of Assistant 2]")[0]
        yield "8 8\nsame" if candidate == "right lung" else "8 4\nworse" if candidate else "nonsense"


def test_judge_relative_score_and_resume(tmp_path):
    predictions = tmp_path / "predictions.jsonl"
    rows = [{"id": "a", "question": "where?", "reference": "right lung", "prediction": "right lung"},
            {"id": "b", "question": "where?", "reference": "right lung", "prediction": "the liver"},
            {"id": "c", "question": "yes?", "reference": "yes", "choice": "yes", "option_logprobs": {}}]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    judge = FakeJudge()
    summary = judge_file(predictions, judge, tmp_path / "judged.jsonl")
    assert len(judge.prompts) == 2  # the log-likelihood record has no answer to judge
    assert "[Question]\nwhere?" in judge.prompts[0] and "[Assistant 1]\nright lung" in judge.prompts[0]
    assert summary["n_parsed"] == 2 and summary["reference_mean"] == 8.0 and summary["candidate_mean"] == 6.0
    assert summary["relative_score"] == 75.0
    again = FakeJudge()
    assert judge_file(predictions, again, tmp_path / "judged.jsonl")["relative_score"] == 75.0
    assert again.prompts == []  # everything was judged already
    assert json.loads((tmp_path / "judge_metrics.json").read_text())["relative_score"] == 75.0


def test_judge_refuses_an_unusable_prompt_or_out_before_judging(tmp_path):
    """`vmed eval judge --prompt` missing, not UTF-8 or with an unknown {placeholder} / a lone brace, and an --out
    in a missing folder, were tracebacks (FileNotFoundError, UnicodeDecodeError, KeyError at the first answer):
    each is one UserInputError now, before the judge is asked anything."""
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(json.dumps({"id": "a", "question": "q", "reference": "r", "prediction": "p"}) + "\n")
    (tmp_path / "latin1.txt").write_bytes("Note the caf\xe9 {question}".encode("latin-1"))
    (tmp_path / "unknown.txt").write_text("Rate {question} against {answer}")
    (tmp_path / "brace.txt").write_text("Rate {question} {")
    for name, message in (("missing.txt", "judge prompt not found"), ("latin1.txt", "is not UTF-8 text"),
                          ("unknown.txt", "an unknown placeholder {answer}"), ("brace.txt", "a stray brace"),
                          (".", "is a folder")):
        judge = FakeJudge()
        with pytest.raises(UserInputError, match=re.escape(message)):
            judge_file(predictions, judge, tmp_path / "judged.jsonl", tmp_path / name)
        assert judge.prompts == []
    out = tmp_path / "new" / "folder" / "judged.jsonl"
    assert judge_file(predictions, FakeJudge(), out)["n_judged"] == 1 and out.is_file()


class BabblingJudge(FakeJudge):
    """A judge too small to follow the format (Gemma-270M gave 0 of 20 parsable replies)."""

    def stream(self, prompt, settings):
        self.prompts.append(prompt)
        yield "The answer is about the lungs."


def test_a_judge_that_never_gives_scores_is_an_error_and_a_rerun_asks_again(tmp_path):
    """It exited 0 with n_parsed 0 and no relative score, and a rerun with a capable judge skipped those answers."""
    from visual_med_alpaca.errors import BackendError

    predictions = tmp_path / "predictions.jsonl"
    rows = [{"id": "a", "question": "where?", "reference": "right lung", "prediction": "right lung"},
            {"id": "b", "question": "where?", "reference": "right lung", "prediction": "the liver"}]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(BackendError, match="no scores in the asked format in any of 2 replies"):
        judge_file(predictions, BabblingJudge(), tmp_path / "judged.jsonl")
    assert json.loads((tmp_path / "judge_metrics.json").read_text())["n_parsed"] == 0  # written, not lost
    capable = FakeJudge()
    assert judge_file(predictions, capable, tmp_path / "judged.jsonl")["relative_score"] == 75.0
    assert len(capable.prompts) == 2  # the unscored answers were asked again


@pytest.mark.parametrize("limit", ["0", "-2"])
def test_judge_limit_below_one_is_refused(tmp_path, limit):
    """`vmed eval judge --limit 0` judged every answer and `--limit -2` all but the last two (a slice), exit 0."""
    import subprocess
    import sys

    from conftest import REPO

    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text('{"id": "a", "question": "q", "reference": "r", "prediction": "p"}\n')
    result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "eval", "judge", str(predictions),
                             "--base-url", "http://127.0.0.1:9/v1", "--limit", limit, "-o", str(tmp_path / "j.jsonl")],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "'--limit'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "j.jsonl").exists()
