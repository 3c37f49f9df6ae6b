"""Docs are code: every fenced command and snippet of the documentation runs, offline, as written.

Each document's ``bash``/``shell`` commands and ``python`` snippets run in document order in a fresh folder;
``videoespresso …`` and ``python -m videoespresso_hf …`` run in this process through the CLI's ``main`` (one
import of torch for all), other ``python …`` commands in a subprocess with scripts found in the checkout;
``NAME=value`` before a command sets that variable for it. Pipes, ``&&`` and redirections are refused. What
is substituted to run offline, and why, is the table in ``tests/docs_substitutions.py``.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from docs_substitutions import (
    CARDS,
    DOCUMENTS,
    EXPECTED_ERRORS,
    FILES,
    NOT_RUN,
    RUN_LANGUAGES,
    SHOWN_LANGUAGES,
    TEXT,
    Context,
)

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent> *)```(?P<language>[\w+-]*)\s*$")
PROGRESS_BAR = re.compile(r"\|\s*\d+/\d+ \[")  # a tqdm line, e.g. "llm gpt-4o:   0%|     | 0/3 [00:00<?, ?req/s]"
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&", "2>", "2>&1"}


@dataclass
class Block:
    document: str
    line: int  # 1-based line of the opening fence
    language: str  # "shell" or "python" (RUN_LANGUAGES' values), or the fence's language if shown only
    text: str

    @property
    def where(self) -> str:
        return f"{self.document}:{self.line}"


def document_paths() -> list[str]:
    found: list[str] = []
    for pattern in DOCUMENTS:
        found += sorted(str(Path(path).relative_to(ROOT)) for path in glob.glob(str(ROOT / pattern), recursive=True))
    return found


def fenced_blocks(document: str, text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order (``SHOWN_LANGUAGES`` ones too)."""
    blocks, lines, position = [], text.splitlines(), 0
    while position < len(lines):
        opening = FENCE.match(lines[position])
        position += 1
        if not opening:
            continue
        start, body = position, []
        while position < len(lines) and not re.match(r"^ *```\s*$", lines[position]):
            body.append(lines[position][len(opening["indent"]) :])
            position += 1
        position += 1
        language = opening["language"].lower()
        blocks.append(Block(document, start, RUN_LANGUAGES.get(language, language), "\n".join(body) + "\n"))
    return blocks


def shell_commands(block: Block) -> list[str]:
    """One string per command: ``\\``-continued lines joined, comments and blank lines dropped."""
    commands, pending = [], ""
    for line in block.text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        tokens = shlex.split(pending + line, comments=True)
        pending = ""
        if tokens:
            commands.append(shlex.join(tokens))
    return commands


def matching(table: dict, command: str) -> str | None:
    return next((prefix for prefix in table if command == prefix or command.startswith(prefix + " ")), None)


def substitute(text: str, context: Context) -> str:
    values = vars(context)
    for word, replacement in TEXT.items():
        value = replacement.format(**values)
        text = re.sub(rf"(?<![\w/.-]){re.escape(word)}(?![\w/-])", lambda _, value=value: value, text)
    return text


def rendered_card(document: str, context: Context) -> str:
    """A model card as ``push_to_hub`` renders it, for the tiny checkpoint of its kind."""
    from transformers import AutoConfig

    from videoespresso_hf.models.cards import create_model_card

    checkpoint = getattr(context, CARDS[document])
    card = create_model_card(AutoConfig.from_pretrained(checkpoint), repo_id=checkpoint, random_weights=True)
    return str(card)


