"""Token/cost ledger, the budget cap and dry-run estimates.

Every HTTP response that bills tokens is one row (retried attempts included: they were paid), and
every cache hit is a free row, so ``summary()`` shows what a run cost and what the cache saved.

Token estimates (used before a call for the budget check and for dry runs; the ledger itself records
the usage the server reports):
- text: ~4 characters per token, plus 4 tokens of framing per message; a structured-output schema
  counts as text;
- images: OpenAI's documented rule: ``detail="low"`` is 85 tokens; ``"high"``/``"auto"`` is
  85 + 170 per 512-px tile after fitting the image in 2048x2048 and scaling its short side to 768;
- output: ``max_tokens`` (``max_completion_tokens``) when set, else ``LLMConfig.estimated_output_tokens``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from videoespresso_hf.llm.config import LLMConfig, UnknownPriceError
from videoespresso_hf.sqlite import Database

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4
LOW_DETAIL_IMAGE_TOKENS = 85
TILE_TOKENS = 170

_SCHEMA = """
CREATE TABLE IF NOT EXISTS llm_ledger (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    stage TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    cached INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    ok INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS llm_ledger_stage ON llm_ledger(stage);
"""


def format_usd(value: float) -> str:
    """Dollars with 4 decimals, more below a cent to keep 3 significant digits.

    Budgets and costs of tiny runs are fractions of a cent: a $0.000001 budget must not print as "$0.0000".
    """
    if not math.isfinite(value) or abs(value) >= 0.01 or value == 0:
        return f"${value:.4f}"
    return f"${value:.{min(12, 2 - math.floor(math.log10(abs(value))))}f}"


class BudgetExceededError(RuntimeError):
    """Raised *before* a call whose estimated cost would take paid spend over ``budget_usd``."""


def _image_tokens(image_url: dict[str, Any] | str) -> int:
    url = image_url if isinstance(image_url, str) else image_url.get("url", "")
    detail = "auto" if isinstance(image_url, str) else image_url.get("detail", "auto")
    if detail == "low":
        return LOW_DETAIL_IMAGE_TOKENS
    try:
        with Image.open(io.BytesIO(base64.b64decode(url.partition(",")[2]))) as image:
            width, height = image.size
    except Exception:  # a remote URL or an undecodable image: assume one 512x512 tile
        width = height = 512
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = 768 / min(width, height)
    width, height = width * scale, height * scale
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return LOW_DETAIL_IMAGE_TOKENS + TILE_TOKENS * tiles


def estimate_input_tokens(messages: list[dict[str, Any]]) -> int:
    """Rough prompt token count of chat messages (see the module docstring for the rule)."""
    tokens = 0
    for message in messages:
        tokens += TOKENS_PER_MESSAGE
        content = message.get("content")
        if isinstance(content, str):
            tokens += math.ceil(len(content) / CHARS_PER_TOKEN)
            continue
        for part in content or []:
            if part.get("type") == "text":
                tokens += math.ceil(len(part.get("text", "")) / CHARS_PER_TOKEN)
            elif part.get("type") == "image_url":
                tokens += _image_tokens(part["image_url"])
    return tokens


@dataclass(frozen=True)
class CostEstimate:
    """Dry-run estimate for a set of requests (requests already in the cache cost nothing)."""

    requests: int
    cached: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    batch_cost_usd: float

    def __str__(self) -> str:
        return (
            f"{self.requests} requests ({self.cached} cached): ~{self.input_tokens} input + "
            f"~{self.output_tokens} output tokens, ~{format_usd(self.cost_usd)} (batch ~{format_usd(self.batch_cost_usd)})"
        )


def estimate_body(body: dict[str, Any], config: LLMConfig) -> tuple[int, int]:
    """(input, output) token estimate of one chat-completions request body."""
    tokens_in = estimate_input_tokens(body["messages"])
    if "response_format" in body:  # the schema is billed as prompt too
        tokens_in += math.ceil(len(json.dumps(body["response_format"])) / CHARS_PER_TOKEN)
    tokens_out = body.get("max_completion_tokens", body.get("max_tokens"))
    return tokens_in, tokens_out if tokens_out is not None else config.estimated_output_tokens


def estimate_cost(bodies: Iterable[dict[str, Any]], config: LLMConfig, *, cached: int = 0) -> CostEstimate:
    """Estimate the cost of request bodies without sending anything (``cached`` already-answered ones are free)."""
    n = input_tokens = output_tokens = 0
    for body in bodies:
        tokens_in, tokens_out = estimate_body(body, config)
        n, input_tokens, output_tokens = n + 1, input_tokens + tokens_in, output_tokens + tokens_out
    return CostEstimate(
        requests=n + cached,
        cached=cached,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=config.cost_usd(input_tokens, output_tokens),
        batch_cost_usd=config.cost_usd(input_tokens, output_tokens, batch=True),
    )


@dataclass(frozen=True)
class StageSummary:
    calls: int
    cached_calls: int
    failed_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


class Ledger:
    """Per-call token and cost records in SQLite, and the budget cap over the paid total.

    The cap counts everything paid that this database has recorded, so a resumed run keeps counting
    from what the killed run already spent.
    """

    def __init__(
        self, config: LLMConfig, path: str | Path | None = None, *, db: Database | None = None
    ) -> None:
        if config.budget_usd is not None and config.price_per_1m() is None:
            raise UnknownPriceError(
                f"budget_usd is set but model {config.model!r} has no price; add it to LLMConfig.prices"
            )
        self.config = config
        self.db = db if db is not None else Database(path)
        self.db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._reserved = 0.0

    def record(
        self,
        *,
        key: str,
        stage: str,
        prompt_version: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached: bool = False,
        batch: bool = False,
        ok: bool = True,
        model: str | None = None,
    ) -> float:
        """Append one call; returns its cost (0 for cache hits)."""
        cost = 0.0 if cached else self.config.cost_usd(input_tokens, output_tokens, batch=batch)
        self.db.execute(
            "INSERT INTO llm_ledger (ts, key, model, stage, prompt_version, input_tokens, output_tokens, "
            "cost_usd, cached, batch, ok) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(),
                key,
                model or self.config.model,
                stage,
                prompt_version,
                0 if cached else input_tokens,
                0 if cached else output_tokens,
                cost,
                int(cached),
                int(batch),
                int(ok),
            ),
        )
        return cost

    def spent_usd(self) -> float:
        return float(self.db.query("SELECT COALESCE(SUM(cost_usd), 0) AS s FROM llm_ledger")[0]["s"])

    def paid_calls(self) -> int:
        return int(self.db.query("SELECT COUNT(*) AS n FROM llm_ledger WHERE cached = 0")[0]["n"])

    def reserve(self, estimated_cost: float) -> float:
        """Hold ``estimated_cost`` of the budget for a call about to be sent; raise if it does not fit."""
        if self.config.budget_usd is None:
            return 0.0
        with self._lock:
            committed = self.spent_usd() + self._reserved
            if committed + estimated_cost > self.config.budget_usd:
                raise BudgetExceededError(
                    f"budget {format_usd(self.config.budget_usd)} would be exceeded: {format_usd(committed)} spent or "
                    f"in flight + ~{format_usd(estimated_cost)} for the next call"
                )
            self._reserved += estimated_cost
            return estimated_cost

    def release(self, reserved: float) -> None:
        """Return a reservation once the call's real cost is recorded (or it was not sent)."""
        if reserved:
            with self._lock:
                self._reserved = max(0.0, self._reserved - reserved)

    def summary(self) -> dict[str, StageSummary]:
        """Totals per stage."""
        rows = self.db.query(
            "SELECT stage, COUNT(*) AS calls, SUM(cached) AS cached_calls, SUM(1 - ok) AS failed_calls, "
            "SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd "
            "FROM llm_ledger GROUP BY stage ORDER BY stage"
        )
        return {
            row["stage"]: StageSummary(
                calls=row["calls"],
                cached_calls=row["cached_calls"],
                failed_calls=row["failed_calls"],
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                cost_usd=row["cost_usd"],
            )
            for row in rows
        }

    def format_summary(self) -> str:
        lines = [
            f"{'stage':<16}{'calls':>7}{'cached':>8}{'failed':>8}{'in tok':>10}{'out tok':>10}{'USD':>11}"
        ]
        for stage, s in self.summary().items():
            lines.append(
                f"{stage:<16}{s.calls:>7}{s.cached_calls:>8}{s.failed_calls:>8}{s.input_tokens:>10}"
                f"{s.output_tokens:>10}{s.cost_usd:>11.6f}"
            )
        return "\n".join(lines)
