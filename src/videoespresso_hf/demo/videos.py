"""Real, tiny, encoded test videos with known content (for tests, benchmarks and the offline demo).

``make_video`` encodes an actual mp4 with PyAV (libx264 by default) from a list of :class:`Segment`s and
returns a :class:`VideoSpec` describing the ground truth: where the hard cuts are, which segment every
frame belongs to, and the colour of every segment. Nothing is mocked: decoders, shot detectors and
models read the file exactly as they would read a downloaded video.

Content of a frame (so that it survives lossy compression and stays identifiable):

* every segment has its own solid background colour from :data:`PALETTE` (or ``Segment.color``), so the
  mean colour of a decoded frame tells which segment it belongs to (:meth:`VideoSpec.identify_segment`);
* ``kind="static"``: the same frame for the whole segment (solid colour plus a fixed, faint gradient);
* ``kind="moving"``: a blocky random brightness texture (``±amplitude`` around the segment colour, seeded
  by ``Segment.seed``) that scrolls a few pixels every frame — lots of frame-to-frame change, yet
  no hard cut inside the segment and the same mean colour;
* segments are joined by hard cuts, so the shot boundaries are exactly ``VideoSpec.cuts``;
* with ``stamp_index=True`` the bottom rows carry the frame number as a black/white barcode, so a decoded
  frame can be mapped back to its exact index (:func:`read_stamped_index`). The stamp changes every frame,
  so leave it off for tests of shot detection or motion ("static" would no longer be static).

Encoding takes ~0.1 s for a few seconds at the default 96x64. Options mimic real files: ``gop`` (keyframe
interval), ``codec`` (h264, hevc, vp9, mpeg4), ``audio=True`` (an AAC track), ``faststart``,
``encoder_options`` (e.g. open GOPs). :func:`make_corrupt_video` and :func:`make_empty_video` write the
broken inputs a pipeline must survive.

Example::

    from videoespresso_hf.demo.videos import Segment, make_video

    spec = make_video(tmp_path / "clip.mp4", [Segment("static", 2.0), Segment("moving", 2.0)], fps=24)
    spec.cuts            # (48,)  -> a new shot starts at frame 48
    spec.frame_segment   # (96,) int array: 0 for frames 0..47, 1 for 48..95
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = [
    "PALETTE",
    "Segment",
    "VideoSpec",
    "make_corrupt_video",
    "make_empty_video",
    "make_video",
    "read_stamped_index",
]

# Well separated mid-range colours: far apart after yuv420 compression, and with head-room for the
# ±amplitude texture of moving segments.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (200, 40, 40),  # red
    (40, 180, 40),  # green
    (40, 60, 210),  # blue
    (210, 200, 40),  # yellow
    (190, 40, 190),  # magenta
    (40, 190, 200),  # cyan
    (128, 128, 128),  # grey
    (230, 130, 30),  # orange
    (90, 40, 140),  # purple
    (150, 220, 150),  # mint
)

STAMP_BITS = 12  # frame numbers up to 4095 can be stamped
_CODEC_ALIASES = {"h264": "libx264", "hevc": "libx265", "h265": "libx265", "vp9": "libvpx-vp9"}


@dataclass(frozen=True)
class Segment:
    """One shot of a synthetic video.

    Args:
        kind: ``"static"`` (one constant frame) or ``"moving"`` (a texture that scrolls every frame).
        seconds: length of the segment; rounded to whole frames at the video's fps.
        color: RGB background colour; ``None`` picks ``PALETTE[segment_position % len(PALETTE)]``.
        seed: seeds the random texture of a moving segment.
        speed: pixels the texture moves per frame (moving segments only).
        amplitude: brightness swing of the texture around ``color`` (moving segments only).
    """

    kind: Literal["static", "moving"]
    seconds: float
    color: tuple[int, int, int] | None = None
    seed: int = 0
    speed: int = 3
    amplitude: int = 40

    def __post_init__(self) -> None:
        if self.kind not in ("static", "moving"):
            raise ValueError(f"Segment.kind must be 'static' or 'moving', got {self.kind!r}")
        if self.seconds <= 0:
            raise ValueError(f"Segment.seconds must be > 0, got {self.seconds}")


@dataclass(frozen=True)
class VideoSpec:
    """Ground truth of a video written by :func:`make_video`.

    Attributes:
        path: the mp4 file.
        fps: frame rate (frames per second, an integer here).
        width, height: frame size in pixels.
        num_frames: number of encoded frames.
        segments: the segments, in order.
        colors: the RGB colour of each segment.
        segment_starts: first frame index of each segment (``segment_starts[0] == 0``).
        cuts: frame indices where a new shot starts, i.e. ``segment_starts[1:]``.
        frame_segment: ``(num_frames,)`` int array, the segment ("content id") of every frame.
        stamp_index: whether frames carry their index as a barcode (:func:`read_stamped_index`).
    """

    path: Path
    fps: int
    width: int
    height: int
    num_frames: int
    segments: tuple[Segment, ...]
    colors: tuple[tuple[int, int, int], ...]
    segment_starts: tuple[int, ...]
    cuts: tuple[int, ...]
    frame_segment: np.ndarray = field(repr=False)
    stamp_index: bool = False

    @property
    def duration(self) -> float:
        """Length in seconds (``num_frames / fps``)."""
        return self.num_frames / self.fps

    @property
    def segment_ranges(self) -> tuple[tuple[int, int], ...]:
        """``(start_frame, end_frame_exclusive)`` of every segment."""
        ends = (*self.segment_starts[1:], self.num_frames)
        return tuple(zip(self.segment_starts, ends, strict=True))

    def identify_segment(self, frame: np.ndarray) -> int:
        """Segment index whose colour is nearest to the mean colour of a decoded ``(H, W, 3)`` uint8 frame."""
        usable = frame[: self.height - _stamp_rows(self.height)] if self.stamp_index else frame
        mean = usable.reshape(-1, 3).astype(np.float64).mean(axis=0)
        distances = [np.linalg.norm(mean - np.asarray(color, dtype=np.float64)) for color in self.colors]
        return int(np.argmin(distances))


def make_video(
    path: str | Path,
    segments: Sequence[Segment],
    *,
    fps: int = 24,
    size: tuple[int, int] = (96, 64),
    codec: str = "h264",
    gop: int | None = None,
    crf: int = 23,
    stamp_index: bool = False,
    faststart: bool = False,
    audio: bool = False,
    encoder_options: dict[str, str] | None = None,
) -> VideoSpec:
    """Encode a real video file made of ``segments`` joined by hard cuts.

    Args:
        path: output file (``.mp4`` recommended; parent folders are created).
        segments: the shots, in order.
        fps: frame rate.
        size: ``(width, height)``; both must be even (yuv420p).
        codec: ``"h264"`` (libx264), ``"hevc"``, ``"vp9"``, ``"mpeg4"`` or any PyAV encoder name.
        gop: maximum keyframe interval in frames (``None``: the encoder default, 250 for x264).
        crf: quality for x264/x265 (lower = better).
        stamp_index: draw each frame's index as a barcode in the bottom rows (see module docstring).
        faststart: put the mp4 index ("moov") at the start of the file, as web videos do.
        audio: also write a quiet 440 Hz AAC audio track, as real videos have one.
        encoder_options: extra FFmpeg encoder options, e.g. ``{"x264-params": "open-gop=1"}``.

    Returns:
        The :class:`VideoSpec` ground truth.
    """
    import av  # local import: only test code needs the encoder

    if not segments:
        raise ValueError("make_video needs at least one segment")
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"size must be even for yuv420p, got {size}")
    lengths = [max(1, round(seg.seconds * fps)) for seg in segments]
    num_frames = sum(lengths)
    if stamp_index and num_frames >= 2**STAMP_BITS:
        raise ValueError(f"stamp_index supports at most {2**STAMP_BITS - 1} frames, got {num_frames}")
    colors = tuple(seg.color or PALETTE[i % len(PALETTE)] for i, seg in enumerate(segments))
    starts = tuple(int(s) for s in np.cumsum([0, *lengths[:-1]]))
    frame_segment = np.repeat(np.arange(len(segments)), lengths)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec_name = _CODEC_ALIASES.get(codec, codec)
    options: dict[str, str] = {}
    if codec_name in ("libx264", "libx265"):
        options.update(preset="veryfast", crf=str(crf))
    if codec_name == "libx265":
        options["x265-params"] = "log-level=error"  # x265 prints a page of info to stderr otherwise
    if gop is not None:
        options["g"] = str(gop)
        if codec_name == "libx264":
            # x264 also inserts keyframes at scene cuts; keep exactly the interval the caller asked for.
            options.update(keyint_min=str(gop), sc_threshold="0")
    options.update(encoder_options or {})
    container_options = {"movflags": "+faststart"} if faststart else {}

    with av.open(str(path), mode="w", options=container_options) as container:
        stream = container.add_stream(codec_name, rate=fps, options=options)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        audio_writer = _AudioWriter(container, num_frames / fps) if audio else None
        frame_index = 0
        for seg_index, (seg, length) in enumerate(zip(segments, lengths, strict=True)):
            painter = _SegmentPainter(seg, colors[seg_index], width, height)
            for local_index in range(length):
                image = painter.frame(local_index)
                if stamp_index:
                    _draw_stamp(image, frame_index)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = frame_index
                frame.time_base = Fraction(1, fps)
                container.mux(stream.encode(frame))
                frame_index += 1
                if audio_writer is not None:
                    audio_writer.write_until(frame_index / fps)
        container.mux(stream.encode(None))
        if audio_writer is not None:
            audio_writer.finish()

    return VideoSpec(
        path=path,
        fps=fps,
        width=width,
        height=height,
        num_frames=num_frames,
        segments=tuple(segments),
        colors=colors,
        segment_starts=starts,
        cuts=starts[1:],
        frame_segment=frame_segment,
        stamp_index=stamp_index,
    )


def make_corrupt_video(
    path: str | Path, kind: Literal["truncated", "garbage", "header_only"] = "truncated", *, seed: int = 0
) -> Path:
    """Write an unreadable "video" file.

    Args:
        kind: ``"truncated"``: a real 2 s mp4 cut to its first third (the index at the end is lost);
            ``"garbage"``: 4 KiB of random bytes with an ``.mp4`` name;
            ``"header_only"``: a faststart mp4 (index first) whose frame data is cut off, so it opens
            and reports metadata but decoding its frames fails or yields nothing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "garbage":
        path.write_bytes(np.random.default_rng(seed).integers(0, 256, 4096, dtype=np.uint8).tobytes())
        return path
    if kind not in ("truncated", "header_only"):
        raise ValueError(f"unknown corrupt video kind {kind!r}")
    source = path.with_name(path.name + ".full.mp4")
    make_video(source, [Segment("moving", 2.0, seed=seed)], faststart=kind == "header_only")
    data = source.read_bytes()
    source.unlink()
    if kind == "truncated":
        path.write_bytes(data[: len(data) // 3])
    else:
        moov = data.find(b"moov")
        mdat = data.find(b"mdat")
        path.write_bytes(data[: max(moov, mdat) + 64])
    return path


def make_empty_video(path: str | Path) -> Path:
    """Write a zero-byte file (an interrupted download)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def read_stamped_index(frame: np.ndarray) -> int:
    """Frame index from the barcode that ``make_video(..., stamp_index=True)`` drew on a decoded frame."""
    height, width = frame.shape[:2]
    rows = frame[height - _stamp_rows(height) :]
    cell = width // STAMP_BITS
    value = 0
    for bit in range(STAMP_BITS):
        # Sample the centre of each cell: edges blur under compression.
        patch = rows[:, bit * cell + cell // 4 : (bit + 1) * cell - cell // 4]
        if patch.mean() > 127:
            value |= 1 << bit
    return value


class _SegmentPainter:
    """Draws the frames of one segment as ``(H, W, 3)`` uint8 RGB arrays."""

    def __init__(self, segment: Segment, color: tuple[int, int, int], width: int, height: int) -> None:
        self.segment = segment
        self.width, self.height = width, height
        base = np.empty((height, width, 3), dtype=np.float32)
        base[:] = np.asarray(color, dtype=np.float32)
        if segment.kind == "static":
            # A faint fixed gradient so the frame is not a perfectly flat image.
            ramp = np.linspace(-6.0, 6.0, width, dtype=np.float32)
            self.static = np.clip(base + ramp[None, :, None], 0, 255).astype(np.uint8)
        else:
            self.base = base
            rng = np.random.default_rng(segment.seed)
            block = 8
            # A texture twice the frame size, tiled so scrolling wraps around seamlessly.
            coarse = rng.uniform(-1.0, 1.0, size=(height // block + 1, width // block + 1)).astype(np.float32)
            tile = np.kron(coarse, np.ones((block, block), dtype=np.float32))[:height, :width]
            self.texture = np.tile(tile, (2, 2)) * segment.amplitude

    def frame(self, local_index: int) -> np.ndarray:
        if self.segment.kind == "static":
            return self.static.copy()
        dx = (local_index * self.segment.speed) % self.width
        dy = (local_index * max(1, self.segment.speed // 2)) % self.height
        shifted = self.texture[dy : dy + self.height, dx : dx + self.width]
        return np.clip(self.base + shifted[:, :, None], 0, 255).astype(np.uint8)


class _AudioWriter:
    """Interleaves a mono 440 Hz AAC track with the video packets."""

    def __init__(self, container, seconds: float, rate: int = 16000) -> None:
        self.stream = container.add_stream("aac", rate=rate, layout="mono")
        self.container, self.rate = container, rate
        self.total = round(seconds * rate)
        self.written = 0
        self.chunk = 1024  # AAC frame size

    def write_until(self, seconds: float) -> None:
        import av

        target = min(self.total, round(seconds * self.rate))
        while self.written + self.chunk <= target or (target == self.total and self.written < target):
            count = min(self.chunk, self.total - self.written)
            t = (self.written + np.arange(count)) / self.rate
            samples = (0.1 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)[None, :]
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = self.rate, self.written
            frame.time_base = Fraction(1, self.rate)
            self.container.mux(self.stream.encode(frame))
            self.written += count

    def finish(self) -> None:
        self.write_until(self.total / self.rate)
        self.container.mux(self.stream.encode(None))


def _stamp_rows(height: int) -> int:
    return max(8, height // 8)


def _draw_stamp(image: np.ndarray, frame_index: int) -> None:
    height, width = image.shape[:2]
    rows = _stamp_rows(height)
    cell = width // STAMP_BITS
    image[height - rows :] = 0
    for bit in range(STAMP_BITS):
        if frame_index >> bit & 1:
            image[height - rows :, bit * cell : (bit + 1) * cell] = 255
