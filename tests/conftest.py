"""Shared pytest set-up: every test runs offline, on the CPU, with small thread pools."""

from __future__ import annotations

import os

import pytest

# Must be set before huggingface_hub is imported anywhere (its constants are read at import).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Never let a developer's real key reach the loopback test servers.
os.environ.pop("OPENAI_API_KEY", None)


# Tiny random checkpoints (tests/doubles/tiny_models.py), saved once per session, shared by the model and
# training tests.
@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny_checkpoints")


@pytest.fixture(scope="session")
def reasoner_path(tiny_dir):
    from doubles.tiny_models import save_tiny_reasoner

    return save_tiny_reasoner(tiny_dir / "reasoner_qwen2_5_vl", "qwen2_5_vl")


@pytest.fixture(scope="session")
def reasoner3_path(tiny_dir):
    from doubles.tiny_models import save_tiny_reasoner

    return save_tiny_reasoner(tiny_dir / "reasoner_qwen3_vl", "qwen3_vl")


@pytest.fixture(scope="session")
def selector_path(tiny_dir):
    from doubles.tiny_models import save_tiny_selector

    return save_tiny_selector(tiny_dir / "selector", max_core_frames=2)
