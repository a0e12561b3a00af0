"""Training recipes: LoRA / full fine-tune, captioner, router, radiology heads."""
