"""The Databricks Asset Bundle (databricks.yml + resources/), offline: load, validate, run locally.

Nothing here talks to a workspace. :func:`load_bundle` merges databricks.yml, its includes and
one target's overrides the way ``databricks bundle validate`` does for the keys this project
uses; :func:`validate_schema` checks a document against the CLI's JSON schema;
:func:`validate_jobs` parses each job with the ``databricks-bundles`` classes (unknown keys and
wrong types are errors); :func:`check_references` checks what neither can see (dbt selectors,
console scripts, CLI subcommands, task dependencies); :func:`secret_problems` rejects
credentials in plain config (a URL with ``user:password@``, a webhook token, a query
``token=``...: they belong in the secret scope, as ``{{secrets/<scope>/<key>}}``);
:func:`run_job` walks a job's task graph on the local target (DuckDB), which is what
``make run`` does.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import importlib.util
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from claims_fraud.monitoring.secret_urls import plain_secret_problems

SCHEMA_FILE = "databricks-bundle.schema.json"
SCHEMA_ENV = "CLAIMS_FRAUD_BUNDLE_SCHEMA"
LOCAL_TARGET = "local"

# Lists of mappings that a target override merges item by item on this key (as the CLI does).
_KEYED_LISTS = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "environments": "environment_key",
}
# Target keys that land at the root of the selected configuration.
_TARGET_ROOT_KEYS = (
    "artifacts",
    "bundle",
    "permissions",
    "presets",
    "resources",
    "run_as",
    "sync",
    "workspace",
)
_REPLACED_KEYS = ("permissions", "run_as")
_INTERPOLATION = re.compile(r"\$\{([a-zA-Z_][\w.\-\[\]]*)\}")
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
# run_if values of the Jobs API and what each needs of the finished dependencies.
_RUN_IF: dict[str, Callable[[list[str]], bool]] = {
    "ALL_SUCCESS": lambda states: all(s == "success" for s in states),
    "ALL_DONE": lambda states: True,
    "NONE_FAILED": lambda states: "failed" not in states and "success" in states,
    "AT_LEAST_ONE_SUCCESS": lambda states: "success" in states,
    "ALL_FAILED": lambda states: all(s == "failed" for s in states),
    "AT_LEAST_ONE_FAILED": lambda states: "failed" in states,
}


class BundleError(Exception):
    """The bundle cannot be loaded or checked (a missing file, target or variable)."""


# --- loading -------------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise BundleError(f"no bundle configuration at {path}") from exc
    except yaml.YAMLError as exc:
        raise BundleError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BundleError(f"{path}: expected a mapping at the top level")
    return data


def _merge(base: Any, override: Any, key: str | None = None) -> Any:
    """Override ``base`` with ``override``: mappings recursively, the lists of
    :data:`_KEYED_LISTS` item by item on their key, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            merged[name] = _merge(base[name], value, name) if name in base else value
        return merged
    list_key = _KEYED_LISTS.get(key or "")
    if list_key and isinstance(base, list) and isinstance(override, list):
        merged_list = list(base)
        positions = {
            item.get(list_key): i for i, item in enumerate(merged_list) if isinstance(item, dict)
        }
        for item in override:
            name = item.get(list_key) if isinstance(item, dict) else None
            if name is not None and name in positions:
                merged_list[positions[name]] = _merge(merged_list[positions[name]], item)
            else:
                merged_list.append(item)
        return merged_list
    return copy.deepcopy(override)


def load_document(root: Path | str) -> dict[str, Any]:
    """databricks.yml with every file of its ``include`` globs merged in (targets kept)."""
    root = Path(root)
    document = _read_yaml(root / "databricks.yml")
    for pattern in document.get("include") or []:
        matches = sorted(root.glob(pattern))
        if not matches:
            raise BundleError(f"include {pattern!r} matches no file under {root}")
        for path in matches:
            document = _merge(document, _read_yaml(path))
    return document


def default_target(document: Mapping[str, Any]) -> str:
    """The target marked ``default: true`` (else the only one)."""
    targets = document.get("targets") or {}
    defaults = [name for name, spec in targets.items() if (spec or {}).get("default")]
    if len(defaults) == 1:
        return defaults[0]
    if len(targets) == 1:
        return next(iter(targets))
    raise BundleError(f"no single default target among {sorted(targets)}")


