"""`claims-fraud evaluate-populations`: train on one synthetic population, judge on others.

Each population is a generator seed: its dataset is generated into WORK_DIR/seed-N/raw and its
features built there with the project's own `dbt build --selector features` (a DuckDB file of
its own, the local target), so every population goes through exactly the SQL production runs.
Then :func:`claims_fraud.ml.populations.evaluate_populations` trains as the training job does
and reports quality against the ground truth, next to an IsolationForest. Last, the kept
model's flags of each population's window are written as that population's fraud_scores and dbt
builds siu_member_tours on them, the SIU's ring cases: the report adds the ring claims reached
flagged or on a flagged claim's tour. Nothing is registered in MLflow and the project's own
.local state is not touched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from claims_fraud.cli.common import EXIT_OK, fail

if TYPE_CHECKING:
    import pandas as pd

COMMAND = "evaluate-populations"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train-seed", type=int, default=42, help="generator seed to train on")
    parser.add_argument(
        "--eval-seeds",
        type=int,
        nargs="+",
        default=[7, 2024],
        help="generator seeds of the populations the model never sees",
    )
    parser.add_argument("--lines", type=int, default=200_000, help="claim lines per population")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(".local/populations"),
        help="where each population's raw data, DuckDB file and dbt logs go",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="the report as JSON (default: WORK_DIR/report.json)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path(os.environ.get("DBT_PROJECT_DIR", ".")),
        help="folder of dbt_project.yml ($DBT_PROJECT_DIR)",
    )


def build_population_features(
    seed: int, lines: int, folder: Path, project_dir: Path
) -> tuple[Path, Path]:
    """Generate seed ``seed`` into ``folder``/raw (unless a dataset of that seed and size is
    there) and build its features with dbt; returns (raw folder, DuckDB file)."""
    from claims_fraud.synthetic.config import GENERATOR_VERSION, GeneratorConfig
    from claims_fraud.synthetic.generate import run_generation

    raw, database = folder / "raw", folder / "claims_fraud.duckdb"
    manifest = raw / "_manifest.json"
    config = GeneratorConfig(n_lines=lines, seed=seed)
    written = json.loads(manifest.read_text()) if manifest.exists() else {}
    wanted = {"generator_version": GENERATOR_VERSION, "config": config.to_dict()}
    if {key: written.get(key) for key in wanted} != wanted:
        for stale in (raw, database):
            if stale.is_dir():
                for path in sorted(stale.rglob("*"), reverse=True):
                    path.unlink() if path.is_file() else path.rmdir()
            elif stale.exists():
                stale.unlink()
        run_generation(config, raw)
    features = "build --selector features --exclude-resource-type unit_test --full-refresh"
    _dbt([*features.split(), "--quiet"], seed, folder, project_dir)
    return raw, database


def _dbt(arguments: list[str], seed: int, folder: Path, project_dir: Path) -> None:
    """Run dbt on the population in ``folder`` (its raw data, DuckDB file, target and logs);
    a failure raises RuntimeError naming the command, the seed and the log."""
    env = {
        "DBT_PROFILES_DIR": str((project_dir / "profiles").resolve()),
        **os.environ,
        "DBT_TARGET": "local",
        "CLAIMS_FRAUD_RAW_DIR": str((folder / "raw").resolve()),
        "CLAIMS_FRAUD_DUCKDB_PATH": str((folder / "claims_fraud.duckdb").resolve()),
        "DBT_TARGET_PATH": str((folder / "target").resolve()),
        "DBT_LOG_PATH": str((folder / "logs").resolve()),
    }
    command = [str(Path(sys.executable).parent / "dbt"), *arguments]
    done = subprocess.run(command, cwd=project_dir, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        shown = " ".join(arguments[:3])
        raise RuntimeError(
            f"dbt {shown} failed for the population of seed {seed} "
            f"(exit {done.returncode}); its log: {folder / 'logs' / 'dbt.log'}"
        )


EVALUATION_BATCH = "evaluation"


def build_member_tours(
    seed: int, folder: Path, project_dir: Path, flags: pd.DataFrame
) -> pd.DataFrame:
    """The population's siu_member_tours for the kept model's ``flags`` of its window: the
    flags are written as its fraud_scores (one batch, ``evaluation``), then dbt builds the
    thresholds seed and siu_member_tours, the SQL that follows scoring in make run."""
    import duckdb

    from claims_fraud.warehouse.connections import DuckDBWarehouse, quote_identifier

    warehouse = DuckDBWarehouse(folder / "claims_fraud.duckdb")
    scores = flags.assign(batch_id=EVALUATION_BATCH)
    with duckdb.connect(str(warehouse.path)) as con:  # a rerun's scores replace the last ones
        target = quote_identifier(warehouse.default_schema, "fraud_scores")
        con.execute(f"drop table if exists {target}")
    warehouse.append(
        "fraud_scores", scores[["batch_id", "claim_id", "is_flagged", "fraud_probability"]]
    )
    tours = "build --select monitoring_thresholds siu_member_tours"
    kinds = "--resource-type seed --resource-type model"
    _dbt([*tours.split(), *kinds.split(), "--quiet"], seed, folder, project_dir)
    return warehouse.read("siu_member_tours")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from claims_fraud.ml.population_report import format_cases, format_report
    from claims_fraud.ml.populations import (
        Population,
        case_recall,
        evaluate_populations,
        own_gaps,
    )
    from claims_fraud.warehouse.connections import DuckDBWarehouse

    seeds = [args.train_seed, *args.eval_seeds]
    if len(set(seeds)) != len(seeds):
        return fail(COMMAND, f"the seeds must differ: training {args.train_seed}, "
                    f"held out {args.eval_seeds}")  # fmt: skip
    if not (args.project_dir / "dbt_project.yml").exists():
        return fail(COMMAND, f"no dbt_project.yml in {args.project_dir}: run it from the "
                    "repository root or pass --project-dir")  # fmt: skip
    populations = []
    for seed in seeds:
        print(f"population of seed {seed}: generating {args.lines:,} lines, building features")
        try:
            raw, database = build_population_features(
                seed, args.lines, args.work_dir / f"seed-{seed}", args.project_dir
            )
        except (RuntimeError, ValueError) as exc:
            return fail(COMMAND, exc, 1)
        populations.append(
            Population(
                seed=seed,
                features=DuckDBWarehouse(database).read("fct_claim_features"),
                investigations=pd.read_parquet(raw / "siu_investigation.parquet"),
                ground_truth=pd.read_parquet(raw / "fraud_ground_truth.parquet"),
            )
        )
    report = evaluate_populations(populations[0], populations[1:])
    print(format_report(report))
    cases = []
    for population in populations:
        flags = report.flags[report.flags["seed"] == population.seed]
        try:
            tours = build_member_tours(
                population.seed, args.work_dir / f"seed-{population.seed}", args.project_dir, flags
            )
        except RuntimeError as exc:
            return fail(COMMAND, exc, 1)
        cases.append(
            {
                "seed": population.seed,
                **case_recall(flags, tours["claim_id"], population.ground_truth),
            }
        )
    print(format_cases(cases))
    out = args.out or args.work_dir / "report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "lines": args.lines,
        "train_seed": args.train_seed,
        "eval_seeds": args.eval_seeds,
        "model": report.flavour,
        "window": [str(report.window_start), str(report.window_end)],
        "quality": report.quality.to_dict(orient="records"),
        "importance": report.importance.round(6).to_dict(),
        "ring_trace": report.trace.to_dict(orient="records"),
        "own_gaps": own_gaps(report.quality).reset_index(names="seed").to_dict(orient="records"),
        "transfer": report.transfer.to_dict(orient="records"),
        "ring_cases": cases,
    }
    out.write_text(json.dumps(payload, indent=2, default=str))
    print(f"written to {out}")
    return EXIT_OK
