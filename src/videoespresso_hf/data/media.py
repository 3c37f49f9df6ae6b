"""Finding the videos and key-frame images that released paths name, on disk or inside archives.

Released paths are relative and their prefix depends on how a user unpacked the release
(``all_video/XD-Violence/x.mp4`` in the test JSON; the training archives' member prefixes are not
documented). :class:`MediaLocator` looks for a path, in order: under the data directory, under the
extraction directory, as an archive member, then by matching the trailing path components
(``parent/file``) against every file and archive member it knows.

Every path it returns is *confined* (:func:`confine`): it lies, symbolic links followed, inside the
release folder, the extraction folder, or a folder the user named (``--media-root``; for the ``generated``
config also the folders holding the videos its build recorded, :func:`build_input_folders`). An absolute
path, a ``..`` or a link leading elsewhere, and a Windows drive or network path are refused with
:class:`MediaPathError`, so a hostile release cannot have another file read, embedded, copied or pushed.
The viewer, ``predict`` and training open a prepared row's media through the same function.
"""

from __future__ import annotations

import os
import re
import sqlite3
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from videoespresso_hf.data.archives import (
    ArchiveError,
    ArchiveSet,
    extract_members,
    find_archives,
    open_archive,
)
from videoespresso_hf.files import is_temporary

__all__ = ["MediaLocator", "MediaPathError", "MemberRef", "build_input_folders", "confine", "media_problem"]

# ``C:\x``, ``C:x``, ``\\server\share``, ``//server/share``: names on another machine's file system.
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:|[\\/]{2})")
# The build's state store (``pipeline.orchestrator.STATE_FILE``, a room data may not import) and the table in
# which it records every input video's resolved path.
_BUILD_STATE_FILE = "state.sqlite"


class MediaPathError(ValueError):
    """A media path that leads outside the folders media may be read from (see :func:`confine`).

    ``path`` is the path as given, ``reason`` why it is refused (what a prepare manifest records).
    """

    def __init__(self, path: str, reason: str):
        self.path, self.reason = path, reason
        super().__init__(f"{path!r}: {reason}")


@dataclass(frozen=True)
class MemberRef:
    """A file inside one of the locator's archives."""

    archive: int
    name: str
    size: int


Location = Path | MemberRef


def _parts(path: str) -> tuple[str, ...]:
    return tuple(part for part in str(path).replace("\\", "/").split("/") if part not in ("", "."))


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def confine(path: str | os.PathLike, roots: Iterable[str | os.PathLike]) -> Path:
    """The file a media path names, resolved (symbolic links followed), provided it lies inside ``roots``.

    A relative path is joined to each root in turn (the first under which it exists wins; if it exists
    under none, the first that stays inside the roots is returned, for the caller to report missing). An
    absolute path is used as it is. Either way the resolved file must lie inside one of ``roots``
    (resolved too), so an absolute path elsewhere, a ``..`` that climbs out, or a link that points out is
    refused. Backslashes count as separators; a Windows drive (``C:\\``) or network path (``\\\\server``) is
    always refused. This is THE rule for every media path a release or a prepared row names: call it
    before opening one.

    Raises:
        MediaPathError: the path leads outside ``roots`` (or is empty); ``reason`` says how.
    """
    text = os.fspath(path)
    resolved_roots = [Path(root).resolve() for root in roots]
    if not text.strip() or "\x00" in text:
        raise MediaPathError(text, "refused: empty path or a NUL character in it")
    if not resolved_roots:
        raise MediaPathError(text, "refused: no folder to read media from was given")
    if _WINDOWS_PATH.match(text):
        raise MediaPathError(text, "refused: a Windows drive or network path (media paths are relative to the release)")
    absolute = os.path.isabs(text)
    parts = _parts(text)
    candidates = [Path(text)] if absolute else [root.joinpath(*parts) for root in resolved_roots]
    inside: list[Path] = []
    for candidate in candidates:
        real = candidate.resolve()
        if _inside(real, resolved_roots):
            if real.exists():
                return real
            inside.append(real)
    if inside:
        return inside[0]
    where = "the release folder and any --media-root"
    if any(_inside(Path(os.path.normpath(candidate)), resolved_roots) for candidate in candidates):
        reason = f"refused: a symbolic link leads outside {where}"  # inside as written, outside once resolved
    elif absolute:
        reason = f"refused: an absolute path outside {where}"
    else:
        reason = f"refused: '..' leads outside {where}"
    raise MediaPathError(text, reason)


