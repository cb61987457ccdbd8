"""`python -m benchmarks.bench_monitor`: time the monitoring SQL on a 1M-claim batch, and its
PSI next to Evidently's on the same data.

1. **Monitor a 1M-claim batch** (budget: the monitoring models under 5 s in DuckDB). A fresh
   DuckDB file under ``.local/bench/monitor/`` gets the tables dbt expects, built as
   tests/integration/test_monitoring_sql.py builds them: ``fct_claim_features`` (every model
   input of ``load_feature_spec()``, typed as the features YAML says: integer counts with ties,
   lognormal decimal amounts, shares with a point mass at 0, ~3% nulls, booleans, categorical
   levels with a rare tail; plus the 3 protected attributes), the reference profile and score
   quantile grid of a separate 1M-claim training frame (bins and grid by
   ``claims_fraud.ml.profile``, as training does; counts by the SQL model ml_reference_profile,
   with the reference claims in fct_claim_features for that run only) and ``fraud_scores``.
   ``dbt seed`` (2 seeds) and ``dbt run --selector monitor`` (no vars: every model input, as
   ``make monitor``) first monitor a 20k-claim warm-up batch. The
   1M-claim batch is then appended under a new batch_id and the same command is timed: an
   **incremental** run that processes exactly that batch (and the empty default batch
   ``all_claims`` that ``mon_batches`` always lists). Repeats rescore the batch (a newer
   scored_at), which the models re-monitor in full; the best repeat is reported. Figures:
   the sum of the monitoring nodes' ``execution_time`` (run_results.json; the in-warehouse
   time and the budget figure) and per model; the span from the first node's start to the last
   node's end (dbt runs 2 nodes at once, so the sum can exceed it); the wall time of the dbt
   process (start-up and parsing included), its CPU seconds (user + sys, all threads: less
   sensitive to other load than wall time) and peak RSS (wait4 rusage, DuckDB included).

2. **PSI next to Evidently**: 1M reference and 1M current rows x 10 numeric columns (c1, c4,
   c6, c7 drifted, c9 nudged). Evidently runs in its own venv (``.local/bench/evidently-venv``,
   made with uv; never a project dependency) on Parquet copies of the frames: the best of 3
   ``Report([DataDriftPreset(method="psi")]).run(current, reference)`` calls, on ``Dataset``
   objects built beforehand (``method`` sets Evidently's all_features_stattest). The project:
   (i) the reference profile of the reference frame (done once per model version: bins at
   training, ``reference_bins``, counts by ml_reference_profile's SQL) and (ii) the
   ``execution_time`` of mon_feature_psi_bins + mon_feature_psi in ``dbt run --full-refresh``
   (best of 2); dbt's wall and CPU time are shown apart. Two ratios:
   per monitoring run (Evidently's run against (ii): what each batch costs, the target
   figure) and counting the reference profiling too (against (i) + (ii)). The
   per-column PSIs are printed side by side with the verdict PSI >= 0.1 (Evidently's default
   threshold, the project's psi_warn). Evidently bins on Sturges equal-width edges of both
   samples pooled and drops nulls; the project on reference deciles with a null bin: values
   differ, and equal-width bins hardly see a shift of a heavy-tailed column (c6, lognormal).

Budgets are printed as ok / OVER, never asserted. The load average is recorded: on a shared
machine other work inflates every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml

from benchmarks.bench import Measurement, dbt_env, measure
from claims_fraud.features.reference import find_project_root
from claims_fraud.features.spec import FEATURES_MODEL, FEATURES_YAML, FeatureSpec, load_feature_spec
from claims_fraud.ml.profile import reference_bins, score_quantile_grid

MONITOR_BUDGET_S = 5.0
MEMORY_LIMIT = os.environ.get("CLAIMS_FRAUD_MEMORY_LIMIT", "6GB")
SPEEDUP_TARGET = 20.0
PSI_DRIFT = 0.1
MODEL = ("claims_fraud_classifier", "1", "bench-run")  # model_name, model_version, run_id
BATCH = "bench_1m"
SEEDS = ("monitoring_thresholds", "monitoring_reference_groups")
PSI_MODELS = ("mon_feature_psi_bins", "mon_feature_psi")
# evidently 0.7 imports pandas internals that pandas 3 removed
EVIDENTLY_REQUIREMENTS = ("evidently>=0.7,<0.8", "pandas<3", "numpy", "pyarrow")
EVIDENTLY_SCRIPT = """
import json, sys, time
import evidently, pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

