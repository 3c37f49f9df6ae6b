"""A Hub-ready dataset folder (Parquet shards + card), and moving data to and from the Hub.

``prepare_dataset_folder`` writes::

    OUT/
      README.md                         card with `configs:` YAML (regenerated from the manifest)
      .gitattributes
      videoespresso_prepare.json        what each config holds (rows, tasks, rows left out, options)
      bench/test-00000-of-00001.parquet
      train_video/train-00000-of-00004.parquet …

``datasets.load_dataset(OUT, "bench")`` reads it offline (``streaming=True`` too); the Features
(ClassLabel, Video, List …) are restored from the Parquet schema metadata. Each config is written
to a temporary folder and swapped in when complete, so an interrupted run leaves the previous
version intact, and preparing another config into the same folder keeps the ones already there.

Without ``--embed-videos`` the prepared rows point at media by absolute path, so the folder works on the
machine that prepared it. ``push_dataset_folder`` uploads a copy in which every such path is made relative
to the folder the media were unpacked into (``--data-dir``, or ``--extract-dir``), and the manifest loses its
local folders: no path of the preparing machine reaches the Hub. :func:`attach_media` points the rows of the
pushed copy at the user's own unpacked release.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from videoespresso_hf.data.card import content_fingerprint
from videoespresso_hf.data.media import MediaPathError, confine
from videoespresso_hf.data.schema import CONFIG_NAMES, SCHEMA_VERSION, arrow_schema, encode_row
from videoespresso_hf.data.sources import (
    CONFIG_SPECS,
    DataError,
    ReleaseReader,
    SourceOptions,
)
from videoespresso_hf.errors import first_line
from videoespresso_hf.files import write_json_atomic, write_text_atomic

if TYPE_CHECKING:
    from datasets import Dataset, IterableDataset
    from huggingface_hub import HfApi

__all__ = [
    "MANIFEST_NAME",
    "attach_media",
    "download_release",
    "prepare_dataset_folder",
    "prepared_media_roots",
    "push_dataset_folder",
    "write_card",
]

MANIFEST_NAME = "videoespresso_prepare.json"
GITATTRIBUTES = "*.parquet filter=lfs diff=lfs merge=lfs -text\n*.mp4 filter=lfs diff=lfs merge=lfs -text\n"
_BATCH_ROWS = 5_000
_BATCH_MEDIA_BYTES = 64 << 20


class _ShardWriter:
    """Parquet shards ``{split}-NNNNN-of-MMMMM.parquet``, rolled over by size, named when closed."""

    def __init__(self, folder: Path, split: str, max_shard_bytes: int):
        self.folder, self.split, self.max_shard_bytes = folder, split, max_shard_bytes
        self.schema = arrow_schema()
        self.paths: list[Path] = []
        self._writer = None
        self._bytes = 0
        self.rows = 0
        self.arrow_bytes = 0

    def write(self, table) -> None:
        import pyarrow.parquet as pq

        if not table.num_rows:
            return
        if self._writer is not None and self._bytes >= self.max_shard_bytes:
            self._writer.close()
            self._writer = None
        if self._writer is None:
            self.paths.append(self.folder / f"{self.split}-{len(self.paths):05d}.parquet.tmp")
            self._writer = pq.ParquetWriter(self.paths[-1], self.schema)
            self._bytes = 0
        self._writer.write_table(table, row_group_size=1_000)
        self._bytes += table.nbytes
        self.arrow_bytes += table.nbytes
        self.rows += table.num_rows

    def close(self) -> list[Path]:
        """Name the shards; an empty split gets no file (and no card entry: datasets cannot load one)."""
        if self._writer is not None:
            self._writer.close()
        final = []
        for index, path in enumerate(self.paths):
            target = self.folder / f"{self.split}-{index:05d}-of-{len(self.paths):05d}.parquet"
            os.replace(path, target)
            final.append(target)
        return final


def _rows_to_table(rows: list[dict[str, Any]]):
    """Schema rows → ``(Arrow table, task counts)``."""
    import pyarrow as pa

    counts = Counter(row["task"] or "(unknown)" for row in rows)
    return pa.Table.from_pylist([encode_row(row) for row in rows], schema=arrow_schema()), counts


def _tables(reader: ReleaseReader, split: str) -> Iterator[tuple[Any, Counter]]:
    batch: list[dict[str, Any]] = []
    media_bytes = 0
    for row in reader.rows(split):
        batch.append(row)
        video = row.get("video")
        media_bytes += len(video["bytes"]) if isinstance(video, dict) and video.get("bytes") else 0
        media_bytes += sum(len(image["bytes"]) for image in row["images"] if isinstance(image, dict) and image.get("bytes"))
        if len(batch) >= _BATCH_ROWS or media_bytes >= _BATCH_MEDIA_BYTES:
            yield _rows_to_table(batch)
            batch, media_bytes = [], 0
    if batch:
        yield _rows_to_table(batch)


def _read_manifest(out_dir: Path) -> dict[str, Any]:
    path = out_dir / MANIFEST_NAME
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise DataError(f"{path} is not valid JSON; delete it and prepare again") from None
    return {"schema_version": SCHEMA_VERSION, "configs": {}}


def prepared_media_roots(prepared: str | os.PathLike, config: str) -> list[Path]:
    """The folders a prepared config's media may be opened from: the prepared folder and those its prepare recorded.

    Pass them to :func:`videoespresso_hf.data.media.confine` before opening a row's ``video`` / ``images``
    path (the viewer, ``predict`` and training do). A folder prepared before roots were recorded falls back
    on its ``data_dir`` / ``extract_dir``; a copy without a manifest (a pushed copy downloaded from the
    Hub) on itself, its relative paths being joined to it.
    """
    prepared = Path(prepared)
    try:
        manifest = json.loads((prepared / MANIFEST_NAME).read_text(encoding="utf-8"))
        entry = manifest.get("configs", {}).get(config, {}) if isinstance(manifest, Mapping) else {}
    except (OSError, ValueError, AttributeError):
        entry = {}
    entry = entry if isinstance(entry, Mapping) else {}
    recorded = entry.get("media_roots") or [entry.get("data_dir"), entry.get("extract_dir")]
    roots = [prepared.resolve(), *(Path(root) for root in recorded if isinstance(root, str) and os.path.isabs(root))]
    return list(dict.fromkeys(roots))


def write_card(out_dir: str | os.PathLike, repo_id: str | None = None) -> Path:
    """(Re)write ``README.md`` and ``.gitattributes`` of a prepared folder from its manifest."""
    from videoespresso_hf.data.card import render_card

    out_dir = Path(out_dir)
    manifest = _read_manifest(out_dir)
    # Card configs follow the canonical order, whatever order they were prepared in.
    manifest["configs"] = {name: manifest["configs"][name] for name in CONFIG_NAMES if name in manifest["configs"]}
    card = render_card(manifest, repo_id or manifest.get("repo_id") or "<user>/VideoEspresso")
    write_text_atomic(out_dir / "README.md", str(card))
    write_text_atomic(out_dir / ".gitattributes", GITATTRIBUTES)
    return out_dir / "README.md"


def prepare_dataset_folder(
    config: str,
    data_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    options: SourceOptions | None = None,
    *,
    max_shard_bytes: int = 500 << 20,
    progress: bool = False,
) -> dict[str, Any]:
    """Write one config of the dataset as Parquet shards into ``out_dir`` and refresh its card.

    Args:
        config: ``bench``, ``train_video``, ``train_multi_image`` or ``generated``.
        data_dir: release folder (or pipeline output folder for ``generated``).
        out_dir: the Hub-ready folder (created; other configs already there are kept).
        options: reading options (fps, missing-media policy, embedding, …).
        max_shard_bytes: start a new Parquet file after about this many (Arrow) bytes.
        progress: show a tqdm bar per split.

    One process does it all, streaming: worker processes were measured slower on 2 cores (JSON parsing,
    media checks and Parquet writing stay in the parent, and every record crosses a pipe twice; see
    ``benchmarks/prepare_train_annotations.py``), so there is no option for them.

    Returns:
        The config's manifest entry (splits → rows, task counts, rows left out, options).

    Raises:
        DataError: missing annotation files or media (policy ``error``), malformed JSON, unknown config.
    """
    options = options or SourceOptions()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".{config}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    splits: dict[str, int] = {}
    split_bytes: dict[str, int] = {}
    file_bytes = 0
    task_counts: Counter[str] = Counter()
    with ReleaseReader(config, data_dir, options) as reader:
        staging.mkdir()
        try:
            for split in reader.splits:
                writer = _ShardWriter(staging, split, max_shard_bytes)
                tables = _tables(reader, split)
                bar = None
                if progress:
                    from tqdm.auto import tqdm

                    bar = tqdm(desc=f"{config}/{split}", unit="row")
                for table, counts in tables:
                    writer.write(table)
                    task_counts.update(counts)
                    if bar is not None:
                        bar.update(table.num_rows)
                if bar is not None:
                    bar.close()
                file_bytes += sum(path.stat().st_size for path in writer.close())
                splits[split] = writer.rows
                split_bytes[split] = writer.arrow_bytes
            if not any(splits.values()):
                omitted = sum(len(reader.omissions[split]) for split in reader.splits)
                raise DataError(
                    f"{config}: no rows to write ({omitted} left out for missing media, "
                    f"--missing-videos {options.missing_videos}); check --data-dir"
                )
        except BaseException:
            # Missing media (error policy), bad records, Ctrl-C: the previous version of the config stays.
            shutil.rmtree(staging, ignore_errors=True)
            raise
    fingerprint = content_fingerprint(staging.glob("*.parquet"), staging)
    final = out_dir / config
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staging, final)
    all_omissions = [omission for split in reader.splits for omission in reader.omissions[split]]
    spec = CONFIG_SPECS[config]
    entry = {
        "description": spec.description,
        "repo_id": spec.repo_id,
        "media": spec.media,
        "splits": splits,
        # The card's YAML is what datasets keys its cache of a local folder on (with the folder's name):
        # the content fingerprint keeps a re-prepared or same-named folder from loading stale rows.
        "fingerprint": fingerprint,
        "split_bytes": split_bytes,
        "parquet_bytes": file_bytes,
        "task_counts": dict(sorted(task_counts.items())),
        "embedded": options.embed_media,
        "missing_videos": options.missing_videos,
        "omitted_count": len(all_omissions),
        "omitted": [
            {"id": o.id, "path": o.path, "reason": o.reason} for o in all_omissions[:100]
        ],
        "fps": options.fps,
        "fps_by_source": options.fps_by_source,
        # The folders media paths are under: push makes the paths relative to them (and drops these two).
        "data_dir": str(Path(data_dir).resolve()),
        "extract_dir": str(Path(options.extract_dir).resolve()) if options.extract_dir else None,
        # Every folder the rows' media may lie in (the viewer opens nothing elsewhere); push drops it too.
        "media_roots": [str(root) for root in reader.locator.roots],
    }
    manifest = _read_manifest(out_dir)
    manifest["schema_version"] = SCHEMA_VERSION
    manifest.setdefault("configs", {})[config] = entry
    write_json_atomic(out_dir / MANIFEST_NAME, manifest)
    write_card(out_dir)
    return entry


_RELEASE_FILES = {
    # config → (all files, annotations only)
    "bench": (["bench_hard.json", "all_video.zip", "README.md"], ["bench_hard.json", "README.md"]),
    "train_video": (["*.json", "*.z[0-9][0-9]", "*.zip", "README.md"], ["*.json", "README.md"]),
    "train_multi_image": (["*.json", "part_*", "*.zip", "README.md"], ["*.json", "README.md"]),
}


def download_release(
    config: str,
    local_dir: str | os.PathLike,
    *,
    annotations_only: bool = False,
    revision: str | None = None,
    token: str | None = None,
) -> Path:
    """Fetch the authors' released files of a config from the Hub into ``local_dir`` (resumable).

    Raises:
        DataError: for ``generated`` (nothing to download), or when the Hub cannot be reached.
    """
    if config not in _RELEASE_FILES:
        raise DataError(f"nothing to download for {config!r}: choose one of {', '.join(_RELEASE_FILES)}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

    patterns = _RELEASE_FILES[config][1 if annotations_only else 0]
    repo_id = CONFIG_SPECS[config].repo_id
    try:
        path = snapshot_download(
            repo_id, repo_type="dataset", local_dir=str(local_dir), allow_patterns=patterns, revision=revision,
            token=token,
        )  # fmt: skip
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as error:
        raise DataError(f"cannot download {repo_id}: the Hub is unreachable or HF_HUB_OFFLINE=1 ({error})") from None
    except HfHubHTTPError as error:
        raise DataError(f"cannot download {repo_id}: {first_line(error)}") from None
    return Path(path)


def _relative_media_path(path: str, roots: Sequence[Path]) -> str | None:
    """``path`` relative to the deepest of ``roots`` holding it (posix form); ``None`` when none does."""
    for root in roots:
        if Path(path).is_relative_to(root):
            return Path(path).relative_to(root).as_posix()
    return None


def _shareable_path(path: str, roots: Sequence[Path]) -> str:
    """``path`` unchanged if relative, else relative to ``roots``, else its file name."""
    if not os.path.isabs(path):
        return path
    return _relative_media_path(path, roots) or PurePath(path).name


def _hub_media(value: Mapping[str, Any] | None, roots: Sequence[Path]) -> dict[str, Any] | None:
    """A ``{"bytes", "path"}`` media value as the Hub copy stores it: no absolute path of this machine.

    A path-only value gets its path relative to ``roots``, or becomes ``None`` when the file lies outside
    them (a relative path there would name a file nobody can find). Embedded bytes keep at most the file
    name as their path (``datasets`` only reads its extension).
    """
    if value is None or not value.get("path") or not os.path.isabs(value["path"]):
        return None if value is None else dict(value)
    relative = _relative_media_path(value["path"], roots)
    if value.get("bytes") is not None:
        return {"bytes": value["bytes"], "path": relative or PurePath(value["path"]).name}
    return {"bytes": None, "path": relative} if relative else None


def _write_hub_shard(source: Path, target: Path, roots: Sequence[Path]) -> tuple[int, int, str]:
    """Copy one Parquet shard with its media paths made relative.

    Returns:
        ``(rows left without media, Arrow bytes, split name)``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    shard = pq.ParquetFile(source)
    schema = shard.schema_arrow
    left_out = arrow_bytes = 0
    with pq.ParquetWriter(target, schema) as writer:
        for index in range(shard.num_row_groups):
            table = shard.read_row_group(index)
            videos = table.column("video").to_pylist()
            hub_videos = [_hub_media(video, roots) for video in videos]
            images = [row or [] for row in table.column("images").to_pylist()]
            hub_images = [[_hub_media(image, roots) for image in row] for row in images]
            left_out += sum(
                (video is not None and hub_video is None)
                or any(image is not None and hub_image is None for image, hub_image in zip(row, hub_row, strict=True))
                for video, hub_video, row, hub_row in zip(videos, hub_videos, images, hub_images, strict=True)
            )
            for name, values in (("video", hub_videos), ("images", hub_images)):
                field = schema.field(name)
                table = table.set_column(schema.get_field_index(name), field, pa.array(values, type=field.type))
            writer.write_table(table, row_group_size=1_000)
            arrow_bytes += table.nbytes
    return left_out, arrow_bytes, source.name.rsplit("-", 3)[0]


