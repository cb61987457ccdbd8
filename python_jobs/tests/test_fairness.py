"""Disparate impact: the tests' numpy oracle against hand-computed values (the SQL is compared
with the oracle in integration/test_monitoring_sql.py and with hand-computed fixtures in the dbt
unit tests), and the promotion gate's reading of ml_challenger_disparate_impact and its rule."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from monitoring_oracle import COLUMNS, disparate_impact

from claims_fraud.ml.fairness import CHALLENGER_DI_TABLE, challenger_disparate_impact
from claims_fraud.ml.promote import fairness_gate
from claims_fraud.warehouse.connections import DuckDBWarehouse, TableNotFoundError


def groups_and_flags(counts: dict[str | None, tuple[int, int]]) -> tuple[pd.Series, np.ndarray]:
    """Rows for {group: (n, flagged)}: the first `flagged` rows of each group are flagged."""
    groups: list[str | None] = []
    flags: list[bool] = []
    for group, (n, flagged) in counts.items():
        groups += [group] * n
        flags += [True] * flagged + [False] * (n - flagged)
    return pd.Series(groups, dtype=object), np.array(flags)


def row(table: pd.DataFrame, group: str) -> pd.Series:
    return table.set_index("group").loc[group]


def test_two_groups_hand_computed() -> None:
    # A: 200 claims, 20 flagged (10%), the reference (largest); B: 100 claims, 20 flagged (20%).
    groups, flagged = groups_and_flags({"A": (200, 20), "B": (100, 20)})
    table = disparate_impact(groups, flagged)
    assert list(table.columns) == list(COLUMNS)
    assert table["group"].tolist() == ["A", "B"]
    b = row(table, "B")
    assert b["reference_group"] == "A"
    assert (b["n"], b["flagged"], b["reference_n"], b["reference_flagged"]) == (100, 20, 200, 20)
    assert b["flag_rate"] == pytest.approx(0.2)
    assert b["reference_flag_rate"] == pytest.approx(0.1)
    assert b["disparate_impact"] == pytest.approx(2.0)
    assert b["not_flagged_ratio"] == pytest.approx(0.8 / 0.9)
    # Pooled z-test derived by hand: p = 40/300, se = sqrt(p(1-p)(1/100 + 1/200)).
    pooled = 40 / 300
    se = math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 200))
    z = (0.2 - 0.1) / se
    assert b["z"] == pytest.approx(z)
    assert b["z"] == pytest.approx(2.40192, abs=1e-5)
    # Two-sided normal tail: 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt 2); table value ~0.0163.
    assert b["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert b["p_value"] == pytest.approx(0.016309, abs=1e-6)
    assert b["p_adjusted"] == pytest.approx(b["p_value"])  # m = 1
    # Katz: exp(ln 2 -/+ 1.96 sqrt((1 - 0.2)/20 + (1 - 0.1)/20)) = 2 exp(-/+ 1.96 sqrt(0.085)).
    half = 1.96 * math.sqrt(0.085)
    assert b["ci_low"] == pytest.approx(2 * math.exp(-half))
    assert b["ci_high"] == pytest.approx(2 * math.exp(half))
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((1.12943, 3.54161), abs=1e-5)
    assert bool(b["is_significant"])
    # Band test: ln 2 is (ln 2 - ln 1.25) / sqrt(0.085) = 1.612 standard errors above ln 1.25,
    # one-sided p ~ 0.0535 >= 0.05: outside the band but not significantly -> not a fail.
    z_out = (math.log(2) - math.log(1.25)) / math.sqrt(0.085)
    assert b["p_outside_band"] == pytest.approx(0.5 * math.erfc(z_out / math.sqrt(2)))
    assert b["p_outside_band"] == pytest.approx(0.0535, abs=1e-4)
    assert not bool(b["is_significantly_outside_band"])
    assert b["status"] == "warn_not_significant"


def test_reference_row() -> None:
    groups, flagged = groups_and_flags({"A": (200, 20), "B": (100, 20)})
    a = row(disparate_impact(groups, flagged), "A")
    assert a["reference_group"] == "A"
    assert a["disparate_impact"] == 1.0
    assert a["not_flagged_ratio"] == 1.0
    for column in ("z", "p_value", "p_adjusted", "ci_low", "ci_high"):
        assert math.isnan(a[column]), column
    assert not a["is_significant"]
    assert a["status"] == "pass"


def test_default_reference_is_largest_then_alphabetical_and_can_be_chosen() -> None:
    groups, flagged = groups_and_flags({"b": (50, 5), "a": (50, 5), "c": (40, 4)})
    assert set(disparate_impact(groups, flagged)["reference_group"]) == {"a"}
    groups, flagged = groups_and_flags({"b": (60, 5), "a": (50, 5)})
    assert set(disparate_impact(groups, flagged)["reference_group"]) == {"b"}
    chosen = disparate_impact(groups, flagged, reference_group="a")
    assert set(chosen["reference_group"]) == {"a"}
    with pytest.raises(ValueError, match="'zzz' not among the groups"):
        disparate_impact(groups, flagged, reference_group="zzz")


def test_null_groups_are_unknown() -> None:
    groups, flagged = groups_and_flags({"A": (100, 10), None: (80, 8)})
    groups[0] = np.nan
    table = disparate_impact(groups, flagged)
    assert table["group"].tolist() == ["A", "unknown"]
    assert row(table, "unknown")["n"] == 81


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        # DI 2.0 on 400 vs 200 claims: ln 2 lies 2.28 standard errors above ln 1.25,
        # p_outside_band ~ 0.011 -> fail.
        ({"A": (400, 40), "B": (200, 40)}, "fail"),
        # DI 2.0 on 200 vs 100 claims: significantly different from 1 (p = 0.016), but only
        # 1.61 standard errors above the band (p_outside_band ~ 0.054) -> not a fail.
        ({"A": (200, 20), "B": (100, 20)}, "warn_not_significant"),
        # DI 1.6 outside the band, but 50 vs 50 claims: p ~ 0.37 -> not significant.
        ({"A": (50, 5), "B": (49, 8)}, "warn_not_significant"),
        # DI 1.1 inside the band, 100k claims each: p ~ 1e-13 -> significant.
        ({"A": (100_000, 10_000), "B": (99_999, 11_000)}, "warn_significant_within_band"),
        # DI 1.05, not significant.
        ({"A": (1000, 100), "B": (999, 105)}, "pass"),
        # Pooled rate 11/1020: expected flagged in B = 20 * 0.0108 = 0.2 < 5.
        ({"A": (1000, 10), "B": (20, 1)}, "insufficient_data"),
    ],
)
def test_every_status_is_reachable(counts: dict, status: str) -> None:
    groups, flagged = groups_and_flags(counts)
    assert row(disparate_impact(groups, flagged), "B")["status"] == status


def test_band_bounds_are_inside() -> None:
    # DI exactly 0.8 (significant with this much data) is inside the band.
    groups, flagged = groups_and_flags({"A": (100_000, 10_000), "B": (50_000, 4_000)})
    b = row(disparate_impact(groups, flagged), "B")
    assert b["disparate_impact"] == pytest.approx(0.8)
    assert b["status"] == "warn_significant_within_band"
    wider = row(disparate_impact(groups, flagged, band=(0.85, 1.2)), "B")
    assert wider["status"] == "fail"


def test_bonferroni_multiplies_by_the_number_of_comparisons() -> None:
    # B alone: p ~ 0.016 < 0.05. With C and D there are m = 3 comparisons: 3p ~ 0.049.
    # E makes m = 4: 4p ~ 0.065, no longer significant.
    base = {"A": (200, 20), "B": (100, 20), "C": (100, 10), "D": (100, 11)}
    groups, flagged = groups_and_flags(base)
    b = row(disparate_impact(groups, flagged), "B")
    assert b["p_adjusted"] == pytest.approx(3 * b["p_value"])
    assert b["is_significant"]
    groups, flagged = groups_and_flags({**base, "E": (100, 9)})
    table = disparate_impact(groups, flagged)
    b = row(table, "B")
    assert b["p_adjusted"] == pytest.approx(4 * b["p_value"])
    assert not b["is_significant"]
    assert b["status"] == "warn_not_significant"
    c = row(table, "C")
    assert c["p_adjusted"] == 1.0  # min(1, 4 * 1.0)


def test_insufficient_data_is_never_a_silent_pass() -> None:
    # Identical rates (DI = 1) but only 1 expected flag in B: insufficient, not pass.
    groups, flagged = groups_and_flags({"A": (1000, 50), "B": (20, 1)})
    b = row(disparate_impact(groups, flagged), "B")
    assert b["disparate_impact"] == pytest.approx(1.0)
    assert b["status"] == "insufficient_data"
    # min_expected is a parameter: with 1 the same data passes.
    b = row(disparate_impact(groups, flagged, min_expected=1), "B")
    assert b["status"] == "pass"


def test_reference_with_too_few_expected_cells_is_insufficient() -> None:
    groups, flagged = groups_and_flags({"A": (100, 2), "B": (90, 30)})
    table = disparate_impact(groups, flagged)
    assert row(table, "A")["status"] == "insufficient_data"  # 100 * 0.02 = 2 < 5


def test_zero_counts_give_nan_intervals_and_infinite_ratio() -> None:
    groups, flagged = groups_and_flags({"A": (200, 0), "B": (100, 30)})
    b = row(disparate_impact(groups, flagged), "B")
    assert b["disparate_impact"] == math.inf
    assert math.isnan(b["ci_low"])
    assert math.isnan(b["ci_high"])
    assert b["status"] == "fail"
    groups, flagged = groups_and_flags({"A": (200, 0), "B": (100, 0)})
    b = row(disparate_impact(groups, flagged), "B")
    assert math.isnan(b["disparate_impact"])
    assert math.isnan(b["z"])
    assert b["status"] == "insufficient_data"


def test_input_checks() -> None:
    with pytest.raises(ValueError, match="shape"):
        disparate_impact(pd.Series(["a", "b"]), np.array([True]))


def test_the_band_test_measures_the_distance_beyond_the_crossed_bound() -> None:
    # B: 4% vs A's 5.6% on 1,000 claims each, DI 0.714: outside the band, yet ln 0.714 is
    # only (ln 0.8 - ln 0.714) / se = 0.113 / 0.194 = 0.59 standard errors below ln 0.8.
    groups, flagged = groups_and_flags({"A": (1000, 56), "B": (1000, 40)})
    b = row(disparate_impact(groups, flagged), "B")
    se = math.sqrt((1 - 0.04) / 40 + (1 - 0.056) / 56)
    z_out = (math.log(0.8) - math.log(40 / 56)) / se
    assert b["p_outside_band"] == pytest.approx(0.5 * math.erfc(z_out / math.sqrt(2)))
    assert b["status"] == "warn_not_significant"
    # Ten times the claims at the same rates: 1.87 standard errors, p ~ 0.031 -> fail.
    groups, flagged = groups_and_flags({"A": (10_000, 560), "B": (10_000, 400)})
    b = row(disparate_impact(groups, flagged), "B")
    assert b["p_outside_band"] < 0.05
    assert b["is_significantly_outside_band"]
    assert b["status"] == "fail"
    # Inside the band there is nothing to test.
    groups, flagged = groups_and_flags({"A": (10_000, 500), "B": (10_000, 480)})
    b = row(disparate_impact(groups, flagged), "B")
    assert math.isnan(b["p_outside_band"])
    assert not b["is_significantly_outside_band"]


def test_a_group_with_no_flags_is_tested_with_half_a_flag() -> None:
    # 0 of 2,000 flagged against 10% of 2,000: DI 0, far outside; ln(0.5 / 200) is many
    # standard errors below ln 0.8, so the zero count does not hide a real disparity.
    groups, flagged = groups_and_flags({"A": (2000, 200), "B": (2000, 0)})
    b = row(disparate_impact(groups, flagged), "B")
    assert b["disparate_impact"] == 0
    assert b["status"] == "fail"


# --- the gate's side: ml_challenger_disparate_impact rows --------------------------------------


def _sql_rows(version: str, attribute: str, table: pd.DataFrame) -> pd.DataFrame:
    """Rows shaped like ml_challenger_disparate_impact (group_name) from an oracle table."""
    rows = table.rename(columns={"group": "group_name"}).assign(
        model_name="claims_fraud_classifier",
        model_version=version,
        run_id="run-1",
        attribute_name=attribute,
    )
    # SQL has nulls where the oracle has infinities (a ratio over a reference without flags).
    return rows.replace([math.inf, -math.inf], np.nan)


def _warehouse(tmp_path: Path, rows: pd.DataFrame | None) -> DuckDBWarehouse:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema main_ml")
        con.execute("create table main_ml.other_table as select 1 as x")
        if rows is not None:
            con.register("incoming", rows)
            con.execute(f"create table main_ml.{CHALLENGER_DI_TABLE} as select * from incoming")
    return DuckDBWarehouse(path)


def test_the_gate_reads_the_challengers_rows_per_attribute(tmp_path: Path) -> None:
    fair_groups, fair_flags = groups_and_flags({"A": (1000, 100), "B": (999, 105)})
    unfair_groups, unfair_flags = groups_and_flags({"A": (400, 40), "B": (200, 40)})
    rows = pd.concat(
        [
            _sql_rows("3", "gender", disparate_impact(fair_groups, fair_flags)),
            _sql_rows("3", "member_region", disparate_impact(unfair_groups, unfair_flags)),
            _sql_rows("2", "gender", disparate_impact(unfair_groups, unfair_flags)),
        ],
        ignore_index=True,
    )
    by_attribute = challenger_disparate_impact(_warehouse(tmp_path, rows), "3")
    assert sorted(by_attribute) == ["gender", "member_region"]
    assert by_attribute["member_region"]["group"].tolist() == ["A", "B"]
    assert set(by_attribute["gender"]["model_version"]) == {"3"}  # v2's rows are not v3's

    gate = fairness_gate(by_attribute, (0.8, 1.25))
    assert not gate.passed
    assert gate.value == pytest.approx(2.0)  # the DI farthest from 1
    statuses = {row["group"]: row["status"] for row in gate.detail["member_region"]}
    assert statuses == {"A": "pass", "B": "fail"}
    assert set(gate.detail["gender"][0]) == {
        "group",
        "n",
        "flag_rate",
        "disparate_impact",
        "p_adjusted",
        "status",
    }
    json.dumps(gate.detail, default=str)  # the audit row's detail column
    assert "significantly outside 0.8-1.25" in gate.rule

    fair = fairness_gate({"gender": by_attribute["gender"]}, (0.8, 1.25))
    assert fair.passed


def test_insufficient_data_and_warnings_do_not_fail_the_gate() -> None:
    thin_groups, thin_flags = groups_and_flags({"A": (1000, 10), "B": (20, 1)})
    small_groups, small_flags = groups_and_flags({"A": (200, 20), "B": (100, 20)})
    gate = fairness_gate(
        {
            "member_region": disparate_impact(thin_groups, thin_flags),
            "age_group": disparate_impact(small_groups, small_flags),
        },
        (0.8, 1.25),
    )
    assert gate.passed
    statuses = {row["status"] for rows in gate.detail.values() for row in rows}
    assert statuses == {"pass", "insufficient_data", "warn_not_significant"}


def test_a_missing_table_names_it_and_the_command_to_run(tmp_path: Path) -> None:
    with pytest.raises(TableNotFoundError) as error:
        challenger_disparate_impact(_warehouse(tmp_path, None), "3")
    message = str(error.value)
    assert CHALLENGER_DI_TABLE in message
    assert "dbt build --selector train" in message


def test_a_table_built_for_another_challenger_is_refused(tmp_path: Path) -> None:
    groups, flags = groups_and_flags({"A": (100, 10), "B": (100, 12)})
    rows = _sql_rows("2", "gender", disparate_impact(groups, flags))
    with pytest.raises(TableNotFoundError, match=r"no rows for @challenger v3 \(it holds v2\)"):
        challenger_disparate_impact(_warehouse(tmp_path, rows), "3")


def test_an_unknown_status_is_refused(tmp_path: Path) -> None:
    groups, flags = groups_and_flags({"A": (100, 10), "B": (100, 12)})
    rows = _sql_rows("3", "gender", disparate_impact(groups, flags)).assign(status="maybe")
    with pytest.raises(ValueError, match="unknown fairness status"):
        challenger_disparate_impact(_warehouse(tmp_path, rows), "3")
