"""Evaluation: benchmarks, metrics, the resumable runner, the LLM judge and the report."""
