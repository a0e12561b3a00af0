"""The review screen driven through a pipe, as a user would with keys, and resuming after quitting."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

from visual_med_alpaca.data.store import read_jsonl


def _kept(workdir, n=4):
    workdir.mkdir(parents=True, exist_ok=True)
    records = [{"id": f"t:{i}", "source": "t", "instruction": f"Question {i}?", "input": "", "output": f"Answer {i}.",
                "topic": ""} for i in range(n)]
    (workdir / "kept.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def _review(workdir, keys, *extra):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", "data", "review", "--workdir", str(workdir),
                           *extra], cwd=REPO, input=keys, capture_output=True, text=True, timeout=60)


def test_accept_reject_edit_then_quit_and_resume(tmp_path):
    _kept(tmp_path)
    first = _review(tmp_path, "a\nx\nr\ne\nA better answer\non two lines.\n.\nq\n")
    assert first.returncode == 0, first.stderr
    assert "unknown key" in first.stdout  # 'x' is refused, the same record is asked again
    decisions = list(read_jsonl(tmp_path / "reviews.jsonl"))
    assert decisions == [{"id": "t:0", "decision": "accept"}, {"id": "t:1", "decision": "reject"},
                         {"id": "t:2", "decision": "edit", "output": "A better answer\non two lines."}]
    second = _review(tmp_path, "s\n")  # resumes at t:3; skip records nothing; end of input quits
    assert "1 to review (3 already done)" in second.stdout
    assert len(list(read_jsonl(tmp_path / "reviews.jsonl"))) == 3
    assert json.loads(second.stdout[second.stdout.index("{"):])["remaining"] == 1


def test_the_screen_shows_the_keys_and_the_record_text_as_written(tmp_path):
    """The key help reads "[a]ccept ..." (rich took "[a]" for markup and showed "ccept  dit  eject"), and a record's
    own square brackets are shown, not read as markup."""
    _kept(tmp_path, n=1)
    rows = [json.loads(line) for line in (tmp_path / "kept.jsonl").read_text().splitlines()]
    rows[0]["topic"] = "[bold]x[/bold]"
    (tmp_path / "kept.jsonl").write_text(json.dumps(rows[0]) + "\n")
    result = _review(tmp_path, "q\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[a]ccept  [e]dit  [r]eject  [s]kip  [q]uit") == 2  # the first line and the panel
    assert "([bold]x[/bold])" in result.stdout


def test_sample_reviews_a_seeded_subset(tmp_path):
    _kept(tmp_path, n=10)
    result = _review(tmp_path, "a\na\na\n", "--sample", "3", "--seed", "7")
    assert result.returncode == 0 and "3 to review" in result.stdout
    assert len(list(read_jsonl(tmp_path / "reviews.jsonl"))) == 3


def test_review_without_kept_file_is_one_clear_error(tmp_path):
    result = _review(tmp_path, "")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "vmed data filter" in result.stderr
    assert "Traceback" not in result.stderr


def test_single_key_presses_on_a_real_terminal(tmp_path):
    pexpect = __import__("pytest").importorskip("pexpect")
    _kept(tmp_path, n=3)
    child = pexpect.spawn(sys.executable, ["-m", "visual_med_alpaca.cli", "data", "review", "--workdir", str(tmp_path)],
                          cwd=str(REPO), encoding="utf-8", timeout=30, dimensions=(40, 120))
    child.expect("Question 0")
    child.send("r")  # no Enter: one key press decides
    child.expect("Question 1")
    child.send("a")
    child.expect("Question 2")
    child.send("q")
    child.expect(pexpect.EOF)
    assert list(read_jsonl(tmp_path / "reviews.jsonl")) == [{"id": "t:0", "decision": "reject"},
                                                            {"id": "t:1", "decision": "accept"}]
