"""Shared pytest set-up: every test runs offline, on the CPU, with small thread pools."""

from __future__ import annotations

import os

# Must be set before huggingface_hub is imported anywhere (its constants are read at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Never let a developer's real key reach the loopback test servers.
os.environ.pop("OPENAI_API_KEY", None)
