"""Reading and safely extracting the released archives, whatever shape they come in.

Three shapes ship on the Hub:

* a single ``.zip`` (the test videos, ``all_video.zip``);
* an **Info-ZIP split archive** ``name.z01 … name.zNN`` + ``name.zip`` (the training videos, 31 parts).
  Offsets in its central directory are relative to the part ("disk") a member starts on, so
  ``cat``-ing the parts and unzipping fails ("bad zipfile offset"). :class:`SplitZipFile` reads the
  central directory itself and maps ``(disk, offset)`` to an offset in the parts read back to back,
  after which the standard :class:`zipfile.ZipFile` machinery reads members directly — no merged
  copy of 200 GB is ever written;
* **byte-split parts** ``part_aa``, ``part_ab``, … (a zip cut into pieces with ``split -b``), read as
  one zip through :class:`MultiPartReader`.

Extraction never writes outside its target directory: absolute names, drive letters and ``..``
components are refused with :class:`UnsafeArchiveMemberError` before anything is written, and
files already extracted with the right size are skipped.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from videoespresso_hf.files import atomic_path

__all__ = [
    "ArchiveError",
    "ArchiveSet",
    "MultiPartReader",
    "SplitZipFile",
    "UnsafeArchiveMemberError",
    "extract_members",
    "find_archives",
    "open_archive",
    "safe_member_path",
]

_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL_DIR = b"PK\x01\x02"
_CENTRAL_DIR_STRUCT = struct.Struct("<4s4B4HL2L5H2L")
_MAX_COMMENT = 0xFFFF


class ArchiveError(ValueError):
    """An archive that cannot be read: missing parts, not a zip, a corrupt central directory."""


class UnsafeArchiveMemberError(ArchiveError):
    """A member name that would land outside the extraction directory (zip-slip)."""


@dataclass(frozen=True)
class ArchiveSet:
    """One logical archive on disk.

    Attributes:
        kind: ``"zip"`` (one file), ``"split"`` (Info-ZIP ``.z01``…``.zip``) or ``"parts"`` (byte-split).
        paths: the files in reading order (for ``"split"`` the ``.zip`` comes last).
    """

    kind: str
    paths: tuple[Path, ...]

    @property
    def name(self) -> str:
        return self.paths[-1].name if self.kind != "parts" else self.paths[0].name


_SPLIT_PART = re.compile(r"^(?P<stem>.+)\.z(?P<number>\d{2,})$", re.IGNORECASE)
_BYTE_PART = re.compile(r"^(?P<prefix>(?:.*[._-])?part[_.-]?)(?P<suffix>[a-z]{2,3})$")
_NUMBERED_PART = re.compile(r"^(?P<prefix>.+\.zip\.)(?P<suffix>\d{3})$", re.IGNORECASE)


def _letters_sequence(suffixes: Sequence[str]) -> list[str]:
    width = len(suffixes[0])
    expected = []
    for index in range(len(suffixes)):
        letters, value = [], index
        for _ in range(width):
            value, rest = divmod(value, 26)
            letters.append(chr(ord("a") + rest))
        expected.append("".join(reversed(letters)))
    return expected


def find_archives(directory: str | os.PathLike) -> list[ArchiveSet]:
    """Every archive directly inside ``directory``, grouped into logical archives.

    Raises:
        ArchiveError: when a split or byte-split archive has a gap in its part numbers.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    files = sorted(path for path in directory.iterdir() if path.is_file())
    names = {path.name: path for path in files}
    archives: list[ArchiveSet] = []
    claimed: set[str] = set()
    split_parts: dict[str, dict[int, Path]] = {}
    for path in files:
        match = _SPLIT_PART.match(path.name)
        if match:
            split_parts.setdefault(match["stem"], {})[int(match["number"])] = path
    for stem, parts in sorted(split_parts.items()):
        last = names.get(f"{stem}.zip")
        numbers = sorted(parts)
        missing = [f"{stem}.z{n:02d}" for n in range(1, numbers[-1] + 1) if n not in parts]
        if last is None:
            missing.append(f"{stem}.zip")
        if missing:
            raise ArchiveError(
                f"split archive {stem} in {directory} is incomplete: missing {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            )
        archives.append(ArchiveSet("split", (*(parts[n] for n in numbers), last)))
        claimed.update(path.name for path in archives[-1].paths)
    byte_groups: dict[str, dict[str, Path]] = {}
    for path in files:
        match = _BYTE_PART.match(path.name) or _NUMBERED_PART.match(path.name)
        if match and path.name not in claimed:
            byte_groups.setdefault(match["prefix"], {})[match["suffix"]] = path
    for prefix, parts in sorted(byte_groups.items()):
        suffixes = sorted(parts)
        expected = (
            [f"{n:03d}" for n in range(int(suffixes[0]), int(suffixes[0]) + len(suffixes))]
            if suffixes[0].isdigit()
            else _letters_sequence(suffixes)
        )
        if suffixes != expected:
            gap = next(e for e, s in zip(expected, suffixes, strict=False) if e != s)
            raise ArchiveError(f"byte-split archive {prefix}* in {directory} is missing part {prefix}{gap}")
        archives.append(ArchiveSet("parts", tuple(parts[s] for s in suffixes)))
        claimed.update(path.name for path in archives[-1].paths)
    for path in files:
        if path.suffix.lower() == ".zip" and path.name not in claimed:
            archives.append(ArchiveSet("zip", (path,)))
    return archives


class MultiPartReader(io.RawIOBase):
    """A read-only, seekable view of several files read back to back (one handle open at a time)."""

    def __init__(self, paths: Sequence[str | os.PathLike]):
        super().__init__()
        self.paths = [Path(path) for path in paths]
        if not self.paths:
            raise ArchiveError("no archive parts given")
        self.sizes = [path.stat().st_size for path in self.paths]
        self.part_offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
        self.total_size = sum(self.sizes)
        self._position = 0
        self._open_index: int | None = None
        self._handle: io.BufferedReader | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.total_size}[whence]
        if base + offset < 0:
            raise OSError("negative seek position")
        self._position = base + offset
        return self._position

    def _part_at(self, position: int) -> int:
        # Parts are few (≤ ~100): a linear scan is simpler than bisect and as fast here.
        for index in range(len(self.sizes) - 1, -1, -1):
            if position >= self.part_offsets[index]:
                return index
        return 0

    def readinto(self, buffer: bytearray | memoryview) -> int:
        if self._position >= self.total_size:
            return 0
        index = self._part_at(self._position)
        if self._open_index != index:
            if self._handle is not None:
                self._handle.close()
            self._handle = open(self.paths[index], "rb")  # noqa: SIM115 - kept open across reads
            self._open_index = index
        assert self._handle is not None
        self._handle.seek(self._position - self.part_offsets[index])
        wanted = min(len(buffer), self.part_offsets[index] + self.sizes[index] - self._position)
        count = self._handle.readinto(memoryview(buffer)[:wanted])
        if not count:
            raise ArchiveError(f"{self.paths[index]} is shorter than when it was opened")
        self._position += count
        return count

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        super().close()


