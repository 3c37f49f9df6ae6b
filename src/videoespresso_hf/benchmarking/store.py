"""The predictions file: JSON Lines appended one item at a time, plus a sidecar saying how it was made.

Resumability and honesty live here, in one place:

* every finished item (answered or failed) is one line, flushed and fsynced before the next item
  starts, so a kill loses at most the item in flight;
* on opening, a torn last line (a kill in the middle of a write) is cut off and that item is redone;
  every complete line's ``id`` is finished and is never run again;
* the sidecar ``<file>.meta.json`` records the run's identity (model, revision, backend, frame rule,
  prompts, generation settings, seed, data); appending with a different identity is refused, so one
  file never mixes two models or two settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from videoespresso_hf.files import write_json_atomic

__all__ = ["PredictionStore", "RunMismatchError", "check_sidecar", "meta_path"]

META_SUFFIX = ".meta.json"


class RunMismatchError(ValueError):
    """The output file belongs to another run (different model or settings); the message is one line."""


def meta_path(output: str | os.PathLike) -> Path:
    """``preds.jsonl`` → ``preds.jsonl.meta.json``."""
    output = Path(output)
    return output.with_name(output.name + META_SUFFIX)


def _first_difference(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> str | None:
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if isinstance(old.get(key), Mapping) and isinstance(new.get(key), Mapping):
            return _first_difference(old[key], new[key], f"{prefix}{key}.")
        return f"{prefix}{key}: {json.dumps(old.get(key))[:80]} in the file, {json.dumps(new.get(key))[:80]} now"
    return None


def check_sidecar(path: str | os.PathLike, identity: Mapping[str, Any]) -> None:
    """Refuse early (before a model is loaded) when the sidecar disagrees on any key of ``identity``.

    Only the keys given are compared, so a caller can check what it knows before loading the model.
    """
    sidecar = meta_path(path)
    if not sidecar.is_file():
        return
    try:
        stored = json.loads(sidecar.read_text(encoding="utf-8"))["identity"]
    except (ValueError, KeyError, TypeError):
        raise RunMismatchError(f"{sidecar} is not a predictions sidecar; move it away or choose another --output") from None
    normalised = json.loads(json.dumps(identity))
    difference = _first_difference({key: stored.get(key) for key in normalised}, normalised)
    if difference:
        raise RunMismatchError(f"{path} was written by another run ({difference}); use another --output or the same settings")


def complete_records(path: str | os.PathLike) -> list[tuple[str, str]]:
    """``(id, line)`` of every complete record line of ``path``, read-only (a torn last line, cut by a kill, and lines
    that are not records are left out): what a process that does not own the file may count as finished."""
    path = Path(path)
    if not path.is_file():
        return []
    data = path.read_bytes()
    records = []
    for line in data[: data.rfind(b"\n") + 1].decode("utf-8").splitlines():
        if not line.strip():
            continue
        try:
            records.append((json.loads(line)["id"], line))
        except (ValueError, KeyError, TypeError):
            continue
    return records


class RecordsFile:
    """An append-only JSON Lines file of prediction records: each record is on disk (fsync) when :meth:`append`
    returns. :class:`PredictionStore` adds the run's identity; a rank's shard file
    (:class:`~videoespresso_hf.benchmarking.parallel.ShardFile`) is one as it is."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.finished: set[str] = set()
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one finished item; it is on disk when this returns."""
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.finished.add(record["id"])

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PredictionStore(RecordsFile):
    """Open (or create) a predictions file for a run with ``identity``; see the module docstring.

    Args:
        path: the ``.jsonl`` output.
        identity: what makes two runs the same run (JSON-serialisable). Stored in the sidecar.
        environment: informative only (library versions, start time): stored, never compared.

    Raises:
        RunMismatchError: the file was written by a run with another identity, or has lines but no sidecar.
    """

    def __init__(self, path: str | os.PathLike, identity: Mapping[str, Any], environment: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.meta_path = meta_path(self.path)
        self.identity = json.loads(json.dumps(identity))  # normalised as it will be read back
        self.finished: set[str] = set()
        self.torn_line_dropped = False
        self._check_sidecar()
        self._read_existing()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.meta_path.is_file():
            self._write_sidecar(environment)
        self._open()

    @staticmethod
    def finished_ids(path: str | os.PathLike) -> set[str]:
        """The ids of the complete records in ``path`` (read-only: for processes that do not own the file)."""
        return {item_id for item_id, _ in complete_records(path)}

    def _check_sidecar(self) -> None:
        if self.meta_path.is_file():
            check_sidecar(self.path, self.identity)
        elif self.path.is_file() and self.path.stat().st_size:
            raise RunMismatchError(f"{self.path} has predictions but no {self.meta_path.name}: its run is unknown; use another --output")

    def _read_existing(self) -> None:
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        complete_end = data.rfind(b"\n") + 1
        if complete_end < len(data):  # killed mid-write: the partial line is dropped and its item redone
            with self.path.open("r+b") as handle:
                handle.truncate(complete_end)
            self.torn_line_dropped = True
        for number, line in enumerate(data[:complete_end].decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                self.finished.add(json.loads(line)["id"])
            except (ValueError, KeyError, TypeError):
                raise RunMismatchError(f"{self.path}: line {number} is not a prediction record; use another --output") from None

    def _write_sidecar(self, environment: Mapping[str, Any]) -> None:
        write_json_atomic(self.meta_path, {"identity": self.identity, "environment": dict(environment)})

