"""The report page: header, verdict and thresholds, the seven sections, CSS, and the document."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from claims_fraud.monitoring.report.data import (
    SCORE_FEATURE,
    THRESHOLDS_TABLE,
    ReportData,
    batch_window,
    monitored_batches,
    of_batch,
)
from claims_fraud.monitoring.report.format import (
    DASH,
    badge,
    bin_label,
    empty_note,
    esc,
    html_table,
    integer,
    num,
    pct,
    threshold_text,
    when,
    yes_no,
)
from claims_fraud.monitoring.report.over_time import (
    di_trend_section,
    drifted_distributions,
    performance_section,
)
from claims_fraud.monitoring.report.queue import queue_section
from claims_fraud.monitoring.report.svg import di_chart, psi_heatmap, score_bars, volume_chart


def _section(number: int, title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{number}. {html.escape(title)}</h2>{body}</section>'


def _verdict(data: ReportData, batch_id: str) -> str:
    sources = (
        ("feature PSI", data.feature_psi),
        ("score distribution", data.score_distribution),
        ("disparate impact", data.disparate_impact),
        ("data volume", data.data_volume),
    )
    n_bad = n_warn = n_checks = 0
    details = []
    for label, frame in sources:
        rows = of_batch(frame, batch_id)
        if "status" not in rows.columns:
            continue
        statuses = rows["status"].astype("string").fillna("")
        bad = int(statuses.isin(["error", "fail"]).sum())
        warn = int(statuses.str.startswith("warn").sum())
        n_bad, n_warn, n_checks = n_bad + bad, n_warn + warn, n_checks + len(statuses)
        counts = [f"{bad} error/fail"] * bool(bad) + [f"{warn} warn"] * bool(warn)
        if counts:
            details.append(f"{label}: {', '.join(counts)}")
    level = "bad" if n_bad else "warn" if n_warn else "good"
    word = {"bad": "ACTION NEEDED", "warn": "WATCH", "good": "OK"}[level]
    detail = f" ({'; '.join(details)})" if details else ""
    return (
        f'<p class="verdict {level}"><strong>Verdict: {word}</strong> {DASH} '
        f"{n_bad} error/fail, {n_warn} warn of {n_checks} checks{html.escape(detail)}</p>"
    )


def _thresholds(data: ReportData) -> str:
    """The thresholds the charts draw, as the monitoring_thresholds table holds them."""
    limits = data.thresholds
    psi = f"PSI warn {threshold_text(limits.psi_warn)}, error {threshold_text(limits.psi_error)}"
    band = (
        f"disparate impact band {threshold_text(limits.disparate_impact_lower)}{DASH}"
        f"{threshold_text(limits.disparate_impact_upper)}"
    )
    return (
        f'<p class="legend thresholds">Thresholds drawn (table {THRESHOLDS_TABLE}): '
        f"{html.escape(psi)}; {html.escape(band)}.</p>"
    )


def _header(data: ReportData, batch: pd.Series | None, generated_at: datetime) -> str:
    generated = when(generated_at)
    if batch is None:
        return (
            "<header><h1>Claims fraud monitoring report</h1>"
            f"<p>Generated {generated}.</p>"
            '<p class="verdict muted"><strong>No monitored batch yet</strong>: score a batch '
            f"and run <code>make monitor</code>.</p>{_thresholds(data)}</header>"
        )
    facts = (
        ("Batch", esc(batch["batch_id"])),
        ("Model version", esc(batch["model_version"])),
        ("Scored at", when(batch["scored_at"])),
        ("Generated", generated),
    )
    items = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    return (
        f"<header><h1>Claims fraud monitoring report</h1><dl class='facts'>{items}</dl>"
        f"{_verdict(data, str(batch['batch_id']))}{_thresholds(data)}</header>"
    )


def _score_section(data: ReportData, batch_id: str | None) -> str:
    bins = of_batch(data.psi_bins, batch_id)
    bins = bins[bins["feature_name"] == SCORE_FEATURE] if not bins.empty else bins
    if bins.empty:
        chart = empty_note("No score bins for this batch yet (mon_feature_psi_bins).")
    else:
        chart = f'<div class="scroll">{score_bars(bins)}</div>'
    rows = of_batch(data.score_distribution, batch_id)
    if rows.empty:
        return chart + empty_note("No score distribution for this batch yet.")
    row = rows.iloc[0]
    cells = {
        "claims": integer(row["n"]),
        **{q: num(row[f"fraud_probability_{q}"], 3) for q in ("mean", "p50", "p90", "p95", "p99")},
        "flagged": integer(row["n_flagged"]),
        "flag rate vs expected": (
            f"{pct(row['flag_rate'], 2)} vs {pct(row['expected_flag_rate'])}"
        ),
        "flag rate z (p)": f"{num(row['flag_rate_z'])} ({num(row['flag_rate_p_value'], 3)})",
        "KS": num(row["ks_statistic"], 3),
        "score PSI (critical)": (
            f"{num(row['score_psi'], 3)} ({num(row['score_psi_critical_value'], 3)})"
        ),
        "score PSI status": badge(row["score_psi_status"]),
        "status": badge(row["status"]),
    }
    return chart + html_table(list(cells), [list(cells.values())])


def _fairness_section(data: ReportData, batch_id: str | None) -> str:
    rows = of_batch(data.disparate_impact, batch_id)
    if rows.empty:
        return empty_note("No disparate impact for this batch yet.")
    out = [
        f'<p class="legend"><span class="swatch" style="background:#e3f2e5"></span>accepted band '
        f"{threshold_text(data.thresholds.disparate_impact_lower)}{DASH}"
        f"{threshold_text(data.thresholds.disparate_impact_upper)}; "
        "dot = flag-rate ratio to the reference group "
        "(hollow: the reference itself), line = 95% CI.</p>"
    ]
    for attribute, groups in rows.groupby("attribute_name", sort=True):
        out.append(f"<h3>{html.escape(str(attribute))}</h3>")
        known = groups[groups["group_name"].notna()]
        if known.empty:
            statuses = ", ".join(sorted({str(s) for s in groups["status"].dropna()}))
            out.append(empty_note(f"No groups: the batch is empty ({statuses or DASH})."))
        else:
            out.append(f'<div class="scroll">{di_chart(known, data.thresholds)}</div>')
    return "".join(out)


def _volume_section(data: ReportData, window: pd.DataFrame, batch_id: str | None) -> str:
    volume = data.data_volume
    if volume.empty or batch_id is None:
        return empty_note("No data volume yet: run make monitor after scoring a batch.")
    counts = volume[
        (volume["metric_name"] == "row_count") & volume["batch_id"].isin(window["batch_id"])
    ]
    order = {bid: i for i, bid in enumerate(window["batch_id"])}
    counts = counts.sort_values("batch_id", key=lambda s: s.map(order))
    out = [
        '<p class="legend">Claims per batch (blue; dashed: trailing mean), '
        "points coloured by status.</p>",
        f'<div class="scroll">{volume_chart(counts, batch_id)}</div>'
        if not counts.empty
        else empty_note("No row counts yet."),
        "<h3>Null rates of this batch</h3>",
    ]
    nulls = of_batch(volume, batch_id)
    nulls = nulls[nulls["metric_name"] == "null_rate"]
    flagged = nulls[nulls["status"].isin(["warn", "error"])]
    flagged = flagged.sort_values(
        "z_score", key=lambda z: pd.to_numeric(z, errors="coerce").abs(), ascending=False
    )
    if nulls.empty:
        out.append(empty_note("No null rates for this batch."))
    elif flagged.empty:
        pending = int((nulls["status"] == "insufficient_history").sum())
        note = f" ({pending} of {len(nulls)} without enough history yet)" if pending else ""
        out.append(f'<p class="good">All null rates ok{html.escape(note)}.</p>')
    else:
        headers = ["column", "null rate", "trailing mean", "trailing std", "z", "status"]
        cells = (
            [
                esc(r["subject"]),
                *(pct(r[c], 2) for c in ("value", "trailing_mean", "trailing_std")),
                num(r["z_score"]),
                badge(r["status"]),
            ]
            for _, r in flagged.iterrows()
        )
        out.append(html_table(headers, cells))
    return "".join(out)


def _drift_section(data: ReportData, batch_id: str | None) -> str:
    rows = of_batch(data.feature_psi, batch_id)
    if rows.empty:
        return empty_note("No feature PSI for this batch yet.")
    rows = rows[rows["status"].isin(["warn", "error"])]
    if rows.empty:
        return empty_note("No feature drifted to warn or error in this batch.")
    rows = rows.sort_values("psi", ascending=False)
    headers = ["feature", "type", "status", "PSI", "critical value", "top bin kind", "top bin"]
    headers += ["reference share", "batch share", "contribution"]
    return html_table(
        headers,
        (
            [
                esc(r["feature_name"]),
                esc(r["feature_type"]),
                badge(r["status"]),
                num(r["psi"], 3),
                num(r["critical_value"], 3),
                esc(r["top_bin_kind"]),
                html.escape(
                    bin_label(
                        r["top_bin_kind"],
                        r["top_bin_lower_bound"],
                        r["top_bin_upper_bound"],
                        r["top_bin_level"],
                    )
                ),
                pct(r["top_bin_reference_share"]),
                pct(r["top_bin_current_share"]),
                num(r["top_bin_contribution"], 3),
            ]
            for _, r in rows.iterrows()
        ),
    )


def _promotion_section(data: ReportData) -> str:
    rows = data.promotions
    if rows.empty:
        return empty_note("No promotion decision recorded yet.")
    base = ["decided_at", "action", "challenger_version", "champion_version_before"]
    base += ["champion_version_after", "is_promoted", "all_gates_passed", "reason", "decided_by"]
    gates = [c for c in rows.columns if c.endswith("_passed") and c != "all_gates_passed"]
    columns = [c for c in base if c in rows.columns] + gates
    flags = {"is_promoted", "all_gates_passed", *gates}
    if "decided_at" in rows.columns:
        rows = rows.sort_values("decided_at", ascending=False, na_position="last")

    def cell(column: str, value: object) -> str:
        if column in flags:
            return yes_no(value)
        return when(value) if column == "decided_at" else esc(value)

    return html_table(columns, ([cell(c, r[c]) for c in columns] for _, r in rows.iterrows()))


def _alerts_section(data: ReportData, batch_id: str | None) -> str:
    rows = of_batch(data.alerts, batch_id)
    if "created_at" in rows.columns and not rows.empty:
        # every alerts run appends its alerts: show the latest run's, without its summary row
        rows = rows[rows["created_at"] == rows["created_at"].max()]
    if "alert_type" in rows.columns:
        rows = rows[rows["alert_type"] != "batch_summary"]
    if rows.empty:
        return empty_note("No alert raised for this batch.")
    columns = ["created_at", "alert_type", "severity", "subject", "message"]
    return html_table(
        columns,
        (
            [
                when(r.get("created_at")),
                esc(r.get("alert_type")),
                badge(r.get("severity")),
                esc(r.get("subject")),
                esc(r.get("message")),
            ]
            for _, r in rows.iterrows()
        ),
    )


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: #222; margin: 0 auto; max-width: 1180px; padding: 24px; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0 0 8px; }
h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 1em; margin: 16px 0 4px; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 32px; margin: 8px 0; }
.facts dt { font-size: .8em; color: #666; } .facts dd { margin: 0; font-weight: 600; }
.verdict { padding: 8px 12px; border-radius: 4px; border-left: 6px solid; background: #f6f6f6; }
.verdict.bad { border-color: #c62828; background: #fdecea; }
.verdict.warn { border-color: #e69500; background: #fff6e0; }
.verdict.good { border-color: #2e7d32; background: #e8f5e9; }
.verdict.muted { border-color: #9e9e9e; }
table.data { border-collapse: collapse; font-size: .85em; margin: 8px 0; }
table.data th, table.data td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
table.data th { background: #f3f3f3; font-weight: 600; }
.badge { padding: 1px 6px; border-radius: 3px; color: #fff; background: #9e9e9e; }
.badge.good { background: #2e7d32; color: #fff; }
.badge.warn { background: #e69500; color: #fff; }
.badge.bad { background: #c62828; color: #fff; }
span.good, p.good { color: #2e7d32; } span.bad { color: #c62828; font-weight: 600; }
.empty { color: #777; font-style: italic; }
.legend { font-size: .85em; color: #444; }
.swatch { display: inline-block; width: 14px; height: 10px; margin: 0 4px 0 10px;
  border: 1px solid #ccc; }
.scroll { overflow-x: auto; }
svg.chart { font-family: inherit; display: block; }
table.data td:first-child { white-space: nowrap; }
figure.small-multiple { display: inline-block; margin: 0 18px 12px 0; vertical-align: top; }
figure.small-multiple figcaption { font-size: .9em; font-weight: 600; }
"""


