"""A trained question-entailment (RQE) re-ranker: P(an answer to the candidate FAQ also answers the user's question).

The MedQuAD paper's own method (Ben Abacha & Demner-Fushman, BMC Bioinformatics 2019) re-ranks retrieved
questions with a logistic-regression RQE classifier. This one is trained with scikit-learn on the MEDIQA 2019
Task 2 RQE *training* pairs (consumer/clinical question, FAQ, entailed or not), its regularisation chosen on
the RQE validation pairs (`vmed knowledge train-rqe`), plus hard negatives drawn from MedQuAD itself (its
questions about the same focus with another question type, and about another focus with the same type, among
the candidates dense retrieval returns for a MedQuAD question). Features are cheap at query time: the MiniLM
cosine the dense run already computed, word / bigram overlap, question-type cue agreement, lengths, and the
probability a question-type classifier (trained on MedQuAD's own (question, qtype) labels, over the same MiniLM
vectors) gives the candidate's type for the user's question. The fitted models are a few numbers in JSON files
shipped in the package (assets/knowledge/rqe_lr.json, qtype_lr.json); scoring needs numpy only.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..data.sources.mediqa import QA_FOLDER, RQE_FOLDER, RQE_TRAIN_FILE, RQE_VALIDATION_FILE
from ..errors import UserInputError
from .stores.fts5 import STOP_WORDS, WORD

MODEL_PATH = Path(__file__).resolve().parents[1] / "assets" / "knowledge" / "rqe_lr.json"
QTYPE_FILE = "qtype_lr.json"  # the question-type classifier, beside the RQE model that reads it
# Every feature this version computes; a model uses these or a subset (its file lists them), so a model fitted
# without the classifier's feature still loads. A missing value (NaN: no classifier, or a candidate without a
# MedQuAD question type) is replaced by the feature's training mean, i.e. it moves nothing.
FEATURES = ("cosine", "word_jaccard", "candidate_coverage", "question_coverage", "bigram_overlap", "type_match",
            "type_mismatch", "both_untyped", "length_ratio", "question_length", "qtype_agreement")
BASE_FEATURES = FEATURES[:10]


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


def features(question: Side, candidate: Side, cosine: float, qtype_agreement: float = math.nan) -> list[float]:
    """The feature vector of one (user question, candidate FAQ) pair, in FEATURES order; `qtype_agreement` is
    P(the candidate's question type | the user's question) from the QtypeModel (NaN: unknown)."""
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
        qtype_agreement,
    ]


class QtypeModel:
    """Multinomial logistic regression from a MiniLM unit vector to MedQuAD's question types (treatment,
    symptoms, ...): P(type | question) = softmax(W v + b)."""

    def __init__(self, labels: list[str], coef: list[list[float]], intercept: list[float], meta: dict | None = None):
        self.labels = list(labels)
        self.coef = np.asarray(coef, dtype=np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)
        self.meta = meta or {}
        self.index = {label: i for i, label in enumerate(self.labels)}
        if self.coef.ndim != 2 or self.coef.shape[0] != len(self.labels) != 0 or len(self.intercept) != len(self.labels):
            raise ValueError("the coefficients do not match the labels")

    def probabilities(self, vectors) -> np.ndarray:
        z = np.atleast_2d(np.asarray(vectors, dtype=np.float32)) @ self.coef.T + self.intercept
        z = np.exp(z - z.max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)

    def agreement(self, probabilities: np.ndarray, qtype: str) -> float:
        """P(qtype) from one row of `probabilities`; NaN when the type is not one the classifier knows."""
        return float(probabilities[self.index[qtype]]) if qtype in self.index else math.nan

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"labels": self.labels, "coef": np.round(self.coef, 4).tolist(),
                                    "intercept": np.round(self.intercept, 4).tolist(), "meta": self.meta}) + "\n")

    @classmethod
    def load(cls, path: Path) -> QtypeModel:
        try:
            data = json.loads(Path(path).read_text())
            return cls(data["labels"], data["coef"], data["intercept"], data.get("meta", {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserInputError(f"the question-type classifier {path} is missing or unreadable ({exc}); retrain "
                                 f"it with `vmed knowledge train-rqe`") from None


def fit_qtype(vectors: np.ndarray, labels: list[str], c: float = 1.0, meta: dict | None = None) -> QtypeModel:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=300).fit(np.asarray(vectors, dtype=np.float32), labels)
    return QtypeModel([str(x) for x in model.classes_], model.coef_.tolist(), model.intercept_.tolist(), meta)


@dataclass
class RqeModel:
    """Standardised logistic regression: P = sigmoid(((x - mean) / scale) . coef + intercept), over `features`
    (FEATURES or a subset); reads the question-type classifier `qtype` when it uses qtype_agreement."""

    features: tuple[str, ...]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    meta: dict = field(default_factory=dict)
    qtype: QtypeModel | None = field(default=None, repr=False, compare=False)

    @property
    def uses_qtype(self) -> bool:
        return "qtype_agreement" in self.features

    def probability(self, rows: list[list[float]] | np.ndarray) -> np.ndarray:
        """P(entailment) of rows in FEATURES order (all of them; the model picks its own columns)."""
        return 1.0 / (1.0 + np.exp(-linear_margin(self, rows, FEATURES)))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = asdict(self)
        data.pop("qtype")
        data["features"] = list(self.features)
        if self.qtype is not None:
            self.qtype.save(path.parent / QTYPE_FILE)
            data["meta"] = {**self.meta, "qtype_model": QTYPE_FILE}
        path.write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | None = None) -> RqeModel:
        path = Path(path or MODEL_PATH)
        model = cls(*read_linear(path, FEATURES, "RQE re-ranker",
                                 "retrain it with `vmed knowledge train-rqe` or use knowledge.reranker=rules"))
        if model.uses_qtype:
            model.qtype = QtypeModel.load(path.parent / model.meta.get("qtype_model", QTYPE_FILE))
        return model


def linear_margin(model, rows, known: tuple[str, ...]) -> np.ndarray:
    """((x - mean) / scale) . coef + intercept of a standardised linear model (the RQE model's and the learned
    ranker's, knowledge/ranker.py) over rows in `known` order (the model picks its own columns; a missing value, NaN,
    counts as its training mean)."""
    x = np.asarray(rows, dtype=np.float64).reshape(-1, len(known))[:, [known.index(f) for f in model.features]]
    mean = np.asarray(model.mean)
    x = np.where(np.isnan(x), mean, x)
    return ((x - mean) / np.asarray(model.scale)) @ np.asarray(model.coef) + model.intercept


def read_linear(path: Path, known: tuple[str, ...], what: str, advice: str) -> tuple:
    """A standardised linear model's JSON (features, mean, scale, coef, intercept, meta), the RQE model's and the
    learned ranker's (knowledge/ranker.py) alike; a missing, unreadable or stale file (features this version does not
    compute, lengths that disagree) is one clear error that says what to do (`advice`)."""
    try:
        data = json.loads(Path(path).read_text())
        found = (tuple(data["features"]), data["mean"], data["scale"], data["coef"], float(data["intercept"]),
                 data.get("meta", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserInputError(f"the {what} model {path} is missing or unreadable ({exc}); {advice}") from None
    features, mean, scale, coef = found[:4]
    if set(features) - set(known) or not len(mean) == len(scale) == len(coef) == len(features):
        raise UserInputError(f"the {what} model {path} was fitted on other features than this version computes; {advice}")
    return found


@lru_cache(maxsize=4)
def load_model(path: str | None = None) -> RqeModel:
    return RqeModel.load(Path(path) if path else None)


def fit(rows: np.ndarray, labels: np.ndarray, c: float, meta: dict | None = None, names: tuple[str, ...] | None = None,
        qtype: QtypeModel | None = None, weights: np.ndarray | None = None) -> RqeModel:
    """Fit the standardised logistic regression on the `names` columns of FEATURES-ordered rows (default: all,
    or all but qtype_agreement without a classifier; scikit-learn, only needed to train); a missing value (NaN)
    counts as the column's mean; `weights`: per-row sample weights."""
    from sklearn.linear_model import LogisticRegression

    names = names or (FEATURES if qtype is not None else BASE_FEATURES)
    rows = np.asarray(rows, dtype=np.float64)[:, [FEATURES.index(f) for f in names]]
    known = ~np.isnan(rows)
    mean = np.where(known, rows, 0.0).sum(0) / np.maximum(known.sum(0), 1)
    rows = np.where(known, rows, mean)
    scale = rows.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000).fit((rows - mean) / scale, labels, sample_weight=weights)
    return RqeModel(tuple(names), [float(v) for v in mean], [float(v) for v in scale],
                    [float(v) for v in model.coef_[0]], float(model.intercept_[0]), meta or {}, qtype)