def _stage_for_hub(manifest: dict[str, Any], out_dir: Path, staging: Path) -> None:
    """Write into ``staging`` the prepared folder as the Hub gets it: shards with relative media paths, and
    a manifest and card without the folders of this machine. ``manifest`` (``out_dir``'s, with its
    ``repo_id``) is edited into the Hub copy's."""
    for name, entry in manifest.get("configs", {}).items():
        entry.pop("media_roots", None)
        folders = [entry.pop("extract_dir", None), entry.pop("data_dir", None)]
        roots = sorted({Path(folder) for folder in folders if folder}, key=lambda root: len(root.parts), reverse=True)
        (staging / name).mkdir()
        left_out, split_bytes = 0, Counter()
        for shard in sorted((out_dir / name).glob("*.parquet")):
            rows_left_out, arrow_bytes, split = _write_hub_shard(shard, staging / name / shard.name, roots)
            left_out += rows_left_out
            split_bytes[split] += arrow_bytes
        shards = list((staging / name).glob("*.parquet"))
        entry.update(
            media_paths="embedded" if entry.get("embedded") else "relative",
            media_left_out=left_out,
            split_bytes=dict(split_bytes),
            parquet_bytes=sum(path.stat().st_size for path in shards),
            fingerprint=content_fingerprint(shards, staging / name),
            # The card lists rows left out by their media path: the released (relative) one, or for an
            # absolute one (generated rows) what can be said of it without naming this machine's folders.
            omitted=[
                {**omission, "path": _shareable_path(omission["path"], roots)} for omission in entry.get("omitted", [])
            ],
        )
    write_json_atomic(staging / MANIFEST_NAME, manifest)
    write_card(staging)