def _read_at(stream, offset: int, size: int) -> bytes:
    stream.seek(offset)
    data = stream.read(size)
    if len(data) != size:
        raise ArchiveError(f"archive truncated: wanted {size} bytes at offset {offset}, got {len(data)}")
    return data


class SplitZipFile(zipfile.ZipFile):
    """Read an Info-ZIP split (multi-disk) archive ``name.z01 … name.zip`` without merging it.

    Behaves like a read-only :class:`zipfile.ZipFile` (``namelist``, ``open``, ``read``, ``infolist``).
    Only the table-of-contents step differs: the central directory (zip64 included) is parsed here and
    every member's ``(disk, offset)`` becomes an offset into the parts read back to back.

    Args:
        parts: the files in order: ``.z01``, ``.z02``, …, then ``.zip``.
    """

    def __init__(self, parts: Sequence[str | os.PathLike]):
        self._reader = MultiPartReader(parts)
        super().__init__(io.BufferedReader(self._reader, buffer_size=1 << 20), mode="r")

    def _RealGetContents(self) -> None:
        stream = self.fp
        end = self._reader.total_size
        tail_size = min(end, 22 + _MAX_COMMENT + 20)
        tail = _read_at(stream, end - tail_size, tail_size)
        position = tail.rfind(_EOCD)
        if position < 0 or len(tail) - position < 22:
            raise zipfile.BadZipFile(f"{self._reader.paths[-1]} has no zip end-of-central-directory record")
        (_, _disk, cd_disk, _n_here, count, cd_size, cd_offset, comment_length) = struct.unpack(
            "<4s4H2LH", tail[position : position + 22]
        )
        self._comment = tail[position + 22 : position + 22 + comment_length]
        locator_at = position - 20
        if locator_at >= 0 and tail[locator_at : locator_at + 4] == _EOCD64_LOCATOR:
            _, eocd64_disk, eocd64_offset, _disks = struct.unpack("<4sLQL", tail[locator_at : locator_at + 20])
            record = _read_at(stream, self._disk_offset(eocd64_disk) + eocd64_offset, 56)
            if record[:4] != _EOCD64:
                raise zipfile.BadZipFile("corrupt zip64 end-of-central-directory record")
            (_, _, _, _, _, cd_disk, _, count, cd_size, cd_offset) = struct.unpack("<4sQ2H2L4Q", record)
        start = self._disk_offset(cd_disk) + cd_offset
        self.start_dir = start
        directory = io.BytesIO(_read_at(stream, start, cd_size))
        for _ in range(count):
            info = self._read_central_entry(directory)
            self.filelist.append(info)
            self.NameToInfo[info.filename] = info

    def _disk_offset(self, disk: int) -> int:
        offsets = self._reader.part_offsets
        if disk >= len(offsets):
            raise ArchiveError(
                f"the archive refers to part {disk + 1} but only {len(offsets)} parts were given "
                f"({self._reader.paths[0].name} … {self._reader.paths[-1].name})"
            )
        return offsets[disk]

    def _read_central_entry(self, directory: io.BytesIO) -> zipfile.ZipInfo:
        header = directory.read(_CENTRAL_DIR_STRUCT.size)
        if len(header) != _CENTRAL_DIR_STRUCT.size or header[:4] != _CENTRAL_DIR:
            raise zipfile.BadZipFile("corrupt central directory in split archive")
        fields = _CENTRAL_DIR_STRUCT.unpack(header)
        (create_version, create_system, extract_version, reserved, flags, method, time, date, crc,
         compress_size, file_size, name_length, extra_length, comment_length, disk, internal_attr,
         external_attr, offset) = fields[1:]  # fmt: skip
        raw_name = directory.read(name_length)
        name = raw_name.decode("utf-8" if flags & 0x800 else (self.metadata_encoding or "cp437"))
        info = zipfile.ZipInfo(name)
        info.extra = directory.read(extra_length)
        info.comment = directory.read(comment_length)
        (info.create_version, info.create_system, info.extract_version, info.reserved) = (
            create_version, create_system, extract_version, reserved)  # fmt: skip
        info.flag_bits, info.compress_type, info.CRC = flags, method, crc
        info.internal_attr, info.external_attr = internal_attr, external_attr
        info._raw_time = time  # zipfile writes it back if the archive is ever re-written
        info.date_time = ((date >> 9) + 1980, (date >> 5) & 0xF, date & 0x1F, time >> 11, (time >> 5) & 0x3F,
                          (time & 0x1F) * 2)  # fmt: skip
        # zip64 extra field: each value is present only when its 32/16-bit field is saturated.
        extra = info.extra
        while len(extra) >= 4:
            kind, length = struct.unpack("<HH", extra[:4])
            if kind == 0x0001:
                data = extra[4 : 4 + length]

                def take(size: int, field: str) -> int:
                    nonlocal data
                    if len(data) < size:
                        raise zipfile.BadZipFile(f"corrupt zip64 extra field for {name!r}: no {field}")
                    value, data = int.from_bytes(data[:size], "little"), data[size:]
                    return value

                if file_size == 0xFFFFFFFF:
                    file_size = take(8, "file size")
                if compress_size == 0xFFFFFFFF:
                    compress_size = take(8, "compressed size")
                if offset == 0xFFFFFFFF:
                    offset = take(8, "header offset")
                if disk == 0xFFFF:
                    disk = take(4, "disk number")
            extra = extra[4 + length :]
        info.file_size, info.compress_size, info.volume = file_size, compress_size, disk
        info.header_offset = self._disk_offset(disk) + offset
        return info