def pair_rows(pairs: list[tuple[str, str]], encode, qtype: QtypeModel | None = None) -> np.ndarray:
    """Feature rows of (question, candidate) text pairs; `encode(texts) -> unit vectors` gives the cosine, and
    with a question-type classifier, qtype_agreement = P(the candidate's most likely type | the question)."""
    texts = list(dict.fromkeys(t for pair in pairs for t in pair))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths per batch: less padding
    vectors = np.zeros((len(texts), 0), np.float32)
    if texts:
        encoded = encode([texts[i] for i in order])
        vectors = np.zeros_like(encoded)
        vectors[order] = encoded
    row_of = {t: i for i, t in enumerate(texts)}
    sides = {t: Side.of(t) for t in texts}
    types = qtype.probabilities(vectors) if qtype is not None and texts else None

    def agreement(q: str, c: str) -> float:
        return math.nan if types is None else float(types[row_of[q], int(types[row_of[c]].argmax())])

    return np.array([features(sides[q], sides[c], float(vectors[row_of[q]] @ vectors[row_of[c]]), agreement(q, c))
                     for q, c in pairs]).reshape(-1, len(FEATURES))


# -- training: MEDIQA 2019 RQE training pairs; validation pairs for C only ------------------------------------
C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


@dataclass
class MedquadSource:
    """MedQuAD as the index holds it: its passages and their question vectors (row i = passage i), and the
    passage ids never to train on (answers judged for the LiveQA benchmark, the development set's gold)."""

    passages: list
    vectors: np.ndarray
    excluded: frozenset[str] = frozenset()

    def usable(self) -> list[int]:
        return [i for i, p in enumerate(self.passages) if p.question and p.qtype and p.id not in self.excluded]


