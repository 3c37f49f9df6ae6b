"""Folders that `datasets.load_dataset` must load whatever the split sizes, and never from a stale cache.

`datasets` 5.x cannot load a split with no rows (`Instruction "test" corresponds to no data!`), and keys
its cache of a local folder on the folder's name and card YAML only, so these tests build real folders
(an empty test split is the normal case for a small build) and reuse one datasets cache across folders.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import pytest
from huggingface_hub import DatasetCard

from videoespresso_hf.cli.main import main
from videoespresso_hf.data.builder import load_videoespresso
from videoespresso_hf.data.hub import prepare_dataset_folder
from videoespresso_hf.data.sources import DataError, SourceOptions
from videoespresso_hf.pipeline.stages.export import write_card as write_generated_card


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _release_copy(source: Path, target: Path, tag: str) -> Path:
    """A copy of a `generated` release whose rows carry other ids and point at the copy's own video."""
    shutil.copytree(source, target)
    video = str((target / "videos" / "clip.mp4").resolve())
    for split in ("train", "test"):
        path = target / "generated" / f"{split}.jsonl"
        _write_rows(path, [{**row, "id": f"{row['id']}-{tag}", "video": video} for row in _rows(path)])
    return target


def _as_exported(release: Path) -> Path:
    """The rows as `videoespresso build` exports them: tasks under their leaderboard names."""
    for split in ("train", "test"):
        path = release / "generated" / f"{split}.jsonl"
        _write_rows(path, [{**row, "task": row["task"].replace("Event Process", "Event Dynamic")} for row in _rows(path)])
    return release


def _empty_test_split(release: Path) -> None:
    (release / "generated" / "test.jsonl").write_text("")
    (release / "generated" / "manifest.json").write_text(json.dumps({"schema_version": 1, "counts": {"train": 2, "test": 0}}))


def _ids(dataset) -> list[str]:
    return [row["id"] for row in dataset]


def _video_paths(dataset) -> list[str]:
    return [row["video"]["path"] for row in dataset.cast_column("video", datasets.Video(decode=False))]


def test_prepared_folder_with_an_empty_split_loads(generated_release, tmp_path, capsys):
    _empty_test_split(generated_release)
    out = tmp_path / "hub"
    code = main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(generated_release),
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    loaded = datasets.load_dataset(str(out), "generated")
    assert list(loaded) == ["train"] and _ids(loaded["train"]) == ["gen-0001", "gen-0002"]
    card = DatasetCard.load(out / "README.md")
    assert [f["split"] for f in card.data.configs[0]["data_files"]] == ["train"]
    assert not list((out / "generated").glob("test-*.parquet"))


def test_builder_leaves_out_an_empty_split(generated_release, tmp_path):
    _empty_test_split(generated_release)
    loaded = load_videoespresso("generated", generated_release, cache_dir=tmp_path / "cache")
    assert list(loaded) == ["train"] and _ids(loaded["train"]) == ["gen-0001", "gen-0002"]


@pytest.mark.parametrize("empty_test", [False, True])
def test_build_output_folder_loads_with_any_split_sizes(generated_release, empty_test):
    """`load_dataset(OUT/generated)` reads the card `videoespresso build` writes."""
    if empty_test:
        _empty_test_split(generated_release)
    folder = _as_exported(generated_release) / "generated"
    write_generated_card(folder, json.loads((folder / "manifest.json").read_text()))
    loaded = datasets.load_dataset(str(folder))
    expected = {"train": ["gen-0001", "gen-0002"]} if empty_test else {"train": ["gen-0001", "gen-0002"], "test": ["gen-0003"]}
    assert {split: _ids(rows) for split, rows in loaded.items()} == expected


def test_every_row_left_out_is_a_one_line_error(generated_release, tmp_path):
    (generated_release / "videos" / "clip.mp4").unlink()
    out = tmp_path / "hub"
    with pytest.raises(DataError, match="generated: no rows to write") as error:
        prepare_dataset_folder("generated", generated_release, out, SourceOptions(missing_videos="skip"))
    assert "\n" not in str(error.value) and not (out / "generated").exists()
    with pytest.raises(DataError, match="every split is empty"):
        load_videoespresso("generated", generated_release, cache_dir=tmp_path / "cache", missing_videos="skip")


def test_same_folder_name_elsewhere_never_serves_stale_rows(generated_release, tmp_path):
    """`A/prepared` loaded, A deleted, `B/prepared` (same name, same card layout) must give B's rows."""
    first = _release_copy(generated_release, tmp_path / "A" / "release", "a")
    prepare_dataset_folder("generated", first, tmp_path / "A" / "prepared")
    train = datasets.load_dataset(str(tmp_path / "A" / "prepared"), "generated", split="train")
    assert _ids(train) == ["gen-0001-a", "gen-0002-a"]
    shutil.rmtree(tmp_path / "A")

    second = _release_copy(generated_release, tmp_path / "B" / "release", "b")
    prepare_dataset_folder("generated", second, tmp_path / "B" / "prepared")
    train = datasets.load_dataset(str(tmp_path / "B" / "prepared"), "generated", split="train")
    assert _ids(train) == ["gen-0001-b", "gen-0002-b"]
    assert all(Path(path).is_file() and "/B/" in path for path in _video_paths(train))


def test_re_prepared_folder_serves_its_new_rows(generated_release, tmp_path):
    out = tmp_path / "prepared"
    prepare_dataset_folder("generated", generated_release, out)
    assert _ids(datasets.load_dataset(str(out), "generated", split="test")) == ["gen-0003"]
    path = generated_release / "generated" / "test.jsonl"
    _write_rows(path, [{**row, "id": "gen-0099"} for row in _rows(path)])  # same size, other content
    prepare_dataset_folder("generated", generated_release, out)
    assert _ids(datasets.load_dataset(str(out), "generated", split="test")) == ["gen-0099"]


def test_build_output_folders_of_the_same_name_do_not_share_a_cache(generated_release, tmp_path):
    """Every build writes `OUT/generated`: two builds must not read each other's rows."""
    for tag in ("a", "b"):
        release = _as_exported(_release_copy(generated_release, tmp_path / tag, tag))
        folder = release / "generated"
        write_generated_card(folder, json.loads((folder / "manifest.json").read_text()))
        assert _ids(datasets.load_dataset(str(folder), split="test")) == [f"gen-0003-{tag}"]
        shutil.rmtree(release)


def test_builder_reads_a_rebuilt_folder_again(generated_release, tmp_path):
    """`load_videoespresso("generated", OUT)` after a new build into the same OUT gives the new rows."""
    cache = tmp_path / "cache"
    assert _ids(load_videoespresso("generated", generated_release, split="test", cache_dir=cache)) == ["gen-0003"]
    path = generated_release / "generated" / "test.jsonl"
    _write_rows(path, [{**row, "id": "gen-0099"} for row in _rows(path)])
    assert _ids(load_videoespresso("generated", generated_release, split="test", cache_dir=cache)) == ["gen-0099"]
