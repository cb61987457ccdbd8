"""Writing a generated dataset: one Parquet file per table and ``_manifest.json``, only into a
folder the generator owns (:mod:`claims_fraud.synthetic.demo_folder`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from claims_fraud.synthetic import demo_folder

MANIFEST_FILE = "_manifest.json"


DEFAULT_ROW_GROUP_SIZE = 1_000_000


class Progress(Protocol):
    """Progress sink: ``expect`` adds planned steps, ``advance`` marks one step done."""

    def expect(self, steps: int) -> None: ...

    def advance(self, label: str) -> None: ...


class NullProgress:
    """A progress sink that does nothing."""

    def expect(self, steps: int) -> None:
        """Ignore planned steps."""

    def advance(self, label: str) -> None:
        """Ignore finished steps."""


def count_row_groups(
    tables: Mapping[str, pa.Table], row_group_size: int = DEFAULT_ROW_GROUP_SIZE
) -> int:
    """How many Parquet row groups :func:`write_dataset` will write."""
    return sum(max(1, math.ceil(t.num_rows / row_group_size)) for t in tables.values())


def write_dataset(
    tables: Mapping[str, pa.Table],
    out_dir: str | Path,
    manifest: Mapping[str, object],
    progress: Progress | None = None,
    row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
) -> Path:
    """Write ``<out_dir>/<table>.parquet`` per table and ``_manifest.json``; return out_dir.

    Only into a new or empty folder, or one the generator wrote before (see
    :mod:`claims_fraud.synthetic.demo_folder`): a folder with anyone else's files raises
    :class:`~claims_fraud.synthetic.demo_folder.FolderNotOwnedError` before anything is written.
    The manifest gets ``files`` and ``write_seconds`` added, and its ``elapsed_seconds`` (if
    present) is increased by the write time.
    """
    sink = progress or NullProgress()
    folder = Path(out_dir)
    demo_folder.require_writable(folder)
    written = [f"{name}.parquet" for name in tables] + [MANIFEST_FILE]
    demo_folder.claim(folder, written)
    started = time.perf_counter()
    files = {}
    for name, table in tables.items():
        files[name] = _write_parquet(table, folder / f"{name}.parquet", row_group_size, sink)
    write_seconds = time.perf_counter() - started
    document = dict(manifest)
    document["files"] = files
    document["write_seconds"] = round(write_seconds, 3)
    if isinstance(document.get("elapsed_seconds"), int | float):
        document["elapsed_seconds"] = round(float(document["elapsed_seconds"]) + write_seconds, 3)
    (folder / MANIFEST_FILE).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    demo_folder.record(folder, written)
    return folder


def _write_parquet(table: pa.Table, path: Path, row_group_size: int, sink: Progress) -> str:
    with pq.ParquetWriter(path, table.schema, compression="snappy") as writer:
        for offset in range(0, max(table.num_rows, 1), row_group_size):
            writer.write_table(table.slice(offset, row_group_size), row_group_size=row_group_size)
            sink.advance(f"write {path.stem}")
    return path.name
