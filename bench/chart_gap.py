"""Where a chart set's RMS-F1 is lost: saved chart predictions re-scored with one part made right at a time.

Reads a predictions.jsonl as bench/bench_chart.py (or bench/chart_candidates.py) writes it and the set's gold
tables, and prints one markdown table per grouping (all charts, by source, by the chart type the expert detected):

- n, and RMS-F1 as is (eval/metrics/chart.py `rms`, recomputed; a line says so if it differs from the saved figure);
- unread: the count of unread charts and what they cost (count x 1 / n);
- title right: bench/chart_rescore.py's "titles blanked" reading (`title_readings`; ChartQA's gold titles are blank,
  so a blanked title is a right one; where a gold table has a title, as a synthetic set's has, the gold's title);
- names right: the prediction's values kept, the names (row names, column headers) of its paired rows and columns
  replaced by gold's; then row names only, column headers only;
- values right: the prediction's names kept, each cell of a paired row and a paired column given the gold cell's value;
- names+values: both; +title: both and the gold's title (what is left is the table's shape: rows or columns missing
  or extra, cells of unpaired rows or columns);
- gold copied: the gold table scored against itself, the ceiling (ChartQA's gold cells `nan` never score, so some
  gold tables fall short of 1.0);
- shape (read charts only): mean |rows_pred - rows_gold|, mean |cols_pred - cols_gold| (data columns: the column of
  row names and a partly read table's closing note row are not counted) and the share with equal shape, in the
  orientation the pairing chose.
Re-scorings print as `F1 (+gain over as is)`, means over the group.

The pairing (the one hand-written part; everything scored goes through the metric's own `datapoints`,
`point_score`, `anls` and `rms`): the metric's entries (one per body cell, key = row name + column name) of gold and
prediction are paired one to one by the Hungarian method (scipy's linear_sum_assignment, as `rms` does) on the
metric's key similarity (`anls` of the keys) PLUS its value similarity (`point_score` with equal keys), so a cell
pairs by its name, by its value, or by both; pairs of similarity 0 are dropped. Each predicted row is then paired
to the gold row its paired cells point to (Hungarian again, on the summed similarities of the cell pairs linking
them), and each predicted column likewise. This is done for the prediction as is and transposed (the metric reads
both); the orientation kept is the one where the cell pairs that agree with the row and column pairing (cell (i, j)
paired to gold cell (row of i, column of j)) sum to the larger similarity (as is on a tie). Unpaired rows and
columns keep their own names and values.

    python bench/chart_gap.py /tmp/vmed/charts/runs_f/runs/chart_candidates/tidy46b/chartqa_dev.predictions.jsonl \\
        --set-dir /work/shared/data/chartqa_dev
    python bench/chart_gap.py SEALED.predictions.jsonl --set-dir ../shared/data/chartqa_dev --aggregate-only

Without --aggregate-only a per-chart table follows the grouped ones (and --show ID prints a chart's pairing and
re-scored tables); both are refused when the file holds any of chartqa_dev's report half (`split_of`): the report
half is scored in aggregate only. OpenCQA predictions are not for this script (their metric has no gold table).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import measured_at, run  # noqa: E402
from chart_rescore import title_readings  # noqa: E402

from visual_med_alpaca.chart_table import Table, is_note, parse_table  # noqa: E402
from visual_med_alpaca.data.store import read_jsonl  # noqa: E402
from visual_med_alpaca.errors import UserInputError  # noqa: E402
from visual_med_alpaca.data.charts import read_gold  # noqa: E402
from visual_med_alpaca.eval.charts import source_of, split_of  # noqa: E402
from visual_med_alpaca.eval.metrics.chart import anls, datapoints, point_score, rms  # noqa: E402

TEXT_THETA, NUMBER_THETA = 0.5, 0.1  # rms's defaults, as bench_chart.py scores
READINGS = ("as_is", "title", "names", "row_names", "col_names", "values", "names_values", "all_three", "gold")
HEADS = {"title": "title right", "names": "names right", "row_names": "row names right",
         "col_names": "column names right", "values": "values right", "names_values": "names+values",
         "all_three": "+title", "gold": "gold copied"}


@dataclass
class Pairing:
    table: Table  # the prediction in the orientation kept
    transposed: bool
    rows: dict[int, int]  # predicted row index -> gold row index
    cols: dict[int, int]  # predicted column index (1.. in headers) -> gold column index
    similarity: float  # summed similarity of the cell pairs that the row and column pairing keep


def _cells(table: Table) -> list[tuple[int, int]]:
    """(row index, column index in headers) of each of `datapoints`' body entries, in its order."""
    positions = [(r, c) for r, row in enumerate(table.rows) for c in range(1, min(len(table.headers), len(row)))]
    if len(table.headers) <= 1:
        positions = []
    assert len(positions) == len(datapoints(Table(None, table.headers, table.rows)))
    return positions


