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
# Imported by lmms_eval's CLI, evaluator and task loading; the rest of its requirements serve models
# and tasks we do not use.
RUNTIME_DEPS=(
  "av<16" "filelock<4" loguru jsonlines pytz tenacity python-dotenv tqdm-multiprocess zstandard qwen-vl-utils
  sacrebleu portalocker tabulate colorama lxml
  pytablewriter DataProperty typepy mbstrdecoder tabledata tcolorpy pathvalidate chardet
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
# This checkout's package (lmms-eval imports videoespresso_hf from the task folder's utils.py).
echo "$(pwd)/src" > "$lmms_site/videoespresso_src.pth"

"$LMMS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  "lmms-eval==$LMMS_EVAL_VERSION" "${RUNTIME_DEPS[@]}"
# No second torch, ever: the one importable here must be the base environment's.
"$LMMS_VENV/bin/python" - "$base_site" <<'PY'
import sys, torch, lmms_eval  # noqa: E401
base_site = sys.argv[1]
assert torch.__file__.startswith(base_site), f"torch comes from {torch.__file__}, not {base_site}"
import av, filelock
print(f"lmms-eval ready: torch {torch.__version__} (shared), av {av.__version__}, filelock {filelock.__version__}")
PY
