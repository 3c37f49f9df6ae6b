"""The steps of ``videoespresso demo``, one function per capability.

A step takes the :class:`DemoContext`, prints what it does and what came out, and returns ``None``
when it ran, or a message saying what it needs (an endpoint) and how to enable it. The message's first
line is whole (the summary shows it alone): never a command cut in the middle.

Steps that need a model use tiny RANDOM-weight checkpoints written on the fly (:mod:`videoespresso_hf.demo.tiny_checkpoints`)
and say so plainly: they show the mechanics of every job, never the method's quality.
"""

from __future__ import annotations

import json
import shlex
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

    print("$ videoespresso " + shlex.join(argv), flush=True)
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
            "an OpenAI-compatible endpoint for captions, QA and CoT evidence: set OPENAI_API_KEY, or run `videoespresso demo --only build --base-url URL --model ID`.\n"
            "For example a vLLM server of OpenGVLab/InternVL2-8B at http://HOST:PORT/v1; or run\n"
            "`videoespresso build VIDEOS --out DIR` yourself."
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
    print(
        "\nA trained VideoEspresso frame selector does the same with `--selector PATH` (it captions candidate frames and\n"
        "chooses the core ones); no trained selector weights exist publicly, so the demo uses the shots rule."
    )
    return None


# Characters the tiny reasoner may write: its random text stays printable (see demo.tiny_checkpoints).
_TINY_REASONER_ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCD()."
_RANDOM_WEIGHTS_BANNER = (
    "!! RANDOM WEIGHTS: a tiny Qwen2.5-VL (2 layers, hidden 64) written on the fly from the stock transformers\n"
    "!! config. It runs the real code path; what it writes is noise. This shows the mechanics, not the quality."
)


def _tiny_model(context: DemoContext, name: str) -> Path:
    """A tiny random checkpoint under ``WORKDIR/tiny_models``: ``reasoner`` (base of answer and train) or ``vlm``
    (answers one of A-D, for predict), written once per demo run."""
    from videoespresso_hf.demo.tiny_checkpoints import save_tiny_qwen2_5_vl

    key = f"tiny_{name}"
    if key not in context.shared:
        alphabet = {"reasoner": _TINY_REASONER_ALPHABET, "vlm": "ABCD"}[name]
        path = context.workdir / "tiny_models" / f"qwen2_5_vl_{name}"
        print(f"writing {path} (tiny Qwen2.5-VL, RANDOM weights, generation limited to {alphabet!r})", flush=True)
        context.shared[key] = save_tiny_qwen2_5_vl(path, alphabet=alphabet)
    return context.shared[key]


_DEMO_QUESTION = ("What changes in the scene?", ["Nothing moves", "A square starts moving", "The clip turns dark"])


def _answer(reasoner: Path | str, video: Path) -> None:
    question, options = _DEMO_QUESTION
    argv = ["answer", str(video), "--question", question, "--options", *options, "--reasoner", str(reasoner)]
    if _run_cli(*argv, "--strategy", "shots", "--max-core-frames", "3", "--max-new-tokens", "24"):
        raise RuntimeError("answer failed")


def step_answer(context: DemoContext) -> str | None:
    print(_RANDOM_WEIGHTS_BANNER + "\n")
    reasoner = _tiny_model(context, "reasoner")
    video = _demo_video(context)
    print(
        "\nHybrid inference, two stages: core frames (shots rule) -> the reasoner writes evidence -> it answers with the\n"
        "evidence's help; the letter is read with the scorer's robust rules. A real run names a real reasoner,\n"
        "e.g. --reasoner Qwen/Qwen2.5-VL-7B-Instruct on a GPU.\n"
    )
    _answer(reasoner, video)
    return None


def step_predict(context: DemoContext) -> str | None:
    """predict → score on the synthetic bench: an endpoint when one is given, else a tiny random VLM."""
    hub = _prepared_bench(context)
    output = context.workdir / "preds.jsonl"
    if context.base_url:
        model_args = ["--backend", "openai", "--base-url", context.base_url, "--model", context.model or JUDGE_MODEL]
    else:
        print(_RANDOM_WEIGHTS_BANNER + "\n")
        vlm = _tiny_model(context, "vlm")
        model_args = ["--model", str(vlm), "--max-new-tokens", "1"]
        print("Its answers are one of A-D at random: the table below shows the wiring, not a result.\n")
    print("The SYNTHETIC bench's questions are templated.\n")
    if _run_cli("predict", "--data", str(hub), *model_args, "--frames", "uniform:4", "--output", str(output), "--no-progress") > 1:
        raise RuntimeError("predict failed")
    print()
    if _run_cli("score", str(output)):
        raise RuntimeError("score failed")
    return None


