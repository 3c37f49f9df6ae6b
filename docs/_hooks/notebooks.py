"""MkDocs hook: render the executed notebooks of ``notebooks/`` as pages of the site, at build time.

Why a hook and not a plugin: it needs nothing beyond the standard library and MkDocs (no nbconvert, no
Jupyter kernel, no network), so ``mkdocs build --strict`` stays robust offline. The notebooks are rendered
with the outputs stored in them (``tests/test_notebooks.py`` executes them; they are committed executed):
markdown cells as they are, code cells as Python fences, text outputs as text fences, PNG outputs as images,
HTML displays with no text form (the trainer's progress table) as HTML.
Each notebook ``notebooks/NAME.ipynb`` becomes the page ``notebooks/NAME.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

from mkdocs.structure.files import File, Files

NOTEBOOKS_FOLDER = "notebooks"


def _fence(text: str, language: str = "") -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1, 4 if "```" in text else 3)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}\n"


def _joined(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _output(output: dict) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return _fence(_joined(output.get("text", "")), "text")
    if kind == "error":
        return _fence(f"{output.get('ename')}: {output.get('evalue')}", "text")
    data = output.get("data", {})
    if "image/png" in data:
        return f"![output](data:image/png;base64,{_joined(data['image/png']).strip()})\n"
    if "text/markdown" in data:
        return _joined(data["text/markdown"]) + "\n"
    if "text/html" in data and _joined(data.get("text/plain", "")).startswith("<IPython.core.display"):
        return f'<div class="notebook-output">\n{_joined(data["text/html"]).strip()}\n</div>\n'  # e.g. a progress table
    if "text/plain" in data:
        return _fence(_joined(data["text/plain"]), "text")
    return ""


def notebook_markdown(path: Path, source_link: str) -> str:
    """The Markdown page of one notebook: its cells and their stored outputs, and where the .ipynb lives."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in notebook.get("cells", []):
        source = _joined(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            parts.append(source.rstrip() + "\n")
        elif cell.get("cell_type") == "code" and source.strip():
            parts.append(_fence(source, "python"))
            parts.extend(filter(None, (_output(output) for output in cell.get("outputs", []))))
    parts.append(f"*Rendered from [`{source_link}`]({source_link}) with its stored outputs.*\n")
    return "\n".join(parts)


def on_files(files: Files, config) -> Files:
    root = Path(config.config_file_path).parent
    repository = (config.repo_url or "").rstrip("/")
    for path in sorted((root / NOTEBOOKS_FOLDER).glob("*.ipynb")):
        link = f"{repository}/blob/main/{NOTEBOOKS_FOLDER}/{path.name}" if repository else path.name
        content = notebook_markdown(path, link)
        files.append(File.generated(config, f"{NOTEBOOKS_FOLDER}/{path.stem}.md", content=content))
    return files
