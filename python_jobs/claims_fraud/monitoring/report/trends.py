"""The report's charts over time, as inline SVG: realized and estimated precision per batch,
and disparate impact per group per batch. The x axis is the batches of the report's window in
time order (their ingest windows), the selected batch last."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from claims_fraud.monitoring.report.data import Thresholds
from claims_fraud.monitoring.report.format import (
    DASH,
    integer,
    nice_ticks,
    num,
    pct,
    short,
    status_class,
    threshold_text,
    to_float,
)
from claims_fraud.monitoring.report.svg import COLOURS, _line, _svg, _text

# one colour per non-reference group, in group order (colour-blind safe: Okabe-Ito)
GROUP_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000")
TREND_DI_CAP = 3.0
LEFT, TOP, PLOT_H, STEP = 56, 28, 170, 52


def _x(i: int) -> float:
    return LEFT + STEP * (i + 0.5)


def _batch_axis(batches: Sequence[str], selected: str | None, y: float) -> list[str]:
    return [
        _text(
            _x(i),
            y,
            short(str(bid)),
            10,
            "end",
            rotate=-40,
            font_weight="bold" if bid == selected else "normal",
        )
        for i, bid in enumerate(batches)
    ]


def performance_chart(rows: pd.DataFrame, batches: Sequence[str], selected: str | None) -> str:
    """Per batch: the expected precision of the flagged claims (line, with +-2 standard
    errors shaded), the realized precision on the labelled flagged claims (dot, Wilson
    interval as a whisker, hollow while too few labels for a verdict), the validation
    window's precision (dashed)."""
    by_batch = rows.set_index("batch_id")

    def y_of(value: float) -> float:
        return TOP + PLOT_H - PLOT_H * min(max(value, 0.0), 1.0)

    width = LEFT + STEP * len(batches) + 190
    parts = []
    for tick in nice_ticks(0.0, 1.0):
        parts += [
            _line(LEFT, LEFT + STEP * len(batches), y_of(tick), y_of(tick)),
            _text(LEFT - 6, y_of(tick) + 4, f"{tick:.0%}", 10, "end"),
        ]
    band_upper, band_lower, line = [], [], []
    for i, bid in enumerate(batches):
        if bid not in by_batch.index:
            continue
        row = by_batch.loc[bid]
        expected, error = (
            to_float(row["expected_precision"]),
            to_float(row["expected_precision_std_error"]),
        )
        if expected is not None:
            line.append(f"{_x(i):.1f},{y_of(expected):.1f}")
            spread = 2 * (error or 0.0)
            band_upper.append(f"{_x(i):.1f},{y_of(expected + spread):.1f}")
            band_lower.append(f"{_x(i):.1f},{y_of(expected - spread):.1f}")
    if band_upper:
        polygon = " ".join([*band_upper, *reversed(band_lower)])
        parts.append(f'<polygon class="expected-band" points="{polygon}" fill="#d6e6f5"/>')
        parts.append(
            f'<polyline class="expected" points="{" ".join(line)}" fill="none" '
            'stroke="#1565c0" stroke-width="2"/>'
        )
    references = [to_float(v) for v in rows["reference_precision"]]
    reference = next((v for v in reversed(references) if v is not None), None)
    if reference is not None:
        parts.append(
            _line(
                LEFT,
                LEFT + STEP * len(batches),
                y_of(reference),
                y_of(reference),
                'class="reference" stroke="#555" stroke-dasharray="5,4"',
            )
        )
    for i, bid in enumerate(batches):
        if bid not in by_batch.index:
            continue
        row = by_batch.loc[bid]
        realized = to_float(row["realized_precision"])
        if realized is None:
            continue
        low, high = to_float(row["precision_ci_low"]), to_float(row["precision_ci_high"])
        if low is not None and high is not None:
            parts.append(_line(_x(i), _x(i), y_of(low), y_of(high), 'stroke="#222"'))
        judged = str(row["status"]) not in ("insufficient_data", "warn_estimated")
        colour = COLOURS[status_class(row["status"])] if judged else "#fff"
        tip = (
            f"{bid}: realized precision {pct(realized)} (95% CI {pct(low)}{DASH}{pct(high)}) on "
            f"{integer(row['n_labelled_flagged'])} labelled flagged claims; expected "
            f"{pct(row['expected_precision'])}; label coverage {pct(row['label_coverage'])}; "
            f"status {row['status']}"
        )
        parts.append(
            f'<circle class="realized" cx="{_x(i):.1f}" cy="{y_of(realized):.1f}" r="5" '
            f'fill="{colour}" stroke="#222" stroke-width="1.5">'
            f"<title>{html.escape(tip)}</title></circle>"
        )
    parts += _batch_axis(batches, selected, TOP + PLOT_H + 14)
    legend_x = LEFT + STEP * len(batches) + 16
    for k, (label, style) in enumerate(
        (
            ("expected (calibrated)", 'stroke="#1565c0" stroke-width="2"'),
            ("validation window", 'stroke="#555" stroke-dasharray="5,4"'),
        )
    ):
        y = TOP + 10 + 18 * k
        parts += [_line(legend_x, legend_x + 18, y, y, style), _text(legend_x + 24, y + 4, label)]
    parts.append(
        f'<circle cx="{legend_x + 9}" cy="{TOP + 46}" r="5" fill="#2e7d32" stroke="#222"/>'
    )
    parts.append(_text(legend_x + 24, TOP + 50, "realized (SIU outcomes)"))
    parts.append(f'<circle cx="{legend_x + 9}" cy="{TOP + 64}" r="5" fill="#fff" stroke="#222"/>')
    parts.append(_text(legend_x + 24, TOP + 68, "too few labels yet"))
    return _svg(width, TOP + PLOT_H + 90, parts)


