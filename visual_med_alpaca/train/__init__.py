"""Fine-tuning (LoRA / full), data conversion for the medical adapter, and exports."""
