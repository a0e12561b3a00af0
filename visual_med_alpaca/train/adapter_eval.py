"""Base vs adapter on data the adapter never saw, through llama.cpp (the path `vmed ask` uses).

Minimal on purpose (the evaluation concern owns the general harness): reference-answer perplexity on
held-out MedQuAD / MEDIQA answers, PubMedQA test accuracy and MEDIQA RQE test accuracy by option
log-likelihood, and greedy answers to fixed questions for a side-by-side table.
"""

from __future__ import annotations

import json
import math
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..prompts import STOP_SEQUENCES, build_prompt
from .medical_data import pubmedqa_prompt

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
RQE_INSTRUCTION = ("Question A: {chq}\nQuestion B: {faq}\n"
                   "Does an answer to Question B also answer Question A? Answer yes or no.")


class Scorer:
    """One llama.cpp model (base or base + GGUF LoRA) that scores continuations."""

    def __init__(self, model_path: Path, adapter: Path | None, n_ctx: int = 512, threads: int = 2):
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=threads, logits_all=True,
                         verbose=False, lora_path=str(adapter) if adapter else None)

    def tokens(self, text: str, bos: bool) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=bos, special=False)

    def logprobs(self, tokens: list[int], last_only: bool = False) -> np.ndarray:
        """Log-softmax rows for every position of tokens (row i predicts token i+1), or just the last row."""
        self.llm.reset()
        self.llm.eval(tokens)
        rows = slice(len(tokens) - 1, len(tokens)) if last_only else slice(0, len(tokens))
        scores = np.asarray(self.llm.scores[rows], dtype=np.float64)
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

    def choose(self, prompt: str, options: list[str]) -> int:
        """Index of the option whose first token is most likely right after the prompt."""
        tokens = self.tokens(prompt, True)
        last = self.logprobs(tokens, last_only=True)[-1]
        return int(np.argmax([last[self.tokens(option, False)[0]] for option in options]))

    def generate(self, prompt: str, max_tokens: int = 96) -> str:
        self.llm.reset()
        out = self.llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.1,
                                         stop=list(STOP_SEQUENCES))
        return out["choices"][0]["text"].strip()


def perplexity(scorer: Scorer, heldout: list[dict]) -> float:
    nll, count = 0.0, 0
    for record in heldout:
        value, n = scorer.answer_nll(build_prompt(record["instruction"], record.get("input") or None), record["output"])
        nll, count = nll + value, count + n
    return math.exp(nll / max(count, 1))


def pubmedqa_test(shared: Path, limit: int) -> list[tuple[str, str]]:
    data = json.loads((shared / "pubmedqa" / "ori_pqal.json").read_text())
    test = json.loads((shared / "pubmedqa" / "test_ground_truth.json").read_text())
    items = []
    ids = sorted(test)  # the file lists all "yes" items first: sample across it, never take its head
    for pmid in random.Random(0).sample(ids, min(limit, len(ids))):
        instruction, context = pubmedqa_prompt(data[pmid], 600)
        items.append((build_prompt(instruction, context), test[pmid]))
    return items


def rqe_test(shared: Path, limit: int) -> list[tuple[str, str]]:
    path = next((shared / "mediqa2019" / "MEDIQA_Task2_RQE").glob("*TestSet-wLabels.xml"))
    items = []
    pairs = list(ET.parse(path).getroot().iter("pair"))
    for pair in random.Random(0).sample(pairs, min(limit, len(pairs))):
        instruction = RQE_INSTRUCTION.format(chq=" ".join(pair.findtext("chq").split()),
                                             faq=" ".join(pair.findtext("faq").split()))
        items.append((build_prompt(instruction), "yes" if pair.get("value") == "true" else "no"))
    return items


def accuracy(scorer: Scorer, items: list[tuple[str, str]], labels: list[str]) -> float:
    options = [label.capitalize() for label in labels]
    return sum(labels[scorer.choose(prompt, options)] == gold for prompt, gold in items) / max(len(items), 1)


def compare(model_path: Path, adapter: Path, heldout: list[dict], shared: Path, n_pubmedqa: int, n_rqe: int,
            n_questions: int = len(QUESTIONS), progress=print) -> dict:
    """Metrics for base and base+adapter on the same items."""
    pubmed, rqe = pubmedqa_test(shared, n_pubmedqa), rqe_test(shared, n_rqe)
    result = {"n_heldout_answers": len(heldout), "n_pubmedqa": len(pubmed), "n_rqe": len(rqe),
              "rqe_majority_baseline": max(sum(g == "yes" for _, g in rqe), sum(g == "no" for _, g in rqe)) / max(len(rqe), 1),
              "pubmedqa_majority_baseline": max(sum(g == k for _, g in pubmed) for k in ("yes", "no", "maybe")) / max(len(pubmed), 1)}
    for name, path in (("base", None), ("adapter", adapter)):
        scorer = Scorer(model_path, path)
        result[name] = {
            "heldout_perplexity": perplexity(scorer, heldout),
            "pubmedqa_accuracy": accuracy(scorer, pubmed, ["yes", "no", "maybe"]),
            "rqe_accuracy": accuracy(scorer, rqe, ["yes", "no"]),
            "answers": {q: scorer.generate(build_prompt(q)) for q in QUESTIONS[:n_questions]},
        }
        progress(f"{name}: " + json.dumps({k: v for k, v in result[name].items() if k != "answers"}))
    return result


def to_markdown(result: dict) -> str:
    """The results table and the side-by-side answers for docs/training.md."""
    base, tuned = result["base"], result["adapter"]
    lines = [
        "| metric (data never trained on) | base | base + adapter |", "|---|---:|---:|",
        f"| perplexity of {result['n_heldout_answers']} held-out reference answers (MedQuAD/MEDIQA) | "
        f"{base['heldout_perplexity']:.2f} | {tuned['heldout_perplexity']:.2f} |",
        f"| PubMedQA test accuracy, {result['n_pubmedqa']} sampled test PMIDs (majority class "
        f"{result['pubmedqa_majority_baseline']:.1%}) | {base['pubmedqa_accuracy']:.1%} | {tuned['pubmedqa_accuracy']:.1%} |",
        f"| MEDIQA RQE test accuracy, {result['n_rqe']} sampled pairs (majority class "
        f"{result['rqe_majority_baseline']:.1%}) | {base['rqe_accuracy']:.1%} | {tuned['rqe_accuracy']:.1%} |",
        "", "| question | base | base + adapter |", "|---|---|---|",
    ]
    cell = lambda text: " ".join(text.split()).replace("|", "\\|") or "(empty)"  # noqa: E731
    for question, answer in base["answers"].items():
        lines.append(f"| {question} | {cell(answer)} | {cell(tuned['answers'][question])} |")
    return "\n".join(lines) + "\n"
