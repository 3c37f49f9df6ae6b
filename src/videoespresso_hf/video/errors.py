"""The one error type of :mod:`videoespresso_hf.video`."""

from __future__ import annotations

from pathlib import Path


class VideoError(ValueError):
    """A video file that cannot be used: missing, empty, corrupt, undecodable or without a video stream.

    The message is one line, ``"<path>: <reason>"``, so a pipeline can record ``reason`` per video and go on.

    Attributes:
        path: the offending file.
        reason: a short human-readable cause, e.g. ``"file not found"`` or ``"empty file (0 bytes)"``.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # always one line
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):  # keep it picklable for multiprocessing / datasets.map workers
        return (type(self), (self.path, self.reason))


class FrameIndexError(VideoError, IndexError):
    """A frame index outside ``[0, num_frames)``; both a :class:`VideoError` and an ``IndexError``.

    Header frame counts can disagree with the frames actually present, so a pipeline that catches
    ``VideoError`` per video also catches this one.
    """


def check_file(path: str | Path) -> Path:
    """Fail fast with a precise reason before handing ``path`` to a decoder."""
    path = Path(path)
    if not path.exists():
        raise VideoError(path, "file not found")
    if not path.is_file():
        raise VideoError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    return path
