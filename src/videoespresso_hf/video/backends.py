"""Frame decoding backends behind :class:`videoespresso_hf.video.VideoReader`.

Every backend takes *sorted, unique* frame indices and returns ``(N, H, W, 3)`` uint8 RGB frames in
that order. Backends:

* ``"pyav"`` (default; PyAV is a core dependency): reads the packet index once (demux only, no decoding,
  ~10 ms per minute of video), then decodes forward and seeks only when the next wanted frame lies
  behind a keyframe that is *after* the current decode position. That is the cheapest plan for any
  set of indices: few frames far apart → one seek each; many frames per keyframe interval (long-GOP
  files) → a single sequential pass. A request that spans several keyframe intervals is split by
  interval over parallel single-threaded decoders (:class:`PyAVBackend`). ``"pyav-seek"`` (always seek)
  and ``"pyav-sequential"`` (never seek forward) are the two pure strategies, kept for measurement.
* ``"torchcodec"``: ``torchcodec.decoders.VideoDecoder.get_frames_at`` (optional; needs FFmpeg shared
  libraries on the system, so it is often unavailable).

Frame ``i`` is the ``i``-th frame in presentation order for every backend, so they agree on content.

decord (the reference implementation's reader) is not a backend: decord2 wheels bundle an FFmpeg build
whose behaviour depends on the CPU (on some x86 machines ``get_batch`` fails with ``DECORDError:
ndarray.cc:171 Check failed: from_size == to_size``), and it returns neighbouring frames on open-GOP and
some HEVC streams. It remains the comparator of ``benchmarks/frame_sampling_vs_decord.py``.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from videoespresso_hf.errors import first_line

from .errors import VideoError
from .metadata import VideoMetadata, describe_av_error, metadata_from_container, probe

Size = tuple[int, int]  # (width, height)


# A parallel decoder costs an open, a thread and a seek (a few ms): below this many frames to decode per
# decoder, one frame-threaded pass is as fast.
MIN_FRAMES_PER_LANE = 60


class _Lane:
    """One demuxer + decoder over the file that decodes forward from its last seek.

    A request is decoded on one lane, or split by keyframe interval over several lanes that run side by
    side in threads (PyAV releases the GIL while FFmpeg demuxes and decodes).
    """

    def __init__(self, backend: PyAVBackend, container, threads: int):
        self.backend, self.container = backend, container
        self.stream = container.streams.video[0]
        if threads != 1:
            # Frame threading speeds one sequential pass up a lot; 0 lets FFmpeg pick the thread count.
            self.stream.thread_type = "AUTO"
        self.stream.thread_count = threads
        self.decoder = None  # live frame iterator; valid while position is meaningful
        self.position = -1  # presentation index of the last frame the decoder returned
        # pts of packets sent with skip_frame=NONREF since the last seek: the decoder may hold them (B-frame
        # reordering, frame threading), already dropped, when a later request wants one of them.
        self.skipped: set[int] = set()

    def seek(self, index: int) -> None:
        self.container.seek(self.backend.pts[index], stream=self.stream, backward=True, any_frame=False)
        self.decoder = self._decode_from_here()
        self.position = -1
        self.skipped = set()

    def _decode_from_here(self):
        """Decoded frames from the demuxer's position on, in presentation order.

        Packets of frames nobody asked for are sent with ``skip_frame = "NONREF"``: the decoder then
        drops them if no other frame references them (e.g. most B-frames, a third to a half of an
        x264 stream), which saves their decoding; reference frames are always decoded.
        """
        context = self.stream.codec_context
        backend = self.backend
        for packet in self.container.demux(self.stream):
            if backend.skip_unwanted:  # backend.wanted is read per packet: each get() call sets its own
                skip = "DEFAULT" if packet.pts is None or packet.pts in backend.wanted else "NONREF"
                if skip == "NONREF":
                    self.skipped.add(packet.pts)
                if context.skip_frame != skip:
                    context.skip_frame = skip
            yield from context.decode(packet)

    def needs_seek(self, target: int) -> bool:
        backend = self.backend
        if self.decoder is None or self.position >= target or backend.strategy == "seek":
            return True
        if not self.skipped.isdisjoint(backend.wanted):  # an earlier request had a wanted frame dropped
            return True
        if backend.strategy == "sequential":
            return False
        # Decoding up to the target's keyframe would only produce frames we throw away; a seek is
        # worth it once that detour is longer than what a seek itself costs.
        return backend.keyframe_before(target) - self.position > backend.seek_cost_frames

    def decode(self, targets: np.ndarray, out: np.ndarray, slot: dict[int, int], filled: np.ndarray) -> None:
        """Decode the sorted ``targets`` into their ``slot`` of ``out``."""
        import av

        backend = self.backend
        k = 0
        try:
            while k < len(targets):
                target = int(targets[k])
                first = self.needs_seek(target)
                if first:
                    self.seek(backend.keyframe_before(target))
                while self.position < target:
                    frame = next(self.decoder, None)
                    if frame is None:
                        self.decoder = None
                        raise VideoError(
                            backend.path,
                            f"frame {target} could not be decoded (stream ends after frame {self.position})",
                        )
                    index = backend.frame_index(frame, self.position)
                    if first and index > target:
                        # The demuxer landed after the wanted frame (odd index); restart from the top.
                        self.seek(0)
                        first = False
                        continue
                    first = False
                    self.position = index
                    if index in slot:
                        out[slot[index]] = backend.to_rgb(frame)
                        filled[slot[index]] = True
                while k < len(targets) and int(targets[k]) <= self.position:
                    k += 1
        except av.FFmpegError as err:
            self.decoder = None
            raise VideoError(backend.path, f"decoding failed ({describe_av_error(err)})") from err

    def close(self) -> None:
        self.decoder = None
        self.container.close()


class PyAVBackend:
    """PyAV decoder with a packet index; see the module docstring for the seek/sequential rule.

    Args:
        threads: decoding threads; 0 = the usable CPU cores. A request whose frames lie in one keyframe
            interval is one forward pass with FFmpeg frame threading; a request over several intervals
            is split by interval over up to ``threads`` single-threaded decoders working side by side,
            which costs no extra decoding (each interval is decoded from its keyframe either way) and
            avoids frame threading's per-frame hand-offs.
    """

    def __init__(
        self,
        path: Path,
        *,
        strategy: str = "hybrid",
        size: Size | None = None,
        threads: int = 0,
        skip_unwanted: bool = True,
        seek_cost_frames: int = 16,
    ):
        import av

        if strategy not in ("hybrid", "seek", "sequential"):
            raise ValueError(f"unknown PyAV strategy {strategy!r}")
        self.path, self.strategy, self.size, self.skip_unwanted = path, strategy, size, skip_unwanted
        self.seek_cost_frames = seek_cost_frames
        self.name = "pyav" if strategy == "hybrid" else f"pyav-{strategy}"
        self.threads = threads or _usable_cores()
        try:
            self.container = av.open(str(path), metadata_errors="ignore")
        except av.FFmpegError as err:
            raise VideoError(path, f"not a readable video ({describe_av_error(err)})") from err
        self._lanes: list[_Lane] = []  # the parallel lanes, opened on first use
        try:
            self.metadata = metadata_from_container(self.container, path, count_frames=False)
            self.stream = self.container.streams.video[0]
            self._build_index()
            self._lane = _Lane(self, self.container, threads)
        except av.FFmpegError as err:
            self.close()
            raise VideoError(path, f"not a readable video ({describe_av_error(err)})") from err
        except BaseException:
            self.close()
            raise
        self.declared_frames = self.metadata.num_frames or len(self.pts)  # 0: the container stores none
        self.metadata = _with_num_frames(self.metadata, len(self.pts))
        self.wanted: set[int] = set()  # pts of the frames the current get() call returns

    def _build_index(self) -> None:
        packets = [
            (packet.pts, bool(packet.is_keyframe))
            for packet in self.container.demux(self.stream)
            if packet.pts is not None and packet.size > 0
        ]
        if not packets:
            raise VideoError(self.path, "video stream has no frames")
        packets.sort()
        self.pts = [pts for pts, _ in packets]
        self._index_of_pts = {pts: i for i, pts in enumerate(self.pts)}
        keyframes = [i for i, (_, key) in enumerate(packets) if key] or [0]
        if keyframes[0] != 0:
            keyframes.insert(0, 0)
        self.keyframes = keyframes
        time_base = float(self.stream.time_base)
        start = self.stream.start_time if self.stream.start_time is not None else self.pts[0]
        self.timestamps = (np.asarray(self.pts, dtype=np.float64) - start) * time_base
        self.container.seek(self.pts[0], stream=self.stream, backward=True, any_frame=False)

    def keyframe_before(self, index: int) -> int:
        return self.keyframes[bisect.bisect_right(self.keyframes, index) - 1]

    def frame_index(self, frame, previous: int) -> int:
        if frame.pts is None:  # only without skipping: every frame is decoded then
            return previous + 1
        index = self._index_of_pts.get(frame.pts)
        if index is None:
            index = min(bisect.bisect_left(self.pts, frame.pts), len(self.pts) - 1)
        return index

    def _intervals(self, indices: np.ndarray) -> list[np.ndarray]:
        """The sorted indices split by keyframe interval: each part is one seek and one forward pass."""
        keys = np.searchsorted(self.keyframes, indices, side="right")
        return np.split(indices, np.flatnonzero(np.diff(keys)) + 1)

    def _frames_to_decode(self, interval: np.ndarray) -> int:
        return int(interval[-1]) - self.keyframe_before(int(interval[0])) + 1

    def _parallel_lanes(self, count: int) -> list[_Lane]:
        import av

        while len(self._lanes) < count:
            self._lanes.append(_Lane(self, av.open(str(self.path), metadata_errors="ignore"), threads=1))
        return self._lanes[:count]

    def get(self, indices: np.ndarray) -> np.ndarray:
        out = np.empty((len(indices), *self.frame_shape), dtype=np.uint8)
        slot = {int(index): k for k, index in enumerate(indices)}
        filled = np.zeros(len(indices), dtype=bool)
        self.wanted = {self.pts[int(index)] for index in indices}
        parts = self._intervals(indices) if self.strategy == "hybrid" and self.threads > 1 else [indices]
        work = sum(self._frames_to_decode(part) for part in parts)
        lane_count = min(self.threads, len(parts), work // MIN_FRAMES_PER_LANE)
        if lane_count < 2:
            self._lane.decode(indices, out, slot, filled)
        else:
            lanes = self._parallel_lanes(lane_count)
            # Longest first onto the least loaded lane; each lane then decodes its intervals in file order.
            loads, shares = [0] * len(lanes), [[] for _ in lanes]
            for part in sorted(parts, key=self._frames_to_decode, reverse=True):
                lane = loads.index(min(loads))
                loads[lane] += self._frames_to_decode(part)
                shares[lane].append(part)
            with ThreadPoolExecutor(len(lanes), thread_name_prefix="pyav-lane") as pool:
                jobs = [
                    pool.submit(lane.decode, np.sort(np.concatenate(share)), out, slot, filled)
                    for lane, share in zip(lanes, shares, strict=True)
                ]
                for job in jobs:
                    job.result()
        if not filled.all():
            missing = int(indices[np.argmin(filled)])
            raise VideoError(self.path, f"frame {missing} could not be decoded (damaged or missing packet)")
        return out

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        width, height = self.size or (self.metadata.width, self.metadata.height)
        return (height, width, 3)

    def to_rgb(self, frame) -> np.ndarray:
        if self.size is None:
            return frame.to_ndarray(format="rgb24")
        width, height = self.size
        return frame.to_ndarray(format="rgb24", width=width, height=height)

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()
        self._lanes, self._lane = [], None
        self.container.close()


def _usable_cores() -> int:
    """CPU cores this process may run on (the affinity mask, not the machine's count, where known)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class TorchCodecBackend:
    """``torchcodec.decoders.VideoDecoder.get_frames_at`` with automatic FFmpeg threading."""

    name = "torchcodec"

    def __init__(self, path: Path, *, size: Size | None = None, threads: int = 0):
        from torchcodec.decoders import VideoDecoder

        self.path, self.size = path, size
        try:
            self.decoder = VideoDecoder(str(path), num_ffmpeg_threads=threads, seek_mode="exact")
        except (RuntimeError, ValueError) as err:
            raise VideoError(path, f"not a readable video (torchcodec: {_first_line(err)})") from err
        meta = self.decoder.metadata
        num_frames = len(self.decoder)
        self.declared_frames = probe(path).num_frames
        fps = float(meta.average_fps or num_frames / meta.duration_seconds)
        self.metadata = VideoMetadata(
            path=str(path),
            fps=fps,
            num_frames=num_frames,
            duration=float(meta.duration_seconds or num_frames / fps),
            width=int(meta.width),
            height=int(meta.height),
            codec=str(meta.codec),
        )
        self.timestamps = None  # filled lazily: reading every pts costs a decode pass here

    def get(self, indices: np.ndarray) -> np.ndarray:
        try:
            batch = self.decoder.get_frames_at([int(i) for i in indices])
        except (RuntimeError, IndexError) as err:
            raise VideoError(self.path, f"decoding failed (torchcodec: {_first_line(err)})") from err
        return _resize(batch.data.permute(0, 2, 3, 1).contiguous().numpy(), self.size)

    def close(self) -> None:
        self.decoder = None  # a second close is harmless


# The source location torchcodec ("SingleStreamDecoder, /path/x.cpp:41, ") puts in front of its messages.
_SOURCE_PREFIX = re.compile(r"^\w+, \S+:\d+, ")


def _resize(frames: np.ndarray, size: Size | None) -> np.ndarray:
    """Resize ``(N, H, W, 3)`` frames to ``size = (width, height)`` with area averaging (OpenCV)."""
    if size is None or frames.shape[2:0:-1] == tuple(size):
        return frames
    import cv2  # installed with scenedetect-headless

    out = np.empty((len(frames), size[1], size[0], 3), dtype=np.uint8)
    for k, frame in enumerate(frames):
        out[k] = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return out


def _first_line(err: Exception) -> str:
    return _SOURCE_PREFIX.sub("", first_line(err))[:200]


def _with_num_frames(meta: VideoMetadata, num_frames: int) -> VideoMetadata:
    if meta.num_frames == num_frames:
        return meta
    return VideoMetadata(
        path=meta.path,
        fps=meta.fps,
        num_frames=num_frames,
        duration=meta.duration if meta.duration > 0 else num_frames / meta.fps,
        width=meta.width,
        height=meta.height,
        codec=meta.codec,
    )


BACKENDS: dict[str, Callable[..., object]] = {
    "pyav": lambda path, **kw: PyAVBackend(path, strategy="hybrid", **kw),
    "pyav-seek": lambda path, **kw: PyAVBackend(path, strategy="seek", **kw),
    "pyav-sequential": lambda path, **kw: PyAVBackend(path, strategy="sequential", **kw),
    "torchcodec": TorchCodecBackend,
}


def backend_unavailable_reason(name: str) -> str | None:
    """``None`` if backend ``name`` can be used here, else why not (one line)."""
    if name not in BACKENDS:
        return f"unknown backend {name!r} (choose from {sorted(BACKENDS)})"
    return _import_problem("torchcodec" if name == "torchcodec" else "av")


@functools.cache
def _import_problem(module: str) -> str | None:
    try:
        importlib.import_module(module)
        if module == "torchcodec":
            # torchcodec imports fine without FFmpeg and only fails when its core library is first loaded.
            from torchcodec._internally_replaced_utils import load_core_libraries

            load_core_libraries()
    except Exception as err:  # ImportError, or RuntimeError/OSError when FFmpeg libraries are missing
        if "libtorchcodec" in str(err):
            return "torchcodec cannot load FFmpeg shared libraries (install FFmpeg 4-8, e.g. apt-get install ffmpeg)"
        return f"{module} is not usable here: {_first_line(err)}"
    return None


def available_backends() -> list[str]:
    """Backends that import on this machine, e.g. ``["pyav", "pyav-seek", "pyav-sequential", "torchcodec"]``."""
    return [name for name in BACKENDS if backend_unavailable_reason(name) is None]
