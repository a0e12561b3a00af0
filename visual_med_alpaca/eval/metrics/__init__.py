"""Metrics, one file per task family."""
