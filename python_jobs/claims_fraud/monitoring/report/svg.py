"""The report's charts as inline SVG: PSI heat map, score bars, disparate impact, volume.

The PSI colour scale and the disparate impact band are drawn at the thresholds of the
monitoring_thresholds seed (:class:`~claims_fraud.monitoring.report.data.Thresholds`).
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Callable, Iterable

import pandas as pd

from claims_fraud.monitoring.report.data import SCORE_FEATURE, ReportData, Thresholds
from claims_fraud.monitoring.report.format import (
    DASH,
    bin_label,
    empty_note,
    integer,
    nice_ticks,
    num,
    pct,
    short,
    status_class,
    threshold_text,
    to_float,
)

DI_AXIS_CAP = 5.0
COLOURS = {"good": "#2e7d32", "warn": "#e69500", "bad": "#c62828", "muted": "#9e9e9e"}
GREY_CELL = "#d6d6d6"
PSI_COLOURS = ((232, 245, 233), (255, 193, 7), (211, 47, 47))  # at 0, psi_warn, psi_error
DARK_FILL_LUMA = 130  # cells darker than this get white text


# ---------------------------------------------------------------------------- primitives


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


def _psi_rgb(psi: float, thresholds: Thresholds) -> tuple[int, ...]:
    """White-green at 0, amber at psi_warn, red from psi_error, linear in between."""
    stops = tuple(zip((0.0, thresholds.psi_warn, thresholds.psi_error), PSI_COLOURS, strict=True))
    value = min(max(psi, 0.0), thresholds.psi_error)
    for (x0, c0), (x1, c1) in itertools.pairwise(stops):
        if value <= x1:
            t = (value - x0) / (x1 - x0) if x1 > x0 else 1.0
            return tuple(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
    raise AssertionError("unreachable")  # pragma: no cover


def _psi_colour(psi: float, thresholds: Thresholds) -> str:
    return "#" + "".join(f"{channel:02x}" for channel in _psi_rgb(psi, thresholds))


def _is_dark(rgb: tuple[int, ...]) -> bool:
    red, green, blue = rgb
    return 0.299 * red + 0.587 * green + 0.114 * blue < DARK_FILL_LUMA


def _psi_cell(
    row: pd.Series | None,
    feature: str,
    batch_id: str,
    x: float,
    y: float,
    thresholds: Thresholds,
) -> str:
    if row is None:
        fill, text, tip, ink = "#ffffff", DASH, "not monitored in this batch", "#777"
    elif row["status"] in ("no_data", "missing_reference"):
        text = {"no_data": "no data", "missing_reference": "no ref"}[row["status"]]
        fill, tip, ink = GREY_CELL, f"status {row['status']}", "#444"
    else:
        psi = to_float(row["psi"])
        fill = GREY_CELL if psi is None else _psi_colour(psi, thresholds)
        dark = psi is not None and _is_dark(_psi_rgb(psi, thresholds))
        ink = "#ffffff" if dark else "#222"
        text = num(psi)
        tip = f"PSI {num(psi, 3)}, status {row['status']}, critical value "
        tip += num(row.get("critical_value"), 3)
    return (
        f'<g class="psi-cell" data-feature="{html.escape(feature)}" '
        f'data-batch="{html.escape(batch_id)}">'
        f"<title>{html.escape(f'{feature} @ {batch_id}: {tip}')}</title>"
        f'<rect x="{x}" y="{y}" width="58" height="22" fill="{fill}" stroke="#fff"/>'
        f"{_text(x + 29, y + 15, text, anchor='middle', fill=ink)}</g>"
    )


def psi_heatmap(data: ReportData, window: pd.DataFrame, batch_id: str) -> str:
    """Features x batches of the window, each cell coloured by PSI, with its legend."""
    thresholds = data.thresholds
    rows = data.feature_psi
    batch_ids = [str(b) for b in window["batch_id"]]
    rows = rows[rows["batch_id"].isin(batch_ids)] if not rows.empty else rows
    names = {str(f) for f in rows["feature_name"].dropna()} if not rows.empty else set()
    if not names:
        return empty_note("No feature PSI yet: run make monitor after scoring a batch.")
    features = sorted(names, key=lambda f: (f != SCORE_FEATURE, f))
    cells = {(str(r["feature_name"]), str(r["batch_id"])): r for _, r in rows.iterrows()}
    label_w, top, cell_w, cell_h = 16 + 7 * max(len(f) for f in features), 96, 58, 22
    parts = []
    for j, bid in enumerate(batch_ids):
        weight = "bold" if bid == batch_id else "normal"
        parts.append(
            _text(label_w + (j + 0.5) * cell_w, top - 6, short(bid), rotate=-40, font_weight=weight)
        )
    for i, feature in enumerate(features):
        y = top + i * cell_h
        parts.append(_text(label_w - 8, y + 15, feature, size=12, anchor="end"))
        parts += [
            _psi_cell(cells.get((feature, bid)), feature, bid, label_w + j * cell_w, y, thresholds)
            for j, bid in enumerate(batch_ids)
        ]
    parts.append(
        f'<rect x="{label_w + batch_ids.index(batch_id) * cell_w}" y="{top}" width="{cell_w}" '
        f'height="{cell_h * len(features)}" fill="none" stroke="#222" stroke-width="2"/>'
    )
    legend = "".join(
        f'<span class="swatch" style="background:{colour}"></span>{label} '
        for colour, label in (
            (_psi_colour(0.0, thresholds), "0"),
            (
                _psi_colour(thresholds.psi_warn, thresholds),
                f"{threshold_text(thresholds.psi_warn)} warn",
            ),
            (
                _psi_colour(thresholds.psi_error, thresholds),
                f"{threshold_text(thresholds.psi_error)}+ error",
            ),
            (GREY_CELL, "no data / missing reference"),
        )
    )
    svg = _svg(label_w + cell_w * len(batch_ids) + 90, top + cell_h * len(features) + 8, parts)
    return f'<p class="legend">{legend}</p><div class="scroll">{svg}</div>'


# ---------------------------------------------------------------------------- 2. scores


def score_bars(bins: pd.DataFrame) -> str:
    """Reference vs batch share per bin of fraud_probability."""
    bins = bins.sort_values("bin_index")
    shares = [to_float(v) or 0.0 for v in (*bins["reference_share"], *bins["current_share"])]
    y_max = nice_ticks(0.0, max([*shares, 0.01]))[-1]
    left, top, plot_h, group_w, bar_w = 48, 24, 180, 60, 22
    width = left + group_w * len(bins) + 20
    series = (("reference_share", "reference", "#90a4ae"), ("current_share", "batch", "#ef6c00"))
    parts = []
    for tick in nice_ticks(0.0, y_max):
        y = top + plot_h - plot_h * tick / y_max
        parts += [
            _line(left, width - 10, y, y),
            _text(left - 6, y + 4, f"{round(100 * tick, 6):g}%", 10, "end"),
        ]
    for j, (_, row) in enumerate(bins.iterrows()):
        label = bin_label(row["bin_kind"], row["lower_bound"], row["upper_bound"], row.get("level"))
        x0 = left + j * group_w + (group_w - 2 * bar_w) / 2
        for k, (column, name, colour) in enumerate(series):
            bar_h = plot_h * (to_float(row[column]) or 0.0) / y_max
            parts.append(
                f'<rect class="bar-{name}" x="{x0 + k * bar_w:.1f}" y="{top + plot_h - bar_h:.1f}" '
                f'width="{bar_w - 2}" height="{bar_h:.1f}" fill="{colour}">'
                f"<title>{html.escape(f'{label}: {name} {pct(row[column])}')}</title></rect>"
            )
        parts.append(
            _text(left + (j + 0.5) * group_w, top + plot_h + 14, label, 10, "end", rotate=-35)
        )
    parts.append(_line(left, width - 10, top + plot_h, top + plot_h, 'stroke="#555"'))
    for k, (_, name, colour) in enumerate(series):
        parts.append(f'<rect x="{left + 90 * k}" y="4" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(left + 90 * k + 14, 13, "this batch" if k else name))
    return _svg(width, top + plot_h + 80, parts)


# ---------------------------------------------------------------------------- 3. fairness


def _di_row(
    row: pd.Series, y: float, x_of: Callable[[float], float], text_x: float, width: float
) -> str:
    is_ref, cls = row["group_name"] == row["reference_group"], status_class(row["status"])
    di, low, high = (to_float(row[c]) for c in ("disparate_impact", "ci_low", "ci_high"))
    tip = (
        f"{row['group_name']}: DI {num(di)} (95% CI {num(low)}{DASH}{num(high)}), flag rate "
        f"{pct(row['flag_rate'], 2)} vs {pct(row['reference_flag_rate'], 2)} "
        f"({row['reference_group']}), "
        f"n {integer(row['n'])}, p adjusted {num(row['p_adjusted'], 4)}, p outside the band "
        f"{num(row.get('p_outside_band_adjusted'), 4)}, status {row['status']}"
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
    status = f"{row['status']} \u00b7 DI {num(di)} \u00b7 n {integer(row['n'])}"
    parts.append(_text(text_x, y + 4, status, 12, fill=COLOURS[cls], class_=f"di-status {cls}"))
    group = html.escape(str(row["group_name"]))
    return f'<g class="di-row {cls}" data-group="{group}">{"".join(parts)}</g>'


def di_chart(groups: pd.DataFrame, thresholds: Thresholds) -> str:
    """One row per group: DI dot, 95% CI line, the accepted band shaded."""
    lower, upper = thresholds.disparate_impact_lower, thresholds.disparate_impact_upper
    groups = groups.assign(_other=groups["group_name"] != groups["reference_group"])
    groups = groups.sort_values(["_other", "group_name"])
    values = [to_float(v) for v in (*groups["disparate_impact"], *groups["ci_high"])]
    known = [2.0, upper, *(v for v in values if v is not None)]
    x_max = math.ceil(min(max(known), max(DI_AXIS_CAP, upper)) * 2) / 2
    label_w = 24 + 7 * max(len(str(g)) + 12 for g in groups["group_name"])
    plot_w, row_h, top = 420, 26, 22
    body_h, width = row_h * len(groups), label_w + plot_w + 300

    def x_of(value: float) -> float:
        return label_w + plot_w * min(max(value, 0.0), x_max) / x_max

    parts = [
        f'<rect class="di-band" x="{x_of(lower):.1f}" y="{top}" '
        f'width="{x_of(upper) - x_of(lower):.1f}" height="{body_h}" fill="#e3f2e5"/>',
        _text(x_of(lower), top - 6, threshold_text(lower), 10, "end"),
        _text(x_of(upper), top - 6, threshold_text(upper), 10),
        _line(x_of(1.0), x_of(1.0), top, top + body_h, 'stroke="#888" stroke-dasharray="3,3"'),
    ]
    parts += [
        _text(x_of(t), top + body_h + 16, f"{t:g}", 10, "middle") for t in nice_ticks(0.0, x_max)
    ]
    for i, (_, row) in enumerate(groups.iterrows()):
        parts.append(_di_row(row, top + (i + 0.5) * row_h, x_of, label_w + plot_w + 14, width))
    return _svg(width, top + body_h + 28, parts)


# ---------------------------------------------------------------------------- 4. volume


def volume_chart(counts: pd.DataFrame, batch_id: str) -> str:
    """Claims per batch with the trailing mean, points coloured by status."""
    values = [to_float(v) for v in counts["value"]]
    means = [to_float(v) for v in counts["trailing_mean"]]
    known = [v for v in (*values, *means) if v is not None] or [0.0]
    ticks = nice_ticks(min(known) * 0.9, max(known) * 1.05 + 1)
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
        parts.append(_text(x, top + plot_h + 14, short(bid), 10, "end", rotate=-40))
        if value is None:
            continue
        tip = (
            f"{bid}: {integer(value)} claims, trailing mean {integer(row['trailing_mean'])}, "
            f"z {num(row['z_score'])}, status {row['status']}"
        )
        selected = bid == batch_id
        parts.append(
            f'<circle class="volume-point" cx="{x:.1f}" cy="{y_of(value):.1f}" '
            f'r="{7 if selected else 5}" '
            f'fill="{COLOURS[status_class(row["status"])]}" stroke="#222" '
            f'stroke-width="{2 if selected else 0.5}"><title>{html.escape(tip)}</title></circle>'
        )
    return _svg(width, top + plot_h + 90, parts)
