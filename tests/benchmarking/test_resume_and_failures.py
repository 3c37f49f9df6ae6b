"""Resumable and honest: kill → resume, torn lines, refused mixing, failure records counted unanswered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from doubles.openai_server import OpenAICompatibleServer
from doubles.predict_bench import PREDICT_ITEMS, read_jsonl

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.scorer import score_file

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _endpoint_argv(bench, server, output):
    return ["predict", "--data", str(bench), "--backend", "openai", "--model", "loopback-vlm", "--base-url",
            server.base_url, "--output", str(output), "--frames", "uniform:2", "--concurrency", "1", "--no-progress"]  # fmt: skip


@pytest.mark.slow
def test_kill_then_resume_gives_the_uninterrupted_file(prepared_bench, tmp_path):
    # Each answer takes 0.3 s, so the SIGKILL lands mid-run; the loopback answers are deterministic.
    with OpenAICompatibleServer(latency_s=0.3) as server:
        reference = tmp_path / "reference.jsonl"
        assert main(_endpoint_argv(prepared_bench, server, reference)) == 0
        output = tmp_path / "killed.jsonl"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]),
               "HF_DATASETS_CACHE": str(tmp_path / "subprocess_datasets_cache")}  # fmt: skip
        process = subprocess.Popen([sys.executable, "-m", "videoespresso_hf", *_endpoint_argv(prepared_bench, server, output)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not output.exists() or output.read_bytes().count(b"\n") < 3):
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        written_before = len(read_jsonl(output))
        assert 3 <= written_before < len(PREDICT_ITEMS)  # killed in the middle, not after the end
        calls_before = server.count("POST /v1/chat/completions")
        assert main(_endpoint_argv(prepared_bench, server, output)) == 0
    ids = [record["id"] for record in read_jsonl(output)]
    assert len(ids) == len(set(ids)) == len(PREDICT_ITEMS)  # no item repeated, none missing
    assert output.read_bytes() == reference.read_bytes()
    # The resumed run asked only for the items not yet written (an answer in flight at the kill is cached).
    assert server.count("POST /v1/chat/completions") - calls_before <= len(PREDICT_ITEMS) - written_before


def test_torn_last_line_is_redone(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    model = str(tiny_vlm_dir("qwen2_5_vl"))
    argv = ["predict", "--data", str(prepared_bench), "--model", model, "--frames", "uniform:2", "--max-new-tokens", "1",
            "--batch-size", "2", "--no-progress"]  # fmt: skip
    reference = tmp_path / "reference.jsonl"
    assert main([*argv, "--output", str(reference)]) == 0
    # A kill during the write of the 4th line leaves 3 lines and half of the 4th.
    data = reference.read_bytes()
    lines = data.splitlines(keepends=True)
    output = tmp_path / "torn.jsonl"
    output.write_bytes(b"".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    output.with_name("torn.jsonl.meta.json").write_bytes(reference.with_name("reference.jsonl.meta.json").read_bytes())
    capsys.readouterr()
    assert main([*argv, "--output", str(output)]) == 0
    assert "the last line was cut by an interrupted run" in capsys.readouterr().out
    assert output.read_bytes() == data
    # A finished file is left alone: a third run writes nothing.
    assert main([*argv, "--output", str(output)]) == 0
    assert output.read_bytes() == data


def test_other_model_or_settings_into_the_same_file_is_refused(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    output = tmp_path / "preds.jsonl"
    base = ["predict", "--data", str(prepared_bench), "--output", str(output), "--limit", "2", "--no-progress"]
    assert main([*base, "--model", str(tiny_vlm_dir("qwen2_5_vl")), "--max-new-tokens", "1"]) == 0
    before = output.read_bytes()
    for change in (["--model", str(tiny_vlm_dir("qwen3_vl")), "--max-new-tokens", "1"],
                   ["--model", str(tiny_vlm_dir("qwen2_5_vl")), "--max-new-tokens", "2"],
                   ["--model", str(tiny_vlm_dir("qwen2_5_vl")), "--max-new-tokens", "1", "--frames", "fps:2"]):  # fmt: skip
        capsys.readouterr()
        assert main([*base, *change]) == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert "was written by another run" in error and "use another --output" in error
    assert output.read_bytes() == before
    # A file with predictions but no sidecar is of unknown origin: refused too.
    output.with_name("preds.jsonl.meta.json").unlink()
    assert main([*base, "--model", str(tiny_vlm_dir("qwen2_5_vl")), "--max-new-tokens", "1"]) == 2
    assert "no preds.jsonl.meta.json" in capsys.readouterr().err


def test_missing_and_broken_videos_are_failure_records(private_bench, tiny_vlm_dir, tmp_path, capsys):
    bench, release = private_bench
    (release / "all_video" / "CUVA" / "00299.mp4").unlink()  # items 4 and 5
    (release / "all_video" / "vatex" / "RgtipEqA7ZA_000046_000056.mp4").write_bytes(b"not a video")  # items 2 and 3
    output = tmp_path / "preds.jsonl"
    code = main(["predict", "--data", str(bench), "--model", str(tiny_vlm_dir("qwen2_5_vl")), "--output", str(output),
                 "--frames", "uniform:2", "--max-new-tokens", "1", "--batch-size", "3", "--no-progress"])  # fmt: skip
    assert code == 1  # some items failed
    records = read_jsonl(output)
    assert [r["id"] for r in records] == [f"bench-{i:06d}" for i in range(len(PREDICT_ITEMS))]  # none dropped
    reasons = {r["id"]: r.get("error") for r in records}
    assert reasons["bench-000004"].startswith("missing video: ") and reasons["bench-000005"].startswith("missing video: ")
    assert reasons["bench-000002"].startswith("decode error: ") and reasons["bench-000003"].startswith("decode error: ")
    assert all(reasons[f"bench-{i:06d}"] is None for i in (0, 1, 6, 7))
    assert all(r["model_output"] is None for r in records if r.get("error"))
    printed = capsys.readouterr().out
    assert "failures:    4  (" in printed and "missing video: 2" in printed and "decode error: 2" in printed
    for protocol in ("official", "robust"):
        result = score_file(output, protocol)
        assert result["overall"]["n"] == len(PREDICT_ITEMS)  # failures are scored, as unanswered and wrong
        assert result["overall"]["unanswered"] == 4
        assert result["tasks"]["Traffic Analysis"] == {"accuracy": 0.0, "n": 1, "correct": 0}
