"""What one LLM call is: the request, its cache key and wire body, and the result."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from videoespresso_hf.llm.config import LLMConfig


@dataclass(frozen=True)
class LLMRequest:
    """One chat-completions call.

    Args:
        messages: OpenAI chat messages (see :mod:`videoespresso_hf.llm.messages`).
        prompt_version: version of the prompt template; part of the cache key, so bumping it re-asks.
        stage: ledger label (e.g. ``"caption"``, ``"qa"``, ``"judge"``).
        response_model: pydantic model the answer must validate against (structured output), or None.
        params: extra body parameters (``temperature``, ``max_tokens``, ``seed``, ...) overriding the config.
    """

    messages: list[dict[str, Any]]
    prompt_version: str
    stage: str = "default"
    response_model: type[BaseModel] | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0


class ErrorKind(StrEnum):
    """Why a request failed, as the code that caught the failure classified it.

    * ``TRANSIENT``: the endpoint could not answer now (429/5xx/timeouts/connection errors outlasted the
      retries, a batch expired or is still running): the same request may succeed later.
    * ``PERMANENT``: this request fails the same way every time (the answer stayed malformed or
      schema-violating after every parse attempt, or the endpoint refused it with a 4xx).
    * ``FATAL``: every request would fail alike (bad key, no permission, unknown model, budget spent);
      raised as one of :data:`videoespresso_hf.llm.FATAL_ERRORS`, never returned in a result.
    """

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    FATAL = "fatal"


@dataclass
class LLMResult:
    """The outcome of one request; failures are results too (``error`` set), never silently dropped.

    Attributes:
        key: cache key (sha256 hex) of the request.
        text: raw answer text (also kept for failed parses, for inspection), or None.
        parsed: the validated ``response_model`` instance, or None.
        usage: tokens billed for this call, summed over its paid attempts (zero for cache hits).
        cached: True when served from the cache without an HTTP call.
        error: one-line reason when the request failed after all attempts (None on success). Its prefix
            says why: ``"malformed JSON: ..."``, ``"schema violation: ..."``, ``"empty answer"`` (the
            answer itself; asked ``max_parse_attempts`` times), ``"gave up after N attempts: ..."``
            (429/5xx/timeouts/connection errors outlasted the retries), ``"<SDK error class>: ..."``
            (another 4xx, e.g. ``BadRequestError``), ``"batch line failed (<status>): ..."`` and
            ``"batch <id> ended <status> without a result"`` (batch mode).
        error_kind: what kind of failure ``error`` is (None on success); decide on this, not on the text.
        cost_usd: paid cost of this call, all attempts included (0 for cache hits).
        attempts: HTTP attempts made for this call.
        faults: what went wrong on the way, by kind (``"timeout"``, ``"5xx"``, ``"429"``, ``"malformed"``
            for a body that is not a completion, ``"malformed_answer"`` for an answer that failed to
            parse, ...), whether a retry absorbed it or not; empty for cache hits.
    """

    key: str
    text: str | None = None
    parsed: BaseModel | None = None
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    error: str | None = None
    error_kind: ErrorKind | None = None
    cost_usd: float = 0.0
    attempts: int = 0
    faults: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def answered(self) -> bool:
        """Whether the endpoint answered (and billed) this request, even with an unusable answer; a request
        that only met errors (refused, 4xx, retries ran out) was not answered and costs nothing."""
        return self.text is not None or self.usage.input_tokens > 0 or self.usage.output_tokens > 0


@functools.lru_cache(maxsize=256)
def response_format_for(model: type[BaseModel]) -> dict[str, Any]:
    """The documented ``response_format`` of a structured-output request for a pydantic model.

    ``{"type": "json_schema", "json_schema": {"name", "schema", "strict": True}}`` with the schema made strict
    by :func:`strict_json_schema` (our own code, no private module of the openai SDK: a moved module can
    neither break requests nor silently switch to a schema the API rejects). Cached per class: building
    the schema costs milliseconds and happens for every request. Treat the returned dict as read-only.
    """
    return {
        "type": "json_schema",
        "json_schema": {"schema": strict_json_schema(model), "name": model.__name__, "strict": True},
    }


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema in the form OpenAI's strict structured outputs accept.

    Every object gets ``additionalProperties: false`` and lists all its properties as ``required`` (an
    optional field stays nullable through its ``anyOf``), ``default: null`` goes, a single-entry ``allOf``
    is inlined, and a ``$ref`` with sibling keys (a described nested model) is replaced by its target.
    The result equals what the openai SDK's ``chat.completions.parse`` sends for the same model, so cache
    keys of earlier builds (which hash the request body) stay valid.
    """
    schema = model.model_json_schema()
    return _make_strict(schema, root=schema)


