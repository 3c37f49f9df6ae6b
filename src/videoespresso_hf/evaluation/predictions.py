"""Reading and validating prediction records (the I/O edge of the scorer).

A prediction record is a ``bench_hard.json`` record plus the model's ``model_output`` — the format
the released ``eval/close_ended.py`` writes. A file is either a JSON list of such records or JSON
Lines. Validation happens before any scoring so a bad file fails with one line naming the record
and the field, and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videoespresso_hf.evaluation.extraction import LETTERS
from videoespresso_hf.tasks import UnknownTaskError, canonical_task

__all__ = [
    "REQUIRED_FIELDS",
    "PredictionItem",
    "PredictionsError",
    "load_prediction_records",
    "parse_option",
    "validate_records",
]

REQUIRED_FIELDS = ("question", "options", "correct_answer", "task", "model_output")
_OPTION_RE = re.compile(r"^\s*\(([A-Z])\)\s*:\s?(.*)$", re.DOTALL)
_CORRECT_RE = re.compile(r"^\s*\(?([A-D])\)?\s*(?::.*)?$", re.DOTALL)


class PredictionsError(ValueError):
    """A predictions file or record that cannot be scored; the message is one line naming the culprit."""


@dataclass(frozen=True)
class PredictionItem:
    """One validated record, ready for any protocol.

    ``raw_correct_answer`` is kept verbatim because the ``official`` protocol extracts its letter
    with the same quirky rule it applies to the output.
    """

    index: int
    task: str  # leaderboard name
    question: str
    option_texts: tuple[str, ...]  # "(A): " prefixes stripped, letter order
    correct_letter: str
    raw_correct_answer: str
    model_output: str | None
    video_path: str | None = None
    id: str | int | None = None  # the record's ``id`` (``predict`` writes one); ``None`` when it has none

    @property
    def key(self) -> str | int:
        """What pairs this item with the same item in another model's file: its ``id``, else its position."""
        return self.index if self.id is None else self.id


def parse_option(option: object, expected_letter: str, *, where: str) -> str:
    """``"(B): text"`` → ``"text"``, checking that the letter is the expected one."""
    if not isinstance(option, str):
        raise PredictionsError(f"{where}: expected a string like '({expected_letter}): text', got {type(option).__name__}")
    match = _OPTION_RE.match(option)
    if not match:
        raise PredictionsError(f"{where}: expected '({expected_letter}): text', got {option[:60]!r}")
    if match.group(1) != expected_letter:
        raise PredictionsError(f"{where}: expected option letter ({expected_letter}), got ({match.group(1)})")
    return match.group(2).strip()


def _validate_record(record: object, index: int) -> PredictionItem:
    where = f"record {index}"
    if not isinstance(record, Mapping):
        raise PredictionsError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [field for field in REQUIRED_FIELDS if field not in record]
    if missing:
        raise PredictionsError(f"{where}: missing required field {missing[0]!r} (required: {', '.join(REQUIRED_FIELDS)})")
    options = record["options"]
    if not isinstance(options, list) or len(options) != len(LETTERS):
        raise PredictionsError(f"{where}: field 'options': expected a list of 4 strings '(A): text' … '(D): text'")
    option_texts = tuple(
        parse_option(option, letter, where=f"{where}: field 'options'[{position}]")
        for position, (option, letter) in enumerate(zip(options, LETTERS, strict=True))
    )
    correct = record["correct_answer"]
    correct_match = _CORRECT_RE.match(correct) if isinstance(correct, str) else None
    if not correct_match:
        raise PredictionsError(f"{where}: field 'correct_answer': expected a letter like '(A)', got {correct!r}")
    try:
        task = canonical_task(record["task"])
    except UnknownTaskError as error:
        raise PredictionsError(f"{where}: field 'task': {error}") from None
    output = record["model_output"]
    if output is not None and not isinstance(output, str):
        raise PredictionsError(f"{where}: field 'model_output': expected a string or null, got {type(output).__name__}")
    question = record["question"]
    if not isinstance(question, str):
        raise PredictionsError(f"{where}: field 'question': expected a string, got {type(question).__name__}")
    video_path = record.get("video_path")
    record_id = record.get("id")
    return PredictionItem(
        index=index,
        task=task,
        question=question,
        option_texts=option_texts,
        correct_letter=correct_match.group(1),
        raw_correct_answer=correct,
        model_output=output,
        video_path=video_path if isinstance(video_path, str) else None,
        id=record_id if isinstance(record_id, (str, int)) and not isinstance(record_id, bool) else None,
    )


def validate_records(records: Iterable[object]) -> list[PredictionItem]:
    """Validate every record (all-or-nothing) and return them as :class:`PredictionItem` s."""
    items = [_validate_record(record, index) for index, record in enumerate(records)]
    if not items:
        raise PredictionsError("no prediction records to score")
    return items


def _parse_jsonl(text: str, path: Path) -> list[Any]:
    records = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise PredictionsError(f"{path}: line {line_number} is not valid JSON ({error.msg})") from None
    return records


def load_prediction_records(path: str | Path) -> list[Any]:
    """Read a JSON list or a JSON Lines file of prediction records (not yet validated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: files saved by Windows tools start with a BOM
    except FileNotFoundError:
        raise PredictionsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PredictionsError(f"{path}: cannot read ({error})") from None
    if not text.strip():
        raise PredictionsError(f"{path}: the file is empty")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PredictionsError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
        return data
    if stripped.startswith("{"):
        return _parse_jsonl(text, path)
    raise PredictionsError(f"{path}: expected a JSON list of records or JSON Lines")

