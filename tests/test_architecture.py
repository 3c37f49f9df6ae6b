"""The import directions of the house (see the "Dependency direction" list in the project's architecture
notes): data flows one way, and scoring never depends on models or the construction pipeline.

Each rule here is the one place the allowed arrows are written down; a new room adds one line.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "videoespresso_hf"

# Leaf modules every room may import: the task vocabulary, the one answer-letter rule set (scorer and
# reasoner read letters alike) and small shared utilities (the process pool in ``workers``, the atomic
# file writers in ``files``, the lazy package exports in ``_lazy``, one-line error messages in ``errors``, the
# default model ids in ``defaults``, terminal-safe text in ``text``, the package-version table in ``versions``,
# paths before the Hub in ``locations``, the one table of frame rules in ``frame_rules``, the
# --dtype rule in ``dtypes``).
LEAVES = {
    "tasks", "answer_letters", "sqlite", "embeddings", "workers", "files", "_lazy", "errors", "defaults", "text",
    "versions", "locations", "frame_rules", "dtypes", "evidence_tags",
    "tables",
}  # fmt: skip

# room -> rooms it may import (besides LEAVES). ``cli`` may import everything; nothing imports ``cli``.
ALLOWED: dict[str, set[str]] = {
    "__init__": {"models"},
    "__main__": {"cli"},
    "tasks": set(),
    "answer_letters": set(),
    "sqlite": set(),
    "embeddings": set(),
    "workers": set(),
    "files": set(),
    "_lazy": set(),
    "errors": set(),
    "locations": set(),
    "text": set(),
    "versions": set(),
    "frame_rules": set(),
    "dtypes": set(),
    "evidence_tags": set(),
    "tables": set(),
    "video": set(),
    "llm": set(),
    # data -> video: the dataset viewer decodes the core frames it draws boxes on; data -> evaluation: the viewer
    # shows each model's letter and verdict (`data view --predictions`) as the scorer reads them.
    "data": {"video", "evaluation"},
    "demo": {"video"},
    # evaluation -> llm for the open-ended judge only (checked below).
    "evaluation": {"llm"},
    "pipeline": {"llm", "video", "data"},
    "models": {"video"},
    # training -> evaluation: the RL rewards are built on the grounding primitives scoring uses (issue 20).
    "training": {"models", "data", "video", "evaluation"},
    # benchmarking -> evaluation: the predict job scores what it wrote (the summary and PredictResult.scores).
    "benchmarking": {"models", "data", "video", "llm", "evaluation"},
    # integrations -> llm: the lmms-eval open-ended task is an edge like the CLI and builds the judge's client;
    # -> models: the hybrid as an lmms-eval model.
    "integrations": {"data", "evaluation", "benchmarking", "llm", "models"},
}


def _room(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def _imports() -> dict[str, dict[str, set[str]]]:
    """room -> {imported room -> files that import it}."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        room = parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this file's package
                    base = ["videoespresso_hf", *parts[: len(parts) - node.level]]
                    modules = [".".join([*base, *([node.module] if node.module else [])])]
                else:
                    modules = [node.module or ""]
            else:
                continue
            for module in modules:
                if module.startswith("videoespresso_hf.") and _room(module) != room:
                    found[room][_room(module)].add(str(path.relative_to(PACKAGE)))
    return found


def test_every_room_imports_only_what_the_architecture_allows():
    violations = {}
    for room, targets in _imports().items():
        if room == "cli":
            continue
        assert room in ALLOWED, f"new room {room!r}: add its allowed imports to ALLOWED"
        extra = set(targets) - ALLOWED[room] - LEAVES
        if extra:
            violations[room] = {target: sorted(targets[target]) for target in sorted(extra)}
    assert violations == {}


def test_nothing_imports_the_cli():
    importers = {room: files["cli"] for room, files in _imports().items() if "cli" in files and room != "__main__"}
    assert importers == {}


def test_evaluation_uses_the_llm_client_only_for_the_judge():
    files = _imports().get("evaluation", {}).get("llm", set())
    assert files <= {"evaluation/judge.py"}


def test_the_rule_table_would_catch_a_forbidden_arrow(tmp_path, monkeypatch):
    # Guard against a vacuous test: a scoring module importing models must be reported.
    fake = tmp_path / "videoespresso_hf"
    (fake / "evaluation").mkdir(parents=True)
    (fake / "evaluation" / "bad.py").write_text("from videoespresso_hf.models import hybrid\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert dict(_imports()["evaluation"]) == {"models": {"evaluation/bad.py"}}


# The job commands are parse -> call -> print: they import the job's entry point and config (and the
# leaves, and each other's printing helpers in cli/), never the internals behind a job.
JOB_COMMANDS: dict[str, set[str]] = {
    "cli/predict.py": {"videoespresso_hf.benchmarking.job", "videoespresso_hf.integrations.lmms_eval"},
    "cli/score.py": {"videoespresso_hf.evaluation.job"},
    "cli/build.py": {"videoespresso_hf.pipeline.job", "videoespresso_hf.pipeline.config"},
    "cli/train.py": {"videoespresso_hf.training.arguments", "videoespresso_hf.training.reasoner",
                     "videoespresso_hf.training.selector"},
}  # fmt: skip


def _absolute_imports(path: Path) -> set[str]:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ["videoespresso_hf", *parts[: len(parts) - node.level]] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module == "videoespresso_hf":  # `from videoespresso_hf import predict`: the root's entry points
                found |= {f"videoespresso_hf.{alias.name}" for alias in node.names}
            else:
                found.add(module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {module for module in found if module.startswith("videoespresso_hf")}


def test_the_job_commands_import_only_entry_points_and_configs():
    leaves = {f"videoespresso_hf.{leaf}" for leaf in LEAVES} | {"videoespresso_hf.text", "videoespresso_hf"}
    roots = {"videoespresso_hf.predict", "videoespresso_hf.score", "videoespresso_hf.build",
             "videoespresso_hf.train_reasoner", "videoespresso_hf.train_selector"}  # fmt: skip
    extra = {}
    for command, allowed in JOB_COMMANDS.items():
        imported = _absolute_imports(PACKAGE / command)
        other = {m for m in imported - allowed - leaves - roots if not m.startswith("videoespresso_hf.cli")}
        if other:
            extra[command] = sorted(other)
    assert extra == {}
