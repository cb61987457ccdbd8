"""`claims-fraud alerts`: turn the monitoring verdicts of the latest batch into alerts.

The monitoring models (models/monitoring) already hold every statistic and its status; this
job only reads them for one batch (the most recently scored one unless told otherwise) and:

1. builds one alert per non-passing verdict: drifted features with the bin that drove the
   drift, the score distribution, disparate impact by group with its confidence interval,
   volume and null rates, an empty batch, a missing reference profile, and the performance
   verdicts (mon_model_performance) of every batch of the model version that scored it (the
   batch's own SIU outcomes have not arrived yet);
2. prints a readable summary and sends it to the configured channels through apprise
   (``slack://...``, ``mailto://...``, ``json://host/path`` for a generic webhook, ...; no
   channel configured means print only). Every channel URL is checked with apprise before
   anything else: an unknown scheme or a malformed URL is refused at start, naming the URL
   (redacted) and how to fix it. Each channel is shown and recorded by a label without
   secrets (scheme, host, port, path; credentials, tokens and query values as ``***``) that
   tells two channels on one host apart;
3. asks for retraining when the score PSI or a feature PSI is at ``error``: in the bundle's
   pipeline job (on Databricks and in the local runner) the CLI sets the task value
   ``retrain`` and the job's own condition task starts the training job (a ``run_job_task``);
   run on its own, ``claims-fraud alerts`` runs that training job here (``claims-fraud bundle
   run claims_fraud_training``: dbt's train selector, then the promotion gate);
4. appends every alert, the batch summary and the trigger to ``mon_alerts``, with the
   channels and whether delivery worked, so nothing is lost when a channel is down;
5. exits non-zero when anything is at error or fail, or when a channel did not get the
   summary, so the pipeline run fails visibly.

Exit codes (``claims-fraud alerts``; any non-zero code fails the bundle task and
``make monitor``):

- ``EXIT_OK`` (0): nothing at error or fail, and every configured channel got the summary
  (or none is configured: print only);
- ``EXIT_ALERT`` (1): something is at error or fail, and every configured channel got it;
- ``EXIT_REFUSED`` (2, the CLI's usage error): refused at start, nothing read, sent or
  recorded: an unknown or malformed channel URL; also missing monitoring tables or an
  unknown batch (then nothing is sent or recorded either);
- ``EXIT_DELIVERY_FAILED`` (3): at least one configured channel did not get the summary
  (unreachable, refused, rejected). It wins over ``EXIT_ALERT``: an alert that someone who
  should have been told never saw is the more urgent fault, and the verdict is still in
  ``mon_alerts`` and the printed output. Every channel is still tried, and ``mon_alerts``
  records which ones failed (summary row: ``details.deliveries``).
"""

from __future__ import annotations

import json
import math
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from claims_fraud.monitoring.channels import (  # noqa: F401 - the alerts job's public API
    ChannelConfigError,
    Delivery,
    channel_labels,
    channel_problem,
    channel_urls,
    check_channels,
    redact,
    send,
)
from claims_fraud.monitoring.report import bin_label
from claims_fraud.warehouse.connections import TableNotFoundError, Warehouse

ALERTS_TABLE = "mon_alerts"
ERROR, WARN, INFO, OK = "error", "warn", "info", "ok"
EXIT_OK, EXIT_ALERT, EXIT_REFUSED, EXIT_DELIVERY_FAILED = 0, 1, 2, 3
SCORE_FEATURE = "fraud_probability"

# Status -> severity, per monitoring table (statuses not listed pass silently: ok,
# insufficient_evidence, insufficient_history, pass).
PSI_SEVERITY = {"error": ERROR, "missing_reference": ERROR, "warn": WARN}
SCORE_SEVERITY = {"error": ERROR, "missing_reference": ERROR, "warn": WARN}
DISPARATE_IMPACT_SEVERITY = {
    "fail": ERROR,
    "warn_not_significant": WARN,
    "warn_significant_within_band": WARN,
    "insufficient_data": WARN,
}
VOLUME_SEVERITY = {"error": ERROR, "warn": WARN}
# Performance is judged on every batch of the model version that scored the alerted batch (its
# own outcomes have not arrived yet): insufficient_data is neither, outcomes lag by design.
PERFORMANCE_SEVERITY = {
    "error": ERROR,
    "warn": WARN,
    "warn_estimated": WARN,
    "missing_reference": WARN,
}


