"""GPU smoke test of hybrid inference: bf16, sdpa / flash attention, ``device_map="auto"`` (accelerate).

    python scripts/gpu_smoke.py                       # tiny random checkpoints (built here, offline)
    python scripts/gpu_smoke.py --reasoner Qwen/Qwen2.5-VL-7B-Instruct --selector PATH_OR_ID --video clip.mp4

Without CUDA it says so and exits 0. With CUDA it loads selector + reasoner in bfloat16 with
``device_map="auto"`` and the best available attention (flash_attention_2 if the ``flash_attn`` package
is installed, else sdpa), checks where the weights landed and their dtype, answers one question on a
real encoded video, and prints the answer, the chosen frames, the time and the peak GPU memory.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--reasoner", default=None, help="reasoner path or Hub id (default: a tiny random one)"
    )
    parser.add_argument(
        "--selector", default=None, help="selector path or Hub id (default: a tiny random one)"
    )
    parser.add_argument("--video", type=Path, default=None, help="video file (default: a generated 6 s clip)")
    parser.add_argument("--question", default="What happens in the video?")
    parser.add_argument("--options", nargs="+", default=["a colour change", "nothing", "a person walks in"])
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("gpu_smoke: no CUDA device found; this smoke test needs a GPU (nothing was run)")
        return 0

    import videoespresso_hf  # noqa: F401
    from videoespresso_hf.models.hybrid import HybridVideoQA

    attention = "flash_attention_2" if importlib.util.find_spec("flash_attn") else "sdpa"
    work = Path(tempfile.mkdtemp(prefix="vex_gpu_smoke_"))
    if args.reasoner is None or args.selector is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # test doubles live there
        from doubles.tiny_models import (
            RANDOM_WEIGHTS_NOTICE,
            save_tiny_reasoner,
            save_tiny_selector,
        )

        print(f"gpu_smoke: {RANDOM_WEIGHTS_NOTICE}")
        args.reasoner = args.reasoner or str(save_tiny_reasoner(work / "reasoner"))
        args.selector = args.selector or str(save_tiny_selector(work / "selector"))
    if args.video is None:
        from videoespresso_hf.demo.videos import Segment, make_video

        args.video = work / "clip.mp4"
        make_video(
            args.video, [Segment("static", 2.0), Segment("moving", 2.0), Segment("static", 2.0)], fps=12
        )

    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    qa = HybridVideoQA.from_pretrained(
        args.reasoner, args.selector, dtype=torch.bfloat16, device_map="auto", attn_implementation=attention
    )
    loaded = time.perf_counter() - start
    for name, model in (("reasoner", qa.reasoner), ("selector", qa.selector)):
        devices = {str(p.device) for p in model.parameters()}
        dtypes = {str(p.dtype) for p in model.parameters() if p.is_floating_point()}
        print(
            f"{name}: devices {sorted(devices)}, dtypes {sorted(dtypes)}, attention {model.config._attn_implementation}"
        )
        if not any(device.startswith("cuda") for device in devices) or dtypes != {"torch.bfloat16"}:
            print(f"gpu_smoke: FAILED, {name} is not a bf16 model on the GPU", file=sys.stderr)
            return 1

    start = time.perf_counter()
    result = qa.answer(args.video, args.question, args.options)
    answered = time.perf_counter() - start
    print(f"frames: {result.selection.indices} at {[round(t, 2) for t in result.selection.timestamps]} s")
    print(f"evidence: {' '.join(result.evidence.split())[:300]}")
    print(f"answer: {' '.join(result.answer.split())}  letter: {result.letter}")
    print(
        f"load {loaded:.1f} s, answer {answered:.2f} s, peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
