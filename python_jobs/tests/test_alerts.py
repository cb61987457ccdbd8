"""The alerts job on a real DuckDB file holding monitoring tables written here, real apprise
deliveries to a local HTTP endpoint, and the retraining request: a real training command run
here (--retrain local), or task values for the bundle's condition task (--retrain task-value)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from claims_fraud.monitoring import alerts
from claims_fraud.monitoring.alerts import (
    BatchAlerts,
    MonitoringNotRunError,
    TriggerResult,
    collect_batch_alerts,
    job_retrainer,
    local_retrainer,
    redact,
    run_alerts,
    send,
)
from claims_fraud.warehouse.connections import DuckDBWarehouse

SCORED = datetime(2026, 3, 2, 6, 0)


class _Recorder(BaseHTTPRequestHandler):
    requests: list[dict] = []  # noqa: RUF012 - read by the tests
    reply: dict = {}  # noqa: RUF012

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Recorder.requests.append(
            {
                "path": self.path,
                "body": json.loads(body),
                "authorization": self.headers.get("Authorization"),
            }
        )
        out = json.dumps(_Recorder.reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[int]:
    _Recorder.requests, _Recorder.reply = [], {}
    httpd = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port
    httpd.shutdown()


def _psi_row(batch: str, feature: str, status: str, psi: float | None) -> dict:
    return {
        "batch_id": batch,
        "model_version": "3",
        "scored_at": SCORED,
        "feature_name": feature,
        "feature_type": "numeric",
        "psi": psi,
        "critical_value": 0.002,
        "status": status,
        "top_bin_index": 9,
        "top_bin_kind": "range",
        "top_bin_lower_bound": 250.0,
        "top_bin_upper_bound": np.nan,
        "top_bin_level": None,
        "top_bin_reference_share": 0.1,
        "top_bin_current_share": 0.4,
        "top_bin_contribution": 0.33,
    }


def _score_row(batch: str, n: int, status: str, psi_status: str, scored_at=SCORED) -> dict:
    return {
        "batch_id": batch,
        "model_version": "3" if n else None,
        "scored_at": scored_at,
        "n": n,
        "flag_rate": 0.05,
        "expected_flag_rate": 0.05,
        "flag_rate_p_value": 0.9,
        "fraud_probability_p95": 0.6,
        "ks_statistic": 0.2,
        "score_psi": 0.3,
        "score_psi_status": psi_status,
        "status": status,
    }


PERFORMANCE_COLUMNS = [
    "batch_id",
    "model_version",
    "status",
    "n_flagged",
    "n_labelled_flagged",
    "realized_precision",
    "precision_ci_low",
    "precision_ci_high",
    "reference_precision",
    "precision_p_value",
    "calibration_p_value",
    "expected_precision",
    "reference_expected_precision",
]


def _performance_row(batch: str, status: str, version: str = "3", precision: float = 0.5) -> dict:
    return {
        "batch_id": batch,
        "model_version": version,
        "status": status,
        "n_flagged": 50,
        "n_labelled_flagged": 30,
        "realized_precision": precision,
        "precision_ci_low": precision - 0.15,
        "precision_ci_high": precision + 0.15,
        "reference_precision": 0.85,
        "precision_p_value": 0.0004,
        "calibration_p_value": 0.2,
        "expected_precision": 0.8,
        "reference_expected_precision": 0.82,
    }


def _write(path: Path, tables: dict[str, pd.DataFrame]) -> DuckDBWarehouse:
    tables = {"mon_model_performance": pd.DataFrame(columns=PERFORMANCE_COLUMNS), **tables}
    with duckdb.connect(str(path)) as con:
        con.execute("create schema main_monitoring")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"create table main_monitoring.{name} as select * from frame")
            con.unregister("frame")
    return DuckDBWarehouse(path, default_schema="main_monitoring")


@pytest.fixture
def warehouse(tmp_path: Path) -> DuckDBWarehouse:
    """Batch b2 (latest): total_charge_amount drifted (error), claim_type warns, West fails
    disparate impact, the null rate of days_to_payment warns. Batch b1: all fine."""
    psi = pd.DataFrame(
        [
            _psi_row("b1", "total_charge_amount", "ok", 0.01),
            _psi_row("b2", "total_charge_amount", "error", 0.41),
            _psi_row("b2", "claim_type", "warn", 0.12),
            _psi_row("b2", "line_count", "insufficient_evidence", 0.11),
            _psi_row("b2", "fraud_probability", "ok", 0.02),
        ]
    )
    scores = pd.DataFrame(
        [
            _score_row("b1", 900, "ok", "ok", datetime(2026, 3, 1)),
            _score_row("b2", 1000, "ok", "ok"),
        ]
    )
    di = pd.DataFrame(
        {
            "batch_id": ["b2", "b2", "b2"],
            "attribute_name": ["member_region"] * 3,
            "group_name": ["South", "West", "Midwest"],
            "flag_rate": [0.05, 0.12, 0.05],
            "reference_group": ["South"] * 3,
            "reference_flag_rate": [0.05] * 3,
            "disparate_impact": [1.0, 2.4, 1.0],
            "ci_low": [np.nan, 1.9, 0.8],
            "ci_high": [np.nan, 3.0, 1.2],
            "p_adjusted": [np.nan, 1e-6, 1.0],
            "min_expected_cell": [40.0, 30.0, 20.0],
            "status": ["pass", "fail", "pass"],
        }
    )
    volume = pd.DataFrame(
        {
            "batch_id": ["b2", "b2"],
            "metric_name": ["row_count", "null_rate"],
            "subject": ["claims", "days_to_payment"],
            "value": [1000.0, 0.2],
            "trailing_mean": [980.0, 0.01],
            "history_batches": [6, 6],
            "z_score": [0.4, 3.5],
            "status": ["ok", "warn"],
        }
    )
    return _write(
        tmp_path / "monitoring.duckdb",
        {
            "mon_feature_psi": psi,
            "mon_score_distribution": scores,
            "mon_disparate_impact": di,
            "mon_data_volume": volume,
        },
    )


def test_latest_batch_alerts_say_what_drifted_and_which_group_failed(
    warehouse: DuckDBWarehouse,
) -> None:
    batch = collect_batch_alerts(warehouse)
    assert batch.batch_id == "b2"
    assert batch.worst == "error"
    assert batch.drifted == ("total_charge_amount",)
    by_subject = {alert.subject: alert for alert in batch.alerts}
    assert set(by_subject) == {
        "total_charge_amount",
        "claim_type",
        "member_region=West",
        "null_rate:days_to_payment",
    }
    drift = by_subject["total_charge_amount"]
    assert drift.severity == "error"
    assert "PSI 0.410" in drift.message
    assert "> 250" in drift.message  # the bin that drove it
    assert "10.0% of the reference, 40.0% of the batch" in drift.message
    west = by_subject["member_region=West"]
    assert west.severity == "error"
    assert "95% CI 1.90 to 3.00" in west.message
    assert by_subject["claim_type"].severity == "warn"
    assert by_subject["null_rate:days_to_payment"].severity == "warn"
    assert collect_batch_alerts(warehouse, "b1").alerts == ()


def test_run_records_every_alert_and_the_trigger_and_fails_on_errors(
    warehouse: DuckDBWarehouse,
) -> None:
    calls: list[BatchAlerts] = []

    def retrainer(batch: BatchAlerts) -> TriggerResult:
        calls.append(batch)
        return TriggerResult("local", True, "retrained")

    run = run_alerts(warehouse, urls=(), retrainer=retrainer)
    assert run.exit_code == alerts.EXIT_ALERT
    assert [batch.batch_id for batch in calls] == ["b2"]
    recorded = warehouse.read("mon_alerts")
    assert len(recorded) == 1 + 4 + 1  # summary, four alerts, the trigger
    assert set(recorded["alert_type"]) == {
        "batch_summary",
        "feature_drift",
        "disparate_impact",
        "volume",
        "retrain_trigger",
    }
    assert recorded["channels"].eq("print").all()
    assert recorded["delivered"].isna().all()
    summary = recorded[recorded["alert_type"] == "batch_summary"].iloc[0]
    assert summary["severity"] == "error"
    assert "Retraining needed: PSI at error for total_charge_amount" in summary["message"]
    # a second run appends, never rewrites
    run_alerts(warehouse, urls=())
    assert len(warehouse.read("mon_alerts")) == 6 + 5


def test_a_warning_only_batch_exits_zero_and_does_not_retrain(tmp_path: Path) -> None:
    store = _write(
        tmp_path / "w.duckdb",
        {
            "mon_feature_psi": pd.DataFrame([_psi_row("b1", "claim_type", "warn", 0.12)]),
            "mon_score_distribution": pd.DataFrame([_score_row("b1", 100, "ok", "ok")]),
            "mon_disparate_impact": pd.DataFrame(
                columns=["batch_id", "status", "group_name", "attribute_name"]
            ),
            "mon_data_volume": pd.DataFrame(columns=["batch_id", "status"]),
        },
    )

    def retrainer(batch: BatchAlerts) -> TriggerResult:
        raise AssertionError("no retraining on a warning")

    run = run_alerts(store, retrainer=retrainer)
    assert run.exit_code == alerts.EXIT_OK
    assert run.trigger is None
    assert run.batch.worst == "warn"


def test_performance_of_the_champions_batches_alerts_without_retraining(tmp_path: Path) -> None:
    """The latest batch has no outcomes yet: the verdicts of every batch its model version
    scored are reported (an older version's are not), a precision error fails the run, and
    insufficient_data says nothing."""
    store = _write(
        tmp_path / "p.duckdb",
        {
            "mon_feature_psi": pd.DataFrame([_psi_row("b3", "claim_type", "ok", 0.01)]),
            "mon_score_distribution": pd.DataFrame([_score_row("b3", 100, "ok", "ok")]),
            "mon_disparate_impact": pd.DataFrame(
                columns=["batch_id", "status", "group_name", "attribute_name"]
            ),
            "mon_data_volume": pd.DataFrame(columns=["batch_id", "status"]),
            "mon_model_performance": pd.DataFrame(
                [
                    _performance_row("b0", "error", version="2", precision=0.1),
                    _performance_row("b1", "error", precision=0.42),
                    _performance_row("b2", "warn_estimated"),
                    _performance_row("b3", "insufficient_data"),
                ]
            ),
        },
    )

    def retrainer(batch: BatchAlerts) -> TriggerResult:
        raise AssertionError("performance alone does not retrain")

    run = run_alerts(store, retrainer=retrainer)
    performance = [a for a in run.batch.alerts if a.alert_type == "performance"]
    assert [(a.subject, a.severity) for a in performance] == [("b1", "error"), ("b2", "warn")]
    assert "precision 0.42 (95% CI 0.27 to 0.57) on 30 flagged claims" in performance[0].message
    assert "against 0.85 on the validation window" in performance[0].message
    assert "expected precision 0.80 of 50 flagged claims against 0.82" in performance[1].message
    assert run.exit_code == alerts.EXIT_ALERT
    assert run.trigger is None


def test_an_empty_batch_is_one_clear_error(tmp_path: Path) -> None:
    store = _write(
        tmp_path / "e.duckdb",
        {
            "mon_feature_psi": pd.DataFrame([_psi_row("b9", "claim_type", "no_data", None)]),
            "mon_score_distribution": pd.DataFrame([_score_row("b9", 0, "no_data", "no_data")]),
            "mon_disparate_impact": pd.DataFrame(
                columns=["batch_id", "status", "group_name", "attribute_name"]
            ),
            "mon_data_volume": pd.DataFrame(columns=["batch_id", "status"]),
        },
    )
    batch = collect_batch_alerts(store)
    assert len(batch.alerts) == 1
    assert batch.alerts[0].severity == "error"
    assert "batch b9 has no scored claims" in batch.alerts[0].message
    assert not batch.needs_retraining


def test_missing_monitoring_tables_name_the_table_and_the_fix(tmp_path: Path) -> None:
    store = _write(tmp_path / "m.duckdb", {"mon_feature_psi": pd.DataFrame({"batch_id": ["x"]})})
    with pytest.raises(MonitoringNotRunError, match=r"mon_score_distribution.*make monitor"):
        collect_batch_alerts(store)


def test_send_delivers_to_a_webhook_and_reports_channels_that_fail(server: int) -> None:
    deliveries = send(
        [f"json://127.0.0.1:{server}/hook", "json://127.0.0.1:9/down", "nonsense://x"],
        "title",
        "PSI at error for total_charge_amount",
    )
    assert [d.delivered for d in deliveries] == [True, False, False]
    assert deliveries[2].error == "not a notification URL apprise knows"
    assert len(_Recorder.requests) == 1
    assert _Recorder.requests[0]["path"] == "/hook"
    assert _Recorder.requests[0]["body"]["message"] == "PSI at error for total_charge_amount"
    assert _Recorder.requests[0]["body"]["title"] == "title"


def test_redact_keeps_no_secret() -> None:
    assert redact("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#fraud") == "slack://***"
    assert redact("mailto://siu:s3cret@mail.example.com?to=siu@example.com") == (
        "mailto://mail.example.com"
    )
    assert redact("json://127.0.0.1:8080/path?token=abc") == "json://127.0.0.1"


def test_local_retraining_runs_the_command_and_records_its_exit(tmp_path: Path) -> None:
    """--retrain local runs the command the CLI gives it (`claims-fraud bundle run
    claims_fraud_training`); a real process here, with the environment it is handed."""
    import sys

    script = "import os, sys; print('trained', os.environ['STATE']); sys.exit(int(sys.argv[1]))"
    batch = BatchAlerts("b2", "3", SCORED, (), ("total_charge_amount",))
    ok = local_retrainer([sys.executable, "-c", script, "0"], tmp_path, {"STATE": "s1"})(batch)
    assert ok.succeeded
    assert ok.kind == "local"
    assert ok.message.endswith("exited 0")
    assert "trained s1" in ok.details["tail"]
    failed = local_retrainer([sys.executable, "-c", script, "3"], tmp_path, {"STATE": "s1"})(batch)
    assert not failed.succeeded
    assert failed.details["returncode"] == 3


def test_in_a_job_the_retraining_request_is_recorded_for_the_condition_task(
    warehouse: DuckDBWarehouse,
) -> None:
    run = run_alerts(warehouse, urls=(), retrainer=job_retrainer("claims_fraud_training"))
    assert run.trigger is not None
    assert (run.trigger.kind, run.trigger.succeeded) == ("bundle", True)
    assert "claims_fraud_training" in run.trigger.message
    assert "batch_id=b2" in run.trigger.message
    recorded = warehouse.read("mon_alerts")
    trigger = recorded[recorded["alert_type"] == "retrain_trigger"].iloc[0]
    assert (trigger["severity"], trigger["subject"]) == ("info", "bundle")
    assert json.loads(trigger["details"])["drifted"] == ["total_charge_amount"]


@pytest.mark.parametrize(("batch", "retrain"), [("b2", True), ("b1", False)])
def test_cli_task_value_mode_hands_the_verdict_to_the_condition_task(
    warehouse: DuckDBWarehouse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    batch: str,
    retrain: bool,
) -> None:
    """`alerts --retrain task-value` writes retrain and batch_id where the bundle runner reads
    them ($CLAIMS_FRAUD_TASK_VALUES_FILE), false as well as true: the condition needs both."""
    from claims_fraud.cli.main import main
    from claims_fraud.deploy.task_values import FILE_ENV, read_task_values

    values = tmp_path / "values" / "alerts.json"
    monkeypatch.setenv(FILE_ENV, str(values))
    monkeypatch.delenv("CLAIMS_FRAUD_ALERT_URLS", raising=False)
    args = ["alerts", "--duckdb", str(warehouse.path), "--retrain", "task-value"]
    code = main([*args, "--batch-id", batch])
    assert code == (alerts.EXIT_ALERT if retrain else alerts.EXIT_OK)
    assert read_task_values(values) == {"retrain": retrain, "batch_id": batch}
    out = capsys.readouterr().out
    assert f"task values retrain={json.dumps(retrain)}" in out
