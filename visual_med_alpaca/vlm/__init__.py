"""A LLaVA-style vision-language model: image encoder -> projector (two-layer MLP, GELU) -> image tokens spliced
into the language model's input embeddings at an `<image>` placeholder.

- `encoders.py`: image encoders by name (EfficientNet-Lite0 feature map = the router's backbone; CLIP / SigLIP /
  other transformers vision towers as a config choice), and the feature-map cache used by training.
- `model.py`: projector, splicing, loss on answer tokens only, streamed generation, yes/no scoring.
- `bundle.py`: a trained VLM on disk (vlm.json + projector + optional LoRA adapter) and its checks.
- `backend.py`: the `vlm` backend of the assistant (`--model vlm:default`), and real HF LLaVA checkpoints.
- `data.py` / `train.py`: the two-stage curriculum (`vmed train vlm -c configs/vlm-*.yaml`).
"""
