"""Score saved chart predictions again with the metric's two readings, aggregates only (no chart is shown).

`vmed eval charts` / bench_chart.py write `<metrics>.predictions.jsonl`; this re-scores such a file against its
gold.jsonl three ways: DePlot's RMS-F1 as is (the headline); with the title not scored where the gold table has
none (ChartQA's gold tables carry no title, so a title read from the chart costs one entry, and an empty one
earns one); and with every read title blanked (DePlot's own output on ChartQA, which it learnt from these tables).
Used on sealed report predictions, so it prints only overall and per-source means, never a chart's own score.
With --opencqa: OpenCQA predictions (bench_chart.py --opencqa) scored again with this version of the printed-text
metric (eval/metrics/chart.py PRINTED_VERSION), aggregates and per detected type only.

    python bench/chart_rescore.py /tmp/chx6/sealed/chart_chartqa_dev_report_r6.predictions.jsonl --set-dir ../shared/data/chartqa_dev
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import run  # noqa: E402

from visual_med_alpaca.data.store import read_jsonl  # noqa: E402
from visual_med_alpaca.errors import UserInputError  # noqa: E402
from visual_med_alpaca.data.charts import read_gold  # noqa: E402
from visual_med_alpaca.eval.charts import format_printed_metrics, rescore_printed, source_of  # noqa: E402
from visual_med_alpaca.eval.metrics.chart import Table, parse_table, rms  # noqa: E402


def title_readings(gold: str, text: str) -> tuple[float, float, float]:
    """One chart's RMS-F1 three ways: as is, with the title not scored where the gold has none, and with the read
    title blanked (`text` is the expert's table, "" for an unread chart). bench/chart_gap.py uses it too."""
    table = parse_table(text)
    blanked = Table("", table.headers, table.rows).linearize() if text else ""
    return rms(gold, text)["f1"], rms(gold, text, score_title=False)["f1"], rms(gold, blanked)["f1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("predictions", type=Path, nargs="+")
    parser.add_argument("--set-dir", type=Path, default=None, help="the folder with the gold.jsonl")
    parser.add_argument("--opencqa", action="store_true", help="OpenCQA predictions (bench_chart.py --opencqa): scored "
                        "again with this version of the printed-text metric against the data folder's boxes")
    args = parser.parse_args()
    if args.opencqa:
        for path in args.predictions:
            first, *rest = format_printed_metrics(rescore_printed(list(read_jsonl(path))))
            print(f"{path}: {first}")
            for line in rest:
                print(line)
        return
    if args.set_dir is None:
        parser.error("--set-dir is required (the folder with the gold.jsonl), unless --opencqa")
    gold = {item["id"]: item for item in read_gold(args.set_dir)}
    for path in args.predictions:
        groups: dict[str, list[tuple[float, ...]]] = defaultdict(list)
        for row in read_jsonl(path):
            if row.get("id") not in gold:
                raise UserInputError(f"{path}: chart {row.get('id')!r} is not in {args.set_dir}/gold.jsonl (predictions "
                                     "of another set?)")
            item = gold[row["id"]]
            scores = (row["rms_f1"], *title_readings(item["table"], "" if row["failed"] else row["prediction"]))
            groups["all"].append(scores)
            groups[source_of(item)].append(scores)
        print(f"{path.name}: {len(groups['all'])} charts")
        print(f"  {'group':<10} {'n':>4} {'RMS-F1 (saved)':>15} {'RMS-F1 (again)':>15} {'title not scored':>17} "
              f"{'titles blanked':>15}")
        for name, rows in sorted(groups.items(), key=lambda kv: (kv[0] != "all", kv[0])):
            means = [sum(r[i] for r in rows) / len(rows) for i in range(4)]
            print(f"  {name:<10} {len(rows):>4} {means[0]:>15.3f} {means[1]:>15.3f} {means[2]:>17.3f} {means[3]:>15.3f}")


if __name__ == "__main__":
    run(main)