reference, current = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
started = time.perf_counter()
definition = DataDefinition(numerical_columns=list(reference.columns))
reference_set = Dataset.from_pandas(reference, data_definition=definition)
current_set = Dataset.from_pandas(current, data_definition=definition)
from_pandas_s = time.perf_counter() - started
runs = []
for _ in range(int(sys.argv[4])):
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset(method="psi")]).run(current_set, reference_set)
    runs.append(time.perf_counter() - started)
psi = {m["config"]["column"]: m["value"] for m in snapshot.dict()["metrics"]
       if m["config"]["type"].endswith("ValueDrift")}
out = {"version": evidently.__version__, "pandas": pd.__version__, "from_pandas_s": from_pandas_s,
       "run_s": runs, "psi": psi}
open(sys.argv[3], "w").write(json.dumps(out))
"""


# --- data ---------------------------------------------------------------------------------------


def _yaml_types() -> dict[str, str]:
    """Column name -> data_type of fct_claim_features, from the features YAML."""
    document = yaml.safe_load((find_project_root() / FEATURES_YAML).read_text())
    model = next(m for m in document["models"] if m["name"] == FEATURES_MODEL)
    return {column["name"]: column.get("data_type", "double") for column in model["columns"]}


def _with_nulls(values: np.ndarray, rng: np.random.Generator, share: float = 0.03) -> np.ndarray:
    values = values.astype("float64")
    values[rng.random(len(values)) < share] = np.nan
    return values


def _numeric(name: str, data_type: str, i: int, n: int, rng: np.random.Generator, drift: float):
    """A numeric feature shaped like its kind: amounts, counts with ties, shares, z-scores."""
    if data_type.startswith("decimal"):  # money: lognormal, cents
        values = np.round(rng.lognormal(5 + 0.2 * (i % 3) + drift, 1.1, n), 2)
    elif data_type in ("bigint", "integer"):  # counts, levels, days: many ties
        values = rng.poisson((1 + 3 * (i % 4)) * (1 + drift), n)
    elif "share" in name or "ratio" in name:  # shares: about half exactly 0
        values = np.where(rng.random(n) < 0.5, 0.0, np.round(rng.beta(2, 5 - drift, n), 4))
    elif "zscore" in name:
        values = rng.normal(drift, 1, n)
    else:  # minutes, units: whole numbers
        values = np.round(rng.gamma(2, 30 * (1 + drift), n))
    return _with_nulls(values, rng)


def _claim_ids(n: int) -> pd.Series:
    return "C" + pd.Series(np.arange(n)).astype(str).str.zfill(9)


def feature_frame(spec: FeatureSpec, n: int, seed: int, drift: float = 0.0) -> pd.DataFrame:
    """fct_claim_features-like frame: claim_id, every model input, the protected attributes."""
    rng = np.random.default_rng(seed)
    types = _yaml_types()
    frame: dict[str, object] = {"claim_id": _claim_ids(n)}
    for i, column in enumerate(spec.numeric):
        frame[column] = _numeric(column, types.get(column, "double"), i, n, rng, drift)
    for i, column in enumerate(spec.boolean):
        values = pd.array(rng.random(n) < 0.02 + 0.1 * i + drift / 10, dtype="boolean")
        values[rng.random(n) < 0.01] = pd.NA
        frame[column] = values
    for column in spec.categorical:
        k = 40 if "specialty" in column else 3  # specialties: a tail under 1% (-> OTHER)
        p = 1 / np.arange(1, k + 1) ** 1.2
        values = rng.choice([f"{column[:4]}_{j:02d}" for j in range(k)], n, p=p / p.sum())
        frame[column] = np.where(rng.random(n) < 0.01, None, values.astype(object))
    frame["gender"] = rng.choice(["female", "male", None], n, p=[0.5, 0.49, 0.01])
    frame["age_group"] = rng.choice(["18-34", "35-49", "50-64", "65+"], n)
    frame["member_region"] = rng.choice(["Midwest", "Northeast", "South", "West"], n)
    return pd.DataFrame(frame)


def scores_frame(claim_ids: pd.Series, batch: str, seed: int) -> pd.DataFrame:
    """fraud_scores rows of one batch scored now (top 5% flagged)."""
    rng = np.random.default_rng(seed)
    probability = rng.beta(2, 8, len(claim_ids))
    model_name, model_version, run_id = MODEL
    return pd.DataFrame(
        {
            "claim_id": claim_ids.to_numpy(),
            "fraud_probability": probability,
            "anomaly_score": rng.gamma(2, 1.5, len(claim_ids)),
            "is_flagged": probability >= np.quantile(probability, 0.95),
            "model_name": model_name,
            "model_version": model_version,
            "batch_id": batch,
            "scored_at": pd.Timestamp.now().floor("s"),
            "run_id": run_id,
            "anomaly_model_version": "1",
        }
    )


def reference_profile_sql(
    env: dict[str, str],
    db: Path,
    reference: pd.DataFrame,
    bins: pd.DataFrame,
    score: np.ndarray | None,
    types: dict[str, str] | None = None,
    dbt_args: tuple[str, ...] = (),
) -> float:
    """The reference counts as production makes them: ml_reference_profile (SQL) over the
    reference claims' inputs and scores, in ml_reference_scores as training logs them; its node
    time in seconds."""
    ids = "R" + pd.Series(np.arange(len(reference))).astype(str).str.zfill(9)
    scores = pd.concat(
        [
            ids.rename("claim_id"),
            pd.Series(score, name="fraud_probability"),
            reference.drop(columns="claim_id", errors="ignore").reset_index(drop=True),
        ],
        axis=1,
    )
    write_table(db, "main_ml", "ml_reference_bins", bins)
    write_table(db, "main_ml", "ml_reference_scores", _with_model(scores), types)
    nodes = dbt(env, "run", "--select", "ml_reference_profile", *dbt_args)[1]
    return nodes["ml_reference_profile"]


def _with_model(table: pd.DataFrame) -> pd.DataFrame:
    for position, name in enumerate(("model_name", "model_version", "run_id")):
        table.insert(position, name, MODEL[position])
    return table


def write_table(db: Path, schema: str, name: str, frame: pd.DataFrame, types=None) -> None:
    """Create schema.name from the frame, or append to it; ``types`` casts columns."""
    types = types or {}
    columns = ", ".join(f"cast({c} as {types[c]}) as {c}" if c in types else c for c in frame)
    with duckdb.connect(str(db)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.register("frame", frame)
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, name],
        ).fetchone()[0]
        verb = f"insert into {schema}.{name}" if exists else f"create table {schema}.{name} as"
        con.execute(f"{verb} select {columns} from frame")  # noqa: S608 - our own names


# --- dbt ----------------------------------------------------------------------------------------


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def dbt(env: dict[str, str], *args: str) -> tuple[Measurement, dict[str, float], float, float]:
    """Run dbt once (quiet): its Measurement, each monitoring node's execution_time, the span
    from the first such node's start to the last one's end (2 dbt threads: nodes overlap) and
    the process's CPU seconds (user + sys, all threads; less sensitive to load than wall)."""
    command = [str(Path(sys.executable).with_name("dbt")), *args, "--quiet"]
    cpu = _children_cpu_s()
    result = measure(f"dbt {args[0]}", 0, command, env, find_project_root())
    cpu = _children_cpu_s() - cpu
    if result.exit_code != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed (exit {result.exit_code})")
    run = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    nodes = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in run["results"]}
    stamps = [
        datetime.fromisoformat(step[key])
        for r in run["results"]
        if r["unique_id"].split(".")[-1].startswith("mon_")
        for step in r["timing"]
        for key in ("started_at", "completed_at")
    ]
    span = (max(stamps) - min(stamps)).total_seconds() if stamps else 0.0
    # the monitoring nodes, and the reference counts when reference_profile_sql runs them
    timed = {n: s for n, s in nodes.items() if n.startswith("mon_") or n == "ml_reference_profile"}
    return result, timed, span, cpu