def medquad_source(index, root: Path, passages: list, held_out_ids: set[str] = frozenset()) -> MedquadSource:
    """The MedQuAD `passages` (the caller's, already read: row order, passage i = index row i) and question vectors
    of an opened numpy-store index, without the passages judged for the LiveQA benchmark and the `held_out_ids`
    (the development set's gold passages)."""
    from .evaluate import liveqa_qrels
    from .stores.numpy_store import PREFIX

    path = index.folder / f"{PREFIX}question.npy"
    if not path.is_file():
        raise UserInputError(f"training on MedQuAD pairs reads the index's question vectors ({path}); build the index "
                             f"with the numpy dense store (`vmed knowledge build`), or train with --hard-negatives 0 "
                             f"--no-qtype")
    excluded = liveqa_qrels(root).judged(passages) | set(held_out_ids)
    return MedquadSource(passages, np.load(path, mmap_mode="r"), frozenset(excluded))


def crossfit_qtype(source: MedquadSource, folds: int = 2, c: float = 1.0, seed: int = 0) -> tuple[QtypeModel, np.ndarray]:
    """The question-type classifier fitted on every usable MedQuAD question, and out-of-fold P(type | question)
    per passage row (NaN rows for unusable passages), so that training pairs see the classifier's errors as the
    user's questions will, not its memory of its own training questions."""
    rows = np.asarray(source.usable())
    labels = [source.passages[i].qtype for i in rows]
    vectors = np.asarray(source.vectors[rows], dtype=np.float32)
    model = fit_qtype(vectors, labels, c)
    out = np.full((len(source.passages), len(model.labels)), np.nan, dtype=np.float32)
    fold = np.random.default_rng(seed).integers(0, folds, len(rows))
    correct = 0
    for k in range(folds):
        part = fit_qtype(vectors[fold != k], [t for t, f in zip(labels, fold) if f != k], c)
        probabilities = np.zeros((int((fold == k).sum()), len(model.labels)), dtype=np.float32)
        probabilities[:, [model.index[label] for label in part.labels]] = part.probabilities(vectors[fold == k])
        out[rows[fold == k]] = probabilities
        correct += sum(model.labels[j] == t for j, t in zip(probabilities.argmax(1), np.asarray(labels)[fold == k]))
    model.meta = {"trained_on": "MedQuAD questions + focus (the index's MiniLM vectors) -> qtype", "questions": len(rows),
                  "C": c, f"{folds}_fold_accuracy": round(correct / len(rows), 4)}
    return model, out


