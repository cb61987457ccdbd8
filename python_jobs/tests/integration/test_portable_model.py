"""The registered models are self-contained: they load, predict and serve in a virtual
environment made from their own requirements.txt alone, without this project on the path.

Small models are fitted here (XGBoost and CatBoost classifiers, the tree autoencoder) and logged
the way training logs them (claims_fraud.ml.mlflow_models) to a real local MLflow store; the
environment is made with uv, offline, from the packages the project's own install cached.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from catboost import CatBoostClassifier
from xgboost import XGBClassifier

from claims_fraud.features.spec import FeatureSpec, feature_matrix
from claims_fraud.ml.autoencoder import AutoencoderConfig, TreeAutoencoder
from claims_fraud.ml.mlflow_models import log_autoencoder, log_classifier
from claims_fraud.ml.tracking import MlflowSettings
from claims_fraud.portable_model import (
    FeatureSchemaError,
    FraudModel,
    ModelArtifactError,
    catboost_frame,
    margin,
    predict_probability,
)
from claims_fraud.portable_model import __file__ as portable_file

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("portable_model")]

SPEC = FeatureSpec(
    numeric=("paid_amount", "line_count"),
    boolean=("is_weekend",),
    categorical=("place_of_service",),
    protected=(),
)
LOAD_AND_PREDICT = """
import importlib.util, json, sys, time
assert importlib.util.find_spec("claims_fraud") is None, "the project is importable here"
import pandas as pd
started = time.perf_counter()
import mlflow.pyfunc
frame = pd.read_json(sys.argv[2], orient="split", dtype=False)
out = {}
for name in sys.argv[1].split(","):
    model = mlflow.pyfunc.load_model(name)
    out[name] = list(map(float, model.predict(frame)))
out["load_and_predict_s"] = time.perf_counter() - started
print(json.dumps(out))
"""


def claims(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Feature rows as fct_claim_features holds them (nulls included) and a label that
    depends on them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "claim_id": [f"C{seed}-{i}" for i in range(n)],
            "paid_amount": rng.gamma(2.0, 300.0, n),
            "line_count": rng.integers(1, 9, n).astype("int64"),
            "is_weekend": rng.random(n) < 0.2,
            "place_of_service": rng.choice(["11", "21", "23", None], n),
        }
    )
    logit = frame["paid_amount"] / 400 + 1.5 * frame["is_weekend"] - 3
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, label


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three registered models (XGBoost, CatBoost, autoencoder) and their artifact folders."""
    root = tmp_path_factory.mktemp("portable")
    settings = MlflowSettings.local(root / "mlflow")
    client = settings.activate()
    train, label = claims(1500, seed=1)
    matrix = feature_matrix(train, SPEC)
    example = train[list(SPEC.inputs)].head(5)
    valid, valid_label = claims(500, seed=9)
    # early-stopped, as training stops them: prediction and explanations use the best round
    xgb = XGBClassifier(
        n_estimators=200, max_depth=4, enable_categorical=True, n_jobs=1, early_stopping_rounds=3
    )
    xgb.fit(matrix, label, eval_set=[(feature_matrix(valid, SPEC), valid_label)], verbose=False)
    assert xgb.best_iteration < 199
    cat = CatBoostClassifier(iterations=30, depth=3, verbose=0, allow_writing_files=False)
    cat.fit(catboost_frame(matrix, ["place_of_service"]), label, cat_features=["place_of_service"])
    autoencoder = TreeAutoencoder(AutoencoderConfig(n_rounds=10, threads=1)).fit(matrix, SPEC)
    models = {}
    with mlflow.start_run():
        for flavour, fitted in (("xgboost", xgb), ("catboost", cat)):
            version = log_classifier(flavour, fitted, SPEC, 0.5, 0.05, flavour, example)
            models[flavour] = (fitted, version)
        models["autoencoder"] = (autoencoder, log_autoencoder(autoencoder, "autoencoder", example))
    folders = {
        name: Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{name}/{version}", dst_path=str(root / name)
            )
        )
        for name, (_, version) in models.items()
    }
    return {"root": root, "models": models, "folders": folders, "client": client}


