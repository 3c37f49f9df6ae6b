"""Candidate-frame captions cached on disk, keyed by captioner, video content and frame index.

Captioning every candidate frame is the expensive part of selector training (a VLM call per frame);
the captions do not change between epochs or runs, so they are written once to
``CACHE/<captioner key>/<video content key>.json`` (``{"frame_index": "caption"}``) and read back.
The video key is the content hash of :func:`videoespresso_hf.video.video_identity` (size +
first/last MiB), so a moved or renamed video keeps its captions and an edited one does not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from videoespresso_hf.files import write_text_atomic
from videoespresso_hf.video import video_identity

__all__ = ["CaptionCache", "captioner_key"]


def captioner_key(config) -> str:
    """A key that changes when the captioner or its prompt/budget does (selector config fields)."""
    identity = {
        "captioner": config.captioner_id or json.dumps(config.captioner_config.to_dict(), sort_keys=True, default=str),
        "prompt": config.caption_prompt,
        "max_new_tokens": config.caption_max_new_tokens,
        "processor_kwargs": config.caption_processor_kwargs,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


class CaptionCache:
    """Captions of (video, frame index) for one captioner; counts what it computed vs. reused."""

    def __init__(self, root: str | Path, key: str):
        self.folder = Path(root) / key
        self.folder.mkdir(parents=True, exist_ok=True)
        self.computed = 0
        self.reused = 0
        self._files: dict[str, Path] = {}  # rows share videos: each file's identity is read once per run

    def _file(self, video: str) -> Path:
        if video not in self._files:
            self._files[video] = self.folder / f"{video_identity(video).content_key}.json"
        return self._files[video]

    def captions(
        self, video: str, frame_indices: Sequence[int], caption: Callable[[list[int]], list[str]]
    ) -> list[str]:
        """Captions of ``frame_indices`` of ``video``; ``caption(missing_indices)`` computes the missing ones."""
        path = self._file(video)
        known: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        missing = [index for index in dict.fromkeys(frame_indices) if str(index) not in known]
        if missing:
            known.update({str(index): text for index, text in zip(missing, caption(missing), strict=True)})
            write_text_atomic(path, json.dumps(known, ensure_ascii=False))  # a killed run never leaves half a file
        self.computed += len(missing)
        self.reused += len(frame_indices) - len(missing)
        return [known[str(index)] for index in frame_indices]
