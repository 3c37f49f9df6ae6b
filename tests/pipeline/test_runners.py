"""The Ray runner (Ray Data on a local Ray instance) produces the same groups as the local runner."""

from __future__ import annotations

import logging
import warnings

import pytest

# Ray is pinned (requirements/dev.txt): a missing one fails these tests at import instead of skipping them.
import ray
import ray.data  # importing it configures (replaces) the ray.data log handlers: do it first

from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.runners.ray_runner import RayRunner

from .conftest import VIDEOS, expected_groups
from .test_build import CHAT, read_groups


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.mark.slow
def test_local_and_ray_runners_give_identical_groups(
    tmp_path, colour_videos, broken_videos, server, make_config
):
    videos = [*colour_videos.values(), broken_videos["garbage"]]
    config = make_config()
    local = run_build(
        videos, tmp_path / "local", config, until="groups", runner="local", workers=2, progress=False
    )
    local_requests = server.count(CHAT)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_log = _Records()
    logging.getLogger("ray.data").addHandler(ray_log)  # ray.data does not propagate to the root logger
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            remote = run_build(
                videos, tmp_path / "ray", config, until="groups", runner=RayRunner(), progress=False
            )
    finally:
        logging.getLogger("ray.data").removeHandler(ray_log)
        ray.shutdown()
    # Ray Data reports a deprecated argument of our calls (`concurrency` since 2.51) as a log warning, once
    # per stage; a deprecation raised for the caller points at our code. (Ray's own DataContext() warns
    # about its own defaults, from ray/, hidden by Python's default filters: not ours to fix.)
    deprecated = [m for m in ray_log.messages if "deprecat" in m.lower()]
    deprecated += [
        f"{w.filename}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, (DeprecationWarning, FutureWarning)) and "videoespresso_hf" in w.filename
    ]
    assert not deprecated

    assert (
        read_groups(tmp_path / "ray")
        == read_groups(tmp_path / "local")
        == {name: expected_groups(name) for name in VIDEOS}
    )
    assert (tmp_path / "ray" / "groups.jsonl").read_text() == (
        tmp_path / "local" / "groups.jsonl"
    ).read_text()
    assert list(remote.failed.values()) == list(local.failed.values()) and len(remote.failed) == 1
    assert server.count(CHAT) == 2 * local_requests  # separate output folders: separate caches
