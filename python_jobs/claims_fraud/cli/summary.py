"""`claims-fraud summary`: what `make run` prints at the end: rows per table, quarantine by
reason, the task timings of the local bundle runs, the champion's validation metrics, one line
of monitoring verdicts per batch, the latest batch's SIU review queue and member tours, and where
to look next (report, MLflow UI, dbt docs, task logs)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from claims_fraud.cli.common import add_local_store_arguments
from claims_fraud.monitoring.report.queue import member_tour_counts
from claims_fraud.warehouse.connections import quote_identifier

# Layers in flow order; a relation is listed under the first layer whose prefix it matches.
LAYER_PREFIXES: tuple[tuple[str, str], ...] = (
    ("staging", "stg_"),
    ("validation", "int_claim_lines_"),
    ("validation", "claims_quarantine"),
    ("intermediate", "int_"),
    ("features", "fct_"),
    ("reference", "ref_"),
    ("reference", "monitoring_"),
)


@dataclass(frozen=True)
class TableCount:
    """Row count of one relation the dbt build wrote."""

    layer: str
    schema: str
    name: str
    kind: str
    rows: int


@dataclass(frozen=True)
class RunSummary:
    """What one local run produced."""

    duckdb_path: Path
    tables: tuple[TableCount, ...]
    quarantine_by_reason: tuple[tuple[str, int], ...]
    raw_lines: int
    valid_lines: int
    quarantined_lines: int


def layer_of(name: str) -> str | None:
    """The flow layer a relation belongs to, from its name; None for relations we do not own."""
    for layer, prefix in LAYER_PREFIXES:
        if name.startswith(prefix):
            return layer
    return None


def _schema_of(con: duckdb.DuckDBPyConnection, name: str) -> str:
    row = con.execute(
        "select table_schema from information_schema.tables where table_name = ? "
        "order by table_schema limit 1",
        [name],
    ).fetchone()
    if row is None:
        raise LookupError(
            f"table {name} not found in the DuckDB file: run `dbt build` first (make run does)"
        )
    return str(row[0])


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def collect_summary(duckdb_path: Path) -> RunSummary:
    """Read row counts and the quarantine breakdown from the local DuckDB file (read-only)."""
    if not duckdb_path.exists():
        raise FileNotFoundError(f"DuckDB file {duckdb_path} does not exist: run `make run` first")
    # Relation names below come from information_schema and are quoted, never from user input.
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "order by table_schema, table_name"
        ).fetchall()
        tables = []
        for schema, name, kind in relations:
            layer = layer_of(name)
            if layer is None:
                continue
            kind_label = "view" if kind == "VIEW" else "table"
            rows = _scalar(con, f"select count(*) from {quote_identifier(schema, name)}")  # noqa: S608
            tables.append(TableCount(layer, schema, name, kind_label, rows))

        quarantine = quote_identifier(_schema_of(con, "claims_quarantine"), "claims_quarantine")
        raw = quote_identifier(
            _schema_of(con, "stg_claims__medical_claim"), "stg_claims__medical_claim"
        )
        valid = quote_identifier(
            _schema_of(con, "int_claim_lines_validated"), "int_claim_lines_validated"
        )
        by_reason = con.execute(
            "select reason, count(*) as line_count from ("  # noqa: S608
            f"select unnest(string_split(rejection_reasons, ',')) as reason from {quarantine}"
            ") group by reason order by line_count desc, reason"
        ).fetchall()
        raw_lines = _scalar(con, f"select count(*) from {raw}")  # noqa: S608
        valid_lines = _scalar(con, f"select count(*) from {valid}")  # noqa: S608
        quarantined_lines = _scalar(con, f"select count(*) from {quarantine}")  # noqa: S608

    layer_order = {layer: index for index, (layer, _) in enumerate(LAYER_PREFIXES)}
    tables.sort(key=lambda table: (layer_order[table.layer], table.name))
    return RunSummary(
        duckdb_path=duckdb_path,
        tables=tuple(tables),
        quarantine_by_reason=tuple((str(reason), int(count)) for reason, count in by_reason),
        raw_lines=int(raw_lines),
        valid_lines=int(valid_lines),
        quarantined_lines=int(quarantined_lines),
    )


def format_summary(summary: RunSummary) -> str:
    """Plain-text report for a terminal."""
    lines = ["", "Rows per table", "--------------"]
    for table in summary.tables:
        lines.append(
            f"  {table.layer:<13} {table.schema + '.' + table.name:<55} {table.kind:<5} "
            f"{table.rows:>12,}"
        )
    share = summary.quarantined_lines / summary.raw_lines if summary.raw_lines else 0.0
    lines += [
        "",
        f"Raw claim lines {summary.raw_lines:,} = valid {summary.valid_lines:,}"
        f" + quarantined {summary.quarantined_lines:,} ({share:.2%})",
        "",
        "Quarantined lines by reason (a line can have several)",
        "-----------------------------------------------------",
    ]
    lines += [f"  {reason:<24} {count:>10,}" for reason, count in summary.quarantine_by_reason]
    quarantine_schema = next(
        (table.schema for table in summary.tables if table.name == "claims_quarantine"), "main"
    )
    lines += [
        "",
        f"DuckDB file: {summary.duckdb_path}",
        '  query it:  uv run python -c "import duckdb; '
        f"print(duckdb.connect('{summary.duckdb_path}', read_only=True)"
        f".sql('from {quarantine_schema}.claims_quarantine limit 5'))\"",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class ScoringSummary:
    """The champion that scored the latest batch, its validation metrics, what it flagged."""

    model_name: str
    model_version: str
    batch_id: str
    scored_claims: int
    flagged_claims: int
    metrics: dict[str, float]


def collect_scoring_summary(
    duckdb_path: Path, mlflow_dir: Path | None = None
) -> ScoringSummary | None:
    """None when nothing has been scored yet."""
    from mlflow.exceptions import MlflowException  # only here: `--help` loads no MLflow

    from claims_fraud.ml.tracking import MlflowSettings

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        found = con.execute(
            "select table_schema from information_schema.tables where table_name = 'fraud_scores'"
        ).fetchall()
        if not found:
            return None
        scores = quote_identifier(found[0][0], "fraud_scores")
        latest = con.execute(
            "select batch_id, model_name, model_version, run_id, count(*), "  # noqa: S608
            f"count_if(is_flagged) from {scores} "
            # the latest batch: scored last, and of one run's batches the latest window
            "group by all order by max(scored_at) desc, max(window_start) desc nulls last, "
            "batch_id desc limit 1"
        ).fetchall()
    if not latest:
        return None
    batch_id, model_name, model_version, run_id, scored, flagged = latest[0]
    settings = MlflowSettings.local(mlflow_dir)
    try:
        metrics = settings.activate().get_run(run_id).data.metrics
    except MlflowException:  # scored by a model from another MLflow store
        metrics = {}
    return ScoringSummary(
        str(model_name), str(model_version), str(batch_id), int(scored), int(flagged), metrics
    )


def format_scoring_summary(summary: ScoringSummary | None) -> str:
    if summary is None:
        return "\nNo claims scored yet: `make train` then `make score`.\n"
    shown = ("roc_auc", "pr_auc", "precision_at_budget", "recall_at_budget", "brier")
    ground_truth = ("gt_pr_auc", "gt_precision_at_budget", "gt_recall_at_budget")
    lines = [
        "",
        f"Champion: {summary.model_name} v{summary.model_version}",
        "  validation (SIU labels): "
        + (
            ", ".join(
                f"{name} {summary.metrics[name]:.3f}" for name in shown if name in summary.metrics
            )
            or "metrics not found in this MLflow store (pass --mlflow-dir)"
        ),
    ]
    if any(name in summary.metrics for name in ground_truth):
        lines.append(
            "  validation (synthetic ground truth): "
            + ", ".join(
                f"{name.removeprefix('gt_')} {summary.metrics[name]:.3f}"
                for name in ground_truth
                if name in summary.metrics
            )
        )
    share = summary.flagged_claims / summary.scored_claims if summary.scored_claims else 0.0
    lines += [
        f"Batch {summary.batch_id}: {summary.scored_claims:,} claims scored, "
        f"{summary.flagged_claims:,} flagged for SIU review ({share:.1%})",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class BatchVerdicts:
    """One monitored batch as `make run` shows it: the worst PSI, the disparate impact
    verdicts, and the estimated and realized precision."""

    batch_id: str
    window_start: Any
    claims: int
    flagged: int
    worst_feature: str | None
    worst_psi: float | None
    psi_status: str
    di_fail: int
    di_warn: int
    expected_precision: float | None
    realized_precision: float | None
    labelled_flagged: int
    performance_status: str


MONITORING_TIMELINE_SQL = """
with ranked as (
    select
        *,
        -- the worst verdict first (error, then warn), then the largest PSI
        1000 * case status when 'error' then 2 when 'warn' then 1 else 0 end
            + coalesce(psi, -1) as severity
    from {psi}
),
psi as (
    select
        batch_id,
        arg_max(feature_name, severity) as worst_feature,
        arg_max(psi, severity) as worst_psi,
        case
            when count_if(status = 'error') > 0 then 'error'
            when count_if(status = 'warn') > 0 then 'warn'
            when count_if(status in ('no_data', 'missing_reference')) > 0 then max(status)
            else 'ok'
        end as psi_status
    from ranked
    group by batch_id
),
di as (
    select
        batch_id,
        count_if(status = 'fail') as di_fail,
        count_if(status like 'warn%') as di_warn
    from {di}
    group by batch_id
)
select
    batches.batch_id,
    batches.window_start,
    batches.n_claims,
    coalesce(performance.n_flagged, 0),
    psi.worst_feature,
    psi.worst_psi,
    coalesce(psi.psi_status, 'not monitored'),
    coalesce(di.di_fail, 0),
    coalesce(di.di_warn, 0),
    performance.expected_precision,
    performance.realized_precision,
    coalesce(performance.n_labelled_flagged, 0),
    coalesce(performance.status, 'not monitored')
