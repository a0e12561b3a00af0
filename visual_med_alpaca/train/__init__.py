"""Training: Med-Alpaca LoRA / full fine-tuning, the medical-adapter data and exports, the captioner, the
router and the radiology heads."""
