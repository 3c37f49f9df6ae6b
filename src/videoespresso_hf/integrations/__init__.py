"""Plug-ins for other toolkits that reuse our data loading, prompts and scoring (no second copy).

* :mod:`videoespresso_hf.integrations.lmms_eval` — an lmms-eval task folder (package data) and the
  functions its YAML names; ``videoespresso lmms-eval-task --data DIR`` prints the ``--include_path``.
"""
