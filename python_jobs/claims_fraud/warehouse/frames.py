"""A dbt Python model's refs as pandas: whole (to_pandas) or a window of claims in chunks
(claims_in_windows), the same on DuckDB (the local target) and Spark (Databricks).

Scoring reads only the claims of the planned windows, chunk by chunk: a weekly batch never
loads the whole fct_claim_features, and a batch of millions of claims is scored a chunk at a
time next to DuckDB's buffer pool in the one dbt process (the 10M-line pipeline within 8 GB).
The window bounds reach the engine as typed constants (DuckDB's expression API, Spark's
``lit``), never as SQL text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pandas as pd

# Claims per chunk when scoring from DuckDB: ~70 columns of 250k claims are ~150 MB of pandas.
CHUNK_ROWS = 250_000


def to_pandas(relation: Any) -> pd.DataFrame:
    """A dbt Python model's ref as pandas: Spark frames by .toPandas(); DuckDB relations as
    the frame .df() gives, but read in Arrow batches and concatenated: .df() first builds the
    whole result inside DuckDB, which at 10M lines (4M claims) took the training step to
    7 GB before pandas held a row."""
    if isinstance(relation, pd.DataFrame):
        return relation
    if _is_spark(relation):
        return _spark_without_decimals(relation).toPandas()
    chunks = list(_duckdb_chunks(relation, CHUNK_ROWS))
    if not chunks:
        return relation.limit(0).df()
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def claims_in_windows(
    relation: Any,
    windows: list[tuple[datetime | None, datetime | None]],
    chunk_rows: int | None = None,
) -> Iterator[pd.DataFrame]:
    """The rows of ``relation`` ingested (``ingested_at``) in the span of ``windows`` (from the
    earliest start to the latest end; None: unbounded), as pandas frames of at most
    ``chunk_rows`` (default CHUNK_ROWS) rows on DuckDB (one frame on Spark, whose driver holds
    a batch; or for a pandas frame). Yields nothing when no row is in the span."""
    start, end = _span(windows)
    if isinstance(relation, pd.DataFrame):
        frame = rows_in_window(relation, start, end)
        if not frame.empty:
            yield frame
        return
    if _is_spark(relation):
        frame = to_pandas(_spark_span(relation, start, end))
        if not frame.empty:
            yield frame
        return
    yield from _duckdb_chunks(_duckdb_span(relation, start, end), chunk_rows or CHUNK_ROWS)


def flagged_claims(scores: Any, features: Any, batch_ids: list[str]) -> tuple[Any, Any]:
    """The flagged scores of ``batch_ids`` and the features of those claims alone, as pandas:
    the few claims the explanations need (5 % of a batch), filtered and joined by the engine
    before anything reaches pandas (a semi join: the features' own columns)."""
    if isinstance(scores, pd.DataFrame):
        flagged = scores.loc[scores["batch_id"].isin(batch_ids) & scores["is_flagged"].astype(bool)]
        claims = to_pandas(features)
        return flagged, claims.loc[claims["claim_id"].isin(flagged["claim_id"])]
    if _is_spark(scores):
        from pyspark.sql import functions as F  # noqa: N812

        flagged = scores.filter(F.col("batch_id").isin(list(batch_ids)) & F.col("is_flagged"))
        claims = features.join(flagged.select("claim_id"), on="claim_id", how="left_semi")
        return to_pandas(flagged), to_pandas(claims)
    import duckdb

    wanted = duckdb.ColumnExpression("batch_id").isin(
        *(duckdb.ConstantExpression(batch_id) for batch_id in batch_ids)
    )
    flagged = scores.filter(wanted & duckdb.ColumnExpression("is_flagged"))
    claims = features.join(flagged.select("claim_id"), "claim_id", how="semi")
    return flagged.df(), claims.df()


def row_count(relation: Any) -> int:
    """How many rows ``relation`` has (pandas, Spark or DuckDB), counted by its engine."""
    if isinstance(relation, pd.DataFrame):
        return len(relation)
    if _is_spark(relation):
        return int(relation.count())
    return int(relation.aggregate("count(*)").fetchall()[0][0])


def _is_spark(relation: Any) -> bool:
    return hasattr(relation, "toPandas")


def _spark_without_decimals(relation: Any) -> Any:
    # Spark hands DECIMAL columns to pandas as Decimal objects (DuckDB as float64), which
    # neither the models nor MLflow's input example accept: cast them to double first.
    from pyspark.sql import functions as F  # noqa: N812 - pyspark's own convention

    columns = [
        F.col(f"`{field.name}`").cast("double").alias(field.name)
        if type(field.dataType).__name__ == "DecimalType"
        else F.col(f"`{field.name}`")
        for field in relation.schema.fields
    ]
    return relation.select(*columns)


def _span(
    windows: list[tuple[datetime | None, datetime | None]],
) -> tuple[datetime | None, datetime | None]:
    if not windows:
        return None, None
    starts = [start for start, _ in windows]
    ends = [end for _, end in windows]
    start = None if any(s is None for s in starts) else min(starts)
    end = None if any(e is None for e in ends) else max(ends)
    return start, end


def rows_in_window(
    frame: pd.DataFrame, start: datetime | None, end: datetime | None
) -> pd.DataFrame:
    """The rows of ``frame`` ingested in [start, end) (None: unbounded)."""
    ingested = pd.to_datetime(frame["ingested_at"])
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= ingested >= pd.Timestamp(start)
    if end is not None:
        keep &= ingested < pd.Timestamp(end)
    return frame.loc[keep].reset_index(drop=True)


def _spark_span(relation: Any, start: datetime | None, end: datetime | None) -> Any:
    from pyspark.sql import functions as F  # noqa: N812

    if start is not None:
        relation = relation.filter(F.col("ingested_at") >= F.lit(start))
    if end is not None:
        relation = relation.filter(F.col("ingested_at") < F.lit(end))
    return relation


def _duckdb_span(relation: Any, start: datetime | None, end: datetime | None) -> Any:
    import duckdb

    ingested = duckdb.ColumnExpression("ingested_at")
    if start is not None:
        relation = relation.filter(ingested >= duckdb.ConstantExpression(start))
    if end is not None:
        relation = relation.filter(ingested < duckdb.ConstantExpression(end))
    return relation


def _duckdb_chunks(relation: Any, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Arrow batches of the relation, each converted to pandas by a private in-memory DuckDB
    (the relation's own connection is busy streaming them), so that the types are those of
    ``relation.df()``: dates as datetime64, decimals as float64."""
    import duckdb

    converter = duckdb.connect()
    try:
        reader = relation.to_arrow_reader(chunk_rows)
        for batch in reader:
            if batch.num_rows:
                yield converter.from_arrow(batch).df()
    finally:
        converter.close()