# --- benchmark 1 --------------------------------------------------------------------------------


def bench_monitor(claims: int, work: Path, seed: int, repeats: int) -> dict:
    """Tables, a warm-up run, then timed incremental runs over the 1M-claim batch: first as a
    new batch_id, then after rescoring it (a newer scored_at: the models re-monitor it)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db, spec = work / "monitor.duckdb", load_feature_spec()
    started = time.perf_counter()
    features = feature_frame(spec, claims, seed, drift=0.05)
    reference = feature_frame(spec, claims, seed + 1)
    reference_score = np.random.default_rng(seed + 2).beta(2, 8, claims)
    bins = _with_model(reference_bins(reference, spec, reference_score))
    profile_s = time.perf_counter() - started
    grid = _with_model(score_quantile_grid(reference_score))
    warmup = features["claim_id"].sample(min(claims, 20_000), random_state=seed)
    write_table(db, "main_features", FEATURES_MODEL, features, _yaml_types())
    write_table(db, "main_ml", "ml_reference_score_quantiles", grid)
    write_table(db, "main_ml", "fraud_scores", scores_frame(warmup, "bench_warmup", seed))
    env = dbt_env(work, duckdb_path=db, memory_limit=MEMORY_LIMIT)
    dbt(env, "seed", "--select", *SEEDS)
    profile_s += reference_profile_sql(env, db, reference, bins, reference_score, _yaml_types())
    warm = dbt(env, "run", "--selector", "monitor")[0]
    write_table(db, "main_ml", "fraud_scores", scores_frame(features["claim_id"], BATCH, seed))
    runs = []
    for repeat in range(repeats):
        if repeat:
            with duckdb.connect(str(db)) as con:
                con.execute(
                    "update main_ml.fraud_scores set scored_at = scored_at + interval 1 hour "
                    "where batch_id = ?",
                    [BATCH],
                )
        timed, nodes, span, cpu = dbt(env, "run", "--selector", "monitor")
        runs.append({"in_warehouse_s": sum(nodes.values()), "span_s": span, "nodes_s": nodes})
        runs[-1].update(
            dbt_wall_s=timed.seconds, dbt_cpu_s=cpu, dbt_peak_rss_gib=timed.peak_rss_gib
        )
    with duckdb.connect(str(db), read_only=True) as con:
        monitored = con.execute(
            "select batch_id, n, status from main_monitoring.mon_score_distribution order by 1"
        ).fetchall()
    return {
        "claims": claims,
        "model_inputs": len(spec.inputs),
        "data_and_profile_s": profile_s,
        "warmup_wall_s": warm.seconds,
        "memory_limit": env["CLAIMS_FRAUD_MEMORY_LIMIT"],
        "monitored_batches": monitored,
        "runs": runs,
        "best": min(runs, key=lambda run: run["in_warehouse_s"]),
    }


# --- benchmark 2 --------------------------------------------------------------------------------


def psi_frames(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """Reference and current frames of 10 numeric columns (normal, Poisson, lognormal, beta)."""
    rng = np.random.default_rng(seed)
    shifts = {"c1": 0.5, "c4": 0.5, "c6": 0.8, "c7": 1.0, "c9": 0.03}

    def column(i: int, shift: float) -> np.ndarray:
        if i % 4 == 0:
            return _with_nulls(rng.normal(shift, 1, n), rng)
        if i % 4 == 1:
            return _with_nulls(rng.poisson(3 * (1 + shift), n), rng)
        if i % 4 == 2:
            return _with_nulls(np.round(rng.lognormal(3 + shift, 1, n), 2), rng)
        return _with_nulls(rng.beta(2 + shift, 5 - shift, n), rng)

    reference = pd.DataFrame({f"c{i}": column(i, 0.0) for i in range(10)})
    current = pd.DataFrame({f"c{i}": column(i, shifts.get(f"c{i}", 0.0)) for i in range(10)})
    return reference, current, shifts


def evidently_python(venv: Path) -> Path:
    """The venv's interpreter; the venv is made with uv and Evidently installed when missing."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import evidently.presets, pyarrow"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:  # noqa: S603
        return python
    uv = [shutil.which("uv")] if shutil.which("uv") else [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "--python", "3.11", str(venv)], check=True)  # noqa: S603
    install = [*uv, "pip", "install", "--python", str(python), *EVIDENTLY_REQUIREMENTS]
    subprocess.run(install, check=True)  # noqa: S603
    return python


