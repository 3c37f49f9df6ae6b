"""`videoespresso_hf.predict()` is the `videoespresso predict` command: same records, checks before any work,
coverage in the summary, presets, resume independent of how a path is spelled."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from doubles.predict_bench import PREDICT_ITEMS, read_jsonl

import videoespresso_hf
from videoespresso_hf.benchmarking import job
from videoespresso_hf.benchmarking.report import PUBLISHED_BENCH_ITEMS, coverage_line
from videoespresso_hf.cli.main import main
from videoespresso_hf.defaults import REASONER_MODEL

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _import_every_submodule() -> list[str]:
    """Import every module of the package (as a notebook that touched them all would have), skipping those whose
    optional dependencies are missing here; ``__main__`` would run the CLI."""
    imported = []
    for module in pkgutil.walk_packages(videoespresso_hf.__path__, "videoespresso_hf.", onerror=lambda name: None):
        if module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except ImportError:
            continue  # optional extra (ray, lmms-eval, …) not installed
        imported.append(module.name)
    return imported


def test_python_call_and_cli_write_the_same_records_after_every_submodule_is_imported(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    model = str(tiny_vlm_dir("qwen2_5_vl"))
    imported = _import_every_submodule()
    assert "videoespresso_hf.benchmarking.job" in imported and "videoespresso_hf.benchmarking.runner" in imported
    # No subpackage rebinds the root name: it is still the job's function, documented.
    assert videoespresso_hf.predict is job.predict and "Returns a :class:`PredictResult`" in videoespresso_hf.predict.__doc__
    by_cli = tmp_path / "cli.jsonl"
    assert main(["predict", "--data", str(prepared_bench), "--model", model, "--frames", "uniform:3",
                 "--max-new-tokens", "1", "--output", str(by_cli), "--no-progress"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    by_call = tmp_path / "call.jsonl"
    result = videoespresso_hf.predict(data=str(prepared_bench), model=model, frames="uniform:3", max_new_tokens=1,
                                      output=str(by_call), progress=False)  # fmt: skip
    assert by_call.read_bytes() == by_cli.read_bytes()  # same items, frames and model outputs, byte for byte
    assert result.records == read_jsonl(by_call) and len(result.records) == len(PREDICT_ITEMS)
    assert all(record["model_output"] in {"A", "B", "C", "D"} for record in result.records)
    assert result.output == by_call and result.sidecar == by_call.with_name("call.jsonl.meta.json")
    assert result.scores["overall"]["n"] == len(PREDICT_ITEMS) and result.exit_status == 0
    assert result.summary.splitlines()[1:4] == printed.splitlines()[1:4]  # coverage, preset, frames: same lines
    # The config dataclass is the same call.
    again = videoespresso_hf.predict(videoespresso_hf.PredictConfig(data=str(prepared_bench), model=model,
                                     frames="uniform:3", max_new_tokens=1, output=by_call, progress=False))  # fmt: skip
    assert again.written == 0 and again.skipped == len(PREDICT_ITEMS) and again.records == result.records


def test_help_shows_the_default_model_of_the_defaults_table(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps long help lines
    assert f"(default: {REASONER_MODEL})" in text and "--preset" in text and "--no-progress" in text


def test_keyword_and_config_mistakes_are_one_line_errors():
    with pytest.raises(job.PredictError, match=r"unknown setting.*frame_rule"):
        job.predict(data="x", output="p.jsonl", frame_rule="uniform:2")
    with pytest.raises(job.PredictError, match="--output is required"):
        job.predict(data="x")
    with pytest.raises(job.PredictError, match=r"--preset 'gpt9': unknown preset; choose one of qwen2_5_vl, "):
        job.PredictConfig(data="x", output="p.jsonl", preset="gpt9")


@pytest.mark.parametrize(
    "flags",
    [["--limit", "0"], ["--batch-size", "0"], ["--max-new-tokens", "-1"], ["--concurrency", "0"], ["--seed", "-1"],
     ["--max-cost", "-1"], ["--max-cost", "nan"], ["--min-pixels", "0"], ["--max-pixels", "-5"],
     ["--min-pixels", "5000", "--max-pixels", "4000"], ["--frames", "uniform:0"], ["--frames", "fps:0"],
     ["--frames", "fps:1:0"], ["--preset", "nope"]],
)  # fmt: skip
def test_every_numeric_setting_out_of_range_exits_2_before_any_work(flags, tmp_path, capsys):
    output = tmp_path / "p.jsonl"
    assert main(["predict", "--data", str(tmp_path / "never-read"), "--output", str(output), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("videoespresso predict: error: ")
    assert list(tmp_path.iterdir()) == []


def test_output_that_is_a_directory_exits_2_fast_and_writes_nothing(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    model = str(tiny_vlm_dir("qwen2_5_vl"))
    folder = tmp_path / "adir"
    folder.mkdir()
    started = time.monotonic()
    assert main(["predict", "--data", str(prepared_bench), "--model", model, "--output", str(folder)]) == 2
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"videoespresso predict: error: --output {folder}: is a directory; give a file path such as {folder / 'preds.jsonl'}"]
    assert list(tmp_path.iterdir()) == [folder] and list(folder.iterdir()) == []  # no adir.meta.json either


class _RecordingHub:
    """A loopback HTTP server standing in for the Hub: answers 404 to everything and records each request."""

    def __init__(self) -> None:
        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Error-Code", "RepoNotFound")
                self.end_headers()
                self.wfile.write(b'{"error": "Repository not found"}')

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _run_cli_online(args, hub_url, cwd):
    env = {key: value for key, value in os.environ.items() if not key.endswith("_OFFLINE")}  # the Hub NOT offline
    env.update(PYTHONPATH=SRC, HF_ENDPOINT=hub_url, HF_HOME=str(cwd / "hf_home"))
    started = time.monotonic()
    process = subprocess.run([sys.executable, "-m", "videoespresso_hf", "predict", *args], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    return process, time.monotonic() - started


@pytest.mark.parametrize(("flag", "value"), [("--data", "./missing_bench"), ("--data", "~/no/such/bench"),
                                             ("--model", "ckpt/runs/missing"), ("--data", "a/b/c")])  # fmt: skip
def test_a_missing_path_is_named_in_seconds_and_the_hub_is_never_asked(flag, value, tmp_path):
    other = {"--data": ["--model", str(tmp_path)], "--model": ["--data", str(tmp_path)]}[flag]
    with _RecordingHub() as hub:
        process, seconds = _run_cli_online([flag, value, *other, "--output", "p.jsonl"], hub.url, tmp_path)
    assert process.returncode == 2 and seconds < 10
    assert process.stderr.strip().splitlines() == [f"videoespresso predict: error: {flag} {value}: no such file or folder"]
    assert hub.requests == []  # it can only be a path: never looked up on the Hub
    assert not (tmp_path / "p.jsonl").exists()


def test_a_hub_id_neither_local_nor_on_the_hub_says_both(tmp_path):
    with _RecordingHub() as hub:
        process, seconds = _run_cli_online(["--data", "someone/not-a-bench", "--model", str(tmp_path), "--output", "p.jsonl"],
                                           hub.url, tmp_path)  # fmt: skip
    assert process.returncode == 2 and seconds < 10 and len(hub.requests) == 1
    assert process.stderr.strip().splitlines() == [
        "videoespresso predict: error: --data someone/not-a-bench: no local file or folder of that name, and no dataset "
        "someone/not-a-bench on the Hub (or it is private: log in with `hf auth login`)"
    ]


def test_an_unreachable_hub_fails_in_seconds_saying_what_to_set(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nobody listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    process, seconds = _run_cli_online(["--data", str(tmp_path), "--model", "org/some-vlm", "--output", "p.jsonl"],
                                       closed, tmp_path)  # fmt: skip
    assert process.returncode == 2 and seconds < 10
    (line,) = process.stderr.strip().splitlines()
    assert line.startswith("videoespresso predict: error: --model org/some-vlm: no local file or folder of that name, "
                           "and the Hub is unreachable (")  # fmt: skip
    assert line.endswith("pass a local folder, or set HF_HUB_OFFLINE=1 to use a cached copy")


def test_resume_does_not_depend_on_how_the_model_path_is_spelled(prepared_bench, tiny_vlm_dir, tmp_path, monkeypatch, capsys):
    model = tiny_vlm_dir("qwen2_5_vl")
    monkeypatch.chdir(model.parent)
    output = tmp_path / "preds.jsonl"
    base = ["predict", "--data", str(prepared_bench), "--frames", "uniform:2", "--max-new-tokens", "1",
            "--output", str(output), "--no-progress"]  # fmt: skip
    assert main([*base, "--model", f"./{model.name}", "--limit", "3"]) == 0
    assert "3 of 8 items (3 of 14 tasks) — PARTIAL" in capsys.readouterr().out
    assert main([*base, "--model", str(model.resolve())]) == 0  # the absolute spelling resumes the same run
    printed = capsys.readouterr().out
    ids = [record["id"] for record in read_jsonl(output)]
    assert ids == [f"bench-{i:06d}" for i in range(len(PREDICT_ITEMS))]  # no duplicates, none missing
    assert "(8 items: 5 written now, 3 already there)" in printed
    assert f"8 of 8 items (8 of 14 tasks) — PARTIAL: the published bench has {PUBLISHED_BENCH_ITEMS:,} items" in printed
    identity = json.loads(output.with_name("preds.jsonl.meta.json").read_text())["identity"]
    assert identity["model"] == str(model.resolve())


def test_coverage_line_says_whole_benchmark_only_when_it_is():
    whole = {"items": 1382, "items_in_data": 1382, "published_items": 1382, "tasks": 14, "tasks_total": 14, "partial": False}
    assert coverage_line(whole) == "1,382 of 1,382 items (14 of 14 tasks), the whole benchmark"
    limited = {**whole, "items": 15, "tasks": 2, "partial": True}
    assert coverage_line(limited) == "15 of 1,382 items (2 of 14 tasks) — PARTIAL"


def test_interrupt_during_start_up_does_not_claim_saved_work(prepared_bench, tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(job, "_load_backend", interrupted)  # Ctrl-C while the model loads
    output = tmp_path / "p.jsonl"
    assert main(["predict", "--data", str(prepared_bench), "--model", str(tmp_path), "--output", str(output)]) == 130
    err = capsys.readouterr().err
    assert "nothing was written" in err and "saved" not in err
    assert not output.exists()


def test_a_preset_sets_frames_and_pixels_explicit_flags_win_and_the_sidecar_records_it(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    model = str(tiny_vlm_dir("qwen2_5_vl"))
    plan = job._plan(job.PredictConfig(data=str(prepared_bench), model=model, output=tmp_path / "p.jsonl", preset="qwen2_5_vl"))
    assert (plan.rule.spec, plan.pixel_bounds.min_pixels, plan.pixel_bounds.max_pixels) == ("qwen-vl-utils:nframes=32", 200704, 602112)
    smol = job._plan(job.PredictConfig(data=str(prepared_bench), model=model, output=tmp_path / "p.jsonl", preset="smolvlm2"))
    assert smol.rule.spec == "fps:1.0:64" and smol.pixel_bounds is None
    output = tmp_path / "preset.jsonl"
    assert main(["predict", "--data", str(prepared_bench), "--model", model, "--preset", "qwen2_5_vl", "--frames", "uniform:2",
                 "--min-pixels", "12544", "--max-pixels", "20000", "--max-new-tokens", "1", "--limit", "2",
                 "--output", str(output), "--no-progress"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "preset:      qwen2_5_vl (Qwen2.5-VL; source: lmms-eval" in printed and "frames:      uniform:2, pixels 12544..20000" in printed
    identity = json.loads(output.with_name("preset.jsonl.meta.json").read_text())["identity"]
    assert identity["preset"] == "qwen2_5_vl" and identity["frames"] == "uniform:2"  # --frames beat the preset's qwen-vl-utils:nframes=32
    assert identity["pixel_bounds"] == {"min_pixels": 12544, "max_pixels": 20000, "factor": 28}
    assert "qwen2_5_vl.py" in identity["preset_settings"]["source"]
    # Without a preset the default is labelled as ours.
    plain = tmp_path / "plain.jsonl"
    assert main(["predict", "--data", str(prepared_bench), "--model", model, "--max-new-tokens", "1", "--limit", "1",
                 "--output", str(plain), "--no-progress"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "preset:      none" in printed and "frames:      uniform:16 (our default, not a model family's protocol)" in printed
    assert "preset" not in json.loads(plain.with_name("plain.jsonl.meta.json").read_text())["identity"]


def test_pixel_bounds_reach_a_qwen_video_processor(prepared_bench, tiny_vlm_dir):
    from videoespresso_hf.benchmarking.backends import GenerationSettings, Request, TransformersBackend
    from videoespresso_hf.benchmarking.frames import FrameSampler, PixelBounds, fit_pixels, parse_frame_rule
    from videoespresso_hf.benchmarking.items import load_bench_items

    bounds = PixelBounds(min_pixels=12544, max_pixels=20000)
    assert fit_pixels(48, 64, bounds) == (112, 140)  # 64x48 frames scaled up into the bounds, sides multiples of 28
    item = load_bench_items(prepared_bench)[0]
    frames = FrameSampler(parse_frame_rule("uniform:2"), pixel_bounds=bounds).sample(item.video, item.question)
    assert frames.frames.shape == (2, 112, 140, 3)
    backend = TransformersBackend(str(tiny_vlm_dir("qwen2_5_vl")), GenerationSettings(max_new_tokens=1), pixel_bounds=bounds)
    inputs = backend._inputs([Request(item, "Which option?", frames)])
    assert inputs["video_grid_thw"].tolist() == [[1, 8, 10]]  # 112/14 x 140/14 patches: the processor kept the size
