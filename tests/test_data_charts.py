"""`vmed data make-charts` (data/chart_commands.py, data/charts.py) as a user meets it: the generators it offers and
says it offers, and a rerun into a folder of charts."""

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from visual_med_alpaca.data import charts
from visual_med_alpaca.data.chart_commands import make_charts
from visual_med_alpaca.errors import UserInputError

REPO = Path(__file__).resolve().parents[1]
COUNTS = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine", 10: "Ten",
          11: "Eleven", 12: "Twelve"}


def vmed(*args):
    return subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=180)


def test_the_help_offers_every_generator_from_the_one_list():
    """The --generator help restated the names by hand (and what each drew, and how many were development pools)."""
    shown = inspect.signature(make_charts).parameters["generator"].default.help
    assert f"One of: {', '.join(charts.GENERATORS)} " in shown


@pytest.mark.parametrize("where", ["docs/charts.md", "visual_med_alpaca/data/charts.py"])
def test_the_docs_count_and_name_every_generator(where):
    """docs/charts.md and charts.py's docstring opened with "Two generators" when there were eight."""
    text = charts.__doc__ if where.endswith(".py") else (REPO / where).read_text()
    counted = re.findall(r"\b(\w+) generators\b", text)
    assert f"{COUNTS[len(charts.GENERATORS)]} generators" in text and not {"Two", "two"} & set(counted), counted
    for name in charts.GENERATORS:
        assert re.search(rf"(^- |, )`{name}`", text, re.M), name


def test_a_folder_of_another_generators_or_seeds_charts_is_refused_and_the_same_set_resumes(tmp_path, monkeypatch):
    """A rerun resumes by file name, so `--generator portal` into a folder of pew charts (or another --seed) kept the
    pew pictures and wrote portal's gold tables for them, exit 0. The folder says what it holds from the first chart
    on, so an interrupted set is protected too."""
    spec, draw = charts.GENERATORS["pew"]
    drawn = []

    def interrupted(chart, path):
        if drawn:
            raise KeyboardInterrupt
        drawn.append(path)
        return draw(chart, path)

    monkeypatch.setitem(charts.GENERATORS, "pew", (spec, interrupted))
    with pytest.raises(KeyboardInterrupt):
        charts.make_chart_set(tmp_path, 3, seed=5, progress=False, generator="pew")
    monkeypatch.undo()
    assert len(list((tmp_path / "images").iterdir())) == 1 and not (tmp_path / "gold.jsonl").exists()
    with pytest.raises(UserInputError, match="holds charts of --generator pew --seed 5"):
        charts.make_chart_set(tmp_path, 3, seed=6, progress=False, generator="pew")
    result = vmed("data", "make-charts", "--out", tmp_path, "--n", "3", "--seed", "5", "--generator", "portal")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0] == (f"error: {tmp_path} holds charts of --generator pew --seed 5 (its make_charts.json): give "
                        "another --out, or that generator and seed to resume it")
    assert not (tmp_path / "gold.jsonl").exists()
    gold = charts.make_chart_set(tmp_path, 2, seed=5, progress=False, generator="pew")  # the same set resumes
    assert [r.count('"generator": "pew"') for r in gold.read_text().splitlines()] == [1, 1]
    assert "--n 2 --seed 5 --generator pew" in (tmp_path / "README.txt").read_text()


def test_every_generator_has_its_styles_and_its_own_rng_stream():
    """docs/architecture.md: a generator is its GENERATORS pair, its STYLES_OF entry and its STREAMS number (a name
    missing from either was a KeyError traceback from make-charts); studio keeps the original stream."""
    assert set(charts.STYLES_OF) == set(charts.GENERATORS) == set(charts.STREAMS) | {"studio"}
    assert len(set(charts.STREAMS.values())) == len(charts.STREAMS)


def test_a_chart_interrupted_while_being_written_is_drawn_again(tmp_path, monkeypatch):
    """A JPEG chart is drawn as PNG, then re-encoded: Ctrl-C between the two left the PNG, which the rerun took as
    the finished chart (an unfinished file likewise), so the set held a PNG whose gold record says `"jpeg": true`.
    A chart's file now appears under its name only when it is whole."""
    from PIL import Image

    spec, _ = charts.GENERATORS["portal"]
    first_jpeg = next(i for i in range(40) if spec(charts.np.random.default_rng([0, i, charts.STREAMS["portal"]]))
                      .jpeg_quality is not None)
    whole = charts.make_chart_set(tmp_path / "whole", first_jpeg + 1, progress=False, generator="portal")
    save = Image.Image.save

    def interrupted(self, fp, *args, **kwargs):
        if str(fp).endswith(".jpg"):
            raise KeyboardInterrupt
        return save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        charts.make_chart_set(tmp_path / "again", first_jpeg + 1, progress=False, generator="portal")
    monkeypatch.undo()
    again = charts.make_chart_set(tmp_path / "again", first_jpeg + 1, progress=False, generator="portal")
    assert again.read_text() == whole.read_text()
    stem = f"images/chart_{first_jpeg:05d}"
    assert not (tmp_path / "again" / f"{stem}.png").exists()
    assert (tmp_path / "again" / f"{stem}.jpg").read_bytes() == (tmp_path / "whole" / f"{stem}.jpg").read_bytes()