def document_text(document: str, context: Context | None = None) -> str:
    text = (ROOT / document).read_text(encoding="utf-8")
    if document in CARDS and context is not None:
        return rendered_card(document, context)
    return text


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def context(tmp_path_factory):
    from doubles.construction_responder import construction_responder
    from doubles.grounding_models import save_tiny_grounding_models
    from doubles.openai_server import OpenAICompatibleServer
    from doubles.tiny_models import save_tiny_reasoner, save_tiny_selector

    from videoespresso_hf.embeddings import OFFLINE_TEST_EMBEDDING_MODEL

    folder = tmp_path_factory.mktemp("docs_checkpoints")
    grounding = save_tiny_grounding_models(folder / "grounding")
    with OpenAICompatibleServer(responder=construction_responder) as server:
        yield Context(
            reasoner=str(save_tiny_reasoner(folder / "reasoner", "qwen2_5_vl")),
            selector=str(save_tiny_selector(folder / "selector", max_frames=2)),
            base_url=server.base_url,
            detector=grounding["detector"],
            clip=grounding["clip"],
            embedder=OFFLINE_TEST_EMBEDDING_MODEL,
        )


@pytest.fixture()
def workspace(tmp_path, context, monkeypatch):
    """The folder a reader runs the commands in, holding what FILES says they already have."""
    import datasets

    from videoespresso_hf.pipeline.stages.base import clear_process_resources

    folder = tmp_path / "reader"
    folder.mkdir()
    for name, make in FILES.items():
        target = folder / name.rstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        make(target, context)
    monkeypatch.chdir(folder)
    # datasets caches a local folder by its name and card: each document gets its own cache.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets_cache")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)  # documented defaults (api.openai.com) are what runs
    yield folder
    clear_process_resources()  # models loaded by build stages (held per process) go with the workspace


# ------------------------------------------------------------------------------------------ running
def run_videoespresso(argv: list[str], capsys) -> tuple[int, str, str]:
    from videoespresso_hf.cli.main import main

    capsys.readouterr()
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse errors
        status = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def run_shell_command(command: str, original: str, block: Block, capsys, monkeypatch) -> None:
    tokens = shlex.split(command)
    if operators := SHELL_OPERATORS.intersection(tokens):
        pytest.fail(f"{block.where}: `{original}` uses {operators}: the docs test runs plain commands only")
    with monkeypatch.context() as scoped:
        while tokens and re.fullmatch(r"[A-Za-z_]\w*=.*", tokens[0]):  # `NAME=value command`: for this command
            name, _, value = tokens.pop(0).partition("=")
            scoped.setenv(name, value)
        status, out, err = run_tokens(tokens, original, block, capsys)
    expected = EXPECTED_ERRORS.get(matching(EXPECTED_ERRORS, original) or "")
    if expected is not None:
        lines = [line for line in err.splitlines() if line.strip() and not PROGRESS_BAR.search(line)]
        assert status == 2 and len(lines) == 1, f"{block.where}: `{original}` exited {status}:\n{err}"
        assert re.search(expected.stderr, lines[0]), f"{block.where}: `{original}` printed\n{err}"
        return
    assert status == 0, f"{block.where}: `{original}` exited {status}\nstdout:\n{out[-3000:]}\nstderr:\n{err[-3000:]}"


def run_tokens(tokens: list[str], original: str, block: Block, capsys) -> tuple[int, str, str]:
    if tokens[0] == "videoespresso":
        return run_videoespresso(tokens[1:], capsys)
    if tokens[:3] in (["python", "-m", "videoespresso_hf"], ["python3", "-m", "videoespresso_hf"]):
        return run_videoespresso(tokens[3:], capsys)  # the same CLI: no second import of torch
    if tokens[0] in ("python", "python3"):
        # Docs run scripts from the checkout's root (`python benchmarks/x.py`); the reader's folder has no copy.
        arguments = [str(ROOT / t) if not Path(t).exists() and (ROOT / t).is_file() else t for t in tokens[1:]]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, *arguments], capture_output=True, text=True, env=env, check=False)
        return done.returncode, done.stdout, done.stderr
    pytest.fail(f"{block.where}: no way to run `{original}`; add it to NOT_RUN in tests/docs_substitutions.py")


def run_python_snippet(code: str, block: Block, namespace: dict) -> None:
    try:
        exec(compile(code, block.where, "exec"), namespace)
    except Exception as error:
        raise AssertionError(f"{block.where}: the snippet raised {type(error).__name__}: {error}\n{code}") from error


