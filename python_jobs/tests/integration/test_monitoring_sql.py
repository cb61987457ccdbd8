"""The monitoring SQL, run for real by dbt on DuckDB, against an independent numpy/scipy
computation of the same definitions (tests/psi_oracle.py, tests/monitoring_oracle.py):
agreement within 1e-9.

The inputs are random, built here: a reference frame whose bins ``claims_fraud.ml.profile``
chooses (as training does) and whose counts the SQL makes (ml_reference_profile, from the bins,
the reference scores and the reference claims' features), then scoring batches with ties on bin
edges, outliers, nulls, NaN, an unseen category, an all-null feature, a drifted batch, a batch
scored by a model version without a reference profile and an empty batch; and a challenger's
scores (ml_challenger_scores) for the promotion gate's disparate impact.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from harness import DbtProject, make_project, once_per_session, worker_copy
from monitoring_fixture import (
    ALL_NULL_BATCH,
    ALL_NULL_FEATURE,
    BATCHES,
    DRIFTED,
    EMPTY_BATCH,
    NO_PROFILE_BATCH,
    PROVIDER_LEVEL,
    monitoring_inputs,
)
from monitoring_oracle import VolumeRules, disparate_impact, flag_rate_test, volume_verdicts
from psi_oracle import ks_on_grid, psi_bins, psi_verdict, reference_counts

from claims_fraud.features.spec import load_feature_spec

pytestmark = pytest.mark.integration

TOLERANCE = 1e-9
THRESHOLDS = pd.read_csv(Path(__file__).resolve().parents[3] / "seeds/monitoring_thresholds.csv")
T = dict(zip(THRESHOLDS["threshold_name"], THRESHOLDS["threshold_value"], strict=True))
CHALLENGER_BATCH, CHALLENGER_VERSION = "b5", "7"  # the challenger's population: b5's claims
MODEL = {"model_name": "claims_fraud_classifier", "model_version": "1", "run_id": "run-1"}


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Random reference and batches written where dbt expects its inputs, then the
    monitoring models run for real."""
    spec = load_feature_spec()
    inputs = monitoring_inputs(2026)  # the one random-data builder (monitoring_fixture)
    bins, grid = inputs["ml_reference_bins"], inputs["ml_reference_score_quantiles"]
    reference_scores = inputs["ml_reference_scores"]
    reference = reference_scores.drop(columns=[*MODEL, "fraud_probability"])
    # what ml_reference_profile must hold: the bins, counted by the oracle
    profile = reference_counts(
        reference,
        bins.drop(columns=list(MODEL)),
        reference_scores["fraud_probability"].to_numpy(),
        clusters=reference["rendering_npi"],
    )
    features_frame, scores_frame = inputs["fct_claim_features"], inputs["fraud_scores"]
    in_batch = scores_frame["batch_id"] == CHALLENGER_BATCH
    challenger = scores_frame.loc[in_batch, ["claim_id", "fraud_probability", "is_flagged"]].assign(
        model_name="claims_fraud_classifier",
        model_version=CHALLENGER_VERSION,
        run_id="run-7",
        scoring_window="validation",
    )

    def build(root: Path) -> None:
        project = make_project(root, root / "raw")
        with duckdb.connect(str(project.duckdb_path)) as con:
            for schema, name, frame in (
                ("main_features", "fct_claim_features", features_frame),
                ("main_ml", "fraud_scores", scores_frame),
                ("main_ml", "ml_reference_bins", bins),
                ("main_ml", "ml_reference_scores", reference_scores),
                ("main_ml", "ml_reference_score_quantiles", grid),
                ("main_ml", "ml_challenger_scores", challenger),
                ("main_ml", "ml_validation_scores", inputs["ml_validation_scores"]),
                (
                    "main_staging",
                    "stg_claims__siu_investigation",
                    inputs["stg_claims__siu_investigation"],
                ),
            ):
                con.execute(f"create schema if not exists {schema}")
                con.register("frame", frame)
                con.execute(f"create table {schema}.{name} as select * from frame")
                con.unregister("frame")
        project.dbt("seed", "--select", "monitoring_thresholds", "monitoring_reference_groups")
        project.dbt(
            "run",
            "--select",
            "ml_reference_profile",
            "ml_challenger_disparate_impact",
            "ml_score_calibration",
            "path:models/monitoring",
            "--vars",
            f"{{scoring_batch_id: {EMPTY_BATCH}}}",
        )

    # built once per session (not once per xdist worker); each worker tests its own copy
    shared = once_per_session(tmp_path_factory, "monitoring_sql", build)
    root = tmp_path_factory.mktemp("monitoring_sql")
    project = worker_copy(shared, root, shared / "raw")
    return {
        "project": project,
        "spec": spec,
        "profile": profile,
        "grid": grid,
        "features": features_frame,
        "scores": scores_frame,
    }


