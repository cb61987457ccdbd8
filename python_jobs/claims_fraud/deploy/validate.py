"""Offline checks of the bundle: what ``claims-fraud bundle validate`` runs per target.

:func:`validate_schema` checks a document against the CLI's JSON schema; :func:`validate_jobs`
parses each job with the ``databricks-bundles`` classes (unknown keys and wrong types are
errors); :func:`check_references` checks what neither can see (dbt selectors, console scripts,
CLI subcommands and their options, task dependencies, the task values a ``condition_task`` reads,
the job a ``run_job_task`` starts); :func:`secret_problems` rejects credentials in plain config
(a URL with ``user:password@``, a webhook token, a query ``token=``...: they belong in the secret
scope, as ``{{secrets/<scope>/<key>}}``).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import io
import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from claims_fraud.deploy import graph
from claims_fraud.deploy.dashboards import dashboard_problems
from claims_fraud.deploy.loader import BundleError, jobs, load_bundle, resolve_references
from claims_fraud.monitoring.secret_urls import plain_secret_problems

SCHEMA_FILE = "databricks-bundle.schema.json"
SCHEMA_ENV = "CLAIMS_FRAUD_BUNDLE_SCHEMA"
_DBT_COMMANDS = frozenset(
    {
        "build",
        "clone",
        "compile",
        "debug",
        "deps",
        "docs",
        "list",
        "ls",
        "parse",
        "retry",
        "run",
        "run-operation",
        "seed",
        "show",
        "snapshot",
        "source",
        "test",
    }
)


def require_validation_packages() -> None:
    """jsonschema, databricks-bundles and databricks-labs-lsql (with sqlglot) are development
    dependencies (not in the wheel)."""
    import importlib.util

    for module in ("jsonschema", "databricks.bundles", "databricks.labs.lsql", "sqlglot"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # the parent package (databricks) is missing
            found = False
        if not found:
            raise BundleError(
                f"validation needs the project's dev dependencies ({module} is missing): "
                "run `uv sync` (or `make setup`)"
            )


# --- JSON schema ---------------------------------------------------------------------------


def find_schema(root: Path | str, explicit: Path | str | None = None) -> Path:
    """The bundle JSON schema: ``explicit``, else $CLAIMS_FRAUD_BUNDLE_SCHEMA, else the copy
    vendored in ``schemas/`` (see schemas/SOURCES.md for its origin and licence)."""
    root = Path(root)
    candidates = (
        [Path(explicit)]
        if explicit
        else [Path(p) for p in [os.environ.get(SCHEMA_ENV)] if p]
        + [root.resolve() / "schemas" / SCHEMA_FILE]
    )
    for path in candidates:
        if path.is_file():
            return path
    raise BundleError(
        f"bundle JSON schema not found (looked at: {', '.join(map(str, candidates))}); "
        f"pass --schema or set ${SCHEMA_ENV} (generate it with `databricks bundle schema`)"
    )


def ecma_to_python_regex(pattern: str) -> str:
    r"""Python ``re`` equivalent of the schema's ECMA patterns: ``\p{L}`` (letter) and
    ``\p{N}`` (number) have no ``re`` syntax; ``[^\W\d_]`` is a letter, ``\d`` a digit."""
    pattern = pattern.replace(r"[\p{L}\p{N}]", r"[^\W_]")
    return pattern.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d")


@functools.cache
def _compiled(pattern: str) -> Callable[[str], bool]:
    try:
        import regress
    except ImportError:  # the dev group has it (check-jsonschema); fall back to a translation
        compiled = re.compile(ecma_to_python_regex(pattern))
        return lambda text: compiled.search(text) is not None
    ecma = regress.Regex(pattern, "u")
    return lambda text: ecma.find(text) is not None


@functools.cache
def _validator(schema_path: Path) -> Any:
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterable[Any]:
        if validator.is_type(instance, "string") and not _compiled(patrn)(instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    schema = json.loads(schema_path.read_text())
    ecma = validators.extend(Draft202012Validator, {"pattern": pattern})
    return ecma(schema)


def _leaf_errors(error: Any) -> list[Any]:
    """The errors under a oneOf/anyOf that matter: the schema wraps most values in
    ``oneOf: [<the object>, <a ${var.x} string>]``, so descend into the branches whose type fits
    the value and report every error there (not just the one ``best_match`` would pick)."""
    from jsonschema.exceptions import best_match

    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[Any, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errors
        for errors in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    if len(fitting) == 1:
        return [leaf for sub in fitting[0] for leaf in _leaf_errors(sub)]
    best = best_match([error])
    if best is error:  # nothing more specific: say what would have been accepted
        kinds = sorted({str(branch.get("type", "?")) for branch in error.validator_value})
        best.message += f" (expected: {' or '.join(kinds)}; strings only as ${{...}} references)"
    return [best]


def validate_schema(document: Mapping[str, Any], schema_path: Path | str) -> list[str]:
    """Problems of ``document`` against the bundle JSON schema, each at its own path."""
    validator = _validator(Path(schema_path).resolve())
    problems = set()
    for error in validator.iter_errors(document):
        for leaf in _leaf_errors(error):
            where = "/".join(str(p) for p in leaf.absolute_path) or "(root)"
            problems.add(f"schema: {where}: {leaf.message}")
    return sorted(problems)


# --- jobs and references -------------------------------------------------------------------


def validate_jobs(bundle: Mapping[str, Any]) -> list[str]:
    """Parse every job with ``databricks.bundles.jobs.Job.from_dict``: unknown keys and values
    of the wrong type are problems."""
    from databricks.bundles.jobs import Job

    problems = []
    for name, job in jobs(bundle).items():
        try:
            Job.from_dict(copy.deepcopy(job))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            problems.append(f"job {name}: databricks-bundles rejects it: {exc}")
    return problems


def selector_names(selectors_yml: Path | str) -> set[str]:
    """Names of the dbt selectors in selectors.yml."""
    data = yaml.safe_load(Path(selectors_yml).read_text()) or {}
    return {item["name"] for item in data.get("selectors") or []}


def _pyproject(pyproject: Path | str) -> tuple[set[str], set[str]]:
    """Console scripts of pyproject.toml, and the names a wheel task may give its package."""
    data = tomllib.loads(Path(pyproject).read_text())
    scripts = set((data.get("project") or {}).get("scripts") or {})
    wheel = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
    packages = {Path(p).name for p in wheel.get("wheel", {}).get("packages", [])}
    # Databricks finds the entry point through the distribution's metadata, whose name lookup
    # is normalised (claims-fraud = claims_fraud): accept the package or the distribution.
    distribution = re.sub(r"[-_.]+", "_", (data.get("project") or {}).get("name", ""))
    return scripts, {*packages, distribution} - {""}


def _option(args: Sequence[str], name: str) -> list[str]:
    """Values of ``--name X`` and ``--name=X`` in ``args``."""
    values = []
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            values.append(args[i + 1])
        elif arg.startswith(f"{name}="):
            values.append(arg.split("=", 1)[1])
    return values


def _check_dbt(where: str, command: str, selectors: set[str]) -> list[str]:
    try:
        args = shlex.split(command)
    except ValueError as exc:
        return [f"{where}: command {command!r} does not parse: {exc}"]
    if len(args) < 2 or args[0] != "dbt" or args[1] not in _DBT_COMMANDS:
        return [f"{where}: {command!r} is not a dbt command"]
    if "--selector" in args[2:] and not _option(args, "--selector"):
        return [f"{where}: {command!r}: --selector needs a name"]
    return [
        f"{where}: selector {name!r} is not in selectors.yml (have: {sorted(selectors)})"
        for name in _option(args, "--selector")
        if name not in selectors
    ]


@dataclass(frozen=True)
class CliSpec:
    """What the wheel's console script accepts, handed in by the CLI (which sits above this
    module): its subcommand names, a function that builds its argument parser, and one that
    names the task values a command line sets (``alerts --retrain task-value``: retrain,
    batch_id), which a ``condition_task`` may read."""

    subcommands: Collection[str]
    build_parser: Callable[[], argparse.ArgumentParser]
    task_values: Callable[[Sequence[str]], Collection[str]] = lambda params: ()


def _check_wheel(
    where: str, task: Mapping[str, Any], scripts: set[str], packages: set[str], cli: CliSpec
) -> list[str]:
    wheel = task["python_wheel_task"]
    problems = []
    if re.sub(r"[-_.]+", "_", str(wheel.get("package_name"))) not in packages:
        problems.append(
            f"{where}: package_name {wheel.get('package_name')!r} is not the wheel's package "
            f"({sorted(packages)})"
        )
    if wheel.get("entry_point") not in scripts:
        problems.append(
            f"{where}: entry_point {wheel.get('entry_point')!r} is not in [project.scripts] "
            f"({sorted(scripts)})"
        )
    params = [str(p) for p in wheel.get("parameters") or []]
    if not params or params[0] not in cli.subcommands:
        first = params[0] if params else None
        return [*problems, f"{where}: {first!r} is not a claims-fraud subcommand"]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.suppress(SystemExit):
        cli.build_parser().parse_args(params)
        return problems
    message = stderr.getvalue().strip().splitlines()[-1:] or ["rejected"]
    return [*problems, f"{where}: claims-fraud {shlex.join(params)}: {message[0]}"]


def _values_set(job: Mapping[str, Any], cli: CliSpec) -> dict[str, set[str]]:
    """Task values each task of the job sets (only wheel tasks set any: the CLI says which)."""
    out: dict[str, set[str]] = {}
    for task in job.get("tasks") or []:
        wheel = task.get("python_wheel_task") or {}
        params = [str(p) for p in wheel.get("parameters") or []]
        if params and params[0] in cli.subcommands:
            with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(SystemExit):
                out[task["task_key"]] = set(cli.task_values(params))
    return out


def _check_task_value_refs(
    where: str, value: Any, job: Mapping[str, Any], key: str, values: dict[str, set[str]]
) -> list[str]:
    """Each ``{{tasks.T.values.K}}`` names a task upstream of this one that sets K; each
    ``{{job.parameters.P}}`` a parameter of the job."""
    problems = []
    before = graph.upstream(job, key)
    for ref in graph.references(value):
        if found := graph.TASK_VALUE.fullmatch(ref):
            task, name = found.groups()
            if task not in before:
                problems.append(f"{where}: {{{{{ref}}}}} reads task {task}, which is not upstream")
            elif name not in values.get(task, set()):
                sets = ", ".join(sorted(values.get(task, set()))) or "none"
                problems.append(
                    f"{where}: {{{{{ref}}}}}: task {task} sets no task value {name!r} "
                    f"(it sets: {sets})"
                )
        elif found := graph.JOB_PARAMETER.fullmatch(ref):
            if found.group(1) not in graph.job_parameters(job):
                problems.append(f"{where}: {{{{{ref}}}}}: the job has no such parameter")
        else:
            problems.append(
                f"{where}: {{{{{ref}}}}}: only task values and job parameters are used here "
                "(the local runner resolves no other reference)"
            )
    return problems


def _check_control_flow(
    where: str, task: Mapping[str, Any], name: str, all_jobs: Mapping[str, Any], values: dict
) -> list[str]:
    """condition_task operands, condition outcomes in depends_on, the run_job_task's job."""
    job, key = all_jobs[name], task["task_key"]
    by_key = {t["task_key"]: t for t in job.get("tasks") or []}
    problems = []
    if "condition_task" in task:
        condition = task["condition_task"]
        for side in ("left", "right"):
            problems += _check_task_value_refs(where, condition.get(side), job, key, values)
    for dep, outcome in graph.dependencies(task):
        if outcome is None or dep not in by_key:
            continue
        if "condition_task" not in by_key[dep]:
            problems.append(f"{where}: depends_on {dep} with outcome, but {dep} is no condition")
        elif outcome not in ("true", "false"):
            problems.append(f"{where}: outcome {outcome!r} of {dep} is neither 'true' nor 'false'")
    if "run_job_task" in task:
        run = task["run_job_task"]
        found = graph.JOB_ID_REFERENCE.fullmatch(str(run.get("job_id")))
        if not found or found.group(1) not in all_jobs:
            problems.append(
                f"{where}: job_id {run.get('job_id')!r} is not ${{resources.jobs.<key>.id}} of a "
                f"job in this bundle ({', '.join(sorted(all_jobs))})"
            )
        elif found.group(1) == name:
            problems.append(f"{where}: run_job_task starts its own job")
        else:
            declared = graph.job_parameters(all_jobs[found.group(1)])
            for parameter in run.get("job_parameters") or {}:
                if parameter not in declared:
                    problems.append(
                        f"{where}: job {found.group(1)} has no parameter {parameter!r} "
                        f"(has: {', '.join(sorted(declared)) or 'none'})"
                    )
        problems += _check_task_value_refs(where, run.get("job_parameters"), job, key, values)
    return problems


