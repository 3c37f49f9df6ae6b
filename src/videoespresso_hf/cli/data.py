"""``videoespresso data {download,prepare,push}``: reach the VideoEspresso data through ``datasets``.

    videoespresso data download --config bench --data-dir data/VideoEspresso-Test
    videoespresso data prepare --config bench --data-dir data/VideoEspresso-Test --out hub/VideoEspresso
    python -c "import datasets; print(datasets.load_dataset('hub/VideoEspresso', 'bench'))"
    videoespresso data push hub/VideoEspresso --repo-id me/VideoEspresso
    videoespresso data view hub/VideoEspresso --config bench --out site   # then open site/index.html
"""

from __future__ import annotations

import argparse

from videoespresso_hf.cli.main import UserError
from videoespresso_hf.data.schema import CONFIG_NAMES  # light: datasets is imported only by features()

DOWNLOADABLE_CONFIGS = tuple(name for name in CONFIG_NAMES if name != "generated")  # generated is built locally


def _fps_pair(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    try:
        fps = float(value)
    except ValueError:
        fps = -1.0
    if not name or fps <= 0:
        raise argparse.ArgumentTypeError(f"expected SOURCE=FPS with a positive FPS (e.g. vatex=1), got {text!r}")
    return name, fps


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="download, prepare (Parquet + card) and push the VideoEspresso data")
    commands = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    download = commands.add_parser("download", help="fetch the authors' released files from the Hub")
    download.add_argument("--config", required=True, choices=DOWNLOADABLE_CONFIGS)
    download.add_argument("--data-dir", required=True, help="folder to download into (resumable)")
    download.add_argument("--annotations-only", action="store_true", help="only the JSON annotations, no media")
    download.add_argument("--revision", default=None, help="a branch, tag or commit of the Hub repository")
    download.set_defaults(func=run_download)

    prepare = commands.add_parser("prepare", help="write a Hub-ready folder: Parquet shards per config/split + card")
    prepare.add_argument("--config", required=True, choices=CONFIG_NAMES)
    prepare.add_argument("--data-dir", required=True, help="the release folder (or `videoespresso build` output)")
    prepare.add_argument("--out", required=True, help="output folder; other configs already in it are kept")
    prepare.add_argument("--missing-videos", choices=("error", "skip", "keep"), default="error",
                         help="rows whose media are missing/unreadable: stop (default), leave out, or keep without media")  # fmt: skip
    prepare.add_argument("--embed-videos", action="store_true",
                         help="store video/image bytes in the Parquet files (needed to publish media on the Hub)")  # fmt: skip
    prepare.add_argument("--fps", type=float, default=None,
                         help="sampling fps that core-frame numbers refer to: a cross-check where key-frame images "
                              "can be matched to the video (the images win), the source of times elsewhere")  # fmt: skip
    prepare.add_argument("--source-fps", type=_fps_pair, action="append", default=[], metavar="SOURCE=FPS",
                         help="per-source fps, e.g. --source-fps vatex=1 (repeatable; wins over --fps)")  # fmt: skip
    prepare.add_argument("--annotations", default=None, help="annotation file to use instead of the released name")
    prepare.add_argument("--extract-dir", default=None, help="where archive members are extracted (default: --data-dir)")
    prepare.add_argument("--verify-videos", action="store_true", help="decode the first frame of every video")
    prepare.add_argument("--max-shard-mb", type=int, default=500, help="approximate Parquet shard size")
    prepare.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_keyframe_options(prepare)
    _add_media_root_option(prepare)
    prepare.set_defaults(func=run_prepare)

    push = commands.add_parser(
        "push",
        help="upload a prepared folder to a Hub dataset repository (media paths made relative to the unpacked release)",
    )
    push.add_argument("out", help="the folder written by `videoespresso data prepare`")
    push.add_argument("--repo-id", required=True)
    push.add_argument("--private", action="store_true")
    push.add_argument("--revision", default=None)
    push.set_defaults(func=run_push)

    view = commands.add_parser("view", help="write a static HTML site of a prepared config (open it from disk or publish it)")
    view.add_argument("prepared", help="the folder written by `videoespresso data prepare`")
    view.add_argument("--config", default="bench", choices=CONFIG_NAMES)
    view.add_argument("--split", default=None, help="default: test when the config has it, else its first split")
    view.add_argument("--out", required=True, help="site folder (index.html, page-N.html, assets/, frames/)")
    view.add_argument("--limit", type=int, default=None, help="at most this many items (default 500)")
    view.add_argument("--page-size", type=int, default=None, help="items per page (default 50)")
    view.add_argument("--task", default=None, help="only this task (leaderboard or paper name)")
    view.add_argument("--boxes", default="auto", choices=("auto", "pixels", "normalized", "per-mille"),
                      help="box coordinate convention; auto decides it from the value ranges and says why on the page")  # fmt: skip
    view.add_argument("--predictions", nargs="+", default=(), metavar="P.jsonl",
                      help="predictions file(s): show each model's output, the letter read and the verdict beside each "
                      "item, with a filter for wrong / unanswered")  # fmt: skip
    view.set_defaults(func=run_view)
    _register_check_overlap(commands)


