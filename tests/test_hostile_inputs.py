"""Hostile releases and archives: nothing outside the release is read, embedded or written (issue 24).

Each case is a real release on disk (the published bench layout, or the build's ``generated`` layout)
with one field made hostile, run through the real commands; what must not happen is checked where it
would happen: the secret's bytes anywhere in the output, any new file anywhere in the test's tree, a
script element in the rendered card or page, an escape byte on the terminal.
"""

from __future__ import annotations

import json
import os
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from videoespresso_hf.cli.main import main
from videoespresso_hf.data.archives import UnsafeArchiveMemberError, extract_members
from videoespresso_hf.data.card import markdown_code, markdown_text
from videoespresso_hf.data.hub import MANIFEST_NAME, prepare_dataset_folder
from videoespresso_hf.data.media import MediaPathError, confine
from videoespresso_hf.data.sources import SourceOptions
from videoespresso_hf.demo.releases import tiny_jpeg, tiny_video, write_bench_release, write_json, zip_bytes
from videoespresso_hf.text import printable

SECRET = b"videoespresso-test-secret-" + os.urandom(12).hex().encode()


@pytest.fixture(autouse=True)
def _private_datasets_cache(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf_datasets_cache")


@pytest.fixture()
def case(tmp_path) -> Path:
    """``case/release`` (a bench release, archives unextracted) beside ``case/secret.mp4`` (outside it)."""
    root = tmp_path / "case"
    write_bench_release(root / "release")
    (root / "secret.mp4").write_bytes(SECRET)
    return root


def _set_video_paths(release: Path, paths: dict[int, str]) -> None:
    annotations = release / "bench_hard.json"
    records = json.loads(annotations.read_text())
    for index, path in paths.items():
        records[index]["video_path"] = path
    write_json(annotations, records)


def _files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()]


def _tree(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _prepare(*args: str) -> int:
    return main(["data", "prepare", "--quiet", "--config", "bench", *args])


# -- media paths of a release ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["keep", "skip"])
def test_paths_leaving_the_release_are_never_embedded(case, tmp_path, capsys, policy):
    """The hidden check of issue 24: an absolute and a `..` path to a readable file outside the release."""
    release, out = case / "release", tmp_path / "out"
    _set_video_paths(release, {0: str(case / "secret.mp4"), 1: "../secret.mp4"})
    code = _prepare("--data-dir", str(release), "--out", str(out), "--embed-videos", "--missing-videos", policy)
    stdout = capsys.readouterr().out
    assert code == 0
    assert _files_holding(out, SECRET) == []
    omitted = json.loads((out / MANIFEST_NAME).read_text())["configs"]["bench"]["omitted"]
    assert [(o["id"], o["path"]) for o in omitted] == [("bench-000000", str(case / "secret.mp4")),
                                                      ("bench-000001", "../secret.mp4")]  # fmt: skip
    assert "absolute path outside the release" in omitted[0]["reason"]
    assert "'..' leads outside the release" in omitted[1]["reason"]
    # One line per refused row, naming the row and the path.
    assert f"bench-000000: '{case / 'secret.mp4'}' refused" in stdout and "bench-000001: '../secret.mp4' refused" in stdout
    # The third row, inside the release, is embedded as before (the rule refuses only what leaves).
    import pyarrow.parquet as pq

    table = pq.read_table(out / "bench")
    videos = {row["id"]: row["video"] for row in table.select(["id", "video"]).to_pylist()}
    assert videos["bench-000002"]["bytes"][4:8] == b"ftyp"
    assert (videos.get("bench-000000") is None) and (videos.get("bench-000001") is None)


def test_paths_leaving_the_release_stop_the_error_policy_with_one_line(case, tmp_path, capsys):
    release, out = case / "release", tmp_path / "out"
    _set_video_paths(release, {1: "all_video/../../secret.mp4"})
    code = _prepare("--data-dir", str(release), "--out", str(out), "--embed-videos")
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "bench-000001: 'all_video/../../secret.mp4' (refused: '..' leads outside the release" in err
    assert not out.exists() or _files_holding(out, SECRET) == []


def test_symbolic_links_out_of_the_release_are_refused(case, tmp_path, capsys):
    release, out = case / "release", tmp_path / "out"
    folder = release / "all_video" / "XD-Violence"
    folder.mkdir(parents=True)
    (folder / "link.mp4").symlink_to(case / "secret.mp4")  # a file link
    (release / "all_video" / "outside").symlink_to(case, target_is_directory=True)  # a folder link
    _set_video_paths(release, {0: "all_video/XD-Violence/link.mp4", 1: "all_video/outside/secret.mp4"})
    code = _prepare("--data-dir", str(release), "--out", str(out), "--embed-videos", "--missing-videos", "keep")
    capsys.readouterr()
    assert code == 0 and _files_holding(out, SECRET) == []
    omitted = json.loads((out / MANIFEST_NAME).read_text())["configs"]["bench"]["omitted"]
    assert [o["id"] for o in omitted] == ["bench-000000", "bench-000001"]
    assert all("symbolic link leads outside" in o["reason"] for o in omitted)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("C:\\secret.mp4", "Windows drive or network path"),
        ("c:secret.mp4", "Windows drive or network path"),
        ("\\\\server\\share\\secret.mp4", "Windows drive or network path"),
        ("//server/share/secret.mp4", "Windows drive or network path"),
        ("..\\secret.mp4", "'..' leads outside"),  # backslashes are separators: this is ../secret.mp4
        ("all_video\\..\\..\\secret.mp4", "'..' leads outside"),
    ],
)
def test_windows_style_paths_are_refused(case, tmp_path, capsys, path, reason):
    release, out = case / "release", tmp_path / "out"
    _set_video_paths(release, {0: path})
    code = _prepare("--data-dir", str(release), "--out", str(out), "--embed-videos", "--missing-videos", "skip")
    capsys.readouterr()
    assert code == 0 and _files_holding(out, SECRET) == []
    (omission,) = json.loads((out / MANIFEST_NAME).read_text())["configs"]["bench"]["omitted"]
    assert omission["path"] == path and reason in omission["reason"]


