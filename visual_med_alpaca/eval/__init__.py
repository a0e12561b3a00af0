"""Evaluation: metrics and benchmark runners."""
