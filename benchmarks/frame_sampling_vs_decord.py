"""Uniform frame sampling speed: ``videoespresso_hf.video`` default reader vs ``decord`` (the reference reader).

The reference implementation samples frames with ``decord.VideoReader(path).get_batch(indices)``. This
script encodes its own clips with PyAV (30 fps, 60 s of moving texture with a cut every 10 s, at 640x360
and 1280x720; each with the encoder's default keyframe interval and with a 2 s keyframe interval), then,
in the same run, samples N = 16 and 64 uniformly spaced frames with both readers (open + decode + RGB
arrays, best of ``--repeats``, the readers taking turns) and prints the speed-up decord time / ours time
(> 1 means ours is faster) in wall time and in CPU time (all threads of the process; on a shared machine
other jobs inflate wall time, not CPU time). It also checks that both readers return the same frames
(mean absolute pixel difference). The last lines give the 4 cells (size x N), worst over the two GOPs.

Usage::

    python benchmarks/frame_sampling_vs_decord.py            # ~5 minutes on 2 cores (encoding 720p is slow)
    python benchmarks/frame_sampling_vs_decord.py --sizes 640x360 --seconds 30
    python benchmarks/frame_sampling_vs_decord.py --all      # also time every other VideoReader backend
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.video import VideoReader, available_backends, uniform_indices


def best_times(fns: list, repeats: int) -> list[tuple[float, float, np.ndarray]]:
    """Best wall and CPU time of each function; they take turns so that load changes hit all alike."""
    wall, cpu, results = [float("inf")] * len(fns), [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start, cpu_start = time.perf_counter(), time.process_time()
            results[k] = fn()
            wall[k] = min(wall[k], time.perf_counter() - start)
            cpu[k] = min(cpu[k], time.process_time() - cpu_start)
    return list(zip(wall, cpu, results, strict=True))


def ours(path: Path, indices: np.ndarray, backend: str = "auto") -> np.ndarray:
    with VideoReader(path, backend=backend) as reader:
        return reader.get_frames(indices)


def reference_decord(path: Path, indices: np.ndarray) -> np.ndarray:
    import decord

    reader = decord.VideoReader(str(path), ctx=decord.cpu(0))
    return reader.get_batch([int(i) for i in indices]).asnumpy()


def _size(text: str) -> tuple[int, int]:
    width, height = text.lower().split("x")
    return int(width), int(height)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", nargs="+", type=_size, default=[(640, 360), (1280, 720)], metavar="WxH")
    parser.add_argument("--all", action="store_true", help="also time the other backends behind VideoReader")
    args = parser.parse_args()
    if importlib.util.find_spec("decord") is None:  # the reference, used directly (not a VideoReader backend)
        raise SystemExit("decord is not installed: pip install decord2==3.4.0 (pinned in requirements/dev.txt)")

    fps = 30
    shots = max(1, round(args.seconds / 10))
    segments = [Segment("moving", args.seconds / shots, seed=i, speed=4) for i in range(shots)]
    extra = [b for b in ("pyav-seek", "pyav-sequential", "torchcodec") if b in available_backends()]
    extra = extra if args.all else []
    header = (
        f"{'clip':<22} {'N':>3} {'ours (s)':>9} {'decord (s)':>10} {'speed-up':>8} {'CPU speed-up':>12}"
        f" {'max |diff|':>10}"
    )
    rows, cells = [header, "-" * len(header)], {}
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in args.sizes:
            for gop_label, gop in [("default GOP", None), ("GOP 2 s", 2 * fps)]:
                start = time.perf_counter()
                path = Path(tmp) / f"clip_{width}x{height}_{gop}.mp4"
                spec = make_video(path, segments, fps=fps, size=(width, height), gop=gop)
                print(f"encoded {width}x{height} {gop_label}: {spec.num_frames} frames in {time.perf_counter() - start:.1f} s")
                label = f"{width}x{height} {gop_label}"
                for n in (16, 64):
                    indices = uniform_indices(spec.num_frames, n)
                    fns = [partial(reference_decord, spec.path, indices), partial(ours, spec.path, indices)]
                    fns += [partial(ours, spec.path, indices, backend) for backend in extra]
                    (w_ref, c_ref, ref), (w_ours, c_ours, got), *others = best_times(fns, args.repeats)
                    diff = np.abs(got.astype(np.int16) - ref.astype(np.int16)).mean(axis=(1, 2, 3)).max()
                    rows.append(
                        f"{label:<22} {n:>3} {w_ours:>9.3f} {w_ref:>10.3f} {w_ref / w_ours:>7.2f}x"
                        f" {c_ref / c_ours:>11.2f}x {diff:>10.2f}"
                    )
                    for backend, (w_b, c_b, _) in zip(extra, others, strict=True):
                        rows.append(f"  {backend:<20} {'':>3} {w_b:>9.3f} {'':>10} {w_ref / w_b:>7.2f}x {c_ref / c_b:>11.2f}x")
                    cell = cells.setdefault((width, height, n), [])
                    cell.append((w_ref / w_ours, c_ref / c_ours))
    print("\n".join(rows))
    print("speed-up = decord time / ours time (> 1: ours is faster), best of", args.repeats, "runs;")
    print("ours = VideoReader(path).get_frames(uniform_indices(num_frames, N)); decord = decord.VideoReader(path).get_batch(indices)")
    print("cells (worst over the two GOPs): " + "; ".join(
        f"{w}x{h} N={n}: {min(r[0] for r in v):.2f}x wall, {min(r[1] for r in v):.2f}x CPU" for (w, h, n), v in cells.items()
    ))
    print(f"1-min load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
