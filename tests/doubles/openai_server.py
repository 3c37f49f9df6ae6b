"""A real HTTP server on 127.0.0.1 that speaks the OpenAI API, for tests, benchmarks and the demo.

It answers ``POST /v1/chat/completions`` (plain text or JSON for a requested ``json_schema``),
``/v1/files`` (upload, metadata, content), ``/v1/batches`` (create, retrieve; done after N polls) and
``GET /v1/models``. Answers come from a pluggable, deterministic ``responder``; the default one
captions images by their mean colour ("a solid red frame"), so outputs depend on the real inputs.

Faults are injected on purpose: ``"400"``, ``"429"``, ``"500"``, ``"timeout"`` (the reply comes after
``timeout_sleep_s``), ``"malformed_json"`` (the answer text is not JSON), ``"schema_violation"``
(valid JSON, wrong shape) and ``"malformed_body"`` (the HTTP body is not JSON). Request counters let
tests assert that nothing was paid twice.

Example::

    with OpenAICompatibleServer(latency_s=0.05) as server:
        server.inject("429", times=2)
        client = openai.OpenAI(base_url=server.base_url, api_key="x")
        ...
        assert server.count("POST /v1/chat/completions") == 3
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from videoespresso_hf.llm.messages import data_url_to_image

Responder = Callable[[dict[str, Any]], "str | dict[str, Any] | list[Any]"]
FAULT_KINDS = ("400", "429", "500", "timeout", "malformed_json", "schema_violation", "malformed_body")

# Named colours for captions; the nearest one (in RGB) to an image's mean colour names it.
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 40),
    "orange": (245, 140, 30),
    "purple": (130, 50, 170),
    "cyan": (40, 200, 220),
    "magenta": (220, 50, 200),
    "brown": (120, 75, 40),
}


def nearest_colour_name(rgb: tuple[float, float, float] | np.ndarray) -> str:
    values = np.asarray(rgb, dtype=np.float64)
    return min(COLOUR_NAMES, key=lambda name: float(np.sum((np.asarray(COLOUR_NAMES[name]) - values) ** 2)))


def describe_image_colour(data_url: str) -> str:
    """Caption an image by its mean colour, e.g. ``"a solid red frame"`` (deterministic)."""
    image = np.asarray(data_url_to_image(data_url).convert("RGB"), dtype=np.float64)
    return f"a solid {nearest_colour_name(image.reshape(-1, 3).mean(axis=0))} frame"


def request_images(request: dict[str, Any]) -> list[str]:
    """All image data URLs in a chat request, in message order."""
    urls = []
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    image_url = part["image_url"]
                    urls.append(image_url if isinstance(image_url, str) else image_url["url"])
    return urls


def request_text(request: dict[str, Any]) -> str:
    """The text of the last user message."""
    for message in reversed(request.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return " ".join(part.get("text", "") for part in content or [] if part.get("type") == "text")
    return ""


def example_for_schema(schema: dict[str, Any], text: str, *, root: dict[str, Any] | None = None) -> Any:
    """A deterministic instance of a JSON schema; every string field is ``text``."""
    root = root if root is not None else schema
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return example_for_schema(target, text, root=root)
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [s for s in schema[combinator] if s.get("type") != "null"] or schema[combinator]
            return example_for_schema(options[0], text, root=root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {
            name: example_for_schema(sub, text, root=root)
            for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        count = max(1, schema.get("minItems", 1))
        return [
            example_for_schema(schema.get("items", {"type": "string"}), text, root=root) for _ in range(count)
        ]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 0.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def describe_request(request: dict[str, Any]) -> str:
    """Captions of the request's images joined by "; ", or an echo of its text when it has none."""
    images = request_images(request)
    if images:
        return "; ".join(describe_image_colour(url) for url in images)
    return f"echo: {request_text(request)}"


def default_responder(request: dict[str, Any]) -> str | dict[str, Any]:
    """Caption images by colour; for a ``json_schema`` response format, fill the schema with the caption."""
    caption = describe_request(request)
    response_format = request.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return example_for_schema(response_format["json_schema"]["schema"], caption)
    if response_format.get("type") == "json_object":
        return {"answer": caption}
    return caption