def load_bundle(
    root: Path | str,
    target: str | None = None,
    *,
    resolve: bool = True,
    variables: Mapping[str, str] | None = None,
) -> dict:
    """The configuration ``databricks bundle validate -t TARGET`` would deploy: databricks.yml,
    its includes, the target's overrides merged in, ``variables`` applied as ``--var`` would,
    the resources of the ``python.resources`` loaders added, ``targets`` removed; with
    ``resolve``, ``${var.*}`` and ``${bundle.name|target}`` substituted (``${resources.*}``
    and ``${workspace.*}`` are left for the CLI)."""
    document = load_document(root)
    targets = document.get("targets") or {}
    target = target or default_target(document)
    if target not in targets:
        raise BundleError(f"no target {target!r} in databricks.yml (targets: {sorted(targets)})")
    spec = targets[target] or {}
    bundle = {name: value for name, value in document.items() if name != "targets"}
    for name in _TARGET_ROOT_KEYS:
        if name not in spec:
            continue
        if name in _REPLACED_KEYS:
            bundle[name] = copy.deepcopy(spec[name])
        else:
            bundle[name] = _merge(bundle.get(name, {}), spec[name], name)
    declared_vars = copy.deepcopy(bundle.get("variables") or {})
    for name, value in (spec.get("variables") or {}).items():
        if name not in declared_vars:
            raise BundleError(f"target {target!r} sets variable {name!r}, which is not declared")
        override = value.get("default") if isinstance(value, dict) else value
        declared_vars[name] = {**(declared_vars[name] or {}), "default": override}
    for name, value in (variables or {}).items():
        if name not in declared_vars:
            raise BundleError(f"--var {name}: no such variable in databricks.yml")
        declared_vars[name] = {**(declared_vars[name] or {}), "default": value}
    if declared_vars:
        bundle["variables"] = declared_vars
    python_resources = load_python_resources(Path(root), bundle, target)
    if python_resources:
        bundle["resources"] = _merge(bundle.get("resources") or {}, python_resources)
    return resolve_references(bundle, target) if resolve else bundle


