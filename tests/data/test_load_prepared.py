"""data.load_prepared: the one reader of a prepared folder (issue 21 item 2)."""

from __future__ import annotations

import datasets
import pytest

from videoespresso_hf.data import DataError, load_prepared
from videoespresso_hf.data.hub import prepare_dataset_folder
from videoespresso_hf.data.prepared import prepared_splits


@pytest.fixture()
def prepared(bench_release, tmp_path):
    out = tmp_path / "hub"
    prepare_dataset_folder("bench", bench_release, out)
    return out


def test_rows_with_media_undecoded(prepared, bench_release):
    rows = load_prepared(prepared, "bench")  # split: test, the bench's only one
    assert isinstance(rows, datasets.Dataset) and rows.num_rows == 3
    video = rows[0]["video"]
    assert video["bytes"] is None and video["path"].startswith(str(bench_release.resolve()))
    streamed = list(load_prepared(prepared, "bench", "test", streaming=True, columns=["id", "video"]))
    assert [set(row) for row in streamed] == [{"id", "video"}] * 3
    assert streamed[0]["video"] == video  # the same undecoded value either way


def test_what_is_missing_is_named_in_one_line(prepared):
    assert prepared_splits(prepared, "bench") == ["test"]
    with pytest.raises(DataError, match=r"config 'bench' has no split 'train' \(it has: test\); configs with a 'train' "
                       "split: train_video, train_multi_image, generated$"):
        load_prepared(prepared, "bench", "train")
    # A Hub id: its config's published splits, checked before anything is downloaded (the tests run offline).
    with pytest.raises(DataError, match=r"^org/prepared: config 'bench' has no split 'train' \(it has: test\); configs"):
        load_prepared("org/prepared", "bench", "train")
    with pytest.raises(DataError, match="has no prepared 'train_video' config; run `videoespresso data prepare"):
        load_prepared(prepared, "train_video")
    with pytest.raises(DataError, match="unknown config 'benchmark'"):
        load_prepared(prepared, "benchmark")
    for shard in (prepared / "bench").glob("*.parquet"):  # a config folder with no rows left in it
        shard.unlink()
    with pytest.raises(DataError, match="has no prepared 'bench' config"):
        load_prepared(prepared, "bench")
