"""The dataset cards of the package (``README.md`` with ``configs:`` YAML): the one place they are rendered.

A prepared VideoEspresso folder's card (:func:`render_card`) is rendered with
``huggingface_hub.DatasetCard.from_template`` from ``templates/dataset_card.md.jinja`` and the folder's
prepare manifest (row counts, task counts, rows left out for missing media), so the card always describes
what the Parquet files hold. A folder of JSON Lines splits (what ``videoespresso build`` writes) gets
:func:`render_jsonl_card`: the same card data class, the same content fingerprint in its config description.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoespresso_hf.text import printable

if TYPE_CHECKING:
    from huggingface_hub import DatasetCard

__all__ = [
    "CITATION",
    "HOMEPAGE",
    "LICENSE",
    "TEMPLATE_PATH",
    "content_fingerprint",
    "markdown_code",
    "markdown_text",
    "render_card",
    "render_jsonl_card",
]

HOMEPAGE = "https://arxiv.org/abs/2411.14794"
LICENSE = "apache-2.0"  # stated (as body text) on the authors' VideoEspresso-Test card
TEMPLATE_PATH = Path(__file__).parent / "templates" / "dataset_card.md.jinja"
CITATION = """@inproceedings{han2025videoespresso,
  title     = {VideoEspresso: A Large-Scale Chain-of-Thought Dataset for Fine-Grained Video Reasoning via Core Frame Selection},
  author    = {Han, Songhao and Huang, Wei and Shi, Hairong and Zhuo, Le and Su, Xiu and Zhang, Shifeng and Zhou, Xu and Qi, Xiaojuan and Liao, Yue and Liu, Si},
  booktitle = {Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {26181--26191},
  year      = {2025}
}"""


_BACKTICK_RUNS = re.compile(r"`+")
# What can start Markdown or HTML inside a line (emphasis, code, links and images, tags and entities, table
# cells, strikethrough, headings); other punctuation is left as it is so the card's source stays readable.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~!#])")
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def markdown_code(value: object) -> str:
    """``value`` as a Markdown code span that shows it literally, whatever it holds.

    The card quotes strings from the release (row ids, media paths): a backtick in one would close a
    fixed one-backtick span and let the rest be read as Markdown or HTML. The fence is one backtick longer
    than the longest run inside (CommonMark), a space pads content that starts or ends with a backtick,
    and control characters and newlines are made visible (:func:`videoespresso_hf.text.printable`), so the
    span cannot end the line or the list item it is in.
    """
    text = printable(value)
    fence = "`" * (max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_text(value: object) -> str:
    """``value`` as Markdown text that renders as itself, inside a line (a table cell, a list item).

    The characters that can open emphasis, code, a link or image, an HTML tag or entity, a table cell, a
    strikethrough or a heading are backslash-escaped (CommonMark shows an escaped punctuation character as
    itself); controls and newlines are made visible as in :func:`markdown_code`, so the text stays on its line.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", printable(value))


def _omission_markdown(omission: Any) -> dict[str, str]:
    omission = omission if isinstance(omission, Mapping) else {}
    return {
        "id": markdown_code(omission.get("id", "")),
        "path": markdown_code(omission.get("path", "")),
        "reason": markdown_text(omission.get("reason", "")),
    }


def _code_literal(value: object) -> str:
    """A string for the card's Python snippet (inside a fenced block): a safe Python string literal body."""
    return printable(value).replace("`", "").replace("\\", "\\\\").replace('"', '\\"')


def content_fingerprint(paths: Iterable[str | os.PathLike], root: str | os.PathLike) -> str:
    """SHA-256 over the names (relative to ``root``) and bytes of data files, in name order.

    ``datasets`` keys its cache of a local folder on the folder's *name* and the card YAML, not on the
    files: two folders called ``prepared``, or one folder re-prepared with other rows, would share a
    cache entry and serve stale rows. Putting this fingerprint in each config's YAML ``description``
    (a ``BuilderConfig`` field, hashed into the cache key) makes the key follow the content.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _config_description(description: str, fingerprint: str | None) -> str:
    """A config's YAML ``description``: its text plus the content fingerprint (see :func:`content_fingerprint`)."""
    return f"{description} Content sha256: {fingerprint}." if fingerprint else description


def _size_category(rows: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return label
    return "1M<n<10M"


# How a config stores its media → (the card's ``video`` field alone, the same among others, the Configs table).
_MEDIA_STORAGE = {
    "embedded": ("embedded bytes", "embedded bytes", "embedded"),
    "relative": (
        "a path relative to the unpacked release (see Attaching the media)", "a relative path", "relative paths"
    ),
    "absolute": ("absolute path on the machine that prepared this folder", "an absolute path", "local paths"),
}


def _media_storage(entry: Mapping[str, Any]) -> str:
    """How a config's rows hold their media: ``embedded``, ``relative`` (a pushed copy) or ``absolute`` (local)."""
    return "embedded" if entry.get("embedded") else entry.get("media_paths", "absolute")


def _video_storage(storages: list[str]) -> str:
    """What the card's ``video`` field holds, given how each config stores its media."""
    kinds = list(dict.fromkeys(storages)) or ["absolute"]
    if len(kinds) == 1:
        return _MEDIA_STORAGE[kinds[0]][0]
    return " or ".join(_MEDIA_STORAGE[kind][1] for kind in kinds) + ", per config (see Configs)"


def render_card(manifest: Mapping[str, Any], repo_id: str = "<user>/VideoEspresso") -> DatasetCard:
    """A ``huggingface_hub.DatasetCard`` for a prepared folder.

    Args:
        manifest: the folder's ``videoespresso_prepare.json`` content: ``{"configs": {name: {...}}}`` with,
            per config, ``splits`` (split → rows), ``task_counts``, ``omitted`` (examples),
            ``omitted_count``, ``missing_videos``, ``embedded``, ``media``, ``description``, ``repo_id``,
            ``fingerprint``, and for a copy made by ``push``, ``media_paths`` (``"relative"``) and
            ``media_left_out`` (rows whose media lay outside the unpacked release). Splits with no rows are left out of the card: ``datasets`` cannot load an empty
            split (``Instruction "test" corresponds to no data!``).
        repo_id: the Hub id used in the card's usage snippet.
    """
    from huggingface_hub import DatasetCard, DatasetCardData

    from videoespresso_hf import __version__
    from videoespresso_hf.data.schema import SCHEMA_VERSION
    from videoespresso_hf.tasks import TASK_GROUPS, TASKS

    entries = manifest.get("configs", {})
    configs = []
    for name, entry in entries.items():
        media_kind = "videos" if entry.get("media") == "video" else "images"
        configs.append(
            {
                "name": name,
                "splits": {split: rows for split, rows in entry.get("splits", {}).items() if rows},
                "description": entry.get("description", ""),  # for the YAML (safely dumped)
                "description_md": markdown_text(entry.get("description", "")),  # for the Configs table
                "fingerprint": entry.get("fingerprint"),
                "media_kind": media_kind,
                "media_storage": _media_storage(entry),
                "media_note": f"{media_kind}, {_MEDIA_STORAGE[_media_storage(entry)][2]}",
                "media_left_out": int(entry.get("media_left_out", 0)),
                "task_counts": dict(entry.get("task_counts", {})),
                "omitted_count": int(entry.get("omitted_count", 0)),
                # Strings from the release: quoted and escaped here, the template inserts them as they are.
                "omitted_examples": [_omission_markdown(o) for o in list(entry.get("omitted", []))[:10]],
                "missing_policy": entry.get("missing_videos", "error"),
                "repo_id": entry.get("repo_id") if _REPO_ID.match(str(entry.get("repo_id") or "")) else None,
                "split_bytes": dict(entry.get("split_bytes", {})),
                "parquet_bytes": int(entry.get("parquet_bytes", 0)),
            }
        )
    total_rows = sum(rows for config in configs for rows in config["splits"].values())
    card_data = DatasetCardData(
        language=["en"],
        license=LICENSE,
        task_categories=["video-text-to-text", "visual-question-answering"],
        size_categories=[_size_category(total_rows)],
        pretty_name="VideoEspresso",
        tags=["video", "chain-of-thought", "video-question-answering", "grounding", "videoespresso"],
        configs=[
            {
                "config_name": config["name"],
                "data_files": [{"split": split, "path": f"{config['name']}/{split}-*.parquet"} for split in config["splits"]],
                "description": _config_description(config["description"], config["fingerprint"]),
                **({"default": True} if index == 0 else {}),
            }
            for index, config in enumerate(configs)
        ],
        dataset_info=[
            {
                "config_name": config["name"],
                "splits": [
                    {"name": split, "num_bytes": config["split_bytes"].get(split, 0), "num_examples": rows}
                    for split, rows in config["splits"].items()
                ],
                "download_size": config["parquet_bytes"],
                "dataset_size": sum(config["split_bytes"].values()),
            }
            for config in configs
        ],
    )
    return DatasetCard.from_template(
        card_data,
        template_path=str(TEMPLATE_PATH),
        repo_id=_code_literal(repo_id),
        configs=configs,
        tasks=[{"name": task.leaderboard_name, "group": task.group} for task in TASKS],
        task_groups=list(TASK_GROUPS),
        video_storage=_video_storage([_media_storage(entry) for entry in entries.values()]),
        homepage=HOMEPAGE,
        citation=CITATION,
        license=LICENSE,
        package_version=__version__,
        schema_version=SCHEMA_VERSION,
    )


def render_jsonl_card(
    folder: str | os.PathLike,
    *,
    config_name: str,
    splits: Iterable[str],
    description: str,
    features: list[dict[str, Any]],
    body: str,
) -> DatasetCard:
    """A ``huggingface_hub.DatasetCard`` for a folder of ``<split>.jsonl`` files that ``datasets`` loads as one
    config with the given ``features`` (``datasets.Features._to_yaml_list()``), so the declared schema is exact.

    The config's ``description`` ends with the :func:`content_fingerprint` of the split files (the cache key
    follows the content); ``body`` is the Markdown under the YAML header.
    """
    from huggingface_hub import DatasetCard, DatasetCardData

    folder = Path(folder)
    splits = list(splits)
    fingerprint = content_fingerprint((folder / f"{split}.jsonl" for split in splits), folder)
    card_data = DatasetCardData(
        configs=[
            {
                "config_name": config_name,
                "default": True,
                "data_files": [{"split": split, "path": f"{split}.jsonl"} for split in splits],
                "description": _config_description(description, fingerprint),
            }
        ],
        dataset_info={"config_name": config_name, "features": features},
    )
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n{body}")
