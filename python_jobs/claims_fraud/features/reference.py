"""Reference data read from the dbt project's seed CSVs.

The seeds are the single source of truth for procedure codes (E/M levels, minutes, charge
medians and sigmas, unit caps), specialties (entity type, E/M mixes, service categories,
provider weights) and the state -> census region mapping. Nothing here restates their content.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

PROJECT_MARKER = "dbt_project.yml"
SEEDS_FOLDER = "seeds"
PROCEDURE_CODES_FILE = "ref_procedure_codes.csv"
SPECIALTIES_FILE = "ref_specialties.csv"
STATE_REGIONS_FILE = "ref_state_regions.csv"

EM_LEVELS = (1, 2, 3, 4, 5)
EM_SHARE_COLUMNS = tuple(f"em_level_{level}_share" for level in EM_LEVELS)

PROCEDURE_COLUMNS = (
    "hcpcs_code",
    "description",
    "service_category",
    "em_level",
    "typical_minutes",
    "median_charge_usd",
    "charge_log_sigma",
    "max_units_per_line",
)
SPECIALTY_COLUMNS = (
    "provider_specialty",
    "description",
    "entity_type",
    "bills_em_category",
    "service_categories",
    *EM_SHARE_COLUMNS,
    "provider_weight",
)
STATE_REGION_COLUMNS = ("state", "state_name", "region", "census_division")

_PROCEDURE_DTYPES = {
    "hcpcs_code": "string",
    "description": "string",
    "service_category": "string",
    "em_level": "Int64",
    "typical_minutes": "float64",
    "median_charge_usd": "float64",
    "charge_log_sigma": "float64",
    "max_units_per_line": "int64",
}
_SPECIALTY_DTYPES = {
    "provider_specialty": "string",
    "description": "string",
    "entity_type": "string",
    "bills_em_category": "string",
    "service_categories": "string",
    **dict.fromkeys(EM_SHARE_COLUMNS, "float64"),
    "provider_weight": "float64",
}
_STATE_REGION_DTYPES = dict.fromkeys(STATE_REGION_COLUMNS, "string")


@dataclass(frozen=True)
class ReferenceData:
    """The three reference seeds as DataFrames, plus the folder they were read from."""

    procedure_codes: pd.DataFrame
    specialties: pd.DataFrame
    state_regions: pd.DataFrame
    seeds_dir: Path


def find_project_root(start: Path | None = None) -> Path:
    """Walk up from ``start`` (default: cwd) to the folder holding dbt_project.yml.

    Falls back to the repository root relative to this file when no marker is found.
    """
    current = (start or Path.cwd()).resolve()
    for folder in (current, *current.parents):
        if (folder / PROJECT_MARKER).is_file():
            return folder
    return Path(__file__).resolve().parents[3]


def default_seeds_dir(start: Path | None = None) -> Path:
    """The seeds folder of the project found by :func:`find_project_root`."""
    return find_project_root(start) / SEEDS_FOLDER


def load_reference(seeds_dir: str | Path | None = None) -> ReferenceData:
    """Load and check the reference seeds; ``seeds_dir`` overrides the located seeds folder."""
    folder = Path(seeds_dir) if seeds_dir is not None else default_seeds_dir()
    procedures = _read_seed(folder / PROCEDURE_CODES_FILE, PROCEDURE_COLUMNS, _PROCEDURE_DTYPES)
    specialties = _read_seed(folder / SPECIALTIES_FILE, SPECIALTY_COLUMNS, _SPECIALTY_DTYPES)
    regions = _read_seed(folder / STATE_REGIONS_FILE, STATE_REGION_COLUMNS, _STATE_REGION_DTYPES)
    _check_unique(procedures, "hcpcs_code", folder / PROCEDURE_CODES_FILE)
    _check_unique(specialties, "provider_specialty", folder / SPECIALTIES_FILE)
    _check_unique(regions, "state", folder / STATE_REGIONS_FILE)
    _check_procedures(procedures, folder / PROCEDURE_CODES_FILE)
    _check_specialties(specialties, procedures, folder / SPECIALTIES_FILE)
    return ReferenceData(
        procedure_codes=procedures,
        specialties=specialties,
        state_regions=regions,
        seeds_dir=folder.resolve(),
    )


def specialty_service_categories(specialties: pd.DataFrame) -> list[tuple[str, ...]]:
    """The pipe-separated ``service_categories`` of each specialty row, as tuples."""
    return [
        tuple(part for part in str(value).split("|") if part) if pd.notna(value) else ()
        for value in specialties["service_categories"]
    ]


def _read_seed(path: Path, columns: tuple[str, ...], dtypes: dict[str, str]) -> pd.DataFrame:
    if not path.is_file():
        raise FileNotFoundError(f"reference seed not found: {path}")
    frame = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    if frame.empty:
        raise ValueError(f"{path}: no rows")
    return frame.loc[:, list(columns)].reset_index(drop=True)


def _check_unique(frame: pd.DataFrame, column: str, path: Path) -> None:
    duplicated = frame[column][frame[column].duplicated()].tolist()
    if duplicated or frame[column].isna().any():
        raise ValueError(f"{path}: {column} must be unique and non-null (duplicates: {duplicated})")


def _check_procedures(procedures: pd.DataFrame, path: Path) -> None:
    if (procedures["median_charge_usd"] <= 0).any() or (procedures["charge_log_sigma"] < 0).any():
        raise ValueError(f"{path}: median_charge_usd must be > 0 and charge_log_sigma >= 0")
    if (procedures["max_units_per_line"] < 1).any():
        raise ValueError(f"{path}: max_units_per_line must be >= 1")


def _check_specialties(specialties: pd.DataFrame, procedures: pd.DataFrame, path: Path) -> None:
    known = set(procedures["service_category"])
    bad_entity = sorted(set(specialties["entity_type"]) - {"1", "2"})
    if bad_entity:
        raise ValueError(f"{path}: entity_type must be '1' or '2', got {bad_entity}")
    for name, em_family, categories in zip(
        specialties["provider_specialty"],
        specialties["bills_em_category"],
        specialty_service_categories(specialties),
        strict=True,
    ):
        unknown = sorted(set(categories) - known)
        if unknown:
            raise ValueError(f"{path}: {name} lists unknown service categories {unknown}")
        if pd.notna(em_family) and em_family not in known:
            raise ValueError(f"{path}: {name} bills unknown E/M category {em_family!r}")
        if pd.isna(em_family) and not categories:
            raise ValueError(f"{path}: {name} has neither an E/M category nor service categories")
    if (specialties["provider_weight"] <= 0).any():
        raise ValueError(f"{path}: provider_weight must be > 0")
