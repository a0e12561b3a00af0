"""Metrics, one file per family (VQA, text QA, charts); each is a pure function of predictions and references."""