def di_trend_chart(
    rows: pd.DataFrame, batches: Sequence[str], selected: str | None, thresholds: Thresholds
) -> str:
    """One attribute: each non-reference group's disparate impact per batch (a line), the
    accepted band shaded, a failed batch's point red (axis capped at TREND_DI_CAP; the
    tooltip keeps the exact value)."""
    lower, upper = thresholds.disparate_impact_lower, thresholds.disparate_impact_upper
    others = rows[rows["group_name"].notna() & (rows["group_name"] != rows["reference_group"])]
    groups = sorted({str(g) for g in others["group_name"]})
    cap = max(TREND_DI_CAP, upper * 1.2)

    def y_of(value: float) -> float:
        return TOP + PLOT_H - PLOT_H * min(max(value, 0.0), cap) / cap

    right = LEFT + STEP * len(batches)
    label_w = 24 + 7 * max([len(g) for g in groups] + [10])
    width = right + label_w + 20
    parts = [
        f'<rect class="di-band" x="{LEFT}" y="{y_of(upper):.1f}" width="{right - LEFT}" '
        f'height="{y_of(lower) - y_of(upper):.1f}" fill="#e3f2e5"/>',
        _line(LEFT, right, y_of(1.0), y_of(1.0), 'stroke="#888" stroke-dasharray="3,3"'),
        _text(LEFT - 6, y_of(lower) + 4, threshold_text(lower), 10, "end"),
        _text(LEFT - 6, y_of(upper) + 4, threshold_text(upper), 10, "end"),
    ]
    parts += [
        _text(LEFT - 6, y_of(t) + 4, f"{t:g}", 10, "end")
        for t in nice_ticks(0.0, cap)
        if abs(t - lower) > 0.3 and abs(t - upper) > 0.3  # the band's labels stay legible
    ]
    position = {bid: i for i, bid in enumerate(batches)}
    for k, group in enumerate(groups):
        colour = GROUP_COLOURS[k % len(GROUP_COLOURS)]
        series = others[others["group_name"].astype(str) == group]
        series = series[series["batch_id"].isin(position)]
        series = series.assign(_i=series["batch_id"].map(position)).sort_values("_i")
        points = [
            (int(r["_i"]), to_float(r["disparate_impact"]), r)
            for _, r in series.iterrows()
            if to_float(r["disparate_impact"]) is not None
        ]
        if len(points) > 1:
            polyline = " ".join(f"{_x(i):.1f},{y_of(v):.1f}" for i, v, _ in points)
            parts.append(
                f'<polyline points="{polyline}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            )
        for i, value, row in points:
            failed = status_class(row["status"]) == "bad"
            tip = (
                f"{row['batch_id']}, {group}: DI {num(value)} vs {row['reference_group']} "
                f"(95% CI {num(row['ci_low'])}{DASH}{num(row['ci_high'])}), status {row['status']}"
            )
            parts.append(
                f'<circle class="di-point{" failed" if failed else ""}" cx="{_x(i):.1f}" '
                f'cy="{y_of(value):.1f}" r="{5 if failed else 3.5}" '
                f'fill="{COLOURS["bad"] if failed else colour}">'
                f"<title>{html.escape(tip)}</title></circle>"
            )
        y = TOP + 10 + 16 * k
        parts += [
            _line(right + 12, right + 28, y, y, f'stroke="{colour}" stroke-width="2"'),
            _text(right + 32, y + 4, group),
        ]
    parts += _batch_axis(batches, selected, TOP + PLOT_H + 14)
    return _svg(width, TOP + PLOT_H + 90, parts)