def test_a_folder_named_with_media_root_may_be_read(case, tmp_path, capsys):
    """The positive control: the same kinds of paths are read when they lead into a folder the user named."""
    release, out = case / "release", tmp_path / "out"
    media = case / "media"
    tiny_video(media / "extra.mp4", 4)
    _set_video_paths(release, {0: str(media / "extra.mp4"), 1: "../media/extra.mp4"})
    code = _prepare("--data-dir", str(release), "--out", str(out), "--embed-videos", "--media-root", str(media))
    capsys.readouterr()
    assert code == 0
    assert len(_files_holding(out, (media / "extra.mp4").read_bytes()[-64:])) == 1  # embedded in the shard
    assert json.loads((out / MANIFEST_NAME).read_text())["configs"]["bench"]["omitted_count"] == 0


def test_media_root_must_be_a_folder(case, tmp_path, capsys):
    code = _prepare("--data-dir", str(case / "release"), "--out", str(tmp_path / "out"), "--media-root",
                    str(case / "nowhere"))  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--media-root" in err and "nowhere is not a folder" in err


def _generated_build(root: Path, videos: list[Path], recorded: list[Path]) -> Path:
    """A build output folder whose rows name ``videos`` and whose state store recorded ``recorded``."""
    from videoespresso_hf.pipeline.state import StateStore, video_identity

    store = StateStore(root / "state.sqlite")
    for video in recorded:
        store.register_video(video_identity(video))
    store.close()
    rows = [
        {"id": f"gen-{index}", "question": "What happens?", "answer": "x", "video": str(video),
         "video_path": video.name, "task": "Event Process", "images": [str(video.parent / "frame.jpg")]}
        for index, video in enumerate(videos)
    ]  # fmt: skip
    (root / "generated").mkdir(parents=True)
    (root / "generated" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def test_generated_rows_may_name_only_the_videos_folders_their_build_recorded(case, tmp_path):
    inputs = tiny_video(tmp_path / "inputs" / "clip.mp4", 2)
    (inputs.parent / "frame.jpg").write_bytes(tiny_jpeg((10, 20, 30)))
    (case / "frame.jpg").write_bytes(tiny_jpeg((1, 2, 3)) + SECRET)  # a frame image beside the secret, outside
    build = _generated_build(tmp_path / "build", [inputs, case / "secret.mp4"], recorded=[inputs])
    out = tmp_path / "out"
    entry = prepare_dataset_folder("generated", build, out, SourceOptions(missing_videos="keep", embed_media=True))
    assert [(o["id"], o["reason"].split(":")[0]) for o in entry["omitted"]] == [("gen-1", "refused")]
    assert _files_holding(out, SECRET) == [] and len(_files_holding(out, inputs.read_bytes()[-64:])) == 1
    import pyarrow.parquet as pq

    images = {row["id"]: row["images"] for row in pq.read_table(out / "generated").to_pylist()}
    assert images["gen-0"][0]["bytes"][:2] == b"\xff\xd8" and images["gen-1"] == [None]  # the inside frame embedded


# -- the one rule, as other commands call it --------------------------------------------------------------


def test_confine_resolves_inside_and_refuses_the_rest(tmp_path):
    root, other = tmp_path / "root", tmp_path / "other"
    (root / "a").mkdir(parents=True)
    other.mkdir()
    (root / "a" / "v.mp4").write_bytes(b"v")
    (other / "w.mp4").write_bytes(b"w")
    (root / "link").symlink_to(other / "w.mp4")
    assert confine("a/v.mp4", [root]) == (root / "a" / "v.mp4").resolve()
    assert confine("a/../a/v.mp4", [root]) == (root / "a" / "v.mp4").resolve()
    assert confine(str(root / "a" / "v.mp4"), [root]) == (root / "a" / "v.mp4").resolve()
    assert confine("w.mp4", [root, other]) == (other / "w.mp4").resolve()  # the second root
    assert confine("link", [root, other]) == (other / "w.mp4").resolve()  # a link into another root
    assert confine("a/missing.mp4", [root]) == (root / "a" / "missing.mp4").resolve()  # for the caller to report
    for hostile in (str(other / "w.mp4"), "../other/w.mp4", "link", "C:\\x.mp4", "\\\\host\\x", "", "a/\x00"):
        with pytest.raises(MediaPathError, match="refused"):
            confine(hostile, [root])
    with pytest.raises(MediaPathError, match="no folder"):
        confine("a/v.mp4", [])


def _rewrite_video_paths(shard: Path, path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(shard)
    field = table.schema.field("video")
    videos = [{"bytes": None, "path": path} for _ in range(table.num_rows)]
    table = table.set_column(table.schema.get_field_index("video"), field, pa.array(videos, type=field.type))
    pq.write_table(table, shard)


def test_the_viewer_opens_no_media_outside_the_prepared_roots(case, tmp_path, capsys):
    """A prepared folder edited (or received) with rows naming a real video elsewhere: never decoded or linked."""
    release, out, site = case / "release", tmp_path / "out", tmp_path / "site"
    assert _prepare("--data-dir", str(release), "--out", str(out)) == 0
    elsewhere = tiny_video(case / "elsewhere" / "other.mp4", 5)
    (shard,) = (out / "bench").glob("*.parquet")
    _rewrite_video_paths(shard, str(elsewhere))
    capsys.readouterr()
    assert main(["data", "view", str(out), "--out", str(site)]) == 0
    assert "frames: 0 written" in capsys.readouterr().out
    page = (site / "index.html").read_text()
    assert "video not opened" in page and "refused: an absolute path outside" in page
    links = [value for _, attrs in _elements(page) for name, value in attrs.items() if name in ("href", "src")]
    assert links and not [link for link in links if "other.mp4" in (link or "")]
    assert not (site / "videos").exists()


def test_predict_opens_no_video_outside_the_prepared_roots(case, tmp_path, capsys):
    """The same edited folder read by predict: the row is a failure record naming the refused path, the video
    elsewhere is never opened (its item has no video to decode)."""
    from videoespresso_hf.benchmarking.items import load_bench_items
    from videoespresso_hf.benchmarking.runner import _missing_video_reason

    release, untouched, out = case / "release", tmp_path / "untouched", tmp_path / "out"
    for folder in (untouched, out):
        assert _prepare("--data-dir", str(release), "--out", str(folder)) == 0
    inside = load_bench_items(untouched)
    assert inside and all(item.video and item.video_problem is None for item in inside)
    elsewhere = tiny_video(case / "elsewhere" / "other.mp4", 5)
    (shard,) = (out / "bench").glob("*.parquet")
    _rewrite_video_paths(shard, str(elsewhere))
    items = load_bench_items(out)
    assert [item.video for item in items] == [None] * len(items)
    reasons = {_missing_video_reason(item) for item in items}
    assert len(reasons) == 1 and "refused: an absolute path outside" in reasons.pop()


# -- archives ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "member",
    ["../escape.txt", "deep/../../../escape.txt", "ABSOLUTE", "C:\\escape.txt", "C:escape.txt", "..\\..\\escape.txt"],
)
def test_zip_members_that_would_escape_write_nothing_anywhere(tmp_path, member):
    """Compare the whole test tree before and after: the real escape location is wherever the name points."""
    target = tmp_path / "a" / "b" / "extract"
    target.mkdir(parents=True)
    member = str(tmp_path / "escape.txt") if member == "ABSOLUTE" else member
    archive_path = tmp_path / "a" / "evil.zip"
    archive_path.write_bytes(zip_bytes({"fine.txt": b"fine", member: SECRET}, zipfile.ZIP_STORED))  # bytes findable
    before = _tree(tmp_path)
    with zipfile.ZipFile(archive_path) as archive, pytest.raises(UnsafeArchiveMemberError, match="refusing"):
        extract_members(archive, target)
    assert _tree(tmp_path) == before
    assert _files_holding(tmp_path, SECRET) == [archive_path]


def test_a_release_naming_escaping_archive_members_writes_nothing_outside(tmp_path, capsys):
    case = tmp_path / "case"
    release = write_bench_release(case / "deep" / "release")
    members = {"../../escape.mp4": SECRET, str(case / "abs.mp4"): SECRET, "C:\\escape.mp4": SECRET}
    (release / "more.zip").write_bytes(zip_bytes(members, zipfile.ZIP_STORED))
    _set_video_paths(release, dict(enumerate(members)))
    before = _tree(case)
    code = _prepare("--data-dir", str(release), "--out", str(case / "deep" / "release" / "out"), "--missing-videos",
                    "keep")  # fmt: skip
    capsys.readouterr()
    assert code == 0
    new = _tree(case) - before
    assert all(path.startswith(str(Path("deep") / "release")) for path in new), new
    assert _files_holding(case, SECRET) == [release / "more.zip"]


# -- text a release provides, in the card, the viewer and the terminal ------------------------------------

PAYLOADS = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "`</code><script>alert(2)</script>`",
    "``<b>bold</b>``",
    "[click](https://evil.example/)",
    "line\n# Heading\n<iframe src=https://evil.example>",
    "| a | b |",
    "\x1b]0;pwned\x07\x1b[2Jcleared",
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _elements(html_text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html_text)
    return parser.tags


def _hostile_generated(root: Path, video: Path) -> Path:
    """A build output whose every text field carries a payload; the odd rows' videos are missing."""
    rows = []
    for index, payload in enumerate(PAYLOADS):
        rows.append({
            "id": f"gen-{index}-{payload}", "question": payload, "answer": payload, "options": [payload, "ok"],
            "correct_answer": "A", "task": "Event Process", "evidence": payload,
            "evidence_raw": f"{payload} <obj_start>{payload}<obj_end><box_start>[1, 2, 3, 4]<box_end>",
            "key_objects": [{"label": payload, "boxes": [[1, 2, 3, 4]]}],
            "core_frames": [{"path": "", "caption": payload, "frame_index": 0, "timestamp": 0.0}],
            "source": payload, "video": f"missing/{payload}.mp4" if index % 2 else str(video),
            "video_path": f"videos/{payload}.mp4", "metadata": json.dumps({"task_raw": payload}),
        })  # fmt: skip
    (root / "generated").mkdir(parents=True)
    (root / "generated" / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def test_card_and_viewer_show_payloads_as_text(tmp_path, capsys):
    from markdown_it import MarkdownIt

    build = tmp_path / "build"
    video = tiny_video(build / "videos" / "clip.mp4", 1)
    _hostile_generated(build, video)
    out, site = tmp_path / "out", tmp_path / "site"
    code = main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(build), "--out", str(out),
                 "--missing-videos", "keep"])  # fmt: skip
    stdout = capsys.readouterr().out
    assert code == 0 and "\x1b" not in stdout and "\x07" not in stdout
    card = (out / "README.md").read_text()
    rendered = MarkdownIt("commonmark").enable("table").render(card.split("---", 2)[2])
    elements = _elements(rendered)
    assert {tag for tag, _ in elements} <= {"h1", "h2", "p", "a", "code", "pre", "table", "thead", "tbody", "tr",
                                             "th", "td", "ul", "li", "strong", "em"}  # fmt: skip
    assert not [attrs for tag, attrs in elements if tag == "a" and "evil" in (attrs.get("href") or "")]
    assert sum("gen-" in line and "missing/" in line for line in card.splitlines()) == 4  # each on its own list line
    assert "\x1b" not in card

    assert main(["data", "view", str(out), "--config", "generated", "--split", "train", "--out", str(site)]) == 0
    capsys.readouterr()
    page = (site / "index.html").read_text()
    tags = _elements(page)
    scripts = [attrs.get("src") for tag, attrs in tags if tag == "script"]
    assert all(src and src.startswith("assets/") for src in scripts)
    handlers = [value or "" for _, attrs in tags for name, value in attrs.items() if name.startswith("on")]
    assert not [handler for handler in handlers if "alert" in handler]
    assert "<iframe" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_terminal_output_carries_no_escape_sequences(tmp_path, capsys):
    build = tmp_path / "build"
    video = tiny_video(build / "videos" / "clip.mp4", 1)
    _hostile_generated(build, video)
    code = main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(build), "--out",
                 str(tmp_path / "out")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2 and len(captured.err.strip().splitlines()) == 1
    assert not any(char in captured.err for char in "\x1b\x07\r")
    assert "gen-7-\\x1b" not in captured.err and "gen-7-cleared" in captured.err  # the sequence dropped, the rest kept


