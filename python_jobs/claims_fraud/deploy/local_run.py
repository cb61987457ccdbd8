"""The local runner: a bundle job's task graph on the local target (DuckDB), what ``make run``,
``make train``, ``make score`` and ``make monitor`` execute.

Tasks run in dependency order with the Jobs API's rules: ``run_if``; a ``condition_task``
evaluated from the task values of the tasks before it (written to a local file, see
task_values.py) whose ``outcome`` decides which branch runs; a ``run_job_task`` running the
referenced job of the same bundle locally. dbt tasks get ``--target local``; wheel tasks run the
``claims-fraud`` console script with their Databricks-only paths translated. Retries, timeouts
and clusters are Databricks' business: a local task runs once.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from claims_fraud.deploy import graph
from claims_fraud.deploy.loader import BundleError
from claims_fraud.deploy.run_output import DbtDigest, TaskResult, stream
from claims_fraud.deploy.task_values import FILE_ENV, read_task_values

LOCAL_TARGET = "local"
WARNINGS_LOG_ENV = "CLAIMS_FRAUD_WARNINGS_LOG"
_WAREHOUSE_SUBCOMMANDS = frozenset({"alerts", "report", "promote", "summary", "has-champion"})

Runner = Callable[[list[str]], int]


@dataclass(frozen=True)
class LocalSettings:
    """Where the local run keeps its state (defaults: the Makefile's environment)."""

    duckdb: Path | None = None
    local_dir: Path = Path(".local")
    # The dbt project; commands run in it (dbt finds dbt_project.yml, the CLI its .local/).
    project_dir: Path = Path()
    # Every line of every task on the terminal, instead of the digest.
    verbose: bool = False

    @classmethod
    def from_env(cls) -> LocalSettings:
        duckdb = os.environ.get("CLAIMS_FRAUD_DUCKDB_PATH")
        return cls(duckdb=Path(duckdb) if duckdb else None)

    def log_path(self, job: str, task_key: str) -> Path:
        """Where a task's whole output goes."""
        return self.local_dir / "logs" / job / f"{task_key}.log"

    def task_values_path(self, job: str, task_key: str) -> Path:
        """The file a task's values go to in a local run ($CLAIMS_FRAUD_TASK_VALUES_FILE)."""
        return self.local_dir / "task_values" / job / f"{task_key}.json"

    def warnings_log(self) -> Path:
        """Library warnings of the task processes (claims_fraud.logs routes them there)."""
        return Path(os.environ.get(WARNINGS_LOG_ENV) or self.local_dir / "logs" / "warnings.log")


def local_dbt_args(command: str, profiles_directory: str | None = None) -> list[str]:
    """A dbt_task command for the local target: ``--target`` forced to ``local``; the task's
    ``profiles_directory`` passed as ``--profiles-dir`` unless $DBT_PROFILES_DIR is set."""
    args = shlex.split(command)
    out: list[str] = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
        elif arg == "--target" or (arg == "-t" and i > 0):
            skip = True
        elif not arg.startswith("--target="):
            out.append(arg)
    out += ["--target", LOCAL_TARGET]
    if profiles_directory and not os.environ.get("DBT_PROFILES_DIR"):
        out += ["--profiles-dir", profiles_directory]
    return out


def local_cli_args(parameters: Sequence[Any], settings: LocalSettings) -> list[str]:
    """A python_wheel_task's parameters for a local run: workspace or volume paths of ``--out``
    land in the local folder, and the local DuckDB file is passed where the CLI takes one."""
    params = [str(p) for p in parameters]
    out: list[str] = []
    i = 0
    while i < len(params):
        arg = params[i]
        value = params[i + 1] if i + 1 < len(params) else None
        if (
            arg == "--out"
            and value is not None
            and value.startswith(("/Volumes/", "/Workspace/", "dbfs:"))
        ):
            out += ["--out", str(settings.local_dir / Path(value).name)]
            i += 2
            continue
        out.append(arg)
        i += 1
    if out and out[0] in _WAREHOUSE_SUBCOMMANDS and settings.duckdb and "--duckdb" not in out:
        out[1:1] = ["--duckdb", str(settings.duckdb)]
    return out


def _executable(name: str) -> str:
    """``name`` from PATH, else beside this interpreter (the project's virtual environment)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    return found or name


def task_commands(task: Mapping[str, Any], settings: LocalSettings) -> list[list[str]]:
    """The commands a local run executes for a dbt or wheel task (none for control flow)."""
    if "dbt_task" in task:
        dbt = task["dbt_task"]
        profiles = dbt.get("profiles_directory")
        return [local_dbt_args(c, profiles) for c in dbt.get("commands") or []]
    if "python_wheel_task" in task:
        wheel = task["python_wheel_task"]
        return [[wheel["entry_point"], *local_cli_args(wheel.get("parameters") or [], settings)]]
    return []


def local_commands(
    job: Mapping[str, Any], settings: LocalSettings
) -> list[tuple[str, list[list[str]]]]:
    """Each task, in dependency order, with the commands a local run executes for it. Raises
    :class:`BundleError` for a task type that runs on Databricks only."""
    tasks = {task["task_key"]: task for task in job.get("tasks") or []}
    plan = []
    for key in graph.task_order(job):
        kind = graph.task_type(tasks[key])
        if kind not in graph.LOCAL_TASK_TYPES:
            raise BundleError(
                f"task {key}: {kind} does not run locally "
                f"(have: {', '.join(graph.LOCAL_TASK_TYPES)})"
            )
        plan.append((key, task_commands(tasks[key], settings)))
    return plan


def run_job(
    job: Mapping[str, Any],
    settings: LocalSettings | None = None,
    *,
    dry_run: bool = False,
    runner: Runner | None = None,
    echo: Callable[[str], None] = print,
    skip: Sequence[str] = (),
    only: Sequence[str] = (),
    key: str | None = None,
    bundle_jobs: Mapping[str, Mapping[str, Any]] | None = None,
    parameters: Mapping[str, str] | None = None,
    results: list[TaskResult] | None = None,
) -> int:
    """Run a job's tasks in dependency order on the local target. Returns 1 if a task failed or
    was skipped because a dependency failed, else 0 (an excluded branch is no failure).

    ``skip`` tasks, and with ``only`` every task not named, count as done without running.
    ``key`` is the job's resource key (log folder, output); ``bundle_jobs`` the bundle's jobs, for
    a ``run_job_task``; ``parameters`` override the job's parameter defaults; ``results``, when
    given, receives one :class:`TaskResult` per task (nested jobs' tasks included). ``runner``
    replaces the subprocess (tests): it gets each command and returns its exit code."""
    settings = settings or LocalSettings.from_env()
    key = key or str(job.get("name") or "job")
    tasks = {task["task_key"]: task for task in job.get("tasks") or []}
    unknown = sorted((set(skip) | set(only)) - set(tasks))
    if unknown:
        raise BundleError(
            f"--skip/--only {', '.join(unknown)}: job {key} has no such task "
            f"(tasks: {', '.join(tasks)})"
        )
    plan = local_commands(job, settings)
    selected = [k for k, _ in plan if k not in skip and (not only or k in only)]
    left_out = [k for k, _ in plan if k not in selected]
    if left_out:
        echo(f"{key}: not run (--skip/--only), counted as done: {', '.join(left_out)}")
    run = _JobRun(job, key, settings, dry_run, runner, echo, bundle_jobs or {}, results)
    run.parameters = {**graph.job_parameters(job), **(parameters or {})}
    started = time.monotonic()
    if not dry_run:
        for task_key in tasks:
            settings.task_values_path(key, task_key).unlink(missing_ok=True)
        where = f"; task logs in {settings.local_dir / 'logs' / key}" if runner is None else ""
        echo(f"{key}: {len(selected)} task(s){where}")
    for task_key, commands in plan:
        if task_key in selected:
            tag = f"[{selected.index(task_key) + 1}/{len(selected)} {task_key}]"
            run.task(tasks[task_key], commands, tag)
        else:
            run.finish(task_key, graph.NOT_RUN, 0.0)
    failed = [k for k, state in run.states.items() if state in (graph.FAILED, graph.SKIPPED)]
    if not dry_run:
        excluded = sum(state == graph.EXCLUDED for state in run.states.values())
        done = f"{key}: finished in {time.monotonic() - started:.1f} s"
        if failed:
            echo(f"{done}; tasks not successful: {', '.join(failed)}")
        else:
            echo(f"{done}, every task successful" + (f" ({excluded} excluded)" if excluded else ""))
    return 1 if failed else 0


class _JobRun:
    """The state of one job's local run: task states, condition outcomes, task values."""

    def __init__(
        self,
        job: Mapping[str, Any],
        key: str,
        settings: LocalSettings,
        dry_run: bool,
        runner: Runner | None,
        echo: Callable[[str], None],
        bundle_jobs: Mapping[str, Mapping[str, Any]],
        results: list[TaskResult] | None,
    ) -> None:
        self.job, self.key, self.settings, self.dry_run = job, key, settings, dry_run
        self.runner, self.echo, self.bundle_jobs, self.results = runner, echo, bundle_jobs, results
        self.states: dict[str, str] = {}
        self.outcomes: dict[str, str | None] = {}
        self.values: dict[str, dict[str, Any]] = {}
        self.parameters: dict[str, str] = {}

    def finish(self, task_key: str, state: str, seconds: float, log: Path | None = None) -> None:
        self.states[task_key] = state
        if self.results is not None:
            self.results.append(
                TaskResult(self.key, task_key, state, round(seconds, 1), str(log) if log else None)
            )

    def task(self, task: Mapping[str, Any], commands: list[list[str]], tag: str) -> None:
        task_key = task["task_key"]
        if not self.dry_run:
            state, reason = graph.dependency_state(
                graph.dependencies(task),
                self.states,
                self.outcomes,
                task.get("run_if", "ALL_SUCCESS"),
            )
            if state is not None:
                self.echo(f"{tag} {state}: {reason}")
                self.finish(task_key, state, 0.0)
                return
        started = time.monotonic()
        log = None
        if "condition_task" in task:
            state = self._condition(task, tag)
        elif "run_job_task" in task:
            state = self._run_job(task, tag)
        else:
            log = self.settings.log_path(self.key, task_key)
            state = self._commands(task_key, commands, tag, log)
            log = log if self.runner is None and not self.dry_run else None
        seconds = time.monotonic() - started
        if not self.dry_run:
            shown = f" (log: {log})" if log and state == graph.FAILED else ""
            self.echo(f"{tag} {state} in {seconds:.1f} s{shown}")
        self.finish(task_key, state, seconds, log)

    def _commands(self, task_key: str, commands: list[list[str]], tag: str, log: Path) -> str:
        if not self.dry_run and self.runner is None:  # a stand-in runner keeps no log
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("")
        for template in commands:
            # {{job.parameters.P}} and {{tasks.T.values.K}} in a command, as Databricks fills
            # them in; after the split, so a value never becomes two arguments
            argv = [graph.substitute(arg, self.values, self.parameters) for arg in template]
            self.echo(f"{tag} {shlex.join(argv)}")
            if self.dry_run:
                continue
            if self._execute(task_key, argv, log) != 0:
                # a failed task keeps the values it set (Databricks does too): the alerts task
                # exits 1 on a PSI error and has set retrain=true for the condition after it
                self._read_values(task_key)
                return graph.FAILED
        if not self.dry_run:
            self._read_values(task_key)
        return graph.SUCCESS

    def _read_values(self, task_key: str) -> None:
        self.values[task_key] = read_task_values(self.settings.task_values_path(self.key, task_key))

    def _execute(self, task_key: str, argv: list[str], log: Path) -> int:
        if self.runner is not None:
            return self.runner(argv)
        env = dict(os.environ)
        env[FILE_ENV] = str(self.settings.task_values_path(self.key, task_key).resolve())
        env[WARNINGS_LOG_ENV] = str(self.settings.warnings_log().resolve())
        if self.settings.duckdb:
            env["CLAIMS_FRAUD_DUCKDB_PATH"] = str(self.settings.duckdb.resolve())
        is_dbt = argv[0] == "dbt"
        digest = DbtDigest() if is_dbt and not self.settings.verbose else None

        def on_line(line: str) -> None:
            shown = digest(line) if digest else line
            if shown is not None:
                self.echo(f"    {shown}")

        command = [_executable(argv[0]), *argv[1:]]
        code, stderr_tail = stream(
            command, cwd=self.settings.project_dir, env=env, log_path=log, on_line=on_line
        )
        if code != 0 and not is_dbt and stderr_tail:
            for line in stderr_tail:
                self.echo(f"    {line}")
        return code

    def _condition(self, task: Mapping[str, Any], tag: str) -> str:
        condition = task["condition_task"]
        op, left, right = condition.get("op"), condition.get("left", ""), condition.get("right", "")
        if self.dry_run:
            self.echo(f"{tag} condition {left} {op} {right}")
            return graph.SUCCESS
        try:
            resolved = [
                graph.substitute(str(side), self.values, self.parameters) for side in (left, right)
            ]
            outcome = graph.evaluate_condition(str(op), *resolved)
        except BundleError as exc:
            self.echo(f"{tag} condition {left} {op} {right}: {exc}")
            return graph.FAILED
        self.outcomes[task["task_key"]] = "true" if outcome else "false"
        self.echo(
            f"{tag} condition {left} {op} {right}: {resolved[0]!r} vs {resolved[1]!r}"
            f" -> {self.outcomes[task['task_key']]}"
        )
        return graph.SUCCESS

    def _run_job(self, task: Mapping[str, Any], tag: str) -> str:
        run = task["run_job_task"]
        found = graph.JOB_ID_REFERENCE.fullmatch(str(run.get("job_id")))
        if not found or found.group(1) not in self.bundle_jobs:
            self.echo(f"{tag} job_id {run.get('job_id')!r}: no such job in this bundle")
            return graph.FAILED
        child = found.group(1)
        try:
            parameters = {
                name: graph.substitute(str(value), self.values, self.parameters)
                for name, value in (run.get("job_parameters") or {}).items()
            }
        except BundleError as exc:
            if not self.dry_run:
                self.echo(f"{tag} {exc}")
                return graph.FAILED
            parameters = dict(run.get("job_parameters") or {})
        shown = ", ".join(f"{k}={v}" for k, v in parameters.items())
        self.echo(f"{tag} run job {child}" + (f" ({shown})" if shown else ""))
        code = run_job(
            self.bundle_jobs[child],
            self.settings,
            dry_run=self.dry_run,
            runner=self.runner,
            echo=lambda line: self.echo(f"    {line}"),
            key=child,
            bundle_jobs=self.bundle_jobs,
            parameters=parameters,
            results=self.results,
        )
        return graph.SUCCESS if code == 0 else graph.FAILED