def _pair_one(gold: Table, pred: Table, transposed: bool) -> Pairing:
    g_points, p_points = datapoints(Table(None, gold.headers, gold.rows)), datapoints(Table(None, pred.headers, pred.rows))
    if not g_points or not p_points:
        return Pairing(pred, transposed, {}, {}, 0.0)
    g_cells, p_cells = _cells(gold), _cells(pred)
    similarity = np.array([[anls(g[0], p[0], TEXT_THETA) + point_score(("", g[1]), ("", p[1]), TEXT_THETA, NUMBER_THETA)
                            for p in p_points] for g in g_points])
    g_index, p_index = linear_sum_assignment(similarity, maximize=True)
    row_votes = np.zeros((len(pred.rows), len(gold.rows)))
    col_votes = np.zeros((len(pred.headers), len(gold.headers)))
    for g, p in zip(g_index, p_index):
        if similarity[g, p] > 0:
            (gr, gc), (pr, pc) = g_cells[g], p_cells[p]
            row_votes[pr, gr] += similarity[g, p]
            col_votes[pc, gc] += similarity[g, p]

    def matched(votes: np.ndarray) -> dict[int, int]:
        rows, cols = linear_sum_assignment(votes, maximize=True)
        return {int(r): int(c) for r, c in zip(rows, cols) if votes[r, c] > 0}

    row_map, col_map = matched(row_votes), matched(col_votes)
    agreeing = sum(similarity[g, p] for g, p in zip(g_index, p_index)  # cell pairs the row and column pairing keep
                   if row_map.get(p_cells[p][0]) == g_cells[g][0] and col_map.get(p_cells[p][1]) == g_cells[g][1])
    return Pairing(pred, transposed, row_map, col_map, float(agreeing))


def pair(gold: Table, pred: Table) -> Pairing:
    """The pairing of the module docstring: rows and columns of `pred` (as is or transposed) paired to `gold`'s."""
    candidates = [_pair_one(gold, pred, False)]
    if pred.headers:
        candidates.append(_pair_one(gold, pred.transposed(), True))
    return max(candidates, key=lambda p: p.similarity)  # the first (as is) on a tie


def names_right(gold: Table, pairing: Pairing, rows: bool = True, cols: bool = True) -> Table:
    """The paired prediction with its paired rows' names (`rows`) and paired columns' headers (`cols`) made gold's."""
    table = pairing.table
    headers = [gold.headers[pairing.cols[c]] if cols and c in pairing.cols else h for c, h in enumerate(table.headers)]
    rows = [[gold.rows[pairing.rows[r]][0], *row[1:]] if rows and r in pairing.rows and row else list(row)
            for r, row in enumerate(table.rows)]
    return Table(table.title, headers, rows)


def values_right(gold: Table, pairing: Pairing, table: Table | None = None) -> Table:
    """`table` (the paired prediction, or its names-right version) with each cell of a paired row and column given
    the gold cell's value; a cell the gold row lacks (or the predicted row lacks) is left as it is."""
    table = table or pairing.table
    rows = []
    for r, row in enumerate(table.rows):
        row = list(row)
        if r in pairing.rows:
            gold_row = gold.rows[pairing.rows[r]]
            for c in range(1, len(row)):
                if c in pairing.cols and pairing.cols[c] < len(gold_row):
                    row[c] = gold_row[pairing.cols[c]]
        rows.append(row)
    return Table(table.title, list(table.headers), rows)


