"""Video metadata read from the container header (no frame is decoded)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import VideoError, check_file


@dataclass(frozen=True)
class VideoMetadata:
    """What a pipeline needs to know about a video before decoding it.

    Attributes:
        path: the file.
        fps: average frame rate (frames per second).
        num_frames: number of frames of the first video stream.
        duration: length in seconds.
        width, height: frame size in pixels (of the decoded frames).
        codec: decoder name, e.g. ``"h264"``.
    """

    path: str
    fps: float
    num_frames: int
    duration: float
    width: int
    height: int
    codec: str

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return (self.width, self.height)


def probe(path: str | Path) -> VideoMetadata:
    """Read the metadata of the first video stream of ``path``.

    Raises:
        VideoError: missing, empty or unreadable file, or no video stream.
    """
    import av

    path = check_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            return metadata_from_container(container, path)
    except av.FFmpegError as err:
        raise VideoError(path, f"not a readable video ({describe_av_error(err)})") from err


def metadata_from_container(container, path: str | Path, *, count_frames: bool = True) -> VideoMetadata:
    """Build :class:`VideoMetadata` from an open PyAV input container.

    If the container stores no frame count and ``count_frames`` is true, packets are counted (the
    demuxer is rewound afterwards); with ``count_frames=False`` ``num_frames`` is then 0 and the caller
    fills it in.
    """
    if not container.streams.video:
        raise VideoError(path, "no video stream")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise VideoError(path, "unknown frame rate")
    fps = float(rate)
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / 1_000_000  # AV_TIME_BASE
    num_frames = stream.frames
    if not num_frames and count_frames:
        # Containers such as webm/mkv store no frame count: count packets (no decoding).
        num_frames = sum(
            1 for packet in container.demux(stream) if packet.pts is not None and packet.size > 0
        )
        container.seek(0)
        if num_frames <= 0:
            raise VideoError(path, "video stream has no frames")
    if duration is None or duration <= 0:
        duration = num_frames / fps
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise VideoError(path, "video stream has no frame size")
    return VideoMetadata(
        path=str(path),
        fps=fps,
        num_frames=int(num_frames),
        duration=duration,
        width=int(width),
        height=int(height),
        codec=stream.codec_context.name,
    )


def describe_av_error(err: Exception) -> str:
    """A short one-line description of a PyAV/FFmpeg error (without the repeated file name)."""
    text = getattr(err, "strerror", None) or str(err)
    return " ".join(str(text).split())
