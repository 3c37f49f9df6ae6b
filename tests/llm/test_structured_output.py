"""The structured-output request is the documented ``response_format`` with a strict schema (issue 24.4).

The schema is built by our own code (no private module of the openai SDK), and what reaches the endpoint
must be a schema OpenAI's strict mode accepts: every object closed (``additionalProperties: false``) and
every property required, nested and optional models included.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from videoespresso_hf.llm import LLMClient, user_message
from videoespresso_hf.llm.request import response_format_for, strict_json_schema


class Box(BaseModel):
    x: float
    y: float


class Item(BaseModel):
    label: str
    box: Box | None = None
    where: Box = Field(description="a described nested model (a $ref with a sibling key)")


class Answer(BaseModel):
    items: list[Item]
    note: str | None = None
    score: int = 0


def _objects(schema: Any, root: dict[str, Any], seen: set[int] | None = None):
    """Every object schema reachable from ``schema``, following local ``$ref``s."""
    seen = set() if seen is None else seen
    if isinstance(schema, dict):
        if id(schema) in seen:
            return
        seen.add(id(schema))
        if "$ref" in schema:
            target: Any = root
            for part in schema["$ref"][2:].split("/"):
                target = target[part]
            yield from _objects(target, root, seen)
        if schema.get("type") == "object":
            yield schema
        for value in schema.values():
            yield from _objects(value, root, seen)
    elif isinstance(schema, list):
        for value in schema:
            yield from _objects(value, root, seen)


def assert_strict(schema: dict[str, Any]) -> None:
    objects = list(_objects(schema, schema))
    assert objects, "no object schema found"
    for obj in objects:
        assert obj.get("additionalProperties") is False, obj
        assert sorted(obj.get("required", [])) == sorted(obj.get("properties", {})), obj
    # A "$ref" must stand alone in strict mode; a "default: null" is not part of it.
    for node in _walk(schema):
        if "$ref" in node:
            assert len(node) == 1, node
        assert not ("default" in node and node["default"] is None), node


def _walk(schema: Any):
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _walk(value)


def test_the_request_body_carries_a_strict_json_schema(make_config, server):
    with LLMClient(make_config()) as client:
        result = client.complete([user_message("List the items.")], prompt_version="t1", response_model=Answer)
    assert result.ok, result.error
    [body] = server.chat_requests
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "Answer"
    assert response_format["json_schema"]["strict"] is True
    assert_strict(response_format["json_schema"]["schema"])
    assert isinstance(result.parsed, Answer)


def test_optional_and_described_nested_models_become_strict():
    schema = strict_json_schema(Item)
    assert_strict(schema)
    # The optional box stays nullable; the described one is inlined with its description kept.
    assert {"type": "null"} in schema["properties"]["box"]["anyOf"]
    assert schema["properties"]["where"]["description"].startswith("a described nested model")
    assert schema["properties"]["where"]["properties"].keys() == {"x", "y"}


def test_the_schema_is_built_without_a_private_module_of_the_sdk():
    source = Path(strict_json_schema.__code__.co_filename).read_text()
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("openai")], imported
    assert response_format_for(Answer) is response_format_for(Answer)  # built once per class


def test_every_construction_and_judge_answer_model_is_sent_strict():
    from videoespresso_hf.evaluation.judge import JudgeScores
    from videoespresso_hf.pipeline.stages import answer_models

    models = [
        value
        for value in vars(answer_models).values()
        if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == answer_models.__name__
    ]
    assert len(models) >= 4
    for model in [*models, JudgeScores]:
        assert_strict(response_format_for(model)["json_schema"]["schema"])