def _add_media_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--media-root", action="append", default=[], metavar="FOLDER",
        help="a folder outside --data-dir that media paths may lead into (repeatable); any other place is refused",
    )  # fmt: skip


def _register_check_overlap(commands) -> None:
    overlap = commands.add_parser(
        "check-overlap",
        help="list the videos two prepared configs share (by content hash, and by source id): train/bench contamination",
    )
    overlap.add_argument("a", metavar="A", help="a prepared config: its folder (OUT/train_video), or its name with --prepared")
    overlap.add_argument("b", metavar="B", help="the other config, e.g. OUT/bench")
    overlap.add_argument("--prepared", default=None, help="the prepared folder A and B are configs of (when given by name)")
    overlap.add_argument("--limit", type=int, default=50, help="list at most this many shared videos (all are counted)")
    overlap.set_defaults(func=run_check_overlap)

    _register_export(commands)


# -- key-frame times (issue 20.0): how `prepare` finds the images and videos it matches -------------------------


def _add_keyframe_options(prepare: argparse.ArgumentParser) -> None:
    prepare.add_argument("--keyframes-dir", default=None,
                         help="the released key-frame images (the unpacked or split train_multi_image release) for a "
                              "video config: each key frame's time is recovered by matching its image to the video "
                              "(default: look in --data-dir)")  # fmt: skip
    prepare.add_argument("--videos-dir", default=None,
                         help="the videos (the train_video release) for train_multi_image, to recover key-frame times "
                              "(default: look in --data-dir)")  # fmt: skip
    prepare.add_argument("--no-keyframe-matching", action="store_true",
                         help="do not recover key-frame times from the images (then only --fps/--source-fps give times)")  # fmt: skip


def _keyframe_options(args: argparse.Namespace) -> dict:
    return {"keyframes_dir": args.keyframes_dir, "videos_dir": args.videos_dir,
            "match_keyframes": not args.no_keyframe_matching}  # fmt: skip


# -- export for RL engines beyond one node (issue 20.6) -----------------------------------------------------------


def _register_export(commands) -> None:
    from videoespresso_hf.data.export import EXPORT_FORMATS

    export = commands.add_parser(
        "export",
        help="write a prepared config for verl / EasyR1 (parquet) or ms-swift / LLaMA-Factory (JSONL), with the reward file",
    )
    export.add_argument("prepared", help="the folder written by `videoespresso data prepare`")
    export.add_argument("--config", default="train_video", choices=CONFIG_NAMES)
    export.add_argument("--format", default="verl", choices=EXPORT_FORMATS,
                        help="verl / easyr1: <split>.parquet as verl / EasyR1 read it; swift: <split>.jsonl for ms-swift/LLaMA-Factory")  # fmt: skip
    export.add_argument("--out", required=True, help="output folder")
    export.add_argument("--split", default=None, help="one split (default: all)")
    export.add_argument("--limit", type=int, default=None, help="at most this many rows per split")
    export.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from videoespresso_hf.data.export import ExportConfig, export_dataset

    try:
        result = export_dataset(ExportConfig(prepared=args.prepared, out=args.out, config=args.config,
                                             format=args.format, split=args.split, limit=args.limit))  # fmt: skip
    except _user_errors() as error:
        raise _user_error(error) from None
    print(result.summary)
    return 0


def _user_errors():
    from videoespresso_hf.data.archives import ArchiveError
    from videoespresso_hf.data.media import MediaPathError
    from videoespresso_hf.data.sources import DataError

    # OSError: an unwritable --out or --data-dir, a full disk; its message names the path.
    return (DataError, ArchiveError, MediaPathError, OSError)


def _user_error(error: BaseException) -> UserError:
    """The one-line error for the terminal: messages quote release-provided paths and ids, so they are made printable."""
    from videoespresso_hf.errors import first_line
    from videoespresso_hf.text import printable

    return UserError(printable(first_line(error)))


