"""Compute of hybrid inference (selector + reasoner on the core frames) vs the reasoner on 16 / 128 frames.

The tables are computed by :mod:`videoespresso_hf.models.compute_report` (also the ``compute`` step of
``videoespresso demo``); this script is its command line. Run:
``python benchmarks/hybrid_inference_flops.py [--reasoner qwen3_vl] [--core-frames-as video]``.
"""

from videoespresso_hf.models.compute_report import main

if __name__ == "__main__":
    main()