from {batches} as batches
left join psi on batches.batch_id = psi.batch_id
left join di on batches.batch_id = di.batch_id
left join {performance} as performance on batches.batch_id = performance.batch_id
order by batches.window_start nulls first, batches.batch_id
"""


def collect_monitoring_timeline(duckdb_path: Path) -> list[BatchVerdicts]:
    """Every monitored batch in window order; [] before the monitoring models are built."""
    names = ("mon_batches", "mon_feature_psi", "mon_disparate_impact", "mon_model_performance")
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        found = dict(
            con.execute(
                "select table_name, table_schema from information_schema.tables "
                "where table_name in (?, ?, ?, ?)",
                list(names),
            ).fetchall()
        )
        if set(found) != set(names):
            return []
        # relations quoted by quote_identifier; nothing from outside reaches the text
        sql = MONITORING_TIMELINE_SQL.format(
            batches=quote_identifier(found["mon_batches"], "mon_batches"),
            psi=quote_identifier(found["mon_feature_psi"], "mon_feature_psi"),
            di=quote_identifier(found["mon_disparate_impact"], "mon_disparate_impact"),
            performance=quote_identifier(found["mon_model_performance"], "mon_model_performance"),
        )
        rows = con.execute(sql).fetchall()
    return [BatchVerdicts(*row) for row in rows]


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_monitoring_timeline(batches: list[BatchVerdicts]) -> str:
    """One line per batch: claims, flags, the PSI verdict (the input with the worst status,
    then the largest PSI), disparate impact, precision."""
    if not batches:
        return "\nNo batch monitored yet: `make monitor`."
    header = (
        f"{'batch':<22}{'claims':>8}{'flagged':>8}  {'PSI (worst input)':<34}{'DI fail/warn':>13}"
        f"  {'precision est./real. (n)':<25}performance"
    )
    lines = ["", f"Monitoring over time ({len(batches)} batch(es); report for the charts):", header]
    for batch in batches:
        psi = (
            f"{batch.psi_status} {_number(batch.worst_psi, '.3f')} {batch.worst_feature}"
            if batch.worst_feature
            else batch.psi_status
        )
        precision = (
            f"{_number(batch.expected_precision, '.2f')} / "
            f"{_number(batch.realized_precision, '.2f')} ({batch.labelled_flagged})"
        )
        lines.append(
            f"{batch.batch_id[:21]:<22}{batch.claims:>8,}{batch.flagged:>8,}  {psi[:33]:<34}"
            f"{f'{batch.di_fail}/{batch.di_warn}':>13}  {precision:<25}{batch.performance_status}"
        )
    return "\n".join(lines)


QUEUE_ROWS = 10


def collect_review_queue(duckdb_path: Path, batch_id: str, rows: int = QUEUE_ROWS) -> list[tuple]:
    """The first ``rows`` of a batch's siu_review_queue (rank, claim, paid, probability,
    expected amount, first reason), plus its length and capacity as the last item; [] when
    the queue is not built."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        found = con.execute(
            "select table_schema from information_schema.tables "
            "where table_name = 'siu_review_queue'"
        ).fetchall()
        if not found:
            return []
        queue = quote_identifier(found[0][0], "siu_review_queue")
        top = con.execute(
            "select queue_rank, claim_id, total_paid_amount, fraud_probability, "  # noqa: S608
            f"expected_recoverable_amount, reason_1, reason_2, reason_3 from {queue} "
            "where batch_id = ? order by queue_rank limit ?",
            [batch_id, rows],
        ).fetchall()
        size = con.execute(
            f"select count(*), count_if(is_within_capacity) from {queue} where batch_id = ?",  # noqa: S608
            [batch_id],
        ).fetchall()[0]
    return [*top, size] if top else []


