"""Supervised fine-tuning data and loss, shared by LoRA and full training.

Prompts come from `prompts.build_prompt` (the same text inference sends). Labels are -100 on the prompt
(unless train_on_inputs) and on padding (transformers' DataCollatorForSeq2Seq); EOS closes every complete
response. Batches are grouped by length (transformers' LengthGroupedSampler) so right padding stays small,
and the loss applies the (huge) LM head only where labels exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.sources.alpaca_json import alpaca_list
from ..data.store import TEXT_FIELDS, read_jsonl
from ..errors import UserInputError
from ..paths import read_text_file
from ..prompts import build_prompt

IGNORE = -100


def read_alpaca(paths: list[str | Path]) -> list[dict]:
    """Records from Alpaca JSON (a list) or JSONL files; each needs instruction and output."""
    records = []
    for raw in paths:
        path = Path(raw).expanduser()
        text = read_text_file(path, "training data")  # not UTF-8 was a UnicodeDecodeError traceback
        # JSONL: the text already read, as bytes (read_jsonl reads bytes), not a second read of the file
        items = (alpaca_list(path, text) if text.lstrip().startswith("[")
                 else list(read_jsonl(path, data=text.encode("utf-8"))))
        for n, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("instruction") or "output" not in item:
                raise UserInputError(f"{path} record {n}: needs 'instruction' and 'output'")
            # an "instruction": 5 or "output": null trained on the text "5" / "None"
            wrong = [k for k in TEXT_FIELDS if k in item and not isinstance(item[k], str)
                     and not (k == "input" and item[k] is None)]
            if wrong:
                raise UserInputError(f"{path} record {n}: '{wrong[0]}' must be text, not {type(item[wrong[0]]).__name__}")
            records.append(item)
    if not records:
        raise UserInputError(f"no training records in {', '.join(map(str, paths))}")
    return records


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


def encode(record: dict, tokenizer, max_length: int, train_on_inputs: bool = False) -> Example:
    """Prompt + response + EOS, cut to max_length; a cut response loses its EOS (it did not end there)."""
    prompt = build_prompt(record["instruction"], record.get("input") or None)
    prompt_ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    response_ids = tokenizer(str(record["output"]), add_special_tokens=False)["input_ids"]
    response_ids = response_ids + [tokenizer.eos_token_id]
    ids = (prompt_ids + response_ids)[:max_length]
    n_prompt = min(len(prompt_ids), len(ids))
    labels = list(ids) if train_on_inputs else [IGNORE] * n_prompt + ids[n_prompt:]
    return Example(ids, labels)


def encode_all(records: list[dict], tokenizer, max_length: int, train_on_inputs: bool = False) -> list[Example]:
    """Encoded examples, dropping the ones whose prompt alone fills max_length (nothing left to learn)."""
    examples = [encode(r, tokenizer, max_length, train_on_inputs) for r in records]
    return [e for e in examples if any(label != IGNORE for label in e.labels)]


def features(example: Example) -> dict:
    """One row for transformers' DataCollatorForSeq2Seq (which pads labels with -100)."""
    return {"input_ids": example.input_ids, "attention_mask": [1] * len(example), "labels": example.labels}


def collator(tokenizer):
    """Right-padded tensors; labels are -100 wherever there is padding."""
    from transformers import DataCollatorForSeq2Seq

    tokenizer.padding_side = "right"
    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE, return_tensors="pt")


def collate(examples: list[Example], tokenizer):
    return collator(tokenizer)([features(e) for e in examples])


def length_grouped_sampler(lengths: list[int], micro_batch: int, seed: int):
    """transformers' LengthGroupedSampler (shuffled, then sorted by length inside mega-batches of 50 batches)
    whose order is a function of (seed, epoch): accelerate's set_epoch picks it, so a resumed run sees the
    batches an uninterrupted one would."""
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class EpochLengthGroupedSampler(LengthGroupedSampler):
        epoch = 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __iter__(self):
            self.generator.manual_seed(seed + self.epoch)
            return super().__iter__()

    return EpochLengthGroupedSampler(micro_batch, lengths=lengths, generator=torch.Generator())


def target_count(batch) -> int:
    """Tokens the loss is taken on (labels shift by one)."""
    return int((batch["labels"][:, 1:] != IGNORE).sum())


def causal_lm(model):
    """The *ForCausalLM module under peft / accelerate wrappers."""
    model = getattr(model, "module", model)
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model


def summed_loss(model, batch, response_only: bool = True):
    """(sum of token losses, number of target tokens). With response_only the decoder runs once and the LM
    head is applied only at positions whose next token is a label: on Gemma's 262k vocabulary that is most
    of the saving."""
    if response_only:
        return labelled_loss(model, batch["labels"], input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    import torch.nn.functional as F

    targets = batch["labels"][:, 1:]
    keep = targets != IGNORE
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1]
    return F.cross_entropy(logits[keep].float(), targets[keep], reduction="sum"), keep.sum()


def labelled_loss(model, labels, **inputs):
    """(sum of token losses, number of target tokens): the decoder runs once on `inputs` (input_ids or
    inputs_embeds, attention_mask) and the LM head (with the model's final-logit soft-capping) only at positions
    whose next token is a label (not IGNORE). The SFT recipe and the VLM's training both take their loss here."""
    import torch.nn.functional as F

    lm = causal_lm(model)
    decoder = getattr(lm, lm.base_model_prefix)
    hidden = decoder(**inputs).last_hidden_state
    targets = labels[:, 1:]
    keep = targets != IGNORE
    logits = lm.get_output_embeddings()(hidden[:, :-1][keep])
    cap = getattr(lm.config, "final_logit_softcapping", None)
    if cap:
        logits = (logits / cap).tanh() * cap
    return F.cross_entropy(logits.float(), targets[keep], reduction="sum"), keep.sum()
