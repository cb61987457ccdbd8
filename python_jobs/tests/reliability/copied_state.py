"""A private copy of a trained project's state (DuckDB file and MLflow store) that a test may
break without touching the session's shared one."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from harness import DbtProject, make_project


def copy_trained_state(project: DbtProject, root: Path, raw_dir: Path | None = None) -> DbtProject:
    """The project's DuckDB file and MLflow store under `root` (raw data shared, read only).

    MLflow's sqlite store keeps absolute artifact locations, so a plain copy of the folder still
    loads every model from the original: the copy's locations are moved to the copy, and
    deleting or corrupting a copied artifact breaks the copy alone."""
    copy = make_project(root, raw_dir or project.raw_dir)
    shutil.copy(project.duckdb_path, copy.duckdb_path)
    copy_mlflow_store(project.mlflow_dir, copy.mlflow_dir)
    return copy


def copy_mlflow_store(source: Path, target: Path) -> None:
    """Copy an MLflow folder (sqlite store + artifacts) and point the copy at its own artifacts."""
    source, target = source.resolve(), target.resolve()
    shutil.copytree(source, target)
    with closing(sqlite3.connect(target / "mlflow.db")) as con, con:
        tables = con.execute("select name from sqlite_master where type = 'table'").fetchall()
        for (table,) in tables:
            for column in [row[1] for row in con.execute(f'pragma table_info("{table}")')]:
                con.execute(
                    f'update "{table}" set "{column}" = replace("{column}", ?, ?) '
                    f'where typeof("{column}") = \'text\' and instr("{column}", ?) > 0',
                    (str(source), str(target), str(source)),
                )
