"""Uniform frame sampling speed: ``videoespresso_hf.video`` default reader vs ``decord`` (the reference reader).

The reference implementation samples frames with ``decord.VideoReader(path).get_batch(indices)``. This
script encodes its own clips with PyAV (640x360, 30 fps, 60 s of moving texture with a cut every 10 s;
one with the encoder's default keyframe interval and one with a 2 s keyframe interval), then, in the same
run, samples N = 16 and 64 uniformly spaced frames with both readers (open + decode + RGB arrays,
best of ``--repeats``, the readers taking turns) and prints the times and the ratio ours / decord (< 1 means ours is faster).
It also checks that both readers return the same frames (mean absolute pixel difference).

Usage::

    python benchmarks/frame_sampling_vs_decord.py            # ~1-2 minutes on 2 cores
    python benchmarks/frame_sampling_vs_decord.py --all      # also time every other VideoReader backend
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.video import VideoReader, available_backends, uniform_indices


def best_times(fns: list, repeats: int) -> list[tuple[float, np.ndarray]]:
    """Best wall time of each function; the functions take turns so that load changes hit all alike."""
    best, results = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            results[k] = fn()
            best[k] = min(best[k], time.perf_counter() - start)
    return list(zip(best, results, strict=True))


def ours(path: Path, indices: np.ndarray, backend: str = "auto") -> np.ndarray:
    with VideoReader(path, backend=backend) as reader:
        return reader.get_frames(indices)


def reference_decord(path: Path, indices: np.ndarray) -> np.ndarray:
    import decord

    reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
    return reader.get_batch([int(i) for i in indices]).asnumpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--all", action="store_true", help="also time the other backends behind VideoReader")
    args = parser.parse_args()
    try:
        import decord  # noqa: F401  (the comparator only; not a VideoReader backend)
    except ImportError:
        raise SystemExit(
            "decord is not installed: pip install decord2==3.4.0 (pinned in requirements/dev.txt)"
        ) from None

    fps = 30
    shots = max(1, round(args.seconds / 10))
    segments = [Segment("moving", args.seconds / shots, seed=i, speed=4) for i in range(shots)]
    extra = [b for b in ("pyav-seek", "pyav-sequential", "torchcodec") if b in available_backends()]
    extra = extra if args.all else []
    with tempfile.TemporaryDirectory() as tmp:
        clips = {}
        for label, gop in [("default GOP", None), ("GOP 2 s", 2 * fps)]:
            start = time.perf_counter()
            spec = make_video(Path(tmp) / f"clip_{gop}.mp4", segments, fps=fps, size=(640, 360), gop=gop)
            clips[label] = spec
            print(f"encoded {label}: {spec.num_frames} frames 640x360 in {time.perf_counter() - start:.1f} s")

        header = (
            f"{'clip':<12} {'N':>3} {'ours (s)':>9} {'decord (s)':>10} {'ours/decord':>11} {'max |diff|':>10}"
        )
        rows = [header, "-" * len(header)]
        for label, spec in clips.items():
            for n in (16, 64):
                indices = uniform_indices(spec.num_frames, n)
                fns = [partial(reference_decord, spec.path, indices), partial(ours, spec.path, indices)]
                fns += [partial(ours, spec.path, indices, backend) for backend in extra]
                (t_ref, ref), (t_ours, got), *others = best_times(fns, args.repeats)
                diff = np.abs(got.astype(np.int16) - ref.astype(np.int16)).mean(axis=(1, 2, 3)).max()
                rows.append(
                    f"{label:<12} {n:>3} {t_ours:>9.3f} {t_ref:>10.3f} {t_ours / t_ref:>11.2f} {diff:>10.2f}"
                )
                for backend, (t_b, _) in zip(extra, others, strict=True):
                    rows.append(f"  {backend:<18} {t_b:>7.3f} {'':>10} {t_b / t_ref:>11.2f}")
        print("\n".join(rows))
        print(
            "ours = videoespresso_hf.video.VideoReader(path).get_frames(uniform_indices(num_frames, N)),"
            " default backend; decord = decord.VideoReader(path).get_batch(indices); best of"
            f" {args.repeats}; 'max |diff|' = largest per-frame mean absolute pixel difference."
        )


if __name__ == "__main__":
    main()