def format_review_queue(batch_id: str, queue: list[tuple]) -> str:
    """The top of the SIU review queue, each claim with its reasons."""
    if not queue:
        return ""
    *top, (size, within) = queue
    lines = [
        "",
        f"SIU review queue, batch {batch_id}: {size:,} flagged claims, {within:,} within "
        "capacity (siu_review_queue; ranked by probability x paid amount)",
        f"  {'#':>3}  {'claim':<14} {'paid USD':>10}  {'prob':>5}  {'expected':>9}  why",
    ]
    for rank, claim, paid, probability, expected, *reasons in top:
        paid_text = "n/a" if paid is None else f"{float(paid):,.0f}"
        shown = [reason for reason in reasons if reason]
        lines.append(
            f"  {rank:>3}  {claim:<14} {paid_text:>10}  {probability:>5.2f}  "
            f"{expected:>9,.0f}  {shown[0] if shown else '(no reason recorded)'}"
        )
        lines += [
            f"  {'':>3}  {'':<14} {'':>10}  {'':>5}  {'':>9}  {reason}" for reason in shown[1:]
        ]
    return "\n".join(lines)


def collect_member_tours(duckdb_path: Path, batch_id: str) -> tuple[int, int, int] | None:
    """A batch's member tours (siu_member_tours), counted as the report counts them
    (``member_tour_counts``); None when the table is not built."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        try:
            tours = quote_identifier(_schema_of(con, "siu_member_tours"), "siu_member_tours")
        except LookupError:
            return None
        rows = con.execute(
            f"select flagged_claim_id, claim_id, is_flagged from {tours} where batch_id = ?",  # noqa: S608
            [batch_id],
        ).df()
    return member_tour_counts(rows)


def format_member_tours(batch_id: str, tours: tuple[int, int, int]) -> str:
    """One line: the batch's flagged tour stops and the other stops the SIU reviews with them."""
    stops, others, not_flagged = tours
    return (
        f"Member tours, batch {batch_id}: {stops:,} flagged claims are stops of a member's tour "
        f"of new providers; {others:,} other stops ({not_flagged:,} not flagged themselves) "
        "to review with them (siu_member_tours)"
    )


