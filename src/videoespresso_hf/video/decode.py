"""Decode frames of a video at given indices or timestamps, with one reusable reader.

The decoding library is an implementation detail behind :class:`VideoReader` (see
:mod:`videoespresso_hf.video.backends`). The default, ``backend="auto"``, is PyAV with the
index-guided seek-or-decode-forward plan that skips unwanted non-reference frames and decodes the
keyframe intervals of a request on parallel single-threaded decoders. It was chosen by measurement
(``benchmarks/frame_sampling_vs_decord.py``, 60 s clips, 2 CPU cores; figures in the README): for N = 16
/ 64 uniformly sampled frames it is 1.6-2.3x faster in CPU time than ``decord.VideoReader.get_batch``
(the reference implementation's reader) at 640x360 and 1280x720, default and 2 s GOPs, with identical
pixels; pure seeking was up to 5x slower on long GOPs and pure sequential decoding up to 3x slower on
short GOPs; torchcodec (``num_ffmpeg_threads=0``) was on par with decord. PyAV is also a core
dependency, while torchcodec (which needs system FFmpeg libraries) is optional. decord is only the
benchmark's comparator (see :mod:`videoespresso_hf.video.backends` for why it is not a backend).

A reader is not thread-safe: use one per thread or process.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .backends import BACKENDS, Size, backend_unavailable_reason
from .errors import FrameIndexError, VideoError, check_file
from .metadata import VideoMetadata

DEFAULT_BACKEND = "pyav"


class VideoReader:
    """An open video that decodes frames on demand; reuse it for several calls on the same file.

    Args:
        path: video file.
        backend: ``"auto"`` (= ``"pyav"``), ``"pyav"``, ``"pyav-seek"``, ``"pyav-sequential"``
            or ``"torchcodec"``.
        size: optional ``(width, height)`` to resize every frame while decoding (cheap: done by the
            decoder's scaler, before the RGB array is made).
        threads: decoding threads; 0 = the CPU cores this process may use.

    Raises:
        VideoError: the file is missing, empty, not a video, or has no decodable video stream.

    Example::

        with VideoReader("clip.mp4") as reader:
            frames = reader.get_frames([0, 10, 20])    # (3, H, W, 3) uint8 RGB
            times = reader.frame_timestamps[[0, 10, 20]]
    """

    def __init__(
        self, path: str | Path, *, backend: str = "auto", size: Size | None = None, threads: int = 0
    ) -> None:
        self.path = check_file(path)
        name = DEFAULT_BACKEND if backend == "auto" else backend
        reason = backend_unavailable_reason(name)
        if reason is not None:
            raise ValueError(f"video backend {name!r} is not usable: {reason}")
        self._backend = BACKENDS[name](self.path, size=size, threads=threads)
        self.backend: str = self._backend.name
        declared, present = self._backend.declared_frames, self._backend.metadata.num_frames
        if present < declared - max(1, declared // 100):
            self._backend.close()
            raise VideoError(
                self.path,
                f"truncated or damaged: the header lists {declared} frames but only {present} are present",
            )

    @property
    def metadata(self) -> VideoMetadata:
        """fps, frame count, duration and size of the file (not of resized frames), as this backend counts frames."""
        return self._backend.metadata

    @property
    def num_frames(self) -> int:
        return self._backend.metadata.num_frames

    def __len__(self) -> int:
        return self.num_frames

    @property
    def frame_timestamps(self) -> np.ndarray:
        """``(num_frames,)`` float64: presentation time of every frame in seconds from the start."""
        timestamps = self._backend.timestamps
        if timestamps is None:
            timestamps = np.arange(self.num_frames, dtype=np.float64) / self.metadata.fps
            self._backend.timestamps = timestamps
        return timestamps

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Decode frames by index (any order, repeats allowed).

        Returns:
            ``(len(indices), H, W, 3)`` uint8 RGB array, in the order of ``indices``.

        Raises:
            FrameIndexError: an index outside ``[0, num_frames)`` (a ``VideoError`` and an ``IndexError``).
            VideoError: the file cannot be decoded up to a wanted frame.
        """
        wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
        if wanted.size and (wanted.min() < 0 or wanted.max() >= self.num_frames):
            bad = int(wanted[(wanted < 0) | (wanted >= self.num_frames)][0])
            raise FrameIndexError(
                self.path, f"frame index {bad} out of range (the video has {self.num_frames} frames)"
            )
        if wanted.size == 0:
            height, width = self.metadata.height, self.metadata.width
            return np.empty((0, height, width, 3), dtype=np.uint8)
        unique, inverse = np.unique(wanted, return_inverse=True)
        frames = self._backend.get(unique)
        return frames if len(unique) == len(wanted) and (unique == wanted).all() else frames[inverse]

    def indices_at(self, timestamps: Sequence[float] | np.ndarray) -> np.ndarray:
        """Index of the frame on screen at each time (seconds): the last frame starting at or before it."""
        times = np.asarray(timestamps, dtype=np.float64).reshape(-1)
        starts = self.frame_timestamps
        # A little slack so that t = k / fps lands on frame k despite rounding in the time base.
        index = np.searchsorted(starts, times + 1e-6, side="right") - 1
        return np.clip(index, 0, self.num_frames - 1)

    def get_frames_at(self, timestamps: Sequence[float] | np.ndarray) -> np.ndarray:
        """Decode the frames on screen at ``timestamps`` (seconds); times past the end give the last frame.

        Returns:
            ``(len(timestamps), H, W, 3)`` uint8 RGB array.
        """
        return self.get_frames(self.indices_at(timestamps))

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}, backend={self.backend!r}, num_frames={self.num_frames})"


def read_frames(
    path: str | Path, indices: Sequence[int] | np.ndarray, *, backend: str = "auto", size: Size | None = None
) -> np.ndarray:
    """Decode frames of ``path`` by index. Returns ``(N, H, W, 3)`` uint8 RGB. See :class:`VideoReader`."""
    with VideoReader(path, backend=backend, size=size) as reader:
        return reader.get_frames(indices)


def read_frames_at(
    path: str | Path,
    timestamps: Sequence[float] | np.ndarray,
    *,
    backend: str = "auto",
    size: Size | None = None,
) -> np.ndarray:
    """Decode the frames of ``path`` on screen at ``timestamps`` (seconds). Returns ``(N, H, W, 3)`` uint8."""
    with VideoReader(path, backend=backend, size=size) as reader:
        return reader.get_frames_at(timestamps)


__all__ = ["DEFAULT_BACKEND", "VideoError", "VideoReader", "read_frames", "read_frames_at"]