def _ml_table(project: DbtProject, name: str) -> pd.DataFrame:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(f"select * from main_ml.{name}").df()


def _table(project: DbtProject, name: str) -> pd.DataFrame:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        return con.execute(f"select * from main_monitoring.{name}").df()


def _close(actual, expected, what: str) -> None:
    if expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert actual is None or pd.isna(actual), f"{what}: expected null, got {actual}"
        return
    assert actual is not None, f"{what}: expected {expected}, got null"
    assert not pd.isna(actual), f"{what}: expected {expected}, got null"
    assert abs(float(actual) - float(expected)) <= TOLERANCE, f"{what}: {actual} != {expected}"


def _batch_values(data: dict, batch: str, column: str) -> pd.Series:
    scores = data["scores"]
    claims = scores.loc[scores["batch_id"] == batch, ["claim_id", "fraud_probability"]]
    merged = claims.merge(data["features"], on="claim_id", how="left")
    return merged[column]


def test_reference_profile_counts_agree_with_numpy(monitored: dict) -> None:
    """ml_reference_profile counts the reference claims in the bins training chose, by the
    binning macro the batches are counted with (feature_bin_counts)."""
    expected = monitored["profile"].set_index(["feature_name", "bin_index"]).sort_index()
    actual = _ml_table(monitored["project"], "ml_reference_profile")
    actual = actual.set_index(["feature_name", "bin_index"]).sort_index()
    assert actual.index.tolist() == expected.index.tolist()
    assert set(actual["model_version"]) == {"1"}
    assert actual["reference_count"].tolist() == expected["reference_count"].tolist()
    assert actual["bin_kind"].tolist() == expected["bin_kind"].tolist()
    diff = np.abs(actual["reference_share"].to_numpy() - expected["reference_share"].to_numpy())
    assert diff.max() <= TOLERANCE
    # the counts' cluster-robust variances (the window's claims clustered by provider):
    # relative 1e-9, counts in the hundreds
    variance = expected["reference_count_variance"].to_numpy()
    diff = np.abs(actual["reference_count_variance"].to_numpy() - variance)
    assert (diff <= TOLERANCE * np.maximum(1.0, variance)).all()
    shares = actual.groupby(level="feature_name")["reference_share"].sum()
    assert ((shares - 1).abs() <= TOLERANCE).all()
    # the fixture's edge cases reach the reference too: nulls, the pooled rare level
    assert (actual.loc[actual["bin_kind"] == "null", "reference_count"] > 0).any()
    assert (actual.loc[actual["bin_kind"] == "other", "reference_count"] > 0).any()