def run_download(args: argparse.Namespace) -> int:
    from videoespresso_hf.data.hub import download_release

    try:
        path = download_release(args.config, args.data_dir, annotations_only=args.annotations_only,
                                revision=args.revision)  # fmt: skip
    except _user_errors() as error:
        raise _user_error(error) from None
    print(f"downloaded {args.config} to {path}")
    print(f"next: videoespresso data prepare --config {args.config} --data-dir {path} --out <OUT>")
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from videoespresso_hf.data.hub import prepare_dataset_folder
    from videoespresso_hf.data.sources import SourceOptions

    try:
        options = SourceOptions(
            fps=args.fps, fps_by_source=dict(args.source_fps), missing_videos=args.missing_videos,
            embed_media=args.embed_videos, extract_dir=args.extract_dir, annotations=args.annotations,
            verify_media=args.verify_videos, media_roots=tuple(args.media_root), **_keyframe_options(args),
        )  # fmt: skip
        entry = prepare_dataset_folder(args.config, args.data_dir, args.out, options,
                                       max_shard_bytes=args.max_shard_mb << 20, progress=not args.quiet)  # fmt: skip
    except _user_errors() as error:
        raise _user_error(error) from None
    rows = ", ".join(f"{split}: {count} rows" for split, count in entry["splits"].items())
    print(f"prepared {args.config} in {args.out} ({rows})")
    if entry["omitted_count"]:
        verb = "kept without media" if args.missing_videos == "keep" else "left out"
        print(f"{entry['omitted_count']} row(s) with missing media {verb}; listed in {args.out}/README.md")
        _print_refused(entry)
    for line in options.keyframe_report.summary_lines():
        print(line)
    _print_bench_overlap(args.out, args.config)
    print(f"load it with: datasets.load_dataset({args.out!r}, {args.config!r})")
    return 0


def _print_refused(entry: dict, shown: int = 10) -> None:
    """One line per media path refused for leading outside the release (the first ``shown``; the manifest has more)."""
    from videoespresso_hf.text import printable

    refused = [omission for omission in entry.get("omitted", []) if omission["reason"].startswith("refused")]
    for omission in refused[:shown]:
        print(printable(f"{omission['id']}: {omission['path']!r} {omission['reason']}"))
    if len(refused) > shown:
        print(f"... {len(refused) - shown} more refused among the first {len(entry['omitted'])} rows left out, "
              f"listed with the rest in videoespresso_prepare.json")  # fmt: skip


def _print_bench_overlap(out: str, config: str) -> None:
    """Say when the config just prepared shares videos with the bench (or the bench with a training config)."""
    from videoespresso_hf.data.overlap import record_bench_overlap

    try:
        warnings = record_bench_overlap(out, config)
    except _user_errors() as error:
        raise _user_error(error) from None
    for line in warnings:
        print(line)


def run_check_overlap(args: argparse.Namespace) -> int:
    from videoespresso_hf.data.overlap import shared_videos_between
    from videoespresso_hf.text import printable

    if args.limit < 0:
        raise UserError(f"--limit must be 0 or more, got {args.limit}")
    try:
        report = shared_videos_between(args.a, args.b, prepared=args.prepared)
    except _user_errors() as error:
        raise _user_error(error) from None
    print(printable(report.summary()))
    for video in report.shared[: args.limit]:
        print(printable(video.describe()))
    if len(report.shared) > args.limit:
        print(f"... and {len(report.shared) - args.limit} more (--limit)")
    return 1 if report.shared else 0


def run_push(args: argparse.Namespace) -> int:
    from videoespresso_hf.data.hub import push_dataset_folder

    try:
        url = push_dataset_folder(args.out, args.repo_id, private=args.private, revision=args.revision)
    except _user_errors() as error:
        raise _user_error(error) from None
    print(f"pushed {args.out} to {args.repo_id}: {url}")
    return 0


def run_view(args: argparse.Namespace) -> int:
    from videoespresso_hf.data.viewer import DEFAULT_LIMIT, DEFAULT_PAGE_SIZE, ViewerOptions, build_viewer

    options = ViewerOptions(
        config=args.config, split=args.split, task=args.task, boxes=args.boxes, predictions=tuple(args.predictions),
        limit=DEFAULT_LIMIT if args.limit is None else args.limit,
        page_size=DEFAULT_PAGE_SIZE if args.page_size is None else args.page_size,
    )  # fmt: skip
    try:
        site = build_viewer(args.prepared, args.out, options)
    except _user_errors() as error:
        raise _user_error(error) from None
    print(f"{site.items} of {site.rows} items on {len(site.pages)} page(s); boxes read as {site.box_convention.name} "
          f"({site.box_convention.reason})")  # fmt: skip
    print(f"frames: {site.frames_written} written, {site.frames_reused} reused")
    print(f"open: {site.index.resolve().as_uri()}")
    return 0