def runnable_documents() -> list[str]:
    """The documents with something to run (a page of prose and tables, e.g. the API reference, has nothing)."""

    def runs(block: Block) -> bool:
        return block.language == "python" or any(not matching(NOT_RUN, c) for c in shell_commands(block) if block.language == "shell")

    return [d for d in document_paths() if any(runs(b) for b in fenced_blocks(d, document_text(d)))]


@pytest.mark.slow
@pytest.mark.parametrize("document", runnable_documents())
def test_document_runs_as_written(document, context, workspace, capsys, monkeypatch):
    namespace: dict = {"__name__": "__main__"}  # snippets of one document build on each other, like a session
    ran = 0
    for block in fenced_blocks(document, document_text(document, context)):
        if block.language == "python":
            run_python_snippet(substitute(block.text, context), block, namespace)
            ran += 1
        elif block.language == "shell":
            for original in shell_commands(block):
                if matching(NOT_RUN, original):
                    continue
                run_shell_command(substitute(original, context), original, block, capsys, monkeypatch)
                ran += 1
    assert ran, f"{document} ran nothing"


# ---------------------------------------------------------------------------- the table stays exact
def all_blocks() -> list[Block]:
    return [block for document in document_paths() for block in fenced_blocks(document, document_text(document))]


def test_every_fence_is_run_or_declared_shown_only():
    unknown = [(b.where, b.language) for b in all_blocks() if b.language not in (*RUN_LANGUAGES.values(), *SHOWN_LANGUAGES)]
    assert not unknown, f"fences in an unknown language (run: {sorted(RUN_LANGUAGES)}): {unknown}"
    # A command in a fence without a language would be shown but never run.
    hidden = [
        b.where for b in all_blocks()
        if b.language in SHOWN_LANGUAGES and re.search(r"^\s*(videoespresso|python3?|pip|make) ", b.text, re.M)
    ]  # fmt: skip
    assert not hidden, f"commands in fences that are not run (label them ```bash): {hidden}"


def test_substitution_table_has_no_stale_entries():
    texts = "\n".join(document_text(document) for document in document_paths())
    commands = [c for block in all_blocks() if block.language == "shell" for c in shell_commands(block)]
    for table in (EXPECTED_ERRORS, NOT_RUN):
        for prefix in table:
            assert any(matching({prefix: None}, command) for command in commands), f"no doc command starts with {prefix!r}"
    for word in TEXT:
        assert re.search(rf"(?<![\w/.-]){re.escape(word)}(?![\w/-])", texts), f"TEXT entry {word!r} is used by no doc"
    for name in FILES:
        assert name in texts, f"FILES entry {name!r} is used by no doc"
    for document in CARDS:
        assert document in document_paths(), f"CARDS entry {document!r} is not a document"


def test_every_command_not_run_says_why():
    assert all(reason.strip() for reason in NOT_RUN.values())
    assert all(expected.reason.strip() for expected in EXPECTED_ERRORS.values())


