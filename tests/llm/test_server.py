"""The loopback server is a faithful enough OpenAI endpoint for the official SDK."""

from __future__ import annotations

import openai
import pytest
from doubles.openai_server import (
    OpenAICompatibleServer,
    describe_image_colour,
    example_for_schema,
)
from pydantic import BaseModel

from videoespresso_hf.llm import image_to_data_url, user_message

from ._helpers import solid_frame


class Scene(BaseModel):
    class Item(BaseModel):
        name: str
        count: int

    caption: str
    items: list[Item]
    confident: bool
    score: float | None


def test_describe_image_colour_uses_the_pixels():
    assert describe_image_colour(image_to_data_url(solid_frame("orange"))) == "a solid orange frame"
    assert (
        describe_image_colour(image_to_data_url(solid_frame("black"), format="png")) == "a solid black frame"
    )


def test_example_for_schema_fills_nested_refs():
    example = example_for_schema(Scene.model_json_schema(), "txt")
    assert Scene.model_validate(example) == Scene(
        caption="txt", items=[Scene.Item(name="txt", count=1)], confident=True, score=0.5
    )


def test_official_sdk_parse_against_the_server():
    with OpenAICompatibleServer(model="loopback-vlm") as server:
        sdk = openai.OpenAI(api_key="unused", base_url=server.base_url, max_retries=0)
        assert [model.id for model in sdk.models.list()] == ["loopback-vlm"]
        completion = sdk.chat.completions.parse(
            model="loopback-vlm",
            messages=[user_message("look", [solid_frame("green")])],
            response_format=Scene,
        )
        assert completion.choices[0].message.parsed.caption == "a solid green frame"
        assert completion.usage.prompt_tokens == 1 + 85

        server.inject("429")
        with pytest.raises(openai.RateLimitError):
            sdk.chat.completions.create(model="m", messages=[user_message("hi")])
        assert server.count("POST /v1/chat/completions") == 2


def test_custom_responder_and_unknown_fault():
    with OpenAICompatibleServer(responder=lambda request: {"n": len(request["messages"])}) as server:
        sdk = openai.OpenAI(api_key="unused", base_url=server.base_url, max_retries=0)
        reply = sdk.chat.completions.create(model="m", messages=[user_message("a"), user_message("b")])
        assert reply.choices[0].message.content == '{"n": 2}'
        with pytest.raises(ValueError, match="unknown fault"):
            server.inject("teapot")
