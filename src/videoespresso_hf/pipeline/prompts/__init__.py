"""Versioned prompt templates: ``<name>.v<N>.jinja`` files next to this module.

A prompt version is part of every LLM cache key, so editing a template in place would silently mix
answers to two different prompts: add a new version file instead and point the config at it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

__all__ = ["PROMPTS_DIR", "available_prompts", "load_prompt", "render_prompt"]

PROMPTS_DIR = Path(__file__).resolve().parent


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PROMPTS_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def available_prompts() -> list[str]:
    """Prompt versions shipped, e.g. ``["caption.v1"]``."""
    return sorted(path.name.removesuffix(".jinja") for path in PROMPTS_DIR.glob("*.jinja"))


def load_prompt(version: str) -> jinja2.Template:
    """The template for ``version`` (e.g. ``"caption.v1"``); a clear error when it does not exist."""
    try:
        return _environment().get_template(f"{version}.jinja")
    except jinja2.TemplateNotFound:
        raise FileNotFoundError(
            f"no prompt template {version!r} in {PROMPTS_DIR} (available: {', '.join(available_prompts())})"
        ) from None


def render_prompt(version: str, **variables: Any) -> str:
    """Render prompt ``version`` with ``variables`` (a missing variable is an error, not an empty string)."""
    return load_prompt(version).render(**variables).strip()
