"""Tests of the monitoring report: pure rendering from small frames, and loading from DuckDB."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from claims_fraud.features.reference import find_project_root
from claims_fraud.monitoring.report import (
    COLOURS,
    GREY_CELL,
    MAX_BATCHES,
    THRESHOLDS_TABLE,
    ReportData,
    Thresholds,
    load_report_data,
    render_report,
    write_report,
)
from claims_fraud.warehouse.connections import DuckDBWarehouse, TableNotFoundError

THRESHOLDS_SEED = find_project_root() / "seeds" / f"{THRESHOLDS_TABLE}.csv"

T0 = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
GENERATED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def columns(names: str) -> list[str]:
    return names.split()


# Listed out of scored_at order on purpose: b3 was scored last, b1 first.
BATCHES = (("b2", T0 + timedelta(days=7)), ("b3", T0 + timedelta(days=14)), ("b1", T0))

PSI_COLUMNS = columns(
    "batch_id model_version scored_at feature_name feature_type n_bins reference_n "
    "current_n current_null_share psi critical_value status top_bin_index top_bin_kind "
    "top_bin_lower_bound top_bin_upper_bound top_bin_level top_bin_reference_share "
    "top_bin_current_share top_bin_contribution"
)
SCORE_COLUMNS = columns(
    "batch_id model_version scored_at n fraud_probability_mean fraud_probability_std "
    "fraud_probability_p50 fraud_probability_p90 fraud_probability_p95 "
    "fraud_probability_p99 anomaly_score_mean anomaly_score_std anomaly_score_p50 "
    "anomaly_score_p90 anomaly_score_p95 anomaly_score_p99 n_flagged flag_rate "
    "expected_flag_rate flag_rate_z flag_rate_p_value ks_statistic score_psi "
    "score_psi_critical_value score_psi_status status"
)
DI_COLUMNS = columns(
    "batch_id model_version scored_at attribute_name group_name n flagged flag_rate "
    "reference_group reference_group_source reference_n reference_flagged "
    "reference_flag_rate disparate_impact not_flagged_ratio z p_value p_adjusted ci_low "
    "ci_high min_expected_cell is_significant status"
)
VOLUME_COLUMNS = columns(
    "batch_id model_version scored_at metric_name subject value history_batches "
    "trailing_mean trailing_std z_score status"
)


def frame(names: list[str], rows: list[dict[str, object]]) -> pd.DataFrame:
    """A frame with every column of the table; unset cells are NaN, explicit ones may be None."""
    return pd.DataFrame(rows, columns=names)


def batch_cols(batch_id: str) -> dict[str, object]:
    return {"batch_id": batch_id, "model_version": "4", "scored_at": dict(BATCHES)[batch_id]}


def psi_rows() -> list[dict[str, object]]:
    """amount drifts to error in b3; kind<&> warns in b3; b1 had no reference profile."""
    values = {"b1": (None, None), "b2": (0.02, 0.04), "b3": (0.27, 0.12)}
    rows = []
    for batch_id, (amount, kind) in values.items():
        for name, psi, kind_of_bin in (("amount", amount, "range"), ("kind<&>", kind, "level")):
            status = "missing_reference" if psi is None else "ok"
            if psi is not None and psi >= 0.10:
                status = "error" if psi >= 0.25 else "warn"
            rows.append(
                {
                    **batch_cols(batch_id),
                    "feature_name": name,
                    "psi": psi,
                    "critical_value": None if psi is None else 0.031,
                    "status": status,
                    "top_bin_kind": kind_of_bin,
                    "top_bin_lower_bound": 4250.0 if kind_of_bin == "range" else None,
                    "top_bin_level": "<b>dental</b>" if kind_of_bin == "level" else None,
                    "top_bin_reference_share": 0.1,
                    "top_bin_current_share": 0.3,
                    "top_bin_contribution": 0.22,
                }
            )
    return rows


def score_bins(batch_id: str) -> list[dict[str, object]]:
    bounds = ((None, 0.12, "range"), (0.12, 0.31, "range"), (0.9, None, "range"))
    rows = [
        {"bin_kind": kind, "lower_bound": low, "upper_bound": high} for low, high, kind in bounds
    ]
    rows.append({"bin_kind": "null"})
    return [
        {
            **batch_cols(batch_id),
            **row,
            "feature_name": "fraud_probability",
            "bin_index": index,
            "reference_share": 0.25,
            "current_share": [0.2, 0.3, 0.4, 0.1][index],
        }
        for index, row in enumerate(rows)
    ]


def di_rows(batch_id: str) -> list[dict[str, object]]:
    groups = (
        ("F", 1.0, None, None, "pass"),
        ("M", 0.95, 0.8, 1.1, "pass"),
        ("x & <y>", 1.6, 1.4, 1.9, "fail"),
    )
    return [
        {
            **batch_cols(batch_id),
            "attribute_name": "gender",
            "group_name": group,
            "n": 1000,
            "reference_group": "F",
            "disparate_impact": di,
            "ci_low": low,
            "ci_high": high,
            "status": status,
        }
        for group, di, low, high, status in groups
    ]


def volume_rows() -> list[dict[str, object]]:
    counts = {"b1": (1000, "insufficient_history"), "b2": (990, "ok"), "b3": (400, "warn")}
    rows = []
    for batch_id, (count, status) in counts.items():
        rows.append(
            {**batch_cols(batch_id), "metric_name": "row_count", "subject": "claims"}
            | {"value": count, "trailing_mean": 995.0, "z_score": -4.1, "status": status}
        )
        rows.append(
            {**batch_cols(batch_id), "metric_name": "null_rate", "subject": "amount"}
            | {"value": 0.02, "trailing_mean": 0.01, "z_score": 3.4}
            | {"status": "warn" if batch_id == "b3" else "ok"}
        )
    return rows


def promotions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "decision_id": ["d1", "d2"],
            "challenger_version": ["3", "4"],
            "champion_version_before": [None, "3"],
            "champion_version_after": ["3", "3"],
            "is_promoted": [True, False],
            "all_gates_passed": [True, False],
            "performance_passed": [True, True],
            "fairness_passed": [True, False],
            "data_tests_passed": [True, True],
            "decided_at": [T0 - timedelta(days=30), T0 + timedelta(days=10)],
        }
    )


def alerts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "alert_id": ["a1", "a2"],
            "batch_id": ["b3", "b2"],
            "created_at": [T0 + timedelta(days=14), T0 + timedelta(days=7)],
            "alert_type": ["feature_drift", "old_alert_type"],
            "severity": ["error", "warn"],
            "subject": ["amount", "x"],
            "message": ["PSI 0.27 >= 0.25", "from another batch"],
        }
    )


def seed_thresholds() -> pd.DataFrame:
    """The monitoring_thresholds seed as dbt loads it (threshold_name, threshold_value, ...)."""
    return pd.read_csv(THRESHOLDS_SEED)


def with_thresholds(rows: pd.DataFrame, **values: float) -> pd.DataFrame:
    """The seed rows with some threshold_value changed (each name must be a row of the seed)."""
    changed = rows.copy()
    for name, value in values.items():
        assert (changed["threshold_name"] == name).sum() == 1, name
        changed.loc[changed["threshold_name"] == name, "threshold_value"] = value
    return changed


THRESHOLDS = Thresholds.from_table(seed_thresholds())


def sample() -> ReportData:
    scores = [
        {**batch_cols(b), "n": 1000, "fraud_probability_mean": 0.06, "flag_rate": 0.05}
        | {"expected_flag_rate": 0.05, "score_psi": 0.01, "status": "ok"}
        for b, _ in BATCHES
    ]
    return ReportData(
        feature_psi=frame(PSI_COLUMNS, psi_rows()),
        psi_bins=pd.DataFrame([row for b, _ in BATCHES for row in score_bins(b)]),
        score_distribution=frame(SCORE_COLUMNS, scores),
        disparate_impact=frame(DI_COLUMNS, [row for b, _ in BATCHES for row in di_rows(b)]),
        data_volume=frame(VOLUME_COLUMNS, volume_rows()),
        promotions=promotions(),
        alerts=alerts(),
        thresholds=THRESHOLDS,
    )


def empty_data() -> ReportData:
    return ReportData(*(pd.DataFrame() for _ in range(7)), thresholds=THRESHOLDS)


def render(data: ReportData | None = None, batch_id: str | None = None) -> str:
    return render_report(data or sample(), batch_id=batch_id, generated_at=GENERATED)


def section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert match is not None, f"section {anchor} missing"
    return match.group(1)


def psi_cells(page: str) -> dict[tuple[str, str], str]:
    cells = re.findall(
        r'<g class="psi-cell" data-feature="([^"]*)" data-batch="([^"]*)">(.*?)</g>', page
    )
    return {(feature, batch): body for feature, batch, body in cells}


# ---------------------------------------------------------------------------- header


def test_latest_batch_by_scored_at_is_selected_by_default() -> None:
    page = render()
    header = page.split("<section", 1)[0]
    assert "<dd>b3</dd>" in header
    assert "2025-03-17 06:00:00 UTC" in header
    assert "2025-06-01 12:00:00 UTC" in header  # generated_at


def test_explicit_batch_and_unknown_batch() -> None:
    header = render(batch_id="b2").split("<section", 1)[0]
    assert "<dd>b2</dd>" in header
    with pytest.raises(ValueError, match="nope"):
        render(batch_id="nope")


def test_verdict_counts_error_fail_and_warn_of_the_batch() -> None:
    verdict = re.search(r'<p class="verdict (\w+)">(.*?)</p>', render())
    assert verdict is not None
    # b3: amount error + fail of 'x & <y>' = 2; kind<&> warn, row_count warn, null rate warn = 3
    assert verdict.group(1) == "bad"
    assert "2 error/fail, 3 warn" in verdict.group(2)
    calm = re.search(r'<p class="verdict (\w+)">(.*?)</p>', render(batch_id="b1"))
    assert calm is not None
    assert calm.group(1) == "bad"  # b1 also has the failed group
    assert "1 error/fail, 0 warn" in calm.group(2)


# ---------------------------------------------------------------------------- 1. PSI


def test_heat_map_has_one_cell_per_feature_and_batch() -> None:
    cells = psi_cells(section(render(), "psi"))
    assert set(cells) == {
        (f, b) for f in ("amount", "kind&lt;&amp;&gt;") for b in ("b1", "b2", "b3")
    }
    title = re.search(r"<title>(.*?)</title>", cells[("amount", "b3")])
    assert title is not None
    assert "PSI 0.270" in title.group(1)
    assert "status error" in title.group(1)
    assert "critical value 0.031" in title.group(1)
    assert ">0.27</text>" in cells[("amount", "b3")]


def test_heat_map_columns_follow_scored_at() -> None:
    psi = section(render(), "psi")
    columns = re.findall(r'data-feature="amount" data-batch="([^"]*)"', psi)
    assert columns == ["b1", "b2", "b3"]


def test_heat_map_colours_green_to_red() -> None:
    cells = psi_cells(render())

    def fill(feature: str, batch: str) -> str:
        match = re.search(r'<rect [^>]*fill="#([0-9a-f]{6})"', cells[(feature, batch)])
        assert match is not None
        return match.group(1)

    assert fill("amount", "b3") == "d32f2f"  # 0.27 >= 0.25: full red
    # PSI 0.02 < 0.04 < 0.12 < 0.27: from pale green through amber to red, darker each step
    kind = "kind&lt;&amp;&gt;"
    by_psi = [fill("amount", "b2"), fill(kind, "b2"), fill(kind, "b3"), fill("amount", "b3")]
    greens = [int(colour[2:4], 16) for colour in by_psi]
    assert greens == sorted(greens, reverse=True)
    assert len(set(greens)) == 4
    assert greens[0] > 220  # a small PSI stays light


def test_missing_reference_and_no_data_cells_are_grey_with_status() -> None:
    data = sample()
    psi = data.feature_psi.copy()
    psi.loc[(psi["batch_id"] == "b2") & (psi["feature_name"] == "amount"), "status"] = "no_data"
    cells = psi_cells(render(ReportData(**{**data.__dict__, "feature_psi": psi})))
    assert f'fill="{GREY_CELL}"' in cells[("amount", "b1")]
    assert "no ref" in cells[("amount", "b1")]
    assert "missing_reference" in cells[("amount", "b1")]
    assert f'fill="{GREY_CELL}"' in cells[("amount", "b2")]
    assert ">no data</text>" in cells[("amount", "b2")]


def test_heat_map_shows_at_most_the_last_batches_up_to_the_selected_one() -> None:
    # ids whose alphabetical order is not their scoring order, listed newest first
    ids = [f"w{(7 * day) % 25:02d}" for day in range(MAX_BATCHES + 5)]
    rows = [
        {"batch_id": ids[day], "model_version": "4", "scored_at": T0 + timedelta(days=day)}
        | {"feature_name": "amount", "psi": 0.01, "critical_value": 0.03, "status": "ok"}
        for day in reversed(range(len(ids)))
    ]
    data = ReportData(**{**empty_data().__dict__, "feature_psi": frame(PSI_COLUMNS, rows)})
    page = render(data)
    assert f"<dd>{ids[-1]}</dd>" in page
    assert re.findall(r'data-batch="([^"]*)"', section(page, "psi")) == ids[5:]
    older = re.findall(r'data-batch="([^"]*)"', section(render(data, ids[10]), "psi"))
    assert older == ids[:11]


# ---------------------------------------------------------------------------- 2. scores


def test_score_bins_are_labelled_from_their_bounds() -> None:
    scores = section(render(), "scores")
    labels = re.findall(r'rotate\(-35\)"[^>]*>([^<]*)</text>', scores)
    assert labels == ["\u2264 0.12", "(0.12, 0.31]", "&gt; 0.9", "NULL"]
    assert scores.count('class="bar-reference"') == 4
    assert scores.count('class="bar-batch"') == 4
    assert "NULL: batch 10.0%" in scores


def test_score_table_prints_dash_for_missing_numbers() -> None:
    scores = section(render(), "scores")
    assert "5.00% vs 5.0%" in scores
    assert "1,000" in scores
    assert "<td>\u2013</td>" in scores  # p99 and KS are null in the sample


# ---------------------------------------------------------------------------- 3. fairness


def di_band(fairness: str) -> tuple[float, float]:
    """The first DI chart's shaded band as (lower, upper) in axis units, read off its ticks."""
    band = re.search(r'class="di-band" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', fairness)
    assert band is not None
    ticks = {
        label: float(x)
        for x, label in re.findall(
            r'<text x="([\d.]+)" y="[\d.]+" font-size="10" '
            r'text-anchor="middle">([\d.]+)</text>',
            fairness,
        )
    }
    x0, unit = ticks["0"], ticks["1"] - ticks["0"]
    low = (float(band.group(1)) - x0) / unit
    return low, low + float(band.group(2)) / unit


