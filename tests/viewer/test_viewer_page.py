"""`videoespresso data view`: the site as Chromium renders it (items, boxes over frames, filtering, paging)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videoespresso_hf.cli.main import main
from videoespresso_hf.demo.releases import bench_record, tiny_video, write_json, zip_bytes

# (source, stem, task, core frames, box of the key object on the first core frame)
ITEMS = [
    ("XD-Violence", "clip_a", "Causal Analysis", (0, 2), [10, 20, 30, 40]),
    ("vatex", "clip_b", "Cooking Process", (1, 3), [5, 5, 60, 45]),
    ("CUVA", "clip_c", "Causal Analysis", (0,), [10, 20, 1200, 40]),  # leaves the 64x48 frame in any reading
    ("vatex", "clip_d", "Traffic Analysis", (2,), [0, 0, 64, 48]),
    ("CUVA", "clip_e", "Causal Analysis", (3, 480), [20, 10, 50, 30]),  # 480: past the 4-frame video
]


def _record(source, stem, task, frames, box):
    record = bench_record(source, stem, task, frames)
    record["evidence"] = (
        f"The <obj_start>person<obj_end><box_start>{json.dumps(box)}<box_end> stands near the "
        "<obj_start>crowd<obj_end><box_start>[]<box_end>."
    )
    record["key_items"] = [{"object": "person", "frame": frames[0]}]
    return record


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A bench release of 5 items (real 64x48 h264 clips of 4 frames) prepared with `data prepare`."""
    root = tmp_path_factory.mktemp("viewer")
    release = root / "release"
    write_json(release / "bench_hard.json", [_record(*item) for item in ITEMS])
    members = {
        f"all_video/{source}/{stem}.mp4": tiny_video(root / f"{stem}.mp4", index).read_bytes()
        for index, (source, stem, *_) in enumerate(ITEMS)
    }
    (release / "all_video.zip").write_bytes(zip_bytes(members))
    out = root / "hub"
    assert main(["data", "prepare", "--quiet", "--config", "bench", "--data-dir", str(release), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def site(prepared, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert main(["data", "view", str(prepared), "--out", str(out), "--limit", "4", "--page-size", "3"]) == 0
    return out


def _visible_items(page) -> list[str]:
    return page.eval_on_selector_all("article.item", "items => items.filter(i => i.offsetParent !== null).map(i => i.dataset.task)")


def test_pages_show_the_limited_items_with_counts_per_task(site, page):
    assert sorted(p.name for p in site.glob("*.html")) == ["index.html", "page-2.html"]  # 4 items, 3 per page
    page.goto((site / "index.html").as_uri())
    assert _visible_items(page) == ["Causal Analysis", "Cooking Process", "Causal Analysis"]
    counts = {row[0]: row[2:] for row in page.eval_on_selector_all(
        "#task-counts tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText))")}  # fmt: skip
    assert counts["Causal Analysis"] == ["3", "2"]  # 3 rows in the split, 2 in the site (limit 4)
    assert counts["Traffic Analysis"] == ["1", "1"]
    correct = page.locator("article.item").first.locator("li.option.correct")
    assert correct.count() == 1 and "(B)" in correct.inner_text() and "correct" in correct.inner_text()
    assert page.locator("article.item").first.locator("mark.obj").first.inner_text() == "person"
    page.goto((site / "page-2.html").as_uri())
    assert _visible_items(page) == ["Traffic Analysis"]


def test_frames_are_decoded_and_boxes_drawn_inside_their_frame(site, page):
    page.goto((site / "index.html").as_uri())
    first = page.locator("article.item").first
    images = first.locator(".canvas img")
    assert images.count() == 2  # both core frames decoded from the video
    assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(2))
    boxes = first.locator(".box")
    assert boxes.count() == 1  # the person belongs to frame 0 only (the key items say so)
    box, image = boxes.first.bounding_box(), images.first.bounding_box()
    assert box["x"] >= image["x"] - 0.5 and box["y"] >= image["y"] - 0.5
    assert box["x"] + box["width"] <= image["x"] + image["width"] + 0.5
    assert box["y"] + box["height"] <= image["y"] + image["height"] + 0.5
    # [10, 20, 30, 40] in pixels of the 64x48 frame: the box spans 20/64 of the rendered width.
    assert box["width"] == pytest.approx(image["width"] * 20 / 64, abs=1.5)
    assert box["x"] - image["x"] == pytest.approx(image["width"] * 10 / 64, abs=1.5)
    assert "pixels" in page.locator("#box-convention").inner_text()


def test_a_box_outside_its_frame_is_drawn_in_the_warning_colour_not_dropped(site, page):
    page.goto((site / "index.html").as_uri())
    item = page.locator("article.item").nth(2)
    out = item.locator(".box.out")
    assert out.count() == 1
    assert out.evaluate("b => getComputedStyle(b).borderTopColor") == "rgb(224, 96, 0)"
    assert out.evaluate("b => getComputedStyle(b).borderTopStyle") == "dashed"
    box, image = out.bounding_box(), item.locator(".canvas img").first.bounding_box()
    assert box["width"] > 0 and box["x"] + box["width"] <= image["x"] + image["width"] + 0.5  # clamped, visible
    assert "⚠" in out.inner_text()


def test_filtering_by_task_and_group_changes_the_visible_items(site, page):
    page.goto((site / "index.html").as_uri())
    page.select_option("#task-filter", "Cooking Process")
    assert _visible_items(page) == ["Cooking Process"]
    assert page.locator("#visible-count").inner_text() == "1"
    assert "task=Cooking" in page.evaluate("location.hash")
    page.select_option("#task-filter", "")
    page.select_option("#group-filter", "Logical Reasoning")
    assert _visible_items(page) == ["Causal Analysis", "Causal Analysis"]
    # The filter follows the pager link.
    page.click("nav.pager a.pager-link")
    assert page.url.endswith("page-2.html#group=Logical+Reasoning")
    assert _visible_items(page) == []  # page 2 holds only a Traffic Analysis item (Reality Application)


def test_a_frame_past_the_video_says_why_and_frames_are_written_once(prepared, tmp_path):
    from videoespresso_hf.data.viewer import ViewerOptions, build_viewer

    options = ViewerOptions(task="Causal Analysis")
    first = build_viewer(prepared, tmp_path, options)
    assert first.items == 3 and first.frames_written == 4  # clip_a 0, 2; clip_c 0; clip_e 3 (480 has no pixels)
    html = (tmp_path / "index.html").read_text()
    assert "frame 480 is past the video&#39;s 4 frames" in html
    again = build_viewer(prepared, tmp_path, options)
    assert again.frames_written == 0 and again.frames_reused == 5
    thumbnails = [p for p in (tmp_path / "frames").glob("*.jpg")]
    assert len(thumbnails) == 4


def test_view_bad_input_is_a_one_line_error(prepared, tmp_path, capsys):
    assert main(["data", "view", str(tmp_path / "nowhere"), "--out", str(tmp_path / "site")]) == 2
    assert main(["data", "view", str(prepared), "--out", str(tmp_path / "site"), "--task", "Juggling"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2
    assert "has no 'bench' config folder" in errors[0] and "data prepare" in errors[0]
    assert "unknown task 'Juggling'" in errors[1]