def test_an_empty_out_is_one_error_line_not_the_current_folder(tmp_path):
    """`--out ''` was Path('') = '.', so make-charts drew into the folder it was run from (and another command's
    empty --out meant the current folder too): every --out goes through paths.given_path."""
    for args in (("data", "make-charts", "--n", "1"), ("eval", "charts", "--set", tmp_path)):
        result = subprocess.run([sys.executable, "-m", "visual_med_alpaca.cli", *map(str, args), "--out", ""],
                                cwd=tmp_path, capture_output=True, text=True, timeout=180,
                                env={**os.environ, "PYTHONPATH": str(REPO)})
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith("error: Invalid value for '--out': an empty path"), lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_readme_make_charts_did_not_write_is_never_overwritten(tmp_path):
    """make-charts wrote its README.txt over the user's own in --out; now that folder is refused, while a set's own
    README.txt (the same generator and seed) still resumes."""
    (tmp_path / "README.txt").write_text("My notes: do not lose these.\n")
    result = vmed("data", "make-charts", "--out", tmp_path, "--n", "1", "--generator", "ends")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0] == (f"error: {tmp_path} has a README.txt that make-charts did not write: give another --out (a "
                        "set's folder holds make-charts' own README.txt)")
    assert (tmp_path / "README.txt").read_text() == "My notes: do not lose these.\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.txt"]
    charts.make_chart_set(tmp_path / "set", 1, progress=False, generator="ends")
    charts.make_chart_set(tmp_path / "set", 2, progress=False, generator="ends")  # its own README.txt: resumes
    assert "--n 2 --seed 0 --generator ends" in (tmp_path / "set" / "README.txt").read_text()


def test_the_styles_help_names_only_styles_each_generator_draws():
    """The --styles help's example `line,line_markers,pie` fit only `plain` (no other generator draws a pie); the
    help now lists each generator's styles from STYLES_OF."""
    shown = inspect.signature(make_charts).parameters["styles"].default.help
    listed = dict(re.findall(r"(\w+): ([\w, ]+)", shown))
    assert listed.keys() == charts.STYLES_OF.keys(), shown
    for name, styles in listed.items():
        assert styles.split(", ") == list(charts.STYLES_OF[name]), name


def test_a_set_resumes_by_its_record_whatever_its_readme_says(tmp_path):
    """make-charts recognised its set by parsing README.txt: a user who added notes to it could no longer resume the
    set ("a README.txt that make-charts did not write"). make_charts.json now records what drew the set; the README's
    notes are kept."""
    import json

    from visual_med_alpaca import __version__

    charts.make_chart_set(tmp_path, 1, progress=False, generator="ends")
    notes = "Ends charts for the OWID study. My notes: do not lose these.\n"
    (tmp_path / "README.txt").write_text(notes)
    result = vmed("data", "make-charts", "--out", tmp_path, "--n", "2", "--generator", "ends")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"wrote 2 charts and {tmp_path / 'gold.jsonl'}")
    assert len((tmp_path / "gold.jsonl").read_text().splitlines()) == 2
    assert (tmp_path / "README.txt").read_text() == notes
    assert json.loads((tmp_path / "make_charts.json").read_text()) == {
        "generator": "ends", "seed": 0, "styles": [], "n": 2, "version": __version__,
        "command": f"vmed data make-charts --out {tmp_path} --n 2 --seed 0 --generator ends"}
    with pytest.raises(UserInputError, match=r"holds charts of --generator ends --seed 0 \(its make_charts.json\)"):
        charts.make_chart_set(tmp_path, 2, seed=1, progress=False, generator="ends")


