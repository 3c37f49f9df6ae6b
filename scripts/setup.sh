#!/usr/bin/env bash
# One-time set-up of .venv with the exact versions CI uses (Python 3.11, CPU only).
# Idempotent: safe to re-run. Called by `make demo` / `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}

# torchcodec (used by datasets.Video and transformers' video processors) needs FFmpeg's shared
# libraries; our own reader uses PyAV, which bundles FFmpeg, so this step is best effort.
if ! ldconfig -p 2>/dev/null | grep -q libavutil && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null) \
    || echo "setup: could not install ffmpeg; torchcodec-based decoding will be unavailable" >&2
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch/torchvision first: pip takes them from the local wheel store (a CUDA build that runs on CPU).
.venv/bin/python -m pip install -q -r requirements/dev.txt
.venv/bin/python -m pip install -q -c requirements/dev.txt -e ".[test,train,ray]"
echo "setup: .venv ready ($(.venv/bin/python -c 'import torch, transformers, datasets; print("torch", torch.__version__, "transformers", transformers.__version__, "datasets", datasets.__version__)'))"