def push_dataset_folder(
    out_dir: str | os.PathLike,
    repo_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    revision: str | None = None,
    commit_message: str = "Upload VideoEspresso (videoespresso data prepare)",
    api: HfApi | None = None,
) -> str:
    """Upload a prepared folder to a Hub dataset repository (created if needed); returns the commit URL.

    What is uploaded is a copy written next to the folder (``OUT/.push.tmp``, removed afterwards): media
    paths relative to the folder the media were unpacked into (see :func:`attach_media`), media outside
    it left out and counted in the card, and no local folder in the manifest. The local folder keeps its
    absolute paths (it is for this machine); its card is re-rendered for ``repo_id``.

    ``api`` is the ``huggingface_hub.HfApi`` to upload with (default: one built from ``token``).

    Raises:
        DataError: the folder was not prepared, or the upload fails.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    out_dir = Path(out_dir)
    manifest_path = out_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise DataError(f"{out_dir} is not a prepared folder (no {MANIFEST_NAME}); run `videoespresso data prepare`")
    manifest = _read_manifest(out_dir)
    manifest["repo_id"] = repo_id
    write_json_atomic(manifest_path, manifest)
    write_card(out_dir, repo_id)
    staging = out_dir / ".push.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    api = api or HfApi(token=token)
    try:
        _stage_for_hub(manifest, out_dir, staging)  # the local copy is saved above; from here it is the Hub copy
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id, repo_type="dataset", folder_path=str(staging), revision=revision,
            commit_message=commit_message,
        )  # fmt: skip
    except OfflineModeIsEnabled:
        raise DataError(f"cannot push to {repo_id}: HF_HUB_OFFLINE=1 is set") from None
    except (HfHubHTTPError, OSError) as error:
        raise DataError(f"cannot push to {repo_id}: {first_line(error)}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(getattr(commit, "commit_url", commit))


def attach_media(dataset: Dataset | IterableDataset, root: str | os.PathLike) -> Dataset | IterableDataset:
    """Point the relative media paths of a pushed path-only config (``train_video`` …) at ``root``.

    ``data push`` uploads such configs with each video (or image) path relative to the folder it was
    unpacked into, since the preparer's absolute paths resolve for nobody else. ``root`` is that folder on
    your machine: the release you fetched with ``videoespresso data download --config CONFIG --data-dir
    ROOT``, with its archives unpacked there (``videoespresso data prepare`` does it on the way). Embedded
    media and rows without media are left as they are; the features stay those of ``dataset``.

    Raises:
        DataError: ``root`` is not a folder, or a row's media file is not under it, or its path leads out of
            it (an absolute path elsewhere, ``..``, a link; see :func:`~videoespresso_hf.data.media.confine`),
            raised when that row is mapped: at once for a ``Dataset``, on iteration for an ``IterableDataset``.
    """
    import datasets

    root = Path(root).resolve()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder: pass the folder the release's media were unpacked into")

    def absolute(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if not value or value.get("bytes") is not None or not value.get("path"):
            return value
        try:  # a downloaded copy is someone else's: its paths may not lead out of root (`..`, links, absolute)
            path = confine(value["path"], [root])
        except MediaPathError as error:
            raise DataError(f"cannot attach media: {error}") from None
        if not path.is_file():
            raise DataError(
                f"{value['path']} is not under {root}: download and unpack the release there "
                "(videoespresso data download, then data prepare) or pass the folder that holds it"
            )
        return {"bytes": None, "path": str(path)}

    def attach(row: Mapping[str, Any]) -> dict[str, Any]:
        return {"video": absolute(row["video"]), "images": [absolute(image) for image in row["images"]]}

    features = dataset.features
    paths = dataset.cast_column("video", datasets.Video(decode=False))
    paths = paths.cast_column("images", datasets.List(datasets.Image(decode=False)))
    attached = paths.map(attach, features=paths.features)
    return attached.cast_column("video", features["video"]).cast_column("images", features["images"])
