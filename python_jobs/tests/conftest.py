"""Session fixtures shared by the integration and reliability suites: one generated dataset,
one features build, one trained project (helpers in harness.py)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import harness
import pytest
from harness import PROJECT_ROOT, TEST_LINES, TEST_SEED, DbtProject, make_project, run_bundle_job


# Tests that run dbt on generated data are `integration` (not in `make test-unit`); those that
# share the session's built or trained project run in one pytest-xdist worker (its DuckDB file
# takes one writer at a time), the rest spread over the workers (`make test`: -n 2).
DBT_FIXTURES = {"raw_dataset", "manifest", "built_project", "trained_project", "copy_raw"}
SHARED_STATE = {"built_project", "trained_project"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & DBT_FIXTURES:
            item.add_marker(pytest.mark.integration)
        if fixtures & SHARED_STATE:
            item.add_marker(pytest.mark.xdist_group("shared_state"))


@pytest.fixture(scope="session", autouse=True)
def _dbt_server(tmp_path_factory: pytest.TempPathFactory):
    """dbt commands of the session run in one dbt process per worker, with their partial-parse
    state shared through the session's temporary folder (see harness.DbtServer)."""
    base = tmp_path_factory.getbasetemp()
    # under pytest-xdist each worker has its own basetemp inside the session's folder
    session = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = session / "dbt_parse_cache"
    cache.mkdir(exist_ok=True)
    harness.PARSE_CACHE = cache
    yield
    harness.SERVER.stop()


@pytest.fixture(scope="session")
def raw_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated Tuva-shaped dataset (Parquet + manifest), shared by the integration tests."""
    from claims_fraud.cli.main import main as cli_main  # the generator: imported when needed

    out = tmp_path_factory.mktemp("raw")
    exit_code = cli_main(
        [
            "generate",
            "--lines",
            str(TEST_LINES),
            "--seed",
            str(TEST_SEED),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert exit_code in (0, None)
    return out


@pytest.fixture(scope="session")
def manifest(raw_dataset: Path) -> dict:
    return json.loads((raw_dataset / "_manifest.json").read_text())


@pytest.fixture(scope="session")
def built_project(tmp_path_factory: pytest.TempPathFactory, raw_dataset: Path) -> DbtProject:
    """`dbt build --selector features` run once for real on a fresh DuckDB file."""
    project = make_project(tmp_path_factory.mktemp("dbt"), raw_dataset)
    project.dbt("build", "--selector", "features")
    project.keep_run_results("features")
    return project


@pytest.fixture
def copy_raw(tmp_path: Path, raw_dataset: Path) -> Callable[[], Path]:
    """A private copy of the raw dataset that a test may break."""

    def _copy() -> Path:
        target = tmp_path / "raw"
        shutil.copytree(raw_dataset, target)
        return target

    return _copy


@pytest.fixture(scope="session")
def trained_project(built_project: DbtProject) -> DbtProject:
    """The built project after the bundle's training job (`dbt build --selector train`, then
    `claims-fraud promote`) and `dbt build --selector score`: what `make run` does first."""
    result = run_bundle_job(built_project, "claims_fraud_training")
    if result.returncode != 0:
        pytest.fail(f"bundle run claims_fraud_training failed:\n{result.stdout}\n{result.stderr}")
    assert "[2/2 promote] success in " in result.stdout, result.stdout
    built_project.dbt("build", "--selector", "score")
    return built_project


@pytest.fixture(scope="module")
def schema() -> Path:
    """The bundle JSON schema, the vendored copy (schemas/): a missing one fails, never skips."""
    from claims_fraud.deploy import bundle

    return bundle.find_schema(PROJECT_ROOT)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the bundle files (databricks.yml, resources/, ...) that a test may break."""
    for name in ("databricks.yml", "selectors.yml", "pyproject.toml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    shutil.copytree(PROJECT_ROOT / "resources", tmp_path / "resources")
    return tmp_path
