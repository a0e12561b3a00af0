"""The LLaVA-style model: projector (LLaVA-1.5's Linear-GELU-Linear) + image tokens spliced into the language
model's input embeddings at the `<image>` placeholder. Works with any transformers causal LM (Gemma-3-270M by
default), with or without a peft LoRA; the encoder stays outside so training can read cached feature maps.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from ..errors import UserInputError
from ..train.sft import IGNORE, causal_lm, labelled_loss
from .encoders import pool_tokens

IMAGE_PLACEHOLDER = "<image>"
# Short on purpose: every prompt token costs training time on CPU. `facts` is the expert's text, when used.
TEMPLATE = "<image>\n{facts}Question: {question}\nAnswer:"
FACTS_LINE = "Image facts: {text}\n"
CAPTION_QUESTION = "Describe the image."


def build_vlm_prompt(question: str, facts: str | None = None, has_image: bool = True) -> str:
    prompt = TEMPLATE.format(question=question.strip(), facts=FACTS_LINE.format(text=facts.strip()) if facts else "")
    return prompt if has_image else prompt.replace(IMAGE_PLACEHOLDER + "\n", "", 1)


class Projector(nn.Module):
    """LLaVA-1.5 `mlp2x_gelu`: image feature -> language-model embedding width."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.net = nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))

    def forward(self, x):
        return self.net(x)