class MonitoringNotRunError(LookupError):
    """The monitoring tables are missing or hold no batch."""


@dataclass(frozen=True)
class Alert:
    alert_type: str  # batch, feature_drift, score_distribution, disparate_impact, volume, ...
    severity: str  # error, warn, info, ok
    subject: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchAlerts:
    """The alerts of one monitored batch."""

    batch_id: str
    model_version: str | None
    scored_at: datetime | None
    alerts: tuple[Alert, ...]
    drifted: tuple[str, ...]  # features (and fraud_probability) whose PSI is at error

    @property
    def worst(self) -> str:
        severities = {alert.severity for alert in self.alerts}
        return ERROR if ERROR in severities else WARN if WARN in severities else OK

    @property
    def needs_retraining(self) -> bool:
        return bool(self.drifted)


# --- reading the verdicts -----------------------------------------------------------------------


def _read(warehouse: Warehouse, table: str) -> pd.DataFrame:
    try:
        return warehouse.read(table)
    except TableNotFoundError as exc:
        raise MonitoringNotRunError(
            f"{exc}; build the monitoring models first (`make monitor` or "
            "`dbt build --selector monitor`)"
        ) from exc


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _fmt(value: Any, spec: str = ".3f") -> str:
    number = _number(value)
    return "n/a" if number is None else format(number, spec)


def latest_batch(scores: pd.DataFrame) -> str:
    if scores.empty:
        raise MonitoringNotRunError("mon_score_distribution holds no batch yet: run `make monitor`")
    ordered = scores.sort_values(["scored_at", "batch_id"])
    return str(ordered["batch_id"].iloc[-1])


def _feature_alerts(psi: pd.DataFrame, model_version: Any) -> tuple[list[Alert], list[str]]:
    alerts, drifted = [], []
    for row in psi.sort_values("psi", ascending=False, na_position="last").itertuples():
        severity = PSI_SEVERITY.get(row.status)
        if severity is None:
            continue
        if row.status == "error":
            drifted.append(row.feature_name)
        if row.status == "missing_reference":
            message = (
                f"{row.feature_name}: no reference profile for model version {model_version}; "
                "rebuild the score selector (ml_reference_profile) for the champion"
            )
        else:
            top = bin_label(
                row.top_bin_kind,
                row.top_bin_lower_bound,
                row.top_bin_upper_bound,
                row.top_bin_level,
            )
            message = (
                f"{row.feature_name}: PSI {_fmt(row.psi)} (critical value "
                f"{_fmt(row.critical_value, '.4f')}) is {row.status}; driven by bin {top}: "
                f"{_fmt(row.top_bin_reference_share, '.1%')} of the reference, "
                f"{_fmt(row.top_bin_current_share, '.1%')} of the batch"
            )
        alerts.append(
            Alert(
                "score_drift" if row.feature_name == SCORE_FEATURE else "feature_drift",
                severity,
                row.feature_name,
                message,
                {
                    "status": row.status,
                    "psi": _number(row.psi),
                    "critical_value": _number(row.critical_value),
                    "top_bin_index": _number(row.top_bin_index),
                    "top_bin_contribution": _number(row.top_bin_contribution),
                },
            )
        )
    return alerts, drifted


def _score_alert(row: pd.Series) -> Alert | None:
    severity = SCORE_SEVERITY.get(row["status"])
    if severity is None:
        return None
    message = (
        f"score distribution is {row['status']}: score PSI {_fmt(row['score_psi'])} "
        f"({row['score_psi_status']}), KS {_fmt(row['ks_statistic'])}, flag rate "
        f"{_fmt(row['flag_rate'], '.2%')} against the {_fmt(row['expected_flag_rate'], '.0%')} "
        f"budget (p = {_fmt(row['flag_rate_p_value'], '.3g')}), "
        f"p95 {_fmt(row['fraud_probability_p95'])}"
    )
    details = {
        key: _number(row[key])
        for key in ("score_psi", "ks_statistic", "flag_rate", "flag_rate_p_value")
    }
    return Alert("score_distribution", severity, SCORE_FEATURE, message, details)


def _outside_band(row: Any) -> str:
    """', p outside the band X' when the band test applies (fail needs it below alpha)."""
    value = _number(getattr(row, "p_outside_band_adjusted", None))
    return "" if value is None else f", p outside the band {_fmt(value, '.3g')}"


