"""Shared helpers for the frozen config dataclasses (training, autoencoder)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

ConfigT = TypeVar("ConfigT")


def config_from_mapping(cls: type[ConfigT], data: Mapping[str, Any], label: str) -> ConfigT:
    """Build a config dataclass from e.g. job parameters or dbt meta: None values mean "use the
    default"; an unknown key raises ValueError naming it and the known keys."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"unknown {label} config key(s): {', '.join(unknown)} "
            f"(known: {', '.join(sorted(known))})"
        )
    return cls(**{key: value for key, value in data.items() if value is not None})


def config_to_dict(config: object) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(config)}  # type: ignore[arg-type]