def bench_psi(n: int, work: Path, venv: Path, seed: int, evidently: bool) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    reference, current, shifts = psi_frames(n, seed)
    columns = list(reference.columns)
    spec = FeatureSpec(numeric=tuple(columns), boolean=(), categorical=(), protected=())
    started = time.perf_counter()
    bins = _with_model(reference_bins(reference, spec, None))
    profile_s = time.perf_counter() - started
    db = work / "psi.duckdb"
    env = dbt_env(work, duckdb_path=db, memory_limit=MEMORY_LIMIT)
    features = pd.concat([_claim_ids(n).rename("claim_id"), current], axis=1)
    write_table(db, "main_features", FEATURES_MODEL, features)
    write_table(db, "main_ml", "fraud_scores", scores_frame(features["claim_id"], BATCH, seed))
    dbt(env, "seed", "--select", *SEEDS)
    wanted = ", ".join(f"{column}: numeric" for column in columns)
    only = ("--vars", f"{{monitored_features: {{{wanted}}}, protected_attributes: []}}")
    profile_s += reference_profile_sql(env, db, reference, bins, None, dbt_args=only)
    run = ["run", "--full-refresh", "--select", "mon_batches", *PSI_MODELS, *only]
    tries = [dbt(env, *run) for _ in range(2)]
    timed, nodes, _, cpu = min(tries, key=lambda t: sum(t[1][m] for m in PSI_MODELS))
    sql_s = sum(nodes[m] for m in PSI_MODELS)
    with duckdb.connect(str(db), read_only=True) as con:
        sql = "select feature_name, psi from main_monitoring.mon_feature_psi where batch_id = ?"
        project = dict(con.execute(sql, [BATCH]).fetchall())
    out = {
        "rows": n,
        "shifts": shifts,
        "reference_profile_s": profile_s,
        "psi_nodes_s": {m: nodes[m] for m in PSI_MODELS},
        "psi_sql_s": sql_s,
        "project_s": profile_s + sql_s,
        "dbt_wall_s": timed.seconds,
        "dbt_cpu_s": cpu,
        "project_psi": {column: project[column] for column in columns},
    }
    if evidently:
        reference.to_parquet(work / "reference.parquet")
        current.to_parquet(work / "current.parquet")
        (work / "evidently_psi.py").write_text(EVIDENTLY_SCRIPT)
        command = [str(evidently_python(venv)), "evidently_psi.py"]
        command += ["reference.parquet", "current.parquet", "evidently.json", "3"]
        ran = measure("evidently", n, command, dict(os.environ), work)
        if ran.exit_code != 0:
            out["evidently_error"] = f"exit {ran.exit_code} after {ran.seconds:.0f} s"
            return out
        found = json.loads((work / "evidently.json").read_text())
        best = min(found["run_s"])
        out["evidently"] = {**found, "best_run_s": best, "peak_rss_gib": ran.peak_rss_gib}
        # Per monitoring run the reference profile already exists (it is built once per model
        # version at training); Evidently bins the reference on every run.
        out["speedup_per_run"] = best / sum(out["psi_nodes_s"].values())
        out["speedup"] = best / out["project_s"]
        out["speedup_with_dbt_wall"] = best / (profile_s + timed.seconds)
    return out