def test_disparate_impact_band_is_drawn_between_080_and_125() -> None:
    fairness = section(render(), "fairness")
    low, high = di_band(fairness)
    assert low == pytest.approx(0.80, abs=0.002)
    assert high == pytest.approx(1.25, abs=0.002)
    assert ">0.80</text>" in fairness
    assert ">1.25</text>" in fairness


def test_failed_group_is_marked_and_reference_group_labelled() -> None:
    fairness = section(render(), "fairness")
    rows = re.findall(r'<g class="di-row (\w+)" data-group="([^"]*)">', fairness)
    groups = {group: cls for cls, group in rows}
    assert groups == {"F": "good", "M": "good", "x &amp; &lt;y&gt;": "bad"}
    failed = fairness.split('data-group="x &amp; &lt;y&gt;">', 1)[1].split("</g>", 1)[0]
    assert "fail \u00b7 DI 1.60" in failed
    assert f'fill="{COLOURS["bad"]}"' in failed
    assert fairness.count('fill="#fdecea"') == 1  # only the failed row is highlighted
    assert 'fill="#fdecea"' in failed
    assert "F (reference)" in fairness
    # the reference group has no CI; the two others have one
    assert fairness.count('class="di-ci"') == 2


def test_empty_batch_attribute_says_so() -> None:
    row = {**batch_cols("b3"), "attribute_name": "gender", "status": "insufficient_data"}
    data = ReportData(**{**sample().__dict__, "disparate_impact": frame(DI_COLUMNS, [row])})
    fairness = section(render(data), "fairness")
    assert "No groups: the batch is empty (insufficient_data)" in fairness
    assert "di-row" not in fairness


