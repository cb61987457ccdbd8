"""A job's task graph as the Jobs API reads it, shared by the offline checks (validate.py) and the
local runner (local_run.py): task order, ``run_if``, the outcomes of ``condition_task``
dependencies, and the ``{{...}}`` dynamic value references a condition or a job parameter uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from claims_fraud.deploy.loader import BundleError

# Task types the local runner executes (others are Databricks-only).
LOCAL_TASK_TYPES = ("dbt_task", "python_wheel_task", "condition_task", "run_job_task")

# Task states: what ran, and what each counts as for run_if.
SUCCESS, FAILED = "success", "failed"
SKIPPED = "skipped"  # run_if not met after a failure upstream ("Upstream failed")
EXCLUDED = "excluded"  # a condition's other branch: skipped, counts as success
NOT_RUN = "not run"  # --skip / --only: counted as done

# run_if values of the Jobs API and what each needs of the finished dependencies.
RUN_IF: dict[str, Callable[[list[str]], bool]] = {
    "ALL_SUCCESS": lambda states: all(s == SUCCESS for s in states),
    "ALL_DONE": lambda states: True,
    "NONE_FAILED": lambda states: FAILED not in states and SUCCESS in states,
    "AT_LEAST_ONE_SUCCESS": lambda states: SUCCESS in states,
    "ALL_FAILED": lambda states: all(s == FAILED for s in states),
    "AT_LEAST_ONE_FAILED": lambda states: FAILED in states,
}

# Condition operators: EQUAL_TO / NOT_EQUAL compare strings, the others numbers (Jobs API).
CONDITION_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "EQUAL_TO": lambda left, right: left == right,
    "NOT_EQUAL": lambda left, right: left != right,
    "GREATER_THAN": lambda left, right: left > right,
    "GREATER_THAN_OR_EQUAL": lambda left, right: left >= right,
    "LESS_THAN": lambda left, right: left < right,
    "LESS_THAN_OR_EQUAL": lambda left, right: left <= right,
}
_STRING_OPS = ("EQUAL_TO", "NOT_EQUAL")

# {{tasks.<task_key>.values.<name>}}, {{job.parameters.<name>}}: the references used here.
DYNAMIC_REFERENCE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
TASK_VALUE = re.compile(r"tasks\.([\w-]+)\.values\.([\w-]+)")
JOB_PARAMETER = re.compile(r"job\.parameters\.([\w-]+)")
# ${resources.jobs.<key>.id}: how a run_job_task names a job of the same bundle.
JOB_ID_REFERENCE = re.compile(r"\$\{resources\.jobs\.([\w-]+)\.id\}")


def task_type(task: Mapping[str, Any]) -> str | None:
    """The ``*_task`` key of a task (``dbt_task``, ``condition_task``, ...), None if it has none."""
    return next((key for key in task if key.endswith("_task")), None)


def dependencies(task: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(task_key, outcome) of each ``depends_on`` entry; outcome only for condition tasks."""
    return [(dep["task_key"], dep.get("outcome")) for dep in task.get("depends_on") or []]


def task_order(job: Mapping[str, Any]) -> list[str]:
    """Task keys in an order where every task follows its dependencies (stable: ties keep
    the file's order). Raises :class:`BundleError` on an unknown dependency or a cycle."""
    tasks = job.get("tasks") or []
    keys = [task["task_key"] for task in tasks]
    needs = {task["task_key"]: [key for key, _ in dependencies(task)] for task in tasks}
    for key, deps in needs.items():
        missing = [dep for dep in deps if dep not in needs]
        if missing:
            raise BundleError(f"task {key} depends on unknown task(s) {missing}")
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(keys):
        ready = [k for k in keys if k not in done and all(d in done for d in needs[k])]
        if not ready:
            stuck = [k for k in keys if k not in done]
            raise BundleError(f"depends_on has a cycle among tasks {stuck}")
        order.append(ready[0])
        done.add(ready[0])
    return order