def test_printable_and_markdown_helpers():
    assert printable("a\x1b[31mred\x1b[0m\x1b]8;;https://x\x07link\x1b]8;;\x07 \x9b2J") == "aredlink "
    assert printable("tab\tcr\rnul\x00 bidi\u202e") == "tab\\tcr\\rnul\\x00 bidi\\u202e"
    assert printable("two\nlines") == "two\\nlines" and printable("two\nlines", keep_newlines=True) == "two\nlines"
    assert printable("café ✓") == "café ✓"
    assert markdown_code("a`b") == "``a`b``" and markdown_code("`x") == "`` `x ``"
    assert markdown_text("<b>*x*</b> (a.b)") == "\\<b\\>\\*x\\*\\</b\\> (a.b)"


@pytest.mark.parametrize("path", ["../secret.mp4", "ABSOLUTE", "link.mp4"])
def test_attach_media_refuses_paths_leading_out_of_the_root(case, path):
    """A downloaded (pushed) copy is someone else's: attaching it to a folder must not reach past the folder."""
    import datasets

    from videoespresso_hf.data import DataError, attach_media

    root = case / "release"
    (root / "link.mp4").symlink_to(case / "secret.mp4")
    path = str(case / "secret.mp4") if path == "ABSOLUTE" else path
    features = datasets.Features({"video": datasets.Video(decode=False),
                                  "images": datasets.List(datasets.Image(decode=False))})  # fmt: skip
    rows = datasets.Dataset.from_list([{"video": {"path": path, "bytes": None}, "images": []}], features=features)
    with pytest.raises(DataError, match=r"cannot attach media: .*refused"):
        attach_media(rows, root)
    (root / "inside.mp4").write_bytes(b"inside")  # the positive control: a path inside is attached
    inside = datasets.Dataset.from_list([{"video": {"path": "inside.mp4", "bytes": None}, "images": []}], features=features)
    assert attach_media(inside, root)[0]["video"]["path"] == str((root / "inside.mp4").resolve())