def medquad_pairs(source: MedquadSource, probabilities: np.ndarray | None, qtype: QtypeModel | None, queries: int = 2000,
                  depth: int = 30, per_kind: int = 2, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, int], list[tuple[int, int]]]:
    """Training pairs from MedQuAD itself, for what the MEDIQA pairs lack (their negatives are random pairs):
    a sample of MedQuAD questions, each against the candidates dense retrieval returns for it (the `depth`
    nearest questions), the best-ranked `per_kind` of each kind: the same focus and question type from another
    source (entailed), the same focus with another type and another focus with the same type (hard negatives).
    `probabilities`: out-of-fold P(type | question) per row (crossfit_qtype), for qtype_agreement. Returns the
    feature rows, labels, counts per kind and the (question row, candidate row) pairs."""
    usable = source.usable()
    allowed = np.zeros(len(source.passages), bool)
    allowed[usable] = True
    rng = np.random.default_rng(seed)
    picked = rng.choice(np.asarray(usable), size=min(queries, len(usable)), replace=False)
    focus = [p.focus.lower().strip() for p in source.passages]
    rows, labels, pairs, counts = [], [], [], {"entailed": 0, "same focus, other type": 0, "other focus, same type": 0}
    for start in range(0, len(picked), 256):
        batch = picked[start:start + 256]
        scores = np.asarray(source.vectors[batch], dtype=np.float32) @ np.asarray(source.vectors, dtype=np.float32).T
        for q, row in zip(batch, scores):
            top = np.argpartition(-row, min(depth, len(row) - 1))[: depth + 1]
            query = source.passages[q]
            taken = dict.fromkeys(counts, 0)
            for c in top[np.argsort(-row[top])]:
                candidate = source.passages[c]
                if c == q or not allowed[c]:
                    continue
                same_focus, same_type = focus[c] == focus[q], candidate.qtype == query.qtype
                kind = ("entailed" if same_type else "same focus, other type") if same_focus else \
                    ("other focus, same type" if same_type else None)
                if kind is None or taken[kind] >= per_kind:
                    continue
                taken[kind] += 1
                agreement = qtype.agreement(probabilities[q], candidate.qtype) if qtype is not None else math.nan
                rows.append(features(cached_side(query.question), cached_side(candidate.question), float(row[c]),
                                     agreement))
                labels.append(int(kind == "entailed"))
                pairs.append((int(q), int(c)))
            for kind, n in taken.items():
                counts[kind] += n
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES)), np.asarray(labels, dtype=int), counts, pairs


Pair = tuple[str, str, int]  # (consumer question, FAQ, entailed 0/1)


