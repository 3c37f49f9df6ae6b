"""The SQLite state store, video identity, the stage chain and stage fingerprints."""

from __future__ import annotations

import shutil

import pytest

from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.stages import StageUsage, stage_chain, stage_fingerprints
from videoespresso_hf.pipeline.state import StageResult, StateStore, video_identity
from videoespresso_hf.pipeline.video_record import VideoRecord


def test_results_are_keyed_by_fingerprint_and_survive_reopening(tmp_path):
    record = VideoRecord(video_id="v-1", path="/videos/v.mp4", fps=24.0)
    with StateStore(tmp_path / "state.sqlite") as state:
        state.save_result(StageResult("v-1", "frames", "fp-a", "error", error="boom"))
        state.save_result(
            StageResult(
                "v-1", "frames", "fp-a", "done", record.model_dump_json(), usage=StageUsage(llm_calls=3)
            )
        )
        state.save_result(StageResult("v-1", "frames", "fp-b", "failed", error="bad input"))
    with StateStore(tmp_path / "state.sqlite") as state:  # a new process would see the same
        done = state.get_result("v-1", "frames", "fp-a")
        assert done.status == "done" and done.attempts == 2 and done.usage.llm_calls == 3
        assert VideoRecord.model_validate_json(done.record_json) == record
        assert state.get_result("v-1", "frames", "fp-b").error == "bad input"
        assert state.get_result("v-1", "captions", "fp-a") is None
        assert [r.video_id for r in state.results("frames", "fp-a", status="done")] == ["v-1"]
        assert state.stale_stages({"frames": "fp-c"}) == ["frames"]
        assert state.stale_stages({"frames": "fp-a"}) == []


def test_video_identity_follows_content_not_location(tmp_path):
    original = tmp_path / "a" / "clip.mp4"
    original.parent.mkdir()
    original.write_bytes(b"\x00video bytes" * 1000)
    moved = tmp_path / "b" / "clip.mp4"
    moved.parent.mkdir()
    shutil.copy(original, moved)
    first, second = video_identity(original), video_identity(moved)
    assert first.exists and first.video_id == second.video_id and first.video_id.startswith("clip-")
    moved.write_bytes(b"\x01other bytes" * 1000)
    assert video_identity(moved).video_id != first.video_id
    missing = video_identity(tmp_path / "nope.mp4")
    assert not missing.exists and missing.size is None


def test_chain_order_until_and_fingerprints_change_only_downstream():
    names = [stage.name for stage in stage_chain(CONSTRUCTION_CHAIN)]
    assert names[:4] == ["frames", "captions", "dedup", "groups"]
    assert [stage.name for stage in stage_chain(CONSTRUCTION_CHAIN, "dedup")] == ["frames", "captions", "dedup"]
    with pytest.raises(KeyError, match="unknown stage"):
        stage_chain(CONSTRUCTION_CHAIN, "nonsense")

    chain = stage_chain(CONSTRUCTION_CHAIN, "groups")
    base = stage_fingerprints(chain, BuildConfig())
    new_tau = stage_fingerprints(chain, BuildConfig(dedup={"tau": 0.5}))
    assert new_tau["frames"] == base["frames"] and new_tau["captions"] == base["captions"]
    assert new_tau["dedup"] != base["dedup"] and new_tau["groups"] != base["groups"]
    new_model = stage_fingerprints(chain, BuildConfig(captions={"model": "gpt-4o"}))
    assert new_model["frames"] == base["frames"] and new_model["captions"] != base["captions"]
    # Runtime-only settings (endpoint, budget, concurrency) do not invalidate anything.
    runtime = stage_fingerprints(
        chain, BuildConfig(llm={"base_url": "http://127.0.0.1:1/v1", "budget_usd": 1, "max_concurrency": 1})
    )
    assert runtime == base


def test_build_config_round_trips_through_json(tmp_path):
    config = BuildConfig(dedup={"tau": 0.8}, groups={"size": 10}, captions={"backend": "transformers"})
    config.save(tmp_path / "build_config.json")
    assert BuildConfig.load(tmp_path / "build_config.json") == config
    assert config.captions.resolved_model == "OpenGVLab/InternVL3-8B-hf"
    assert BuildConfig().captions.resolved_model == "gpt-4o-mini"


def test_video_identity_sees_every_byte_of_a_file_between_one_and_two_mib(tmp_path):
    path = tmp_path / "clip.mp4"
    content = bytearray(b"\x00" * (3 << 19))  # 1.5 MiB: neither the first nor the last MiB alone covers it
    path.write_bytes(bytes(content))
    before = video_identity(path)
    content[(1 << 20) + 10] = 1  # past the first MiB, same size
    path.write_bytes(bytes(content))
    assert video_identity(path).video_id != before.video_id


def test_a_run_whose_process_died_is_marked_killed_by_the_next_one(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "state.sqlite"
    start_and_die = (
        "import sys; from videoespresso_hf.pipeline.state import StateStore; "
        "StateStore(sys.argv[1]).start_run('{}'); sys.exit(0)"
    )
    subprocess.run([sys.executable, "-c", start_and_die, str(path)], check=True)
    with StateStore(path) as state:
        assert [run["status"] for run in state.runs()] == ["running"]  # as a SIGKILL leaves it
        current = state.start_run("{}")
        runs = {run["run_id"]: run for run in state.runs()}
    assert [run["status"] for run in runs.values()] == ["killed", "running"]
    assert runs[current]["status"] == "running"  # this process is alive: its own run is not touched
