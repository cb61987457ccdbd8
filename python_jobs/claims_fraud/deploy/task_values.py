"""Task values: what one task of a job hands to the tasks after it (a ``condition_task`` reads
them as ``{{tasks.<task_key>.values.<name>}}``).

On Databricks a task sets them with ``dbutils.jobs.taskValues.set`` (the cluster's dbutils,
reached through ``databricks.sdk.runtime``). Databricks documents taskValues.set for notebook
tasks; check on the workspace that a python_wheel_task's values reach the condition, and move
the call to a notebook task if they do not. The local runner (``claims-fraud bundle run``) gives
each task a JSON file through $CLAIMS_FRAUD_TASK_VALUES_FILE instead, and reads it back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE_ENV = "CLAIMS_FRAUD_TASK_VALUES_FILE"
# Set on every Databricks cluster; its presence means dbutils is there to take the values.
DATABRICKS_ENV = "DATABRICKS_RUNTIME_VERSION"


def set_task_values(values: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    """Hand ``values`` (JSON-able) to the job's later tasks; returns where they went, for the
    task's output. Outside a job run (no file, not on Databricks) they only show in that line."""
    environ = os.environ if environ is None else environ
    shown = ", ".join(f"{name}={json.dumps(value)}" for name, value in values.items())
    if path := environ.get(FILE_ENV):
        write_task_values(Path(path), values)
        return f"task values {shown} (for the job's condition tasks)"
    if environ.get(DATABRICKS_ENV):
        from databricks.sdk.runtime import dbutils

        for name, value in values.items():
            dbutils.jobs.taskValues.set(key=name, value=value)
        return f"task values {shown} (dbutils.jobs.taskValues)"
    return f"task values {shown} not set: not in a job run (bundle run sets ${FILE_ENV})"


def write_task_values(path: Path, values: Mapping[str, Any]) -> None:
    """Merge ``values`` into the task's local values file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**read_task_values(path), **values}, sort_keys=True))


def read_task_values(path: Path) -> dict[str, Any]:
    """The values a task set in a local run; none when it set none (or never ran)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"task values file {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"task values file {path}: expected a JSON object")
    return data