def test_psi_bins_and_psi_agree_with_numpy(monitored: dict) -> None:
    project, profile = monitored["project"], monitored["profile"]
    bins = _table(project, "mon_feature_psi_bins")
    psi = _table(project, "mon_feature_psi").set_index(["batch_id", "feature_name"])
    features = [*monitored["spec"].inputs, "fraud_probability"]
    checked, design_effects, reference_design_effects = 0, [], {}
    # the batch's PSIs are one family: Bonferroni over every profiled input and the score
    family_quantile = 1 - (1 - T["psi_significance_quantile"]) / len(features)
    for batch in BATCHES:
        for feature in features:
            rows = profile[profile["feature_name"] == feature]
            values = _batch_values(monitored, batch, feature)
            providers = _batch_values(monitored, batch, "rendering_npi")
            expected = psi_bins(values, rows, providers)
            actual = bins[(bins["batch_id"] == batch) & (bins["feature_name"] == feature)]
            actual = actual.sort_values("bin_index").reset_index(drop=True)
            assert actual["bin_index"].tolist() == expected["bin_index"].tolist()
            assert actual["current_count"].tolist() == expected["current_count"].tolist(), (
                f"{batch} {feature}"
            )
            for column in ("reference_share", "current_share", "psi_contribution"):
                diff = np.abs(actual[column].to_numpy() - expected[column].to_numpy())
                assert diff.max() <= TOLERANCE, f"{batch} {feature} {column}: {diff.max()}"
            # a variance of counts in the hundreds: relative 1e-9
            variance = expected["current_count_variance"].to_numpy()
            diff = np.abs(actual["current_count_variance"].to_numpy() - variance)
            assert (diff <= TOLERANCE * np.maximum(1.0, variance)).all(), f"{batch} {feature}"
            verdict = psi_verdict(
                expected, len(values), T["psi_warn"], T["psi_error"], family_quantile
            )
            row = psi.loc[(batch, feature)]
            _close(row["psi"], verdict["psi"], f"psi {batch} {feature}")
            _close(row["critical_value"], verdict["critical_value"], f"c {batch} {feature}")
            _close(row["design_effect"], verdict["design_effect"], f"d {batch} {feature}")
            _close(
                row["reference_design_effect"],
                verdict["reference_design_effect"],
                f"d_ref {batch} {feature}",
            )
            design_effects.append(verdict["design_effect"])
            reference_design_effects[feature] = verdict["reference_design_effect"]
            assert row["status"] == verdict["status"], f"{batch} {feature}"
            assert row["top_bin_index"] == verdict["top_bin_index"], f"{batch} {feature}"
            checked += 1
    assert checked == len(BATCHES) * len(features)
    # the fixture's providers take turns, so clustering is mild; some batches still exceed 1
    assert max(design_effects) > 1.0
    # its provider-level input holds 150 providers' values, not 5,000 claims' (17 values each
    # repeated by 8-9 providers: a design effect far above 1, where a random input's is ~1)
    assert reference_design_effects[PROVIDER_LEVEL] > 10
    assert reference_design_effects["total_charge_amount"] < 2


def test_drift_and_bad_input_statuses(monitored: dict) -> None:
    psi = _table(monitored["project"], "mon_feature_psi").set_index(["batch_id", "feature_name"])
    numeric = monitored["spec"].numeric
    drifted = psi.loc[DRIFTED]
    assert (drifted.loc[list(numeric), "status"] == "error").all()
    assert drifted.loc["fraud_probability", "status"] == "error"
    # an all-null feature is an error (its null bin), not a NaN or a silent pass
    all_null = psi.loc[(ALL_NULL_BATCH, ALL_NULL_FEATURE)]
    assert all_null["status"] == "error"
    assert all_null["current_null_share"] == 1.0
    assert all_null["top_bin_kind"] == "null"
    # no reference profile for model version 2, and an empty batch
    assert set(psi.loc[NO_PROFILE_BATCH, "status"]) == {"missing_reference"}
    assert set(psi.loc[EMPTY_BATCH, "status"]) == {"no_data"}
    assert psi.loc[EMPTY_BATCH, "psi"].isna().all()
    numbers = psi[["psi", "critical_value"]].to_numpy(dtype=float)
    assert not np.isinf(numbers).any()


def test_score_distribution_agrees_with_numpy(monitored: dict) -> None:
    table = _table(monitored["project"], "mon_score_distribution").set_index("batch_id")
    scores = monitored["scores"]
    design_effects = []
    for batch in BATCHES:
        batch_scores = scores[scores["batch_id"] == batch]
        row = table.loc[batch]
        probability = batch_scores["fraud_probability"].to_numpy()
        anomaly = batch_scores["anomaly_score"].to_numpy()
        assert row["n"] == len(batch_scores)
        for name, values in (("fraud_probability", probability), ("anomaly_score", anomaly)):
            _close(row[f"{name}_mean"], values.mean(), f"{batch} {name} mean")
            _close(row[f"{name}_std"], values.std(ddof=1), f"{batch} {name} std")
            for q in (50, 90, 95, 99):
                _close(row[f"{name}_p{q}"], np.quantile(values, q / 100), f"{batch} {name} p{q}")
        providers = batch_scores[["claim_id"]].merge(
            monitored["features"][["claim_id", "rendering_npi"]], on="claim_id", how="left"
        )["rendering_npi"]
        z, p_value, design_effect = flag_rate_test(
            batch_scores["is_flagged"].to_numpy(), T["flag_budget_share"], providers
        )
        _close(row["flag_rate_z"], z, f"{batch} flag z")
        _close(row["flag_rate_p_value"], p_value, f"{batch} flag p")
        _close(row["flag_rate_design_effect"], design_effect, f"{batch} flag design effect")
        design_effects.append(design_effect)
        _close(row["ks_statistic"], ks_on_grid(probability, monitored["grid"]), f"{batch} ks")
    # b5's extra flags for West claims are not spread evenly over providers: a design effect
    assert max(design_effects) > 1.0
    assert table.loc[DRIFTED, "status"] == "error"
    assert table.loc[NO_PROFILE_BATCH, "status"] == "missing_reference"
    assert table.loc[EMPTY_BATCH, "status"] == "no_data"
    assert table.loc[EMPTY_BATCH, "n"] == 0


