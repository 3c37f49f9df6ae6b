"""Run a model over a VideoEspresso config and write resumable predictions in the released format.

Pieces, each one decision: :mod:`~.job` (``videoespresso_hf.predict``: the config, the checks before any work,
the conductor), :mod:`~.presets` (official-protocol settings per model family, with sources), :mod:`videoespresso_hf.locations`
(paths before the Hub), :mod:`~.items` (the dataset → released records), :mod:`~.frames` (the one frame rule),
:mod:`~.prompts` (versioned templates), :mod:`~.backends` (HF VLM, hybrid, OpenAI-compatible endpoint),
:mod:`~.store` (append-only JSONL + sidecar, resume, mismatch refusal), :mod:`~.runner` (the loop),
:mod:`~.parallel` (shards under ``accelerate launch``) and :mod:`~.report` (coverage and the summary).
``videoespresso predict`` is :func:`~.job.predict` with flags generated from :class:`~.job.PredictConfig`.
"""
