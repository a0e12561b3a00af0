"""A trained question-entailment (RQE) re-ranker: P(an answer to the candidate FAQ also answers the user's question).

The MedQuAD paper's own method (Ben Abacha & Demner-Fushman, BMC Bioinformatics 2019) re-ranks retrieved
questions with a logistic-regression RQE classifier. This one is trained with scikit-learn on the MEDIQA 2019
Task 2 RQE *training* pairs (consumer/clinical question, FAQ, entailed or not), its regularisation chosen on
the RQE validation pairs (`vmed knowledge train-rqe`). Features are cheap at query time: the MiniLM cosine the
dense run already computed, word / bigram overlap, question-type cue agreement, lengths. The fitted model is a
few numbers in a JSON file shipped in the package (assets/knowledge/rqe_lr.json); scoring needs numpy only.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import UserInputError
from .stores.fts5 import STOP_WORDS, WORD

MODEL_PATH = Path(__file__).resolve().parents[1] / "assets" / "knowledge" / "rqe_lr.json"
FEATURES = ("cosine", "word_jaccard", "candidate_coverage", "question_coverage", "bigram_overlap", "type_match",
            "type_mismatch", "both_untyped", "length_ratio", "question_length")


@dataclass(frozen=True)
class Side:
    """One question as the features read it: content-word stems (5 letters), their bigrams, cue types, length."""

    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    types: frozenset[str]
    length: int

    @classmethod
    def of(cls, text: str) -> Side:
        from .retrieve import question_types

        words = WORD.findall(text.lower())
        stems = [w[:5] for w in words if w not in STOP_WORDS and len(w) > 1]
        return cls(frozenset(stems), frozenset(zip(stems, stems[1:])), frozenset(question_types(text)), len(words))


def features(question: Side, candidate: Side, cosine: float) -> list[float]:
    """The feature vector of one (user question, candidate FAQ) pair, in FEATURES order."""
    shared = len(question.stems & candidate.stems)
    union = len(question.stems | candidate.stems)
    typed = bool(question.types) and bool(candidate.types)
    return [
        cosine,
        shared / union if union else 0.0,
        shared / len(candidate.stems) if candidate.stems else 0.0,
        shared / len(question.stems) if question.stems else 0.0,
        len(question.bigrams & candidate.bigrams) / len(candidate.bigrams) if candidate.bigrams else 0.0,
        float(bool(question.types & candidate.types)),
        float(typed and not question.types & candidate.types),
        float(not question.types and not candidate.types),
        abs(math.log((question.length + 1) / (candidate.length + 1))),
        math.log(question.length + 1),
    ]


@dataclass
class RqeModel:
    """Standardised logistic regression: P = sigmoid(((x - mean) / scale) . coef + intercept)."""

    features: tuple[str, ...]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    meta: dict = field(default_factory=dict)

    def probability(self, rows: list[list[float]] | np.ndarray) -> np.ndarray:
        x = (np.asarray(rows, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(x @ np.asarray(self.coef) + self.intercept)))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data["features"] = list(self.features)
        path.write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | None = None) -> RqeModel:
        path = Path(path or MODEL_PATH)
        try:
            data = json.loads(path.read_text())
            model = cls(tuple(data["features"]), data["mean"], data["scale"], data["coef"], float(data["intercept"]),
                        data.get("meta", {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserInputError(f"the RQE re-ranker model {path} is missing or unreadable ({exc}); retrain it with "
                                 f"`vmed knowledge train-rqe` or use knowledge.reranker=rules") from None
        if model.features != FEATURES or not len(model.mean) == len(model.scale) == len(model.coef) == len(FEATURES):
            raise UserInputError(f"the RQE re-ranker model {path} was fitted on other features than this version "
                                 f"computes; retrain it with `vmed knowledge train-rqe`")
        return model


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> RqeModel:
    return RqeModel.load(Path(path) if path else None)


def fit(rows: np.ndarray, labels: np.ndarray, c: float, meta: dict | None = None) -> RqeModel:
    """Fit the standardised logistic regression (scikit-learn, only needed to train)."""
    from sklearn.linear_model import LogisticRegression

    rows = np.asarray(rows, dtype=np.float64)
    mean = rows.mean(0)
    scale = rows.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000).fit((rows - mean) / scale, labels)
    return RqeModel(FEATURES, [float(v) for v in mean], [float(v) for v in scale],
                    [float(v) for v in model.coef_[0]], float(model.intercept_[0]), meta or {})


def pair_rows(pairs: list[tuple[str, str]], encode) -> np.ndarray:
    """Feature rows of (question, candidate) text pairs; `encode(texts) -> unit vectors` gives the cosine."""
    texts = list(dict.fromkeys(t for pair in pairs for t in pair))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths per batch: less padding
    vectors = np.zeros((len(texts), 0), np.float32)
    if texts:
        encoded = encode([texts[i] for i in order])
        vectors = np.zeros_like(encoded)
        vectors[order] = encoded
    row_of = {t: i for i, t in enumerate(texts)}
    sides = {t: Side.of(t) for t in texts}
    return np.array([features(sides[q], sides[c], float(vectors[row_of[q]] @ vectors[row_of[c]])) for q, c in pairs])


# -- training: MEDIQA 2019 RQE training pairs; validation pairs for C only ------------------------------------
RQE_DIR = "mediqa2019/MEDIQA_Task2_RQE"
TRAIN_FILE = "MEDIQA2019-Task2-RQE-TrainingSet-AMIA2016.xml"
VALIDATION_FILE = "MEDIQA2019-Task2-RQE-ValidationSet-AMIA2016.xml"
C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def train(root: Path, encode, held_out: list[str], progress=print) -> RqeModel:
    """Fit on the RQE training pairs minus LiveQA questions (and near copies) and minus near copies of the
    `held_out` questions (the development set); pick C by ROC AUC on the validation pairs."""
    from ..data.sources.mediqa import MediqaRQE, is_liveqa
    from ..data.split import near_copies
    from .evaluate import MEDIQA_QA_DIR

    folder = Path(root) / RQE_DIR
    for name in (TRAIN_FILE, VALIDATION_FILE):
        if not (folder / name).is_file():
            raise UserInputError(f"RQE pairs not found: {folder / name}")
    benchmark = is_liveqa(Path(root) / MEDIQA_QA_DIR)
    dev_copy = near_copies(held_out)
    read = list(MediqaRQE.pairs(folder / TRAIN_FILE))
    kept = [(chq, faq, y) for _, chq, faq, y in read
            if chq and faq and not (benchmark(chq) or benchmark(faq) or dev_copy(chq) or dev_copy(faq))]
    valid = [(chq, faq, y) for _, chq, faq, y in MediqaRQE.pairs(folder / VALIDATION_FILE)
             if chq and faq and not (benchmark(chq) or benchmark(faq))]
    progress(f"training pairs: {len(kept):,} of {len(read):,} ({len(read) - len(kept)} dropped: LiveQA or development-"
             f"set near copies); validation pairs: {len(valid)}")
    x_train = pair_rows([(q, c) for q, c, _ in kept], encode)
    y_train = np.array([y for _, _, y in kept], dtype=int)
    x_valid = pair_rows([(q, c) for q, c, _ in valid], encode)
    y_valid = np.array([y for _, _, y in valid], dtype=int)
    results = []
    for c in C_GRID:
        model = fit(x_train, y_train, c)
        p = model.probability(x_valid)
        results.append((_auc(p, y_valid), float(((p >= 0.5) == y_valid).mean()), c, model))
        progress(f"C={c:g}: validation AUC {results[-1][0]:.3f}, accuracy {results[-1][1]:.3f}")
    auc, accuracy, c, model = max(results, key=lambda r: (r[0], r[1], -r[2]))
    model.meta = {"trained_on": f"{RQE_DIR}/{TRAIN_FILE}", "pairs": len(kept), "dropped": len(read) - len(kept),
                  "C": c, "C_chosen_on": f"{RQE_DIR}/{VALIDATION_FILE}", "validation_auc": round(auc, 4),
                  "validation_accuracy": round(accuracy, 4),
                  "training_accuracy": round(float(((model.probability(x_train) >= 0.5) == y_train).mean()), 4),
                  "encoder": "all-MiniLM-L6-v2 (the index's ONNX export), 128 word pieces"}
    return model