def check_references(
    bundle: Mapping[str, Any], selectors_yml: Path | str, pyproject: Path | str, cli: CliSpec
) -> list[str]:
    """What the schema cannot see: each dbt_task command is a dbt command whose selectors exist;
    each python_wheel_task names the wheel's package, a console script and a CLI subcommand
    with options the CLI accepts; depends_on, job_cluster_key and environment_key name things
    that exist; a condition_task reads task values that an upstream task sets; a run_job_task
    starts another job of the bundle with parameters it declares; the graph has no cycle."""
    selectors = selector_names(selectors_yml)
    scripts, packages = _pyproject(pyproject)
    problems: list[str] = []
    all_jobs = jobs(bundle)
    for name, job in all_jobs.items():
        clusters = {c.get("job_cluster_key") for c in job.get("job_clusters") or []}
        environments = {e.get("environment_key") for e in job.get("environments") or []}
        try:
            graph.task_order(job)
        except BundleError as exc:
            problems.append(f"job {name}: {exc}")
        values = _values_set(job, cli)
        for task in job.get("tasks") or []:
            where = f"job {name} task {task.get('task_key')}"
            for command in (task.get("dbt_task") or {}).get("commands") or []:
                problems += _check_dbt(where, command, selectors)
            if "python_wheel_task" in task:
                problems += _check_wheel(where, task, scripts, packages, cli)
            if "job_cluster_key" in task and task["job_cluster_key"] not in clusters:
                problems.append(f"{where}: no job cluster {task['job_cluster_key']!r}")
            if "environment_key" in task and task["environment_key"] not in environments:
                problems.append(f"{where}: no environment {task['environment_key']!r}")
            run_if = task.get("run_if", "ALL_SUCCESS")
            if run_if not in graph.RUN_IF:
                problems.append(f"{where}: unknown run_if {run_if!r}")
            problems += _check_control_flow(where, task, name, all_jobs, values)
    return problems


