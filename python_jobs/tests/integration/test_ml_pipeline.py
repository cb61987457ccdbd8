"""Train, promote and score for real: dbt Python models, a real MLflow store, real DuckDB."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from harness import DbtProject, copy_trained_state, make_project
from mlflow import MlflowClient

from claims_fraud.features.spec import FeatureSchemaError
from claims_fraud.ml.score import load_champions, score_batch
from claims_fraud.ml.tracking import CHALLENGER, CHAMPION, MlflowSettings, version_by_alias

pytestmark = pytest.mark.integration


def _client(project: DbtProject) -> tuple[MlflowSettings, MlflowClient]:
    settings = MlflowSettings.local(project.mlflow_dir)
    return settings, settings.activate()


def test_training_writes_one_row_per_model_and_sets_the_challenger(
    trained_project: DbtProject,
) -> None:
    runs = pd.DataFrame(
        trained_project.query(
            "select flavour, model_name, model_version, run_id, is_challenger, pr_auc, "
            "gt_pr_auc, gt_precision_at_budget from main_ml.ml_training_runs"
        ),
        columns=[
            "flavour",
            "model_name",
            "model_version",
            "run_id",
            "is_challenger",
            "pr_auc",
            "gt_pr_auc",
            "gt_precision_at_budget",
        ],
    ).set_index("flavour")
    assert set(runs.index) == {"xgboost", "catboost", "tree_autoencoder", "isolation_forest"}
    assert runs["is_challenger"].sum() == 1
    challenger = runs[runs["is_challenger"]].iloc[0]
    settings, client = _client(trained_project)
    registered = client.get_model_version_by_alias(settings.classifier_name, CHALLENGER)
    assert str(registered.version) == challenger["model_version"]
    assert registered.run_id == challenger["run_id"]
    # The supervised champion must beat the obvious alternative against the ground truth.
    assert challenger["gt_pr_auc"] > runs.loc["isolation_forest", "gt_pr_auc"]


def test_mlflow_runs_hold_params_metrics_inputs_and_the_reference_profile(
    trained_project: DbtProject,
) -> None:
    settings, client = _client(trained_project)
    version = client.get_model_version_by_alias(settings.classifier_name, CHALLENGER)
    run = client.get_run(version.run_id)
    assert {"roc_auc", "pr_auc", "precision_at_budget", "recall_at_budget", "brier"} <= set(
        run.data.metrics
    )
    assert any(name.startswith("gt_recall_at_budget__") for name in run.data.metrics)
    assert "validation_start" in run.data.params
    assert {dataset.dataset.name for dataset in run.inputs.dataset_inputs} == {
        "fct_claim_features_train",
        "fct_claim_features_validation",
    }
    artifacts = {item.path for item in client.list_artifacts(run.info.run_id, "reference")}
    assert "reference/reference_profile.csv" in artifacts
    assert "reference/score_quantiles.csv" in artifacts


def test_promotion_recorded_and_scores_cover_every_valid_claim(trained_project: DbtProject) -> None:
    settings, client = _client(trained_project)
    champion = version_by_alias(client, settings.classifier_name, CHAMPION)
    assert champion is not None
    decisions = trained_project.query(
        "select challenger_version, champion_version_after, is_promoted, performance_passed, "
        "fairness_passed, data_tests_passed from main_ml.ml_promotion_decisions"
    )
    version = str(champion.version)
    assert decisions[0] == (version, version, True, True, True, True)

    claims = trained_project.scalar("select count(*) from main_features.fct_claim_features")
    scored, distinct, flagged, versions = trained_project.query(
        "select count(*), count(distinct claim_id), count_if(is_flagged), "
        "list(distinct model_version) from main_ml.fraud_scores where batch_id = 'all_claims'"
    )[0]
    assert scored == distinct == claims
    assert versions == [version]
    # The threshold flags the top 5% of the validation window; the whole history is close.
    assert 0.02 < flagged / scored < 0.10


@pytest.mark.slow  # rescores the whole batch twice (make test-slow)
def test_rescoring_a_batch_replaces_its_rows(trained_project: DbtProject, tmp_path: Path) -> None:
    # a copy: the worker's trained project is shared, a batch added here would be in the
    # scores of every test after this one (test_scores_before_windows counted it once)
    trained_project = copy_trained_state(trained_project, tmp_path / "state")
    before = trained_project.scalar("select count(*) from main_ml.fraud_scores")
    trained_project.dbt("run", "--select", "fraud_scores")
    assert trained_project.scalar("select count(*) from main_ml.fraud_scores") == before
    trained_project.dbt(
        "run",
        "--select",
        "fraud_scores",
        "--vars",
        "{scoring_batch_id: late_2025, scoring_window_start: '2025-10-01'}",
    )
    late = trained_project.scalar(
        "select count(*) from main_ml.fraud_scores where batch_id = 'late_2025'"
    )
    expected = trained_project.scalar(
        "select count(*) from main_features.fct_claim_features where ingested_at >= '2025-10-01'"
    )
    assert late == expected > 0
    assert trained_project.scalar("select count(*) from main_ml.fraud_scores") == before + late


@pytest.mark.slow  # retrains (make test-slow)
def test_retraining_the_same_data_gives_the_same_metrics(
    trained_project: DbtProject, tmp_path: Path
) -> None:
    # a copy: a retrain registers new versions and moves @challenger in the shared project
    trained_project = copy_trained_state(trained_project, tmp_path / "state")
    columns = "flavour, roc_auc, pr_auc, precision_at_budget, recall_at_budget, brier"
    first = sorted(trained_project.query(f"select {columns} from main_ml.ml_training_runs"))
    trained_project.dbt("run", "--select", "ml_training_runs")
    second = sorted(trained_project.query(f"select {columns} from main_ml.ml_training_runs"))
    assert first == second


def test_scoring_without_a_champion_fails_naming_the_commands(
    tmp_path, built_project: DbtProject
) -> None:
    project = make_project(tmp_path / "fresh", built_project.raw_dir)
    shutil.copy(built_project.duckdb_path, project.duckdb_path)
    result = project.dbt("run", "--select", "fraud_scores", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "@champion" in output
    assert "claims-fraud promote" in output


def _features(project: DbtProject) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute("select * from main_features.fct_claim_features limit 200").df()


def test_scoring_refuses_a_missing_or_mistyped_feature_before_writing(
    trained_project: DbtProject,
) -> None:
    champions = load_champions(MlflowSettings.local(trained_project.mlflow_dir))
    features = _features(trained_project)
    assert len(score_batch(features, champions, "ok")) == len(features)
    with pytest.raises(FeatureSchemaError, match="max_em_level"):
        score_batch(features.drop(columns=["max_em_level"]), champions, "missing")
    mistyped = features.assign(line_count=features["line_count"].astype(str))
    with pytest.raises(FeatureSchemaError, match="line_count"):
        score_batch(mistyped, champions, "mistyped")


def test_a_model_trained_on_other_features_is_refused(trained_project: DbtProject) -> None:
    champions = load_champions(MlflowSettings.local(trained_project.mlflow_dir))
    champions.classifier.input_types = {
        **champions.classifier.input_types,
        "feature_that_no_longer_exists": "numeric",
    }
    with pytest.raises(FeatureSchemaError, match="feature_that_no_longer_exists"):
        score_batch(_features(trained_project), champions, "other_features")


def test_the_champions_reference_profile_is_in_the_warehouse(trained_project: DbtProject) -> None:
    settings, client = _client(trained_project)
    champion = str(client.get_model_version_by_alias(settings.classifier_name, CHAMPION).version)
    profile = pd.DataFrame(
        trained_project.query(
            "select model_version, feature_name, feature_type, reference_share "
            "from main_ml.ml_reference_profile"
        ),
        columns=["model_version", "feature_name", "feature_type", "reference_share"],
    )
    assert set(profile["model_version"]) == {champion}
    inputs = set(champions_inputs(trained_project))
    assert set(profile["feature_name"]) == inputs | {"fraud_probability"}
    shares = profile.groupby("feature_name")["reference_share"].sum()
    assert ((shares - 1).abs() < 1e-9).all()
    quantiles = trained_project.query(
        "select count(*), min(quantile), max(quantile), bool_and(model_version = ?) "
        "from main_ml.ml_reference_score_quantiles".replace("?", f"'{champion}'")
    )[0]
    assert quantiles == (101, 0.0, 1.0, True)


def champions_inputs(project: DbtProject) -> tuple[str, ...]:
    return load_champions(MlflowSettings.local(project.mlflow_dir)).classifier.inputs


def test_summary_reports_the_champion_its_metrics_and_the_flags(
    trained_project: DbtProject, tmp_path
) -> None:
    from claims_fraud.cli.summary import collect_scoring_summary, format_scoring_summary

    summary = collect_scoring_summary(trained_project.duckdb_path, trained_project.mlflow_dir)
    assert summary is not None
    flagged = trained_project.scalar(
        "select count_if(is_flagged) from main_ml.fraud_scores where batch_id = "
        f"'{summary.batch_id}'"
    )
    assert summary.flagged_claims == flagged
    assert "pr_auc" in summary.metrics
    text = format_scoring_summary(summary)
    assert f"v{summary.model_version}" in text
    assert "flagged for SIU review" in text
    elsewhere = collect_scoring_summary(trained_project.duckdb_path, tmp_path / "other_store")
    assert "metrics not found" in format_scoring_summary(elsewhere)


def test_summary_counts_the_batchs_member_tours_from_their_table(
    trained_project: DbtProject, tmp_path
) -> None:
    import duckdb

    from claims_fraud.cli.summary import collect_member_tours, format_member_tours

    batch_id = trained_project.scalar("select max(batch_id) from main_ml.fraud_scores")
    tours = collect_member_tours(trained_project.duckdb_path, batch_id)
    counts = [
        trained_project.scalar(
            f"select count(distinct {column}) from main_siu.siu_member_tours "
            f"where batch_id = '{batch_id}'{extra}"
        )
        for column, extra in (
            ("flagged_claim_id", ""),
            ("claim_id", ""),
            ("claim_id", " and not is_flagged"),
        )
    ]
    assert tours == tuple(counts)
    assert tours[0] > 0, "the test population's rings give the scored batch no tour stop"
    text = format_member_tours(batch_id, tours)
    assert f"{tours[0]:,} flagged claims are stops" in text
    assert f"{tours[1]:,} other stops ({tours[2]:,} not flagged themselves)" in text
    # a DuckDB file without the table: nothing to say, not an error
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert collect_member_tours(empty, batch_id) is None


@pytest.mark.slow  # retrains (make test-slow)
def test_training_does_not_depend_on_the_row_order_the_warehouse_returns(
    trained_project: DbtProject, tmp_path
) -> None:
    """DuckDB (preserve_insertion_order off) and Spark return rows in no fixed order; CatBoost
    is order-sensitive, so the same claims in another order must still give the same models."""
    import duckdb

    from claims_fraud.ml.training_job import TrainingSettings, train_and_register

    with duckdb.connect(str(trained_project.duckdb_path), read_only=True) as con:
        features = con.execute("select * from main_features.fct_claim_features").df()
        investigations = con.execute(
            "select * from main_staging.stg_claims__siu_investigation"
        ).df()
    metrics = []
    for name, order in (("forward", slice(None)), ("reversed", slice(None, None, -1))):
        settings = TrainingSettings.from_mapping(
            {"mlflow": {"mlflow_dir": str(tmp_path / name)}}, 0.05
        )
        runs = train_and_register(
            features.iloc[order].reset_index(drop=True),
            investigations.iloc[order].reset_index(drop=True),
            settings,
        )
        metrics.append(runs.set_index("flavour")[["pr_auc", "roc_auc", "brier"]].sort_index())
    pd.testing.assert_frame_equal(metrics[0], metrics[1])


def test_a_training_is_one_parent_run_with_figures_and_described_versions(
    trained_project: DbtProject,
) -> None:
    settings, client = _client(trained_project)
    champion = client.get_model_version_by_alias(settings.classifier_name, CHAMPION)
    run = client.get_run(champion.run_id)
    parent_id = run.data.tags.get("mlflow.parentRunId")
    assert parent_id, "the candidate's run is not nested in a training run"
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    assert sorted(child.data.tags["flavour"] for child in children) == [
        "catboost",
        "isolation_forest",
        "tree_autoencoder",
        "xgboost",
    ]
    parent = client.get_run(parent_id)
    assert parent.data.tags["challenger_flavour"] == run.data.tags["flavour"]
    plots = {artifact.path for artifact in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {
        f"plots/{name}.png"
        for name in (
            "pr_curve",
            "roc_curve",
            "calibration",
            "confusion_at_budget",
            "shap_importance",
        )
    }
    importance = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/shap_importance.json")
    assert set(importance) == set(champions_inputs(trained_project))
    assert all(value >= 0 for value in importance.values())
    described = client.get_registered_model(settings.classifier_name).description
    assert "Supervised claims fraud classifier" in described
    version = client.get_model_version(settings.classifier_name, champion.version)
    assert "Validation window" in version.description
    assert "Promotion gate" in version.description
    assert "promoted to @champion" in version.description
    autoencoder = client.get_model_version_by_alias(settings.autoencoder_name, CHAMPION)
    assert f"classifier v{champion.version}" in autoencoder.description
