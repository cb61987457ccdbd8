"""The ML half of the pipeline on Spark, one step per fixture (a failure names its step), on
the session's features build (conftest built_project, --target spark): the dbt Python models
as Databricks runs them (python_models.py), the SQL models between them built by dbt on
Spark (the challenger's disparate impact the gate reads, the reference profile), the
promotion gate, the SIU's tables (reasons, review queue, member tours), the monitor selector
on the scores, and the alerts and report jobs with ``--warehouse spark``."""

from __future__ import annotations

from pathlib import Path

import pytest
from monitoring_fixture import not_ok, statuses
from python_models import champion_for_the_check, run_compiled_python_model
from targets import SparkProject, schema_of

from claims_fraud.cli.main import main as cli_main

pytestmark = pytest.mark.spark

# In dependency order; the promotion gate runs between training and scoring, as in the bundle.
TRAINING_MODELS = ("ml_training_runs", "ml_challenger_scores")
SCORING_MODELS = (
    "fraud_scores",
    "ml_reference_bins",
    "ml_reference_scores",
    "ml_reference_score_quantiles",
    "ml_validation_scores",
)
# What the SIU works from, after the flagged claims' contributions (a Python model); with the
# seeds they read.
SIU_MODELS = ("fraud_score_explanations", "siu_review_queue", "siu_member_tours")
SIU_SEEDS = ("ref_reason_templates", "monitoring_thresholds")


def _warehouse_args(project: SparkProject) -> list[str]:
    return [
        "--warehouse",
        "spark",
        "--catalog",
        "spark_catalog",
        "--schema",
        project.schema,
        "--mlflow-dir",
        str(project.mlflow_dir),
    ]


def _run_models(project: SparkProject, compiled: Path, names: tuple[str, ...]) -> dict[str, int]:
    rows = {}
    for name in names:
        table, count = run_compiled_python_model(project.spark.session, compiled / f"{name}.py")
        assert table == f"{schema_of(project, 'ml')}.{name}"
        rows[name] = count
    return rows


@pytest.fixture(scope="module")
def compiled(built_project: SparkProject) -> Path:
    """The Python models compiled by dbt for the spark target (their MLflow store included)."""
    built_project.dbt("compile", "--select", "path:models/ml")
    return built_project.target_dir / "compiled" / "claims_fraud" / "models" / "ml"


@pytest.fixture(scope="module")
def trained(built_project: SparkProject, compiled: Path) -> dict[str, int]:
    return _run_models(built_project, compiled, TRAINING_MODELS)


@pytest.fixture(scope="module")
def challenger_impact(built_project: SparkProject, trained: dict[str, int]) -> dict[str, str]:
    built_project.dbt("build", "--select", "ml_challenger_disparate_impact")
    return statuses(built_project)


@pytest.fixture(scope="module")
def promoted(built_project: SparkProject, challenger_impact: dict[str, str]) -> str:
    assert cli_main(["promote", *_warehouse_args(built_project)]) == 0
    return champion_for_the_check(built_project.mlflow_dir)


@pytest.fixture(scope="module")
def scored(built_project: SparkProject, compiled: Path, promoted: str) -> dict[str, int]:
    return _run_models(built_project, compiled, SCORING_MODELS)


@pytest.fixture(scope="module")
def siu(built_project: SparkProject, compiled: Path, scored: dict[str, int]) -> dict[str, str]:
    """The SIU's SQL models built by dbt on Spark, their data and unit tests included."""
    _run_models(built_project, compiled, ("ml_score_contributions",))
    built_project.dbt("build", "--select", *SIU_SEEDS, *SIU_MODELS, unit_tests=True)
    return statuses(built_project)


@pytest.fixture(scope="module")
def reference_profile(built_project: SparkProject, scored: dict[str, int]) -> dict[str, str]:
    """With the calibration the score step builds beside it; their unit tests run once on
    Spark, in monitoring_build."""
    built_project.dbt(
        "build",
        "--select",
        "ml_reference_profile",
        "ml_score_calibration",
        "--exclude",
        "test_type:unit",
    )
    return statuses(built_project)


@pytest.fixture(scope="module")
def monitored(built_project: SparkProject, reference_profile: dict[str, str]) -> dict[str, str]:
    """The monitor selector on the scores (unit tests: once is enough, in monitoring_build);
    its status tests may fail the build on purpose."""
    result = built_project.dbt(
        "build", "--selector", "monitor", "--exclude", "test_type:unit", check=False
    )
    assert result.returncode in (0, 1), result.stdout[-6000:]
    return statuses(built_project)


def test_training_models_write_their_tables(trained: dict[str, int]) -> None:
    assert trained["ml_training_runs"] >= 2  # the candidates, at least
    assert trained["ml_challenger_scores"] > 0


def test_the_gates_disparate_impact_builds_on_spark(challenger_impact: dict[str, str]) -> None:
    assert "model.claims_fraud.ml_challenger_disparate_impact" in challenger_impact
    assert not_ok(challenger_impact) == []


def test_promotion_gate_records_its_decision_on_spark(
    built_project: SparkProject, promoted: str
) -> None:
    decisions = built_project.spark.session.table(
        f"{schema_of(built_project, 'ml')}.ml_promotion_decisions"
    )
    assert decisions.count() >= 1
    assert promoted.startswith("v")


def test_scoring_models_write_scores_and_reference_tables(
    built_project: SparkProject, scored: dict[str, int]
) -> None:
    features = built_project.spark.session.table(
        f"{schema_of(built_project, 'features')}.fct_claim_features"
    ).count()
    assert scored["fraud_scores"] == features
    assert all(rows > 0 for rows in scored.values()), scored


def test_siu_models_build_on_spark(built_project: SparkProject, siu: dict[str, str]) -> None:
    assert not_ok(siu) == []
    for name in SIU_MODELS:
        assert f"model.claims_fraud.{name}" in siu
    assert any(uid.startswith("unit_test.claims_fraud.siu_member_tours") for uid in siu), siu
    queue = f"{schema_of(built_project, 'siu')}.siu_review_queue"
    assert built_project.spark.session.table(queue).count() > 0  # the flagged claims, ranked


def test_reference_profile_builds_from_the_scores(reference_profile: dict[str, str]) -> None:
    assert "model.claims_fraud.ml_reference_profile" in reference_profile
    assert not_ok(reference_profile) == []


def test_monitor_selector_builds_on_the_scores(monitored: dict[str, str]) -> None:
    assert not_ok(monitored) == []
    assert sum(uid.startswith("model.claims_fraud.mon_") for uid in monitored) >= 6


def test_alerts_and_report_run_on_spark(
    built_project: SparkProject, monitored: dict[str, str], tmp_path: Path
) -> None:
    args = _warehouse_args(built_project)
    # Exit 1 is a verdict (an error or a DI fail); 2 would be a usage or missing-table error.
    assert cli_main(["alerts", *args, "--retrain", "off"]) in (0, 1)
    alerts = f"{schema_of(built_project, 'monitoring')}.mon_alerts"
    assert built_project.spark.session.table(alerts).count() >= 1  # the batch summary at least
    report = tmp_path / "monitoring_report.html"
    assert cli_main(["report", *args, "--out", str(report)]) == 0
    assert "<html" in report.read_text().lower()