# --- report -------------------------------------------------------------------------------------


def report(monitor: dict | None, psi: dict | None) -> str:
    rows: list[tuple[str, float | str, str]] = []
    if monitor:
        best, n = monitor["best"], f"{monitor['claims']:,} claims"
        ok = best["in_warehouse_s"] < MONITOR_BUDGET_S
        budget = f"{'ok' if ok else 'OVER'} < {MONITOR_BUDGET_S:.0f} s"
        runs = ", ".join(f"{run['in_warehouse_s']:.2f}" for run in monitor["runs"])
        rows.append(
            (f"monitor {n}: nodes, sum (best; runs: {runs})", best["in_warehouse_s"], budget)
        )
        for name, seconds in sorted(best["nodes_s"].items(), key=lambda kv: -kv[1]):
            rows.append((f"- {name}", seconds, ""))
        rows.append((f"monitor {n}: first node start to last node end", best["span_s"], ""))
        rows.append((f"monitor {n}: dbt run wall time", best["dbt_wall_s"], ""))
        rows.append((f"monitor {n}: dbt process CPU (user + sys)", best["dbt_cpu_s"], ""))
        rows.append((f"monitor {n}: dbt peak RSS (GiB)", best["dbt_peak_rss_gib"], ""))
    if psi:
        n = f"{psi['rows']:,} x 10"
        rows.append((f"PSI {n}: project reference_profile", psi["reference_profile_s"], ""))
        for name, seconds in psi["psi_nodes_s"].items():
            rows.append((f"PSI {n}: project {name} (best of 2)", seconds, ""))
        rows.append((f"PSI {n}: project total (profile + nodes)", psi["project_s"], ""))
        rows.append((f"PSI {n}: dbt run wall time", psi["dbt_wall_s"], ""))
        rows.append((f"PSI {n}: dbt process CPU (user + sys)", psi["dbt_cpu_s"], ""))
        if "evidently" in psi:
            found = psi["evidently"]
            rows.append(
                (f"PSI {n}: Evidently {found['version']} run (best of 3)", found["best_run_s"], "")
            )
            rows.append((f"PSI {n}: Evidently peak RSS (GiB)", found["peak_rss_gib"], ""))
            ok = psi["speedup_per_run"] >= SPEEDUP_TARGET
            target = f"{'ok' if ok else 'OVER'} >= {SPEEDUP_TARGET:.0f}x"
            rows.append(
                (
                    "speed-up per monitoring run: Evidently / project nodes (x)",
                    psi["speedup_per_run"],
                    target,
                )
            )
            rows.append(("speed-up counting the reference profiling too (x)", psi["speedup"], ""))
            rows.append(("speed-up counting dbt wall time (x)", psi["speedup_with_dbt_wall"], ""))
        elif "evidently_error" in psi:
            rows.append(("Evidently", psi["evidently_error"], "FAILED"))
    lines = ["| measure | seconds | budget |", "|---|---:|---|"]
    for label, value, note in rows:
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"| {label} | {shown} | {note} |")
    return "\n".join(lines)