def upstream(job: Mapping[str, Any], key: str) -> set[str]:
    """Every task that ``key`` waits for, directly or through other tasks."""
    needs = {task["task_key"]: dependencies(task) for task in job.get("tasks") or []}
    seen: set[str] = set()
    todo = [dep for dep, _ in needs.get(key, [])]
    while todo:
        dep = todo.pop()
        if dep not in seen:
            seen.add(dep)
            todo += [d for d, _ in needs.get(dep, [])]
    return seen


def references(value: Any) -> list[str]:
    """The ``{{...}}`` references inside a string (or a mapping/list of strings)."""
    if isinstance(value, Mapping):
        return [ref for item in value.values() for ref in references(item)]
    if isinstance(value, list | tuple):
        return [ref for item in value for ref in references(item)]
    return DYNAMIC_REFERENCE.findall(value) if isinstance(value, str) else []


def substitute(
    value: str, task_values: Mapping[str, Mapping[str, Any]], parameters: Mapping[str, str]
) -> str:
    """``value`` with its ``{{tasks.T.values.K}}`` and ``{{job.parameters.P}}`` references
    replaced (a boolean task value reads ``true``/``false``, as on Databricks). Raises
    :class:`BundleError` for a value that was never set or a reference the runner lacks."""

    def one(match: re.Match[str]) -> str:
        ref = match.group(1)
        if found := TASK_VALUE.fullmatch(ref):
            task, name = found.groups()
            if name not in task_values.get(task, {}):
                raise BundleError(
                    f"{{{{{ref}}}}}: task {task} set no value {name!r} in this run "
                    f"(it set: {sorted(task_values.get(task, {})) or 'none'})"
                )
            return as_operand(task_values[task][name])
        if found := JOB_PARAMETER.fullmatch(ref):
            if found.group(1) not in parameters:
                raise BundleError(f"{{{{{ref}}}}}: the job has no parameter {found.group(1)!r}")
            return str(parameters[found.group(1)])
        raise BundleError(f"{{{{{ref}}}}}: the local runner knows task values and job parameters")

    return DYNAMIC_REFERENCE.sub(one, value)


def as_operand(value: Any) -> str:
    """A task value as a condition sees it: JSON booleans as ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def evaluate_condition(op: str, left: str, right: str) -> bool:
    """The outcome of a ``condition_task`` with resolved operands."""
    if op not in CONDITION_OPS:
        raise BundleError(f"unknown condition op {op!r} (have: {', '.join(CONDITION_OPS)})")
    if op in _STRING_OPS:
        return CONDITION_OPS[op](left, right)
    try:
        return CONDITION_OPS[op](float(left), float(right))
    except ValueError as exc:
        raise BundleError(f"{op} compares numbers: {left!r} and {right!r}") from exc


def job_parameters(job: Mapping[str, Any]) -> dict[str, str]:
    """The job's parameters with their defaults."""
    return {str(p["name"]): str(p.get("default", "")) for p in job.get("parameters") or []}


def dependency_state(
    deps: Sequence[tuple[str, str | None]],
    states: Mapping[str, str],
    outcomes: Mapping[str, str | None],
    run_if: str,
) -> tuple[str | None, str]:
    """None when a task runs given its finished dependencies; else the state it gets and why:
    EXCLUDED when a condition went the other way or every dependency was excluded (as the Jobs
    API does; it counts as success), SKIPPED when ``run_if`` is not met."""
    if not deps:
        return None, ""
    for key, outcome in deps:
        if outcome is not None and outcomes.get(key) != outcome:
            found = outcomes.get(key) or "not evaluated"
            return EXCLUDED, f"{key} is {found}, this branch needs {outcome}"
    found_states = [states[key] for key, _ in deps]
    if all(state == EXCLUDED for state in found_states):
        return EXCLUDED, "every dependency was excluded"
    counted = [SUCCESS if state in (EXCLUDED, NOT_RUN) else state for state in found_states]
    if not RUN_IF[run_if](counted):
        return SKIPPED, f"run_if {run_if}; dependencies: {', '.join(counted)}"
    return None, ""