# ------------------------------------------------------------------------------- what pip install says
def test_install_lines_name_the_package_and_its_real_extras():
    """``pip install`` is not run; the package name and each extra it names must exist in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"])
    installs = [c for b in all_blocks() if b.language == "shell" for c in shell_commands(b) if matching(NOT_RUN, c) == "pip install"]
    assert installs, "the README shows no pip install line"
    names = set()
    for command in installs:
        for token in shlex.split(command)[2:]:
            if token.startswith("-"):
                continue
            match = re.fullmatch(r"(?P<name>[\w.-]+)(\[(?P<extras>[\w,-]+)\])?", token)
            assert match, f"unexpected pip install argument {token!r} in `{command}`"
            names.add(match["name"])
            for extra in (match["extras"] or "").split(","):
                assert not extra or extra in extras, f"`{command}` names extra {extra!r}; pyproject has {sorted(extras)}"
    assert project["name"] in names and names <= {project["name"], "."}, names


# --------------------------------------------------------------------------- one citation, one tracker
def bibtex_entries(text: str) -> list[str]:
    return [block.text.strip() for block in fenced_blocks("", text) if block.language == "bibtex"]


def test_the_paper_is_cited_with_one_bibtex_entry_everywhere():
    from videoespresso_hf.data.card import CITATION
    from videoespresso_hf.evaluation.metrics.videoespresso import videoespresso as metric

    paper = [entry for entry in bibtex_entries(document_text("README.md")) if "han2025videoespresso" in entry]
    assert paper == [CITATION.strip()], "README's paper BibTeX differs from data/card.py's CITATION"
    assert metric._CITATION.strip() == CITATION.strip()
    for card in CARDS:
        assert bibtex_entries(document_text(card)) == [CITATION.strip()], f"{card} cites the paper differently"
    everything = "\n".join(document_text(document) for document in document_paths())
    assert set(re.findall(r"@\w+\{(han\d{4}\w*)", everything)) == {"han2025videoespresso"}


def test_help_and_bug_reports_point_at_the_issue_tracker_of_pyproject(capsys):
    from videoespresso_hf.cli.main import ISSUES_URL

    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Issues"] == ISSUES_URL and ISSUES_URL.startswith(urls["Repository"])
    help_page = document_text("docs/help.md")
    help_section = help_page.split("## Getting help", 1)[1].split("\n## ", 1)[0]
    assert ISSUES_URL in help_section and "videoespresso env" in help_section
    status, out, _ = run_videoespresso(["env"], capsys)
    assert status == 0 and ISSUES_URL in out


def test_readme_starts_with_the_two_set_up_commands_then_install_lines():
    blocks = [block for block in fenced_blocks("README.md", document_text("README.md")) if block.language == "shell"]
    first_lines = document_text("README.md").split("```", 2)[1]
    assert shell_commands(blocks[0]) == ["make demo", "make test"] and first_lines.startswith("bash\nmake demo")
    assert matching(NOT_RUN, shell_commands(blocks[1])[0]) == "pip install"


def test_install_page_version_table_matches_pyproject_and_the_ci_pins():
    """The supported (lower bound) and tested (exact pin) versions the install page states are the packaging's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lower = dict(re.match(r"([\w-]+)(?:\[[\w,]+\])?>=([\w.]+)", d).groups() for d in project["dependencies"])
    pins = dict(re.findall(r"^([\w-]+)(?:\[[\w,]+\])?==([\w.]+)$", (ROOT / "requirements/dev.txt").read_text(), re.M))
    rows = re.findall(r"^\| (\w[\w-]*) \| ≥ ([\d.]+) \| ([\d.]+) \|$", document_text("docs/install.md"), re.M)
    assert len(rows) >= 5, "the supported-versions table of docs/install.md is missing"
    for name, supported, tested in rows:
        if name == "Python":
            assert project["requires-python"] == f">={supported}" and f"{tested}" in " ".join(project["classifiers"])
            continue
        assert lower[name] == supported, f"docs/install.md says {name} ≥ {supported}, pyproject says ≥ {lower[name]}"
        assert pins[name] == tested, f"docs/install.md says CI tests {name} {tested}, requirements/dev.txt pins {pins[name]}"


def test_citation_cff_matches_the_readme_and_the_package():
    """GitHub's "Cite this repository" (CITATION.cff) says what the README's BibTeX says."""
    import yaml

    import videoespresso_hf
    from videoespresso_hf.data.card import CITATION

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    software = next(entry for entry in bibtex_entries(document_text("README.md")) if entry.startswith("@software"))
    assert cff["version"] == videoespresso_hf.__version__
    assert cff["title"] == re.search(r"title\s*=\s*\{(.+)\},", software)[1].replace("\\_", "_")
    assert f"url    = {{{cff['repository-code']}}}" in software
    paper = cff["references"][0]
    assert paper["title"] in CITATION and f"{paper['start']}--{paper['end']}" in CITATION
    authors = " and ".join(f"{a['family-names']}, {a['given-names']}" for a in paper["authors"])
    assert f"author    = {{{authors}}}" in CITATION


