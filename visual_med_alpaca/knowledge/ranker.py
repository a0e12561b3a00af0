"""A learned re-ranker (knowledge.reranker=learned, round 14): one linear score over the features the hand-set
re-ranker already computes for each candidate (`retrieve.Reranker`: the fused score, the dense cosine, how much the
question names the passage's topic and by which name, the question-type match, the RQE probability, the share of the
passage that points elsewhere, its length and its source collection).

The weights are fitted with scikit-learn on the TREC LiveQA'17 Train-1 questions graded by dev3's annotation rule
(`bench/bench_knowledge_round14.py`, never on a development or report set), the objective and the regularisation
chosen by cross-validation over those questions (grouped: a question's candidates stay in one fold). The model is a
few numbers in a JSON file shipped in the package (assets/knowledge/ranker_lr.json); scoring needs numpy only.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from .rqe import linear_margin, read_linear

MODEL_PATH = Path(__file__).resolve().parents[1] / "assets" / "knowledge" / "ranker_lr.json"
SOURCES = ("CDC", "CancerGov", "GARD", "GHR", "MPlusHealthTopics", "NHLBI", "NIDDK", "NIHSeniorHealth", "NINDS")
FEATURES = ("fused", "cosine", "focus_share", "synonym_share", "type_match", "info_match", "information", "rqe",
            "pointer_share", "log_words") + tuple(f"source_{s}" for s in SOURCES)
OBJECTIVES = ("pointwise", "pairwise")


def feature_row(found: dict[str, float]) -> list[float]:
    """A candidate's features (`Retrieved.features`) in FEATURES order; one it lacks counts 0."""
    return [float(found.get(name, 0.0)) for name in FEATURES]


def source_features(source: str) -> dict[str, float]:
    return {f"source_{source}": 1.0} if source in SOURCES else {}


def log_words(text: str) -> float:
    return math.log(1 + len(text.split()))


@dataclass
class RankerModel:
    """score = ((x - mean) / scale) . coef + intercept over FEATURES (the intercept orders nothing)."""

    features: tuple[str, ...]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float = 0.0
    meta: dict = field(default_factory=dict)

    def score(self, rows) -> np.ndarray:
        return linear_margin(self, rows, FEATURES)

    def weights(self) -> dict[str, float]:
        """Each feature's weight per unit of the feature itself (coef / scale): comparable with the hand-set bonuses."""
        return {f: c / s for f, c, s in zip(self.features, self.coef, self.scale)}

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {**asdict(self), "features": list(self.features)}
        path.write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | None = None) -> RankerModel:
        return cls(*read_linear(Path(path or MODEL_PATH), FEATURES, "learned re-ranker",
                                "refit it (bench/bench_knowledge_round14.py), give knowledge.ranker_model or use "
                                "knowledge.reranker=rules+rqe"))


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> RankerModel:
    return RankerModel.load(Path(path) if path else None)


# -- fitting (scikit-learn; only needed to train) ------------------------------------------------------
def pairs(x: np.ndarray, grades: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise rows: for each question, every pair of its candidates with different grades, as x_i - x_j labelled
    1 (i graded higher) and its mirror labelled 0; each question's pairs weigh 1 in all (so a question with many
    graded candidates does not outweigh one with few)."""
    rows, labels, weights = [], [], []
    for group in np.unique(groups):
        at = np.flatnonzero(groups == group)
        i, j = np.triu_indices(len(at), 1)
        keep = grades[at[i]] != grades[at[j]]
        i, j = at[i[keep]], at[j[keep]]
        if not len(i):
            continue
        diff = x[i] - x[j]
        sign = (grades[i] > grades[j]).astype(int)
        rows += [diff, -diff]
        labels += [sign, 1 - sign]
        weights += [np.full(2 * len(i), 1.0 / (2 * len(i)))]
    return np.vstack(rows), np.concatenate(labels), np.concatenate(weights)


def fit(rows, grades, groups, c: float, objective: str = "pointwise", meta: dict | None = None) -> RankerModel:
    """Standardised logistic regression over FEATURES: pointwise (a candidate is correct: grade >= 3) or pairwise
    (which of two candidates of one question grades higher; no intercept)."""
    from sklearn.linear_model import LogisticRegression

    if objective not in OBJECTIVES:
        raise UserInputError(f"unknown objective '{objective}'; known: {', '.join(OBJECTIVES)}")
    x, grades, groups = np.asarray(rows, dtype=np.float64), np.asarray(grades), np.asarray(groups)
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    if objective == "pointwise":
        model = LogisticRegression(C=c, max_iter=5000).fit(z, (grades >= 3).astype(int))
        intercept = float(model.intercept_[0])
    else:
        diffs, labels, weights = pairs(z, grades, groups)
        model = LogisticRegression(C=c, max_iter=5000, fit_intercept=False).fit(diffs, labels, sample_weight=weights)
        intercept = 0.0
    return RankerModel(FEATURES, [float(v) for v in mean], [float(v) for v in scale],
                       [float(v) for v in model.coef_[0]], intercept, {"objective": objective, "C": c, **(meta or {})})


def top_grades(scores: np.ndarray, grades: np.ndarray, groups: np.ndarray) -> dict:
    """Per question, the grade of its best-scored candidate (the first of equal scores, in candidate order)."""
    found = {}
    for group in dict.fromkeys(groups.tolist()):
        at = np.flatnonzero(groups == group)
        found[group] = int(grades[at[int(np.argmax(scores[at]))]])
    return found


def cross_validate(rows, grades, groups, grid, folds: int = 5, repeats: int = 3, seed: int = 0) -> list[dict]:
    """Each (objective, C) of `grid`, scored by grouped cross-validation: the questions shuffled into `folds` folds
    (`repeats` times, seeds seed..seed+repeats-1), fitted on the others, each held-out question's top answer graded;
    avgScore = mean(grade - 1), P@1 = share of top answers with grade >= 3, over every held-out question and repeat."""
    x, grades, groups = np.asarray(rows, dtype=np.float64), np.asarray(grades), np.asarray(groups)
    questions = list(dict.fromkeys(groups.tolist()))
    results = []
    for objective, c in grid:
        tops = []
        for r in range(repeats):
            order = np.random.default_rng(seed + r).permutation(len(questions))
            for k in range(folds):
                held = {questions[i] for i in order[k::folds]}
                test = np.isin(groups, list(held))
                model = fit(x[~test], grades[~test], groups[~test], c, objective)
                tops += top_grades(model.score(x[test]), grades[test], groups[test]).values()
        results.append({"objective": objective, "C": c, "avgScore": float(np.mean([g - 1 for g in tops])),
                        "P@1": float(np.mean([g >= 3 for g in tops])), "held_out": len(tops)})
    return results


def choose(results: list[dict]) -> dict:
    """The best cross-validated setting: highest avgScore, then P@1, then the stronger regularisation (smaller C),
    then pointwise before pairwise."""
    return max(results, key=lambda r: (round(r["avgScore"], 9), round(r["P@1"], 9), -r["C"],
                                       -OBJECTIVES.index(r["objective"])))
