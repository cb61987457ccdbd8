"""The performance monitoring (ml_score_calibration, mon_calibration, mon_model_performance)
built by dbt on the --target engine (portable: DuckDB in `make test`, Spark in `make
test-spark`) over monitoring_fixture's inputs, against the pandas/scikit-learn oracle
(performance_oracle.py) to 1e-9, and the verdicts the inputs are built to give: the batch
whose fraud rate falls to a third loses precision (error), outcomes still open on the
monitoring date leave the last batches short of labels, the batch of a model version without
calibration is missing_reference, the empty batch no_data."""

from __future__ import annotations

import numpy as np
import pytest
from monitoring_fixture import (
    DRIFTED,
    EMPTY_BATCH,
    NO_PROFILE_BATCH,
    MonitoringBuild,
    monitoring_inputs,
)
from performance_oracle import batch_performance, calibration, calibration_starts, labels
from targets import read_table

from integration.test_monitoring_sql import T, _close  # the thresholds seed, the 1e-9 comparison

pytestmark = pytest.mark.portable


@pytest.fixture(scope="module")
def oracle() -> dict:
    inputs = monitoring_inputs(2026)  # the seed build_monitoring uses
    as_of = inputs["fct_claim_features"]["ingested_at"].max()
    labelled = labels(inputs["stg_claims__siu_investigation"], as_of.date())
    validation = inputs["ml_validation_scores"]
    bins = int(T["calibration_bins"])
    return {
        "inputs": inputs,
        "as_of": as_of,
        "labelled": labelled,
        "calibration": calibration(validation, labelled, bins),
        "starts": calibration_starts(validation, labelled, bins),
    }


def test_calibration_bins_agree_with_the_oracle(
    monitoring_build: MonitoringBuild, oracle: dict
) -> None:
    actual = read_table(monitoring_build.project, "ml", "ml_score_calibration")
    actual = actual.sort_values("bin_index").reset_index(drop=True)
    expected = oracle["calibration"]
    assert actual["bin_index"].tolist() == expected["bin_index"].tolist()
    for column in (
        "n_claims",
        "n_flagged",
        "n_labelled",
        "n_confirmed",
        "n_labelled_flagged",
        "n_confirmed_flagged",
    ):
        assert actual[column].tolist() == expected[column].tolist(), column
    for column in ("score_lower", "score_upper", "calibrated_probability"):
        for i, value in enumerate(expected[column]):
            _close(actual.loc[i, column], value, f"{column} bin {i + 1}")
    _close(
        actual["reference_average_precision"].iloc[0],
        expected["reference_average_precision"].iloc[0],
        "reference_average_precision",
    )
    # the flag threshold is an edge: no bin holds flagged and unflagged claims
    mixed = (actual["n_flagged"] > 0) & (actual["n_flagged"] < actual["n_claims"])
    assert not mixed.any()
    # the validation window's scores tie (rounded to 3 decimals), and the bins still cover it
    assert actual["n_claims"].sum() == len(oracle["inputs"]["ml_validation_scores"])


def test_batch_performance_agrees_with_the_oracle(
    monitoring_build: MonitoringBuild, oracle: dict
) -> None:
    table = read_table(monitoring_build.project, "monitoring", "mon_model_performance")
    table = table.set_index("batch_id")
    scores = oracle["inputs"]["fraud_scores"]
    calibrated_batches = sorted(set(scores.loc[scores["model_version"] == "1", "batch_id"]))
    for batch in calibrated_batches:
        expected = batch_performance(
            scores[scores["batch_id"] == batch],
            oracle["labelled"],
            oracle["calibration"],
            oracle["starts"],
            T,
        )
        row = table.loc[batch]
        for column, value in expected.items():
            if column == "status":
                assert row["status"] == value, f"{batch}: {row['status']} != {value}"
            elif isinstance(value, int):
                assert int(row[column]) == value, f"{batch} {column}"
            else:
                _close(row[column], value, f"{batch} {column}")
    assert len(calibrated_batches) >= 7


def test_performance_verdicts(monitoring_build: MonitoringBuild, oracle: dict) -> None:
    table = read_table(monitoring_build.project, "monitoring", "mon_model_performance")
    status = dict(zip(table["batch_id"], table["status"], strict=True))
    assert status[DRIFTED] == "error"  # a third of the fraud: precision falls
    assert status[NO_PROFILE_BATCH] == "missing_reference"  # version 2: no calibration
    assert status[EMPTY_BATCH] == "no_data"
    assert "insufficient_data" in status.values()  # outcomes still open on the monitoring date
    quiet = [b for b in status if b not in (DRIFTED, NO_PROFILE_BATCH, EMPTY_BATCH)]
    assert {status[b] for b in quiet} <= {"ok", "insufficient_data"}, status
    # labels lag: coverage falls towards the monitoring date
    indexed = table.set_index("batch_id")
    assert indexed.loc["b1", "label_coverage"] > indexed.loc["b8", "label_coverage"]
    # the estimate and the realized precision agree on quiet batches within their error
    ok = indexed[indexed["status"] == "ok"]
    assert len(ok) >= 5
    gap = (ok["expected_precision_labelled"] - ok["realized_precision"]).abs()
    assert (gap <= 4 * np.sqrt(0.25 / ok["n_labelled_flagged"])).all()


def test_calibration_table_matches_the_batches(monitoring_build: MonitoringBuild) -> None:
    """mon_calibration's bins add up to mon_model_performance's counts of the same batch."""
    bins = read_table(monitoring_build.project, "monitoring", "mon_calibration")
    performance = read_table(monitoring_build.project, "monitoring", "mon_model_performance")
    sums = bins.groupby("batch_id")[["n_flagged", "n_labelled", "n_confirmed"]].sum()
    rows = performance.set_index("batch_id").loc[sums.index]
    assert (sums["n_flagged"] == rows["n_flagged"]).all()
    assert (sums["n_labelled"] == rows["n_labelled"]).all()
    assert (sums["n_confirmed"] == rows["calibration_observed"]).all()
    lab = bins[bins["n_labelled"] > 0]
    assert (
        (lab["observed_ci_low"] <= lab["observed_rate"])
        & (lab["observed_rate"] <= lab["observed_ci_high"])
    ).all()