def count_prompt_tokens(request: dict[str, Any]) -> int:
    """Prompt tokens the server bills: ~4 characters per text token, 85 per image."""
    chars, images = 0, 0
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        else:
            for part in content or []:
                if part.get("type") == "text":
                    chars += len(part.get("text", ""))
                elif part.get("type") == "image_url":
                    images += 1
    return max(1, math.ceil(chars / 4)) + 85 * images


@dataclass
class _Fault:
    kind: str
    remaining: int
    when: Callable[[dict[str, Any]], bool] | None
    route: str


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, like real endpoints: no TCP set-up per request
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        route = re.sub(r"/(file|batch)-[0-9a-f]+", r"/{\1_id}", path)
        owner._note(f"{method} {route}", self.headers.get("Authorization"))
        authorized = owner.api_key is None or self.headers.get("Authorization") == f"Bearer {owner.api_key}"
        try:
            if not authorized:
                status, payload, headers = 401, {"error": {"message": "Incorrect API key provided"}}, {}
            else:
                status, payload, headers = owner._handle(
                    method, path, raw, self.headers.get("Content-Type", "")
                )
        except Exception as exc:  # a broken responder is a 500 with its reason, not a hung test
            status, payload, headers = 500, {"error": {"message": f"{type(exc).__name__}: {exc}"}}, {}
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # the default backlog of 5 drops connections under concurrent clients
    owner: OpenAICompatibleServer


