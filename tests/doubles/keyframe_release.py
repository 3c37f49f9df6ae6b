"""A released layout whose key-frame JPEGs were cut from KNOWN seconds of real encoded videos (issue 20.0).

``write_keyframe_release(root)`` writes ``root/train_video`` (videos + ``videoespresso_train_video.json``)
and ``root/train_multi_image`` (the key-frame JPEGs + ``merged_ano_all.json``); :func:`truth` maps each
released key-frame path to the second its image was cut at, and :data:`FOREIGN` names a key frame of
``00299`` whose image was cut from another video (matching must report it unmatched).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from videoespresso_hf.demo.releases import write_json
from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.video import VideoReader

__all__ = ["FOREIGN", "VIDEOS", "frame_dir", "jpeg_at", "key_frame_truth", "write_keyframe_release"]

FPS = 8
SECONDS = 12.0

# video stem → (source, the rate its frame numbers refer to, seconds its key frames were cut at)
VIDEOS = {
    "00299": ("CUVA", 2.0, (3.0, 5.5)),
    "RgtipEqA7ZA_000046_000056": ("vatex", 4.0, (0.0, 1.25, 2.0)),
    "m001": ("Moviechat", 1.0, (7.0,)),
}


def make_keyframe_video(path: Path, seed: int) -> Path:
    """12 s of distinct textured quarter-seconds: every candidate time (N/1, N/2, N/4 s) shows another picture."""
    rng = np.random.default_rng(seed)
    segments = [
        Segment("moving", 0.25, color=tuple(int(v) for v in rng.integers(50, 200, 3)), seed=seed * 100 + i, amplitude=60)
        for i in range(int(SECONDS * 4))
    ]
    make_video(path, segments, fps=FPS, size=(96, 64), gop=16)
    return path


def jpeg_at(video: Path, second: float, scale: int = 2) -> bytes:
    """The release's key-frame image: the frame on screen at ``second``, saved larger, as JPEG."""
    with VideoReader(video) as reader:
        frame = reader.get_frames_at([second])[0]
    image = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def frame_dir(stem: str) -> str:
    source = VIDEOS[stem][0]
    return f"{source}/2_image/{stem}"


def key_frame_truth() -> dict[str, float]:
    """Released key-frame path → the second its image was cut at."""
    return {f"{frame_dir(stem)}/{round(second * rate)}.jpg": second
            for stem, (_, rate, seconds) in VIDEOS.items() for second in seconds}  # fmt: skip


FOREIGN = "CUVA/2_image/00299/9.jpg"  # named like a key frame of 00299, cut from another video


def write_keyframe_release(root: Path) -> tuple[Path, Path, dict[str, Path]]:
    """(train_video release folder with its videos, the multi-image release folder with the key-frame JPEGs, videos)."""
    videos = {stem: make_keyframe_video(root / "encoded" / f"{stem}.mp4", seed) for seed, stem in enumerate(VIDEOS, 1)}
    video_dir, image_dir = root / "train_video", root / "train_multi_image"
    records = []
    for index, (stem, (source, _, _)) in enumerate(VIDEOS.items()):
        (video_dir / source).mkdir(parents=True, exist_ok=True)
        (video_dir / source / f"{stem}.mp4").write_bytes(videos[stem].read_bytes())
        frames = [path for path in key_frame_truth() if path.startswith(frame_dir(stem) + "/")]
        if stem == "00299":
            frames.append(FOREIGN)
        # Two rows per video, each naming part of its key frames: the rate is still decided over all of them.
        for part, chosen in enumerate((frames[: max(1, len(frames) // 2)], frames[max(1, len(frames) // 2) :] or frames)):
            record = {
                "path": chosen, "caption": [f"cap {p}" for p in chosen], "question": f"Q {index}.{part}?",
                "answer": "The cup falls.", "task": "Causal Inference", "video_path": f"{source}/{stem}.mp4",
                # On the 192x128 key-frame images only the 0-1000 corner reading keeps this box inside.
                "evidence": "The <obj_start>cup<obj_end><box_start>[100, 200, 900, 950]<box_end> falls.",
            }  # fmt: skip
            if part == 0:  # multiple choice; the second row of each video stays free-form
                record.update(options=["(A): It rolls.", "(B): The cup falls.", "(C): Nothing.", "(D): It flies."],
                              correct_answer="(B)")  # fmt: skip
            records.append(record)
    write_json(video_dir / "videoespresso_train_video.json", records)
    write_json(image_dir / "merged_ano_all.json", records)
    for path, second in key_frame_truth().items():
        stem = Path(path).parent.name
        (image_dir / path).parent.mkdir(parents=True, exist_ok=True)
        (image_dir / path).write_bytes(jpeg_at(videos[stem], second))
    (image_dir / FOREIGN).write_bytes(jpeg_at(videos["m001"], 4.5))
    return video_dir, image_dir, videos