def secret_problems(bundle: Mapping[str, Any]) -> list[str]:
    """Every value of a resolved target configuration (variable values and defaults,
    spark_env_vars, task parameters, anything else) that holds a credential in plain text:
    deployed, it would be readable in the job's settings by anyone who can view the job. A
    ``{{secrets/scope/key}}`` reference is the way in."""
    scope = ((bundle.get("variables") or {}).get("secret_scope") or {}).get("default")
    fix = (
        f"put it in the secret scope and reference it as {{{{secrets/{scope or '<scope>'}/<key>}}}}"
        " (the pipeline job reads CLAIMS_FRAUD_ALERT_URLS from the key alert_urls)"
    )
    return [f"plain secret: {problem}" for problem in plain_secret_problems(bundle, fix)]


@dataclass
class TargetReport:
    """What ``bundle validate`` checked for one target, and the problems it found."""

    target: str
    jobs: dict[str, int] = field(default_factory=dict)
    other_resources: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def validate_target(
    root: Path | str,
    target: str,
    schema_path: Path | str,
    variables: Mapping[str, str] | None = None,
    *,
    cli: CliSpec,
) -> TargetReport:
    """Schema, Job.from_dict and references of one target's configuration; ``cli`` is what the
    wheel tasks' console script accepts (``claims_fraud.cli.main.cli_spec()``)."""
    root = Path(root)
    report = TargetReport(target)
    try:
        raw = load_bundle(root, target, resolve=False, variables=variables)
        bundle = resolve_references(raw, target)
    except BundleError as exc:
        report.problems.append(str(exc))
        return report
    report.problems += validate_schema(raw, schema_path)
    report.problems += validate_jobs(bundle)
    report.problems += check_references(
        bundle, root / "selectors.yml", root / "pyproject.toml", cli
    )
    report.problems += secret_problems(bundle)
    report.problems += dashboard_problems(bundle, root)
    report.jobs = {name: len(job.get("tasks") or []) for name, job in jobs(bundle).items()}
    report.other_resources = {
        kind: len(items)
        for kind, items in (bundle.get("resources") or {}).items()
        if kind != "jobs" and items
    }
    return report