def test_the_artifact_holds_the_model_code_its_files_and_its_own_requirements(
    registered: dict,
) -> None:
    """The model's code is portable_model.py, its requirements are that code's imports, and the
    project's own lock file stays out of it."""
    folder = registered["folders"]["xgboost"]
    files = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    assert "artifacts/model/classifier.ubj" in files
    assert "artifacts/model/model.json" in files
    assert not any(name.endswith(("uv.lock", "pyproject.toml")) for name in files), files
    code = [name for name in files if name.endswith(".py")]
    assert code == ["portable_model.py"], files
    wanted = {"mlflow", "numpy", "pandas", "pyarrow", "xgboost", "catboost"}
    declared = (folder / "requirements.txt").read_text().split()
    assert {line.split("==")[0] for line in declared} == wanted
    assert "claims-fraud" not in (folder / "requirements.txt").read_text()


def test_the_loaded_model_predicts_what_the_fitted_one_does(registered: dict) -> None:
    """Through MLflow (models-from-code) and as a folder: same probabilities, same scores."""
    frame, _ = claims(300, seed=2)
    matrix = feature_matrix(frame, SPEC)
    for flavour in ("xgboost", "catboost"):
        fitted, version = registered["models"][flavour]
        loaded = mlflow.pyfunc.load_model(f"models:/{flavour}/{version}")
        expected = predict_probability(flavour, fitted, matrix)
        assert np.allclose(loaded.predict(frame[list(SPEC.inputs)]), expected, atol=1e-12)
        unwrapped = loaded.unwrap_python_model()
        assert unwrapped.flag_threshold == 0.5
        assert unwrapped.inputs == SPEC.inputs
    autoencoder, version = registered["models"]["autoencoder"]
    loaded = mlflow.pyfunc.load_model(f"models:/autoencoder/{version}")
    assert np.allclose(loaded.predict(frame), autoencoder.score(matrix), atol=1e-12)


def test_contributions_plus_the_base_value_are_the_margin(registered: dict) -> None:
    frame, _ = claims(400, seed=3)
    for flavour in ("xgboost", "catboost"):
        model = FraudModel.from_folder(registered["folders"][flavour] / "artifacts" / "model")
        values, base = model.explain(frame)
        assert list(values.columns) == list(SPEC.inputs)
        expected = margin(flavour, model.classifier, feature_matrix(frame, SPEC))
        # 1e-6, relative above 1: XGBoost adds its float32 contributions in float32
        gap = np.abs(values.sum(axis=1).to_numpy() + base - expected)
        assert np.all(gap <= 1e-6 * np.maximum(1.0, np.abs(expected))), gap.max()
        # the margin is the probability's log-odds
        probability = model.predict(None, frame)
        assert np.allclose(1 / (1 + np.exp(-expected)), probability, atol=1e-6)


def test_a_frame_without_an_input_or_a_folder_without_its_booster_is_refused(
    registered: dict, tmp_path: Path
) -> None:
    model = FraudModel.from_folder(registered["folders"]["xgboost"] / "artifacts" / "model")
    frame, _ = claims(10, seed=4)
    with pytest.raises(FeatureSchemaError, match=r"line_count.*Retrain"):
        model.predict(None, frame.drop(columns="line_count"))
    with pytest.raises(FeatureSchemaError, match="paid_amount must be numeric"):
        model.predict(None, frame.assign(paid_amount="a lot"))
    broken = shutil.copytree(
        registered["folders"]["xgboost"] / "artifacts" / "model", tmp_path / "m"
    )
    (broken / "classifier.ubj").unlink()
    with pytest.raises(ModelArtifactError, match=r"has no classifier\.ubj"):
        FraudModel.from_folder(broken)


