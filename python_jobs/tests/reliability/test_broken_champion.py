"""A @champion whose artifacts are gone or corrupt is no champion: `claims-fraud has-champion`
exits 1 naming the model, version, artifact and what to run (so `make run` retrains), scoring
fails before writing a row, and the retrain that `make run` starts replaces it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from harness import DbtProject, copy_trained_state, run_bundle_job
from mlflow import MlflowClient

from claims_fraud.cli.main import main as cli_main
from claims_fraud.ml.tracking import CHAMPION, MlflowSettings

pytestmark = pytest.mark.integration

RETRAIN_COMMANDS = ("make run TRAIN=1", "dbt build --selector train", "claims-fraud promote")
LATE_BATCH_VARS = "{scoring_batch_id: after_fault, scoring_window_start: '2025-10-01'}"


def _path(uri: str) -> Path:
    return Path(urlparse(uri).path)


def _model_folder(client: MlflowClient, name: str) -> tuple[str, Path]:
    version = client.get_model_version_by_alias(name, CHAMPION)
    return str(version.version), _path(client.get_model_version_download_uri(name, version.version))


def _delete_model_folder(client: MlflowClient, settings: MlflowSettings) -> tuple[str, str, Path]:
    version, folder = _model_folder(client, settings.classifier_name)
    shutil.rmtree(folder)
    return settings.classifier_name, version, folder


def _corrupt_booster(client: MlflowClient, settings: MlflowSettings) -> tuple[str, str, Path]:
    version, folder = _model_folder(client, settings.autoencoder_name)
    boosters = sorted((folder / "artifacts" / "model").glob("reconstructor_*.ubj"))
    assert boosters, f"no booster file in {folder}"
    boosters[0].write_bytes(b"not a booster")
    return settings.autoencoder_name, version, folder


def _delete_reference(client: MlflowClient, settings: MlflowSettings) -> tuple[str, str, Path]:
    version = client.get_model_version_by_alias(settings.classifier_name, CHAMPION)
    folder = _path(client.get_run(version.run_id).info.artifact_uri) / "reference"
    shutil.rmtree(folder)
    return settings.classifier_name, str(version.version), folder


Fault = Callable[[MlflowClient, MlflowSettings], tuple[str, str, Path]]
FAULTS: dict[str, Fault] = {
    "classifier model folder deleted": _delete_model_folder,
    "autoencoder booster file corrupted": _corrupt_booster,
    "reference profile deleted": _delete_reference,
}


def _break(project: DbtProject, fault: str) -> tuple[str, str, Path]:
    settings = MlflowSettings.local(project.mlflow_dir)
    name, version, broken = FAULTS[fault](settings.activate(), settings)
    assert broken.is_relative_to(project.mlflow_dir.resolve())  # the copy's, not the session's
    return name, version, broken


def _has_champion(project: DbtProject, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    exit_code = cli_main(["has-champion", "--mlflow-dir", str(project.mlflow_dir)])
    captured = capsys.readouterr()
    return exit_code, captured.out + captured.err


def _batches(project: DbtProject) -> list[tuple[str, int]]:
    return project.query(
        "select batch_id, count(*) from main_ml.fraud_scores group by batch_id order by batch_id"
    )


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_broken_champion_is_refused_before_a_score_is_written(
    trained_project: DbtProject, tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    project = copy_trained_state(trained_project, tmp_path / "state")
    batches = _batches(project)
    name, version, broken = _break(project, fault)

    exit_code, message = _has_champion(project, capsys)

    assert exit_code == 1
    assert f"@{CHAMPION} {name} v{version} is broken" in message
    assert str(broken) in message
    for command in RETRAIN_COMMANDS:
        assert command in message

    # The batch has claims (test_ml_pipeline scores the same window): nothing of it is written.
    result = project.dbt("build", "--selector", "score", "--vars", LATE_BATCH_VARS, check=False)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"BrokenModelError: @{CHAMPION} {name} v{version} is broken" in output
    assert "make run TRAIN=1" in output
    statuses = {
        node["unique_id"].rsplit(".", 1)[-1]: node["status"]
        for node in project.run_results()["results"]
    }
    assert statuses["fraud_scores"] == "error"
    assert _batches(project) == batches


@pytest.mark.slow  # the whole training job (make test-slow)
def test_the_retrain_make_run_starts_replaces_a_broken_champion(
    trained_project: DbtProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_trained_state(trained_project, tmp_path / "state")
    name, broken_version, _ = _break(project, "classifier model folder deleted")
    assert _has_champion(project, capsys)[0] == 1  # so `make run` runs the training job

    result = run_bundle_job(project, "claims_fraud_training")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "[2/2 promote] success in " in result.stdout
    client = MlflowSettings.local(project.mlflow_dir).activate()
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) != broken_version
    exit_code, message = _has_champion(project, capsys)
    assert exit_code == 0, message
