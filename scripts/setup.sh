#!/usr/bin/env bash
# One-time set-up of .venv with the exact versions CI uses (Python 3.11, CPU only).
# Idempotent: safe to re-run. Called by `make demo` / `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}

# System tools, best effort: FFmpeg's shared libraries for torchcodec (datasets.Video and transformers'
# video processors; our own reader uses PyAV, which bundles FFmpeg), Info-ZIP's `zip` (tests write
# real split archives with `zip -s`) and Debian's `chromium` (the viewer and report tests open the pages
# in headless Chromium through playwright, which must not download a browser of its own).
missing=()
ldconfig -p 2>/dev/null | grep -q libavutil || missing+=(ffmpeg)
command -v zip >/dev/null || missing+=(zip)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get (about a minute)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null) \
    || echo "setup: could not install ${missing[*]}; some decoding/archive tests will be skipped and the page tests will fail" >&2
fi

# This machine's pip configuration lists local indexes that warn once per missing package; keep the log readable.
pip_install() { .venv/bin/python -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

[ -x .venv/bin/python ] || { echo "setup: creating .venv with $PYTHON..."; "$PYTHON" -m venv .venv; }
echo "setup: upgrading pip..."
pip_install --upgrade pip
# torch/torchvision first: pip takes them from the local wheel store (a CUDA build that runs on CPU).
echo "setup: installing the pinned packages of requirements/dev.txt (torch, transformers, ...: the slow step, a few minutes)..."
pip_install -r requirements/dev.txt
# Everything is pinned by the line above; this only adds the package itself (editable) and its entry point.
echo "setup: installing videoespresso_hf itself (editable)..."
pip_install -e ".[test,train,ray]"
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch, transformers, datasets; print("torch", torch.__version__, "transformers", transformers.__version__, "datasets", datasets.__version__)'))"
