"""The raw data folder is the user's: the demo generator and `make data` never write into a
folder holding someone else's files, and `make` reads the folder CLAIMS_FRAUD_RAW_DIR names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from harness import PROJECT_ROOT

from claims_fraud.cli.main import main as cli_main
from claims_fraud.synthetic.demo_folder import MARKER_FILE

USER_TABLES = ("eligibility", "provider", "siu_investigation")
SMALL = ["--lines", "500", "--seed", "3", "--no-progress"]


def _user_folder(folder: Path, tables: tuple[str, ...] = USER_TABLES) -> dict[str, bytes]:
    """A folder with the user's own extracts (real Parquet files), and their bytes."""
    folder.mkdir(parents=True)
    with duckdb.connect() as con:
        for table in tables:
            con.execute(
                f"copy (select 'users-{table}' as note) to '{folder / table}.parquet' "
                "(format parquet)"
            )
    return _contents(folder)


def _contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real Makefile, with the project's venv on PATH instead of `uv run`."""
    bin_dir = str(Path(sys.executable).parent)
    return subprocess.run(
        ["make", "-s", "-o", ".venv/.synced", "RUN=", *args],
        cwd=PROJECT_ROOT,
        env={**env, "PATH": bin_dir + os.pathsep + env["PATH"]},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _env_without_raw_dir() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("CLAIMS_FRAUD_RAW_DIR", "RAW_DIR")}


# --- the generator (claims-fraud generate) ------------------------------------------------------


def test_generate_refuses_a_folder_with_the_users_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "payer_extract"
    before = _user_folder(folder)

    code = cli_main(["generate", *SMALL, "--out", str(folder)])

    assert code == 2
    error = capsys.readouterr().err
    assert str(folder) in error
    for table in USER_TABLES:
        assert f"{table}.parquet" in error
    assert "CLAIMS_FRAUD_RAW_DIR" in error
    assert "empty" in error
    assert _contents(folder) == before  # nothing overwritten, nothing added (no marker either)


def test_generate_if_missing_uses_the_users_folder_as_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "payer_extract"
    before = _user_folder(folder)

    code = cli_main(["generate", *SMALL, "--if-missing", "--out", str(folder)])

    assert code == 0
    said = capsys.readouterr().out
    assert f"using your data in {folder}" in said
    assert "no medical_claim*.parquet yet" in said
    assert _contents(folder) == before


def test_generate_rewrites_only_a_folder_it_wrote_and_did_not_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / ".gitkeep").write_text("")  # hidden files do not make a folder the user's
    assert cli_main(["generate", *SMALL, "--out", str(folder)]) == 0
    assert (folder / MARKER_FILE).is_file()
    assert (folder / "medical_claim.parquet").is_file()

    # its own folder: generating again is allowed; --if-missing keeps the claims that are there
    assert cli_main(["generate", *SMALL, "--out", str(folder)]) == 0
    claims = (folder / "medical_claim.parquet").read_bytes()
    assert cli_main(["generate", *SMALL, "--if-missing", "--out", str(folder)]) == 0
    assert "demo data already in" in capsys.readouterr().out
    assert (folder / "medical_claim.parquet").read_bytes() == claims

    # the user copied their own eligibility extract over the demo one: the folder is theirs now
    user_eligibility = tmp_path / "eligibility.parquet"
    with duckdb.connect() as con:
        con.execute(f"copy (select 'users' as note, 1 as extra) to '{user_eligibility}'")
    (folder / "eligibility.parquet").write_bytes(user_eligibility.read_bytes())
    (folder / "medical_claim.parquet").unlink()
    before = _contents(folder)

    assert cli_main(["generate", *SMALL, "--out", str(folder)]) == 2
    error = capsys.readouterr().err
    # only the changed file is named: the others are still the generator's own, unchanged
    assert "did not write (eligibility.parquet)" in error
    assert _contents(folder) == before


# --- make data -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_make_data_reads_claims_fraud_raw_dir_and_leaves_the_users_folder_alone(
    tmp_path: Path,
) -> None:
    """CLAIMS_FRAUD_RAW_DIR in the environment (the README's way) is the folder make uses; the
    user's files there are not overwritten and no demo data is generated anywhere."""
    folder = tmp_path / "payer_extract"
    before = _user_folder(folder)
    local = tmp_path / "local"
    env = {**_env_without_raw_dir(), "CLAIMS_FRAUD_RAW_DIR": str(folder)}

    result = _make("data", f"LOCAL_DIR={local}", "LINES=500", env=env)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"using your data in {folder}" in output
    assert _contents(folder) == before
    assert not local.exists()  # not generated into the default .local/raw either


@pytest.mark.slow
def test_make_data_generates_demo_data_only_into_an_empty_folder(tmp_path: Path) -> None:
    folder = tmp_path / "demo_raw"
    folder.mkdir()
    env = {**_env_without_raw_dir(), "CLAIMS_FRAUD_RAW_DIR": str(folder)}

    first = _make("data", f"LOCAL_DIR={tmp_path / 'local'}", "LINES=500", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (folder / "medical_claim.parquet").is_file()
    assert (folder / MARKER_FILE).is_file()

    # RAW_DIR on the command line wins over the environment; claims there are left as they are
    user = tmp_path / "payer_extract"
    before = _user_folder(user, ("medical_claim", *USER_TABLES))
    second = _make("data", f"RAW_DIR={user}", env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"raw data: {user} (your data, used as is)" in second.stdout
    assert _contents(user) == before