class VisionLanguageModel(nn.Module):
    def __init__(self, lm, tokenizer, projector: Projector, grid: int):
        super().__init__()
        self.lm = lm
        self.projector = projector
        self.tokenizer = tokenizer
        self.grid = grid
        width = lm.get_input_embeddings().embedding_dim
        if projector.out_dim != width:
            raise UserInputError(f"the projector outputs {projector.out_dim}-d tokens but the language model's "
                                 f"embeddings are {width}-d: it was trained for another language model")
        if tokenizer.eos_token_id is None:
            raise UserInputError("the language model's tokenizer has no EOS token")
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    @property
    def device(self):
        return self.projector.net[0].weight.device

    # -- inputs -------------------------------------------------------------------------------------
    def image_tokens(self, maps):
        """(n, c, h, w) feature maps -> (n, grid*grid, width) embeddings."""
        if maps.shape[1] != self.projector.in_dim:
            raise UserInputError(f"the image encoder gives {maps.shape[1]}-channel features but the projector "
                                 f"expects {self.projector.in_dim}: it was trained for another encoder")
        return self.projector(pool_tokens(maps.to(self.device), self.grid))

    def _pieces(self, prompt: str, answer: str | None):
        """Token ids before and after the placeholder (before starts with BOS), and of the answer + EOS."""
        tok = self.tokenizer
        before, found, after = prompt.partition(IMAGE_PLACEHOLDER)
        if not found:
            before, after = prompt, ""
        ids_before = tok(before)["input_ids"]
        ids_after = tok(after, add_special_tokens=False)["input_ids"] if after else []
        ids_answer = tok(" " + answer.strip(), add_special_tokens=False)["input_ids"] + [tok.eos_token_id] \
            if answer is not None else []
        return ids_before, found, ids_after, ids_answer

    def embed(self, prompts: list[str], images, answers: list[str] | None = None, max_answer_tokens: int | None = None):
        """Right-padded inputs_embeds, attention_mask and labels (answer tokens only) for a batch.
        `images`: projected image tokens (n, k, width) or None; a prompt without the placeholder gets none."""
        embed = self.lm.get_input_embeddings()
        rows, labels = [], []
        for i, prompt in enumerate(prompts):
            before, found, after, answer = self._pieces(prompt, answers[i] if answers else None)
            if max_answer_tokens and len(answer) > max_answer_tokens:
                answer = answer[:max_answer_tokens]
            ids = torch.tensor(before + after + answer, device=self.device)
            text = embed(ids)
            parts = [text[:len(before)]]
            image_len = 0
            if found and images is not None:
                parts.append(images[i].to(text.dtype))
                image_len = images[i].shape[0]
            parts.append(text[len(before):])
            rows.append(torch.cat(parts))
            labels.append([IGNORE] * (len(before) + image_len + len(after)) + answer)
        width = max(r.shape[0] for r in rows)
        dim = rows[0].shape[1]
        inputs = torch.zeros(len(rows), width, dim, dtype=rows[0].dtype, device=self.device)
        mask = torch.zeros(len(rows), width, dtype=torch.long, device=self.device)
        target = torch.full((len(rows), width), IGNORE, dtype=torch.long, device=self.device)
        for i, row in enumerate(rows):
            inputs[i, :row.shape[0]] = row
            mask[i, :row.shape[0]] = 1
            target[i, :row.shape[0]] = torch.tensor(labels[i], device=self.device)
        return inputs, mask, target

    # -- training -----------------------------------------------------------------------------------
    def forward(self, features, prompts: list[str], answers: list[str], max_answer_tokens: int | None = None):
        """Training: (summed answer-token loss, answer tokens) for cached feature maps (n, c, h, w). The training
        engine calls this through the wrapper accelerate puts around the model (DDP, FSDP), so the wrapper's
        forward runs: DDP syncs gradients and FSDP gathers shards only for a forward that goes through it."""
        inputs, mask, labels = self.embed(prompts, self.image_tokens(features), answers, max_answer_tokens)
        return self.summed_loss(inputs, mask, labels)

    def summed_loss(self, inputs, mask, labels):
        """(sum of answer-token losses, count). The LM head runs only where a label is (262k-word vocabulary)."""
        return labelled_loss(self.lm, labels, inputs_embeds=inputs, attention_mask=mask)

    # -- inference ----------------------------------------------------------------------------------
    def prompt_embeddings(self, prompt: str, image_tokens=None):
        inputs, mask, _ = self.embed([prompt], None if image_tokens is None else image_tokens[None])
        return inputs, mask

    def count_tokens(self, prompt: str, with_image: bool) -> int:
        before, found, after, _ = self._pieces(prompt, None)
        return len(before) + len(after) + (self.grid * self.grid if found and with_image else 0)

    def _logprobs_at(self, embeds, positions):
        """log-softmax of the next-token logits at `positions` only (the LM head is 262k words wide on Gemma)."""
        lm = causal_lm(self.lm)
        decoder = getattr(lm, lm.base_model_prefix)
        hidden = decoder(inputs_embeds=embeds, attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long,
                                                                         device=self.device)).last_hidden_state
        logits = lm.get_output_embeddings()(hidden[0, positions]).float()
        cap = getattr(lm.config, "final_logit_softcapping", None)
        if cap:
            logits = (logits / cap).tanh() * cap
        return torch.log_softmax(logits, dim=-1)

    @torch.inference_mode()
    def score_continuations(self, prompt: str, image_tokens, continuations: list[str]) -> list[float]:
        """Sum of token log-probabilities of each continuation; one decoder pass when all are one token long."""
        inputs, _ = self.prompt_embeddings(prompt, image_tokens)
        start = inputs.shape[1]
        options = [self.tokenizer(text, add_special_tokens=False)["input_ids"] for text in continuations]
        if all(len(ids) == 1 for ids in options):
            logprobs = self._logprobs_at(inputs, [start - 1])[0]
            return [float(logprobs[ids[0]]) for ids in options]
        embed = self.lm.get_input_embeddings()
        scores = []
        for ids in options:
            full = torch.cat([inputs[0], embed(torch.tensor(ids, device=self.device))])[None]
            logprobs = self._logprobs_at(full, list(range(start - 1, start - 1 + len(ids))))
            scores.append(float(logprobs[torch.arange(len(ids)), torch.tensor(ids)].sum()))
        return scores

    def stream(self, prompt: str, image_tokens, settings) -> Iterator[str]:
        """Streamed generation from the spliced embeddings, through the hf backend's one generation loop."""
        from ..llm.hf import HFModel

        with torch.inference_mode():
            inputs, mask = self.prompt_embeddings(prompt, image_tokens)
        runner = HFModel(causal_lm(self.lm), self.tokenizer, name="vlm", device=str(self.device))
        return runner.stream(prompt, settings, inputs={"inputs_embeds": inputs, "attention_mask": mask},
                             stop_strings=False)