class OpenAICompatibleServer:
    """The loopback OpenAI-compatible server (context manager; port 0 picks a free port).

    Args:
        responder: ``request_json -> str | dict``: the answer content (a dict/list is sent as JSON).
        model: id listed by ``GET /v1/models``.
        latency_s: fixed delay before each chat answer (for concurrency benchmarks).
        timeout_sleep_s: how long a ``"timeout"`` fault stalls (set it above the client's timeout).
        batch_polls_before_done: ``batches.retrieve`` calls answered ``in_progress`` before completion.
        retry_after_s: value of the ``Retry-After`` header sent with injected 429s (None: no header).
        api_key: when set, requests without ``Authorization: Bearer <api_key>`` get a 401.
        serve_only_model: answer only chat requests for ``model`` and refuse others with a 404
            ``model_not_found``, as a vLLM server started with one model does (default: answer any model).
    """

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        model: str = "loopback-vlm",
        latency_s: float = 0.0,
        timeout_sleep_s: float = 2.0,
        batch_polls_before_done: int = 0,
        retry_after_s: float | None = None,
        api_key: str | None = None,
        serve_only_model: bool = False,
        port: int = 0,
    ) -> None:
        self.responder = responder or default_responder
        self.model = model
        self.latency_s = latency_s
        self.timeout_sleep_s = timeout_sleep_s
        self.batch_polls_before_done = batch_polls_before_done
        self.retry_after_s = retry_after_s
        self.api_key = api_key
        self.serve_only_model = serve_only_model
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._counts: Counter[str] = Counter()
        self.faults_served: list[tuple[str, dict[str, Any]]] = []  # (fault kind, the request it hit)
        self.chat_requests: list[dict[str, Any]] = []
        self.authorization_headers: set[str] = set()
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAICompatibleServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-loopback", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OpenAICompatibleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ test controls

    def inject(
        self,
        kind: str,
        times: int = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
        *,
        route: str = "POST /v1/chat/completions",
    ) -> None:
        """Apply fault ``kind`` to the next ``times`` requests on ``route`` (that match ``when``, if given).

        Chat faults are consumed in the order they were injected, also by batch lines (where ``"400"``,
        ``"429"``, ``"500"`` and ``"timeout"`` become a line with an error status). On
        ``route="POST /v1/batches"``, ``"timeout"`` creates the batch and then stalls (a lost
        response), ``"429"``/``"500"`` refuse it.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; use one of {FAULT_KINDS}")
        with self._lock:
            self._faults.append(_Fault(kind, times, when, route))

    def inject_sequence(self, kinds: list[str]) -> None:
        """One fault per upcoming chat request, in order (e.g. ``["429", "500"]``)."""
        for kind in kinds:
            self.inject(kind)

    def pending_faults(self) -> int:
        with self._lock:
            return sum(fault.remaining for fault in self._faults)

    def count(self, route: str | None = None) -> int:
        """Requests received for ``"METHOD /v1/route"`` (ids shown as ``{file_id}``/``{batch_id}``), or all.

        ``"batch line"`` counts chat requests answered inside batches.
        """
        with self._lock:
            if route is None:
                return sum(n for name, n in self._counts.items() if name != "batch line")
            return self._counts[route]

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self.chat_requests.clear()
            self.faults_served.clear()

    # ------------------------------------------------------------------ request handling

    def _note(self, route: str, authorization: str | None) -> None:
        with self._lock:
            self._counts[route] += 1
            if authorization:
                self.authorization_headers.add(authorization)

    def _next_fault(self, request: dict[str, Any], route: str = "POST /v1/chat/completions") -> str | None:
        with self._lock:
            for fault in self._faults:
                if (
                    fault.route == route
                    and fault.remaining > 0
                    and (fault.when is None or fault.when(request))
                ):
                    fault.remaining -= 1
                    self.faults_served.append((fault.kind, request))
                    return fault.kind
        return None

    def _handle(
        self, method: str, path: str, raw: bytes, content_type: str
    ) -> tuple[int, Any, dict[str, str]]:
        if method == "POST" and path == "/v1/chat/completions":
            return self._chat(json.loads(raw))
        if method == "GET" and path == "/v1/models":
            return (
                200,
                {
                    "object": "list",
                    "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "loopback"}],
                },
                {},
            )
        if method == "POST" and path == "/v1/files":
            return self._upload(raw, content_type)
        if match := re.fullmatch(r"/v1/files/(file-[0-9a-f]+)(/content)?", path):
            record = self.files.get(match.group(1))
            if record is None:
                return 404, {"error": {"message": f"no such file {match.group(1)}"}}, {}
            if match.group(2):
                return 200, record["content"], {"Content-Type": "application/octet-stream"}
            return 200, {k: v for k, v in record.items() if k != "content"}, {}
        if method == "POST" and path == "/v1/batches":
            return self._create_batch(json.loads(raw))
        if method == "GET" and path == "/v1/batches":
            return self._list_batches()
        if match := re.fullmatch(r"/v1/batches/(batch-[0-9a-f]+)", path):
            return self._retrieve_batch(match.group(1))
        return 404, {"error": {"message": f"no route {method} {path}"}}, {}

    def _answer(self, request: dict[str, Any], fault: str | None) -> str:
        """The assistant content for a request, with content faults applied."""
        if fault == "malformed_json":
            return '{"caption": "a solid'  # truncated mid-string, like a cut-off generation
        if fault == "schema_violation":
            return json.dumps({"unexpected_field": 42})
        reply = self.responder(request)
        return reply if isinstance(reply, str) else json.dumps(reply)

    def _completion(self, request: dict[str, Any], content: str) -> dict[str, Any]:
        prompt_tokens = count_prompt_tokens(request)
        completion_tokens = max(1, math.ceil(len(content) / 4))
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _chat(self, request: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.chat_requests.append(request)
        if self.serve_only_model and request.get("model") != self.model:
            message = f"The model `{request.get('model')}` does not exist."
            return 404, {"error": {"message": message, "type": "NotFoundError", "code": "model_not_found"}}, {}
        fault = self._next_fault(request)
        if self.latency_s:
            time.sleep(self.latency_s)
        if fault == "429":
            headers = {"Retry-After": str(self.retry_after_s)} if self.retry_after_s is not None else {}
            return 429, {"error": {"message": "Rate limit reached (injected)", "type": "rate_limit"}}, headers
        if fault == "400":
            return (
                400,
                {"error": {"message": "Invalid request (injected)", "type": "invalid_request_error"}},
                {},
            )
        if fault == "500":
            return 500, {"error": {"message": "Internal server error (injected)", "type": "server_error"}}, {}
        if fault == "timeout":
            time.sleep(self.timeout_sleep_s)
        if fault == "malformed_body":
            return 200, b'{"id": "chatcmpl-broken", "choices": [{"mess', {}
        return 200, self._completion(request, self._answer(request, fault)), {}

    def _upload(self, raw: bytes, content_type: str) -> tuple[int, Any, dict[str, str]]:
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        fields: dict[str, Any] = {}
        filename = "upload.jsonl"
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                filename = part.get_filename()
            fields[name] = part.get_payload(decode=True)
        if "file" not in fields:
            return 400, {"error": {"message": "multipart field 'file' is required"}}, {}
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        record = {
            "id": file_id,
            "object": "file",
            "bytes": len(fields["file"]),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": (fields.get("purpose") or b"batch").decode(),
            "status": "processed",
            "content": fields["file"],
        }
        with self._lock:
            self.files[file_id] = record
        return 200, {k: v for k, v in record.items() if k != "content"}, {}

    def _store_file(self, content: bytes, filename: str) -> str:
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": "batch_output",
            "status": "processed",
            "content": content,
        }
        return file_id

    def _list_batches(self) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            data = [
                {k: v for k, v in b.items() if not k.startswith("_")} for b in reversed(self.batches.values())
            ]
        return (
            200,
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": False,
            },
            {},
        )

    def _create_batch(self, params: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        fault = self._next_fault(params, "POST /v1/batches")
        if fault in ("429", "500", "400"):
            return int(fault), {"error": {"message": f"injected {fault}"}}, {}
        if params.get("input_file_id") not in self.files:
            return 400, {"error": {"message": f"unknown input_file_id {params.get('input_file_id')}"}}, {}
        batch_id = f"batch-{uuid.uuid4().hex[:24]}"
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": params.get("endpoint", "/v1/chat/completions"),
            "input_file_id": params["input_file_id"],
            "completion_window": params.get("completion_window", "24h"),
            "status": "validating",
            "created_at": int(time.time()),
            "output_file_id": None,
            "error_file_id": None,
            "metadata": params.get("metadata"),
            "errors": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "_polls": 0,
        }
        with self._lock:
            self.batches[batch_id] = batch
        if fault == "timeout":
            time.sleep(self.timeout_sleep_s)  # created, but the client has given up on the answer
        return 200, {k: v for k, v in batch.items() if not k.startswith("_")}, {}

    def _retrieve_batch(self, batch_id: str) -> tuple[int, Any, dict[str, str]]:
        batch = self.batches.get(batch_id)
        if batch is None:
            return 404, {"error": {"message": f"no such batch {batch_id}"}}, {}
        with self._lock:
            batch["_polls"] += 1
            ready = batch["_polls"] > self.batch_polls_before_done and batch["status"] != "completed"
            if not ready and batch["status"] == "validating":
                batch["status"] = "in_progress"
        if ready:
            self._run_batch(batch)
        return 200, {k: v for k, v in batch.items() if not k.startswith("_")}, {}

    def _run_batch(self, batch: dict[str, Any]) -> None:
        lines = self.files[batch["input_file_id"]]["content"].decode().splitlines()
        outputs, errors = [], []
        for line in filter(str.strip, lines):
            item = json.loads(line)
            request = item["body"]
            with self._lock:
                self._counts["batch line"] += 1
            fault = self._next_fault(request)
            if fault in ("400", "429", "500", "timeout", "malformed_body"):
                status = int(fault) if fault in ("400", "429") else 500
                response = {
                    "status_code": status,
                    "request_id": uuid.uuid4().hex,
                    "body": {"error": {"message": f"injected {fault}"}},
                }
                errors.append(
                    {
                        "id": f"batch_req_{uuid.uuid4().hex[:16]}",
                        "custom_id": item["custom_id"],
                        "response": response,
                        "error": None,
                    }
                )
                continue
            body = self._completion(request, self._answer(request, fault))
            outputs.append(
                {
                    "id": f"batch_req_{uuid.uuid4().hex[:16]}",
                    "custom_id": item["custom_id"],
                    "response": {"status_code": 200, "request_id": uuid.uuid4().hex, "body": body},
                    "error": None,
                }
            )
        with self._lock:
            if outputs:
                batch["output_file_id"] = self._store_file(
                    "".join(json.dumps(o) + "\n" for o in outputs).encode(), f"{batch['id']}_output.jsonl"
                )
            if errors:
                batch["error_file_id"] = self._store_file(
                    "".join(json.dumps(e) + "\n" for e in errors).encode(), f"{batch['id']}_error.jsonl"
                )
            batch["status"] = "completed"
            batch["completed_at"] = int(time.time())
            batch["request_counts"] = {
                "total": len(outputs) + len(errors),
                "completed": len(outputs),
                "failed": len(errors),
            }
