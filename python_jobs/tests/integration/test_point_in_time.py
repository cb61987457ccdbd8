"""Point-in-time features: a claim's features are the ones it had when it happened.

The features built on the whole dataset and on the same dataset with every claim that starts
after a cut date removed are the same for the claims that ended by then: no provider, peer,
member or network feature of a claim reads a later claim (docs/data.md, "Point in time").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from harness import DbtProject, make_project

from claims_fraud.features.spec import load_feature_spec

pytestmark = pytest.mark.integration

FEATURES_TABLE = "main_features.fct_claim_features"
CUT = date(2025, 3, 31)


def _features(project: DbtProject, where: str) -> pd.DataFrame:
    with duckdb.connect(str(project.duckdb_path), read_only=True) as con:
        frame = con.execute(f"select * from {FEATURES_TABLE} where {where} order by claim_id").df()
    return frame.set_index("claim_id")


def test_features_of_a_claim_ignore_every_later_claim(
    tmp_path: Path, copy_raw: Callable[[], Path], built_project: DbtProject
) -> None:
    raw = copy_raw()
    claims_file = raw / "medical_claim.parquet"
    kept = raw / "kept.tmp"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet('{claims_file}') where claim_start_date is null "
            f"or claim_start_date <= date '{CUT}') to '{kept}' (format parquet)"
        )
    kept.replace(claims_file)
    truncated = make_project(tmp_path / "dbt", raw)
    truncated.dbt("seed")
    truncated.dbt("run", "--select", "+fct_claim_features")

    earlier = f"claim_end_date <= date '{CUT}'"
    before = _features(built_project, earlier)
    after = _features(truncated, earlier)
    assert len(before) > 5_000  # most of the dataset's first 15 months
    assert before.index.equals(after.index)
    spec = load_feature_spec()
    # the inputs that read other claims (provider, peer, member, network) are the point
    for column in [*spec.inputs, "person_id", "rendering_npi", "gender", "age_group"]:
        left, right = before[column], after[column]
        if pd.api.types.is_float_dtype(left):
            np.testing.assert_allclose(
                left.to_numpy(float), right.to_numpy(float), rtol=1e-9, atol=1e-12,
                equal_nan=True, err_msg=column,
            )  # fmt: skip
        else:
            assert left.fillna(-1).astype(str).equals(right.fillna(-1).astype(str)), column
    # and the removed claims would have changed them had they been read: the later claims
    # exist (a cut that removed nothing would prove nothing)
    later = built_project.scalar(
        f"select count(*) from {FEATURES_TABLE} where claim_start_date > date '{CUT}'"
    )
    assert later > 5_000
