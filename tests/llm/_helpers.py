"""Shared test inputs: a structured-output schema and solid-colour frames."""

from __future__ import annotations

import numpy as np
from doubles.openai_server import COLOUR_NAMES
from pydantic import BaseModel

from videoespresso_hf.llm import LLMRequest, user_message


class Caption(BaseModel):
    caption: str
    objects: list[str]


def solid_frame(colour: str, size: int = 24) -> np.ndarray:
    """An (H, W, 3) uint8 frame filled with a named colour."""
    frame = np.empty((size, size, 3), dtype=np.uint8)
    frame[:] = COLOUR_NAMES[colour]
    return frame


def caption_request(colour: str, *, prompt_version: str = "caption-v1", stage: str = "caption") -> LLMRequest:
    return LLMRequest(
        [user_message(f"Describe the frame ({colour} test).", [solid_frame(colour)])],
        prompt_version=prompt_version,
        stage=stage,
        response_model=Caption,
    )


COLOURS = [
    "red",
    "green",
    "blue",
    "yellow",
    "orange",
    "purple",
    "cyan",
    "magenta",
    "brown",
    "white",
    "black",
    "grey",
]
