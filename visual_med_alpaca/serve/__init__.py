"""Serving: the OpenAI-compatible HTTP API (`vmed serve`) and the Gradio demo (`vmed demo`)."""
