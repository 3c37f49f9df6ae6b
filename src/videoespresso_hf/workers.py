"""Process pools whose workers die with the process that started them.

A ``ProcessPoolExecutor`` worker waits on its call-queue pipe, and it holds both ends of that pipe: when
the parent is killed (``kill -9``, the OOM killer, a closed terminal) the pipe never reports end-of-file,
so every worker (each holding a loaded interpreter, ~100-200 MB) and multiprocessing's resource tracker
(kept alive by the workers' copy of its pipe) outlive it forever, and a restarted run competes with
them for the cores. Every pool of the package is made here, so each worker watches its parent.

The watch is a daemon thread that checks ``os.getppid()`` a few times a second rather than Linux's
``prctl(PR_SET_PDEATHSIG)``: that signal fires when the parent *thread* that spawned the worker exits,
and pools spawn workers lazily from whichever thread submits, so it could kill live workers of a live
parent. A leaf module: it imports nothing from the package.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["PARENT_POLL_SECONDS", "spawn_pool"]

PARENT_POLL_SECONDS = 0.25  # how long a worker can outlive its parent (plus the OS's exit time)


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)  # no cleanup to run: the parent that wanted the results is gone


def _start_worker(parent_pid: int, initializer: Callable[..., Any] | None, initargs: tuple[Any, ...]) -> None:
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="parent-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def spawn_pool(
    max_workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` of ``spawn``-ed workers that exit within a second of their parent.

    ``spawn``, not ``fork``: the parent may hold threads (an LLM client's, torch's, pyarrow's) that a fork
    would copy in a broken state.
    """
    return ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )
