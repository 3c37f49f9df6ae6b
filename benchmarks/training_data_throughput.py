"""Is the reasoner's training data path fast enough to keep a GPU busy?

Measures samples/s of the whole per-sample path used by ``videoespresso train reasoner`` — decode the
row's core frames at 224 px with our PyAV reader, stage prompt + chat template + processor (Qwen2.5-VL's
stock resize rule: 14-px patches, 2×2 merge), target tokenization, collation — through a
``torch.utils.data.DataLoader`` with 0, 1 and 2 workers, on real encoded 320×240 clips. It is compared
with the time one A100 needs for the forward + backward of one sample of a 7B LoRA step, estimated
from FLOPs (:func:`videoespresso_hf.training.plan.step_seconds`: 6 × 7.07e9 × tokens + ViT forward,
at 35 % of the 312 TFLOP/s bf16 peak). Ratio > 1: the data path outruns the GPU at that worker count.

The tokenizer is a byte-level stand-in (no Hub download), so text takes more tokens than with Qwen's;
decoding dominates the cost anyway.

    python benchmarks/training_data_throughput.py --rows 24 --videos 6
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def build_prepared(root: Path, rows: int, videos: int) -> Path:
    from videoespresso_hf.cli.main import main
    from videoespresso_hf.demo.videos import PALETTE, Segment, make_video

    paths = []
    for index in range(videos):
        path = root / "build" / "videos" / f"clip{index}.mp4"
        segments = [Segment("moving", 2.0, color=PALETTE[(index + k) % len(PALETTE)]) for k in range(5)]
        make_video(path, segments, fps=24, size=(320, 240))
        paths.append(path)
    lines = []
    for index in range(rows):
        video = paths[index % videos]
        times = [1.0 + index % 3, 4.5, 8.0]
        lines.append(json.dumps({
            "id": f"bench-{index}", "question": f"What happens after the colour changes in clip {index}?",
            "answer": "The texture keeps moving.", "options": ["It stops.", "The texture keeps moving.", "A cut.", "Nothing."],
            "correct_answer": "B", "task": "Event Process", "task_group": "Logical Reasoning",
            "evidence": "The texture moves in every frame.",
            "evidence_raw": "The <obj_start>texture<obj_end><box_start>[0, 0, 320, 240]<box_end> moves in every frame.",
            "core_frames": [{"path": "", "caption": "", "frame_index": int(t * 24), "timestamp": t} for t in times],
            "video": str(video), "video_path": video.name, "fps": 24.0, "source": "bench", "metadata": "{}",
        }))  # fmt: skip
    folder = root / "build" / "generated"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "manifest.json").write_text(json.dumps({"schema_version": 1, "counts": {"train": rows}}))
    out = root / "prepared"
    main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(root / "build"), "--out", str(out)])
    return out


def stock_processor():
    """Qwen2.5-VL's stock image/video processors (real resize rule) with a byte-level tokenizer."""
    from doubles.tiny_models import QWEN_CHAT_TEMPLATE, tiny_tokenizer
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from videoespresso_hf.models.reasoner.configuration_reasoner import VexQwen2_5_VLReasonerConfig
    from videoespresso_hf.models.reasoner.processing_reasoner import VexQwen2_5_VLReasonerProcessor
    from videoespresso_hf.training.reasoner_data import apply_frame_size

    processor = VexQwen2_5_VLReasonerProcessor(
        image_processor=Qwen2VLImageProcessor(), tokenizer=tiny_tokenizer(),
        video_processor=Qwen2VLVideoProcessor(cap_pixels_per_frame=True), chat_template=QWEN_CHAT_TEMPLATE,
    )  # fmt: skip
    config = VexQwen2_5_VLReasonerConfig()
    apply_frame_size(config, 224)  # Table 8, as train_reasoner sets it
    return processor, config


def measure(dataset, collator, workers: int, batch_size: int) -> tuple[float, int]:
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=workers, collate_fn=collator)
    start, samples, tokens = time.perf_counter(), 0, 0
    for batch in loader:
        samples += batch["input_ids"].shape[0]
        tokens += int(batch["attention_mask"].sum())
    return samples / (time.perf_counter() - start), tokens // max(samples, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=24)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from videoespresso_hf.training.plan import step_seconds
    from videoespresso_hf.training.reasoner_data import ReasonerCollator, SampleBuilder
    from videoespresso_hf.training.rows import SkipLog, load_rows

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        rows = load_rows(build_prepared(root, args.rows, args.videos), "generated")
        processor, config = stock_processor()
        builder = SampleBuilder(rows, range(len(rows)), processor, config, "1", max_length=6144,
                                evidence_field="evidence_raw", skip_log=SkipLog(root / "skipped.jsonl"))  # fmt: skip
        dataset = builder.dataset()
        collator = ReasonerCollator(processor.tokenizer.pad_token_id)
        gpu_samples_per_second = 1 / step_seconds("1")
        print(f"{args.rows} rows, 3 core frames each from 10-s 320x240 clips; batch {args.batch_size}")
        print(f"7B LoRA on one A100 (FLOPs estimate): {gpu_samples_per_second:.1f} samples/s needed per GPU")
        print(f"{'workers':>8}{'samples/s':>11}{'tokens/sample':>15}{'data / GPU':>12}")
        for workers in (0, 1, 2):
            rate, tokens = measure(dataset, collator, workers, args.batch_size)
            print(f"{workers:>8}{rate:>11.1f}{tokens:>15}{rate / gpu_samples_per_second:>11.2f}x")


if __name__ == "__main__":
    main()