def format_timings(runs: list[dict[str, Any]], path: Path) -> str:
    """The task timings of the recorded local bundle runs: task, seconds, state; tasks that a
    run left out (--skip/--only) are not listed."""
    if not runs:
        return f"\nNo task timings yet ({path}): `claims-fraud bundle run JOB` records them.\n"
    lines = ["", f"Task timings ({path})", f"  {'task':<36} {'seconds':>8}  status"]
    total = 0.0
    for run in runs:
        job = None
        for task in run.get("tasks") or []:
            if task["state"] == "not run":
                continue
            if task["job"] != job:
                job = task["job"]
                started = run["started_at"] if job == run["job"] else f"started by {run['job']}"
                lines.append(f"  {job} ({started})")
            seconds = float(task["seconds"])
            total += seconds
            lines.append(f"    {task['task_key']:<34} {seconds:>8.1f}  {task['state']}")
    lines.append(f"  {'total':<36} {total:>8.1f}")
    return "\n".join(lines)


def format_next_steps(report: Path, logs: Path) -> str:
    """Where to look next: the report, the MLflow UI, dbt docs, the task logs."""
    found = str(report.resolve()) if report.is_file() else f"{report} (not written yet)"
    return "\n".join(
        [
            "",
            f"Report:     {found}",
            "MLflow UI:  make mlflow-ui   (http://localhost:5000)",
            "dbt docs:   make docs        (http://localhost:8080)",
            f"Task logs:  {logs}/<job>/<task>.log   (library warnings: {logs}/warnings.log)",
            "",
        ]
    )


EXAMPLE = "example:\n  claims-fraud summary --duckdb .local/claims_fraud.duckdb"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_local_store_arguments(parser)
    parser.add_argument(
        "--timings",
        type=Path,
        default=None,
        help="timings file of `claims-fraud bundle run` (if not given: logs/timings.json "
        "beside the DuckDB file)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="the monitoring report (if not given: monitoring_report.html beside the DuckDB file)",
    )


def run(args: argparse.Namespace) -> int:
    import sys

    from claims_fraud.deploy.run_output import read_runs

    try:
        summary = collect_summary(args.duckdb)
    except (FileNotFoundError, LookupError) as exc:
        print(f"claims-fraud summary: error: {exc}", file=sys.stderr)
        return 2
    local_dir = args.duckdb.parent
    timings = args.timings or local_dir / "logs" / "timings.json"
    try:
        runs = read_runs(timings)
    except ValueError as exc:
        print(f"claims-fraud summary: error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary))
    print(format_timings(runs, timings))
    scoring = collect_scoring_summary(args.duckdb, args.mlflow_dir)
    print(format_scoring_summary(scoring))
    print(format_monitoring_timeline(collect_monitoring_timeline(args.duckdb)))
    if scoring is not None:
        queue = collect_review_queue(args.duckdb, scoring.batch_id)
        print(format_review_queue(scoring.batch_id, queue))
        tours = collect_member_tours(args.duckdb, scoring.batch_id)
        if tours is not None:
            print(format_member_tours(scoring.batch_id, tours))
    print(
        format_next_steps(args.report or local_dir / "monitoring_report.html", local_dir / "logs")
    )
    return 0
