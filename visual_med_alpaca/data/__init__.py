"""Data builders: instruction sets, chart sets."""
