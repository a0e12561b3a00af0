"""Tokens/s of `vmed train lora` vs a plain peft + transformers.Trainer loop: same model, data, batch, steps.

python bench/bench_train.py                       # tiny Llama with a 65k vocabulary (head-heavy like Gemma)
python bench/bench_train.py --model default       # the embedded Gemma-3-270M (slow on a shared CPU)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from _common import threads  # noqa: E402


def tiny_model(path: Path, vocab: int) -> str:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from conftest import build_tokenizer

    torch.manual_seed(0)
    tok = build_tokenizer()
    config = LlamaConfig(vocab_size=vocab, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def run_ours(cfg) -> dict:
    from visual_med_alpaca.train.trainer import train

    return train(cfg, progress=False)


def run_hf_trainer(cfg, out: Path) -> dict:
    """The usual recipe: peft model, DataCollatorForSeq2Seq (pads -100), Trainer with group_by_length."""
    import torch
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    from visual_med_alpaca.train import sft
    from visual_med_alpaca.train.trainer import load_model_and_tokenizer

    torch.manual_seed(cfg.seed)
    model, tok = load_model_and_tokenizer(cfg)
    examples = sft.encode_all(sft.read_alpaca(cfg.data.train)[: cfg.data.max_examples], tok, cfg.max_length)
    rows = [{"input_ids": e.input_ids, "attention_mask": [1] * len(e), "labels": e.labels} for e in examples]
    base = DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100)
    seen = {"real": 0, "grid": 0}

    def collate(features):
        batch = base(features)
        seen["real"] += int(batch["attention_mask"].sum())
        seen["grid"] += batch["attention_mask"].numel()
        return batch

    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=cfg.micro_batch_size,
        gradient_accumulation_steps=cfg.batch_size // cfg.micro_batch_size, max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate, lr_scheduler_type="cosine", warmup_steps=int(cfg.max_steps * cfg.warmup_ratio),
        train_sampling_strategy="group_by_length", save_strategy="no", report_to=[], logging_steps=1000, use_cpu=True,
        seed=cfg.seed, disable_tqdm=True, dataloader_num_workers=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collate)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    return {"tokens_per_s": seen["real"] / seconds, "padding_waste": 1 - seen["real"] / seen["grid"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="default | HF folder (default: tiny Llama, big vocab)")
    parser.add_argument("--vocab", type=int, default=65536)
    parser.add_argument("--data", default=None, help="Alpaca JSON (default: medical_meadow_small.json in the data folder)")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--micro", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=threads, default=2)
    args = parser.parse_args()

    import torch

    from visual_med_alpaca.train.config import TrainConfig
    from visual_med_alpaca.train.medical_data import alpaca_questions, write_jsonl

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    data = tmp / "data.jsonl"
    from visual_med_alpaca.paths import data_dir

    source = Path(args.data) if args.data else data_dir(None, "medical_meadow") / "medical_meadow/medical_meadow_small.json"
    write_jsonl(alpaca_questions(source, "medical_meadow", 500)[: args.batch * args.steps], data)
    model = args.model or tiny_model(tmp / "tiny", args.vocab)
    common = {"model": model, "data": {"train": [str(data)], "val_fraction": 0.0}, "batch_size": args.batch,
              "micro_batch_size": args.micro, "max_steps": args.steps, "max_length": args.max_length,
              "learning_rate": 1e-4, "save_steps": 10**6, "eval_steps": 10**6, "threads": args.threads,
              "report_to": ["none"]}
    rows = []
    hf = run_hf_trainer(TrainConfig.model_validate({**common, "output_dir": str(tmp / "hf")}), tmp / "hf")
    rows.append(("peft + transformers.Trainer (group_by_length)", hf["tokens_per_s"], hf["padding_waste"]))
    for response_only in (False, True):
        cfg = TrainConfig.model_validate({**common, "output_dir": str(tmp / f"ours-{response_only}"),
                                          "response_only_logits": response_only})
        m = run_ours(cfg)
        rows.append((f"vmed train lora (response_only_logits={response_only})", m["tokens_per_s"], m["padding_waste"]))
    print(f"model: {model if args.model else f'tiny Llama (4 layers, d=256, vocab {args.vocab})'}; "
          f"batch {args.batch} = {args.micro} x {args.batch // args.micro}, {args.steps} steps, "
          f"max length {args.max_length}, {args.threads} threads")
    print(f"{'trainer':<52} {'tokens/s':>9} {'vs Trainer':>10} {'padding waste':>14}")
    for name, tps, waste in rows:
        print(f"{name:<52} {tps:>9.0f} {tps / rows[0][1]:>9.2f}x {waste:>13.1%}")
    print(json.dumps({name: {"tokens_per_s": tps, "padding_waste": waste} for name, tps, waste in rows}))


if __name__ == "__main__":
    main()