# ---------------------------------------------------------------------------- 4. volume


def test_volume_points_coloured_by_status_and_flagged_null_rates_listed() -> None:
    volume = section(render(), "volume")
    fills = re.findall(r'<circle class="volume-point" [^>]*fill="([^"]+)"', volume)
    assert fills == [COLOURS["muted"], COLOURS["good"], COLOURS["warn"]]
    assert "<td>amount</td><td>2.00%</td>" in volume


def test_null_rates_ok_message() -> None:
    volume = section(render(batch_id="b2"), "volume")
    assert "All null rates ok" in volume
    assert "<table" not in volume


# ---------------------------------------------------------------------------- 5-7. tables


def test_top_drifted_features_of_the_batch_only() -> None:
    drift = section(render(), "drift")
    body = drift.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr><td>(.*?)</td>", body)
    assert rows == ["amount", "kind&lt;&amp;&gt;"]  # by PSI, error first
    assert "&gt; 4,250" in drift
    assert "&lt;b&gt;dental&lt;/b&gt;" in drift
    assert "10.0%" in drift
    assert "30.0%" in drift
    assert "No feature drifted" in section(render(batch_id="b2"), "drift")


def test_promotion_history_newest_first() -> None:
    promotions_html = section(render(), "promotions")
    headers = re.findall(r"<th>(.*?)</th>", promotions_html)
    assert headers[:6] == [
        "decided at",
        "challenger version",
        "champion version before",
        "champion version after",
        "is promoted",
        "all gates passed",
    ]
    assert {"performance passed", "fairness passed", "data tests passed"} <= set(headers)
    first_row = promotions_html.split("<tbody><tr>", 1)[1].split("</tr>", 1)[0]
    assert "2025-03-13" in first_row
    assert '<span class="bad">no</span>' in first_row
    assert promotions_html.index("2025-03-13") < promotions_html.index("2025-02-01")