def mediqa_pairs(root: Path, held_out: list[str], progress=print) -> tuple[list[Pair], list[Pair], int]:
    """The MEDIQA 2019 RQE training pairs minus LiveQA questions (and near copies) and near copies of the
    `held_out` questions (the development set), the validation pairs minus LiveQA questions, and how many
    training pairs the file holds; every RQE model (logistic regression, cross-encoder) trains on these."""
    from ..data.sources.mediqa import MediqaRQE, is_liveqa
    from ..data.split import near_copies

    folder = Path(root) / RQE_FOLDER
    for name in (RQE_TRAIN_FILE, RQE_VALIDATION_FILE):
        if not (folder / name).is_file():
            raise UserInputError(f"RQE pairs not found: {folder / name}")
    benchmark = is_liveqa(Path(root) / QA_FOLDER)
    dev_copy = near_copies(held_out)
    read = list(MediqaRQE.pairs(folder / RQE_TRAIN_FILE))
    kept = [(chq, faq, int(y)) for _, chq, faq, y in read
            if chq and faq and not (benchmark(chq) or benchmark(faq) or dev_copy(chq) or dev_copy(faq))]
    valid = [(chq, faq, int(y)) for _, chq, faq, y in MediqaRQE.pairs(folder / RQE_VALIDATION_FILE)
             if chq and faq and not (benchmark(chq) or benchmark(faq))]
    progress(f"training pairs: {len(kept):,} of {len(read):,} ({len(read) - len(kept)} dropped: LiveQA or development-"
             f"set near copies); validation pairs: {len(valid)}")
    return kept, valid, len(read)


def mediqa_hard_pairs(pairs: list[Pair], encode, per_question: int = 1, depth: int = 20,
                      max_similarity: float = 0.9) -> list[Pair]:
    """Hard negatives mined from the RQE training pairs themselves: for each question with an entailed FAQ, the
    `per_question` FAQs of *other* questions nearest to it (MiniLM cosine, among its `depth` nearest FAQs), labelled
    not entailed: the same topic asked differently, which the file's random negatives never show (its validation
    pairs and the re-ranker's candidates do). Skipped as likely false negatives: an FAQ that is one of the
    question's own entailed FAQs or within `max_similarity` cosine of one, and an FAQ whose own questions are within
    `max_similarity` of this question (the collection holds the same question asked twice). `encode(texts)` gives
    unit vectors. The pairs come from `pairs` only, so what mediqa_pairs dropped (LiveQA, development copies) stays out."""
    entailed: dict[str, list[str]] = {}
    for chq, faq, label in pairs:
        if label and faq not in entailed.setdefault(chq, []):
            entailed[chq].append(faq)
    questions = [q for q, faqs in entailed.items() if faqs]
    faqs = list(dict.fromkeys(f for q in questions for f in entailed[q]))
    if not questions or len(faqs) < 2:
        return []
    owners: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        for f in entailed[q]:
            owners.setdefault(f, []).append(i)
    texts = list(dict.fromkeys(questions + faqs))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths per batch: less padding
    encoded = np.asarray(encode([texts[i] for i in order]), dtype=np.float32)
    vectors = np.zeros_like(encoded)
    vectors[order] = encoded
    row_of = {t: i for i, t in enumerate(texts)}
    q_vectors = vectors[[row_of[q] for q in questions]]
    f_vectors = vectors[[row_of[f] for f in faqs]]
    faq_row = {f: i for i, f in enumerate(faqs)}
    depth = min(depth, len(faqs))
    mined: list[Pair] = []
    for start in range(0, len(questions), 512):
        scores = q_vectors[start:start + 512] @ f_vectors.T
        for offset, row in enumerate(scores):
            i = start + offset
            own = [faq_row[f] for f in entailed[questions[i]]]
            nearest = np.argpartition(-row, depth - 1)[:depth]
            taken = 0
            for j in nearest[np.argsort(-row[nearest])]:
                if j in own or (f_vectors[own] @ f_vectors[j]).max() >= max_similarity or \
                        (q_vectors[owners[faqs[j]]] @ q_vectors[i]).max() >= max_similarity:
                    continue
                mined.append((questions[i], faqs[j], 0))
                taken += 1
                if taken >= per_question:
                    break
    return mined


def memoised(encode):
    """`encode` that embeds each distinct text once (mining and the feature rows read the same questions)."""
    cache: dict[str, np.ndarray] = {}

    def wrapped(texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, np.asarray(encode(missing), dtype=np.float32)))
        return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)

    return wrapped


@lru_cache(maxsize=65536)
def cached_side(text: str) -> Side:
    """Side.of, memoised: MedQuAD's questions recur across queries (training pairs, re-ranked candidates)."""
    return Side.of(text)


