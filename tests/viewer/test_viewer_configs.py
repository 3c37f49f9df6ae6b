"""The viewer on the other configs: key-frame images from the row (train_multi_image), pipeline output (generated)."""

from __future__ import annotations

import json

from videoespresso_hf.cli.main import main
from videoespresso_hf.demo.releases import tiny_jpeg, tiny_video, train_record, write_byte_split, zip_bytes


def test_multi_image_rows_show_their_own_images_and_unplaced_boxes_dotted(tmp_path, page):
    records = [train_record(i, "vatex/vatex_image/RgtipEqA7ZA_000046_000056", "path") for i in range(2)]
    members = {"merged_ano_all.json": json.dumps(records).encode()}
    for record in records:
        for path in record["path"]:
            members[path] = tiny_jpeg((30, 120, 200))
    write_byte_split(zip_bytes(members), tmp_path / "release", piece_size=900)
    hub, site = tmp_path / "hub", tmp_path / "site"
    assert main(["data", "prepare", "--quiet", "--config", "train_multi_image", "--data-dir", str(tmp_path / "release"),
                 "--out", str(hub), "--embed-videos"]) == 0  # fmt: skip
    assert main(["data", "view", str(hub), "--config", "train_multi_image", "--out", str(site)]) == 0
    assert not (site / "videos").exists()  # nothing decoded: the images are the frames
    page.goto((site / "index.html").as_uri())
    first = page.locator("article.item").first
    assert first.locator(".canvas img").count() == 2
    # The chef's two boxes, frame not recorded: drawn dotted on both images, labelled as such.
    unknown = first.locator(".box.unknown")
    assert unknown.count() == 4
    assert unknown.first.evaluate("b => getComputedStyle(b).borderTopStyle") == "dotted"
    assert "(frame?)" in unknown.first.inner_text()
    assert first.locator(".box.out").count() == 0


def test_generated_rows_use_the_pipeline_frame_of_each_object_in_pixels(tmp_path, page):
    video = tiny_video(tmp_path / "out" / "videos" / "clip.mp4")
    row = {
        "id": "gen-0001", "question": "What happens?", "answer": "The man waves.",
        "options": ["The man waves.", "The man sits.", "The dog runs.", "Nothing."], "correct_answer": "A",
        "task": "Event Process", "evidence": "The man waves.",
        "evidence_raw": "The <obj_start>man<obj_end><box_start>[4, 4, 40, 30]<box_end> waves.",
        "key_objects": [{"label": "man", "boxes": [[4, 4, 40, 30]], "box_status": "ok"}],
        "core_frames": [{"path": "", "caption": "a", "frame_index": 1, "timestamp": 0.125},
                        {"path": "", "caption": "b", "frame_index": 3, "timestamp": 0.375}],
        "source": "local", "video": str(video), "video_path": "videos/clip.mp4", "fps": 8.0,
        "metadata": json.dumps({"key_object_frames": {"man": 3}}),
    }  # fmt: skip
    folder = tmp_path / "out" / "generated"
    folder.mkdir()
    (folder / "train.jsonl").write_text("")
    (folder / "test.jsonl").write_text(json.dumps(row) + "\n")
    hub, site = tmp_path / "hub", tmp_path / "site"
    assert main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(tmp_path / "out"), "--out", str(hub)]) == 0
    assert main(["data", "view", str(hub), "--config", "generated", "--out", str(site)]) == 0
    page.goto((site / "index.html").as_uri())
    assert "known: the construction pipeline" in page.inner_text("#box-convention")
    figures = page.locator("figure.frame")
    assert figures.count() == 2
    assert figures.nth(0).locator(".box").count() == 0 and figures.nth(1).locator(".box").count() == 1
    assert "t=0.38 s" in figures.nth(1).inner_text()