def test_disparate_impact_agrees_with_the_numpy_oracle(monitored: dict) -> None:
    table = _table(monitored["project"], "mon_disparate_impact")
    scores, features = monitored["scores"], monitored["features"]
    for batch in BATCHES:
        claims = scores[scores["batch_id"] == batch].merge(features, on="claim_id")
        attributes = ("gender", "age_group", "member_region")
        # one Bonferroni family per batch: every attribute's non-reference groups
        groups = [claims[a].fillna("unknown").astype(str).nunique() for a in attributes]
        comparisons = sum(groups) - len(attributes)
        for attribute in attributes:
            expected = disparate_impact(
                claims[attribute],
                claims["is_flagged"].to_numpy(),
                alpha=T["disparate_impact_alpha"],
                band=(T["disparate_impact_lower"], T["disparate_impact_upper"]),
                min_expected=T["min_expected_cell_count"],
                clusters=claims["rendering_npi"],
                comparisons=comparisons,
            ).set_index("group")
            actual = table[(table["batch_id"] == batch) & (table["attribute_name"] == attribute)]
            actual = actual.set_index("group_name")
            assert sorted(actual.index) == sorted(expected.index)
            for group, row in expected.iterrows():
                got = actual.loc[group]
                assert got["status"] == row["status"], f"{batch} {attribute} {group}"
                assert got["reference_group"] == row["reference_group"]
                for column in ("disparate_impact", "not_flagged_ratio", "z", "p_value"):
                    value = row[column]
                    _close(got[column], None if math.isinf(value) else value, f"{column} {group}")
                assert bool(got["is_significantly_outside_band"]) == bool(
                    row["is_significantly_outside_band"]
                )
                for column in (
                    "p_adjusted",
                    "ci_low",
                    "ci_high",
                    "p_outside_band",
                    "p_outside_band_adjusted",
                    "n_clusters",
                    "design_effect",
                ):
                    _close(got[column], row[column], f"{batch} {attribute} {group} {column}")
    region = table[(table["batch_id"] == "b5") & (table["attribute_name"] == "member_region")]
    assert region.set_index("group_name").loc["West", "status"] == "fail"
    empty = table[table["batch_id"] == EMPTY_BATCH]
    assert len(empty) == 3
    assert set(empty["status"]) == {"insufficient_data"}


def test_the_gates_disparate_impact_is_the_monitoring_sql(monitored: dict) -> None:
    """ml_challenger_disparate_impact (what the promotion gate reads) on batch b5's claims
    equals mon_disparate_impact's rows of b5: one macro computes both. To 1e-12, not the last
    bit: the cluster-robust variances sum over providers in a parallel hash aggregate, whose
    order (so the last bit of a double sum) differs between two queries."""
    gate = _ml_table(monitored["project"], "ml_challenger_disparate_impact")
    batch = _table(monitored["project"], "mon_disparate_impact")
    batch = batch[batch["batch_id"] == CHALLENGER_BATCH]
    assert set(gate["model_version"]) == {CHALLENGER_VERSION}
    columns = [
        column
        for column in batch.columns
        if column not in ("batch_id", "model_version", "scored_at")
    ]
    keys = ["attribute_name", "group_name"]
    gate = gate[columns].sort_values(keys).reset_index(drop=True)
    batch = batch[columns].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(gate, batch, check_dtype=False, rtol=1e-12, atol=1e-12)
    statuses = gate.set_index(keys)["status"]
    assert statuses.loc[("member_region", "West")] == "fail"  # what fails the gate


