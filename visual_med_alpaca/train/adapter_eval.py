"""Base vs adapter on data the adapter never saw, through llama.cpp (the path `vmed ask` uses).

Perplexity of held-out reference answers is computed here; PubMedQA and MEDIQA RQE test accuracy come from
the evaluation harness (`vmed eval`, same scorer, prompts and resumable runs), and the side-by-side answers
from the `Assistant` (same prompt, stop strings and settings as `vmed ask`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..prompts import build_prompt

QUESTIONS = [
    "What are the symptoms of type 2 diabetes?",
    "How is high blood pressure treated?",
    "What causes iron deficiency anemia?",
    "What is the difference between a virus and a bacterium?",
    "What are the early signs of a stroke?",
    "How is asthma diagnosed?",
    "What are the side effects of ibuprofen?",
    "Can migraines be inherited?",
    "What is chronic kidney disease?",
    "How can I lower my cholesterol?",
]
BENCHMARKS = ("pubmedqa", "mediqa-rqe")


class Scorer:
    """One llama.cpp model (base or base + GGUF LoRA) that scores reference answers."""

    def __init__(self, model_path: Path, adapter: Path | None, n_ctx: int = 512, threads: int | None = None):
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, logits_all=True,
                         verbose=False, lora_path=str(adapter) if adapter else None)

    def tokens(self, text: str, bos: bool) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=bos, special=False)

    def logprobs(self, tokens: list[int]) -> np.ndarray:
        """Log-softmax rows for every position of tokens (row i predicts token i+1)."""
        self.llm.reset()
        self.llm.eval(tokens)
        scores = np.asarray(self.llm.scores[: len(tokens)], dtype=np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))

    def answer_nll(self, prompt: str, answer: str) -> tuple[float, int]:
        """Summed NLL of answer + EOS after prompt, tokenized the way training does."""
        head = self.tokens(prompt, True)
        tail = self.tokens(answer, False) + [self.llm.token_eos()]
        room = self.llm.n_ctx() - len(head)
        tail = tail[:room]
        rows = self.logprobs(head + tail)
        picked = rows[np.arange(len(head) - 1, len(head) + len(tail) - 1), tail]
        return float(-picked.sum()), len(tail)


def perplexity(scorer: Scorer, heldout: list[dict]) -> float:
    nll, count = 0.0, 0
    for record in heldout:
        value, n = scorer.answer_nll(build_prompt(record["instruction"], record.get("input") or None), record["output"])
        nll, count = nll + value, count + n
    return math.exp(nll / max(count, 1))


def compare(model_path: Path, adapter: Path, heldout: list[dict], shared: Path, limit: int | None,
            out_dir: Path, n_questions: int = len(QUESTIONS), threads: int | None = None, progress=print) -> dict:
    """Metrics for base and base+adapter on the same items; benchmark runs go to out_dir/<name>-<benchmark>."""
    from ..config import AssistantConfig, GenerationSettings, LLMConfig
    from ..eval.runner import EvalConfig, Evaluator
    from ..pipeline import Assistant

    result: dict = {"n_heldout_answers": len(heldout), "benchmark_limit": limit}
    for name, setting in (("base", "none"), ("adapter", str(adapter))):
        scorer = Scorer(model_path, None if setting == "none" else adapter, threads=threads)
        metrics: dict = {"heldout_perplexity": perplexity(scorer, heldout)}
        del scorer
        config = AssistantConfig(llm=LLMConfig(adapter=setting, threads=threads),
                                 generation=GenerationSettings(max_new_tokens=96, temperature=0.0))
        assistant = Assistant(config)
        for benchmark in BENCHMARKS:
            run = EvalConfig(benchmark=benchmark, data_dir=str(shared), limit=limit, mode="loglik",
                             out=str(out_dir / f"{name}-{benchmark}"), assistant=config.model_dump())
            scored = Evaluator(run, assistant=assistant, progress=True).run()
            metrics[benchmark] = {k: scored["metrics"][k] for k in ("accuracy", "macro_f1", "majority_baseline", "n")}
        metrics["answers"] = {q: assistant.ask(q).answer for q in QUESTIONS[:n_questions]}
        result[name] = metrics
        progress(f"{name}: " + json.dumps({k: v for k, v in metrics.items() if k != "answers"}))
    return result


def to_markdown(result: dict) -> str:
    """The results table and the side-by-side answers for docs/training.md."""
    base, tuned = result["base"], result["adapter"]
    lines = [
        "| metric (data never trained on) | base | base + adapter |", "|---|---:|---:|",
        f"| perplexity of {result['n_heldout_answers']} held-out reference answers (MedQuAD/MEDIQA) | "
        f"{base['heldout_perplexity']:.2f} | {tuned['heldout_perplexity']:.2f} |",
    ]
    for benchmark, title in (("pubmedqa", "PubMedQA test"), ("mediqa-rqe", "MEDIQA 2019 RQE test")):
        b, t = base[benchmark], tuned[benchmark]
        lines += [f"| {title} accuracy, {b['n']} items (majority class {b['majority_baseline']:.1f}%) | "
                  f"{b['accuracy']:.1f}% | {t['accuracy']:.1f}% |",
                  f"| {title} macro-F1 | {b['macro_f1']:.1f} | {t['macro_f1']:.1f} |"]
    lines += ["", "| question | base | base + adapter |", "|---|---|---|"]
    cell = lambda text: " ".join(text.split()).replace("|", "\\|") or "(empty)"  # noqa: E731
    for question, answer in base["answers"].items():
        lines.append(f"| {question} | {cell(answer)} | {cell(tuned['answers'][question])} |")
    return "\n".join(lines) + "\n"
