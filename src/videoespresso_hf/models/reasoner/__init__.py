"""Reasoner: a native LLaVA-NeXT-Interleave or Qwen VLM with two-stage (evidence → answer) inference (paper §4.2–4.4)."""