def psi_table(psi: dict) -> str:
    theirs = psi.get("evidently", {}).get("psi", {})
    lines = ["| column | shift | project PSI | Evidently PSI | same verdict |", "|---" * 5 + "|"]
    for column, ours in psi["project_psi"].items():
        other = theirs.get(column, float("nan"))
        same = "yes" if (ours >= PSI_DRIFT) == (other >= PSI_DRIFT) else "NO"
        same = same if column in theirs else "-"
        shift = psi["shifts"].get(column, 0)
        lines.append(f"| {column} | {shift} | {ours:.4f} | {other:.4f} | {same} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--evidently", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--only", choices=("monitor", "psi"), help="run one benchmark only")
    parser.add_argument("--repeats", type=int, default=3, help="timed monitoring runs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-dir", type=Path, default=Path(".local/bench/monitor"))
    parser.add_argument("--venv", type=Path, default=Path(".local/bench/evidently-venv"))
    parser.add_argument("--out", type=Path, default=Path("bench-results/monitor.json"))
    args = parser.parse_args(argv)
    work, load_before = args.work_dir.resolve(), os.getloadavg()
    monitor = psi = None
    if args.only in (None, "monitor"):
        monitor = bench_monitor(args.claims, work / "batch", args.seed, args.repeats)
    if args.only in (None, "psi"):
        psi = bench_psi(args.claims, work / "psi", args.venv.resolve(), args.seed, args.evidently)
        print(psi_table(psi), end="\n\n")
    context = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()}
    print(report(monitor, psi))
    print(
        f"\n{context['cpus']} CPUs; 1-min load average {load_before[0]:.2f} before, "
        f"{context['load_after'][0]:.2f} after"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"context": context, "monitor": monitor, "psi": psi}, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