def _prepared_train(context: DemoContext) -> Path:
    """A SYNTHETIC ``train_video`` release (4 rows over 2 real clips, the released layout) through ``data prepare``."""
    from videoespresso_hf.demo.releases import write_train_video_release

    if "prepared_train" not in context.shared:
        release = write_train_video_release(context.workdir / "VideoEspresso_train_video")
        prepared = context.workdir / "prepared-train"
        if _run_cli("data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(release), "--out", str(prepared)):
            raise RuntimeError("data prepare failed")
        context.shared["prepared_train"] = prepared
    return context.shared["prepared_train"]


def step_train(context: DemoContext) -> str | None:
    print(_RANDOM_WEIGHTS_BANNER + "\n")
    base = _tiny_model(context, "reasoner")
    prepared = _prepared_train(context)
    output = context.workdir / "runs" / "reasoner"
    print(
        "\nTwo-stage LoRA fine-tuning (stage 1 evidence, stage 2 answer), 2 optimizer steps each on the SYNTHETIC\n"
        "train_video rows: the real trainer (trl SFT + peft), checkpoints and resume; not a useful model.\n"
    )
    argv = ["train", "reasoner", "--model", str(base), "--data", str(prepared), "--config", "train_video"]
    argv += ["--output", str(output), "--max-steps", "2", "--effective-batch-size", "1", "--workers", "0"]
    if _run_cli(*argv, "--frame-size", "56", "--save-steps", "2", "--logging-steps", "1"):
        raise RuntimeError("train reasoner failed")
    print("\nThe trained adapter answers like any reasoner (it loads on its base model):\n")
    _answer(output / "stage2", _demo_video(context))
    return None


def step_rl(context: DemoContext) -> str | None:
    """GRPO from the SFT adapter when the train step left one (else from the base), then answer with the result."""
    print(_RANDOM_WEIGHTS_BANNER + "\n")
    base = _tiny_model(context, "reasoner")
    prepared = _prepared_train(context)
    sft_adapter = context.workdir / "runs" / "reasoner" / "stage2"
    output = context.workdir / "runs" / "reasoner-rl"
    print(
        "\nGRPO (trl's GRPOTrainer on the core frames) with the answer, format, temporal and spatial rewards, 1 step of\n"
        "2 rollouts of at most 24 tokens on the SYNTHETIC train_video rows; the paper-scale defaults are G=8 and 768\n"
        "tokens. The rewards are logged one by one; a random model earns none of the grounding ones.\n"
    )
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(base), "--data", str(prepared), "--config", "train_video"]
    argv += ["--output", str(output), "--max-steps", "1", "--num-generations", "2", "--max-completion-length", "24"]
    argv += ["--effective-batch-size", "2", "--workers", "0", "--frame-size", "56", "--logging-steps", "1"]
    if (sft_adapter / "adapter_config.json").is_file():
        argv += ["--init-adapter", str(sft_adapter)]
    if _run_cli(*argv):
        raise RuntimeError("train reasoner --stage rl failed")
    print("\nThe RL adapter answers in one pass (evidence with times and boxes, then the answer):\n")
    _answer(output / "rl", _demo_video(context))
    return None


def step_compute(context: DemoContext) -> str | None:
    from videoespresso_hf.models.compute_report import main as compute_report

    print("Analytic FLOPs at the real default configs (selector counted, unlike the paper's 14.7%):\n", flush=True)
    compute_report([])
    return None


STEPS: list[tuple[str, str, Callable[[DemoContext], str | None]]] = [
    ("score", "Benchmark scoring: the 14-task table under the official and robust protocols", step_score),
    ("data", "The released data in `datasets`: prepare a Hub-ready folder, then load_dataset", step_data),
    ("see", "See it: a static viewer of the data and an HTML report of the scores", step_see),
    ("video", "Video: metadata, shot detection and adaptive sampling (1 fps static, 2-4 fps dynamic)", step_video),
    ("build", "Construction pipeline: frames -> captions -> dedup -> groups -> QA -> filter -> CoT evidence", step_build),
    ("select", "Frame selection: core frames for a question", step_select),
    ("answer", "Answer a question: core frames -> evidence -> answer (tiny RANDOM-weight reasoner)", step_answer),
    ("compute", "Compute of hybrid inference vs 16 / 128 uniformly sampled frames", step_compute),
    ("predict", "Benchmark a model: predict (resumable, released format) then score (tiny RANDOM-weight VLM)", step_predict),
    ("train", "Train the reasoner: 2 LoRA steps per stage, then answer with it (tiny RANDOM-weight base)", step_train),
    ("rl", "Video RL: one GRPO step with grounded rewards, then answer with it (tiny RANDOM-weight base)", step_rl),
]