def render_report(
    data: ReportData, batch_id: str | None = None, generated_at: datetime | None = None
) -> str:
    """The report as one HTML document. batch_id None selects the latest batch by scored_at;
    an unknown batch_id raises ValueError."""
    generated_at = generated_at or datetime.now(UTC)
    batches = monitored_batches(data)
    if batch_id is not None and batch_id not in set(batches["batch_id"].astype(str)):
        raise ValueError(f"batch {batch_id!r} is not in the monitoring tables")
    batch = None
    if not batches.empty:
        position = batches.index[batches["batch_id"].astype(str) == batch_id]
        batch = batches.loc[position[0]] if batch_id is not None else batches.iloc[-1]
        batch_id = batch["batch_id"]
    window = batch_window(batches, batch_id) if batch is not None else batches
    sections = (
        ("psi", "Feature drift (PSI) by batch", lambda: psi_heatmap(data, window, batch_id)),
        ("scores", "Score distribution vs reference", lambda: _score_section(data, batch_id)),
        ("fairness", "Disparate impact", lambda: _fairness_section(data, batch_id)),
        (
            "fairness-trend",
            "Disparate impact over time",
            lambda: di_trend_section(data, window, batch_id),
        ),
        (
            "performance",
            "Model performance: realized and estimated",
            lambda: performance_section(data, window, batch_id),
        ),
        ("volume", "Volume over time", lambda: _volume_section(data, window, batch_id)),
        (
            "drift",
            "Top drifted features",
            lambda: _drift_section(data, batch_id) + drifted_distributions(data, batch_id),
        ),
        ("queue", "SIU review queue", lambda: queue_section(data, batch_id)),
        ("promotions", "Promotion history and rollbacks", lambda: _promotion_section(data)),
        ("alerts", "Alerts of this batch", lambda: _alerts_section(data, batch_id)),
    )
    body = "".join(
        _section(number, title, render(), anchor)
        for number, (anchor, title, render) in enumerate(sections, start=1)
    )
    title = f"Monitoring report {DASH} {esc(batch_id) if batch_id else 'no batch yet'}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"{_header(data, batch, generated_at)}{body}</body></html>\n"
    )


def write_report(data: ReportData, path: Path, batch_id: str | None = None) -> Path:
    """Render the report and write it to path (parent folders created); returns path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data, batch_id), encoding="utf-8")
    return path
