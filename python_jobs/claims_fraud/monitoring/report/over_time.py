"""The report's sections over time: model performance (realized and estimated) per batch,
disparate impact per group per batch, and the distributions of the batch's drifted inputs
against the reference (small multiples from mon_feature_psi_bins)."""

from __future__ import annotations

import html

import pandas as pd

from claims_fraud.monitoring.report.data import ReportData, of_batch
from claims_fraud.monitoring.report.format import (
    badge,
    empty_note,
    esc,
    html_table,
    integer,
    num,
    pct,
)
from claims_fraud.monitoring.report.svg import score_bars
from claims_fraud.monitoring.report.trends import di_trend_chart, performance_chart

MAX_DRIFT_CHARTS = 6


def performance_section(data: ReportData, window: pd.DataFrame, batch_id: str | None) -> str:
    rows = data.performance
    if rows.empty or batch_id is None:
        return empty_note("No performance monitoring yet (mon_model_performance).")
    batches = [str(b) for b in window["batch_id"]]
    rows = rows[rows["batch_id"].astype(str).isin(batches)]
    if rows.empty:
        return empty_note("No performance rows for these batches yet.")
    order = {bid: i for i, bid in enumerate(batches)}
    rows = rows.sort_values("batch_id", key=lambda s: s.astype(str).map(order))
    legend = (
        '<p class="legend">Precision among flagged claims. Realized: on the claims whose SIU '
        "outcome closed by the monitoring date (whisker: 95% Wilson interval; hollow: too few "
        "labelled flagged claims for a verdict). Expected: the calibrated probabilities of all "
        "the batch's flagged claims, known at once (shaded: \u00b12 standard errors). SIU "
        "labels are not a random sample: both are figures among investigated claims.</p>"
    )
    chart = f'<div class="scroll">{performance_chart(rows, batches, batch_id)}</div>'
    headers = [
        "batch",
        "flagged",
        "label coverage",
        "labelled flagged",
        "realized precision (95% CI)",
        "expected precision",
        "expected on the labelled",
        "validation window",
        "days of outcomes",
        "status",
    ]
    cells = (
        [
            esc(r["batch_id"]),
            integer(r["n_flagged"]),
            pct(r["label_coverage"]),
            integer(r["n_labelled_flagged"]),
            f"{pct(r['realized_precision'])} ({pct(r['precision_ci_low'])}, "
            f"{pct(r['precision_ci_high'])})",
            f"{pct(r['expected_precision'])} \u00b1 {pct(r['expected_precision_std_error'])}",
            pct(r["expected_precision_labelled"]),
            pct(r["reference_precision"]),
            integer(r["days_since_window_end"]),
            badge(r["status"]),
        ]
        for _, r in rows.iloc[::-1].iterrows()
    )
    return legend + chart + html_table(headers, cells)


def di_trend_section(data: ReportData, window: pd.DataFrame, batch_id: str | None) -> str:
    rows = data.disparate_impact
    if rows.empty or batch_id is None:
        return empty_note("No disparate impact yet.")
    batches = [str(b) for b in window["batch_id"]]
    rows = rows[rows["batch_id"].astype(str).isin(batches)]
    out = [
        '<p class="legend">Each group\'s flag-rate ratio to its reference group per batch '
        "(the band shaded; a red point failed: outside the band and significantly so).</p>"
    ]
    for attribute, groups in rows.groupby("attribute_name", sort=True):
        out.append(f"<h3>{html.escape(str(attribute))}</h3>")
        if groups["group_name"].notna().any():
            chart = di_trend_chart(groups, batches, batch_id, data.thresholds)
            out.append(f'<div class="scroll">{chart}</div>')
        else:
            out.append(empty_note("No groups in these batches."))
    return "".join(out)


def drifted_distributions(data: ReportData, batch_id: str | None) -> str:
    """Reference vs batch shares per bin of the batch's inputs at warn or error, the
    largest PSI first (at most MAX_DRIFT_CHARTS)."""
    psi = of_batch(data.feature_psi, batch_id)
    if psi.empty:
        return ""
    drifted = psi[psi["status"].isin(["warn", "error"])].sort_values("psi", ascending=False)
    bins = of_batch(data.psi_bins, batch_id)
    charts = []
    for _, row in drifted.head(MAX_DRIFT_CHARTS).iterrows():
        feature_bins = bins[bins["feature_name"] == row["feature_name"]]
        if feature_bins.empty:
            continue
        title = f"{row['feature_name']}: PSI {num(row['psi'], 3)} ({row['status']})"
        charts.append(
            f'<figure class="small-multiple"><figcaption>{html.escape(title)}</figcaption>'
            f'<div class="scroll">{score_bars(feature_bins)}</div></figure>'
        )
    if not charts:
        return ""
    return "<h3>Reference vs this batch, bin by bin</h3>" + "".join(charts)
