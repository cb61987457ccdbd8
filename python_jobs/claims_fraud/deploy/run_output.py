"""What a local bundle run shows and keeps: every line of a task goes to its log file under
``<local dir>/logs/<job>/<task>.log``; the terminal gets a digest (dbt: the nodes that warned,
errored or failed, the error details and the ``Done.`` line; a claims-fraud task: what it
prints on stdout, its stderr tail when it fails). Per-task timings go to a JSON file that
``claims-fraud summary`` prints.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DBT_TIME = re.compile(r"^\d\d:\d\d:\d\d  ")  # dbt: clock time, two spaces, the message
_DBT_NODE = re.compile(r"^\d+ of \d+ (WARN|ERROR|FAIL)\b ?(.*?)(?: \.{2,}.*| +\[.*)?$")
_DBT_ERRORS = re.compile(r"^(Completed with \d+ errors?|Encountered an error)")
_MAX_ERROR_LINES = 40
STDERR_TAIL = 15
RUNS_KEPT = 50


def plain(line: str) -> str:
    """A dbt log line without colour codes and its leading clock time."""
    return _DBT_TIME.sub("", _ANSI.sub("", line)).rstrip()


class DbtDigest:
    """Feed it dbt's stdout line by line; it returns the lines worth a reader's eye (else None):
    each node that warned, errored or failed, dbt's error details, and the ``Done.`` line."""

    def __init__(self) -> None:
        self._errors = -1  # error-detail lines shown so far; -1 outside the error block

    def __call__(self, line: str) -> str | None:
        text = plain(line)
        if text.startswith("Done. "):
            self._errors = -1
            return text
        if _DBT_ERRORS.match(text):
            self._errors = 0
            return text
        if self._errors >= 0:
            if not text.strip() or text.strip().startswith("compiled code at"):
                return None
            self._errors += 1
            if self._errors > _MAX_ERROR_LINES:
                return (
                    "  ... (more in the task log)" if self._errors == _MAX_ERROR_LINES + 1 else None
                )
            return text
        node = _DBT_NODE.match(text)
        if node:
            return f"{node.group(1)} {node.group(2)}".rstrip()
        return None


def stream(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    on_line: Callable[[str], None],
) -> tuple[int, list[str]]:
    """Run ``argv``: stdout and stderr into ``log_path``, each stdout line to ``on_line`` as it
    comes. Returns the exit code and the last lines of stderr."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=STDERR_TAIL)
    lock = threading.Lock()
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        # The bundle's own commands (dbt, claims-fraud) with fixed arguments, never a shell.
        process = subprocess.Popen(  # noqa: S603
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )

        def pump_stderr() -> None:
            for line in process.stderr:  # type: ignore[union-attr]
                with lock:
                    log.write(line)
                tail.append(plain(line))

        reader = threading.Thread(target=pump_stderr, daemon=True)
        reader.start()
        for line in process.stdout:  # type: ignore[union-attr]
            with lock:
                log.write(line)
                log.flush()
            on_line(line.rstrip("\n"))
        code = process.wait()
        reader.join()
    return code, [line for line in tail if line.strip()]


@dataclass(frozen=True)
class TaskResult:
    """One task of a local run: its state (success, failed, skipped, excluded, not run)."""

    job: str
    task_key: str
    state: str
    seconds: float
    log: str | None = None


def record_run(path: Path, job: str, started_at: datetime, results: Sequence[TaskResult]) -> None:
    """Append one run (its tasks, nested jobs included) to the timings file; the last
    :data:`RUNS_KEPT` runs stay."""
    runs = read_runs(path)
    runs.append(
        {
            "job": job,
            "started_at": started_at.astimezone(UTC).isoformat(timespec="seconds"),
            "tasks": [asdict(result) for result in results],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"runs": runs[-RUNS_KEPT:]}, indent=1))


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The runs recorded in a timings file (none if it does not exist)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except json.JSONDecodeError as exc:
        raise ValueError(f"timings file {path} is not JSON ({exc}): delete it") from exc
    return list(data.get("runs") or [])