def build_input_folders(build_dir: str | os.PathLike) -> list[Path]:
    """The folders of the input videos a ``videoespresso build`` recorded in ``build_dir`` (none if no build).

    The ``generated`` config's rows name those videos by absolute path; these folders are where its media
    may come from (besides ``build_dir`` and ``--media-root``).
    """
    state = Path(build_dir) / _BUILD_STATE_FILE
    if not state.is_file():
        return []
    try:  # read-only: a prepare must not create WAL files in (or lock) the build's folder
        with sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True) as connection:
            paths = [row[0] for row in connection.execute("SELECT path FROM videos")]
    except sqlite3.Error:
        return []
    return sorted({Path(path).parent for path in paths if isinstance(path, str) and os.path.isabs(path)})


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
        media_roots: further folders media may come from (``--media-root``); see :func:`confine`.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        extract_dir: str | os.PathLike | None = None,
        archives: list[ArchiveSet] | None = None,
        media_roots: Sequence[str | os.PathLike] = (),
    ):
        self.data_dir = Path(data_dir).resolve()
        self.extract_dir = Path(extract_dir).resolve() if extract_dir else self.data_dir
        self.roots = list(dict.fromkeys([self.data_dir, self.extract_dir, *(Path(r).resolve() for r in media_roots)]))
        self.archives = find_archives(self.data_dir) if archives is None else archives
        self._zips: list[zipfile.ZipFile | None] = [None] * len(self.archives)
        self._members: dict[str, MemberRef] | None = None
        self._tails: dict[tuple[str, ...], list[Location]] | None = None
        self._cache: dict[str, Location | MediaPathError | None] = {}
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
                        if path not in archive_files and not is_temporary(file_name):
                            tails[_parts(str(path.relative_to(root)))[-2:]].append(path)
            for name, ref in self._member_index().items():
                tails[_parts(name)[-2:]].append(ref)
            self._tails = dict(tails)
        return self._tails

    def locate(self, relative_path: str) -> Location | None:
        """The file or archive member a released path refers to, or ``None``.

        Raises:
            MediaPathError: the path leads outside the release, its archives and the media roots.
        """
        if relative_path in self._cache:
            found = self._cache[relative_path]
        else:
            try:
                found = self._locate(relative_path)
            except MediaPathError as error:
                found = error
            self._cache[relative_path] = found
        if isinstance(found, MediaPathError):
            raise found
        return found

    def _locate(self, relative_path: str) -> Location | None:
        parts = _parts(relative_path)
        if not parts:
            return None
        if os.path.isabs(relative_path) or _WINDOWS_PATH.match(relative_path) or ".." in parts:
            # Never looked up in the archives or by its tail: only where it points, if that is inside.
            confined = confine(relative_path, self.roots)
            return confined if confined.exists() else None
        for root in self.roots:
            candidate = root.joinpath(*parts)
            if candidate.exists() or candidate.is_symlink():
                return confine(candidate, self.roots)
        member = self._member_index().get("/".join(parts))
        if member is not None:
            return member
        found = self._tail_index().get(parts[-2:], [])
        candidates = [loc for loc in found if isinstance(loc, MemberRef) or _inside(loc.resolve(), self.roots)]
        if found and not candidates:
            confine(found[0], self.roots)  # raises: the only matches are links leading out

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
