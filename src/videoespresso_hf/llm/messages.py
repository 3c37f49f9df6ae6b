"""Pure helpers that build OpenAI chat messages, with images sent inline as base64 data URLs."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
from PIL import Image

ImageDetail = Literal["low", "high", "auto"]
ImageLike = np.ndarray | Image.Image | str

_MIME = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def _to_pil(image: np.ndarray | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.moveaxis(array, 0, -1)  # CHW -> HWC
    if array.dtype != np.uint8:
        if np.issubdtype(array.dtype, np.floating) and array.size and float(array.max()) <= 1.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an image of shape (H, W), (H, W, C) or (C, H, W), got {array.shape}")
    return Image.fromarray(array)


def image_to_data_url(
    image: ImageLike, *, format: str = "jpeg", max_side: int | None = 768, quality: int = 90
) -> str:
    """Encode an image as a ``data:image/...;base64,...`` URL.

    Args:
        image: an RGB array of shape (H, W, 3) (uint8, or float in [0, 1]), a (C, H, W) array, a
            PIL image, or an existing data URL (returned unchanged).
        format: ``"jpeg"``, ``"png"`` or ``"webp"``.
        max_side: downscale (keeping the aspect ratio) so the longer side is at most this; ``None`` keeps it.
        quality: JPEG/WebP quality.
    """
    if isinstance(image, str):
        if not image.startswith("data:"):
            raise ValueError("a string image must be a data URL (data:image/...;base64,...)")
        return image
    fmt = format.lower()
    if fmt not in _MIME:
        raise ValueError(f"unsupported image format {format!r}; use one of {sorted(_MIME)}")
    pil = _to_pil(image)
    if max_side is not None and max(pil.size) > max_side:
        scale = max_side / max(pil.size)
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))), Image.BICUBIC)
    if fmt in ("jpeg", "jpg") and pil.mode not in ("RGB", "L"):
        pil = pil.convert("RGB")
    buffer = io.BytesIO()
    save_format = "JPEG" if fmt in ("jpeg", "jpg") else fmt.upper()
    kwargs = {"quality": quality} if save_format in ("JPEG", "WEBP") else {}
    pil.save(buffer, format=save_format, **kwargs)
    return f"data:{_MIME[fmt]};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def data_url_to_image(url: str) -> Image.Image:
    """Decode a base64 image data URL (the inverse of :func:`image_to_data_url`)."""
    header, _, payload = url.partition(",")
    if not header.startswith("data:") or ";base64" not in header:
        raise ValueError("not a base64 data URL")
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image


def image_part(image: ImageLike, *, detail: ImageDetail = "low", **encode_kwargs: Any) -> dict[str, Any]:
    """One ``image_url`` content part. ``detail="low"`` bills a fixed 85 tokens per image on OpenAI."""
    return {
        "type": "image_url",
        "image_url": {"url": image_to_data_url(image, **encode_kwargs), "detail": detail},
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def system_message(text: str) -> dict[str, Any]:
    return {"role": "system", "content": text}


def user_message(
    text: str | None = None,
    images: Iterable[ImageLike] = (),
    *,
    detail: ImageDetail = "low",
    images_first: bool = False,
    **encode_kwargs: Any,
) -> dict[str, Any]:
    """A user message holding text and images (in order, images after the text unless ``images_first``)."""
    image_parts = [image_part(image, detail=detail, **encode_kwargs) for image in images]
    if not image_parts:
        if text is None:
            raise ValueError("a user message needs text or images")
        return {"role": "user", "content": text}
    text_parts = [text_part(text)] if text is not None else []
    parts = image_parts + text_parts if images_first else text_parts + image_parts
    return {"role": "user", "content": parts}


def assistant_message(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}
