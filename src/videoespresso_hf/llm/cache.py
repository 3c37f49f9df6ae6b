"""SQLite response cache: a re-run pays nothing twice.

Keyed by :func:`videoespresso_hf.llm.request.request_key` (model + prompt version + inputs). Successful
answers are served without any HTTP call; failures are recorded too, so they are visible (never
silently dropped) and a re-run retries exactly those.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from videoespresso_hf.llm.request import ErrorKind
from videoespresso_hf.sqlite import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    text TEXT,
    error TEXT,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    error_kind TEXT
);
"""
_COLUMNS = (
    "key, model, prompt_version, stage, status, text, error, error_kind, input_tokens, output_tokens, "
    "attempts, updated_at"
)


@dataclass(frozen=True)
class CacheEntry:
    key: str
    model: str
    prompt_version: str
    stage: str
    status: str
    text: str | None
    error: str | None
    input_tokens: int
    output_tokens: int
    attempts: int
    error_kind: ErrorKind | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _entry(row: sqlite3.Row) -> CacheEntry:
    values = {name: row[name] for name in CacheEntry.__dataclass_fields__}
    if values["status"] == "failed":
        # Failures recorded before kinds were stored were final failures of their request.
        values["error_kind"] = ErrorKind(values["error_kind"] or ErrorKind.PERMANENT)
    return CacheEntry(**values)


class ResponseCache:
    """Stores the raw answer text and usage of every finished request (``path=None``: in memory)."""

    def __init__(self, path: str | Path | None = None, *, db: Database | None = None) -> None:
        self.db = db if db is not None else Database(path)
        self.db.executescript(_SCHEMA)
        self.db.ensure_column("llm_responses", "error_kind", "TEXT")  # a cache from before failures had a kind

    def get(self, key: str) -> CacheEntry | None:
        rows = self.db.query("SELECT * FROM llm_responses WHERE key = ?", (key,))
        return _entry(rows[0]) if rows else None

    def put_ok(
        self,
        key: str,
        *,
        model: str,
        prompt_version: str,
        stage: str,
        text: str,
        input_tokens: int,
        output_tokens: int,
        attempts: int,
    ) -> None:
        self.db.execute(
            f"INSERT INTO llm_responses ({_COLUMNS}) VALUES (?, ?, ?, ?, 'ok', ?, NULL, NULL, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET status='ok', text=excluded.text, error=NULL, error_kind=NULL, "
            "input_tokens=excluded.input_tokens, output_tokens=excluded.output_tokens, "
            "attempts=excluded.attempts, updated_at=excluded.updated_at",
            (key, model, prompt_version, stage, text, input_tokens, output_tokens, attempts, time.time()),
        )

    def put_failure(
        self,
        key: str,
        *,
        model: str,
        prompt_version: str,
        stage: str,
        error: str,
        error_kind: ErrorKind,
        text: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        attempts: int = 0,
    ) -> None:
        # A failure never overwrites an answer that another worker or an earlier run already got.
        self.db.execute(
            f"INSERT INTO llm_responses ({_COLUMNS}) VALUES (?, ?, ?, ?, 'failed', ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET status='failed', text=excluded.text, error=excluded.error, "
            "error_kind=excluded.error_kind, "
            "input_tokens=excluded.input_tokens, output_tokens=excluded.output_tokens, "
            "attempts=llm_responses.attempts + excluded.attempts, updated_at=excluded.updated_at "
            "WHERE llm_responses.status != 'ok'",
            (
                key,
                model,
                prompt_version,
                stage,
                text,
                error,
                str(error_kind),
                input_tokens,
                output_tokens,
                attempts,
                time.time(),
            ),
        )

    def failures(self, stage: str | None = None) -> list[CacheEntry]:
        """Requests that failed after all attempts (a re-run retries them)."""
        sql = "SELECT * FROM llm_responses WHERE status = 'failed'"
        rows = self.db.query(sql + " AND stage = ?", (stage,)) if stage else self.db.query(sql)
        return [_entry(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Number of cached entries by status, e.g. ``{"ok": 10, "failed": 1}``."""
        rows = self.db.query("SELECT status, COUNT(*) AS n FROM llm_responses GROUP BY status")
        return {row["status"]: row["n"] for row in rows}
