"""Values from outside (CLI arguments, dbt vars reaching the Python models, environment) are
checked here, at the boundary, before they name a batch, a window or a table.

The rules are the Python twin of macros/validation/ (the dbt side checks the same vars before any
node runs); python_jobs/tests/reliability/test_var_injection.py feeds both the same hostile
values. Each check returns the value it accepts, or raises ``InvalidParameterError`` naming the
parameter, the value and the rule.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")

BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?")

BATCH_ID_RULE = (
    "a batch id: 1 to 64 characters, letters, digits, '_', '-', '.' or ':', "
    "starting with a letter or digit"
)
IDENTIFIER_RULE = "an identifier: a letter or '_', then letters, digits or '_' (at most 128)"
TIMESTAMP_RULE = (
    "empty, or a real date YYYY-MM-DD, optionally with a time HH:MM[:SS] after a space or 'T'"
)


class InvalidParameterError(ValueError):
    """A value from outside broke its rule; the message names both."""

    def __init__(self, name: str, value: object, rule: str) -> None:
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        super().__init__(f"{name} = {shown} is not allowed: it must be {rule}")


def batch_id(value: object, name: str = "batch_id") -> str:
    if not isinstance(value, str) or not BATCH_ID.fullmatch(value):
        raise InvalidParameterError(name, value, BATCH_ID_RULE)
    return value


def identifier(value: object, name: str = "identifier") -> str:
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise InvalidParameterError(name, value, IDENTIFIER_RULE)
    return value


def optional_timestamp(value: object, name: str = "window bound") -> datetime | None:
    """None for an empty bound; else the datetime the text names (a day that exists)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
        raise InvalidParameterError(name, value, TIMESTAMP_RULE)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameterError(name, value, TIMESTAMP_RULE) from None


def argparse_type(check: Callable[[object, str], T], name: str) -> Callable[[str], T]:
    """An argparse ``type=`` that applies a check and reports its message as a usage error."""

    def convert(value: str) -> T:
        try:
            return check(value, name)
        except InvalidParameterError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name
    return convert


# --- scoring batches ----------------------------------------------------------------------------

MAX_SCORING_BATCHES = 1000


@dataclass(frozen=True)
class ScoringBatch:
    """One batch of a scoring run: its id and the claims ingested in [start, end) (None =
    unbounded)."""

    batch_id: str
    start: datetime | None
    end: datetime | None


def scoring_batches(
    prefix: object, window_start: object, window_end: object, batch_days: object = 0
) -> list[ScoringBatch]:
    """The batches one scoring run writes: the whole window as batch ``prefix`` when
    ``batch_days`` is 0; else consecutive ``batch_days``-day batches from ``window_start`` to
    ``window_end`` (both required), named ``<prefix>-<YYYY-MM-DD of the batch's start>``, the
    last one cut at ``window_end``. The Jinja twin is the macro scoring_batches (mon_batches
    lists every planned batch, so an empty one is reported as no_data);
    test_var_injection.py checks both give the same plan."""
    name = batch_id(prefix, "scoring_batch_id")
    start = optional_timestamp(window_start, "scoring_window_start")
    end = optional_timestamp(window_end, "scoring_window_end")
    days = non_negative_integer(batch_days, "scoring_batch_days")
    if start is not None and end is not None and end <= start:
        raise InvalidParameterError(
            "scoring_window_end", window_end, f"after scoring_window_start ({window_start})"
        )
    if days == 0:
        return [ScoringBatch(name, start, end)]
    if start is None or end is None:
        raise InvalidParameterError(
            "scoring_batch_days",
            batch_days,
            "0 unless both scoring_window_start and scoring_window_end are set",
        )
    if (end - start).days / days > MAX_SCORING_BATCHES:
        raise InvalidParameterError(
            "scoring_batch_days",
            batch_days,
            f"large enough for at most {MAX_SCORING_BATCHES} batches",
        )
    batches, step = [], timedelta(days=days)
    while start < end:
        batches.append(
            ScoringBatch(
                batch_id(f"{name}-{start:%Y-%m-%d}", "scoring_batch_id (with the batch's date)"),
                start,
                min(start + step, end),
            )
        )
        start += step
    return batches


def scoring_batches_from_meta(meta: Mapping[str, Any]) -> list[ScoringBatch]:
    """The plan of the scoring run a score model's ``meta.scoring`` describes (the vars
    scoring_batch_id, scoring_window_start/_end, scoring_batch_days, rendered by dbt)."""
    return scoring_batches(
        meta.get("batch_id"),
        meta.get("window_start"),
        meta.get("window_end"),
        meta.get("batch_days") or 0,
    )


def describe_batches(batch_ids: list[str]) -> str:
    """The first three batch ids of a plan, for a log line ("a, b, c ...")."""
    return ", ".join(batch_ids[:3]) + (" ..." if len(batch_ids) > 3 else "")


def non_negative_integer(value: object, name: str = "value") -> int:
    """A whole number >= 0; text of 1 to 9 digits too (dbt renders YAML meta and environment
    values to text: "7" is 7), as the Jinja rule non_negative_integer."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidParameterError(name, value, "a whole number, 0 or more")
    return value
