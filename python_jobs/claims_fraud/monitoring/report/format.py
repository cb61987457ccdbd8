"""Text formatting shared by the charts and the page: every value HTML-escaped, a missing
number as an en dash (never "nan"), bins as a reader sees them, round axis ticks.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import pandas as pd

DASH = "\u2013"


def is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def esc(value: object) -> str:
    return DASH if is_missing(value) else html.escape(str(value))


def to_float(value: object) -> float | None:
    if is_missing(value):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def num(value: object, digits: int = 2) -> str:
    number = to_float(value)
    return DASH if number is None else f"{number:,.{digits}f}"


def integer(value: object) -> str:
    number = to_float(value)
    return DASH if number is None else f"{round(number):,}"


def pct(value: object, digits: int = 1) -> str:
    number = to_float(value)
    return DASH if number is None else f"{100 * number:.{digits}f}%"


def when(value: object) -> str:
    if is_missing(value):
        return DASH
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return esc(value)
    text = stamp.strftime("%Y-%m-%d %H:%M:%S")
    return html.escape(f"{text} {stamp.strftime('%Z')}".strip())


def yes_no(value: object) -> str:
    if is_missing(value):
        return DASH
    return '<span class="good">yes</span>' if bool(value) else '<span class="bad">no</span>'


def _bound(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def threshold_text(value: float) -> str:
    """A threshold as the legends print it: two decimals (0.10, 1.25), more when it has them."""
    text = f"{value:.2f}"
    return text if float(text) == value else f"{value:g}"


def bin_label(kind: object, lower: object, upper: object, level: object) -> str:
    """A bin as a reader sees it: (0.12, 0.31], <= 0.12, > 0.9, a level, OTHER or NULL."""
    if kind == "null":
        return "NULL"
    if kind == "other":
        return "OTHER"
    if kind == "level":
        return DASH if is_missing(level) else str(level)
    low, high = to_float(lower), to_float(upper)
    if low is None and high is None:
        return "all values"
    if low is None:
        return f"\u2264 {_bound(high)}"  # type: ignore[arg-type]
    if high is None:
        return f"> {_bound(low)}"
    return f"({_bound(low)}, {_bound(high)}]"


def status_class(status: object) -> str:
    text = "" if is_missing(status) else str(status)
    if text in ("error", "fail"):
        return "bad"
    if text.startswith("warn"):
        return "warn"
    if text in ("ok", "pass"):
        return "good"
    return "muted"


def badge(status: object) -> str:
    return f'<span class="badge {status_class(status)}">{esc(status)}</span>'


def short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def html_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table; headers are plain text, cells are already-escaped HTML."""
    head = "".join(f"<th>{html.escape(h.replace('_', ' '))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def empty_note(message: str) -> str:
    return f'<p class="empty">{html.escape(message)}</p>'


def nice_ticks(low: float, high: float, target: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = max(high - low, 1e-12)
    raw = span / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    count = math.ceil((high - first) / step - 1e-9)
    return [round(first + i * step, 10) for i in range(count + 1)]
