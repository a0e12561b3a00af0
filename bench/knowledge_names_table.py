"""The names table an index stores (round 12) against the one computed from its passages at a process's first
question (as before): the time of each, and whether the search ranks the same with both.

  python bench/knowledge_names_table.py [--index medquad] [--threads 2]

Two retrievers with the shipped knowledge settings on the same opened index: one reads the stored table
(`KnowledgeIndex.names_table`), the other computes it (`retrieve.names_table`, the way an index without one is
served). It prints the time each took to get its written-names finder, whether the finders are equal (names, names
left out, words), and whether the top 10 (ids, scores, relevance) agree on every development question: the
LiveQA'17 *training* questions of bench/data (dev3's source, near copies of the 104 test questions left out
unread) and the MEDIQA 2019 RQE consumer questions. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import load_average, run, threads, utc_now  # noqa: E402
from bench_liveqa import DEV3_FILE  # noqa: E402

from visual_med_alpaca import paths  # noqa: E402
from visual_med_alpaca.config import KnowledgeConfig  # noqa: E402
from visual_med_alpaca.data.sources.mediqa import QA_FOLDER, MediqaRQE, is_liveqa  # noqa: E402
from visual_med_alpaca.knowledge import evaluate  # noqa: E402
from visual_med_alpaca.knowledge.index import open_index  # noqa: E402
from visual_med_alpaca.knowledge.retrieve import QueryViews, Reranker, Retriever  # noqa: E402


def development_questions() -> list[str]:
    root = paths.data_dir(None, "mediqa2019")
    benchmark = is_liveqa(root / QA_FOLDER)
    questions = [text for _, text in evaluate.training_questions(DEV3_FILE)]  # the one reader of that file
    for name in evaluate.RQE_DEV_FILES:
        questions += [chq for _, chq, _, _ in MediqaRQE.pairs(root / name)]
    return [q for q in dict.fromkeys(questions) if not benchmark(q)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", default="medquad", help="index name or folder (default: medquad)")
    parser.add_argument("--threads", type=threads, default=2)
    args = parser.parse_args()
    cfg = KnowledgeConfig(index=args.index)
    index = open_index(cfg.index, need_dense=True)
    print(f"{utc_now()}, load average {load_average()}, index {index.folder} ({index.manifest.get('fingerprint')})")
    retrievers = {}
    for kind in ("stored", "computed"):
        retriever = Retriever(index, cfg.method, Reranker.from_config(cfg), encoder_threads=args.threads,
                              views=QueryViews(cfg.query_full, cfg.query_focus, cfg.query_sentences))
        if kind == "computed":
            retriever.index = type(index)(index.folder, index.manifest, index.docs, index.stores)
            retriever.index.names_table = lambda: None  # as an index built before round 12
        elif index.names_table() is None:
            raise SystemExit(f"error: the index at {index.folder} stores no names table (run `vmed knowledge build`)")
        retriever.generic()  # read by both; not part of what the table saves
        started = time.perf_counter()
        written = retriever.written_names()
        print(f"{kind:>8}: written-names finder in {time.perf_counter() - started:.3f} s "
              f"({len(written.names):,} names, {len(written.skip):,} left out, {len(written.by_word):,} words)")
        retrievers[kind] = retriever
    a, b = (retrievers[k].written_names() for k in ("stored", "computed"))
    same_finder = (a.names, a.skip, a.by_word) == (b.names, b.skip, b.by_word)
    questions = development_questions()
    differ = 0
    for question in questions:
        ranked = [[(r.passage.id, r.score, r.relevance) for r in retrievers[k].search(question, 10)]
                  for k in ("stored", "computed")]
        differ += ranked[0] != ranked[1]
    index.close()
    print(f"same finder: {same_finder}; top 10 differ on {differ} of {len(questions)} development questions")
    if differ or not same_finder:
        raise SystemExit(1)


if __name__ == "__main__":
    run(main)