def test_alerts_of_the_selected_batch_only() -> None:
    alerts_html = section(render(), "alerts")
    assert "feature_drift" in alerts_html
    assert "old_alert_type" not in alerts_html
    assert "No alert raised" in section(render(batch_id="b1"), "alerts")


# ---------------------------------------------------------------------------- robustness


def test_empty_tables_render_no_data_sections() -> None:
    page = render(empty_data())
    assert "No monitored batch yet" in page
    anchors = re.findall(r'<section id="([\w-]+)">', page)
    assert anchors == [
        "psi",
        "scores",
        "fairness",
        "fairness-trend",
        "performance",
        "volume",
        "drift",
        "queue",
        "promotions",
        "alerts",
    ]
    for anchor in anchors:
        assert 'class="empty"' in section(page, anchor), anchor


def test_missing_promotions_and_alerts_do_not_hide_monitoring() -> None:
    data = ReportData(
        **{**sample().__dict__, "promotions": pd.DataFrame(), "alerts": pd.DataFrame()}
    )
    page = render(data)
    assert "No promotion decision recorded yet" in section(page, "promotions")
    assert 'class="psi-cell"' in page


def test_names_are_escaped() -> None:
    page = render()
    assert "kind<&>" not in page
    assert "x & <y>" not in page
    assert "<b>dental" not in page
    assert "kind&lt;&amp;&gt;" in page


