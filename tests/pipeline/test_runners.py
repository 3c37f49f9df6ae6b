"""The Ray runner (Ray Data on a local Ray instance) produces the same groups as the local runner."""

from __future__ import annotations

import pytest

from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.runners.ray_runner import RayRunner

from .conftest import VIDEOS, expected_groups
from .test_build import CHAT, read_groups

ray = pytest.importorskip("ray")


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
    try:
        remote = run_build(
            videos, tmp_path / "ray", config, until="groups", runner=RayRunner(), progress=False
        )
    finally:
        ray.shutdown()

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
