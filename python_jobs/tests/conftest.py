"""Session fixtures shared by the integration and reliability suites: one generated dataset,
one features build, one trained project (helpers in harness.py)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import harness
import pytest
from dbt_env import TARGETS
from harness import (
    PROJECT_ROOT,
    TEST_LINES,
    TEST_SEED,
    DbtProject,
    make_project,
    once_per_session,
    run_bundle_job,
    worker_copy,
)

# Tests that run dbt on generated data are `integration` (not in `make test-unit`). The session's
# dataset, built and trained project are made once (once_per_session) and copied into each
# pytest-xdist worker (`make test`: -n 2), whose tests then write to their own copy.
DBT_FIXTURES = {"raw_dataset", "manifest", "built_project", "trained_project", "copy_raw"}
DBT_FIXTURES |= {"monitoring_build", "spark_target"}  # --target
# Modules whose tests are all in an xdist_group (checked by the hook below).
GROUPED_MODULES = (
    "integration/test_monitoring_build.py",
    "integration/test_performance_monitoring.py",
    "integration/test_dashboard_sql.py",
)


# tryfirst: pytest-xdist's worker reads the xdist_group marks in its own hook of this name
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    select_by_target(config, items)  # --target
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & DBT_FIXTURES:
            item.add_marker(pytest.mark.integration)


class StartOrder:
    """Sorts the tests by _start_order once -m / -k have deselected theirs: pytest's mark plugin
    deselects in its own pytest_collection_modifyitems, after the tryfirst one above, and the
    first trained_project test must be one that runs."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        items[:] = sorted(items, key=_start_order(items))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(StartOrder(), "claims-fraud-start-order")


def _start_order(items: list[pytest.Item]) -> Callable[[pytest.Item], int]:
    """The order pytest-xdist hands out tests in (the same in every worker): first one test of
    the trained project, so one worker starts the session's build (once_per_session) at once,
    then the tests without dbt, which keep the other worker busy meanwhile, then the rest.
    Otherwise both workers start with integration tests and one waits for the build idle."""
    first = next(
        (item for item in items if "trained_project" in getattr(item, "fixturenames", ())), None
    )

    def order(item: pytest.Item) -> int:
        if item is first:
            return 0
        return 2 if item.get_closest_marker("integration") else 1

    return order


