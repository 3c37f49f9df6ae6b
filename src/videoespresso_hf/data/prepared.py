"""The one reader of prepared data: a config/split of a ``data prepare`` folder (or its Hub copy) as rows.

Training, ``predict``, the viewer and the lmms-eval task all read prepared rows; this is where the
folder/config/split are checked (one line naming what exists when they do not), ``datasets`` errors become
:class:`~videoespresso_hf.data.sources.DataError`, and media are left undecoded (``{"path", "bytes"}``), so
that a caller opens a row's media itself, through :func:`videoespresso_hf.data.media.confine` with
:func:`videoespresso_hf.data.hub.prepared_media_roots` (no path of a row is opened outside them).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from videoespresso_hf.data.sources import CONFIG_SPECS, DataError
from videoespresso_hf.errors import first_line

if TYPE_CHECKING:
    from datasets import Dataset, IterableDataset

__all__ = ["REQUIRED_COLUMNS", "check_prepared_split", "load_prepared", "prepared_splits"]

# Columns every prepared config has (the schema's, data.schema.FIELDS, minus what a reader may drop).
REQUIRED_COLUMNS = ("id", "question", "options", "task", "video", "images")


def prepared_splits(folder: str | os.PathLike, config: str) -> list[str]:
    """The splits a local prepared folder holds for ``config`` (from its shard names), ``[]`` if none."""
    shards = Path(folder, config).glob("*-of-*.parquet")
    return sorted({shard.name.rsplit("-", 3)[0] for shard in shards})


def check_prepared_split(folder: str | os.PathLike, config: str, split: str | None = None) -> str:
    """The split :func:`load_prepared` reads (``split``, or its default), checked before any row is read: a
    training run refuses a config without its split before its output folder exists.

    A local folder holds the splits of its shards; a Hub id is taken to hold its config's published splits.

    Raises:
        DataError: an unknown config, a folder without that config, or a config without ``split``: the line names
            the splits the config has and the configs that have ``split`` (``bench`` is test-only).
    """
    if config not in CONFIG_SPECS:
        raise DataError(f"unknown config {config!r}; choose one of {', '.join(CONFIG_SPECS)}")
    if Path(folder).exists():
        present = prepared_splits(folder, config)
        if not present:
            raise DataError(
                f"{folder} has no prepared {config!r} config; run "
                f"`videoespresso data prepare --config {config} --out {folder}` first"
            )
    else:
        present = list(CONFIG_SPECS[config].splits)
    split = split or ("test" if "test" in present else present[0])
    if split not in present:
        others = [name for name, spec in CONFIG_SPECS.items() if split in spec.splits]
        raise DataError(
            f"{folder}: config {config!r} has no split {split!r} (it has: {', '.join(present)})"
            + (f"; configs with a {split!r} split: {', '.join(others)}" if others else "")
        )
    return split


def load_prepared(
    folder: str | os.PathLike,
    config: str = "bench",
    split: str | None = None,
    *,
    streaming: bool = False,
    columns: Sequence[str] | None = None,
) -> Dataset | IterableDataset:
    """Rows of ``config``/``split`` of a prepared folder (or a Hub dataset id), media undecoded.

    Args:
        folder: a folder written by ``videoespresso data prepare`` (or ``data push``'s Hub id).
        config: ``bench``, ``train_video``, ``train_multi_image`` or ``generated``.
        split: default ``test`` when the config has it, else its first split.
        streaming: an ``IterableDataset`` (nothing is cached; a 200k-row config starts at once).
        columns: only these columns.

    Raises:
        DataError: an unknown config, a folder without that config or split (the line names what it holds),
            a dataset ``datasets`` cannot load, or one not in our schema.
    """
    import datasets

    split = check_prepared_split(folder, config, split)
    try:
        dataset = datasets.load_dataset(str(folder), config, split=split, streaming=streaming)
    # ConnectionError: a Hub id that cannot be reached (offline, no network).
    except (FileNotFoundError, ConnectionError, ValueError, datasets.exceptions.DatasetNotFoundError) as error:
        raise DataError(f"cannot load {folder} (config {config!r}, split {split!r}): {first_line(error)}") from None
    names = dataset.column_names or list(dataset.features or {})
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise DataError(
            f"{folder}: not a VideoEspresso dataset (no column {missing[0]!r}); prepare it with `videoespresso data prepare`"
        )
    if streaming:
        dataset = dataset.decode(False)
    else:
        dataset = dataset.cast_column("video", datasets.Video(decode=False))
        dataset = dataset.cast_column("images", datasets.List(datasets.Image(decode=False)))
    return dataset.select_columns(list(columns)) if columns else dataset
