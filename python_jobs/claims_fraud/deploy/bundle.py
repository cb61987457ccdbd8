"""The Databricks Asset Bundle (databricks.yml + resources/), offline: one import for its three
parts. Nothing here talks to a workspace.

- loader.py: :func:`load_bundle` (databricks.yml, includes, one target, ``--var`` values, the
  ``python.resources`` loaders, ``${var.*}`` substitution), :func:`jobs`;
- validate.py: :func:`validate_target` (JSON schema, ``databricks-bundles`` Job.from_dict,
  :func:`check_references`, :func:`secret_problems`);
- graph.py: task order, ``run_if``, condition outcomes, ``{{...}}`` references;
- local_run.py: :func:`run_job`, the job's task graph on the local target (``make run``);
- run_output.py: the digest the runner prints, task logs, the timings file;
- task_values.py: values a task hands to a ``condition_task``.
"""

from __future__ import annotations

from claims_fraud.deploy.graph import task_order
from claims_fraud.deploy.loader import (
    BundleError,
    default_target,
    jobs,
    load_bundle,
    load_document,
    load_python_resources,
    resolve_references,
)
from claims_fraud.deploy.local_run import (
    LOCAL_TARGET,
    LocalSettings,
    local_cli_args,
    local_commands,
    local_dbt_args,
    run_job,
)
from claims_fraud.deploy.run_output import TaskResult, read_runs, record_run
from claims_fraud.deploy.validate import (
    SCHEMA_ENV,
    SCHEMA_FILE,
    CliSpec,
    TargetReport,
    check_references,
    ecma_to_python_regex,
    find_schema,
    require_validation_packages,
    secret_problems,
    selector_names,
    validate_jobs,
    validate_schema,
    validate_target,
)

__all__ = [
    "LOCAL_TARGET",
    "SCHEMA_ENV",
    "SCHEMA_FILE",
    "BundleError",
    "CliSpec",
    "LocalSettings",
    "TargetReport",
    "TaskResult",
    "check_references",
    "default_target",
    "ecma_to_python_regex",
    "find_schema",
    "jobs",
    "load_bundle",
    "load_document",
    "load_python_resources",
    "local_cli_args",
    "local_commands",
    "local_dbt_args",
    "read_runs",
    "record_run",
    "require_validation_packages",
    "resolve_references",
    "run_job",
    "secret_problems",
    "selector_names",
    "task_order",
    "validate_jobs",
    "validate_schema",
    "validate_target",
]
