"""The build's state store: per-video, per-stage results in SQLite (``OUT/state.sqlite``).

Tables:

* ``videos``: one row per input video: id, path, size, mtime, content key, status
  (``pending`` | ``done`` | ``failed``), error reason, the last stage reached.
* ``stage_results``: one row per (video, stage, fingerprint): status (``done`` | ``failed`` | ``error``),
  the output record as JSON, the error message, seconds, attempts, LLM calls (paid and cached), tokens, cost
  and stage counters. Keyed by the stage *fingerprint* (stage version + the config it depends on + upstream
  fingerprint), so results computed under another configuration are never reused silently, and switching
  back to an earlier configuration finds its results again.
* ``runs``: one row per invocation (config, argv, the driver's process id, start/end, status, summary). A
  run still ``running`` whose process is gone was killed; the next run marks it ``killed``.

Every result is committed on its own (autocommit, WAL journal), so killing the process at any moment loses
at most the executions still in flight; a re-run skips every ``done`` row.

Status meanings: ``done`` is final; ``failed`` means the *input* is at fault (missing, empty or corrupt
video...) and is not retried unless the caller asks (``retry_failed``); ``error`` means something transient
(endpoint down after all retries, out of memory, ...) and is retried on the next run.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from videoespresso_hf.pipeline.stages.base import StageUsage
from videoespresso_hf.sqlite import Database
from videoespresso_hf.video.identity import VideoIdentity, video_identity

__all__ = ["StageResult", "StateStore", "VideoIdentity", "VideoRow", "video_identity"]

ResultStatus = Literal["done", "failed", "error"]
VideoStatus = Literal["pending", "done", "failed"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    video_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER,
    mtime_ns INTEGER,
    content_key TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    error TEXT,
    last_stage TEXT,
    added_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stage_results (
    video_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    record_json TEXT,
    error TEXT,
    seconds REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 1,
    usage_json TEXT NOT NULL DEFAULT '{}',
    finished_at REAL NOT NULL,
    PRIMARY KEY (video_id, stage, fingerprint)
);
CREATE INDEX IF NOT EXISTS stage_results_by_stage ON stage_results (stage, fingerprint, status);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL DEFAULT 'running',
    argv TEXT,
    config_json TEXT NOT NULL,
    summary_json TEXT,
    pid INTEGER
);
"""


@dataclass
class StageResult:
    """The outcome of one stage on one video."""

    video_id: str
    stage: str
    fingerprint: str
    status: ResultStatus
    record_json: str | None = None
    error: str | None = None
    seconds: float = 0.0
    attempts: int = 1
    usage: StageUsage = field(default_factory=StageUsage)
    finished_at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class VideoRow:
    video_id: str
    path: str
    size: int | None
    status: VideoStatus
    error: str | None
    last_stage: str | None


