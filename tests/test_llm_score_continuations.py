"""Option log-likelihood scoring (`score_continuations`) checked against a plain forward pass."""

import numpy as np
import pytest

from visual_med_alpaca.config import LLMConfig
from visual_med_alpaca.llm import load_language_model
from visual_med_alpaca.prompts import build_prompt

PROMPT = build_prompt("Is aspirin a drug? Answer yes or no.")
OPTIONS = ["yes", "no", "maybe", "Yes, it is a drug"]


def _logsoftmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def test_hf_batched_scores_equal_one_sequence_at_a_time(tiny_llama_dir):
    import torch

    llm = load_language_model(LLMConfig(backend="hf", model=str(tiny_llama_dir)))
    scores = llm.score_continuations(PROMPT, OPTIONS)
    prompt_ids = llm.tokenizer(PROMPT)["input_ids"]
    for option, score in zip(OPTIONS, scores):
        ids = llm.tokenizer(option, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            logits = llm.model(input_ids=torch.tensor([prompt_ids + ids])).logits[0].numpy()
        lp = _logsoftmax(logits)
        expected = sum(lp[len(prompt_ids) - 1 + i, t] for i, t in enumerate(ids))
        assert score == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_gguf_scores_equal_llama_cpp_token_by_token(gemma_gguf):
    from llama_cpp import Llama

    llm = load_language_model(LLMConfig(backend="gguf", model=str(gemma_gguf), n_ctx=256, threads=1, adapter="none"))
    options = ["yes", "maybe", "Yes, it is"]
    scores = llm.score_continuations(PROMPT, options)
    ref = Llama(model_path=str(gemma_gguf), n_ctx=256, n_threads=1, logits_all=True, verbose=False)
    prompt_tokens = ref.tokenize(PROMPT.encode(), add_bos=True, special=False)
    for option, score in zip(options, scores):
        tokens = ref.tokenize(option.encode(), add_bos=False, special=False)
        ref.reset()
        ref.eval(prompt_tokens)  # same batch shapes as the backend: prompt, then one token at a time
        total = 0.0
        for i, token in enumerate(tokens):
            total += _logsoftmax(ref.scores[ref.n_tokens - 1])[token]
            ref.eval([token])
        assert score == pytest.approx(total, abs=1e-3)
    assert scores[0] > scores[1]  # "yes" is likelier than "maybe" after a yes/no question
