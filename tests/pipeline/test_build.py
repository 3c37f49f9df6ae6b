"""End-to-end builds on real encoded videos against the loopback OpenAI-compatible VLM server."""

from __future__ import annotations

import json
import sqlite3

from videoespresso_hf.pipeline.orchestrator import run_build

from .conftest import VIDEOS, expected_groups

CHAT = "POST /v1/chat/completions"


def read_groups(out) -> dict[str, list[list[str]]]:
    """groups.jsonl as {video file stem: [captions of each group]}."""
    groups: dict[str, list[list[str]]] = {}
    for line in (out / "groups.jsonl").read_text().splitlines():
        row = json.loads(line)
        stem = row["video_path"].rsplit("/", 1)[-1].removesuffix(".mp4")
        groups.setdefault(stem, []).append(row["captions"])
    return groups


def test_build_groups_known_shots_records_broken_videos_and_resumes_for_free(
    tmp_path, colour_videos, broken_videos, server, make_config
):
    config = make_config()
    videos = [*colour_videos.values(), *broken_videos.values()]
    out = tmp_path / "out"

    summary = run_build(videos, out, config, until="groups", workers=1, progress=False)

    # One kept frame per shot, grouped in twos, in time order.
    assert read_groups(out) == {name: expected_groups(name) for name in VIDEOS}
    assert summary.videos == 5 and summary.videos_ok == 2
    assert summary.frames_kept == 6 and summary.frames_sampled > 6 and summary.groups == 4
    # Broken inputs fail alone, each with its reason.
    reasons = {path.rsplit("/", 1)[-1]: reason for path, reason in summary.failed.items()}
    assert set(reasons) == {"missing.mp4", "empty.mp4", "garbage.mp4"}
    assert "file not found" in reasons["missing.mp4"]
    assert "empty file" in reasons["empty.mp4"]
    assert reasons["garbage.mp4"].startswith("frames: ")
    with sqlite3.connect(out / "state.sqlite") as db:
        statuses = dict(db.execute("SELECT path, status FROM videos").fetchall())
    assert sorted(statuses.values()) == ["done", "done", "failed", "failed", "failed"]
    # Every frame is captioned and carries its dedup decision.
    frames = [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]
    assert len(frames) == summary.frames_sampled and sum(f["kept"] for f in frames) == 6
    assert all(f["caption"].startswith("a solid ") for f in frames)
    paid = server.count(CHAT)
    captions = summary.stages[1]
    assert captions.usage.llm_calls == paid > 0 and captions.usage.cost_usd > 0

    # Re-running finds everything done: no request, same output.
    again = run_build(videos, out, config, until="groups", workers=1, progress=False)
    assert server.count(CHAT) == paid
    assert [stats.reused for stats in again.stages] == [2, 2, 2, 2]
    assert [stats.executed for stats in again.stages] == [0, 0, 0, 0]
    assert read_groups(out) == {name: expected_groups(name) for name in VIDEOS}
    assert again.stages[0].skipped_failed == 3 and len(again.failed) == 3  # bad inputs are not retried...
    retried = run_build(
        broken_videos.values(), out, config, until="groups", retry_failed=True, workers=1, progress=False
    )
    assert retried.stages[0].executed == 3 and len(retried.failed) == 3  # ...unless asked
    with sqlite3.connect(out / "state.sqlite") as db:
        assert db.execute("SELECT MAX(attempts) FROM stage_results WHERE status='failed'").fetchone()[0] == 2
        assert [row[0] for row in db.execute("SELECT status FROM runs")] == ["finished"] * 3

    # A new tau recomputes dedup and groups only: the captions (the paid part) are reused.
    stricter = make_config(dedup={"tau": 0.995}, groups={"size": 3})
    changed = run_build(videos, out, stricter, until="groups", workers=1, progress=False)
    assert server.count(CHAT) == paid
    assert [(s.name, s.executed, s.reused) for s in changed.stages] == [
        ("frames", 0, 2),
        ("captions", 0, 2),
        ("dedup", 2, 0),
        ("groups", 2, 0),
    ]
    assert read_groups(out) == {name: expected_groups(name, size=3) for name in VIDEOS}
    assert changed.recomputed == ["dedup", "groups"] and "recomputing dedup, groups" in changed.format()


