"""Builders of small VideoEspresso releases in the exact published layouts (real files, real archives).

* ``write_split_zip``: an Info-ZIP split archive (``.z01`` … ``.zip``) written in pure Python, laid out
  as ``zip -s`` lays it out (spanning signature, per-disk offsets, central directory on the last disk,
  optional zip64 records with the offset and disk number in the zip64 extra field), so CI does not
  depend on the ``zip`` binary. A second test uses the real ``zip -s`` when it is installed.
* ``write_byte_split``: ``split -b``-style ``part_aa``, ``part_ab`` … pieces of a zip.
* ``bench_record`` / ``train_record``: records with the released key order and value formats.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

from PIL import Image

from videoespresso_hf.demo.videos import Segment, make_video

SPAN_SIGNATURE = b"PK\x07\x08"

BENCH_ITEMS = [
    # (source, video stem, task (leaderboard spelling as in the released file), core frame numbers)
    ("XD-Violence", "Election.2005__#00-05-30_00-06-56_label_A", "Causal Analysis", (480, 512)),
    ("vatex", "RgtipEqA7ZA_000046_000056", "Cooking Process", (0, 3)),
    ("CUVA", "00299", "Traffic Analysis", (4560,)),
]


def tiny_video(path: Path, color_index: int = 0) -> Path:
    """A real 64x48 h264 mp4 of 4 frames (about 2 kB)."""
    from videoespresso_hf.demo.videos import PALETTE

    make_video(path, [Segment("static", 0.5, color=PALETTE[color_index % len(PALETTE)])], fps=8, size=(64, 48))
    return path


def tiny_jpeg(color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def bench_record(source: str, stem: str, task: str, frames: tuple[int, ...], correct: str = "B") -> dict:
    """A ``bench_hard.json`` record with the released key order (see data-formats.md §1.1)."""
    frame_dir = f"{source}/3_image/{stem}"
    return {
        "core_frames_paths": [f"{frame_dir}/{n}.jpg" for n in frames],
        "core_frames_captions": [f"Caption of frame {n} in {stem}." for n in frames],
        "question": f"Why does the event in {stem} happen?",
        "answer": f"Because of the reason shown in {stem}.",
        "key_items": [{"object": "person", "frame": frames[0]}],  # the undocumented 5th key
        "evidence": (
            f"In frame {frames[0]} the <obj_start>person<obj_end><box_start>[10, 20, 30, 40]<box_end> raises a hand "
            "while the <obj_start>crowd<obj_end><box_start>[]<box_end> watches."
        ),
        "task": task,
        "correct_answer": f"({correct})",
        "video_path": f"all_video/{source}/{stem}.mp4",
        "options": [
            "(A): A distractor answer.",
            f"(B): Because of the reason shown in {stem}.",
            "(C): Another distractor (with parentheses).",
            "(D): A: tricky distractor.",
        ],
    }


def train_record(index: int, source_path: str, variant: str) -> dict:
    """A training record; ``variant`` ``"path"`` (issue #6 field names) or ``"keyframe"`` (issue #21)."""
    frames = [f"{source_path}/{n}.jpg" for n in (0, 30 + index)]
    evidence = (
        f"The <obj_start>chef<obj_end><box_start>[[1, 2, 3, 4], [5.5, 6, 7, 8]]<box_end> adds "
        f"<obj_start>salt<obj_end><box_start>[]<box_end> in step {index}."
    )
    record = {"question": f"Question {index}?", "answer": f"Answer {index}.", "evidence": evidence,
              "task": "Ingredient Details" if index % 2 else "Causal Inference"}  # fmt: skip
    if variant == "path":
        return {"path": frames, "caption": [f"cap {index} a", f"cap {index} b"], **record,
                "video_path": f"{source_path.split('/')[0]}/{source_path.split('/')[-1]}.mp4"}  # fmt: skip
    return {"keyframe_path": frames, "keyframe_caption": [f"cap {index} a", f"cap {index} b"], **record,
            "video_path": f"{source_path.split('/')[0]}/{source_path.split('/')[-1]}.mp4"}  # fmt: skip


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path


def zip_bytes(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def write_split_zip(files: dict[str, bytes], zip_path: Path, part_size: int, zip64: bool = False) -> list[Path]:
    """Write ``files`` as an Info-ZIP split archive ``stem.z01 … stem.zip``; returns the parts in order.

    Members may span part boundaries (as with ``zip -s``); local headers never do. With ``zip64`` every
    central-directory entry stores its offset and disk number in a zip64 extra field and the archive
    ends with zip64 end records, as in the 206 GB training archive.
    """
    whole = zip_bytes(files, zipfile.ZIP_STORED)
    with zipfile.ZipFile(io.BytesIO(whole)) as archive:
        infos = archive.infolist()
    eocd_at = whole.rfind(b"PK\x05\x06")
    count, _, cd_offset = struct.unpack("<HLL", whole[eocd_at + 10 : eocd_at + 20])
    body = SPAN_SIGNATURE + whole[:cd_offset]
    header_starts = sorted(info.header_offset + 4 for info in infos)
    # Cut points: every part_size bytes, moved back so that no local header (30 bytes + name) is split.
    cuts, start = [], 0
    while len(body) - start > part_size:
        cut = start + part_size
        for header in header_starts:
            name_length = struct.unpack("<H", body[header + 26 : header + 28])[0]
            if header < cut < header + 30 + name_length:
                cut = header
        if cut <= start:
            raise ValueError("part_size too small for a local header")
        cuts.append(cut)
        start = cut
    part_starts = [0, *cuts]

    def locate(global_offset: int) -> tuple[int, int]:
        disk = max(i for i, s in enumerate(part_starts) if s <= global_offset)
        return disk, global_offset - part_starts[disk]

    directory = bytearray()
    position = cd_offset
    for _ in range(count):
        fixed = bytearray(whole[position : position + 46])
        name_length, extra_length, comment_length = struct.unpack("<HHH", fixed[28:34])
        rest = whole[position + 46 : position + 46 + name_length + extra_length + comment_length]
        old_offset = struct.unpack("<L", fixed[42:46])[0]
        disk, relative = locate(old_offset + 4)
        name, extra = rest[:name_length], rest[name_length : name_length + extra_length]
        comment = rest[name_length + extra_length :]
        if zip64:
            extra = struct.pack("<HHQL", 0x0001, 12, relative, disk) + extra
            struct.pack_into("<H", fixed, 34, 0xFFFF)
            struct.pack_into("<L", fixed, 42, 0xFFFFFFFF)
            struct.pack_into("<H", fixed, 30, len(extra))
        else:
            struct.pack_into("<H", fixed, 34, disk)
            struct.pack_into("<L", fixed, 42, relative)
        directory += fixed + name + extra + comment
        position += 46 + name_length + extra_length + comment_length
    last = len(part_starts) - 1
    last_body = body[part_starts[-1] :]
    cd_relative = len(last_body)
    tail = bytes(directory)
    if zip64:
        eocd64_relative = cd_relative + len(directory)
        tail += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, last, last, count, count, len(directory),
                            cd_relative)  # fmt: skip
        tail += struct.pack("<4sLQL", b"PK\x06\x07", last, eocd64_relative, last + 1)
        tail += struct.pack("<4s4H2LH", b"PK\x05\x06", 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    else:
        tail += struct.pack("<4s4H2LH", b"PK\x05\x06", last, last, count, count, len(directory), cd_relative, 0)
    pieces = [body[s:e] for s, e in zip(part_starts, [*cuts, len(body)], strict=True)]
    pieces[-1] = last_body + tail
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    paths = [zip_path.with_suffix(f".z{i + 1:02d}") for i in range(len(pieces) - 1)] + [zip_path]
    for path, piece in zip(paths, pieces, strict=True):
        path.write_bytes(piece)
    return paths


def write_byte_split(data: bytes, folder: Path, piece_size: int, prefix: str = "part_") -> list[Path]:
    """``split -b piece_size - part_``: pieces named ``part_aa``, ``part_ab``, …"""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, start in enumerate(range(0, len(data), piece_size)):
        suffix = chr(ord("a") + index // 26) + chr(ord("a") + index % 26)
        paths.append(folder / f"{prefix}{suffix}")
        paths[-1].write_bytes(data[start : start + piece_size])
    return paths


def write_bench_release(root: Path, video_bytes: list[bytes] | None = None) -> Path:
    """``VideoEspresso-Test`` as downloaded — ``bench_hard.json`` + ``all_video.zip`` — with synthetic content.

    Real files in the real layout (3 questions, real h264 videos zipped under ``all_video/<source>/``);
    used by the data tests and by ``videoespresso demo``.
    """
    root.mkdir(parents=True, exist_ok=True)
    if video_bytes is None:
        video_bytes = []
        for index in range(len(BENCH_ITEMS)):
            path = tiny_video(root / f".video-{index}.mp4", index)
            video_bytes.append(path.read_bytes())
            path.unlink()
    write_json(root / "bench_hard.json", [bench_record(*item) for item in BENCH_ITEMS])
    members = {f"all_video/{source}/{stem}.mp4": video_bytes[i] for i, (source, stem, _, _) in enumerate(BENCH_ITEMS)}
    (root / "all_video.zip").write_bytes(zip_bytes(members))
    (root / "README.md").write_text("authors' card\n")
    return root


# Frame folders of the synthetic training rows: one CUVA clip, one VATEX clip (the released naming).
TRAIN_FRAME_DIRS = ("CUVA/2_image/00299", "vatex/vatex_image/RgtipEqA7ZA_000046_000056")


def write_train_video_release(root: Path, rows: int = 4) -> Path:
    """``VideoEspresso_train_video`` as downloaded — annotations + an Info-ZIP split archive of the videos —
    with synthetic content: ``rows`` records over 2 real 5 s clips at 8 fps, whose key frames (numbers 0 and
    30-33) lie inside the clips, so training has rows to learn from. Used by ``videoespresso demo``, the
    notebooks and the docs test.
    """
    root.mkdir(parents=True, exist_ok=True)
    records = [train_record(i, TRAIN_FRAME_DIRS[i % 2], "path") for i in range(rows)]
    write_json(root / "videoespresso_train_video.json", records)
    members = {}
    for index, frames in enumerate(TRAIN_FRAME_DIRS):
        source, stem = frames.split("/")[0], frames.split("/")[-1]
        video = make_video(root / f".{index}.mp4", [Segment("moving", 5.0, seed=index)], fps=8, size=(64, 48)).path
        members[f"VideoEspresso_train_video/{source}/{stem}.mp4"] = video.read_bytes()
        video.unlink()
    write_split_zip(members, root / "VideoEspresso_train_video.zip", part_size=1500)
    return root
