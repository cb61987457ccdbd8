"""The monitoring report: one self-contained HTML page for a scoring batch.

`make monitor` builds the mon_* tables in dbt; this module reads them (plus the promotion
audit `ml_promotion_decisions` and the alert log `mon_alerts`, both optional) and renders
them for a person. The page is one file that reads offline: its CSS sits in a <style> block,
its charts are inline SVG drawn here, it uses the system's fonts, and it references nothing
outside itself. Every value taken from the tables is HTML-escaped, and a missing number
prints as an en dash, never as "nan".

Sections, in order, for the selected batch (by default the latest by scored_at):

- header: batch id, model version, scored_at, when the page was generated, and a verdict
  line counting the batch's error/fail and warn statuses across the monitoring tables;
1. PSI heat map: features x batches (the 20 batches up to the selected one), each cell
   coloured by PSI (green at 0, amber at the 0.10 warning line, red from the 0.25 error
   line), its tooltip giving the status and critical value; no_data and missing_reference
   cells are grey;
2. score distribution: reference vs current share per bin of fraud_probability, and the
   batch's summary statistics (quantiles, flag rate against the budget, KS, score PSI);
3. disparate impact: per protected attribute, one row per group with the DI as a dot,
   its 95% CI as a line on a linear axis from 0 to max(2, largest CI end), capped at 5
   (the tooltip keeps the exact values), and the accepted band 0.80-1.25 shaded; the
   reference group is marked (hollow dot) and a failed group is shown in red;
4. volume over time: claims per batch (same 20-batch window) with the trailing mean,
   points coloured by status, and the null rates of the batch at warn or error;
5. top drifted features of the batch (warn or error) with the bin that moved most;
6. promotion history, newest first, with every gate's verdict;
7. alerts raised for the batch.

A section whose table is empty says so ("no data yet") instead of failing, so the report
can be rendered as soon as the first batch is monitored.

Thresholds drawn on the charts mirror seeds/monitoring_thresholds.csv; the verdicts
themselves always come from the tables' status columns.

Usage::

    data = load_report_data(DuckDBWarehouse(Path("claims_fraud.duckdb")))
    write_report(data, Path("target/monitoring_report.html"))
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from claims_fraud.warehouse.connections import TableNotFoundError, Warehouse

DASH = "\u2013"
SCORE_FEATURE = "fraud_probability"
MAX_BATCHES = 20
PSI_WARN = 0.10
PSI_ERROR = 0.25
DI_LOWER = 0.80
DI_UPPER = 1.25
DI_AXIS_CAP = 5.0

MONITORING_TABLES: dict[str, str] = {
    "feature_psi": "mon_feature_psi",
    "psi_bins": "mon_feature_psi_bins",
    "score_distribution": "mon_score_distribution",
    "disparate_impact": "mon_disparate_impact",
    "data_volume": "mon_data_volume",
}
OPTIONAL_TABLES: dict[str, str] = {
    "promotions": "ml_promotion_decisions",
    "alerts": "mon_alerts",
}

COLOURS = {"good": "#2e7d32", "warn": "#e69500", "bad": "#c62828", "muted": "#9e9e9e"}
GREY_CELL = "#d6d6d6"
_PSI_STOPS = ((0.0, (232, 245, 233)), (PSI_WARN, (255, 193, 7)), (PSI_ERROR, (211, 47, 47)))


@dataclass(frozen=True)
class ReportData:
    """The tables the report reads, as pandas frames (column names as in the warehouse)."""

    feature_psi: pd.DataFrame
    psi_bins: pd.DataFrame
    score_distribution: pd.DataFrame
    disparate_impact: pd.DataFrame
    data_volume: pd.DataFrame
    promotions: pd.DataFrame
    alerts: pd.DataFrame


def load_report_data(warehouse: Warehouse) -> ReportData:
    """Read the report's tables. Promotions and alerts may not exist yet (empty frames);
    a missing monitoring table raises TableNotFoundError naming it."""
    frames: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    for field_name, table in MONITORING_TABLES.items():
        try:
            frames[field_name] = warehouse.read(table)
        except TableNotFoundError:
            missing.append(table)
    if missing:
        raise TableNotFoundError(
            f"monitoring table(s) not found: {', '.join(missing)}; run `make monitor` first"
        )
    for field_name, table in OPTIONAL_TABLES.items():
        try:
            frames[field_name] = warehouse.read(table)
        except TableNotFoundError:
            frames[field_name] = pd.DataFrame()
    return ReportData(**frames)


# ---------------------------------------------------------------------------- formatting


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _esc(value: object) -> str:
    return DASH if _missing(value) else html.escape(str(value))


def _float(value: object) -> float | None:
    if _missing(value):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _num(value: object, digits: int = 2) -> str:
    number = _float(value)
    return DASH if number is None else f"{number:,.{digits}f}"


def _int(value: object) -> str:
    number = _float(value)
    return DASH if number is None else f"{round(number):,}"


def _pct(value: object, digits: int = 1) -> str:
    number = _float(value)
    return DASH if number is None else f"{100 * number:.{digits}f}%"


def _when(value: object) -> str:
    if _missing(value):
        return DASH
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return _esc(value)
    text = stamp.strftime("%Y-%m-%d %H:%M:%S")
    return html.escape(f"{text} {stamp.strftime('%Z')}".strip())


def _yes_no(value: object) -> str:
    if _missing(value):
        return DASH
    return '<span class="good">yes</span>' if bool(value) else '<span class="bad">no</span>'


def _bound(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def bin_label(kind: object, lower: object, upper: object, level: object) -> str:
    """A bin as a reader sees it: (0.12, 0.31], <= 0.12, > 0.9, a level, OTHER or NULL."""
    if kind == "null":
        return "NULL"
    if kind == "other":
        return "OTHER"
    if kind == "level":
        return DASH if _missing(level) else str(level)
    low, high = _float(lower), _float(upper)
    if low is None and high is None:
        return "all values"
    if low is None:
        return f"\u2264 {_bound(high)}"  # type: ignore[arg-type]
    if high is None:
        return f"> {_bound(low)}"
    return f"({_bound(low)}, {_bound(high)}]"


def _status_class(status: object) -> str:
    text = "" if _missing(status) else str(status)
    if text in ("error", "fail"):
        return "bad"
    if text.startswith("warn"):
        return "warn"
    if text in ("ok", "pass"):
        return "good"
    return "muted"


def _badge(status: object) -> str:
    return f'<span class="badge {_status_class(status)}">{_esc(status)}</span>'


def _short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; headers are plain text, cells are already-escaped HTML."""
    head = "".join(f"<th>{html.escape(h.replace('_', ' '))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _empty(message: str) -> str:
    return f'<p class="empty">{html.escape(message)}</p>'


def _section(number: int, title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{number}. {html.escape(title)}</h2>{body}</section>'


def _ticks(low: float, high: float, target: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = max(high - low, 1e-12)
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    count = math.ceil((high - first) / step - 1e-9)
    return [round(first + i * step, 10) for i in range(count + 1)]


# ---------------------------------------------------------------------------- batches


def _of_batch(frame: pd.DataFrame, batch_id: str | None) -> pd.DataFrame:
    if frame.empty or "batch_id" not in frame.columns or batch_id is None:
        return frame.iloc[0:0]
    return frame[frame["batch_id"] == batch_id]


def _batches(data: ReportData) -> pd.DataFrame:
    """Every monitored batch, ordered by scored_at: batch_id, model_version, scored_at."""
    columns = ["batch_id", "model_version", "scored_at"]
    parts = [
        frame[columns]
        for frame in (
            data.score_distribution,
            data.feature_psi,
            data.data_volume,
            data.disparate_impact,
        )
        if not frame.empty and set(columns) <= set(frame.columns)
    ]
    if not parts:
        return pd.DataFrame(columns=[*columns, "order"])
    rows = pd.concat(parts, ignore_index=True).dropna(subset=["batch_id"])
    rows["order"] = pd.to_datetime(rows["scored_at"], utc=True, errors="coerce")
    rows = rows.sort_values(["order", "batch_id"], na_position="first", kind="stable")
    grouped = rows.groupby("batch_id", sort=False).agg(
        model_version=("model_version", "first"),
        scored_at=("scored_at", "last"),
        order=("order", "last"),
    )
    grouped = grouped.reset_index().sort_values(["order", "batch_id"], na_position="first")
    return grouped.reset_index(drop=True)


def _window(batches: pd.DataFrame, batch_id: str) -> pd.DataFrame:
    """The batches up to the selected one, MAX_BATCHES at most."""
    position = int(batches.index[batches["batch_id"] == batch_id][0])
    return batches.iloc[max(0, position + 1 - MAX_BATCHES) : position + 1]


# ---------------------------------------------------------------------------- header


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
        rows = _of_batch(frame, batch_id)
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


def _header(data: ReportData, batch: pd.Series | None, generated_at: datetime) -> str:
    generated = _when(generated_at)
    if batch is None:
        return (
            "<header><h1>Claims fraud monitoring report</h1>"
            f"<p>Generated {generated}.</p>"
            '<p class="verdict muted"><strong>No monitored batch yet</strong>: score a batch '
            "and run <code>make monitor</code>.</p></header>"
        )
    facts = (
        ("Batch", _esc(batch["batch_id"])),
        ("Model version", _esc(batch["model_version"])),
        ("Scored at", _when(batch["scored_at"])),
        ("Generated", generated),
    )
    items = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    return (
        f"<header><h1>Claims fraud monitoring report</h1><dl class='facts'>{items}</dl>"
        f"{_verdict(data, str(batch['batch_id']))}</header>"
    )


# ---------------------------------------------------------------------------- SVG


def _svg(width: float, height: float, parts: Iterable[str]) -> str:
    size = f'width="{width:.0f}" height="{height:.0f}"'
    return f'<svg class="chart" {size} role="img">{"".join(parts)}</svg>'


def _text(
    x: float, y: float, text: str, size: int = 11, anchor: str = "start", **attrs: object
) -> str:
    """An SVG text (escaped); rotate=<degrees> turns it around its anchor point."""
    rotate = attrs.pop("rotate", 0)
    place = (
        f'transform="translate({x:.1f},{y:.1f}) rotate({rotate})"'
        if rotate
        else f'x="{x:.1f}" y="{y:.1f}"'
    )
    extra = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{html.escape(str(value))}"'
        for key, value in attrs.items()
    )
    return (
        f'<text {place} font-size="{size}" text-anchor="{anchor}"{extra}>{html.escape(text)}</text>'
    )


def _line(x1: float, x2: float, y1: float, y2: float, style: str = 'stroke="#e5e5e5"') -> str:
    return f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" {style}/>'


# ---------------------------------------------------------------------------- 1. PSI


def _psi_colour(psi: float) -> str:
    """White-green at 0, amber at PSI_WARN, red from PSI_ERROR, linear in between."""
    value = min(max(psi, 0.0), PSI_ERROR)
    for (x0, c0), (x1, c1) in itertools.pairwise(_PSI_STOPS):
        if value <= x1:
            t = (value - x0) / (x1 - x0)
            return "#" + "".join(
                f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1, strict=True)
            )
    raise AssertionError("unreachable")  # pragma: no cover


def _psi_cell(row: pd.Series | None, feature: str, batch_id: str, x: float, y: float) -> str:
    if row is None:
        fill, text, tip, ink = "#ffffff", DASH, "not monitored in this batch", "#777"
    elif row["status"] in ("no_data", "missing_reference"):
        text = {"no_data": "no data", "missing_reference": "no ref"}[row["status"]]
        fill, tip, ink = GREY_CELL, f"status {row['status']}", "#444"
    else:
        psi = _float(row["psi"])
        fill = GREY_CELL if psi is None else _psi_colour(psi)
        ink = "#ffffff" if psi is not None and psi >= 0.2 else "#222"
        text = _num(psi)
        tip = f"PSI {_num(psi, 3)}, status {row['status']}, critical value "
        tip += _num(row.get("critical_value"), 3)
    return (
        f'<g class="psi-cell" data-feature="{html.escape(feature)}" '
        f'data-batch="{html.escape(batch_id)}">'
        f"<title>{html.escape(f'{feature} @ {batch_id}: {tip}')}</title>"
        f'<rect x="{x}" y="{y}" width="58" height="22" fill="{fill}" stroke="#fff"/>'
        f"{_text(x + 29, y + 15, text, anchor='middle', fill=ink)}</g>"
    )


def _psi_heatmap(data: ReportData, window: pd.DataFrame, batch_id: str) -> str:
    rows = data.feature_psi
    batch_ids = [str(b) for b in window["batch_id"]]
    rows = rows[rows["batch_id"].isin(batch_ids)] if not rows.empty else rows
    names = {str(f) for f in rows["feature_name"].dropna()} if not rows.empty else set()
    if not names:
        return _empty("No feature PSI yet: run make monitor after scoring a batch.")
    features = sorted(names, key=lambda f: (f != SCORE_FEATURE, f))
    cells = {(str(r["feature_name"]), str(r["batch_id"])): r for _, r in rows.iterrows()}
    label_w, top, cell_w, cell_h = 16 + 7 * max(len(f) for f in features), 96, 58, 22
    parts = []
    for j, bid in enumerate(batch_ids):
        weight = "bold" if bid == batch_id else "normal"
        parts.append(
            _text(
                label_w + (j + 0.5) * cell_w, top - 6, _short(bid), rotate=-40, font_weight=weight
            )
        )
    for i, feature in enumerate(features):
        y = top + i * cell_h
        parts.append(_text(label_w - 8, y + 15, feature, size=12, anchor="end"))
        parts += [
            _psi_cell(cells.get((feature, bid)), feature, bid, label_w + j * cell_w, y)
            for j, bid in enumerate(batch_ids)
        ]
    parts.append(
        f'<rect x="{label_w + batch_ids.index(batch_id) * cell_w}" y="{top}" width="{cell_w}" '
        f'height="{cell_h * len(features)}" fill="none" stroke="#222" stroke-width="2"/>'
    )
    legend = "".join(
        f'<span class="swatch" style="background:{colour}"></span>{label} '
        for colour, label in (
            (_psi_colour(0.0), "0"),
            (_psi_colour(PSI_WARN), f"{PSI_WARN:.2f} warn"),
            (_psi_colour(PSI_ERROR), f"{PSI_ERROR:.2f}+ error"),
            (GREY_CELL, "no data / missing reference"),
        )
    )
    svg = _svg(label_w + cell_w * len(batch_ids) + 90, top + cell_h * len(features) + 8, parts)
    return f'<p class="legend">{legend}</p><div class="scroll">{svg}</div>'


# ---------------------------------------------------------------------------- 2. scores


def _score_bars(bins: pd.DataFrame) -> str:
    bins = bins.sort_values("bin_index")
    shares = [_float(v) or 0.0 for v in (*bins["reference_share"], *bins["current_share"])]
    y_max = _ticks(0.0, max([*shares, 0.01]))[-1]
    left, top, plot_h, group_w, bar_w = 48, 24, 180, 60, 22
    width = left + group_w * len(bins) + 20
    series = (("reference_share", "reference", "#90a4ae"), ("current_share", "batch", "#ef6c00"))
    parts = []
    for tick in _ticks(0.0, y_max):
        y = top + plot_h - plot_h * tick / y_max
        parts += [
            _line(left, width - 10, y, y),
            _text(left - 6, y + 4, f"{round(100 * tick, 6):g}%", 10, "end"),
        ]
    for j, (_, row) in enumerate(bins.iterrows()):
        label = bin_label(row["bin_kind"], row["lower_bound"], row["upper_bound"], row.get("level"))
        x0 = left + j * group_w + (group_w - 2 * bar_w) / 2
        for k, (column, name, colour) in enumerate(series):
            bar_h = plot_h * (_float(row[column]) or 0.0) / y_max
            parts.append(
                f'<rect class="bar-{name}" x="{x0 + k * bar_w:.1f}" y="{top + plot_h - bar_h:.1f}" '
                f'width="{bar_w - 2}" height="{bar_h:.1f}" fill="{colour}">'
                f"<title>{html.escape(f'{label}: {name} {_pct(row[column])}')}</title></rect>"
            )
        parts.append(
            _text(left + (j + 0.5) * group_w, top + plot_h + 14, label, 10, "end", rotate=-35)
        )
    parts.append(_line(left, width - 10, top + plot_h, top + plot_h, 'stroke="#555"'))
    for k, (_, name, colour) in enumerate(series):
        parts.append(f'<rect x="{left + 90 * k}" y="4" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(left + 90 * k + 14, 13, "this batch" if k else name))
    return _svg(width, top + plot_h + 80, parts)


def _score_section(data: ReportData, batch_id: str | None) -> str:
    bins = _of_batch(data.psi_bins, batch_id)
    bins = bins[bins["feature_name"] == SCORE_FEATURE] if not bins.empty else bins
    if bins.empty:
        chart = _empty("No score bins for this batch yet (mon_feature_psi_bins).")
    else:
        chart = f'<div class="scroll">{_score_bars(bins)}</div>'
    rows = _of_batch(data.score_distribution, batch_id)
    if rows.empty:
        return chart + _empty("No score distribution for this batch yet.")
    row = rows.iloc[0]
    cells = {
        "claims": _int(row["n"]),
        **{q: _num(row[f"fraud_probability_{q}"], 3) for q in ("mean", "p50", "p90", "p95", "p99")},
        "flagged": _int(row["n_flagged"]),
        "flag rate vs expected": (
            f"{_pct(row['flag_rate'], 2)} vs {_pct(row['expected_flag_rate'])}"
        ),
        "flag rate z (p)": f"{_num(row['flag_rate_z'])} ({_num(row['flag_rate_p_value'], 3)})",
        "KS": _num(row["ks_statistic"], 3),
        "score PSI (critical)": (
            f"{_num(row['score_psi'], 3)} ({_num(row['score_psi_critical_value'], 3)})"
        ),
        "score PSI status": _badge(row["score_psi_status"]),
        "status": _badge(row["status"]),
    }
    return chart + _table(list(cells), [list(cells.values())])


# ---------------------------------------------------------------------------- 3. fairness


def _di_row(
    row: pd.Series, y: float, x_of: Callable[[float], float], text_x: float, width: float
) -> str:
    is_ref, cls = row["group_name"] == row["reference_group"], _status_class(row["status"])
    di, low, high = (_float(row[c]) for c in ("disparate_impact", "ci_low", "ci_high"))
    tip = (
        f"{row['group_name']}: DI {_num(di)} (95% CI {_num(low)}{DASH}{_num(high)}), flag rate "
        f"{_pct(row['flag_rate'], 2)} vs {_pct(row['reference_flag_rate'], 2)} "
        f"({row['reference_group']}), "
        f"n {_int(row['n'])}, p adjusted {_num(row['p_adjusted'], 4)}, p outside the band "
        f"{_num(row.get('p_outside_band_adjusted'), 4)}, status {row['status']}"
    )
    parts = [f"<title>{html.escape(tip)}</title>"]
    if cls == "bad":
        parts.append(f'<rect x="0" y="{y - 13:.1f}" width="{width}" height="26" fill="#fdecea"/>')
    name = f"{row['group_name']}" + (" (reference)" if is_ref else "")
    parts.append(
        _text(x_of(0) - 10, y + 4, name, 12, "end", font_weight="bold" if is_ref else "normal")
    )
    if low is not None and high is not None:
        parts.append(
            _line(x_of(low), x_of(high), y, y, 'class="di-ci" stroke="#555" stroke-width="2"')
        )
    if di is not None:
        parts.append(
            f'<circle class="di-dot" cx="{x_of(di):.1f}" cy="{y:.1f}" r="5" stroke-width="2" '
            f'fill="{"#fff" if is_ref else COLOURS[cls]}" stroke="{COLOURS[cls]}"/>'
        )
    status = f"{row['status']} \u00b7 DI {_num(di)} \u00b7 n {_int(row['n'])}"
    parts.append(_text(text_x, y + 4, status, 12, fill=COLOURS[cls], class_=f"di-status {cls}"))
    group = html.escape(str(row["group_name"]))
    return f'<g class="di-row {cls}" data-group="{group}">{"".join(parts)}</g>'


def _di_chart(groups: pd.DataFrame) -> str:
    groups = groups.assign(_other=groups["group_name"] != groups["reference_group"])
    groups = groups.sort_values(["_other", "group_name"])
    values = [_float(v) for v in (*groups["disparate_impact"], *groups["ci_high"])]
    x_max = math.ceil(min(max([2.0, *(v for v in values if v is not None)]), DI_AXIS_CAP) * 2) / 2
    label_w = 24 + 7 * max(len(str(g)) + 12 for g in groups["group_name"])
    plot_w, row_h, top = 420, 26, 22
    body_h, width = row_h * len(groups), label_w + plot_w + 300

    def x_of(value: float) -> float:
        return label_w + plot_w * min(max(value, 0.0), x_max) / x_max

    parts = [
        f'<rect class="di-band" x="{x_of(DI_LOWER):.1f}" y="{top}" '
        f'width="{x_of(DI_UPPER) - x_of(DI_LOWER):.1f}" height="{body_h}" fill="#e3f2e5"/>',
        _text(x_of(DI_LOWER), top - 6, f"{DI_LOWER:.2f}", 10, "end"),
        _text(x_of(DI_UPPER), top - 6, f"{DI_UPPER:.2f}", 10),
        _line(x_of(1.0), x_of(1.0), top, top + body_h, 'stroke="#888" stroke-dasharray="3,3"'),
    ]
    parts += [_text(x_of(t), top + body_h + 16, f"{t:g}", 10, "middle") for t in _ticks(0.0, x_max)]
    for i, (_, row) in enumerate(groups.iterrows()):
        parts.append(_di_row(row, top + (i + 0.5) * row_h, x_of, label_w + plot_w + 14, width))
    return _svg(width, top + body_h + 28, parts)


def _fairness_section(data: ReportData, batch_id: str | None) -> str:
    rows = _of_batch(data.disparate_impact, batch_id)
    if rows.empty:
        return _empty("No disparate impact for this batch yet.")
    out = [
        f'<p class="legend"><span class="swatch" style="background:#e3f2e5"></span>accepted band '
        f"{DI_LOWER:.2f}{DASH}{DI_UPPER:.2f}; dot = flag-rate ratio to the reference group "
        "(hollow: the reference itself), line = 95% CI.</p>"
    ]
    for attribute, groups in rows.groupby("attribute_name", sort=True):
        out.append(f"<h3>{html.escape(str(attribute))}</h3>")
        known = groups[groups["group_name"].notna()]
        if known.empty:
            statuses = ", ".join(sorted({str(s) for s in groups["status"].dropna()}))
            out.append(_empty(f"No groups: the batch is empty ({statuses or DASH})."))
        else:
            out.append(f'<div class="scroll">{_di_chart(known)}</div>')
    return "".join(out)


# ---------------------------------------------------------------------------- 4. volume


def _volume_chart(counts: pd.DataFrame, batch_id: str) -> str:
    values = [_float(v) for v in counts["value"]]
    means = [_float(v) for v in counts["trailing_mean"]]
    known = [v for v in (*values, *means) if v is not None] or [0.0]
    ticks = _ticks(min(known) * 0.9, max(known) * 1.05 + 1)
    left, top, plot_h, step = 70, 16, 170, 48
    width = left + step * len(counts) + 40

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * (value - ticks[0]) / (ticks[-1] - ticks[0])

    parts = []
    for tick in ticks:
        parts += [
            _line(left, width - 20, y_of(tick), y_of(tick)),
            _text(left - 6, y_of(tick) + 4, f"{tick:,.0f}", 10, "end"),
        ]
    for series, style in (
        (means, 'stroke="#999" stroke-dasharray="4,3"'),
        (values, 'stroke="#1565c0"'),
    ):
        points = " ".join(
            f"{left + step * (i + 0.5):.1f},{y_of(v):.1f}"
            for i, v in enumerate(series)
            if v is not None
        )
        parts.append(f'<polyline points="{points}" fill="none" {style} stroke-width="2"/>')
    for i, (_, row) in enumerate(counts.iterrows()):
        x, bid, value = left + step * (i + 0.5), str(row["batch_id"]), values[i]
        parts.append(_text(x, top + plot_h + 14, _short(bid), 10, "end", rotate=-40))
        if value is None:
            continue
        tip = (
            f"{bid}: {_int(value)} claims, trailing mean {_int(row['trailing_mean'])}, "
            f"z {_num(row['z_score'])}, status {row['status']}"
        )
        selected = bid == batch_id
        parts.append(
            f'<circle class="volume-point" cx="{x:.1f}" cy="{y_of(value):.1f}" '
            f'r="{7 if selected else 5}" '
            f'fill="{COLOURS[_status_class(row["status"])]}" stroke="#222" '
            f'stroke-width="{2 if selected else 0.5}"><title>{html.escape(tip)}</title></circle>'
        )
    return _svg(width, top + plot_h + 90, parts)


def _volume_section(data: ReportData, window: pd.DataFrame, batch_id: str | None) -> str:
    volume = data.data_volume
    if volume.empty or batch_id is None:
        return _empty("No data volume yet: run make monitor after scoring a batch.")
    counts = volume[
        (volume["metric_name"] == "row_count") & volume["batch_id"].isin(window["batch_id"])
    ]
    order = {bid: i for i, bid in enumerate(window["batch_id"])}
    counts = counts.sort_values("batch_id", key=lambda s: s.map(order))
    out = [
        '<p class="legend">Claims per batch (blue; dashed: trailing mean), '
        "points coloured by status.</p>",
        f'<div class="scroll">{_volume_chart(counts, batch_id)}</div>'
        if not counts.empty
        else _empty("No row counts yet."),
        "<h3>Null rates of this batch</h3>",
    ]
    nulls = _of_batch(volume, batch_id)
    nulls = nulls[nulls["metric_name"] == "null_rate"]
    flagged = nulls[nulls["status"].isin(["warn", "error"])]
    flagged = flagged.sort_values(
        "z_score", key=lambda z: pd.to_numeric(z, errors="coerce").abs(), ascending=False
    )
    if nulls.empty:
        out.append(_empty("No null rates for this batch."))
    elif flagged.empty:
        pending = int((nulls["status"] == "insufficient_history").sum())
        note = f" ({pending} of {len(nulls)} without enough history yet)" if pending else ""
        out.append(f'<p class="good">All null rates ok{html.escape(note)}.</p>')
    else:
        headers = ["column", "null rate", "trailing mean", "trailing std", "z", "status"]
        cells = (
            [
                _esc(r["subject"]),
                *(_pct(r[c], 2) for c in ("value", "trailing_mean", "trailing_std")),
                _num(r["z_score"]),
                _badge(r["status"]),
            ]
            for _, r in flagged.iterrows()
        )
        out.append(_table(headers, cells))
    return "".join(out)


# ---------------------------------------------------------------------------- 5-7. tables


def _drift_section(data: ReportData, batch_id: str | None) -> str:
    rows = _of_batch(data.feature_psi, batch_id)
    if rows.empty:
        return _empty("No feature PSI for this batch yet.")
    rows = rows[rows["status"].isin(["warn", "error"])]
    if rows.empty:
        return _empty("No feature drifted to warn or error in this batch.")
    rows = rows.sort_values("psi", ascending=False)
    headers = ["feature", "type", "status", "PSI", "critical value", "top bin kind", "top bin"]
    headers += ["reference share", "batch share", "contribution"]
    return _table(
        headers,
        (
            [
                _esc(r["feature_name"]),
                _esc(r["feature_type"]),
                _badge(r["status"]),
                _num(r["psi"], 3),
                _num(r["critical_value"], 3),
                _esc(r["top_bin_kind"]),
                html.escape(
                    bin_label(
                        r["top_bin_kind"],
                        r["top_bin_lower_bound"],
                        r["top_bin_upper_bound"],
                        r["top_bin_level"],
                    )
                ),
                _pct(r["top_bin_reference_share"]),
                _pct(r["top_bin_current_share"]),
                _num(r["top_bin_contribution"], 3),
            ]
            for _, r in rows.iterrows()
        ),
    )


def _promotion_section(data: ReportData) -> str:
    rows = data.promotions
    if rows.empty:
        return _empty("No promotion decision recorded yet.")
    base = ["decided_at", "challenger_version", "champion_version_before"]
    base += ["champion_version_after", "is_promoted", "all_gates_passed"]
    gates = [c for c in rows.columns if c.endswith("_passed") and c != "all_gates_passed"]
    columns = [c for c in base if c in rows.columns] + gates
    flags = {"is_promoted", "all_gates_passed", *gates}
    if "decided_at" in rows.columns:
        rows = rows.sort_values("decided_at", ascending=False, na_position="last")

    def cell(column: str, value: object) -> str:
        if column in flags:
            return _yes_no(value)
        return _when(value) if column == "decided_at" else _esc(value)

    return _table(columns, ([cell(c, r[c]) for c in columns] for _, r in rows.iterrows()))


def _alerts_section(data: ReportData, batch_id: str | None) -> str:
    rows = _of_batch(data.alerts, batch_id)
    if "created_at" in rows.columns and not rows.empty:
        # every alerts run appends its alerts: show the latest run's, without its summary row
        rows = rows[rows["created_at"] == rows["created_at"].max()]
    if "alert_type" in rows.columns:
        rows = rows[rows["alert_type"] != "batch_summary"]
    if rows.empty:
        return _empty("No alert raised for this batch.")
    columns = ["created_at", "alert_type", "severity", "subject", "message"]
    return _table(
        columns,
        (
            [
                _when(r.get("created_at")),
                _esc(r.get("alert_type")),
                _badge(r.get("severity")),
                _esc(r.get("subject")),
                _esc(r.get("message")),
            ]
            for _, r in rows.iterrows()
        ),
    )


# ---------------------------------------------------------------------------- page

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
"""


def render_report(
    data: ReportData, batch_id: str | None = None, generated_at: datetime | None = None
) -> str:
    """The report as one HTML document. batch_id None selects the latest batch by scored_at;
    an unknown batch_id raises ValueError."""
    generated_at = generated_at or datetime.now(UTC)
    batches = _batches(data)
    if batch_id is not None and batch_id not in set(batches["batch_id"].astype(str)):
        raise ValueError(f"batch {batch_id!r} is not in the monitoring tables")
    batch = None
    if not batches.empty:
        position = batches.index[batches["batch_id"].astype(str) == batch_id]
        batch = batches.loc[position[0]] if batch_id is not None else batches.iloc[-1]
        batch_id = batch["batch_id"]
    window = _window(batches, batch_id) if batch is not None else batches
    sections = (
        ("psi", "Feature drift (PSI) by batch", lambda: _psi_heatmap(data, window, batch_id)),
        ("scores", "Score distribution vs reference", lambda: _score_section(data, batch_id)),
        ("fairness", "Disparate impact", lambda: _fairness_section(data, batch_id)),
        ("volume", "Volume over time", lambda: _volume_section(data, window, batch_id)),
        ("drift", "Top drifted features", lambda: _drift_section(data, batch_id)),
        ("promotions", "Promotion history", lambda: _promotion_section(data)),
        ("alerts", "Alerts of this batch", lambda: _alerts_section(data, batch_id)),
    )
    body = "".join(
        _section(number, title, render(), anchor)
        for number, (anchor, title, render) in enumerate(sections, start=1)
    )
    title = f"Monitoring report {DASH} {_esc(batch_id) if batch_id else 'no batch yet'}"
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
