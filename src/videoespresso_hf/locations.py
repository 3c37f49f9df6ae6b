"""Paths before the Hub: what a ``--data`` / ``--model`` / ``--selector`` / ``--embedding-model`` … string names,
decided in seconds. The one rule every command and job applies (predict, score, train, select, answer).

* A string naming an existing local file or folder is that thing, recorded as its resolved absolute path (so that
  ``ckpt/vlm`` and ``/abs/ckpt/vlm`` are the same run when resuming).
* A string that can only be a path (``./x``, ``../x``, ``/x``, ``~/x``, or more than one ``/``) and does not exist is
  a one-line error naming it; the Hub is never asked.
* ``org/name`` is a Hub id. It is checked before minutes of work start: in the local Hub cache when
  ``HF_HUB_OFFLINE=1``, else with one short request (:data:`HUB_TIMEOUT_S`, no retry loop). When it is neither local
  nor reachable, the one-line error says both and what to set. A bare ``name`` is left to the loader, which may
  complete it (sentence-transformers reads ``all-MiniLM-L6-v2`` as ``sentence-transformers/all-MiniLM-L6-v2``).

A leaf module: it imports nothing of the package but :mod:`videoespresso_hf.errors`.

The Hub's own downloads get short timeouts too (:func:`short_hub_timeouts`), so that an unreachable Hub fails in
seconds rather than after minutes of retries.
"""

from __future__ import annotations

import os
from pathlib import Path

from videoespresso_hf.errors import first_line

__all__ = ["HUB_TIMEOUT_S", "HubReferenceError", "looks_like_path", "resolve_reference", "short_hub_timeouts"]

#: Seconds one Hub metadata request may take before the Hub counts as unreachable.
HUB_TIMEOUT_S = 5.0


class HubReferenceError(ValueError):
    """A ``--data``/``--model`` value that names nothing usable; the message is one line naming the value."""


def looks_like_path(value: str) -> bool:
    """``value`` can only be a local path: ``./x``, ``../x``, ``/x``, ``~/x``, ``~``, a backslash, or more than one ``/``
    (a Hub id is ``name`` or ``org/name``)."""
    return value.startswith(("./", "../", "/", "~")) or value in (".", "..") or "\\" in value or value.count("/") > 1


def short_hub_timeouts() -> None:
    """Short Hub timeouts for this process (unless the user set their own): ``huggingface_hub`` reads them at import,
    so they are set in the environment and, when it is already imported, in its constants."""
    for name, seconds in (("HF_HUB_ETAG_TIMEOUT", 5), ("HF_HUB_DOWNLOAD_TIMEOUT", 15)):
        os.environ.setdefault(name, str(seconds))
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - a dependency of transformers and datasets
        return
    constants.HF_HUB_ETAG_TIMEOUT = int(os.environ["HF_HUB_ETAG_TIMEOUT"])
    constants.HF_HUB_DOWNLOAD_TIMEOUT = int(os.environ["HF_HUB_DOWNLOAD_TIMEOUT"])


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _in_cache(repo_id: str, repo_type: str) -> bool:
    """The Hub cache holds a snapshot of ``repo_id``: its folder (``models--org--name``, as ``huggingface_hub`` lays
    it out) has a revision under ``snapshots/``. A look at one folder, not ``scan_cache_dir``, which stats every file
    of every cached repository (seconds to minutes on a big cache). Not ``try_to_load_from_cache(repo_id,
    "config.json")`` either: a dataset repository (and a weights-only model one) has no ``config.json``."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    snapshots = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type=repo_type) / "snapshots"
    try:
        return any(revision.is_dir() for revision in snapshots.iterdir())
    except OSError:  # no cache folder, no such repository, or an unreadable one: nothing cached
        return False


def _check_hub(value: str, named: str, repo_type: str) -> None:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    kind = "dataset" if repo_type == "dataset" else "model"
    if _hub_offline():
        if not _in_cache(value, repo_type):
            raise HubReferenceError(
                f"{named}: no local file or folder of that name, and no {kind} {value} in the Hub cache "
                "while HF_HUB_OFFLINE=1 (download it first, or pass a local folder)"
            )
        return
    try:
        HfApi().repo_info(value, repo_type=repo_type, timeout=HUB_TIMEOUT_S)
    except GatedRepoError:
        return  # it exists; the load says what access it needs
    except RepositoryNotFoundError:
        raise HubReferenceError(
            f"{named}: no local file or folder of that name, and no {kind} {value} on the Hub (or it is private: "
            "log in with `hf auth login`)"
        ) from None
    except Exception as error:  # connection refused, timeout, DNS, proxy: the Hub cannot be reached
        if _in_cache(value, repo_type):
            return  # the cached copy is used
        raise HubReferenceError(
            f"{named}: no local file or folder of that name, and the Hub is unreachable ({first_line(error)[:120]}); "
            "pass a local folder, or set HF_HUB_OFFLINE=1 to use a cached copy"
        ) from None


def resolve_reference(value: str, flag: str, *, repo_type: str = "model", check_hub: bool = True) -> str:
    """What ``value`` names: a local path (returned resolved and absolute) or a Hub id (returned as given).

    Args:
        flag: how the user gave it (``--model``), for the error message.
        repo_type: ``"model"`` or ``"dataset"``: which Hub repository kind an id names.
        check_hub: ask the Hub (or its cache) now that a Hub id exists, so that a typo fails in seconds.

    Raises:
        HubReferenceError: a path that does not exist, or a Hub id that is neither local nor reachable (one line).
    """
    text = str(value).strip()
    if not text:
        raise HubReferenceError(f"{flag} is empty: give a local folder or a Hub id")
    named = f"{flag}{text}" if flag.endswith(":") else f"{flag} {text}"  # "--frames selector:PATH" stays one word
    path = Path(text).expanduser()
    if path.exists():
        return str(path.resolve())
    if looks_like_path(text):
        raise HubReferenceError(f"{named}: no such file or folder")
    if check_hub and "/" in text:
        _check_hub(text, named, repo_type)
    return text
