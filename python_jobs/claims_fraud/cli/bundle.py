"""`claims-fraud bundle validate | run`: the Databricks Asset Bundle offline: check it, or run
one of its jobs on the local target (what `make run`, `make train`, `make score` and
`make monitor` do)."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from claims_fraud.cli.common import EXIT_OK, EXIT_USAGE, HelpFormatter, example, fail

VALIDATE_EXAMPLE = example(
    "claims-fraud bundle validate",
    "claims-fraud bundle validate --target prod --var serve_champion=true",
)
RUN_EXAMPLE = example(
    "claims-fraud bundle run claims_fraud_pipeline",
    "claims-fraud bundle run claims_fraud_pipeline --only dbt_score   # make score",
    "claims-fraud bundle run claims_fraud_training --dry-run",
)


def default_local_dir(duckdb: Path | None) -> Path:
    """$CLAIMS_FRAUD_LOCAL_DIR, else the folder of the DuckDB file (--duckdb, else
    $CLAIMS_FRAUD_DUCKDB_PATH): the local state lives together; else .local."""
    if explicit := os.environ.get("CLAIMS_FRAUD_LOCAL_DIR"):
        return Path(explicit)
    if duckdb is not None:
        return duckdb.parent
    return Path(".local")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="bundle_action", required=True, metavar="ACTION")
    validate = actions.add_parser(
        "validate",
        help="check databricks.yml + resources/ offline; exit 1 on a problem",
        description="Check databricks.yml + resources/ offline, per target: JSON schema, "
        "databricks-bundles Job.from_dict, dbt selectors, console scripts and CLI subcommands, "
        "task values read by condition tasks, jobs started by run_job tasks. Exit 1 on a "
        "problem.",
        epilog=VALIDATE_EXAMPLE,
        formatter_class=HelpFormatter,
    )
    validate.add_argument(
        "--target",
        action="append",
        default=None,
        help="target to check (repeatable; if not given: every target of databricks.yml)",
    )
    validate.add_argument(
        "--schema",
        type=Path,
        default=None,
        help="bundle JSON schema (if not given: $CLAIMS_FRAUD_BUNDLE_SCHEMA, else "
        "schemas/databricks-bundle.schema.json in the project)",
    )
    run = actions.add_parser(
        "run",
        help="run one job's tasks in dependency order on the local target; exit 1 if a task failed",
        description="Run one job's tasks in dependency order on the local target (dbt "
        "--target local, Databricks-only options translated; condition tasks evaluated from "
        "the local task values, run_job tasks run the other job here). Prints one line per "
        "task step with its elapsed seconds and a digest of its output; the whole output is in "
        "<local-dir>/logs/<job>/<task>.log, library warnings in <local-dir>/logs/warnings.log, "
        "timings in --timings. Exit 1 if a task failed.",
        epilog=RUN_EXAMPLE,
        formatter_class=HelpFormatter,
    )
    run.add_argument("job", help="job resource key, e.g. claims_fraud_pipeline")
    run.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    run.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="TASK",
        help="count this task as done without running it (repeatable)",
    )
    run.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TASK",
        help="run only this task (repeatable); the others count as done",
    )
    run.add_argument(
        "--target",
        default=None,
        help="bundle target whose variables apply (if not given: its default)",
    )
    run.add_argument(
        "--duckdb",
        type=Path,
        default=None,
        help="DuckDB file of the dbt and CLI tasks (if not given: $CLAIMS_FRAUD_DUCKDB_PATH, "
        "else each one's own default)",
    )
    run.add_argument(
        "--local-dir",
        type=Path,
        default=None,
        help="where logs, task values and volume paths land locally (if not given: "
        "$CLAIMS_FRAUD_LOCAL_DIR, else the folder of the DuckDB file, else .local)",
    )
    run.add_argument(
        "--timings",
        type=Path,
        default=None,
        help="JSON file the per-task timings are appended to, for `claims-fraud summary` "
        "(if not given: <local-dir>/logs/timings.json)",
    )
    run.add_argument(
        "--params",
        action="append",
        default=[],
        metavar="NAME=VALUE[,NAME=VALUE...]",
        help="job parameters for this run, as `databricks bundle run --params` takes them "
        "(repeatable); the job's defaults otherwise",
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="every line of every task on the terminal instead of the digest",
    )
    for sub in (validate, run):
        sub.add_argument(
            "--var",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="set a bundle variable, as `databricks bundle ... --var` does (repeatable)",
        )
        sub.add_argument(
            "--project-dir",
            type=Path,
            default=Path(os.environ.get("DBT_PROJECT_DIR", ".")),
            help="folder of databricks.yml ($DBT_PROJECT_DIR)",
        )


def _job_parameters(items: list[str], job: dict, key: str) -> dict[str, str]:
    """``--params a=1,b=2`` as {a: 1, b: 2}; a name the job does not declare is refused."""
    from claims_fraud.deploy import bundle

    declared = [str(p["name"]) for p in job.get("parameters") or []]
    values = dict(_name_value(pair) for item in items for pair in item.split(",") if pair)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise bundle.BundleError(
            f"--params {', '.join(unknown)}: job {key} has no such parameter "
            f"(it has: {', '.join(declared) or 'none'})"
        )
    return values


def _name_value(item: str) -> tuple[str, str]:
    from claims_fraud.deploy.bundle import BundleError

    name, sep, value = item.partition("=")
    if not sep or not name:
        raise BundleError(f"--var {item!r}: expected NAME=VALUE")
    return name, value


def run(args: argparse.Namespace) -> int:
    from claims_fraud.deploy import bundle

    try:
        variables = dict(_name_value(item) for item in args.var)
        if args.bundle_action == "run":
            return _run_job(args, variables)
        return _validate(args, variables)
    except bundle.BundleError as exc:
        return fail("bundle", exc)


def _run_job(args: argparse.Namespace, variables: dict[str, str]) -> int:
    from claims_fraud.deploy import bundle

    duckdb = args.duckdb or bundle.LocalSettings.from_env().duckdb
    local_dir = args.local_dir or default_local_dir(duckdb)
    settings = bundle.LocalSettings(
        duckdb=duckdb,
        local_dir=local_dir,
        project_dir=args.project_dir,
        verbose=args.verbose,
    )
    config = bundle.load_bundle(args.project_dir, args.target, variables=variables)
    jobs = bundle.jobs(config)
    if args.job not in jobs:
        print(f"claims-fraud bundle run: error: no job {args.job!r} (have: {sorted(jobs)})")
        return EXIT_USAGE
    started = datetime.now(UTC)
    results: list[bundle.TaskResult] = []
    code = bundle.run_job(
        jobs[args.job],
        settings,
        dry_run=args.dry_run,
        skip=args.skip,
        only=args.only,
        key=args.job,
        bundle_jobs=jobs,
        results=results,
        parameters=_job_parameters(args.params, jobs[args.job], args.job),
    )
    if not args.dry_run:
        bundle.record_run(
            args.timings or local_dir / "logs" / "timings.json", args.job, started, results
        )
    return code


def _validate(args: argparse.Namespace, variables: dict[str, str]) -> int:
    from claims_fraud.cli.main import cli_spec
    from claims_fraud.deploy import bundle

    root = args.project_dir
    bundle.require_validation_packages()
    schema = bundle.find_schema(root, args.schema)
    document = bundle.load_document(root)
    targets = args.target or sorted(document.get("targets") or {})
    print(f"schema: {schema}")
    print(
        "checks: JSON schema (whole document and per target), databricks-bundles Job.from_dict, "
        "dbt commands and selectors, wheel package, entry points, CLI subcommands and options, "
        "depends_on (known tasks, no cycle), job clusters, run_if, condition tasks (task values "
        "an upstream task sets, outcomes), run_job tasks (a job of the bundle, its parameters)"
    )
    problems = bundle.validate_schema(document, schema)
    print(f"databricks.yml + includes (all targets): {len(problems)} schema problem(s)")
    for target in targets:
        report = bundle.validate_target(root, target, schema, variables, cli=cli_spec())
        checked = ", ".join(f"{job} ({n} tasks)" for job, n in report.jobs.items()) or "no jobs"
        others = ", ".join(f"{n} {kind}" for kind, n in report.other_resources.items())
        status = "ok" if not report.problems else f"{len(report.problems)} problem(s)"
        print(f"target {target}: {status}: {checked}" + (f"; {others}" if others else ""))
        problems += [f"target {target}: {p}" for p in report.problems]
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else EXIT_OK