def test_never_prints_nan_or_none() -> None:
    page = render()
    text = re.sub(r"<[^>]+>", " ", page)
    assert not re.search(r"\b(nan|NaN|None|NaT|<NA>)\b", text)


def test_page_is_self_contained() -> None:
    page = render()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "http://" not in page
    assert "https://" not in page
    for marker in ("<script", "<link", "@import", "url(", "<img"):
        assert marker not in page
    # heat map, score bars, one DI chart and its trend, volume
    assert page.count("<svg") == 5


def test_write_report_creates_folders(tmp_path: Path) -> None:
    path = write_report(sample(), tmp_path / "out" / "report.html", batch_id="b2")
    assert path == tmp_path / "out" / "report.html"
    assert "<dd>b2</dd>" in path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------- DuckDB


def make_warehouse(
    path: Path,
    data: ReportData,
    tables: dict[str, str],
    thresholds: pd.DataFrame | None = None,
) -> None:
    """The tables as dbt lays them out; the thresholds seed (the project's, unless given) in
    main_reference, where dbt seeds it; an empty frame leaves it out."""
    thresholds = seed_thresholds() if thresholds is None else thresholds
    with duckdb.connect(str(path)) as con:
        for schema in ("main_monitoring", "main_ml", "main_reference"):
            con.execute(f"create schema {schema}")
        frames = {name: getattr(data, field) for field, name in tables.items()}
        if not thresholds.empty:
            frames[THRESHOLDS_TABLE] = thresholds
        for name, source_frame in frames.items():
            con.register("source", source_frame.infer_objects())
            schema = {"ml_promotion_decisions": "main_ml", THRESHOLDS_TABLE: "main_reference"}
            con.execute(
                f"create table {schema.get(name, 'main_monitoring')}.{name} as select * from source"
            )
            con.unregister("source")