def train(root: Path, encode, held_out: list[str], progress=print, medquad: MedquadSource | None = None,
          hard_queries: int = 2000, use_qtype: bool = True, hard_weight: float = 1.0, mediqa_hard: int = 0) -> RqeModel:
    """Fit on the RQE training pairs minus LiveQA questions (and near copies) and minus near copies of the
    `held_out` questions (the development set), plus `mediqa_hard` hard negatives per training question mined from
    those pairs themselves (mediqa_hard_pairs; 0: none), plus, given `medquad`, hard pairs from MedQuAD itself
    (`hard_queries` sampled questions; 0: none; each pair weighs `hard_weight` MEDIQA pairs) and the
    question-type classifier's feature (`use_qtype`); pick C by ROC AUC on the validation pairs."""
    kept, valid, read = mediqa_pairs(root, held_out, progress)
    encode = memoised(encode)
    mined: list[Pair] = []
    if mediqa_hard:
        mined = mediqa_hard_pairs(kept, encode, per_question=mediqa_hard)
        progress(f"hard negatives mined from the training pairs: {len(mined):,} ({mediqa_hard} per question at most)")
        kept = kept + mined
    qtype, probabilities = None, None
    if medquad is not None and use_qtype:
        qtype, probabilities = crossfit_qtype(medquad)
        progress(f"question-type classifier: {qtype.meta['questions']:,} MedQuAD questions, {len(qtype.labels)} types, "
                 f"out-of-fold accuracy {qtype.meta['2_fold_accuracy']:.3f}")
    x_train = pair_rows([(q, c) for q, c, _ in kept], encode, qtype)
    y_train = np.array([y for _, _, y in kept], dtype=int)
    hard: dict[str, int] = {}
    if medquad is not None and hard_queries:
        x_hard, y_hard, hard, _ = medquad_pairs(medquad, probabilities, qtype, hard_queries)
        progress(f"MedQuAD pairs from {hard_queries:,} sampled questions: " + ", ".join(f"{n:,} {k}" for k, n in hard.items()))
        weights = np.concatenate([np.ones(len(y_train)), np.full(len(y_hard), hard_weight)])
        x_train, y_train = np.vstack([x_train, x_hard]), np.concatenate([y_train, y_hard])
    else:
        weights = np.ones(len(y_train))
    x_valid = pair_rows([(q, c) for q, c, _ in valid], encode, qtype)
    y_valid = np.array([y for _, _, y in valid], dtype=int)
    names = FEATURES if qtype is not None else BASE_FEATURES
    results = []
    for c in C_GRID:
        model = fit(x_train, y_train, c, names=names, qtype=qtype, weights=weights)
        p = model.probability(x_valid)
        results.append((auc(p, y_valid), float(((p >= 0.5) == y_valid).mean()), c, model))
        progress(f"C={c:g}: validation AUC {results[-1][0]:.3f}, accuracy {results[-1][1]:.3f}")
    best_auc, accuracy, c, model = max(results, key=lambda r: (r[0], r[1], -r[2]))
    model.meta = {"trained_on": f"{RQE_FOLDER}/{RQE_TRAIN_FILE}", "pairs": len(kept) - len(mined),
                  "dropped": read - len(kept) + len(mined),
                  **({"mediqa_hard_negatives": len(mined), "mediqa_hard_per_question": mediqa_hard} if mined else {}),
                  **({"medquad_pairs": hard, "medquad_pair_weight": hard_weight} if hard else {}),
                  "C": c, "C_chosen_on": f"{RQE_FOLDER}/{RQE_VALIDATION_FILE}",
                  "validation_auc": round(best_auc, 4), "validation_accuracy": round(accuracy, 4),
                  "training_accuracy": round(float(((model.probability(x_train) >= 0.5) == y_train).mean()), 4),
                  "encoder": "all-MiniLM-L6-v2 (the index's ONNX export), 128 word pieces"}
    if qtype is not None:
        model.meta["qtype"] = qtype.meta
    return model