def _make_strict(schema: Any, *, root: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise TypeError(f"expected a JSON schema object, got {schema!r}")
    for defs_key in ("$defs", "definitions"):
        definitions = schema.get(defs_key)
        if isinstance(definitions, dict):
            for definition in definitions.values():
                _make_strict(definition, root=root)
    if schema.get("type") == "object" and "additionalProperties" not in schema:
        schema["additionalProperties"] = False
    properties = schema.get("properties")
    if isinstance(properties, dict):
        schema["required"] = list(properties)
        schema["properties"] = {key: _make_strict(value, root=root) for key, value in properties.items()}
    items = schema.get("items")
    if isinstance(items, dict):
        schema["items"] = _make_strict(items, root=root)
    any_of = schema.get("anyOf")
    if isinstance(any_of, list):
        schema["anyOf"] = [_make_strict(variant, root=root) for variant in any_of]
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            schema.update(_make_strict(all_of[0], root=root))
            schema.pop("allOf")
        else:
            schema["allOf"] = [_make_strict(entry, root=root) for entry in all_of]
    if "default" in schema and schema["default"] is None:
        schema.pop("default")
    ref = schema.get("$ref")
    if isinstance(ref, str) and len(schema) > 1:
        resolved = _resolve_ref(root, ref)
        schema.update({**resolved, **schema})
        schema.pop("$ref")
        return _make_strict(schema, root=root)
    return schema


def _resolve_ref(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"unsupported $ref {ref!r} (only local '#/...' references)")
    target: Any = root
    for part in ref[2:].split("/"):
        target = target[part]
    if not isinstance(target, dict):
        raise ValueError(f"$ref {ref!r} does not point at a schema object")
    return target


# OpenAI reasoning models reject ``temperature`` and ``max_tokens`` (they take ``max_completion_tokens``).
REASONING_MODEL_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_reasoning_model(model: str) -> bool:
    return model.startswith(REASONING_MODEL_PREFIXES)


def request_body(request: LLMRequest, config: LLMConfig) -> dict[str, Any]:
    """The JSON body of ``POST /v1/chat/completions`` for this request (also used for batch lines)."""
    body: dict[str, Any] = {"model": config.model, "messages": request.messages}
    reasoning = is_reasoning_model(config.model)
    if config.temperature is not None and not reasoning:
        body["temperature"] = config.temperature
    if config.max_tokens is not None:
        body["max_completion_tokens" if reasoning else "max_tokens"] = config.max_tokens
    if request.response_model is not None:
        body["response_format"] = response_format_for(request.response_model)
    body.update(request.params)
    return body


def request_key(request: LLMRequest, config: LLMConfig) -> str:
    """sha256 over model, prompt version and the canonical JSON body (messages, schema, parameters).

    The endpoint URL and the key are not part of it: the same model asked the same thing answers the same.
    """
    payload = {"prompt_version": request.prompt_version, "body": request_body(request, config)}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_answer(
    text: str | None, response_model: type[BaseModel] | None
) -> tuple[BaseModel | None, str | None]:
    """Validate an answer against the schema. Returns (parsed, error); error is a one-line reason."""
    if response_model is None:
        return None, None if text is not None else "empty answer"
    if not text:
        return None, "empty answer"
    try:
        return response_model.model_validate_json(text), None
    except ValidationError as exc:
        kinds = {err["type"] for err in exc.errors()}
        reason = "malformed JSON" if kinds & {"json_invalid", "json_type"} else "schema violation"
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first.get("loc", ())) or "<root>"
        return None, f"{reason}: {loc}: {first['msg']}"