def load_python_resources(root: Path, bundle: Mapping[str, Any], target: str) -> dict:
    """What the ``python.resources`` loaders (``module:function``, databricks-bundles) add for
    this target and these variable values, as bundle YAML would declare it."""
    loaders = (bundle.get("python") or {}).get("resources") or []
    if not loaders:
        return {}
    try:
        from databricks.bundles.core import Bundle
    except ImportError as exc:
        raise BundleError(
            "databricks.yml has python.resources: run `uv sync` for databricks-bundles"
        ) from exc
    values = {
        name: spec.get("default")
        for name, spec in resolve_references(bundle, target).get("variables", {}).items()
    }
    out: dict[str, dict[str, Any]] = {}
    for loader in loaders:
        module_name, _, function = str(loader).partition(":")
        path = root.joinpath(*module_name.split(".")).with_suffix(".py")
        if not function or not path.is_file():
            raise BundleError(f"python.resources {loader!r}: no file {path} or no :function")
        spec = importlib.util.spec_from_file_location(f"_bundle_{module_name}", path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        try:
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        except Exception as exc:
            raise BundleError(
                f"python.resources {loader!r}: {path} fails to import: {exc}"
            ) from exc
        if not callable(getattr(module, function, None)):
            raise BundleError(f"python.resources {loader!r}: {path} has no function {function}")
        try:
            resources = getattr(module, function)(Bundle(target=target, variables=values))
        except Exception as exc:
            raise BundleError(f"python.resources {loader!r} failed: {exc}") from exc
        for kind, items in resources._resources.items():
            for key, resource in items.items():
                out.setdefault(kind, {})[key] = resource.as_dict()
    return out


def resolve_references(bundle: Mapping[str, Any], target: str) -> dict[str, Any]:
    """Substitute ``${var.X}``, ``${bundle.name}`` and ``${bundle.target}`` everywhere (a string
    that is one reference takes the value's type); other references stay as written."""
    declared = {
        name: (spec or {}).get("default") for name, spec in bundle.get("variables", {}).items()
    }
    known: dict[str, Any] = {
        "bundle.name": (bundle.get("bundle") or {}).get("name"),
        "bundle.target": target,
    }

    def lookup(ref: str, seen: tuple[str, ...]) -> Any:
        if ref in known:
            return known[ref]
        if not ref.startswith("var."):
            return None
        name = ref.removeprefix("var.")
        if name not in declared:
            raise BundleError(f"${{{ref}}} refers to an undeclared variable")
        if name in seen:
            raise BundleError(f"variables refer to each other in a loop: {' -> '.join(seen)}")
        if declared[name] is None:
            raise BundleError(f"variable {name!r} has no value for target {target!r}")
        known[ref] = substitute(declared[name], (*seen, name))
        return known[ref]

    def substitute(value: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(value, dict):
            return {k: substitute(v, seen) for k, v in value.items()}
        if isinstance(value, list):
            return [substitute(v, seen) for v in value]
        if not isinstance(value, str):
            return value
        whole = _INTERPOLATION.fullmatch(value)
        if whole:
            found = lookup(whole.group(1), seen)
            return value if found is None else found

        def one(match: re.Match[str]) -> str:
            found = lookup(match.group(1), seen)
            return match.group(0) if found is None else str(found)

        return _INTERPOLATION.sub(one, value)

    resolved = substitute({k: v for k, v in bundle.items() if k != "variables"})
    if "variables" in bundle:
        resolved["variables"] = {
            name: {**(spec or {}), "default": lookup(f"var.{name}", ())}
            for name, spec in bundle["variables"].items()
        }
    return resolved


def jobs(bundle: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The bundle's jobs by resource key."""
    return dict((bundle.get("resources") or {}).get("jobs") or {})


def require_validation_packages() -> None:
    """jsonschema and databricks-bundles are development dependencies (not in the wheel)."""
    import importlib.util

    for module in ("jsonschema", "databricks.bundles"):
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


def task_order(job: Mapping[str, Any]) -> list[str]:
    """Task keys in an order where every task follows its dependencies (stable: ties keep
    the file's order). Raises :class:`BundleError` on an unknown dependency or a cycle."""
    tasks = job.get("tasks") or []
    keys = [task["task_key"] for task in tasks]
    needs = {
        task["task_key"]: [dep["task_key"] for dep in task.get("depends_on") or []]
        for task in tasks
    }
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
    module): its subcommand names and a function that builds its argument parser."""

    subcommands: Collection[str]
    build_parser: Callable[[], argparse.ArgumentParser]


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


def check_references(
    bundle: Mapping[str, Any], selectors_yml: Path | str, pyproject: Path | str, cli: CliSpec
) -> list[str]:
    """What the schema cannot see: each dbt_task command is a dbt command whose selectors exist;
    each python_wheel_task names the wheel's package, a console script and a CLI subcommand
    with options the CLI accepts; depends_on, job_cluster_key and environment_key name things
    that exist; the graph has no cycle."""
    selectors = selector_names(selectors_yml)
    scripts, packages = _pyproject(pyproject)
    problems: list[str] = []
    for name, job in jobs(bundle).items():
        clusters = {c.get("job_cluster_key") for c in job.get("job_clusters") or []}
        environments = {e.get("environment_key") for e in job.get("environments") or []}
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
            if run_if not in _RUN_IF:
                problems.append(f"{where}: unknown run_if {run_if!r}")
        try:
            task_order(job)
        except BundleError as exc:
            problems.append(f"job {name}: {exc}")
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
    report.jobs = {name: len(job.get("tasks") or []) for name, job in jobs(bundle).items()}
    report.other_resources = {
        kind: len(items)
        for kind, items in (bundle.get("resources") or {}).items()
        if kind != "jobs" and items
    }
    return report


# --- the local runner ----------------------------------------------------------------------


@dataclass(frozen=True)
class LocalSettings:
    """Where the local run keeps its state (defaults: the Makefile's environment)."""

    duckdb: Path | None = None
    local_dir: Path = Path(".local")
    # The dbt project; commands run in it (dbt finds dbt_project.yml, the CLI its .local/).
    project_dir: Path = Path()

    @classmethod
    def from_env(cls) -> LocalSettings:
        duckdb = os.environ.get("CLAIMS_FRAUD_DUCKDB_PATH")
        return cls(duckdb=Path(duckdb) if duckdb else None)


_WAREHOUSE_SUBCOMMANDS = frozenset({"alerts", "report", "promote", "summary", "has-champion"})


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
    """A python_wheel_task's parameters for a local run: ``--retrain databricks`` and
    ``--training-job-id`` are dropped (so ``alerts`` retrains the local way, or as
    $CLAIMS_FRAUD_RETRAIN says), workspace or volume paths of ``--out``
    land in the local folder, and the local DuckDB file is passed where the CLI takes one."""
    params = [str(p) for p in parameters]
    out: list[str] = []
    i = 0
    while i < len(params):
        arg = params[i]
        value = params[i + 1] if i + 1 < len(params) else None
        if arg == "--training-job-id" or arg.startswith("--training-job-id="):
            i += 1 if "=" in arg else 2
            continue
        if arg == "--retrain" and value == "databricks":
            i += 2  # the CLI's default decides: $CLAIMS_FRAUD_RETRAIN, else local
            continue
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


def local_commands(
    job: Mapping[str, Any], settings: LocalSettings
) -> list[tuple[str, list[list[str]]]]:
    """Each task, in dependency order, with the commands a local run executes for it."""
    tasks = {task["task_key"]: task for task in job.get("tasks") or []}
    plan = []
    for key in task_order(job):
        task = tasks[key]
        if "dbt_task" in task:
            dbt = task["dbt_task"]
            profiles = dbt.get("profiles_directory")
            commands = [local_dbt_args(c, profiles) for c in dbt.get("commands") or []]
        elif "python_wheel_task" in task:
            wheel = task["python_wheel_task"]
            params = local_cli_args(wheel.get("parameters") or [], settings)
            commands = [[wheel["entry_point"], *params]]
        else:
            raise BundleError(f"task {key}: only dbt_task and python_wheel_task run locally")
        plan.append((key, commands))
    return plan


def run_job(
    job: Mapping[str, Any],
    settings: LocalSettings | None = None,
    *,
    dry_run: bool = False,
    runner: Callable[[list[str]], int] | None = None,
    echo: Callable[[str], None] = print,
    skip: Sequence[str] = (),
) -> int:
    """Run a job's tasks in dependency order on the local target, honouring ``run_if``
    (ALL_SUCCESS by default; ALL_DONE runs after failures). Returns 1 if any task failed or
    was skipped because a dependency failed, else 0. ``dry_run`` prints the commands only.
    Retries and timeouts are Databricks' business: a local task runs once. Tasks named in
    ``skip`` count as done without running (``make run`` skips dbt_features when it has just
    built the features for a first training)."""
    settings = settings or LocalSettings.from_env()

    def run(argv: list[str]) -> int:
        command = [_executable(argv[0]), *argv[1:]]
        # The bundle's own commands (dbt, claims-fraud), never a shell.
        return subprocess.run(command, cwd=settings.project_dir, check=False).returncode  # noqa: S603

    runner = runner or run
    tasks = {task["task_key"]: task for task in job.get("tasks") or []}
    unknown = sorted(set(skip) - set(tasks))
    if unknown:
        raise BundleError(f"cannot skip {', '.join(unknown)}: the job has {', '.join(tasks)}")
    states: dict[str, str] = {}
    for key, commands in local_commands(job, settings):
        task = tasks[key]
        if key in skip:
            states[key] = "success"
            echo(f"[{key}] not run (--skip): counted as done")
            continue
        deps = [states[d["task_key"]] for d in task.get("depends_on") or []]
        run_if = task.get("run_if", "ALL_SUCCESS")
        if deps and not _RUN_IF[run_if](deps):
            states[key] = "skipped"
            echo(f"[{key}] skipped (run_if {run_if}; dependencies: {', '.join(deps)})")
            continue
        states[key] = "success"
        for argv in commands:
            echo(f"[{key}] {shlex.join(argv)}")
            if not dry_run and runner(argv) != 0:
                states[key] = "failed"
                break
        if not dry_run:
            echo(f"[{key}] {states[key]}")
    failed = [key for key, state in states.items() if state != "success"]
    if failed and not dry_run:
        echo(f"tasks not successful: {', '.join(failed)}")
    return 1 if failed else 0