def test_a_set_drawn_before_the_record_existed_resumes_without_redrawing(tmp_path, monkeypatch):
    """Sets drawn before make_charts.json (the chart pools under runs/chart_pools that bench/chart_candidates.py
    reuses) hold only README.txt, in these words: they resume by it, no picture drawn again, and gain the record."""
    set_dir = tmp_path / "pool"
    gold = charts.make_chart_set(set_dir, 3, seed=5, progress=False, generator="plain", styles=("bar", "line"))
    (set_dir / "make_charts.json").unlink(missing_ok=True)
    assert (set_dir / "README.txt").read_text() == (f"Synthetic charts: vmed data make-charts --out {set_dir} --n 3 "
                                                    "--seed 5 --generator plain --styles bar,line\n")
    before = {p.name: p.read_bytes() for p in [gold, *(set_dir / "images").iterdir()]}
    spec, _ = charts.GENERATORS["plain"]

    def redrawn(chart, path):
        raise AssertionError(f"{path} drawn again")

    monkeypatch.setitem(charts.GENERATORS, "plain", (spec, redrawn))
    charts.make_chart_set(set_dir, 3, seed=5, progress=False, generator="plain", styles=("bar", "line"))
    assert {p.name: p.read_bytes() for p in [gold, *(set_dir / "images").iterdir()]} == before
    assert '"generator": "plain"' in (set_dir / "make_charts.json").read_text()
    with pytest.raises(UserInputError, match=r"holds charts of --generator plain --seed 5 \(its make_charts.json\)"):
        charts.make_chart_set(set_dir, 3, seed=5, progress=False, generator="pew")


@pytest.mark.parametrize("name, what", [("README.txt", "folder"), ("make_charts.json", "folder"),
                                        ("make_charts.json", "text")])
def test_a_folder_or_a_strangers_file_in_place_of_the_sets_own_files_is_one_error_line(tmp_path, name, what):
    """`--out DIR` where DIR/README.txt was a folder ended in the generic handler ("cannot use ...: Is a directory");
    a folder (or a file make-charts did not write) at DIR/make_charts.json is one clear line too, nothing drawn."""
    if what == "folder":
        (tmp_path / name).mkdir()
        expected = f"error: {tmp_path / name} is a folder: make-charts writes its {name} there; give another --out"
    else:
        (tmp_path / name).write_text('{"title": "my own notes"}\n')
        expected = (f"error: {tmp_path} has a make_charts.json that make-charts did not write: give another --out (a "
                    "set's folder holds make-charts' own record of what drew it)")
    result = vmed("data", "make-charts", "--out", tmp_path, "--n", "1", "--generator", "ends")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and lines == [expected], result.stderr
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_kinds_generator_draws_chart_kinds_the_others_never_do_and_its_gold_is_what_they_print(tmp_path, monkeypatch):
    """Round 61's ninth generator (`kinds`, a development pool): donuts, areas, dumbbells, lines of 5-10 series, bars
    with no / a broken value axis, whiskers, a map beside bars. Every gold column is printed (the value title under the
    title for one series, else the legend's or the dots' names), every row name is printed (an area's or line's years:
    the first one), every value of a kind that prints its values is printed; a seed draws the same charts again."""
    import matplotlib.text

    from visual_med_alpaca.eval.metrics.chart import parse_table

    kept, save = {}, charts._save

    def keep(fig, spec, path):
        kept[Path(path).name] = ({" ".join(t.get_text().split()) for t in fig.findobj(matplotlib.text.Text)}, spec)
        return save(fig, spec, path)

    monkeypatch.setattr(charts, "_save", keep)
    charts.make_chart_set(tmp_path / "a", 40, seed=5, progress=False, generator="kinds")
    styles = set()
    for line in (tmp_path / "a" / "gold.jsonl").read_text().splitlines():
        record = __import__("json").loads(line)
        texts, spec = kept[record["id"]]
        table = parse_table(record["table"])
        styles.add(record["style"])
        assert set(table.headers[1:]) <= texts, record
        names = [row[0] for row in table.rows]
        if spec.style in ("area", "manylines"):
            assert names[0] in texts and len(names) >= 8, record
        else:
            assert all(name in texts or f"{name}: {spec.printed(spec.values[i, 0])}" in texts
                       for i, name in enumerate(names)), record
            printed = {spec.printed(v) for v in spec.values.ravel()}
            shown = texts | {t.split(": ")[-1] for t in texts}
            assert printed <= shown, (record, printed - shown)
        assert [cell.replace("%", "") for row in table.rows for cell in row[1:]] == [
            spec.printed(v).replace(",", "").replace("%", "") for v in spec.values.ravel()], record
    assert styles == set(charts.KINDS_STYLES)
    monkeypatch.undo()
    charts.make_chart_set(tmp_path / "b", 40, seed=5, progress=False, generator="kinds")
    assert (tmp_path / "a" / "gold.jsonl").read_text() == (tmp_path / "b" / "gold.jsonl").read_text()
