"""The ``score`` job: one config, one call, the same for Python and ``videoespresso score``.

>>> import videoespresso_hf as ve
>>> result = ve.score(predictions="preds.jsonl")                      # doctest: +SKIP
>>> result.metrics["overall"]["micro"], result.coverage["items"]      # doctest: +SKIP
>>> ve.score(diff=["model_a.jsonl", "model_b.jsonl"]).comparison      # doctest: +SKIP

Everything is validated before any scoring starts (files, formats, output path, numbers), with one
``ValueError``-type line; the CLI prints that line and exits 2. The result holds the metrics, what they
cover, the per-item verdicts and the rendered text, and the job writes ``output`` when it is set.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from videoespresso_hf.defaults import EMBEDDING_MODEL
from videoespresso_hf.evaluation.protocols import SIMILARITY_THRESHOLD

__all__ = ["FILE_FORMATS", "TEXT_FORMATS", "ScoreConfig", "ScoreError", "ScoreResult", "score"]

TEXT_FORMATS = ("table", "markdown", "json")  # printed (and written with ``output``)
FILE_FORMATS = ("html", "png")  # written to ``output`` only
DIFF_LISTED = 50  # disagreeing items listed in the text (``json`` lists them all)


class ScoreError(ValueError):
    """A score setting that cannot work (one line naming it); raised before any scoring starts."""


@dataclass
class ScoreConfig:
    """Settings of :func:`score` and of ``videoespresso score`` (whose flags are these fields)."""

    predictions: list[str] = field(
        default_factory=list,
        metadata={"help": "predictions file(s) (.json list or .jsonl); several = several models side by side"},
    )
    protocol: Literal["official", "robust", "similarity"] = field(
        default="robust",
        metadata={"help": "official: reproduces eval/score.py (quirks included); robust: careful letter extraction; "
                  "similarity: the paper's Algorithm 1 for free-form answers"},
    )  # fmt: skip
    format: Literal["table", "markdown", "json", "html", "png"] = field(
        default="table",
        metadata={"help": "table/markdown/json are printed; json has one verdict per item; html: a report with "
                  "charts and the published rows; png: the chart alone (html and png need --output)"},
    )  # fmt: skip
    output: str | None = field(
        default=None, metadata={"help": "also write the result here (.json: JSON, .md: Markdown, otherwise --format)"}
    )
    name: str | None = field(
        default=None, metadata={"help": "row label in the table, one file only; unset: the file name"}
    )
    diff: list[str] = field(
        default_factory=list,
        metadata={"help": "two predictions files A B: list the items where they disagree, with an exact McNemar "
                  "test of whether the difference in accuracy is real"},
    )  # fmt: skip
    embedding_model: str = field(
        default=EMBEDDING_MODEL, metadata={"help": "similarity protocol: sentence-transformers id or local folder"}
    )
    threshold: float = field(default=SIMILARITY_THRESHOLD, metadata={"help": "similarity protocol threshold"})
    bootstrap: int = field(default=1000, metadata={"help": "bootstrap resamples of the micro accuracy's 95-percent interval"})
    seed: int = field(default=0, metadata={"help": "seed of the bootstrap"})
    benchmark_items: int | None = field(
        default=None,
        metadata={"help": "items of the full benchmark, for the coverage line; unset: the published 1,382 (give "
                  "the row count of your prepared bench if it differs)"},
    )  # fmt: skip
    width: int | None = field(
        default=None,
        metadata={"help": "columns for the table: narrower than the 14-task layout → transposed; unset: the "
                  "terminal's width (wide when printing to a file or pipe)"},
    )  # fmt: skip
    grounding: bool = field(
        default=False,
        metadata={"help": "also report temporal/spatial grounding of the predictions' evidence where the records carry "
                  "key-frame references (a `grounding` field; bench items have none): precision and recall of the "
                  "claimed times and boxes at fixed tolerances, with the items and claims each number covers"},
    )  # fmt: skip


@dataclass
class ScoreResult:
    """What :func:`score` returns: per-model results, the text it renders, and the comparison with ``diff``."""

    results: dict[str, dict[str, Any]]  # row name -> scorer result (protocol, overall, tasks, coverage, items)
    text: str  # the table / Markdown / JSON as printed (the table for html and png)
    output: Path | None = None  # the file written, when ``output`` was set
    comparison: dict[str, Any] | None = None  # ``diff``: the disagreements and the McNemar test
    grounding: dict[str, dict[str, Any]] | None = None  # ``grounding``: row name -> grounding_report(records)

    @property
    def result(self) -> dict[str, Any]:
        """The first (or only) model's full result."""
        return next(iter(self.results.values()))

    @property
    def metrics(self) -> dict[str, Any]:
        """The first model's numbers: ``{"protocol", "overall", "tasks"}``."""
        return {key: self.result[key] for key in ("protocol", "overall", "tasks")}

    @property
    def coverage(self) -> dict[str, Any]:
        """What the first model's numbers cover (items and tasks out of the benchmark, ``partial``)."""
        return self.result["coverage"]

    @property
    def items(self) -> list[dict[str, Any]]:
        """The first model's per-item verdicts (``id``, ``task``, ``extracted``, ``correct``, ``reason``)."""
        return self.result["items"]

    @property
    def summary(self) -> str:
        """The text, plus where the file went for html/png."""
        if self.output is not None and self.output.suffix.lower() in {".html", ".png", ".htm"}:
            return f"{self.text}\nwrote report: {self.output.resolve().as_uri()}"
        return self.text


