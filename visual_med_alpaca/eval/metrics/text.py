"""Text-QA scoring: multiple-choice accuracy and macro-F1 (PubMedQA, MEDIQA RQE), answer extraction from
generated text, and MEDIQA 2019 QA answer-ranking metrics (accuracy, precision, MRR, Spearman)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from .vqa import tokens


def extract_choice(text: str, options: Sequence[str]) -> str | None:
    """The first option word that appears in the generated text (after normalisation), else None."""
    wanted = {o.lower(): o for o in options}
    for word in tokens(text):
        if word in wanted:
            return wanted[word]
    return None


def choice_metrics(golds: Sequence[str], preds: Sequence[str | None], labels: Sequence[str]) -> dict:
    """Accuracy and macro-F1 over `labels` (an unanswerable prediction counts as wrong for every class)."""
    from sklearn.metrics import confusion_matrix, f1_score

    preds = [p if p is not None else "<none>" for p in preds]
    n = len(golds)
    accuracy = sum(g == p for g, p in zip(golds, preds)) / n if n else 0.0
    macro_f1 = f1_score(golds, preds, labels=list(labels), average="macro", zero_division=0) if n else 0.0
    matrix = confusion_matrix(golds, preds, labels=list(labels) + ["<none>"]) if n else []
    return {
        "accuracy": round(100 * accuracy, 2),
        "macro_f1": round(100 * float(macro_f1), 2),
        "n": n,
        "unanswered": sum(p == "<none>" for p in preds),
        "majority_baseline": round(100 * max(map(list(golds).count, set(golds))) / n, 2) if n else 0.0,
        "confusion": {"labels": list(labels) + ["<none>"], "rows_gold_cols_pred": [list(map(int, r)) for r in matrix]},
    }


def ranking_metrics(records: Iterable[dict]) -> dict:
    """MEDIQA 2019 task 3: records carry group (question id), score (higher = better), order (the given
    answer order, breaks ties), reference_rank and correct (reference score 3-4).

    accuracy: predicted label (score > 0) vs correct; precision: of answers predicted correct, how many
    are; mrr: 1 / rank of the first correct answer in the model's ranking; spearman: model ranking vs
    reference ranks, averaged over questions."""
    from scipy.stats import spearmanr

    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[r["group"]].append(r)
    hits, predicted_pos, true_pos, reciprocal, rhos = 0, 0, 0, [], []
    total = 0
    for items in groups.values():
        ranked = sorted(items, key=lambda r: (-r["score"], r["order"]))
        for r in items:
            total += 1
            label = r["score"] > 0
            hits += label == r["correct"]
            predicted_pos += label
            true_pos += label and r["correct"]
        first = next((i for i, r in enumerate(ranked, 1) if r["correct"]), None)
        reciprocal.append(1 / first if first else 0.0)
        if len(items) > 1:
            model_rank = {id(r): i for i, r in enumerate(ranked, 1)}
            rho = spearmanr([model_rank[id(r)] for r in items], [r["reference_rank"] for r in items]).statistic
            if rho == rho:  # NaN when one side is constant
                rhos.append(float(rho))
    return {
        "accuracy": round(100 * hits / total, 2) if total else None,
        "precision": round(100 * true_pos / predicted_pos, 2) if predicted_pos else 0.0,
        "mrr": round(100 * sum(reciprocal) / len(reciprocal), 2) if reciprocal else None,
        "spearman": round(sum(rhos) / len(rhos), 4) if rhos else None,
        "n_answers": total,
        "n_questions": len(groups),
    }
