"""`kill -9` of a process that runs a worker pool leaves no process behind (workers, resource tracker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

psutil = pytest.importorskip("psutil")

# The pool is made the way each caller makes it; both workers are started (a pool spawns them lazily)
# and busy with nothing when the parent is killed, as in a build killed between two dedup batches.
CHILD = """
import time
from {module} import {name}

if __name__ == "__main__":
    pool = {make_pool}
    for future in [pool.submit(time.sleep, 0.3) for _ in range(2)]:
        future.result()
    print("ready", flush=True)
    time.sleep(120)
"""
POOLS = {
    "spawn_pool": ("videoespresso_hf.workers", "spawn_pool", "spawn_pool(2)"),
    "local_runner": ("videoespresso_hf.pipeline.runners.local", "LocalRunner", "LocalRunner(workers=2)._get_pool(2)"),
}


def _alive(processes) -> list:
    alive = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_workers_die_with_a_killed_parent(pool, tmp_path):
    module, name, make_pool = POOLS[pool]
    script = tmp_path / "parent.py"
    script.write_text(CHILD.format(module=module, name=name, make_pool=make_pool))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    children = []
    try:
        assert parent.stdout.readline().strip() == "ready"
        children = psutil.Process(parent.pid).children(recursive=True)
        assert len(children) >= 2  # the two workers (and multiprocessing's resource tracker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [(p.pid, " ".join(p.cmdline())[-60:]) for p in _alive(children)]
        assert not left, f"processes outlived their killed parent by 5 s: {left}"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for process in _alive(children):
            process.kill()
