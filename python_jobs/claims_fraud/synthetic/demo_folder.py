"""Where the demo data generator may write: a new or empty folder, or one it wrote itself.

The raw folder is also where users put their own claims (``CLAIMS_FRAUD_RAW_DIR``), under the
same file names the generator writes. So the generator never writes into a folder holding
files it did not write: a payer's eligibility or provider extract would be overwritten.

Ownership is a marker file, :data:`MARKER_FILE`, that the generator writes before any table
(listing the files it is about to write) and rewrites afterwards with each file's size and
modification time. A folder is the generator's when the marker is there and every other file
in it is one the marker lists, unchanged since it was written. ``_manifest.json`` alone is no
proof: it is an ordinary name another tool (or a user copying a demo folder) may leave.
Hidden files (``.DS_Store``, ``.gitkeep``) are neither read nor written, so they are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

MARKER_FILE = ".claims-fraud-demo"
CLAIMS_TABLE = "medical_claim"
# dbt reads every file named <table>*.parquet in the raw folder as one table
# (models/staging/claims/_claims__sources.yml, meta raw_file_suffix).
RAW_FILE_SUFFIX = "*.parquet"


class FolderNotOwnedError(FileExistsError):
    """The output folder holds files the generator did not write."""


def foreign_files(folder: Path) -> list[str]:
    """Names of the files in ``folder`` that the generator did not write (or that changed since).

    Empty when the folder is missing, empty (hidden files aside) or entirely the generator's.
    """
    if not folder.exists():
        return []
    if not folder.is_dir():
        return [folder.name]
    recorded = _read_marker(folder)
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if not entry.name.startswith(".") and not _is_ours(entry, recorded)
    )


def has_claims(folder: Path) -> bool:
    """True when the folder holds at least one claims file dbt would read."""
    return folder.is_dir() and any(folder.glob(CLAIMS_TABLE + RAW_FILE_SUFFIX))


def is_demo_folder(folder: Path) -> bool:
    """True when the generator wrote this folder (marker present, nothing foreign in it)."""
    return (folder / MARKER_FILE).is_file() and not foreign_files(folder)


def refusal_message(folder: Path, found: Iterable[str]) -> str:
    """Why the generator will not write into ``folder``, and what to do instead."""
    names = list(found)
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"{folder} holds files the demo data generator did not write ({shown}); it writes demo "
        "data only into an empty or new folder, or one it wrote before "
        f"(marked by {MARKER_FILE}), so it will not overwrite them. To use your data, point "
        f"CLAIMS_FRAUD_RAW_DIR at {folder} (it needs {CLAIMS_TABLE}.parquet, eligibility.parquet, "
        "provider.parquet and siu_investigation.parquet). For demo data, choose an empty or new "
        "folder (--out DIR, or make data RAW_DIR=DIR)."
    )


def require_writable(folder: Path) -> None:
    """Raise :class:`FolderNotOwnedError` unless the generator may write into ``folder``."""
    found = foreign_files(folder)
    if found:
        raise FolderNotOwnedError(refusal_message(folder, found))


def claim(folder: Path, names: Iterable[str]) -> None:
    """Mark ``folder`` as the generator's before writing ``names`` into it.

    The files are listed without a fingerprint, so a run interrupted halfway leaves a folder the
    next run may still overwrite. Call :func:`require_writable` first.
    """
    folder.mkdir(parents=True, exist_ok=True)
    recorded = _read_marker(folder)
    recorded.update(dict.fromkeys(names))
    _write_marker(folder, recorded)


def record(folder: Path, names: Iterable[str]) -> None:
    """Record the size and modification time of the files just written."""
    recorded = _read_marker(folder)
    for name in names:
        recorded[name] = _fingerprint(folder / name)
    _write_marker(folder, recorded)


def _is_ours(entry: Path, recorded: dict[str, dict[str, int] | None]) -> bool:
    if entry.name not in recorded or not entry.is_file():
        return False
    expected = recorded[entry.name]
    return expected is None or expected == _fingerprint(entry)


def _fingerprint(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_marker(folder: Path) -> dict[str, dict[str, int] | None]:
    try:
        document = json.loads((folder / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return {}
    files = document.get("files") if isinstance(document, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def _write_marker(folder: Path, files: dict[str, dict[str, int] | None]) -> None:
    document = {
        "written_by": "claims-fraud generate",
        "about": (
            "Synthetic demo data. The generator overwrites the files listed here, and only "
            "while they are unchanged; it never writes into a folder with other files."
        ),
        "files": files,
    }
    (folder / MARKER_FILE).write_text(json.dumps(document, indent=2) + "\n")
