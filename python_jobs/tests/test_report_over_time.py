"""The report's sections over time (test_report.py's sample data, plus the batches' windows and
their performance): time order by ingest window, precision per batch, disparate impact per
group per batch, the drifted inputs' distributions."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
from test_report import BATCHES, ReportData, render, sample, score_bins, section


def _performance(batch_id: str, status: str, realized: float | None) -> dict:
    return {
        "batch_id": batch_id,
        "model_version": "4",
        "n_flagged": 50,
        "label_coverage": 0.1,
        "n_labelled_flagged": 12 if realized is not None else 0,
        "realized_precision": realized,
        "precision_ci_low": None if realized is None else realized - 0.2,
        "precision_ci_high": None if realized is None else min(1.0, realized + 0.1),
        "expected_precision": 0.8,
        "expected_precision_std_error": 0.05,
        "expected_precision_labelled": 0.82,
        "reference_precision": 0.85,
        "days_since_window_end": 30,
        "status": status,
    }


def _with(**tables: pd.DataFrame) -> ReportData:
    return ReportData(**{**sample().__dict__, **tables})


def test_batches_follow_their_ingest_windows_when_mon_batches_has_them() -> None:
    """One backfill scores every batch at once: the windows, not scored_at, give the order."""
    windows = pd.DataFrame(
        {
            "batch_id": ["b1", "b2", "b3"],
            "window_start": [datetime(2025, 3, 17), datetime(2025, 3, 3), datetime(2025, 3, 10)],
        }
    )
    page = render(_with(batches=windows))
    assert "b1" in page.split("<title>")[1]  # b1 has the latest window: selected by default
    heat = section(page, "psi")
    order = re.findall(r'data-batch="([^"]*)"', heat)
    assert list(dict.fromkeys(order)) == ["b2", "b3", "b1"]


def test_performance_over_time_draws_realized_and_expected_precision() -> None:
    rows = pd.DataFrame(
        [
            _performance("b1", "ok", 0.9),
            _performance("b2", "error", 0.4),
            _performance("b3", "insufficient_data", None),
        ]
    )
    part = section(render(_with(performance=rows)), "performance")
    realized = re.findall(r'<circle class="realized"[^>]*fill="([^"]*)"', part)
    assert len(realized) == 2  # b3 has no outcome yet: no dot
    assert "#c62828" in realized  # b2's error in red
    assert part.count('class="expected"') == 1
    assert 'class="reference"' in part
    assert "insufficient_data" in part
    assert "SIU" in part
    assert "nan" not in part.lower().replace("nannyml", "")


def test_performance_without_the_table_says_so() -> None:
    assert "No performance monitoring yet" in section(render(), "performance")


def test_disparate_impact_over_time_has_a_line_per_group_and_marks_failures() -> None:
    part = section(render(), "fairness-trend")
    assert "<h3>gender</h3>" in part
    # two non-reference groups (M, x & <y>), each a line over the three batches
    assert part.count("<polyline") == 2
    assert part.count('class="di-point failed"') == 3  # x & <y> failed in each batch
    assert "x &amp; &lt;y&gt;" in part


def test_drifted_inputs_get_their_reference_and_batch_bars() -> None:
    bins = pd.DataFrame(
        [
            {**row, "feature_name": feature}
            for feature in ("fraud_probability", "amount")
            for row in score_bins("b3")
        ]
    )
    page = render(_with(psi_bins=bins))
    drift = section(page, "drift")
    assert "Reference vs this batch, bin by bin" in drift
    assert "amount: PSI 0.270 (error)" in drift
    assert drift.count('class="bar-reference"') == 4  # one per bin of amount
    # kind<&> warns too but has no bins here: no empty chart
    assert "kind&lt;&amp;&gt;: PSI" not in drift


def test_every_section_is_numbered_in_order() -> None:
    page = render()
    numbers = [int(n) for n in re.findall(r"<h2>(\d+)\. ", page)]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) == 10
    assert max(BATCHES, key=lambda b: b[1])[0] in page
