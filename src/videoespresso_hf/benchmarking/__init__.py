"""Run a model over a VideoEspresso config and write resumable predictions in the released format.

Pieces, each one decision: :mod:`~.items` (the dataset → released records), :mod:`~.frames` (the
one frame rule), :mod:`~.prompts` (versioned templates), :mod:`~.backends` (HF VLM, hybrid,
OpenAI-compatible endpoint), :mod:`~.store` (append-only JSONL + sidecar, resume, mismatch refusal)
and :mod:`~.runner` (the loop). ``videoespresso predict`` wires them together.
"""