# ------------------------------------------------------------------------------------------ the site
SITE_CONFIG = ROOT / "mkdocs.yml"
# The jobs as calls: each public entry point and its config, by the module that defines it (mkdocstrings reads
# the source statically, so the API page names the defining module, not the lazy root export).
API_ENTRIES = (
    "videoespresso_hf.benchmarking.job.predict",
    "videoespresso_hf.benchmarking.job.PredictConfig",
    "videoespresso_hf.evaluation.job.score",
    "videoespresso_hf.evaluation.job.ScoreConfig",
    "videoespresso_hf.pipeline.job.build",
    "videoespresso_hf.pipeline.job.BuildArguments",
    "videoespresso_hf.pipeline.config.BuildConfig",
    "videoespresso_hf.training.reasoner.train_reasoner",
    "videoespresso_hf.training.arguments.ReasonerTrainingArguments",
    "videoespresso_hf.training.selector.train_selector",
    "videoespresso_hf.training.arguments.SelectorTrainingArguments",
)


def site_config() -> dict:
    import yaml

    class Loader(yaml.SafeLoader):  # mkdocs.yml may hold !!python/name tags; none are needed to read the nav
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    return yaml.load(SITE_CONFIG.read_text(encoding="utf-8"), Loader=Loader)


def nav_pages(nav) -> list[str]:
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_and_notebook_is_in_the_site_navigation():
    config = site_config()
    pages = nav_pages(config["nav"])
    on_disk = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md") if "_hooks" not in p.parts}
    notebooks = {f"notebooks/{p.stem}.md" for p in (ROOT / "notebooks").glob("*.ipynb")}  # rendered by the hook
    assert set(pages) == on_disk | notebooks, f"nav vs docs/ + notebooks/: {set(pages) ^ (on_disk | notebooks)}"
    assert config["plugins"][1]["mkdocstrings"]["handlers"]["python"]["paths"] == ["src"]


def test_api_page_documents_every_entry_point_and_its_config():
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    documented = re.findall(r"^::: (\S+)$", api, re.M)
    missing = [name for name in API_ENTRIES if name not in documented]
    assert not missing, f"docs/api.md lacks {missing}"
    exports = __import__("videoespresso_hf")._EXPORTS  # the lazy root exports: name -> defining module
    for name in documented:
        module, _, attribute = name.rpartition(".")
        if attribute in exports:
            assert module == "videoespresso_hf" + exports[attribute], f"{name}: the root export says {exports[attribute]}"


def test_readme_is_one_screen_that_links_into_the_site():
    readme = document_text("README.md")
    prose = [line for line in readme.split("## Citation")[0].splitlines() if line.strip()]
    assert len(prose) <= 40, f"the README above its citation is {len(prose)} lines: move the detail into docs/"
    links = re.findall(r"\]\(((?:docs|notebooks)/[^)#]*)\)", readme)
    assert {"docs/api.md", "docs/install.md"} <= set(links)
    assert all((ROOT / link).exists() for link in links), [link for link in links if not (ROOT / link).exists()]


def test_notebook_hook_renders_code_outputs_and_images(tmp_path):
    """The hook that puts the executed notebooks in the site (docs/_hooks/notebooks.py)."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("notebooks_hook", ROOT / "docs" / "_hooks" / "notebooks.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("print('```')", outputs=[nbformat.v4.new_output("stream", text="```\n")]),
        nbformat.v4.new_code_cell("chart", outputs=[nbformat.v4.new_output("display_data", data={"image/png": "iVBO"})]),
    ])  # fmt: skip
    path = tmp_path / "x.ipynb"
    nbformat.write(notebook, path)
    page = hook.notebook_markdown(path, "x.ipynb")
    assert page.startswith("# Title\n")
    assert "````python\nprint('```')\n````" in page and "````text\n```\n````" in page
    assert "![output](data:image/png;base64,iVBO)" in page and "[`x.ipynb`](x.ipynb)" in page
