#!/usr/bin/env bash
# A separate virtualenv for lmms-eval 0.7.3, layered over the project's environment.
#
# lmms-eval pins av<16 and breaks with filelock>=4, both older than our pins, so it cannot share our
# virtualenv. This one gets lmms-eval (without its dependency resolution, which would pull another
# torch and ~50 packages it does not need to run a task), the two older pins and the few modules its
# import chain needs; everything else, torch included, comes from the base environment through a
# .pth line placed after this venv's own site-packages (so av<16 and filelock<4 win here).
#
#   BASE_VENV=.venv LMMS_VENV=.venv-lmms bash scripts/setup_lmms_eval.sh   (run from the repository root)
set -euo pipefail

BASE_VENV="${BASE_VENV:-.venv}"
LMMS_VENV="${LMMS_VENV:-.venv-lmms}"
LMMS_EVAL_VERSION="0.7.3"
# Imported by lmms_eval's CLI, evaluator, task loading and its qwen2_5_vl model; the rest of its
# requirements serve models and tasks we do not use. Exact versions: the set this was tested with.
RUNTIME_DEPS=(
  "av==15.1.0" "filelock==3.32.7" "loguru==0.7.3" "jsonlines==4.0.0" "pytz==2026.6" "tenacity==9.2.1"
  "python-dotenv==1.2.4" "tqdm-multiprocess==0.0.11" "zstandard==0.25.0" "qwen-vl-utils==0.0.14"
  "sacrebleu==2.6.0" "portalocker==4.4.2" "tabulate==0.10.0" "colorama==0.4.6" "lxml==6.1.3"
  "pytablewriter==1.2.1" "DataProperty==1.1.1" "typepy==2.0.0" "mbstrdecoder==1.1.5" "tabledata==1.3.5"
  "tcolorpy==0.1.7" "pathvalidate==3.3.1" "chardet==7.7.0"
)

base_python="$BASE_VENV/bin/python"
if [ ! -x "$base_python" ]; then
  echo "setup_lmms_eval: no Python at $base_python; create the project environment first (make test) or set BASE_VENV" >&2
  exit 2
fi
base_site="$("$base_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

if [ ! -x "$LMMS_VENV/bin/python" ]; then
  "$base_python" -m venv "$LMMS_VENV"
fi
lmms_site="$("$LMMS_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$base_site" > "$lmms_site/zz_base_environment.pth"
rm -f "$lmms_site/videoespresso_src.pth"  # an older set-up put src/ on the path without the package metadata

"$LMMS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  "lmms-eval==$LMMS_EVAL_VERSION" "${RUNTIME_DEPS[@]}"
# This checkout's package, installed (editable) into this venv: lmms-eval imports it from the task folder's
# utils.py, and finds `--model videoespresso_hybrid` through its `lmms_eval.models` entry point, which only an
# installed package's metadata provides. setuptools comes from the base environment (no download): the one
# Python 3.11's venv bundles (65) predates pyproject licence strings, so it goes.
"$LMMS_VENV/bin/python" -m pip uninstall --quiet --disable-pip-version-check -y setuptools 2>/dev/null || true
"$LMMS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
# No second torch, ever: the one importable here must be the base environment's.
"$LMMS_VENV/bin/python" - "$base_site" <<'PY'
import sys, torch, lmms_eval  # noqa: E401
base_site = sys.argv[1]
assert torch.__file__.startswith(base_site), f"torch comes from {torch.__file__}, not {base_site}"
import av, filelock
print(f"lmms-eval ready: torch {torch.__version__} (shared), av {av.__version__}, filelock {filelock.__version__}")
PY