def test_volume_agrees_with_numpy(monitored: dict) -> None:
    table = _table(monitored["project"], "mon_data_volume")
    rules = VolumeRules(
        window=int(T["volume_window"]),
        min_history=int(T["volume_min_history"]),
        z_warn=T["volume_z_warn"],
        z_error=T["volume_z_error"],
        row_count_min_relative_std=T["volume_row_count_min_relative_std"],
        null_rate_min_std=T["volume_null_rate_min_std"],
    )
    order = table.drop_duplicates("batch_id").sort_values(["scored_at", "batch_id"])["batch_id"]
    order = order.tolist()
    assert order[:8] == BATCHES
    scores, features = monitored["scores"], monitored["features"]
    merged = scores.merge(features, on="claim_id", how="left")
    subjects = [("row_count", "claims")] + [
        ("null_rate", column) for column in monitored["spec"].inputs
    ]
    for metric, subject in subjects:
        series = []
        for batch in order:
            claims = merged[merged["batch_id"] == batch]
            if metric == "row_count":
                series.append(float(len(claims)))
            else:
                series.append(float(claims[subject].isna().mean()) if len(claims) else None)
        expected = volume_verdicts(series, metric, rules)
        actual = table[(table["metric_name"] == metric) & (table["subject"] == subject)]
        actual = actual.set_index("batch_id")
        for batch, verdict in zip(order, expected, strict=True):
            got = actual.loc[batch]
            assert got["status"] == verdict["status"], f"{metric} {subject} {batch}"
            assert got["history_batches"] == verdict["history_batches"]
            for column in ("trailing_mean", "trailing_std", "z_score"):
                _close(got[column], verdict[column], f"{metric} {subject} {batch} {column}")
    statuses = table.set_index(["batch_id", "metric_name", "subject"])["status"]
    assert statuses.loc[("b7", "row_count", "claims")] == "error"  # the spike
    assert statuses.loc[(ALL_NULL_BATCH, "null_rate", ALL_NULL_FEATURE)] == "error"
    assert statuses.loc[(EMPTY_BATCH, "row_count", "claims")] == "no_data"


def test_status_tests_map_statuses_to_dbt_severities(monitored: dict) -> None:
    """The latest batch is the empty one: every PSI row is no_data (an error status) and every
    disparate impact row insufficient_data (a warn status)."""
    project = monitored["project"]
    project.dbt(
        "test",
        "--select",
        "mon_feature_psi",
        "mon_disparate_impact",
        "--exclude",
        "test_type:unit",
        check=False,
    )
    results = {
        result["unique_id"].split(".")[2]: result for result in project.run_results()["results"]
    }
    psi = results["psi_within_mon_feature_psi_"]
    assert psi["status"] == "fail"
    assert psi["failures"] == len(monitored["spec"].inputs) + 1  # the features and the score
    fairness = results["disparate_impact_within_mon_disparate_impact_"]
    assert fairness["status"] == "warn"
    assert fairness["failures"] == 3  # one row per protected attribute
    assert (
        results["unique_combination_of_columns_mon_feature_psi_batch_id__feature_name"]["status"]
        == "pass"
    )


def test_contracted_not_null_columns_are_refused_on_write(monitored: dict) -> None:
    """The monitor build has no not_null test nodes on the contracted mon_* columns: their
    contracts declare not_null constraints, which DuckDB keeps on the tables and checks on
    every later insert, incremental runs included."""
    models_yml = Path(__file__).resolve().parents[3] / "models/monitoring/_monitoring__models.yml"
    document = yaml.safe_load(models_yml.read_text())
    declared = {
        (model["name"], column["name"])
        for model in document["models"]
        for column in model.get("columns", [])
        if {"type": "not_null"} in column.get("constraints", [])
    }
    assert ("mon_feature_psi", "status") in declared
    assert len(declared) >= 12
    with duckdb.connect(str(monitored["project"].duckdb_path)) as con:
        enforced = {
            (table, columns[0])
            for table, columns in con.execute(
                "select table_name, constraint_column_names from duckdb_constraints() "
                "where schema_name = 'main_monitoring' and constraint_type = 'NOT NULL'"
            ).fetchall()
        }
        assert declared <= enforced, declared - enforced
        with pytest.raises(duckdb.ConstraintException, match="status"):
            con.execute(
                "insert into main_monitoring.mon_feature_psi (batch_id, feature_name, status) "
                "values ('b_test', 'x', null)"
            )
