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
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

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
