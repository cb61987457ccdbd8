"""How a flagged claim's reasons are picked and shown (claims_fraud.ml.explain and the
contribution ranking of claims_fraud.portable_model): no model, no database."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from claims_fraud.ml.explain import display_value
from claims_fraud.portable_model import top_contributions


@pytest.mark.parametrize(
    ("value", "kind", "feature", "shown"),
    [
        (1620.0, "numeric", "provider_max_day_billed_minutes", "1,620"),
        (2.389, "numeric", "max_charge_peer_zscore", "2.39"),
        (0.75, "numeric", "modifier_59_25_line_share", "75%"),
        (0.851, "numeric", "allowed_to_charge_ratio", "85%"),
        (0.16, "numeric", "provider_high_em_share_excess", "16 percentage points"),
        (0.012, "numeric", "provider_high_em_share_excess", "1 percentage point"),
        (None, "numeric", "line_count", "missing"),
        (float("nan"), "numeric", "line_count", "missing"),
        (pd.NA, "boolean", "is_weekend_service", "missing"),
        (True, "boolean", "is_weekend_service", "yes"),
        (np.False_, "boolean", "has_duplicate_service", "no"),
        ("11", "categorical", "claim_type", "11"),
    ],
)
def test_a_value_is_shown_as_an_investigator_reads_it(value, kind, feature, shown) -> None:
    assert display_value(value, kind, feature) == shown


def test_the_top_reasons_are_the_largest_positive_contributions_in_order() -> None:
    values = pd.DataFrame(
        {"a": [0.5, -1.0, 0.2], "b": [2.0, -0.5, 0.2], "c": [-3.0, 0.1, 0.2], "d": [1.0, -2.0, 0.0]}
    )
    top = top_contributions(values, 3)
    first = top.loc[top["row"] == 0]
    assert list(first["feature"]) == ["b", "d", "a"]  # c pulls the score down: never a reason
    assert list(first["rank"]) == [1, 2, 3]
    assert list(top.loc[top["row"] == 1, "feature"]) == ["c"]  # one positive contribution
    assert list(top.loc[top["row"] == 2, "feature"]) == ["a", "b", "c"]  # ties: input order
    assert (top["contribution"] > 0).all()
    with pytest.raises(ValueError, match="top_k"):
        top_contributions(values, 0)
