"""``videoespresso env``: versions and capabilities, to paste into bug reports (like ``transformers env``)."""

from __future__ import annotations

import argparse
import os
import platform
import shutil

from videoespresso_hf import __version__
from videoespresso_hf.cli.main import ISSUES_URL
from videoespresso_hf.versions import PACKAGES, package_versions


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "env", help="print versions and capabilities for bug reports", description=f"Paste the output into {ISSUES_URL}."
    )
    parser.set_defaults(func=run)


def environment_report() -> dict[str, str]:
    report = {"videoespresso_hf": __version__, "python": platform.python_version(), "platform": platform.platform()}
    # The first line is the imported code's own version (a source checkout may differ from what pip installed).
    for package, version in package_versions(name for name in PACKAGES if name != "videoespresso-hf").items():
        report[package] = version or "not installed"
    try:
        import torch

        report["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    except ImportError:
        report["cuda"] = "torch not installed"
    report["ffmpeg (system, for torchcodec)"] = shutil.which("ffmpeg") or "not found"
    report["HF_HUB_OFFLINE"] = os.environ.get("HF_HUB_OFFLINE", "unset")
    report["OPENAI_API_KEY"] = "set" if os.environ.get("OPENAI_API_KEY") else "unset"
    # Pasted into public bug reports: a URL's credentials and query values are redacted. (Imported here: the llm
    # package loads the openai SDK, ~1 s that every command's parser would otherwise pay.)
    from videoespresso_hf.llm.config import redact_url

    report["OPENAI_BASE_URL"] = redact_url(os.environ.get("OPENAI_BASE_URL")) or "unset"
    return report


def run(args: argparse.Namespace) -> int:
    for key, value in environment_report().items():
        print(f"- {key}: {value}")
    print(f"\nReport bugs at {ISSUES_URL} with this output, the command you ran and its error.")
    return 0