class StateStore:
    """SQLite-backed store of build state; safe to share between threads of one process.

    Only the driver process writes (workers return results to it), so SQLite never sees concurrent
    writers from a process pool or a Ray cluster.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = Database(self.path)
        self._db.executescript(_SCHEMA)
        self._db.ensure_column("runs", "pid", "INTEGER")  # a state from before the driver's pid was kept

    # ------------------------------------------------------------------ plumbing
    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.transaction()

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._db.query(sql, params)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ videos
    def register_video(self, identity: VideoIdentity) -> None:
        """Add a video (or refresh its path/size/mtime when it was moved); keeps its status."""
        now = time.time()
        with self._transaction() as conn:
            conn.execute(
                """INSERT INTO videos (video_id, path, size, mtime_ns, content_key, added_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(video_id) DO UPDATE SET path=excluded.path, size=excluded.size,
                       mtime_ns=excluded.mtime_ns, updated_at=excluded.updated_at""",
                (
                    identity.video_id,
                    identity.path,
                    identity.size,
                    identity.mtime_ns,
                    identity.content_key,
                    now,
                    now,
                ),
            )

    def set_video_status(
        self, video_id: str, status: VideoStatus, *, error: str | None = None, last_stage: str | None = None
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                """UPDATE videos SET status=?, error=?, last_stage=COALESCE(?, last_stage), updated_at=?
                   WHERE video_id=?""",
                (status, error, last_stage, time.time(), video_id),
            )

    def videos(self, video_ids: list[str] | None = None) -> list[VideoRow]:
        rows = self._query("SELECT * FROM videos ORDER BY added_at, video_id")
        out = [
            VideoRow(r["video_id"], r["path"], r["size"], r["status"], r["error"], r["last_stage"])
            for r in rows
        ]
        if video_ids is not None:
            wanted = set(video_ids)
            out = [row for row in out if row.video_id in wanted]
        return out

    # ------------------------------------------------------------------ stage results
    def save_result(self, result: StageResult) -> None:
        """Commit one stage outcome atomically (replacing an earlier attempt under the same fingerprint)."""
        with self._transaction() as conn:
            previous = conn.execute(
                "SELECT attempts FROM stage_results WHERE video_id=? AND stage=? AND fingerprint=?",
                (result.video_id, result.stage, result.fingerprint),
            ).fetchone()
            attempts = result.attempts + (previous["attempts"] if previous is not None else 0)
            conn.execute(
                """INSERT OR REPLACE INTO stage_results
                   (video_id, stage, fingerprint, status, record_json, error, seconds, attempts, usage_json,
                    finished_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    result.video_id,
                    result.stage,
                    result.fingerprint,
                    result.status,
                    result.record_json,
                    result.error,
                    result.seconds,
                    attempts,
                    json.dumps(result.usage.to_dict()),
                    result.finished_at,
                ),
            )

    def get_result(self, video_id: str, stage: str, fingerprint: str) -> StageResult | None:
        rows = self._query(
            "SELECT * FROM stage_results WHERE video_id=? AND stage=? AND fingerprint=?",
            (video_id, stage, fingerprint),
        )
        return _row_to_result(rows[0]) if rows else None

    def results(
        self, stage: str, fingerprint: str, *, status: ResultStatus | None = None
    ) -> list[StageResult]:
        sql = "SELECT * FROM stage_results WHERE stage=? AND fingerprint=?"
        params: tuple[Any, ...] = (stage, fingerprint)
        if status is not None:
            sql += " AND status=?"
            params += (status,)
        return [_row_to_result(row) for row in self._query(sql + " ORDER BY video_id", params)]

    def stale_stages(self, fingerprints: dict[str, str]) -> list[str]:
        """Stages that have results under other fingerprints only (a changed config or stage version)."""
        stale = []
        for stage, fingerprint in fingerprints.items():
            rows = self._query(
                "SELECT SUM(fingerprint=?) AS current, COUNT(*) AS total FROM stage_results WHERE stage=?",
                (fingerprint, stage),
            )
            current, total = rows[0]["current"] or 0, rows[0]["total"] or 0
            if total and not current:
                stale.append(stage)
        return stale

    # ------------------------------------------------------------------ runs
    def start_run(self, config_json: str, argv: list[str] | None = None) -> int:
        """Record a new run; runs left ``running`` by a process that no longer exists become ``killed``."""
        with self._transaction() as conn:
            for row in conn.execute("SELECT run_id, pid FROM runs WHERE status='running'").fetchall():
                if not _process_alive(row["pid"]):
                    conn.execute(
                        "UPDATE runs SET status='killed', finished_at=? WHERE run_id=?", (time.time(), row["run_id"])
                    )
            cursor = conn.execute(
                "INSERT INTO runs (started_at, argv, config_json, pid) VALUES (?, ?, ?, ?)",
                (time.time(), json.dumps(argv) if argv is not None else None, config_json, os.getpid()),
            )
            return int(cursor.lastrowid)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at=?, status=?, summary_json=? WHERE run_id=?",
                (time.time(), status, json.dumps(summary, default=str), run_id),
            )

    def runs(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._query("SELECT * FROM runs ORDER BY run_id")]


def _process_alive(pid: int | None) -> bool:
    """Whether a process with this id runs on this machine (None: a run recorded before pids were kept)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _row_to_result(row: sqlite3.Row) -> StageResult:
    return StageResult(
        video_id=row["video_id"],
        stage=row["stage"],
        fingerprint=row["fingerprint"],
        status=row["status"],
        record_json=row["record_json"],
        error=row["error"],
        seconds=row["seconds"],
        attempts=row["attempts"],
        usage=StageUsage.from_dict(json.loads(row["usage_json"] or "{}")),
        finished_at=row["finished_at"],
    )