def test_faults_429_500_timeout_malformed_are_absorbed(tmp_path, colour_videos, server, make_config):
    server.inject_sequence(["429", "500", "timeout", "malformed_json", "malformed_body", "schema_violation"])
    summary = run_build(
        list(colour_videos.values()),
        tmp_path / "out",
        make_config(),
        until="groups",
        workers=1,
        progress=False,
    )
    assert server.pending_faults() == 0
    assert summary.pending == {} and summary.failed == {} and summary.stopped is None
    assert read_groups(tmp_path / "out") == {name: expected_groups(name) for name in VIDEOS}
    assert summary.stages[1].usage.counters["http_attempts"] > summary.stages[1].usage.llm_calls


def test_exhausted_retries_are_errors_retried_on_the_next_run(tmp_path, colour_videos, server, make_config):
    config = make_config(llm={"max_retries": 0})
    videos = list(colour_videos.values())
    clean_out = tmp_path / "clean"
    run_build(videos, clean_out, config, until="groups", workers=1, progress=False)
    clean_requests = server.count(CHAT)
    server.reset_counts()

    server.inject("500", times=2)
    out = tmp_path / "out"
    first = run_build(videos, out, config, until="groups", workers=1, progress=False)
    assert first.pending and not first.failed  # transient: not blamed on the video
    assert all(reason.startswith("captions: CaptionError") for reason in first.pending.values())
    first_requests = server.count(CHAT)

    second = run_build(videos, out, config, until="groups", workers=1, progress=False)
    assert second.pending == {} and second.videos_ok == 2
    # Only the two failed requests were asked again; answered ones came from the cache.
    assert server.count(CHAT) - first_requests == 2
    assert server.count(CHAT) - 2 == clean_requests
    assert read_groups(out) == read_groups(clean_out)


def test_budget_stops_the_run_before_paying(tmp_path, colour_videos, server, make_config):
    config = make_config(llm={"budget_usd": 1e-7})
    summary = run_build(
        list(colour_videos.values()), tmp_path / "out", config, until="groups", progress=False
    )
    assert summary.stopped and "budget" in summary.stopped.lower()
    assert server.count(CHAT) == 0
    assert summary.failed == {} and summary.pending == {}


def test_dry_run_estimates_caption_cost_without_requests(tmp_path, colour_videos, server, make_config):
    summary = run_build(
        list(colour_videos.values()), tmp_path / "out", make_config(), dry_run=True, workers=1, progress=False
    )
    assert server.count(CHAT) == 0
    assert summary.estimate_stage == "captions"
    # Every sampled frame is asked for once: identical frames are answered by the cache.
    assert summary.estimate.llm_calls + summary.estimate.cached_calls == summary.frames_sampled
    assert summary.estimate.cost_usd > 0 and summary.estimate.prompt_tokens > 0
    assert "dry run" in summary.format()
    assert not (tmp_path / "out" / "groups.jsonl").exists()


def test_the_api_key_reaches_the_endpoint_but_no_output_file(
    tmp_path, colour_videos, make_config, monkeypatch
):
    from doubles.openai_server import OpenAICompatibleServer

    secret = "sk-build-SECRET-0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    with OpenAICompatibleServer(api_key=secret) as server:
        config = make_config(llm={"base_url": server.base_url})
        summary = run_build(
            [colour_videos["three_static"]], tmp_path / "out", config, until="groups", progress=False
        )
        assert summary.videos_ok == 1 and server.authorization_headers == {f"Bearer {secret}"}
    written = [path for path in (tmp_path / "out").rglob("*") if path.is_file()]
    assert {"state.sqlite", "llm_cache.sqlite", "build_config.json", "summary.json"} <= {
        p.name for p in written
    }
    for path in written:
        assert secret.encode() not in path.read_bytes(), path


def test_a_dead_endpoint_stops_the_build_before_any_video_is_tried(tmp_path, colour_videos, make_config):
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    config = make_config(llm={"base_url": dead, "max_retries": 3})
    summary = run_build(list(colour_videos.values()), tmp_path / "out", config, until="captions", progress=False)
    assert summary.stopped.startswith("EndpointUnreachableError: " + dead) and "does not answer" in summary.stopped
    captions = summary.stages[-1]
    assert captions.name == "captions" and captions.executed == 0 and not summary.pending