def _disparate_impact_alerts(rows: pd.DataFrame) -> list[Alert]:
    alerts = []
    for row in rows.itertuples():
        severity = DISPARATE_IMPACT_SEVERITY.get(row.status)
        if severity is None or row.group_name is None or pd.isna(row.group_name):
            continue
        ci = (
            f"95% CI {_fmt(row.ci_low, '.2f')} to {_fmt(row.ci_high, '.2f')}"
            if _number(row.ci_low) is not None
            else "no CI"
        )
        message = (
            f"{row.attribute_name} = {row.group_name}: flag rate {_fmt(row.flag_rate, '.2%')} vs "
            f"{_fmt(row.reference_flag_rate, '.2%')} for {row.reference_group}, disparate impact "
            f"{_fmt(row.disparate_impact, '.2f')} ({ci}), p adjusted "
            f"{_fmt(row.p_adjusted, '.3g')}{_outside_band(row)}, smallest expected cell "
            f"{_fmt(row.min_expected_cell, '.1f')}: {row.status}"
        )
        details = {
            "status": row.status,
            "disparate_impact": _number(row.disparate_impact),
            "ci_low": _number(row.ci_low),
            "ci_high": _number(row.ci_high),
            "p_adjusted": _number(row.p_adjusted),
            "p_outside_band_adjusted": _number(getattr(row, "p_outside_band_adjusted", None)),
            "reference_group": row.reference_group,
        }
        alerts.append(
            Alert(
                "disparate_impact",
                severity,
                f"{row.attribute_name}={row.group_name}",
                message,
                details,
            )
        )
    return alerts


def _volume_alerts(rows: pd.DataFrame) -> list[Alert]:
    alerts = []
    for row in rows.itertuples():
        severity = VOLUME_SEVERITY.get(row.status)
        if severity is None:
            continue
        what = "claims" if row.metric_name == "row_count" else f"null rate of {row.subject}"
        spec = ",.0f" if row.metric_name == "row_count" else ".2%"
        message = (
            f"{what}: {_fmt(row.value, spec)} against a trailing mean of "
            f"{_fmt(row.trailing_mean, spec)} over {row.history_batches} batches "
            f"(z = {_fmt(row.z_score, '.1f')}): {row.status}"
        )
        details = {"status": row.status, "value": _number(row.value), "z": _number(row.z_score)}
        alerts.append(
            Alert("volume", severity, f"{row.metric_name}:{row.subject}", message, details)
        )
    return alerts


def _performance_alerts(rows: pd.DataFrame) -> list[Alert]:
    alerts = []
    for row in rows.sort_values("batch_id").itertuples():
        severity = PERFORMANCE_SEVERITY.get(row.status)
        if severity is None:
            continue
        if row.status == "warn_estimated":
            expected = _fmt(row.expected_precision, ".2f")
            reference = _fmt(row.reference_expected_precision, ".2f")
            what = (
                f"expected precision {expected} of {row.n_flagged} flagged claims against "
                f"{reference} on the validation window (outcomes so far: "
                f"{row.n_labelled_flagged} of the flagged)"
            )
        elif row.status == "missing_reference":
            what = (
                f"model version {row.model_version} has no calibration (ml_score_calibration): "
                "run the score step"
            )
        else:
            low, high = _fmt(row.precision_ci_low, ".2f"), _fmt(row.precision_ci_high, ".2f")
            what = (
                f"precision {_fmt(row.realized_precision, '.2f')} (95% CI {low} to {high}) "
                f"on {row.n_labelled_flagged} flagged claims with an SIU outcome, against "
                f"{_fmt(row.reference_precision, '.2f')} on the validation window "
                f"(p {_fmt(row.precision_p_value, '.3g')}); calibration p "
                f"{_fmt(row.calibration_p_value, '.3g')}"
            )
        details = {
            "status": row.status,
            "realized_precision": _number(row.realized_precision),
            "expected_precision": _number(row.expected_precision),
        }
        alerts.append(
            Alert(
                "performance",
                severity,
                str(row.batch_id),
                f"batch {row.batch_id}: {what}: {row.status}",
                details,
            )
        )
    return alerts


