"""Finding the videos and key-frame images that released paths name, on disk or inside archives.

Released paths are relative and their prefix depends on how a user unpacked the release
(``all_video/XD-Violence/x.mp4`` in the test JSON; the training archives' member prefixes are not
documented). :class:`MediaLocator` looks for a path, in order: under the data directory, under the
extraction directory, as an archive member, then by matching the trailing path components
(``parent/file``) against every file and archive member it knows.
"""

from __future__ import annotations

import os
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from videoespresso_hf.data.archives import (
    ArchiveError,
    ArchiveSet,
    extract_members,
    find_archives,
    open_archive,
)

__all__ = ["MediaLocator", "MemberRef", "media_problem"]


@dataclass(frozen=True)
class MemberRef:
    """A file inside one of the locator's archives."""

    archive: int
    name: str
    size: int


Location = Path | MemberRef


def _parts(path: str) -> tuple[str, ...]:
    return tuple(part for part in str(path).replace("\\", "/").split("/") if part not in ("", "."))


def media_problem(path: Path, verify: bool = False) -> str | None:
    """Why a media file on disk cannot be used (``None`` if it can).

    Cheap checks always (exists, is a readable non-empty file); with ``verify`` the video is also
    opened with PyAV and its first frame decoded.
    """
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    if not path.is_file():
        return "not a file"
    if stat.st_size == 0:
        return "empty file"
    if not os.access(path, os.R_OK):
        return "not readable"
    if verify:
        import av  # local: only --verify-videos pays for it

        try:
            with av.open(str(path)) as container:
                next(container.decode(video=0))
        except (av.error.FFmpegError, StopIteration, OSError, ValueError) as error:
            return f"cannot decode: {str(error) or type(error).__name__}"
    return None


class MediaLocator:
    """Resolve released relative media paths against a data directory and its archives.

    Args:
        data_dir: the folder holding the release (annotations, archives, extracted trees).
        extract_dir: where archive members are extracted on demand (default ``data_dir``).
        archives: archives to search (default: every archive directly in ``data_dir``).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        extract_dir: str | os.PathLike | None = None,
        archives: list[ArchiveSet] | None = None,
    ):
        self.data_dir = Path(data_dir).resolve()
        self.extract_dir = Path(extract_dir).resolve() if extract_dir else self.data_dir
        self.archives = find_archives(self.data_dir) if archives is None else archives
        self._zips: list[zipfile.ZipFile | None] = [None] * len(self.archives)
        self._members: dict[str, MemberRef] | None = None
        self._tails: dict[tuple[str, ...], list[Location]] | None = None
        self._cache: dict[str, Location | None] = {}
        self._materialized: dict[Location, Path] = {}

    # -- lookup ---------------------------------------------------------------------------------
    def archive(self, index: int) -> zipfile.ZipFile:
        if self._zips[index] is None:
            self._zips[index] = open_archive(self.archives[index])
        return self._zips[index]  # type: ignore[return-value]

    def _member_index(self) -> dict[str, MemberRef]:
        if self._members is None:
            self._members = {}
            for index in range(len(self.archives)):
                for info in self.archive(index).infolist():
                    if not info.is_dir():
                        name = "/".join(_parts(info.filename))
                        self._members.setdefault(name, MemberRef(index, info.filename, info.file_size))
        return self._members

    def _tail_index(self) -> dict[tuple[str, ...], list[Location]]:
        if self._tails is None:
            tails: dict[tuple[str, ...], list[Location]] = defaultdict(list)
            archive_files = {path for archive in self.archives for path in archive.paths}
            roots = [self.data_dir] + ([self.extract_dir] if self.extract_dir != self.data_dir else [])
            for root in roots:
                for folder, _, files in os.walk(root):
                    for file_name in files:
                        path = Path(folder, file_name)
                        if path not in archive_files and not file_name.endswith(".partial"):
                            tails[_parts(str(path.relative_to(root)))[-2:]].append(path)
            for name, ref in self._member_index().items():
                tails[_parts(name)[-2:]].append(ref)
            self._tails = dict(tails)
        return self._tails

    def locate(self, relative_path: str) -> Location | None:
        """The file or archive member a released path refers to, or ``None``."""
        if relative_path in self._cache:
            return self._cache[relative_path]
        found = self._locate(relative_path)
        self._cache[relative_path] = found
        return found

    def _locate(self, relative_path: str) -> Location | None:
        parts = _parts(relative_path)
        if not parts:
            return None
        if os.path.isabs(relative_path) and Path(relative_path).exists():
            return Path(relative_path)
        for root in (self.data_dir, self.extract_dir):
            candidate = root.joinpath(*parts)
            if candidate.exists():
                return candidate
        member = self._member_index().get("/".join(parts))
        if member is not None:
            return member
        candidates = self._tail_index().get(parts[-2:], [])

        def shared_suffix(location: Location) -> int:
            other = _parts(location.name) if isinstance(location, MemberRef) else location.parts
            count = 0
            while count < min(len(parts), len(other)) and parts[-1 - count] == other[-1 - count]:
                count += 1
            return count

        if not candidates:
            return None
        # Prefer files already on disk, then the longest matching suffix; ties resolve deterministically.
        return max(candidates, key=lambda loc: (shared_suffix(loc), isinstance(loc, Path), str(loc)))

    # -- checks and materialisation -----------------------------------------------------------------
    def problem(self, location: Location | None, verify: bool = False) -> str | None:
        """Why a located media file cannot be used (``None`` if fine)."""
        if location is None:
            return "missing"
        if isinstance(location, MemberRef):
            if location.size == 0:
                return "empty archive member"
            if verify:
                return media_problem(self.materialize(location), verify=True)
            return None
        return media_problem(location, verify)

    def materialize(self, location: Location) -> Path:
        """An absolute path on disk for ``location`` (archive members are extracted once, safely)."""
        if location not in self._materialized:
            if isinstance(location, Path):
                self._materialized[location] = location.resolve()
            else:
                members = [location.name]
                self._materialized[location] = extract_members(self.archive(location.archive), self.extract_dir, members)[0]
        return self._materialized[location]

    def read_bytes(self, location: Location) -> bytes:
        """The file's bytes, read straight from the archive for members (nothing is extracted)."""
        if isinstance(location, Path):
            return location.read_bytes()
        try:
            return self.archive(location.archive).read(location.name)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:  # RuntimeError: encrypted
            raise ArchiveError(f"cannot read {location.name!r}: {error}") from None

    def display(self, location: Location) -> str:
        if isinstance(location, MemberRef):
            return f"{self.archives[location.archive].name}:{location.name}"
        return str(location)

    def find_file(self, names: tuple[str, ...]) -> Location | None:
        """The first of ``names`` found in ``data_dir`` (top level, then one level down) or as an archive member."""
        for name in names:
            for candidate in (self.data_dir / name, *sorted(self.data_dir.glob(f"*/{name}"))):
                if candidate.is_file():
                    return candidate
        members = self._member_index() if self.archives else {}
        for name in names:
            matches = sorted(member for member in members if PurePosixPath(member).name == name)
            if matches:
                return members[matches[0]]
        return None

    def close(self) -> None:
        for index, handle in enumerate(self._zips):
            if handle is not None:
                handle.close()
                self._zips[index] = None

    def __enter__(self) -> MediaLocator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
