"""Reading a dbt ref as pandas, in chunks of a window of claims (warehouse.frames), on a real
DuckDB relation: the chunks hold exactly the window's rows, with the types ``.df()`` gives;
and scoring a chunk at a time gives the scores of scoring everything at once."""

from __future__ import annotations

from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pytest

from claims_fraud.ml.score import ChampionModels, score_planned_batches
from claims_fraud.warehouse import params
from claims_fraud.warehouse.frames import claims_in_windows, row_count, to_pandas

ROWS = 10_000


@pytest.fixture
def relation() -> duckdb.DuckDBPyRelation:
    """Claims ingested one per 5 minutes from 2025-01-01, with the column types
    fct_claim_features has: dates, decimals, booleans with nulls, text."""
    con = duckdb.connect()
    con.execute(
        f"""
        create table claims as
        select
            'C' || lpad(cast(i as varchar), 6, '0') as claim_id,
            timestamp '2025-01-01' + to_minutes(5 * i) as ingested_at,
            date '2024-12-01' + cast(i % 30 as integer) as claim_start_date,
            cast(i * 1.25 as decimal(18, 2)) as total_charge_amount,
            case when i % 7 = 0 then null else i % 2 = 0 end as is_weekend_service,
            i % 5 as line_count,
            -- nulls in the first chunks only: every chunk must still get the column's type
            case when i < 500 then null else i % 3 end as member_claims_prior_30d
        from range({ROWS}) as t(i)
        """
    )
    return con.table("claims")


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("claim_id").reset_index(drop=True)


def test_chunks_hold_the_windows_rows_with_the_types_of_df(relation) -> None:
    start, end = datetime(2025, 1, 3), datetime(2025, 1, 20)
    chunks = list(claims_in_windows(relation, [(start, end)], chunk_rows=1_000))
    ingested = duckdb.ColumnExpression("ingested_at")
    expected = relation.filter(
        (ingested >= duckdb.ConstantExpression(start)) & (ingested < duckdb.ConstantExpression(end))
    ).df()
    assert len(chunks) > 1
    assert max(len(chunk) for chunk in chunks) <= 1_000
    got = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(expected))
    # decimals as float64 and dates as datetime64, as .df() gives them (not Arrow's objects)
    assert got["total_charge_amount"].dtype == np.float64
    assert str(got["claim_start_date"].dtype).startswith("datetime64")


def test_the_span_runs_from_the_earliest_start_to_the_latest_end(relation) -> None:
    windows = [
        (datetime(2025, 1, 10), datetime(2025, 1, 11)),
        (datetime(2025, 1, 5), datetime(2025, 1, 6)),
    ]
    got = pd.concat(claims_in_windows(relation, windows), ignore_index=True)
    assert got["ingested_at"].min() == pd.Timestamp(2025, 1, 5)
    assert got["ingested_at"].max() < pd.Timestamp(2025, 1, 11)
    assert len(got) == 6 * 24 * 12  # six days of one claim per 5 minutes
    # an unbounded side reads to the end of the data
    tail = pd.concat(claims_in_windows(relation, [(datetime(2025, 1, 30), None)]))
    assert tail["ingested_at"].max() == relation.df()["ingested_at"].max()


def test_no_row_in_the_span_yields_no_frame(relation) -> None:
    assert list(claims_in_windows(relation, [(datetime(2030, 1, 1), None)])) == []
    assert row_count(relation) == ROWS
    assert row_count(to_pandas(relation)) == ROWS


def test_a_pandas_frame_gives_the_same_rows_as_its_relation(relation) -> None:
    window = [(datetime(2025, 1, 2), datetime(2025, 1, 4))]
    from_duckdb = pd.concat(claims_in_windows(relation, window, chunk_rows=100))
    from_pandas = pd.concat(claims_in_windows(relation.df(), window))
    pd.testing.assert_frame_equal(_sorted(from_duckdb), _sorted(from_pandas))


class _RowModel:
    """A model whose output depends on each row alone (the real ones do: trees, and an
    autoencoder scaled at training): what chunking relies on."""

    flag_threshold = 0.5

    def check(self, frame: pd.DataFrame, table: str) -> None:
        assert "line_count" in frame.columns, table

    def predict(self, context, frame: pd.DataFrame) -> np.ndarray:
        return frame["line_count"].to_numpy(dtype=float) / 4


def test_scoring_chunk_by_chunk_equals_scoring_at_once(relation, monkeypatch) -> None:
    models = ChampionModels(_RowModel(), _RowModel(), "classifier", "3", "run", "2")
    batches = params.scoring_batches("day", "2025-01-02", "2025-01-12", 1)
    monkeypatch.setattr("claims_fraud.warehouse.frames.CHUNK_ROWS", 700)
    chunked = score_planned_batches(relation, models, batches)
    at_once = score_planned_batches(relation.df(), models, batches)
    columns = ["claim_id", "batch_id", "fraud_probability", "anomaly_score", "is_flagged"]
    pd.testing.assert_frame_equal(
        _sorted(chunked[columns]), _sorted(at_once[columns]), check_dtype=True
    )
    assert set(chunked["batch_id"]) == {b.batch_id for b in batches}
    assert len(chunked) == 10 * 24 * 12


def test_to_pandas_reads_in_chunks_what_df_gives(relation, monkeypatch) -> None:
    expected = relation.df()
    monkeypatch.setattr("claims_fraud.warehouse.frames.CHUNK_ROWS", 900)
    pd.testing.assert_frame_equal(_sorted(to_pandas(relation)), _sorted(expected))
    empty = relation.filter(duckdb.ColumnExpression("line_count") < duckdb.ConstantExpression(0))
    assert to_pandas(empty).empty
    assert list(to_pandas(empty).columns) == list(expected.columns)