def _validate(config: ScoreConfig) -> tuple[list[Path], Path | None]:
    """Every setting checked before work starts; returns the files to score and the output path."""
    from videoespresso_hf.evaluation.protocols import PROTOCOLS

    if config.diff and config.predictions:
        raise ScoreError("give the two files to compare to --diff only (--diff A B), not also as predictions")
    files = [Path(path) for path in (config.diff or config.predictions)]
    if config.diff and len(files) != 2:
        raise ScoreError(f"--diff compares two predictions files (A B), got {len(files)}")
    if config.diff and files[0].resolve() == files[1].resolve():
        raise ScoreError(f"--diff got the same file twice: {files[0]}")
    if not files:
        raise ScoreError("no predictions file given (e.g. `videoespresso score preds.jsonl`)")
    for path in files:
        if path.is_dir():
            raise ScoreError(f"{path}: is a folder; expected a predictions file (.json or .jsonl)")
        if not path.is_file():
            raise ScoreError(f"{path}: no such file")
    if config.protocol not in PROTOCOLS:
        raise ScoreError(f"unknown protocol {config.protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if config.format not in (*TEXT_FORMATS, *FILE_FORMATS):
        raise ScoreError(f"unknown format {config.format!r}; choose one of {', '.join((*TEXT_FORMATS, *FILE_FORMATS))}")
    if config.format in FILE_FORMATS and not config.output:
        raise ScoreError(f"--format {config.format} writes a file: add --output report.{config.format}")
    if config.name and len(files) > 1:
        raise ScoreError("--name labels a single file; with several files each row is named after its file")
    if config.bootstrap < 1:
        raise ScoreError(f"--bootstrap must be at least 1, got {config.bootstrap}")
    if not (math.isfinite(config.threshold) and -1.0 <= config.threshold <= 1.0):
        raise ScoreError(f"--threshold is a cosine similarity between -1 and 1, got {config.threshold}")
    if config.benchmark_items is not None and config.benchmark_items < 1:
        raise ScoreError(f"--benchmark-items must be at least 1, got {config.benchmark_items}")
    if config.width is not None and config.width < 1:
        raise ScoreError(f"--width must be at least 1, got {config.width}")
    output = Path(config.output) if config.output else None
    if output is not None:
        if output.is_dir():
            raise ScoreError(f"--output {output}: is a folder; name a file (e.g. {output / 'result.json'})")
        parent = next((p for p in output.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise ScoreError(f"cannot write {output}: {parent} is not a folder")
    return files, output


def row_names(paths: list[Path], name: str | None) -> list[str]:
    """One label per file: ``name``, else the file stem (with its folder when stems repeat)."""
    if name:
        return [name]
    stems = [path.stem for path in paths]
    labels = [f"{path.parent.name}/{path.stem}" if stems.count(path.stem) > 1 else path.stem for path in paths]
    return labels if len(set(labels)) == len(labels) else [str(path) for path in paths]


def score(config: ScoreConfig | None = None, /, **kwargs: Any) -> ScoreResult:
    """Score predictions on the 14-task benchmark: metrics, what they cover, one verdict per item.

    Takes a :class:`ScoreConfig` or its fields as keyword arguments (``score(predictions="p.jsonl")``; a single
    path may be given as a string). With ``diff=[A, B]`` it also lists the items where the two models disagree
    and tests the difference (exact McNemar).

    Raises:
        ScoreError: a setting that cannot work (before any scoring).
        PredictionsError: a predictions file that cannot be scored (one line naming the record and field).
    """
    from videoespresso_hf.embeddings import load_text_embedder
    from videoespresso_hf.errors import first_line
    from videoespresso_hf.evaluation.predictions import load_prediction_records, validate_records
    from videoespresso_hf.evaluation.report import terminal_width
    from videoespresso_hf.evaluation.scorer import score_records
    from videoespresso_hf.locations import HubReferenceError, resolve_reference, short_hub_timeouts

    config = _config(config, kwargs)
    files, output = _validate(config)
    # Read and validate every file before anything is scored or the (possibly slow) embedder loads.
    loaded = [(name, load_prediction_records(path)) for name, path in zip(row_names(files, config.name), files, strict=True)]
    for _, records in loaded:
        validate_records(records)
    embedder = None
    if config.protocol == "similarity":
        short_hub_timeouts()
        try:  # paths before the Hub: a typo or an unreachable Hub is one line in seconds, not minutes of retries
            embedding_model = resolve_reference(config.embedding_model, "--embedding-model")
        except HubReferenceError as error:
            raise ScoreError(str(error)) from None
        try:
            embedder = load_text_embedder(embedding_model)
        except OSError as error:  # EmbeddingModelError is one: e.g. not in the local cache while offline
            raise ScoreError(
                f"{first_line(error)} (set --embedding-model to a local folder or a model in the Hub cache)"
            ) from None
    results = {
        name: score_records(
            records,
            config.protocol,
            embedder=embedder,
            embedding_model=config.embedding_model,
            similarity_threshold=config.threshold,
            bootstrap_resamples=config.bootstrap,
            seed=config.seed,
            benchmark_items=config.benchmark_items,
        )
        for name, records in loaded
    }
    comparison = None
    if config.diff:
        from videoespresso_hf.evaluation.compare import compare

        (name_a, result_a), (name_b, result_b) = results.items()
        comparison = compare(name_a, result_a, name_b, result_b)
    printed = "table" if config.format in FILE_FORMATS else config.format
    text = _render(results, comparison, printed, config.width if config.width is not None else terminal_width())
    grounding = None
    if config.grounding:
        from videoespresso_hf.evaluation.grounding import grounding_report

        grounding = {name: grounding_report([r for r in records if isinstance(r, dict)]) for name, records in loaded}
        text = "\n".join([text, *(_grounding_lines(name, report) for name, report in grounding.items())])
    if output is not None:
        _write(output, config, results, comparison)
    return ScoreResult(results=results, text=text, output=output, comparison=comparison, grounding=grounding)


def _grounding_lines(name: str, report: dict[str, Any]) -> str:
    """One model's grounding metrics, each number with the items and claims it covers."""

    def rate(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    overall = report["overall"]
    lines = [f"grounding of {name}: {overall['items']} of {overall['items'] + report['skipped']} items carry evidence "
             f"and key-frame references ({report['skipped']} not scored); tolerances "
             f"{report['tolerances']['time_s']} s, IoU {report['tolerances']['iou']}"]  # fmt: skip
    for task, block in [("overall", overall), *report["per_task"].items()] if overall["items"] else []:
        parts = [f"{kind} precision {rate(block[kind]['precision'])} of {block[kind]['claims']} claims, "
                 f"recall {rate(block[kind]['recall'])} of {block[kind]['references']}"
                 for kind in ("temporal", "spatial") if kind in block]  # fmt: skip
        lines.append(f"  {task} ({block['items']} items): " + "; ".join(parts))
    return "\n".join(lines)


def _config(config: ScoreConfig | None, kwargs: dict[str, Any]) -> ScoreConfig:
    if config is not None and kwargs:
        raise ScoreError("pass either a ScoreConfig or keyword arguments, not both")
    if config is None:
        try:
            config = ScoreConfig(**kwargs)
        except TypeError as error:
            raise ScoreError(str(error).replace("ScoreConfig.__init__()", "score()")) from None
    # One file may be given as a plain path (a str is not a list of one-letter file names).
    config.predictions = _paths(config.predictions)
    config.diff = _paths(config.diff)
    if config.output is not None:
        config.output = str(config.output)
    return config


def _paths(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, (str, Path)) else [str(path) for path in value]


def _render(
    results: dict[str, dict[str, Any]], comparison: dict[str, Any] | None, fmt: str, width: int | None
) -> str:
    """The text of ``fmt``; a table narrower than the 14-task layout when ``width`` (columns) is set and small."""
    from videoespresso_hf.evaluation.compare import render_comparison
    from videoespresso_hf.evaluation.report import render, render_leaderboard

    if fmt == "json":
        if comparison is not None:
            return json.dumps({"results": results, "comparison": comparison}, indent=2, ensure_ascii=False)
        if len(results) == 1:
            return render(next(iter(results.values())), "json")
        return json.dumps(results, indent=2, ensure_ascii=False)
    text = render_leaderboard(results, fmt, width=width)
    if comparison is not None:
        text += "\n\n" + render_comparison(comparison, limit=DIFF_LISTED)
    return text


def _write(output: Path, config: ScoreConfig, results: dict[str, dict[str, Any]], comparison: dict[str, Any] | None) -> None:
    from videoespresso_hf.evaluation.report import render_html, render_png
    from videoespresso_hf.files import write_bytes_atomic, write_text_atomic

    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if config.format == "html":
            write_text_atomic(output, render_html(results) + "\n")
        elif config.format == "png":
            write_bytes_atomic(output, render_png(results))
        else:
            suffix = output.suffix.lower()
            fmt = "json" if suffix == ".json" else ("markdown" if suffix == ".md" else config.format)
            # A file gets whole lines: the wide table, whatever the terminal.
            write_text_atomic(output, _render(results, comparison, fmt, width=config.width) + "\n")
    except OSError as error:
        raise ScoreError(f"cannot write {output}: {error.strerror or error}") from None
