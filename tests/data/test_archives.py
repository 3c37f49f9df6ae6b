from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile

import pytest

from videoespresso_hf.data.archives import (
    ArchiveError,
    UnsafeArchiveMemberError,
    extract_members,
    find_archives,
    open_archive,
    safe_member_path,
)
from videoespresso_hf.demo.releases import write_byte_split, write_split_zip, zip_bytes

FILES = {
    "VideoEspresso_train_video/CUVA/00299.mp4": os.urandom(5000),
    "VideoEspresso_train_video/vatex/clip.mp4": os.urandom(3000),
    "VideoEspresso_train_video/readme.txt": b"hello",
}


def _read_all(archive_set) -> dict[str, bytes]:
    with open_archive(archive_set) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}


def _naive_read(data: bytes, name: str) -> bytes | None:
    """Member ``name`` of ``data`` read as one ordinary zip, or None where zipfile finds it corrupt."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as naive:
            if naive.testzip() is not None:  # the name of the first member whose CRC or header is bad
                return None
            return naive.read(name)
    except (zipfile.BadZipFile, EOFError, OSError):
        return None


def test_naive_read_returns_an_intact_member():
    # Guard: the check above fails only because the split parts do not make a zip, not because of the helper.
    assert _naive_read(zip_bytes(FILES), next(iter(FILES))) == FILES[next(iter(FILES))]


@pytest.mark.parametrize("zip64", [False, True])
def test_pure_python_split_archive_reads_member_by_member(tmp_path, zip64):
    parts = write_split_zip(FILES, tmp_path / "VideoEspresso_train_video.zip", part_size=2048, zip64=zip64)
    assert [p.suffix for p in parts] == [".z01", ".z02", ".z03", ".z04", ".zip"]
    # The naive route the issue reports fails: the parts read back to back are not a valid zip.
    joined = b"".join(p.read_bytes() for p in parts)
    name = next(iter(FILES))
    assert _naive_read(joined, name) is None
    (archive_set,) = find_archives(tmp_path)
    assert archive_set.kind == "split" and archive_set.paths == tuple(parts)
    assert _read_all(archive_set) == FILES


@pytest.mark.skipif(shutil.which("zip") is None, reason="the Info-ZIP `zip` binary is not installed")
@pytest.mark.parametrize("force_zip64", [False, True])
def test_real_zip_s_split_archive(tmp_path, force_zip64):
    source = tmp_path / "src"
    for name, data in FILES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    big = os.urandom(200_000)  # spans several 64 kB parts
    (source / "big.bin").write_bytes(big)
    out = tmp_path / "out"
    out.mkdir()
    command = ["zip", "-q", "-r", "-s", "64k", *(["-fz"] if force_zip64 else []), str(out / "archive.zip"), "."]
    subprocess.run(command, cwd=source, check=True)
    (archive_set,) = find_archives(out)
    assert archive_set.kind == "split" and len(archive_set.paths) >= 4
    contents = _read_all(archive_set)
    assert contents["big.bin"] == big
    assert all(contents[name] == data for name, data in FILES.items())


def test_byte_split_parts_read_as_one_zip(tmp_path):
    paths = write_byte_split(zip_bytes(FILES), tmp_path, piece_size=1000)
    assert [p.name for p in paths[:3]] == ["part_aa", "part_ab", "part_ac"]
    (archive_set,) = find_archives(tmp_path)
    assert archive_set.kind == "parts"
    assert _read_all(archive_set) == FILES


def test_missing_parts_are_reported(tmp_path):
    parts = write_split_zip(FILES, tmp_path / "split" / "a.zip", part_size=2048)
    parts[1].unlink()
    with pytest.raises(ArchiveError, match=r"missing a\.z02"):
        find_archives(tmp_path / "split")
    pieces = write_byte_split(zip_bytes(FILES), tmp_path / "bytes", piece_size=1000)
    pieces[2].unlink()
    with pytest.raises(ArchiveError, match="missing part part_ac"):
        find_archives(tmp_path / "bytes")


@pytest.mark.parametrize("evil", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt", "C:\\evil.txt", "a\\..\\..\\e"])
def test_zip_slip_member_is_refused_and_nothing_is_written(tmp_path, evil):
    archive_path = tmp_path / "bad.zip"
    archive_path.write_bytes(zip_bytes({"good.txt": b"fine", evil: b"pwned"}))
    target = tmp_path / "target"
    with zipfile.ZipFile(archive_path) as archive, pytest.raises(UnsafeArchiveMemberError, match="refusing"):
        extract_members(archive, target)
    assert not (tmp_path / "evil.txt").exists()
    assert not target.exists() or not any(target.rglob("*"))


def test_safe_paths_and_resumed_extraction(tmp_path):
    assert safe_member_path("a/./b.mp4", tmp_path) == (tmp_path / "a" / "b.mp4").resolve()
    archive_path = tmp_path / "ok.zip"
    archive_path.write_bytes(zip_bytes(FILES))
    target = tmp_path / "out"
    with zipfile.ZipFile(archive_path) as archive:
        first = extract_members(archive, target)
        assert [p.read_bytes() for p in first] == list(FILES.values())
        marker = first[0].stat().st_mtime_ns
        os.utime(first[0], ns=(marker - 10**9, marker - 10**9))  # make a rewrite detectable
        first[1].write_bytes(b"truncated")  # an interrupted earlier run
        again = extract_members(archive, target)
    assert again == first
    assert first[0].stat().st_mtime_ns == marker - 10**9  # complete file skipped
    assert first[1].read_bytes() == FILES["VideoEspresso_train_video/vatex/clip.mp4"]  # wrong size redone
    assert sorted(path for path in target.rglob("*") if path.is_file()) == sorted(first)  # no temporary left


def test_corrupt_member_is_a_clear_error_and_leaves_no_partial_file(tmp_path):
    data = bytearray(zip_bytes({"clip.mp4": os.urandom(4000)}, zipfile.ZIP_STORED))
    data[100] ^= 0xFF  # flip a byte of the member's data: the CRC check fails
    archive_path = tmp_path / "bad.zip"
    archive_path.write_bytes(bytes(data))
    with zipfile.ZipFile(archive_path) as archive, pytest.raises(ArchiveError, match=r"cannot extract 'clip\.mp4'"):
        extract_members(archive, tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*"))


@pytest.mark.parametrize(
    ("mark", "reason"),
    [(lambda info: setattr(info, "flag_bits", info.flag_bits | 0x1), "encrypted"),
     (lambda info: setattr(info, "compress_type", 99), "compression method")],
)  # fmt: skip
def test_encrypted_or_unsupported_member_is_a_clear_error(tmp_path, mark, reason):
    # zipfile cannot write encrypted members: flag the member in the parsed central directory instead.
    archive_path = tmp_path / "locked.zip"
    archive_path.write_bytes(zip_bytes({"clip.mp4": os.urandom(100)}))
    with zipfile.ZipFile(archive_path) as archive:
        mark(archive.getinfo("clip.mp4"))
        with pytest.raises(ArchiveError, match=rf"cannot extract 'clip\.mp4'.*{reason}"):
            extract_members(archive, tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*"))