def open_archive(archive: ArchiveSet) -> zipfile.ZipFile:
    """A read-only :class:`zipfile.ZipFile` over any archive shape (close it when done).

    Raises:
        ArchiveError: when the file(s) are not a readable zip archive.
    """
    try:
        if archive.kind == "split":
            return SplitZipFile(archive.paths)
        if archive.kind == "parts":
            return zipfile.ZipFile(io.BufferedReader(MultiPartReader(archive.paths), buffer_size=1 << 20))
        return zipfile.ZipFile(archive.paths[0])
    except (zipfile.BadZipFile, OSError, struct.error) as error:
        raise ArchiveError(f"cannot read archive {archive.name} ({len(archive.paths)} file(s)): {error}") from None


def safe_member_path(name: str, target: str | os.PathLike) -> Path:
    """Where member ``name`` extracts to under ``target``; refuses names that would escape it.

    Raises:
        UnsafeArchiveMemberError: for absolute names (``/x``, ``\\\\x``, ``C:x``), ``..`` components or NUL bytes.
    """
    normalised = name.replace("\\", "/")
    parts = PurePosixPath(normalised).parts
    if (
        not normalised
        or "\x00" in normalised
        or normalised.startswith("/")
        or re.match(r"^[A-Za-z]:", normalised)
        or ".." in parts
    ):
        raise UnsafeArchiveMemberError(f"refusing archive member {name!r}: it would be written outside {target}")
    root = Path(target).resolve()
    destination = (root / Path(*[part for part in parts if part != "."])).resolve() if parts else root
    if destination != root and root not in destination.parents:
        raise UnsafeArchiveMemberError(f"refusing archive member {name!r}: it resolves outside {target}")
    return destination