MONITORING = {
    "feature_psi": "mon_feature_psi",
    "psi_bins": "mon_feature_psi_bins",
    "score_distribution": "mon_score_distribution",
    "disparate_impact": "mon_disparate_impact",
    "data_volume": "mon_data_volume",
}


def test_load_report_data_from_duckdb(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    make_warehouse(path, sample(), {**MONITORING, "promotions": "ml_promotion_decisions"})
    data = load_report_data(DuckDBWarehouse(path))
    assert len(data.feature_psi) == 6
    assert len(data.promotions) == 2
    assert data.alerts.empty  # mon_alerts does not exist yet
    page = render(data)
    assert "<dd>b3</dd>" in page
    assert len(psi_cells(page)) == 6
    assert "No alert raised" in section(page, "alerts")


def test_missing_monitoring_table_names_it(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    tables = {k: v for k, v in MONITORING.items() if k != "data_volume"}
    make_warehouse(path, sample(), tables)
    with pytest.raises(TableNotFoundError, match=r"mon_data_volume.*make monitor"):
        load_report_data(DuckDBWarehouse(path))


def test_missing_thresholds_table_names_it(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    make_warehouse(path, sample(), MONITORING, thresholds=pd.DataFrame())
    with pytest.raises(TableNotFoundError, match=r"monitoring_thresholds.*make monitor"):
        load_report_data(DuckDBWarehouse(path))


def test_report_follows_the_thresholds_table(tmp_path: Path) -> None:
    """Change the seed's PSI and DI thresholds in the warehouse: the legends, the header, the
    cell colours and the shaded band follow (the report hard-codes none of them)."""
    pages = {}
    changed_rows = with_thresholds(
        seed_thresholds(),
        psi_warn=0.03,
        psi_error=0.3,
        disparate_impact_lower=0.7,
        disparate_impact_upper=1.5,
    )
    for label, rows in (("seed", seed_thresholds()), ("changed", changed_rows)):
        path = tmp_path / f"{label}.duckdb"
        make_warehouse(path, sample(), MONITORING, thresholds=rows)
        data = load_report_data(DuckDBWarehouse(path))
        pages[label] = render(data)
    seed, changed = pages["seed"], pages["changed"]
    assert "PSI warn 0.10, error 0.25; disparate impact band 0.80\u20131.25" in seed
    assert "PSI warn 0.03, error 0.30; disparate impact band 0.70\u20131.50" in changed
    assert "0.10 warn" in section(seed, "psi")
    assert "0.03 warn" in section(changed, "psi")
    assert "0.30+ error" in section(changed, "psi")
    assert di_band(section(changed, "fairness")) == (
        pytest.approx(0.70, abs=0.002),
        pytest.approx(1.50, abs=0.002),
    )

    def green(page: str, feature: str, batch: str) -> int:
        match = re.search(r'<rect [^>]*fill="#([0-9a-f]{6})"', psi_cells(page)[(feature, batch)])
        assert match is not None
        return int(match.group(1)[2:4], 16)

    # PSI 0.04: below the seed's warn line (paler than amber), past the changed one (redder)
    amber_green = 193
    assert green(seed, "kind&lt;&amp;&gt;", "b2") > amber_green
    assert green(changed, "kind&lt;&amp;&gt;", "b2") < amber_green
    # PSI 0.27: full red at the seed's error line 0.25, not yet under the changed 0.30
    assert green(seed, "amount", "b3") == 47
    assert green(changed, "amount", "b3") > 47


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            seed_thresholds().query("threshold_name != 'psi_error'"),
            r"monitoring_thresholds has no threshold_name psi_error",
        ),
        (
            with_thresholds(seed_thresholds(), disparate_impact_lower=1.3),
            r"monitoring_thresholds: disparate_impact_lower \(1.3\) must be below "
            r"disparate_impact_upper",
        ),
        (
            with_thresholds(seed_thresholds(), psi_warn=float("nan")),
            r"monitoring_thresholds: threshold_value of psi_warn must be a number",
        ),
    ],
    ids=["missing", "inverted", "not_a_number"],
)
def test_a_broken_thresholds_table_names_the_threshold(rows: pd.DataFrame, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Thresholds.from_table(rows)


def test_alerts_show_the_latest_run_without_its_summary_row() -> None:
    earlier, later = T0 + timedelta(days=14), T0 + timedelta(days=15)
    runs = pd.DataFrame(
        {
            "alert_id": ["r1a", "r1b", "r2a", "r2b"],
            "batch_id": ["b3"] * 4,
            "created_at": [earlier, earlier, later, later],
            "alert_type": ["batch_summary", "volume", "batch_summary", "feature_drift"],
            "severity": ["warn", "warn", "error", "error"],
            "subject": ["b3", "row_count:claims", "b3", "amount"],
            "message": ["summary one", "volume moved", "summary two", "PSI 0.27 >= 0.25"],
        }
    )
    data = ReportData(**{**sample().__dict__, "alerts": runs})
    alerts_html = section(render_report(data, generated_at=T0), "alerts")
    assert "PSI 0.27" in alerts_html
    assert "volume moved" not in alerts_html  # an earlier run's alert
    assert "summary two" not in alerts_html
