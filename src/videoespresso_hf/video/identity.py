"""Which video a file is, by its content: the key the build's state store and training's caption cache share.

A moved or renamed file keeps its key; an edited one gets a new key. Lives in ``video`` so that the
construction pipeline and training (which may not import each other) read one rule.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["VideoIdentity", "video_identity"]

# Hashing whole multi-GB videos would dominate start-up on large collections; the size plus the first
# and last MiB identify a file in practice (a re-encode or truncation changes them).
_CONTENT_SAMPLE_BYTES = 1 << 20


@dataclass(frozen=True)
class VideoIdentity:
    """How the store recognises a video across runs.

    ``video_id`` is ``"<file stem>-<10 hex of the content key>"``: readable, stable when the file is moved
    or renamed, and different when its content changes. A missing file gets a key from its path.
    """

    video_id: str
    path: str
    size: int | None
    mtime_ns: int | None
    content_key: str
    exists: bool


def video_identity(path: str | Path) -> VideoIdentity:
    """Identify ``path`` by size and the first/last MiB of its bytes (no full-file hash)."""
    resolved = Path(path).expanduser().resolve()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", resolved.stem)[:48] or "video"
    try:
        stat = resolved.stat()
        if not resolved.is_file():
            raise IsADirectoryError(str(resolved))
    except OSError:
        key = hashlib.sha256(f"missing:{resolved}".encode()).hexdigest()
        return VideoIdentity(f"{stem}-{key[:10]}", str(resolved), None, None, key, exists=False)
    digest = hashlib.sha256(f"size:{stat.st_size}".encode())
    try:
        with resolved.open("rb") as handle:
            digest.update(handle.read(_CONTENT_SAMPLE_BYTES))
            if stat.st_size > _CONTENT_SAMPLE_BYTES:
                # The last MiB, or everything after the first one for files under 2 MiB.
                handle.seek(max(_CONTENT_SAMPLE_BYTES, stat.st_size - _CONTENT_SAMPLE_BYTES))
                digest.update(handle.read(_CONTENT_SAMPLE_BYTES))
    except OSError:
        key = hashlib.sha256(f"unreadable:{resolved}".encode()).hexdigest()
        return VideoIdentity(
            f"{stem}-{key[:10]}", str(resolved), stat.st_size, stat.st_mtime_ns, key, exists=False
        )
    key = digest.hexdigest()
    return VideoIdentity(
        f"{stem}-{key[:10]}", str(resolved), stat.st_size, stat.st_mtime_ns, key, exists=True
    )