def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:
    """Under `--dist loadgroup` pytest-xdist sends the tests of one xdist_group to one worker by
    appending `@group` to their ids. Every session that collects a test of GROUPED_MODULES has
    such ids; if a worker's have none (a pytest / pytest-xdist pair that disagree on where a
    node id lives), the group's session fixture would be built in every worker: stop instead
    of running slowly."""
    shared = [nodeid for nodeid in ids if nodeid.split("::")[0].endswith(GROUPED_MODULES)]
    if node.config.getvalue("dist") == "loadgroup" and shared and not any("@" in i for i in ids):
        raise pytest.UsageError(
            f"--dist loadgroup ignored every xdist_group (e.g. {shared[0]}): this pytest-xdist "
            "cannot rename this pytest's node ids (see the pytest pin in pyproject.toml)"
        )


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
def raw_dataset(tmp_path_factory: pytest.TempPathFactory, target: str) -> Path:
    """A generated Tuva-shaped dataset (Parquet + manifest), shared by the integration tests:
    generated once per session (by the first worker that needs it), read only."""
    from claims_fraud.cli.main import main as cli_main  # the generator: imported when needed

    def generate(out: Path) -> None:
        exit_code = cli_main(
            [
                "generate",
                "--lines",
                str(TARGET_LINES[target]),  # --target
                "--seed",
                str(TEST_SEED),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        assert exit_code in (0, None)

    return once_per_session(tmp_path_factory, f"raw-{target}", generate)


@pytest.fixture(scope="session")
def manifest(raw_dataset: Path) -> dict:
    return json.loads((raw_dataset / "_manifest.json").read_text())


@pytest.fixture(scope="session")
def built_project(
    tmp_path_factory: pytest.TempPathFactory, raw_dataset: Path, request: pytest.FixtureRequest
) -> DbtProject:
    """The state after `dbt build --selector features` (data and unit tests included) on a
    fresh DuckDB file. Built once per session, by the first worker that needs it; each worker
    gets its own copy to write to (with --target spark: built on the session's Spark, the raw
    data registered as its tables)."""
    if request.config.getoption("--target") == "spark":
        project = target_project(request, tmp_path_factory.mktemp("dbt"), raw_dataset)
        project.dbt("build", "--selector", "features", unit_tests=True)
        project.keep_run_results("features")
        return project

    def build(root: Path) -> None:
        project = make_project(root, raw_dataset)
        project.dbt("build", "--selector", "features", unit_tests=True)
        project.keep_run_results("features")

    built = once_per_session(tmp_path_factory, "built", build)
    return worker_copy(built, tmp_path_factory.getbasetemp() / "project", raw_dataset)


@pytest.fixture
def copy_raw(tmp_path: Path, raw_dataset: Path) -> Callable[[], Path]:
    """A private copy of the raw dataset that a test may break."""

    def _copy() -> Path:
        target = tmp_path / "raw"
        shutil.copytree(raw_dataset, target)
        return target

    return _copy


@pytest.fixture(scope="session")
def trained_project(
    tmp_path_factory: pytest.TempPathFactory,
    built_project: DbtProject,
    request: pytest.FixtureRequest,
) -> DbtProject:
    """The built project after the bundle's training job (`dbt build --selector train`, then
    `claims-fraud promote`) and `dbt build --selector score`: what `make run` does first.
    Trained once per session from the built state; the worker's project (the one its
    built_project tests use) is replaced by a copy of it."""

    def train(project: DbtProject) -> None:
        result = run_bundle_job(project, "claims_fraud_training")
        if result.returncode != 0:
            pytest.fail(
                f"bundle run claims_fraud_training failed:\n{result.stdout}\n{result.stderr}"
            )
        assert "[2/2 promote] success in " in result.stdout, result.stdout
        project.dbt("build", "--selector", "score")

    if request.config.getoption("--target") == "spark":
        train(built_project)
        return built_project

    def build(root: Path) -> None:
        built = once_per_session(tmp_path_factory, "built", lambda root: None)
        train(worker_copy(built, root, built_project.raw_dir))

    trained = once_per_session(tmp_path_factory, "trained", build)
    shutil.rmtree(built_project.root)
    return worker_copy(trained, built_project.root, built_project.raw_dir)


@pytest.fixture(scope="module")
def schema() -> Path:
    """The bundle JSON schema, the vendored copy (schemas/): a missing one fails, never skips."""
    from claims_fraud.deploy import bundle

    return bundle.find_schema(PROJECT_ROOT)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the bundle files (databricks.yml, resources/, the dashboard, ...) that a test
    may break; the dbt models it reads are the project's (a link)."""
    for name in ("databricks.yml", "selectors.yml", "pyproject.toml"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    for folder in ("resources", "dashboards"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    (tmp_path / "models").symlink_to(PROJECT_ROOT / "models")
    return tmp_path


# ---- --target: the same tests on another engine (make test-spark). Begin. -------------------
# `--target local` (default): DuckDB; every test but the `spark` ones. `--target spark`: the
# tests marked `portable` run on a local Spark session (the fixtures hand them a SparkProject,
# targets.py), with the `spark` tests (Spark only: parity with DuckDB, the Python models as
# Databricks runs them, ...); the rest only make sense on DuckDB and are deselected.
SPARK_LINES = 20_000  # the Spark target's dataset: enough for every model, test and model fit
TARGET_LINES = {"local": TEST_LINES, "spark": SPARK_LINES}
TARGET_MARKERS = {"local": {"portable", None}, "spark": {"portable", "spark"}}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--target",
        choices=TARGETS,
        default="local",
        help="dbt target the portable tests run on (spark: make test-spark, Java 17)",
    )


def select_by_target(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the tests the target runs: a `spark` test needs --target spark; with it, only
    the `portable` and `spark` tests are selected (None: a test with neither marker). The
    monitoring_build fixture's tests share one pytest-xdist worker."""
    target = config.getoption("--target")
    wanted = TARGET_MARKERS[target]
    kept, dropped = [], []
    for item in items:
        marks = {mark.name for mark in item.iter_markers()} & {"portable", "spark"}
        (kept if (marks or {None}) & wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
    for item in kept:  # one build of the monitoring fixture per session, in one worker
        if "monitoring_build" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("monitoring_build"))


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("--target")


@pytest.fixture(scope="session")
def spark_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The session's local Spark (in this process; dbt-spark's session method joins it)."""
    from targets import SparkTarget

    spark = SparkTarget.start(tmp_path_factory.mktemp("spark"))
    yield spark
    spark.stop()


def target_project(request: pytest.FixtureRequest, root: Path, raw_dir: Path):
    """A fresh dbt state on the --target engine: harness.DbtProject, or a targets.SparkProject
    (the raw dataset registered as the Spark sources first)."""
    if request.config.getoption("--target") == "spark":
        spark = request.getfixturevalue("spark_target")
        spark.register_raw(raw_dir)
        return spark.project(root, raw_dir)
    return make_project(root, raw_dir)


@pytest.fixture(scope="session")
def monitoring_build(tmp_path_factory: pytest.TempPathFactory, target: str, request):
    """monitoring_fixture's random inputs monitored by dbt on the --target engine (schema
    `fixture` on Spark: the CLI's table lookup across claims_fraud_* must not see them)."""
    from monitoring_fixture import build_monitoring

    root = tmp_path_factory.mktemp("monitoring")
    if target == "spark":
        project = request.getfixturevalue("spark_target").project(root, root / "raw", "fixture")
    else:
        project = make_project(root, root / "raw")
    return build_monitoring(project)


# ---- --target. End. -------------------------------------------------------------------------
