"""Fixtures: tiny random checkpoints (saved once per session) and a real encoded test video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import videoespresso_hf  # noqa: F401  (arms the Auto registration, as users do)

# Tiny matmuls on a shared 2-core machine: OpenMP worker threads spin-wait against other processes
# and make a 0.1 s generate take 5 s. One thread is the fastest setting for models this small.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def video(tmp_path_factory):
    """A 6-second h264 clip at 12 fps: three 2-second shots (static, moving, static) with hard cuts."""
    from videoespresso_hf.demo.videos import Segment, make_video

    path = tmp_path_factory.mktemp("videos") / "clip.mp4"
    spec = make_video(path, [Segment("static", 2.0), Segment("moving", 2.0), Segment("static", 2.0)], fps=12)
    return path, spec


@pytest.fixture
def clips():
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8),
        rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8),
    ]
