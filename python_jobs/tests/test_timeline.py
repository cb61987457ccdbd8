"""The demo's time: the batches of one scoring run (params.scoring_batches) and the claims a
training may use (TrainingWindow), without dbt."""

from __future__ import annotations

import itertools
from datetime import datetime

import pandas as pd
import pytest

from claims_fraud.ml.score import select_window
from claims_fraud.ml.training_job import TrainingSettings
from claims_fraud.ml.training_window import TrainingWindow
from claims_fraud.warehouse import params
from claims_fraud.warehouse.params import InvalidParameterError, ScoringBatch


def test_zero_batch_days_is_one_batch_over_the_whole_window() -> None:
    assert params.scoring_batches("all_claims", "", "", 0) == [
        ScoringBatch("all_claims", None, None)
    ]
    assert params.scoring_batches("b1", "2025-01-01", "", "0") == [
        ScoringBatch("b1", datetime(2025, 1, 1), None)
    ]


def test_weekly_batches_tile_the_window_and_the_last_is_cut_at_its_end() -> None:
    batches = params.scoring_batches("week", "2025-09-29", "2025-10-15 12:00", "7")
    assert [b.batch_id for b in batches] == [
        "week-2025-09-29",
        "week-2025-10-06",
        "week-2025-10-13",
    ]
    assert batches[0].start == datetime(2025, 9, 29)
    # consecutive: each batch starts where the one before ended, no gap and no overlap
    assert all(a.end == b.start for a, b in itertools.pairwise(batches))
    assert batches[-1].end == datetime(2025, 10, 15, 12)


@pytest.mark.parametrize(
    ("start", "end", "days", "named"),
    [
        ("", "2025-10-01", 7, "scoring_batch_days"),  # a backfill needs both bounds
        ("2025-10-01", "", 7, "scoring_batch_days"),
        ("2025-10-01", "2025-10-01", 7, "scoring_window_end"),  # empty window
        ("2025-10-02", "2025-10-01", 0, "scoring_window_end"),
        ("2020-01-01", "2025-10-01", 1, "scoring_batch_days"),  # more than 1000 batches
        ("2025-10-01", "2025-11-01", -7, "scoring_batch_days"),
        ("2025-10-01", "2025-11-01", "7 or 1=1", "scoring_batch_days"),
    ],
)
def test_a_plan_that_cannot_be_scored_is_refused_naming_the_var(
    start: str, end: str, days: object, named: str
) -> None:
    with pytest.raises(InvalidParameterError, match=named):
        params.scoring_batches("week", start, end, days)


def test_a_batch_name_too_long_with_its_date_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="with the batch's date"):
        params.scoring_batches("x" * 60, "2025-10-01", "2025-10-08", 7)


def test_select_window_keeps_claims_ingested_in_start_inclusive_end_exclusive() -> None:
    frame = pd.DataFrame(
        {
            "claim_id": ["a", "b", "c", "d"],
            "ingested_at": pd.to_datetime(
                ["2025-09-28 23:59", "2025-09-29 00:00", "2025-10-05 23:59", "2025-10-06 00:00"]
            ),
        }
    )
    kept = select_window(frame, datetime(2025, 9, 29), datetime(2025, 10, 6))
    assert kept["claim_id"].tolist() == ["b", "c"]


def _claims() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "claim_id": ["early", "warm", "late"],
            "claim_start_date": pd.to_datetime(["2024-01-01", "2024-10-01", "2025-09-20"]),
            "ingested_at": pd.to_datetime(["2024-01-20", "2024-10-20", "2025-10-02"]),
        }
    )


def test_training_window_leaves_out_the_warm_up_and_what_arrived_after_the_cutoff() -> None:
    window = TrainingWindow.from_mapping({"cutoff": "2025-09-29", "warmup_days": "270"})
    assert window.select(_claims())["claim_id"].tolist() == ["warm"]
    # the defaults keep every claim (your own data: train on all of it)
    assert TrainingWindow.from_mapping({"cutoff": "", "warmup_days": "0"}).select(_claims())[
        "claim_id"
    ].tolist() == ["early", "warm", "late"]


def test_training_knows_only_the_outcomes_closed_before_its_cutoff() -> None:
    investigations = pd.DataFrame(
        {
            "claim_id": ["early", "warm", "late"],
            "investigation_closed_date": pd.to_datetime(["2024-03-01", "2025-09-28", "2025-09-29"]),
            "outcome": ["no_fraud", "confirmed_fraud", "confirmed_fraud"],
        }
    )
    window = TrainingWindow.from_mapping({"cutoff": "2025-09-29"})
    assert window.known_outcomes(investigations)["claim_id"].tolist() == ["early", "warm"]
    assert len(TrainingWindow().known_outcomes(investigations)) == 3


def test_a_training_window_without_claims_says_which_window_and_what_the_data_holds() -> None:
    window = TrainingWindow.from_mapping({"cutoff": "2024-01-10"})
    with pytest.raises(ValueError, match=r"ingested before 2024-01-10 00:00.*starting 2024-01-01"):
        window.select(_claims())


def test_training_settings_read_the_window_and_refuse_bad_values() -> None:
    settings = TrainingSettings.from_mapping(
        {"window": {"cutoff": "2025-09-29", "warmup_days": "270"}}, flag_budget=0.05
    )
    assert settings.window == TrainingWindow(datetime(2025, 9, 29), 270)
    with pytest.raises(InvalidParameterError, match="training_cutoff"):
        TrainingSettings.from_mapping({"window": {"cutoff": "2025-02-30"}}, flag_budget=0.05)
    with pytest.raises(ValueError, match="unknown training window setting"):
        TrainingSettings.from_mapping({"window": {"start": "2025-01-01"}}, flag_budget=0.05)