def extract_members(
    archive: zipfile.ZipFile,
    target: str | os.PathLike,
    members: Iterable[str | zipfile.ZipInfo] | None = None,
) -> list[Path]:
    """Extract ``members`` (default: all) under ``target``; return their paths.

    Every name is validated before the first byte is written. A file already present with the
    member's size is skipped, so an interrupted extraction resumes where it stopped; each file is
    written through :func:`videoespresso_hf.files.atomic_path` (beside it, renamed when complete).

    Raises:
        UnsafeArchiveMemberError: if any member would land outside ``target`` (nothing is extracted).
        ArchiveError: if a member is corrupt (bad CRC, truncated data).
    """
    target = Path(target)
    infos = [
        member if isinstance(member, zipfile.ZipInfo) else archive.getinfo(member)
        for member in (archive.infolist() if members is None else members)
    ]
    destinations = [safe_member_path(info.filename, target) for info in infos]
    extracted = []
    for info, destination in zip(infos, destinations, strict=True):
        if info.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        extracted.append(destination)
        if destination.is_file() and destination.stat().st_size == info.file_size:
            continue
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(destination) as partial, archive.open(info) as source, open(partial, "wb") as sink:
                shutil.copyfileobj(source, sink, length=1 << 20)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:  # RuntimeError: encrypted
            raise ArchiveError(f"cannot extract {info.filename!r} to {target}: {error}") from None
    return extracted