def _shape(table: Table) -> tuple[int, int]:
    return sum(1 for row in table.rows if not is_note(row)), max(0, len(table.headers) - 1)


def decompose(gold_text: str, text: str) -> dict:
    """One chart: its F1 under each reading of READINGS, its shape against the gold's and its pairing
    (`text` is the expert's table, "" for an unread chart)."""
    gold = parse_table(gold_text)
    as_is, _, blanked = title_readings(gold_text, text)
    scores = {"as_is": as_is, "title": blanked, "gold": rms(gold, gold)["f1"]}
    if not text:
        scores.update({key: as_is for key in READINGS if key not in scores})
        return {"scores": scores, "pairing": None, "shape": None}
    table = parse_table(text)
    if gold.title:  # a synthetic set's gold has its title: the title made right is that title, not a blank one
        scores["title"] = rms(gold, Table(gold.title, table.headers, table.rows))["f1"]
    pairing = pair(gold, table)
    named = names_right(gold, pairing)
    both = values_right(gold, pairing, named)
    scores.update(names=rms(gold, named)["f1"], row_names=rms(gold, names_right(gold, pairing, cols=False))["f1"],
                  col_names=rms(gold, names_right(gold, pairing, rows=False))["f1"],
                  values=rms(gold, values_right(gold, pairing))["f1"],
                  names_values=rms(gold, both)["f1"], all_three=rms(gold, Table(gold.title, both.headers, both.rows))["f1"])
    (rp, cp), (rg, cg) = _shape(pairing.table), _shape(gold)
    return {"scores": scores, "pairing": pairing, "shape": (rp, rg, cp, cg), "named": named, "both": both}


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def group_table(title: str, groups: dict[str, list[dict]]) -> list[str]:
    lines = [f"**{title}**", "",
             "| group | n | RMS-F1 | unread (cost) | " + " | ".join(HEADS[k] for k in READINGS[1:])
             + " | \\|Δrows\\| | \\|Δcols\\| | same shape |",
             "|---|---:|---:|---:|" + "---:|" * (len(READINGS) - 1) + "---:|---:|---:|"]
    for name, charts in groups.items():
        n = len(charts)
        base = _mean(c["scores"]["as_is"] for c in charts)
        unread = sum(c["shape"] is None for c in charts)
        cells = [f"{name}", f"{n}", f"{base:.4f}", f"{unread} ({unread / n:.4f})"]
        for key in READINGS[1:]:
            mean = _mean(c["scores"][key] for c in charts)
            cells.append(f"{mean:.4f} ({mean - base:+.4f})")
        shapes = [c["shape"] for c in charts if c["shape"] is not None]
        if shapes:
            cells += [f"{_mean(abs(rp - rg) for rp, rg, _, _ in shapes):.2f}",
                      f"{_mean(abs(cp - cg) for _, _, cp, cg in shapes):.2f}",
                      f"{_mean(rp == rg and cp == cg for rp, rg, cp, cg in shapes):.2f}"]
        else:
            cells += ["–"] * 3
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def chart_table(charts: list[dict]) -> list[str]:
    lines = ["**per chart** (lowest RMS-F1 first)", "",
             "| id | source | type | RMS-F1 | " + " | ".join(HEADS[k] for k in READINGS[1:])
             + " | rows pred/gold | cols pred/gold | paired rows / cols | transposed |",
             "|---|---|---|---:|" + "---:|" * (len(READINGS) - 1) + "---:|---:|---:|---|"]
    for c in sorted(charts, key=lambda c: (c["scores"]["as_is"], c["id"])):
        s, p = c["scores"], c["pairing"]
        shape = ["{}/{}".format(*c["shape"][:2]), "{}/{}".format(*c["shape"][2:])] if c["shape"] else ["–", "–"]
        paired = f"{len(p.rows)} / {len(p.cols)}" if p else "–"
        lines.append(f"| {c['id']} | {c['source']} | {c['detected']} | {s['as_is']:.3f} | "
                     + " | ".join(f"{s[k]:.3f}" for k in READINGS[1:])
                     + f" | {shape[0]} | {shape[1]} | {paired} | {'yes' if p and p.transposed else 'no'} |")
    return lines + [""]


