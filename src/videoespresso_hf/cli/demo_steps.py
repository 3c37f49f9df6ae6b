"""The steps of ``videoespresso demo``, one function per capability.

A step takes the :class:`DemoContext`, prints what it does and what came out, and returns ``None``
when it ran, or a message saying what it needs (weights, an endpoint) and how to enable it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from videoespresso_hf.defaults import JUDGE_MODEL


@dataclass
class DemoContext:
    workdir: Path
    base_url: str | None = None
    model: str | None = None
    shared: dict[str, Any] = field(default_factory=dict)  # what one step hands to the next


def step_score(context: DemoContext) -> str | None:
    from videoespresso_hf.evaluation import score_file
    from videoespresso_hf.evaluation.report import render_leaderboard

    sample = resources.files("videoespresso_hf.evaluation") / "samples" / "sample_predictions.json"
    records = json.loads(sample.read_text())
    print(
        f"Scoring the bundled SYNTHETIC sample predictions ({len(records)} records, 10 per task; templated questions,\n"
        "outputs written in the styles real models use). These are not a model's results: they show the scorer.\n"
        "$ videoespresso score sample_predictions.json --protocol official|robust\n"
    )
    results = {f"sample ({protocol})": score_file(Path(str(sample)), protocol) for protocol in ("official", "robust")}
    print(render_leaderboard(results, "table"), end="\n\n")
    quirk = next(
        r for r in records if r["model_output"].startswith("Answer:") and r["correct_answer"] == f"({r['model_output'][-1]})"
    )
    print(
        "Why they differ: the released eval/score.py takes the first capital A–D anywhere, so an output like\n"
        f"  {quirk['model_output']!r} (correct answer {quirk['correct_answer']}) is read as 'A' by `official`;\n"
        "`robust` reads the answer phrase, strips <think> blocks, matches repeated option text and counts\n"
        "ambiguous outputs as unanswered instead of guessing."
    )
    return None


def _run_cli(*argv: str) -> int:
    from videoespresso_hf.cli.main import main

    print("$ videoespresso " + " ".join(argv), flush=True)
    return main(list(argv))


def step_data(context: DemoContext) -> str | None:
    from datasets import load_dataset

    from videoespresso_hf.demo.releases import write_bench_release

    release = write_bench_release(context.workdir / "VideoEspresso-Test")
    print(
        f"A SYNTHETIC release in the exact layout of hshjerry0315/VideoEspresso-Test (bench_hard.json with the real\n"
        f"key order and '(A): text' options + all_video.zip of real h264 clips): {release}\n"
    )
    out = context.workdir / "videoespresso-hub"
    if _run_cli("data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(release), "--out", str(out)):
        raise RuntimeError("data prepare failed")
    bench = load_dataset(str(out), "bench", split="test", cache_dir=str(context.workdir / "hf-datasets-cache"))
    row = bench[0]
    task = bench.features["task"].int2str(row["task"])
    print(f"\n>>> load_dataset({str(out)!r}, 'bench', split='test')\n{bench}")
    print(f"first row: task={task!r} question={row['question']!r}\n  options={row['options']} correct={row['correct_answer']!r}")
    print(f"  key_objects parsed from the evidence tags: {row['key_objects']}")
    print(f"  core_frames: {[(f['path'], f['frame_index']) for f in row['core_frames']]}")
    decoder = row["video"]  # datasets.Video decodes through torchcodec
    print(f"  video: {row['video_path']} -> {type(decoder).__name__} with {decoder.metadata.num_frames} frames")
    return None


def _prepared_bench(context: DemoContext) -> Path:
    """The prepared synthetic bench folder: the data step's, or prepared now when that step was left out (--only)."""
    from videoespresso_hf.demo.releases import write_bench_release

    hub = context.workdir / "videoespresso-hub"
    if not (hub / "bench").is_dir():
        release = write_bench_release(context.workdir / "VideoEspresso-Test")
        if _run_cli("data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(release), "--out", str(hub)):
            raise RuntimeError("data prepare failed")
    return hub


def step_see(context: DemoContext) -> str | None:
    hub = _prepared_bench(context)
    site = context.workdir / "site"
    if _run_cli("data", "view", str(hub), "--config", "bench", "--out", str(site)):
        raise RuntimeError("data view failed")
    sample = resources.files("videoespresso_hf.evaluation") / "samples" / "sample_predictions.json"
    report = context.workdir / "report.html"
    print()
    if _run_cli("score", str(sample), "--protocol", "official", "--format", "html", "--output", str(report)):
        raise RuntimeError("score --format html failed")
    print(
        "\nStatic files, no server: open them in a browser (or publish the site folder as it is). They stay only\n"
        "with `videoespresso demo --out DIR` (`make demo` keeps them in demo_output/).\n"
        f"  viewer (SYNTHETIC release: questions, options, evidence, core frames decoded from the videos, boxes):\n"
        f"    {(site / 'index.html').resolve().as_uri()}\n"
        f"  report (SYNTHETIC sample predictions beside the published leaderboard rows):\n    {report.resolve().as_uri()}"
    )
    return None


def _demo_video(context: DemoContext) -> Path:
    if "video" not in context.shared:
        from videoespresso_hf.demo.videos import Segment, make_video

        path = context.workdir / "videos" / "synthetic_clip.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        make_video(
            path,
            [Segment("static", 3.0), Segment("moving", 3.0), Segment("static", 2.0), Segment("moving", 2.0, speed=6)],
            fps=24,
            size=(160, 96),
        )
        context.shared["video"] = path
    return context.shared["video"]


