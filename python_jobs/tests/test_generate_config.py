"""Tests of the generator's configuration (every bad option named), the reference seeds it
reads, and calendar ages (the generator's and the SQL macros', held to the same birthdays).
The generated dataset's own tests are in test_generate.py."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from harness import make_project

from claims_fraud.features.reference import (
    PROCEDURE_CODES_FILE,
    ReferenceData,
    find_project_root,
    load_reference,
)
from claims_fraud.synthetic.generate import (
    AGE_GROUPS,
    SCHEMES,
    FraudRates,
    GeneratorConfig,
    generate,
)
from claims_fraud.synthetic.sampling import age_group_index, calendar_age, epoch_day


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return load_reference()


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        ({"n_lines": 10}, "n_lines"),
        ({"n_lines": 1.5}, "n_lines"),
        ({"seed": -1}, "seed"),
        ({"malformed_rate": 0.9}, "malformed_rate"),
        ({"malformed_rate": float("nan")}, "malformed_rate"),
        ({"end_date": date(2023, 1, 1)}, "end_date"),
        ({"start_date": "2024-01-01"}, "start_date"),
        ({"drift_start": date(2030, 1, 1)}, "drift_start"),
        ({"drift_strength": -1.0}, "drift_strength"),
        ({"bias_attribute": "income", "bias_group": "x"}, "bias_attribute"),
        ({"bias_attribute": "gender"}, "bias_group"),
        ({"bias_attribute": "age_group", "bias_group": "70+"}, "bias_group"),
        ({"bias_group": "female"}, "bias_group"),
        ({"bias_attribute": "gender", "bias_group": "female", "bias_factor": 0}, "bias_factor"),
    ],
)
def test_bad_config_names_the_option(changes: dict, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        GeneratorConfig(**{"n_lines": 1_000, **changes})


@pytest.mark.parametrize(
    ("rates", "option"),
    [({"upcoding": -0.1}, "fraud_rates.upcoding"), ({"upcoding": 0.4, "unbundling": 0.4}, "sum")],
)
def test_bad_fraud_rates_name_the_option(rates: dict, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        FraudRates(**rates)


def test_unknown_region_is_rejected_against_the_seed(reference: ReferenceData) -> None:
    config = GeneratorConfig(n_lines=1_000, bias_attribute="region", bias_group="Atlantis")
    with pytest.raises(ValueError, match="bias_group"):
        generate(config, reference)


def test_config_is_frozen() -> None:
    config = GeneratorConfig(n_lines=1_000)
    with pytest.raises(AttributeError):
        config.n_lines = 5  # type: ignore[misc]


def test_zero_rates_give_a_clean_dataset(reference: ReferenceData) -> None:
    zero = FraudRates(**dict.fromkeys(SCHEMES, 0.0))
    result = generate(GeneratorConfig(n_lines=5_000, malformed_rate=0.0, fraud_rates=zero))
    assert not result.tables["fraud_ground_truth"].column("is_fraud").to_pandas().any()
    assert sum(result.malformed_counts.values()) == 0


# --- reference seeds -----------------------------------------------------------------------------


def test_reference_loads_from_the_project_seeds(reference: ReferenceData) -> None:
    assert reference.seeds_dir == find_project_root() / "seeds"
    assert len(reference.procedure_codes) > 50
    assert reference.procedure_codes["hcpcs_code"].is_unique


def test_reference_missing_file_names_the_path(tmp_path: Path, reference: ReferenceData) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(reference.seeds_dir, seeds)
    (seeds / PROCEDURE_CODES_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=PROCEDURE_CODES_FILE):
        load_reference(seeds)


def test_reference_override_dir_is_used(tmp_path: Path, reference: ReferenceData) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(reference.seeds_dir, seeds)
    loaded = load_reference(seeds)
    assert loaded.seeds_dir == seeds.resolve()
    assert loaded.specialties.equals(reference.specialties)


def test_project_root_is_found_from_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: x\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_project_root(nested) == tmp_path.resolve()


# ---------------------------------------------------------------------------- calendar age

# (date of birth, service date, calendar age): the days around a birthday. An age in completed
# years counts the birthday from the birthday itself; a 29 February birthday counts from
# 1 March in years without one. The dbt unit test test_claim_features_age_group_is_calendar_age
# holds the SQL macro to the same dates.
BIRTHDAY_CASES = [
    ("2001-01-10", "2019-01-09", 17),
    ("2001-01-10", "2019-01-10", 18),  # 4 leap days in 18 years: days / 365.25 said 17
    ("2001-01-10", "2019-01-11", 18),
    ("1989-03-01", "2024-02-29", 34),  # the leap day is the day before a 1 March birthday
    ("1989-03-01", "2024-03-01", 35),
    ("1974-02-28", "2024-02-27", 49),
    ("1974-02-28", "2024-02-28", 50),  # 12 leap days: days / 365.25 said 49
    ("1976-02-29", "2026-02-28", 49),  # no 29 February in 2026: not yet on the 28th
    ("1976-02-29", "2026-03-01", 50),
    ("1976-02-29", "2024-02-28", 47),
    ("1976-02-29", "2024-02-29", 48),  # a leap year: the birthday itself
    ("1960-03-01", "2025-02-28", 64),
    ("1960-03-01", "2025-03-01", 65),  # 16 leap days: days / 365.25 said 64
    ("2024-02-29", "2024-02-29", 0),
    ("2024-02-29", "2025-02-28", 0),
    ("2024-02-29", "2025-03-01", 1),
]
AGE_BAND_LOWER = (0, 18, 35, 50, 65)  # the lower bound of each of AGE_GROUPS


def epoch_days(values: list[str]) -> np.ndarray:
    return np.array([epoch_day(date.fromisoformat(value)) for value in values], np.int64)


@pytest.mark.parametrize(("birth", "day", "age"), BIRTHDAY_CASES)
def test_calendar_age_counts_completed_years(birth: str, day: str, age: int) -> None:
    born, on = epoch_days([birth]), epoch_days([day])
    assert calendar_age(born, on).tolist() == [age]
    band = max(k for k, lower in enumerate(AGE_BAND_LOWER) if age >= lower)
    assert age_group_index(born, on).tolist() == [band]


def random_birth_service_pairs(n: int, seed: int) -> pd.DataFrame:
    """Random (birth_date, service_date) pairs, half of them within two days of a birthday
    that changes the age band (18, 35, 50, 65), a tenth born on 29 February."""
    rng = np.random.default_rng(seed)
    birth = epoch_days(["1930-01-01"]) + rng.integers(0, 95 * 366, n)
    leap_born = rng.random(n) < 0.1
    years = 1932 + 4 * rng.integers(0, 23, n)  # leap years
    birth[leap_born] = epoch_days([f"{year}-02-29" for year in years[leap_born]])
    service = birth + rng.integers(0, 90 * 366, n)
    near = rng.random(n) < 0.5
    born = pd.to_datetime(birth, unit="D")
    band_birthday = [
        b + pd.DateOffset(years=int(y))
        for b, y in zip(born[near], rng.choice([18, 35, 50, 65], near.sum()), strict=True)
    ]
    service[near] = (
        pd.DatetimeIndex(band_birthday) - pd.Timestamp("1970-01-01")
    ).days.to_numpy() + rng.integers(-2, 3, near.sum())
    return pd.DataFrame(
        {
            "birth_date": pd.to_datetime(birth, unit="D").date,
            "service_date": pd.to_datetime(service, unit="D").date,
        }
    )


@pytest.mark.integration
def test_sql_age_macros_agree_with_the_generator(tmp_path: Path) -> None:
    """The dbt macros age_in_years and age_group, compiled by dbt for DuckDB, against the
    generator's calendar_age and age_group_index on 20,000 random date pairs."""
    project = make_project(tmp_path / "dbt", tmp_path / "raw")
    inline = (
        "select {{ age_in_years('birth_date', 'service_date') }} as age, "
        "{{ age_group('birth_date', 'service_date') }} as age_group from pairs"
    )
    compiled = project.dbt("compile", "--quiet", "--inline", inline).stdout
    pairs = random_birth_service_pairs(20_000, seed=11)
    with duckdb.connect() as con:
        con.register("pairs", pairs)
        sql_ages = con.execute(compiled).df()
    born = epoch_days([d.isoformat() for d in pairs["birth_date"]])
    on = epoch_days([d.isoformat() for d in pairs["service_date"]])
    expected_age = calendar_age(born, on)
    expected_group = np.array(AGE_GROUPS)[age_group_index(born, on)]
    assert (sql_ages["age"].to_numpy() == expected_age).all()
    assert (sql_ages["age_group"].to_numpy() == expected_group).all()
    at_band_birthday = (expected_age != calendar_age(born, on - 1)) & np.isin(
        expected_age, AGE_BAND_LOWER[1:]
    )
    assert at_band_birthday.sum() > 1000  # the pairs do probe the band boundaries
