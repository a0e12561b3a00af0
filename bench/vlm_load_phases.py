"""Phases of loading vlm:default in a fresh process (wall seconds), to see what a one-shot `vmed ask` pays.

    PYTHONPATH=. python bench/vlm_load_phases.py
"""
import argparse
import time

argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
t0 = time.perf_counter(); marks = []
def mark(name):
    global t0
    now = time.perf_counter(); marks.append((name, round(now - t0, 2))); t0 = now
import torch; torch.set_num_threads(2); mark("import torch")
import transformers; from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer; mark("import transformers")
from visual_med_alpaca.llm.hf import resolve_model_source
src = resolve_model_source("default"); AutoConfig.from_pretrained(src); mark("resolve source + config")
from visual_med_alpaca.llm.hf import load_tokenizer
tok = load_tokenizer(src); mark("tokenizer: load_tokenizer (what the VLM and hf backends use)")
old = AutoTokenizer.from_pretrained(src); mark("tokenizer: AutoTokenizer.from_pretrained (before; not on the load path)")
assert all(tok(t)["input_ids"] == old(t)["input_ids"] for t in ("Is there a fracture?", "<image>\nQuestion: x\nAnswer:"))
lm = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32); mark("model weights (incl. gemma3 module import)")
from visual_med_alpaca.vlm.bundle import DEFAULT_BUNDLE, merge_adapter
assert merge_adapter(lm, DEFAULT_BUNDLE / "adapter"); mark("LoRA merge: merge_adapter (the load path now, no peft)")
ref = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32); mark("model weights again (for the comparison below)")
from peft import PeftModel; mark("import peft (before; not on the load path now)")
ref = PeftModel.from_pretrained(ref, str(DEFAULT_BUNDLE / "adapter")).merge_and_unload(); mark("LoRA load + merge through peft (before; not on the load path now)")
theirs = ref.state_dict()
differ = [n for n, t in lm.state_dict().items() if not torch.equal(t, theirs[n])]
print(f"merge_adapter vs peft merge_and_unload on the shipped bundle: {len(theirs)} tensors, {len(differ)} differ")
del ref, theirs; mark("(comparison)")
from visual_med_alpaca.vlm.encoders import load_encoder
load_encoder("efficientnet-lite0"); mark("EfficientNet-Lite0")
from visual_med_alpaca.pipeline import Assistant
a = Assistant.from_config(None, **{"llm.model": "vlm:default", "llm.threads": 2}); a.llm; mark("whole VLMBackend.from_config again (warm caches)")
for n, s in marks: print(f"| {n} | {s} |")