def collect_batch_alerts(warehouse: Warehouse, batch_id: str | None = None) -> BatchAlerts:
    """The alerts of ``batch_id`` (default: the most recently scored monitored batch)."""
    scores = _read(warehouse, "mon_score_distribution")
    batch = batch_id or latest_batch(scores)
    score_rows = scores[scores["batch_id"] == batch]
    if score_rows.empty:
        known = ", ".join(sorted(map(str, scores["batch_id"].unique()))) or "none"
        raise MonitoringNotRunError(f"batch {batch!r} is not monitored (monitored: {known})")
    score_row = score_rows.iloc[0]
    model_version = None if pd.isna(score_row["model_version"]) else str(score_row["model_version"])
    scored_at = score_row["scored_at"]

    tables = {
        name: _read(warehouse, name)
        for name in ("mon_feature_psi", "mon_disparate_impact", "mon_data_volume")
    }
    rows = {name: frame[frame["batch_id"] == batch] for name, frame in tables.items()}
    performance = _read(warehouse, "mon_model_performance")
    performance = performance[performance["model_version"].astype(str) == str(model_version)]
    if int(score_row["n"]) == 0:
        alerts = [
            Alert(
                "batch",
                ERROR,
                batch,
                f"batch {batch} has no scored claims: nothing to monitor (check the scoring "
                "window and the ingestion)",
                {"status": "no_data"},
            )
        ]
        return BatchAlerts(batch, model_version, scored_at, tuple(alerts), ())
    feature_alerts, drifted = _feature_alerts(rows["mon_feature_psi"], model_version)
    score_alert = _score_alert(score_row)
    if score_row["score_psi_status"] == "error" and SCORE_FEATURE not in drifted:
        drifted.append(SCORE_FEATURE)
    alerts = [
        *([score_alert] if score_alert else []),
        *feature_alerts,
        *_disparate_impact_alerts(rows["mon_disparate_impact"]),
        *_volume_alerts(rows["mon_data_volume"]),
        *_performance_alerts(performance),
    ]
    return BatchAlerts(batch, model_version, scored_at, tuple(alerts), tuple(drifted))


def format_summary(batch: BatchAlerts) -> str:
    """The readable summary printed and sent to the channels."""
    counts = {level: sum(a.severity == level for a in batch.alerts) for level in (ERROR, WARN)}
    head = (
        f"Claims fraud monitoring, batch {batch.batch_id} (model version "
        f"{batch.model_version or 'none'}, scored {batch.scored_at}): {batch.worst.upper()} - "
        f"{counts[ERROR]} error(s), {counts[WARN]} warning(s)"
    )
    if not batch.alerts:
        return f"{head}\nEverything within its thresholds."
    sections = (
        ("Drift", ("score_distribution", "score_drift", "feature_drift", "batch")),
        ("Disparate impact", ("disparate_impact",)),
        ("Volume and nulls", ("volume",)),
    )
    lines = [head]
    for title, kinds in sections:
        chosen = [alert for alert in batch.alerts if alert.alert_type in kinds]
        if chosen:
            lines.append(f"{title}:")
            lines.extend(f"  [{alert.severity.upper()}] {alert.message}" for alert in chosen)
    if batch.needs_retraining:
        lines.append(f"Retraining needed: PSI at error for {', '.join(batch.drifted)}.")
    return "\n".join(lines)


# --- retraining ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerResult:
    kind: str  # local (ran here) or bundle (the job's condition task starts it)
    succeeded: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


Retrainer = Callable[[BatchAlerts], TriggerResult]