def test_an_environment_without_a_requirement_is_told_which_and_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "catboost", None)  # as if it were not installed
    spec = importlib.util.spec_from_file_location("portable_without_catboost", portable_file)
    module = importlib.util.module_from_spec(spec)
    with pytest.raises(ImportError, match=r"needs the package catboost.*requirements\.txt"):
        spec.loader.exec_module(module)


# --- a clean environment ------------------------------------------------------------------------


def _uv() -> list[str]:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    return [found] if Path(found).exists() else [sys.executable, "-m", "uv"]


@pytest.fixture(scope="module")
def clean_env(registered: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only the classifier's declared requirements (same for every model), from
    uv's cache (offline): no project, no dbt, no scikit-learn."""
    requirements = mlflow.pyfunc.get_model_dependencies(str(registered["folders"]["xgboost"]))
    venv = tmp_path_factory.mktemp("clean") / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run(
        [*_uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env
    )
    python = str(venv / "bin" / "python")
    install = [*_uv(), "pip", "install", "--quiet", "--python", python, "-r", requirements]
    # Offline from uv's cache where it holds the index pages too; else the package registry
    # (the wheels still come from the cache the project's own install filled).
    offline = subprocess.run([*install, "--offline"], capture_output=True, text=True, env=env)
    if offline.returncode != 0:
        online = subprocess.run(install, capture_output=True, text=True, env=env)
        assert online.returncode == 0, (
            f"the model's requirements ({requirements}) do not install:\n"
            f"offline: {offline.stderr}\nfrom the registry: {online.stderr}"
        )
    return venv


def _clean_run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        [str(venv / "bin" / "python"), "-I", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


def test_every_model_loads_and_predicts_in_an_environment_without_the_project(
    registered: dict, clean_env: Path, server: tuple, tmp_path: Path
) -> None:
    frame, _ = claims(200, seed=5)
    (tmp_path / "frame.json").write_text(frame[list(SPEC.inputs)].to_json(orient="split"))
    names = ",".join(str(folder) for folder in registered["folders"].values())
    result = _clean_run(
        clean_env, "-c", LOAD_AND_PREDICT, names, str(tmp_path / "frame.json"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    matrix = feature_matrix(frame, SPEC)
    for name, folder in registered["folders"].items():
        fitted, _ = registered["models"][name]
        if name == "autoencoder":
            expected = fitted.score(matrix)
        else:
            expected = predict_probability(name, fitted, matrix)
        assert np.allclose(found[str(folder)], expected, atol=1e-9), name
    print(
        f"load + predict of 3 models in the clean environment: {found['load_and_predict_s']:.1f} s"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(
    registered: dict, clean_env: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """`mlflow models serve` of the XGBoost classifier from the clean environment, started as
    soon as the environment exists (it boots while the load test runs)."""
    folder = tmp_path_factory.mktemp("serve")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # as in an activated venv: the server execs `uvicorn` from PATH
    env["PATH"] = f"{clean_env / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    command = [str(clean_env / "bin" / "mlflow"), "models", "serve", "--env-manager", "local"]
    command += ["-m", str(registered["folders"]["xgboost"]), "-h", "127.0.0.1", "-p", str(port)]
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, f"http://127.0.0.1:{port}", folder / "serve.log"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def served(server: tuple[subprocess.Popen, str, Path]) -> str:
    """The server's URL once /ping answers."""
    process, url, log = server
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return url
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"mlflow models serve did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def test_the_classifier_is_served_by_mlflow_models_serve(registered: dict, served: str) -> None:
    frame, _ = claims(50, seed=6)
    payload = json.loads(frame[list(SPEC.inputs)].to_json(orient="split"))
    body = json.dumps({"dataframe_split": {"columns": payload["columns"], "data": payload["data"]}})
    request = urllib.request.Request(  # noqa: S310
        f"{served}/invocations", data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        predictions = json.loads(response.read())["predictions"]
    fitted, _ = registered["models"]["xgboost"]
    expected = predict_probability("xgboost", fitted, feature_matrix(frame, SPEC))
    assert np.allclose(predictions, expected, atol=1e-9)
