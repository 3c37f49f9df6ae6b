"""``datasets`` builder for VideoEspresso (script-free: the class lives in this package).

``datasets`` ≥ 4 no longer runs loading scripts, so the builder is used directly::

    from videoespresso_hf.data import load_videoespresso
    bench = load_videoespresso("bench", data_dir="VideoEspresso-Test", split="test")

or through a prepared Parquet folder (``videoespresso data prepare``) that plain
``datasets.load_dataset(folder, "bench")`` reads, streaming included.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from videoespresso_hf.data.card import CITATION, HOMEPAGE, LICENSE
from videoespresso_hf.data.schema import CONFIG_NAMES, SCHEMA_VERSION, features
from videoespresso_hf.data.sources import CONFIG_SPECS, DataError, ReleaseReader, SourceOptions

__all__ = ["VideoEspresso", "VideoEspressoConfig", "load_videoespresso"]


@dataclass
class VideoEspressoConfig(datasets.BuilderConfig):
    """A config (``bench``, ``train_video``, ``train_multi_image``, ``generated``) plus reading options.

    ``data_dir`` (inherited) is the downloaded release folder. The other fields are those of
    :class:`videoespresso_hf.data.sources.SourceOptions` (``embed_media`` excepted: the builder keeps
    absolute paths in its cache).
    """

    fps: float | None = None
    fps_by_source: dict[str, float] = field(default_factory=dict)
    missing_videos: str = "error"
    extract_dir: str | None = None
    annotations: str | None = None
    verify_media: bool = False
    media_roots: tuple[str, ...] = ()
    source_stamp: str | None = None  # see _source_stamp: part of the cache key, so edited sources rebuild

    def source_options(self) -> SourceOptions:
        return SourceOptions(
            fps=self.fps, fps_by_source=dict(self.fps_by_source or {}), missing_videos=self.missing_videos,
            extract_dir=self.extract_dir, annotations=self.annotations, verify_media=self.verify_media,
            media_roots=tuple(self.media_roots or ()),
        )  # fmt: skip


class VideoEspresso(datasets.GeneratorBasedBuilder):
    """The VideoEspresso QA/CoT data in one typed schema (:func:`videoespresso_hf.data.schema.features`)."""

    VERSION = datasets.Version(f"{SCHEMA_VERSION}.0.0")
    BUILDER_CONFIG_CLASS = VideoEspressoConfig
    BUILDER_CONFIGS = [  # noqa: RUF012 - datasets reads this class attribute
        VideoEspressoConfig(name=name, version=datasets.Version(f"{SCHEMA_VERSION}.0.0"),
                            description=CONFIG_SPECS[name].description)
        for name in CONFIG_NAMES
    ]  # fmt: skip
    DEFAULT_CONFIG_NAME = "bench"
    config: VideoEspressoConfig

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=CONFIG_SPECS[self.config.name].description,
            features=features(),
            homepage=HOMEPAGE,
            citation=CITATION,
            license=LICENSE,
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        if not self.config.data_dir:
            raise DataError(
                f"{self.config.name}: pass data_dir= (the folder from `videoespresso data download --config "
                f"{self.config.name}`)"
            )
        reader = self._reader = ReleaseReader(self.config.name, self.config.data_dir, self.config.source_options())
        # Scanning first fails before any output is written, and tells which splits have rows: datasets
        # cannot load an empty split ("Instruction 'test' corresponds to no data!"), so those are left out.
        rows = {}
        for split in reader.splits:
            left_out = reader.scan_media(split)
            rows[split] = reader.row_counts[split] - (len(left_out) if reader.options.missing_videos == "skip" else 0)
        if not any(rows.values()):
            reader.close()
            raise DataError(f"{self.config.name}: no rows in {self.config.data_dir} (every split is empty)")
        return [datasets.SplitGenerator(name=split, gen_kwargs={"split": split}) for split, n in rows.items() if n]

    def _generate_examples(self, split: str):
        try:
            for row in self._reader.rows(split):
                yield row["id"], row
        finally:
            self._reader.close()


def _source_stamp(data_dir: str, annotations: str | None) -> str:
    """Names, sizes and modification times of the data folder's files (top level and ``generated/``).

    ``datasets`` keys the builder's cache on the config's fields; with this among them, rewritten
    annotations (a rebuilt ``generated`` folder, a re-downloaded release) are read again instead of
    the rows cached from the old files.
    """
    import hashlib

    folder = Path(data_dir)
    files = [path for base in (folder, folder / "generated") if base.is_dir() for path in base.iterdir()]
    files += [Path(annotations)] if annotations else []
    stats = sorted(f"{path}:{stat.st_size}:{stat.st_mtime_ns}" for path in files if path.is_file() for stat in [path.stat()])
    return hashlib.sha256("\n".join(stats).encode()).hexdigest()[:16]


def load_videoespresso(
    config: str,
    data_dir: str | os.PathLike,
    split: str | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    download_mode: str | None = None,
    **options,
) -> datasets.Dataset | datasets.DatasetDict:
    """Build (once, cached) and return a VideoEspresso config as a ``datasets`` object.

    Args:
        config: ``bench``, ``train_video``, ``train_multi_image`` or ``generated``.
        data_dir: the release folder (annotations + archives or extracted media), or the pipeline's
            output folder for ``generated``.
        split: e.g. ``"test"``; ``None`` returns a ``DatasetDict`` of every split.
        cache_dir: ``datasets`` cache (default: ``HF_DATASETS_CACHE``).
        download_mode: ``"force_redownload"`` rebuilds even when the source files look unchanged.
        **options: :class:`VideoEspressoConfig` fields (``fps``, ``fps_by_source``, ``missing_videos``, …).

    Raises:
        DataError: missing files or media (one-line message).
    """
    if config not in CONFIG_NAMES:
        raise DataError(f"unknown config {config!r}; choose one of {', '.join(CONFIG_NAMES)}")
    data_dir = os.path.abspath(data_dir)
    builder = VideoEspresso(
        cache_dir=None if cache_dir is None else str(cache_dir),
        config_name=config,
        data_dir=data_dir,
        source_stamp=_source_stamp(data_dir, options.get("annotations")) if os.path.isdir(data_dir) else None,
        **options,
    )
    builder.download_and_prepare(download_mode=download_mode)
    return builder.as_dataset(split=split)
