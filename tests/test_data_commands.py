"""`vmed data` end to end through the CLI on tiny sources: collect → filter → balance → export, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO


def _vmed(*args, env=None):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "data", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)


def _workdir(tmp_path, files: dict[str, str] | None = None):
    """A `--workdir` folder holding `files` (name -> text)."""
    work = tmp_path / "work"
    work.mkdir()
    for name, text in (files or {}).items():
        (work / name).write_text(text)
    return work


def _one_error(work, *args, prefix="error: "):
    """The one error line a refused `vmed data` step prints (exit 2, nothing on stdout), less `prefix`."""
    result = _vmed(*args, "--workdir", str(work))
    assert result.returncode == 2 and result.stdout == "", (args, result.returncode, result.stdout)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), (args, result.stderr)
    return lines[0].removeprefix(prefix)


def test_the_shipped_recipe_reads_the_data_folder_vmed_data_dir_names(tmp_path):
    """docs/data.md: `collect` reads --data-dir, else $VMED_DATA_DIR, else ../shared/data, with the recipe too
    (configs/data.yaml named ../shared/data itself, so `-c configs/data.yaml` ignored $VMED_DATA_DIR)."""
    import os

    data = tmp_path / "data" / "medical_meadow"
    data.mkdir(parents=True)
    (data / "medical_meadow_small.json").write_text(json.dumps(
        [{"instruction": "Answer this question truthfully", "input": "What is asthma?", "output": "An airway disease."}]))
    env = {**os.environ, "VMED_DATA_DIR": str(tmp_path / "data")}
    result = _vmed("collect", "-c", "configs/data.yaml", "--source", "medical_meadow", "--workdir",
                   str(tmp_path / "work"), env=env)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["source"] for line in (tmp_path / "work" / "questions.jsonl").read_text().splitlines()] \
        == ["medical_meadow"]


def test_no_llm_path_end_to_end(tmp_path):
    data = tmp_path / "data"
    (data / "medical_meadow").mkdir(parents=True)
    answers = {"What causes jaundice?": "A build-up of bilirubin, often from liver disease or blocked bile ducts.",
               "How is angina treated?": "With nitrates for attacks, and statins, aspirin and beta blockers to prevent them.",
               "What is asthma?": "A long-term disease in which the airways narrow and swell, causing wheeze and cough."}
    items = [{"instruction": "Answer this question truthfully", "input": q, "output": a} for q, a in answers.items()]
    items.append(dict(items[0]))  # an exact duplicate
    items.append({"instruction": "Answer this question truthfully", "input": "What is X?", "output": ""})
    (data / "medical_meadow" / "medical_meadow_small.json").write_text(json.dumps(items))
    work = tmp_path / "work"
    steps = [
        ("collect", "--data-root", str(data), "--source", "medical_meadow"),
        ("filter", "--no-progress"),
        ("balance", "--cap", "medical_meadow=2", "--seed", "1"),
        ("export",),
    ]
    for step in steps:
        result = _vmed(*step, "--workdir", str(work))
        assert result.returncode == 0, (step, result.stderr)
    exported = json.loads((work / "med_instruct.json").read_text())
    assert len(exported) == 2
    dropped = [json.loads(line) for line in (work / "dropped.jsonl").read_text().splitlines()]
    assert sorted(r["drop_reason"] for r in dropped) == ["empty", "near_duplicate"]
    stats = json.loads((work / "stats.json").read_text())
    assert stats["per_stage"]["collected"] == {"medical_meadow": 5}
    assert stats["per_stage"]["kept by filter"] == {"medical_meadow": 3}
    assert (work / "lengths.png").exists()


def test_bad_inputs_are_one_line_errors(tmp_path):
    cases = [
        ("filter", "--workdir", str(tmp_path)),
        ("collect", "--workdir", str(tmp_path), "--data-root", str(tmp_path / "none")),
        ("collect", "--workdir", str(tmp_path), "--source", "nosuch"),
        ("balance", "--workdir", str(tmp_path), "--set", "balance.sed=1"),
        ("synthesize", "--workdir", str(tmp_path), "--base-url", "http://127.0.0.1:9/v1"),
        ("filter", str(tmp_path), "--workdir", str(tmp_path / "f")),  # a folder for an input file
    ]
    for case in cases:
        result = _vmed(*case)
        assert result.returncode == 2, (case, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (case, result.stderr)


def test_a_step_run_before_its_input_exists_names_the_step_to_run_first(tmp_path):
    for step, missing, earlier in (("review", "kept.jsonl", "filter"), ("balance", "kept.jsonl", "filter"),
                                   ("export", "balanced.jsonl", "balance")):
        result = _vmed(step, "--workdir", str(tmp_path))
        assert result.returncode == 2, (step, result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"error: {tmp_path / missing} not found: run `vmed data {earlier}` first"], (step, result.stderr)


def test_a_bad_recipe_key_is_reported_before_any_data_check(tmp_path):
    """`data filter` on an empty workdir said "nothing to filter" for `--set filter.bogus=1`, and `caption-instruct`
    named the missing MedPix folder (its recipe was read only with --base-url): the recipe comes first everywhere."""
    missing = tmp_path / "no-data"
    for step in ("collect", "synthesize", "filter", "balance", "caption-instruct"):
        extra = ("--data-dir", str(missing)) if step in ("collect", "caption-instruct") else ()
        result = _vmed(step, "--workdir", str(tmp_path), *extra, "--set", "filter.bogus=1")
        assert result.returncode == 2, (step, result.stderr)
        assert result.stderr.strip().splitlines() == [
            "error: invalid configuration: filter.bogus: Extra inputs are not permitted"], (step, result.stderr)


def test_a_filter_that_keeps_nothing_and_an_empty_export_are_one_error_not_empty_files(tmp_path):
    """`data filter` keeping no record (or reading none) and `data export` of an empty balanced.jsonl exited 0 and
    wrote an empty kept.jsonl / an empty med_instruct.json (`[]`). Each is one error line saying what was read and
    why nothing is left, exit 2; dropped.jsonl, the work a rerun resumes from, stays."""
    work = _workdir(tmp_path, {"questions.jsonl":
                               '{"id": "a:1", "source": "a", "instruction": "What is X?", "output": ""}\n'
                               '{"id": "a:2", "source": "a", "instruction": "What is Y?", '
                               '"output": "As an AI language model, I cannot."}\n'})

    def one_error(*args):
        return "error: " + _one_error(work, *args)

    for _ in range(2):  # the rerun skips what dropped.jsonl holds and says the same
        assert one_error("filter", "--no-progress") == (
            f"error: the filter kept none of the 2 records read from {work / 'questions.jsonl'} "
            f"({work / 'dropped.jsonl'}: empty 1, refusal 1; a rerun skips those, so delete it to filter them again "
            f"with another recipe)")
        assert not (work / "kept.jsonl").exists() and len((work / "dropped.jsonl").read_text().splitlines()) == 2
    (tmp_path / "none.jsonl").write_text("")
    assert one_error("filter", str(tmp_path / "none.jsonl"), "--no-progress") == (
        f"error: nothing to filter: no records read from {tmp_path / 'none.jsonl'}")

    (work / "kept.jsonl").write_text('{"id": "a:3", "source": "a", "instruction": "What is Z?", "output": "Z is Z."}\n')
    (work / "balanced.jsonl").write_text("")  # as `vmed data balance` choosing none wrote it before session 34
    assert one_error("export") == (
        f"error: nothing to export: {work / 'balanced.jsonl'} holds no records (the caps chose none of "
        f"the 1 record of {work / 'kept.jsonl'}: 0 rejected in review, the rest over the caps); "
        f"{work / 'med_instruct.json'} not written")
    assert not (work / "med_instruct.json").exists() and not (work / "stats.json").exists()


def test_a_balance_that_chooses_nothing_is_one_error_not_an_empty_balanced_file(tmp_path):
    """`data balance` wrote an empty balanced.jsonl and exited 0 when nothing was left to balance (an empty
    kept.jsonl, every record rejected in review, caps that choose none); `data export` then refused it. Now balance
    refuses, exit 2, saying why in export's words; an earlier run's balanced.jsonl is left as it was, and said so."""
    work = _workdir(tmp_path)
    kept, balanced = work / "kept.jsonl", work / "balanced.jsonl"

    def one_error(*args):
        return _one_error(work, "balance", *args, prefix="error: nothing to balance: ")

    kept.write_text("")
    assert one_error() == f"{kept} holds no records; {balanced} not written"
    kept.write_text('{"id": "a:1", "source": "a", "instruction": "What is X?", "output": "X is X."}\n'
                    '{"id": "a:2", "source": "a", "instruction": "What is Y?", "output": "Y is Y."}\n')
    assert one_error("--cap", "a=0") == (f"the caps chose none of the 2 records of {kept}: 0 rejected in review, "
                                         f"the rest over the caps; {balanced} not written")
    (work / "reviews.jsonl").write_text('{"id": "a:1", "decision": "reject"}\n')
    assert one_error("--cap", "a=0") == (f"the caps chose none of the 2 records of {kept}: 1 rejected in "
                                         f"review, the rest over the caps; {balanced} not written")
    assert not balanced.exists()
    assert _vmed("balance", "--workdir", str(work)).returncode == 0 and len(balanced.read_text().splitlines()) == 1
    (work / "reviews.jsonl").write_text('{"id": "a:1", "decision": "reject"}\n{"id": "a:2", "decision": "reject"}\n')
    assert one_error() == (f"review rejected all 2 records of {kept}; {balanced} not written (the balanced.jsonl "
                           f"there is an earlier run's, left as it was)")
    assert len(balanced.read_text().splitlines()) == 1


def test_review_and_balance_after_a_filter_that_kept_nothing_say_so_not_run_the_filter_first(tmp_path):
    """A filter that keeps no record writes no kept.jsonl (it is refused); `data review` and `data balance` then said
    "kept.jsonl not found: run `vmed data filter` first", though the filter had run. They say what dropped.jsonl,
    which it left, holds."""
    work = _workdir(tmp_path, {"questions.jsonl":
                               '{"id": "a:1", "source": "a", "instruction": "What is X?", "output": ""}\n'
                               '{"id": "a:2", "source": "a", "instruction": "What is Y?", "output": ""}\n'})
    assert _vmed("filter", "--no-progress", "--workdir", str(work)).returncode == 2
    for step in ("balance", "review"):
        result = _vmed(step, "--workdir", str(work))
        assert result.returncode == 2 and result.stdout == "", (step, result.stdout)
        assert result.stderr.strip().splitlines() == [
            f"error: {work / 'kept.jsonl'} not found: the filter kept none of the 2 records it read "
            f"({work / 'dropped.jsonl'}: empty 2; a rerun skips those, so delete it to filter them again with another "
            f"recipe)"], (step, result.stderr)


def test_a_cap_of_0_means_none_of_that_source_in_both_spellings(tmp_path):
    """`--cap-per-source 0` was refused (invalid configuration: ... greater than or equal to 1) while `--cap a=0` was
    taken as "none of a". 0 is "none of this source" in both; a negative cap is one error line in both."""
    work = _workdir(tmp_path, {"kept.jsonl":
                               '{"id": "a:1", "source": "a", "instruction": "What is X?", "output": "X is X."}\n'
                               '{"id": "b:1", "source": "b", "instruction": "What is Y?", "output": "Y is Y."}\n'})

    def sources(*args):
        result = _vmed("balance", *args, "--workdir", str(work))
        assert result.returncode == 0, (args, result.stderr)
        return [json.loads(line)["source"] for line in (work / "balanced.jsonl").read_text().splitlines()]

    assert sources("--cap", "a=0") == ["b"]
    assert sources("--cap-per-source", "0", "--cap", "a=1") == ["a"]
    assert sources("--cap-per-source", "0", "--cap", "b=5") == ["b"]
    none = _vmed("balance", "--cap-per-source", "0", "--workdir", str(work))
    assert none.returncode == 2 and none.stderr.startswith("error: nothing to balance: the caps chose none of the 2")
    for args, message in [(("--cap-per-source", "-1"), "error: invalid configuration: balance.default_cap_per_source: "
                           "Input should be greater than or equal to 0"),
                          (("--cap", "a=-1"), "error: --cap 'a=-1' must look like SOURCE=N, N a record count (0: none "
                           "of SOURCE)")]:
        result = _vmed("balance", *args, "--workdir", str(work))
        assert result.returncode == 2 and result.stderr.strip() == message, (args, result.stderr)


def test_a_topic_cap_of_0_is_refused_saying_why(tmp_path):
    """A source cap of 0 means "none of this source"; a topic cap of 0 would mean none of any topic, so nothing chosen.
    It is refused in one line that says so and what to do (it said only "Input should be greater than or equal to
    1"), in both spellings; a topic cap of 1 is taken."""
    work = _workdir(tmp_path, {"kept.jsonl":
                               '{"id": "a:1", "source": "a", "instruction": "What is X?", "output": "X is X.", '
                               '"topic": "x"}\n'
                               '{"id": "a:2", "source": "a", "instruction": "What is Y?", "output": "Y is Y.", '
                               '"topic": "x"}\n'})
    refused = ("invalid configuration: balance.cap_per_topic: a topic cap must be 1 or more, not 0 (0 would keep no "
               "record of any topic; leave --cap-per-topic out for no topic cap)")
    assert _one_error(work, "balance", "--cap-per-topic", "0") == refused
    assert _one_error(work, "balance", "--set", "balance.cap_per_topic=0") == refused
    assert _one_error(work, "balance", "--cap-per-topic", "-2") == refused.replace(
        "not 0 (0 would keep no record of any topic", "not -2 (it counts records")
    assert not (work / "balanced.jsonl").exists()
    taken = _vmed("balance", "--cap-per-topic", "1", "--workdir", str(work))
    assert taken.returncode == 0, taken.stderr
    assert len((work / "balanced.jsonl").read_text().splitlines()) == 1
