"""Atomic output files: every result file of the package is written beside its target, then renamed over it.

A kill, a full disk or a crash mid-write therefore leaves either the previous file or the new one, never
half of one, and a resumed run can trust whatever it finds. The temporary file is a hidden
``.<name>.<pid>.tmp`` in the target's folder (a rename only stays atomic within one file system; the pid
keeps two processes writing the same target apart) and is removed when the write fails. It is created
with a plain ``open`` (not ``tempfile``, which makes files 0600), so results follow the umask and
colleagues on a shared cluster can read them. There is no ``fsync``: this guards against a killed process,
not against a power cut. Missing parent folders are not created; the caller decides where output may go.

Caches the user did not place live under one folder, :func:`cache_dir` (``$HF_HOME/videoespresso_hf``),
so that moving ``HF_HOME`` moves them with the Hub's own caches.

A leaf module: it imports nothing from the package.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path", "cache_dir", "is_temporary", "write_bytes_atomic", "write_json_atomic", "write_jsonl_atomic",
    "write_text_atomic",
]  # fmt: skip

_TEMPORARY_SUFFIX = ".tmp"


def _temporary_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{_TEMPORARY_SUFFIX}")


def is_temporary(name: str | os.PathLike) -> bool:
    """Whether ``name`` is an unfinished write of :func:`atomic_path` (one a killed process left behind):
    folder scans that look for finished files (videos found on disk) skip it."""
    name = Path(name).name
    return name.startswith(".") and name.endswith(_TEMPORARY_SUFFIX)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield the temporary path to write ``path``'s new content to; when the block ends it replaces ``path``,
    when the block raises it is removed. For writers that take a path (``PIL.Image.save``)::

        with atomic_path(target) as temporary:
            image.save(temporary, format="JPEG")

    Streamed copies work alike (``with atomic_path(target) as temporary, open(temporary, "wb") as sink``).
    """
    path = Path(path)
    temporary = _temporary_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8, written as given: add the final newline yourself)."""
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Replace ``path`` with ``data`` (an image, a rendered report)."""
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return path


def write_json_atomic(path: str | os.PathLike, value: Any) -> Path:
    """Replace ``path`` with ``value`` as indented JSON (non-ASCII kept readable) and a final newline."""
    return write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def write_jsonl_atomic(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> int:
    """Replace ``path`` with one JSON object per line, streamed from ``rows``; returns the number of rows.

    Values JSON cannot encode (dates, paths) are written as their ``str``.
    """
    count = 0
    with atomic_path(Path(path)) as temporary, temporary.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            count += 1
    return count


def cache_dir(name: str) -> Path:
    """``$HF_HOME/videoespresso_hf/<name>``: the default place of a cache (videos, captions, judge answers)."""
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "videoespresso_hf" / name
