"""`data push` of a config whose rows carry media *paths*: what reaches the Hub holds no path of this machine.

The Hub is the recording stand-in of ``tests/doubles/hub.py``; the uploaded files are written back into a
folder and loaded with ``datasets``, as a user of the pushed repository would.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
from doubles.recording_hub import RecordingApi

from videoespresso_hf.data import attach_media
from videoespresso_hf.data.hub import prepare_dataset_folder, push_dataset_folder
from videoespresso_hf.data.sources import SourceOptions


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _pushed_folder(api: RecordingApi, folder: Path) -> Path:
    ((_, files, _),) = api.uploads
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def _video_paths(dataset) -> list[str]:
    return [row["video"]["path"] for row in dataset.cast_column("video", datasets.Video(decode=False))]


def test_path_only_config_is_pushed_relative_to_its_videos_root_and_reattaches(train_video_release, tmp_path):
    out = tmp_path / "hub"
    prepare_dataset_folder("train_video", train_video_release, out)
    local = _video_paths(datasets.load_dataset(str(out), "train_video", split="train"))
    assert all(Path(path).is_absolute() for path in local)  # the prepared folder is for this machine

    api = RecordingApi()
    push_dataset_folder(out, "me/VideoEspresso", api=api)
    ((_, files, _),) = api.uploads
    shards = [name for name in files if name.endswith(".parquet")]
    assert shards and all(name.startswith("train_video/") for name in shards)
    for name in shards:
        texts = _strings(pq.read_table(io.BytesIO(files[name])).to_pylist())
        assert not [text for text in texts if text.startswith("/") or str(tmp_path) in text], name
    for name, content in files.items():  # card, manifest, .gitattributes
        assert str(tmp_path).encode() not in content, name

    pushed = datasets.load_dataset(str(_pushed_folder(api, tmp_path / "downloaded")), "train_video", split="train")
    relative = _video_paths(pushed)
    assert relative == [str(Path(path).relative_to(train_video_release.resolve())) for path in local]
    # The card says which folder the paths are relative to, and how to attach it.
    card = files["README.md"].decode()
    assert "attach_media(" in card and "relative to" in card
    attached = attach_media(pushed, train_video_release)
    assert attached.features == pushed.features  # decoded Video again, as load_dataset gave it
    assert _video_paths(attached) == local
    assert all(Path(path).read_bytes() for path in _video_paths(attached))


def test_media_outside_the_prepared_folders_is_left_out_and_counted_in_the_card(generated_release, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "clip.mp4"
    elsewhere.parent.mkdir()
    (generated_release / "videos" / "clip.mp4").rename(elsewhere)
    for split in ("train", "test"):
        path = generated_release / "generated" / f"{split}.jsonl"
        path.write_text(path.read_text().replace(str(generated_release / "videos" / "clip.mp4"), str(elsewhere)))
    out = tmp_path / "hub"
    # A folder outside the build is read only when named (without it the rows are refused: test_hostile_inputs).
    prepare_dataset_folder("generated", generated_release, out, SourceOptions(media_roots=(str(elsewhere.parent),)))

    api = RecordingApi()
    push_dataset_folder(out, "me/VideoEspresso", api=api)
    pushed = datasets.load_dataset(str(_pushed_folder(api, tmp_path / "downloaded")), "generated", split="train")
    assert [row["video"] for row in pushed] == [None, None]
    assert pushed["video_path"] == ["videos/clip.mp4"] * 2  # the exported relative path stays
    manifest = json.loads((tmp_path / "downloaded" / "videoespresso_prepare.json").read_text())
    assert manifest["configs"]["generated"]["media_left_out"] == 3
    assert "3 row(s)" in (tmp_path / "downloaded" / "README.md").read_text()
