"""The atomic writers every result file goes through: the target is replaced whole or kept as it was, no
temporary file is left behind, and the new file follows the umask like any other output."""

from __future__ import annotations

import json
import os
import stat
from datetime import date

import pytest

from videoespresso_hf.files import (
    atomic_path,
    is_temporary,
    write_bytes_atomic,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)


def test_each_writer_replaces_the_target_and_leaves_only_it(tmp_path):
    for name, write, value in (
        ("a.txt", write_text_atomic, "é\n"),
        ("b.png", write_bytes_atomic, b"\x89PNG"),
        ("c.json", write_json_atomic, {"clé": [1]}),
    ):
        (tmp_path / name).write_text("old", encoding="utf-8")
        assert write(tmp_path / name, value) == tmp_path / name
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "é\n"
    assert (tmp_path / "b.png").read_bytes() == b"\x89PNG"
    assert (tmp_path / "c.json").read_text(encoding="utf-8") == '{\n  "clé": [\n    1\n  ]\n}\n'
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "b.png", "c.json"]


def test_jsonl_counts_rows_and_writes_what_json_cannot_encode_as_text(tmp_path):
    path = tmp_path / "rows.jsonl"
    assert write_jsonl_atomic(path, iter([{"day": date(2025, 6, 1)}, {"q": "où"}])) == 2
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == [
        {"day": "2025-06-01"},
        {"q": "où"},
    ]


def test_a_failure_mid_stream_keeps_the_previous_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "rows.jsonl"
    write_jsonl_atomic(path, [{"n": 1}])

    def rows():
        yield {"n": 2}
        raise RuntimeError("upstream failed")

    with pytest.raises(RuntimeError, match="upstream failed"):
        write_jsonl_atomic(path, rows())
    assert path.read_text(encoding="utf-8") == '{"n": 1}\n'
    assert [item.name for item in tmp_path.iterdir()] == ["rows.jsonl"]


def test_the_written_file_follows_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        write_text_atomic(tmp_path / "shared.txt", "x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "shared.txt").stat().st_mode) == 0o640


def test_a_path_writer_replaces_the_target_only_when_its_block_ends(tmp_path):
    from PIL import Image

    target = tmp_path / "frame.jpg"
    with atomic_path(target) as temporary:
        Image.new("RGB", (8, 8), "red").save(temporary, format="JPEG")
        assert not target.exists() and temporary.parent == tmp_path
    assert Image.open(target).size == (8, 8)
    with pytest.raises(OSError, match="No space"), atomic_path(target) as temporary:
        temporary.write_bytes(b"\xff\xd8 half a JPEG")
        raise OSError(28, "No space left on device")
    assert Image.open(target).getpixel((4, 4))[0] > 200  # still the red frame
    assert [path.name for path in tmp_path.iterdir()] == ["frame.jpg"]


def test_a_temporary_left_by_a_killed_writer_is_recognised(tmp_path):
    """Folder scans (videos found on disk) skip what a killed ``atomic_path`` block left behind."""
    with atomic_path(tmp_path / "clip.mp4") as temporary:
        temporary.write_bytes(b"half")
        assert is_temporary(temporary) and is_temporary(temporary.name)
    assert not is_temporary(tmp_path / "clip.mp4") and not is_temporary(".hidden.mp4")