def local_retrainer(
    command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> Retrainer:
    """Retrain by running ``command`` (the CLI passes ``claims-fraud bundle run
    claims_fraud_training``: the bundle's training job, promotion gate included) in ``cwd``;
    its exit code and output tail are recorded."""

    def retrain(batch: BatchAlerts) -> TriggerResult:
        result = subprocess.run(  # noqa: S603 - our own console script with fixed arguments
            list(command),
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            check=False,
        )
        shown = " ".join([Path(command[0]).name, *command[1:4]])
        tail = (result.stdout + result.stderr)[-2000:]
        return TriggerResult(
            "local",
            result.returncode == 0,
            f"`{shown}` exited {result.returncode}",
            {"returncode": result.returncode, "tail": tail},
        )

    return retrain


def job_retrainer(training_job: str) -> Retrainer:
    """Retraining left to the job that runs this one: the CLI hands the verdict on as a task
    value, and the bundle's condition task starts ``training_job`` (a run_job_task)."""

    def retrain(batch: BatchAlerts) -> TriggerResult:
        return TriggerResult(
            "bundle",
            True,
            f"requested: the pipeline's condition task starts job {training_job} "
            f"(trigger=drift, batch_id={batch.batch_id})",
            {"job": training_job},
        )

    return retrain


# --- the job ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRun:
    batch: BatchAlerts
    summary: str
    deliveries: tuple[Delivery, ...]
    trigger: TriggerResult | None

    @property
    def undelivered(self) -> tuple[Delivery, ...]:
        """The configured channels that did not get the summary."""
        return tuple(d for d in self.deliveries if not d.delivered)

    @property
    def exit_code(self) -> int:
        """See the module docstring: a failed delivery wins over the verdict."""
        if self.undelivered:
            return EXIT_DELIVERY_FAILED
        return EXIT_ALERT if self.batch.worst == ERROR else EXIT_OK


def _rows(run: AlertRun, run_id: str, created_at: datetime) -> pd.DataFrame:
    channels = ", ".join(d.channel for d in run.deliveries) or "print"
    delivered = all(d.delivered for d in run.deliveries) if run.deliveries else None
    failures = "; ".join(f"{d.channel}: {d.error}" for d in run.deliveries if not d.delivered)
    summary = Alert(
        "batch_summary",
        run.batch.worst,
        run.batch.batch_id,
        run.summary,
        {
            "alerts": len(run.batch.alerts),
            "delivery_errors": failures or None,
            "deliveries": {d.channel: d.delivered for d in run.deliveries} or None,
        },
    )
    alerts = [summary, *run.batch.alerts]
    if run.trigger is not None:
        alerts.append(
            Alert(
                "retrain_trigger",
                INFO if run.trigger.succeeded else ERROR,
                run.trigger.kind,
                run.trigger.message,
                {**run.trigger.details, "drifted": list(run.batch.drifted)},
            )
        )
    frame = pd.DataFrame(
        {
            "alert_id": [str(uuid.uuid4()) for _ in alerts],
            "alerts_run_id": run_id,
            "batch_id": run.batch.batch_id,
            "model_version": run.batch.model_version,
            "created_at": created_at,
            "alert_type": [a.alert_type for a in alerts],
            "severity": [a.severity for a in alerts],
            "subject": [a.subject for a in alerts],
            "message": [a.message for a in alerts],
            "details": [json.dumps(a.details, default=str, sort_keys=True) for a in alerts],
            "channels": channels,
            "delivered": delivered,
        }
    )
    types = dict.fromkeys(frame.columns, "string")
    types.update(created_at="datetime64[us]", delivered="boolean")
    return frame.astype(types)


def run_alerts(
    warehouse: Warehouse,
    urls: Sequence[str] = (),
    retrainer: Retrainer | None = None,
    batch_id: str | None = None,
    now: datetime | None = None,
) -> AlertRun:
    """Check the channels, collect, send, trigger and record; see the module docstring.
    Raises :class:`ChannelConfigError` before reading anything when a channel URL is bad."""
    check_channels(urls)
    batch = collect_batch_alerts(warehouse, batch_id)
    summary = format_summary(batch)
    title = f"[{batch.worst.upper()}] claims fraud monitoring, batch {batch.batch_id}"
    deliveries = tuple(send(urls, title, summary)) if urls else ()
    trigger = None
    if batch.needs_retraining and retrainer is not None:
        try:
            trigger = retrainer(batch)
        except Exception as exc:
            trigger = TriggerResult("retrain", False, f"retraining trigger failed: {exc}")
    run = AlertRun(batch, summary, deliveries, trigger)
    created_at = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    warehouse.append(ALERTS_TABLE, _rows(run, str(uuid.uuid4()), created_at))
    return run


def describe(run: AlertRun) -> str:
    lines = [run.summary]
    for delivery in run.deliveries:
        state = "sent" if delivery.delivered else f"NOT sent ({delivery.error})"
        lines.append(f"channel {delivery.channel}: {state}")
    if not run.deliveries:
        lines.append("no alert channel configured (CLAIMS_FRAUD_ALERT_URLS): printed only")
    elif run.undelivered:
        lines.append(
            f"DELIVERY FAILED: {len(run.undelivered)} of {len(run.deliveries)} channel(s) did "
            f"not get this summary (exit {EXIT_DELIVERY_FAILED})"
        )
    if run.trigger is not None:
        lines.append(f"retraining ({run.trigger.kind}): {run.trigger.message}")
    elif run.batch.needs_retraining:
        lines.append("retraining needed but not triggered (--retrain off)")
    lines.append(f"recorded in {ALERTS_TABLE}")
    return "\n".join(lines)
