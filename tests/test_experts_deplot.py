"""DePlot expert plumbing with a tiny random Pix2Struct model (random weights: the text is noise,
but loading by path, header rendering offline, generation and decoding are all real)."""

import numpy as np
import pytest
from PIL import Image

from conftest import build_tokenizer
from visual_med_alpaca.errors import UserInputError
from visual_med_alpaca.images import from_pil


@pytest.fixture(scope="module")
def tiny_deplot_dir(tmp_path_factory):
    from transformers import (Pix2StructConfig, Pix2StructForConditionalGeneration, Pix2StructImageProcessor,
                              Pix2StructProcessor, Pix2StructTextConfig, Pix2StructVisionConfig)

    path = tmp_path_factory.mktemp("tiny_deplot")
    tokenizer = build_tokenizer()
    text = Pix2StructTextConfig(vocab_size=len(tokenizer), hidden_size=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
                                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                                decoder_start_token_id=tokenizer.pad_token_id)
    vision = Pix2StructVisionConfig(hidden_size=32, patch_embed_hidden_size=768, d_ff=64, d_kv=8, num_hidden_layers=1,
                                    num_attention_heads=4)
    config = Pix2StructConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), is_vqa=True)
    Pix2StructForConditionalGeneration(config).save_pretrained(path)
    Pix2StructProcessor(Pix2StructImageProcessor(is_vqa=True, max_patches=64), tokenizer).save_pretrained(path)
    return path


def test_deplot_returns_the_decoded_table_and_stops_at_eos(tiny_deplot_dir):
    """The decoder is steered (a hook on its LM head) to write a known table then EOS: the expert must return
    exactly that text, without special tokens, and cut it at max_new_tokens."""
    import torch

    from visual_med_alpaca.experts.deplot import DePlotExpert

    table = "TITLE | The number of papules <0x0A> Group | Before | After <0x0A> Treatment | 42 | 12"
    expert = DePlotExpert(str(tiny_deplot_dir), max_new_tokens=64, max_patches=64)
    tokenizer = expert.processor.tokenizer
    script = tokenizer(table, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    written = []

    def steer(module, inputs, logits):
        forced = torch.full_like(logits, -1e4)
        forced[..., script[min(len(written), len(script) - 1)]] = 0
        written.append(1)
        return forced

    handle = expert.model.decoder.lm_head.register_forward_hook(steer)
    try:
        chart = from_pil(Image.new("RGB", (64, 48), "white"))
        text = expert.describe(chart)
        assert text == tokenizer.decode(script, skip_special_tokens=True).strip() and "| 42 | 12" in text
        assert "</s>" not in text and "<pad>" not in text
        written.clear()
        expert.max_new_tokens = 5
        short = expert.describe(chart)
        assert short == tokenizer.decode(script[:5], skip_special_tokens=True).strip()
    finally:
        handle.remove()


def test_prompt_header_is_drawn_offline_above_the_image(tiny_deplot_dir):
    from visual_med_alpaca.experts.deplot import PROMPT, DePlotExpert, render_with_header

    font = DePlotExpert(str(tiny_deplot_dir), max_patches=64).font  # the font the expert draws its header with
    assert font is not None  # a local file: without one the header font would be fetched from the hub
    picture = Image.new("RGB", (640, 400), "white")
    rendered = render_with_header(picture, PROMPT, font)
    assert rendered.width >= 640 and rendered.height > 400 * rendered.width / 640
    banner = np.asarray(rendered)[: rendered.height - round(400 * rendered.width / 640)]
    assert (banner < 128).any()  # the prompt's text is there


def test_deplot_offline_hub_id_is_a_clear_user_error(monkeypatch):
    from visual_med_alpaca.experts.deplot import DePlotExpert

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserInputError, match="could not load DePlot"):
        DePlotExpert("google/deplot-does-not-exist-here")
    with pytest.raises(UserInputError, match="not found"):
        DePlotExpert("/no/such/deplot")


@pytest.mark.timeout(15)
def test_deplot_not_cached_fails_at_once_without_hf_hub_offline(hub_not_offline):
    """`--expert deplot` without local weights and without HF_HUB_OFFLINE retried the hub (past this test's 15 s) on an
    offline machine; a hub id is read from the local HF cache only (the hf backend's resolver) and fails at once."""
    from visual_med_alpaca.experts.deplot import DePlotExpert

    with pytest.raises(UserInputError, match=r"could not load DePlot 'google/deplot'.*not in the Hugging Face cache"
                                             r".*hf download google/deplot"):
        DePlotExpert("google/deplot")