def test_a_received_manifest_cannot_inject_into_the_card(case, tmp_path, capsys):
    """``data push`` re-renders the card from the folder's manifest: its strings are release-provided too."""
    from markdown_it import MarkdownIt

    from videoespresso_hf.data.hub import write_card

    out = tmp_path / "out"
    assert _prepare("--data-dir", str(case / "release"), "--out", str(out)) == 0
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    entry = manifest["configs"]["bench"]
    entry["description"] = "<script>alert(1)</script> | [x](https://evil.example/)"
    entry["repo_id"] = "a/b)](https://evil.example/"
    (out / MANIFEST_NAME).write_text(json.dumps(manifest))
    write_card(out, repo_id='me/x"`\n```\n<script>alert(2)</script>')
    card = (out / "README.md").read_text()
    rendered = MarkdownIt("commonmark").enable("table").render(card.split("---", 2)[2])
    assert "<script" not in rendered and "evil.example" not in " ".join(
        str(attrs.get("href")) for tag, attrs in _elements(rendered) if tag == "a"
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered  # shown as text


def test_prepare_lists_at_most_ten_refused_paths(capsys):
    from videoespresso_hf.cli.data import _print_refused

    omitted = [{"id": f"bench-{i:06d}", "path": f"/x/{i}", "reason": "refused: an absolute path outside"} for i in range(12)]
    _print_refused({"omitted": [*omitted, {"id": "bench-x", "path": "a.mp4", "reason": "missing"}]})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11 and lines[0] == "bench-000000: '/x/0' refused: an absolute path outside"
    assert lines[-1].startswith("... 2 more refused among the first 13 rows left out")