def step_video(context: DemoContext) -> str | None:
    from videoespresso_hf.video import detect_shots, plan_adaptive_sampling, probe

    video = _demo_video(context)
    print(f"A SYNTHETIC 10 s clip encoded with PyAV: static 3 s | moving 3 s | static 2 s | fast-moving 2 s ({video.name})\n")
    print(probe(video))
    shots = detect_shots(video)
    print(f"shots (scenedetect): {[(s.start_frame, s.end_frame) for s in shots]}")
    plan = plan_adaptive_sampling(video, shots=shots)
    for shot in plan.shots:
        print(f"  frames {shot.shot.start_frame:>3}-{shot.shot.end_frame:<3} {shot.kind:<8} -> {shot.fps:.1f} fps ({shot.reason})")
    print(f"adaptive sampling keeps {len(plan.indices)} frames: {[int(i) for i in plan.indices]}")
    return None


def step_build(context: DemoContext) -> str | None:
    import os

    video = _demo_video(context)
    out = context.workdir / "build"
    has_endpoint = bool(context.base_url or os.environ.get("OPENAI_API_KEY"))
    if not has_endpoint:
        print("No LLM endpoint configured: running the construction pipeline as a dry run (real frame sampling, real\n"
              "cost estimate, no calls).\n")
        code = _run_cli("build", str(video), "--out", str(out), "--dry-run", "--no-progress")
        if code:
            raise RuntimeError(f"build --dry-run exited with {code}")
        return (
            "captioning, QA generation, filtering and CoT evidence need an OpenAI-compatible endpoint.\n"
            "Set OPENAI_API_KEY (OpenAI) or pass `videoespresso demo --base-url http://HOST:PORT/v1 --model ID`\n"
            "(e.g. vLLM serving OpenGVLab/InternVL2-8B), or run `videoespresso build VIDEOS --out DIR` yourself."
        )
    argv = ["build", str(video), "--out", str(out), "--no-progress"]
    if context.base_url:
        argv += ["--base-url", context.base_url]
    if context.model:
        argv += ["--model", context.model]
    code = _run_cli(*argv)
    if code:
        raise RuntimeError(f"build exited with {code}")
    return None


def step_select(context: DemoContext) -> str | None:
    video = _demo_video(context)
    print("Training-free core-frame selection (one frame per detected shot), the input of the reasoner:\n")
    if _run_cli("select", str(video), "--question", "What changes in the scene?", "--strategy", "shots", "--max-core-frames", "3"):
        raise RuntimeError("select failed")
    return (
        "answering needs weights: `videoespresso answer VIDEO --question Q --reasoner Qwen/Qwen2.5-VL-7B-Instruct\n"
        "--selector YOUR_SELECTOR --device-map auto --dtype bfloat16` (downloads ~16 GB; a GPU is recommended).\n"
        "No fine-tuned VideoEspresso weights exist publicly; the Auto classes load any saved checkpoint."
    )


def step_compute(context: DemoContext) -> str | None:
    from videoespresso_hf.models.compute_report import main as compute_report

    print("Analytic FLOPs at the real default configs (selector counted, unlike the paper's 14.7%):\n", flush=True)
    compute_report([])
    return None


def step_predict(context: DemoContext) -> str | None:
    """predict → score on the synthetic bench: an endpoint when one is given, else the default VLM if cached."""
    from huggingface_hub import try_to_load_from_cache

    from videoespresso_hf.cli.predict import DEFAULT_MODEL

    if context.base_url:
        model_args = ["--backend", "openai", "--base-url", context.base_url, "--model", context.model or JUDGE_MODEL]
    elif isinstance(try_to_load_from_cache(DEFAULT_MODEL, "config.json"), str):
        model_args = ["--model", DEFAULT_MODEL, "--device-map", "auto", "--dtype", "auto"]
    else:
        return (
            f"predictions need a model: weights of {DEFAULT_MODEL} in the Hugging Face cache (`hf download {DEFAULT_MODEL}`),\n"
            "or an OpenAI-compatible endpoint: `videoespresso demo --only predict --base-url http://HOST:PORT/v1 --model ID`.\n"
            "Then: videoespresso predict --data PREPARED_DIR --model MODEL --output preds.jsonl && videoespresso score preds.jsonl"
        )
    hub = _prepared_bench(context)
    output = context.workdir / "preds.jsonl"
    print("The SYNTHETIC bench's questions are templated: the table shows the wiring, not the model's quality.\n")
    if _run_cli("predict", "--data", str(hub), *model_args, "--frames", "uniform:8", "--output", str(output), "--no-progress") > 1:
        raise RuntimeError("predict failed")
    return None


STEPS: list[tuple[str, str, Callable[[DemoContext], str | None]]] = [
    ("score", "Benchmark scoring: the 14-task table under the official and robust protocols", step_score),
    ("data", "The released data in `datasets`: prepare a Hub-ready folder, then load_dataset", step_data),
    ("see", "See it: a static viewer of the data and an HTML report of the scores", step_see),
    ("video", "Video: metadata, shot detection and adaptive sampling (1 fps static, 2-4 fps dynamic)", step_video),
    ("build", "Construction pipeline: frames -> captions -> dedup -> groups -> QA -> filter -> CoT evidence", step_build),
    ("select", "Frame selection: core frames for a question", step_select),
    ("compute", "Compute of hybrid inference vs 16 / 128 uniformly sampled frames", step_compute),
    ("predict", "Benchmark a model: predict (resumable, released format) then the 14-task table", step_predict),
]
