"""VideoEspresso data in ``datasets``: one schema, four configs, archive handling, Hub folders.

Light modules (``evidence``, ``records``, ``archives``) import nothing heavy; the names below are
imported lazily so that ``from videoespresso_hf.data import parse_evidence`` does not load
``datasets``.
"""

from __future__ import annotations

from videoespresso_hf._lazy import lazy_exports

_EXPORTS = {
    "KeyObject": ".evidence",
    "ParsedEvidence": ".evidence",
    "parse_evidence": ".evidence",
    "render_evidence": ".evidence",
    "render_key_object": ".evidence",
    "strip_evidence_tags": ".evidence",
    "CONFIG_NAMES": ".schema",
    "FIELDS": ".schema",
    "SCHEMA_VERSION": ".schema",
    "features": ".schema",
    "empty_row": ".schema",
    "encode_row": ".schema",
    "release_record_to_row": ".records",
    "generated_record_to_row": ".records",
    "ArchiveError": ".archives",
    "UnsafeArchiveMemberError": ".archives",
    "SplitZipFile": ".archives",
    "find_archives": ".archives",
    "open_archive": ".archives",
    "extract_members": ".archives",
    "DataError": ".sources",
    "MissingMediaError": ".sources",
    "ReleaseReader": ".sources",
    "SourceOptions": ".sources",
    "VideoEspresso": ".builder",
    "VideoEspressoConfig": ".builder",
    "load_videoespresso": ".builder",
    "prepare_dataset_folder": ".hub",
    "download_release": ".hub",
    "push_dataset_folder": ".hub",
    "attach_media": ".hub",
    "prepared_media_roots": ".hub",
    "MediaPathError": ".media",
    "confine": ".media",
    "OverlapReport": ".overlap",
    "SharedVideo": ".overlap",
    "shared_videos": ".overlap",
    "load_prepared": ".prepared",
    "ViewerOptions": ".viewer",
    "build_viewer": ".viewer",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