def show(chart: dict, gold_text: str) -> list[str]:
    gold, p = parse_table(gold_text), chart["pairing"]
    lines = [f"chart {chart['id']} ({chart['source']}, {chart['detected']}): "
             + ", ".join(f"{k} {v:.3f}" for k, v in chart["scores"].items())]
    if p is None:
        return lines + ["  unread: nothing paired", ""]
    lines.append(f"  prediction {'transposed' if p.transposed else 'as is'}; agreeing cell similarity {p.similarity:.2f}")
    lines += [f"  row {p.table.rows[r][0]!r} -> {gold.rows[g][0]!r}" for r, g in sorted(p.rows.items())]
    lines += [f"  row {row[0]!r} unpaired" for r, row in enumerate(p.table.rows) if r not in p.rows and row]
    lines += [f"  column {p.table.headers[c]!r} -> {gold.headers[g]!r}" for c, g in sorted(p.cols.items())]
    lines += [f"  column {h!r} unpaired" for c, h in enumerate(p.table.headers) if c and c not in p.cols]
    lines += [f"  gold:         {gold_text}", f"  names right:  {chart['named'].linearize()}",
              f"  names+values: {chart['both'].linearize()}", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("predictions", type=Path)
    parser.add_argument("--set-dir", type=Path, required=True, help="the folder with the gold.jsonl")
    parser.add_argument("--aggregate-only", action="store_true", help="the grouped tables only, nothing per chart "
                        "(required for predictions of chartqa_dev's report half)")
    parser.add_argument("--show", nargs="*", default=[], metavar="ID", help="print these charts' pairings (dev only)")
    args = parser.parse_args()
    if args.aggregate_only and args.show:
        parser.error("--show prints charts: not with --aggregate-only")
    gold = {item["id"]: item for item in read_gold(args.set_dir)}
    if not args.predictions.is_file():
        raise UserInputError(f"{args.predictions} not found")
    charts, differ = [], 0
    for row in read_jsonl(args.predictions):
        if row.get("id") not in gold:
            raise UserInputError(f"{args.predictions}: chart {row.get('id')!r} is not in {args.set_dir}/gold.jsonl "
                                 "(predictions of another set?)")
        item = gold[row["id"]]
        if not args.aggregate_only and source_of(item) != "synthetic" and split_of(item) != "dev":
            raise UserInputError(f"{args.predictions} holds report-half charts ({row['id']!r} ...): scored in aggregate "
                                 "only, give --aggregate-only")
        chart = decompose(item["table"], "" if row["failed"] else row["prediction"])
        differ += abs(chart["scores"]["as_is"] - row["rms_f1"]) > 1e-9
        chart.update(id=row["id"], source=source_of(item), detected=row.get("detected") or "unknown")
        charts.append(chart)
    if not charts:
        raise UserInputError(f"{args.predictions} holds no predictions")
    unknown = sorted(set(args.show) - {c["id"] for c in charts})
    if unknown:
        raise UserInputError(f"--show: {', '.join(unknown)} not in {args.predictions}")
    print(f"{args.predictions.name}: {len(charts)} charts against {args.set_dir}/gold.jsonl; {measured_at()}")
    if differ:
        print(f"note: RMS-F1 recomputed differs from the saved figure on {differ} charts (the metric changed since?)")
    print()
    by_source, by_type = defaultdict(list), defaultdict(list)
    for chart in charts:
        by_source[chart["source"]].append(chart)
        by_type[chart["detected"]].append(chart)
    for title, groups in (("all", {"all": charts}), ("by source", dict(sorted(by_source.items()))),
                          ("by detected type", dict(sorted(by_type.items())))):
        for line in group_table(title, groups):
            print(line)
    if args.aggregate_only:
        return
    for line in chart_table(charts):
        print(line)
    for chart in charts:
        if chart["id"] in args.show:
            for line in show(chart, gold[chart["id"]]["table"]):
                print(line)


if __name__ == "__main__":
    run(main)
