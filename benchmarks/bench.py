"""`make bench`: the whole pipeline (generate, features, train, promote, score, monitor) at
given sizes, each stage's time and peak memory.

Each step runs in its own process; its peak resident memory comes from wait4's rusage, so
the figure is that process's own (dbt's includes the embedded DuckDB). Not part of `make test`:
budgets are checked here and printed, never asserted in timed tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# One builder of dbt's environment for the test suites and the benchmarks: the tests' helper
# (python_jobs/tests/dbt_env.py, outside the wheel like this folder).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python_jobs" / "tests"))
from dbt_env import dbt_env

# Budgets from the foundation issue (seconds, GiB), keyed by step and line count.
BUDGETS: dict[tuple[str, int], tuple[float | None, float | None]] = {
    ("generate", 10_000_000): (120.0, None),
    ("dbt build", 1_000_000): (60.0, None),
    ("dbt build", 10_000_000): (600.0, 8.0),
    ("train candidates", 1_000_000): (300.0, None),
    # issue 12: scoring a 1M-claim batch and explaining its flagged claims (top 3 TreeSHAP)
    ("score+explain", 1_000_000): (90.0, None),
    # issue 13: three populations (generate + features build each), train on one, judge on all
    ("evaluate populations", 200_000): (300.0, None),
    # issue 14: the whole pipeline at 10M lines completes under 8 GB, every stage
    ("dbt train", 10_000_000): (None, 8.0),
    ("dbt score", 10_000_000): (None, 8.0),
    ("dbt monitor", 10_000_000): (None, 8.0),
}
# `dbt build --selector monitor` exits 1 when a status test reports a verdict at error (drift,
# disparate impact): the job ran; only a node that could not run (status "error") fails it.
VERDICT_EXIT = 1


SKIPPED = -1


@dataclass(frozen=True)
class Measurement:
    """One timed step."""

    step: str
    lines: int
    seconds: float
    peak_rss_gib: float
    exit_code: int

    def verdict(self) -> str:
        seconds_budget, memory_budget = BUDGETS.get((self.step, self.lines), (None, None))
        if self.exit_code == SKIPPED:
            return "skipped: no @champion (the promotion gate rejected the challenger)"
        if self.exit_code != 0:
            return "FAILED"
        if seconds_budget is None and memory_budget is None:
            return "-"
        within = (seconds_budget is None or self.seconds <= seconds_budget) and (
            memory_budget is None or self.peak_rss_gib <= memory_budget
        )
        limits = []
        if seconds_budget is not None:
            limits.append(f"<{seconds_budget:.0f}s")
        if memory_budget is not None:
            limits.append(f"<{memory_budget:.0f}GiB")
        return ("ok " if within else "OVER ") + " ".join(limits)


# A child's ru_maxrss counts the pages it shared with this process before its exec (Linux
# keeps the old address space's high-water mark), so a benchmark holding a few GiB of frames
# inflated every figure by that much. The command runs as the child of this small Python
# process instead, which writes that child's peak RSS (KiB) to a file.
_PEAK_RSS_WRAPPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def measure(
    step: str, lines: int, command: list[str], env: dict[str, str], cwd: Path
) -> Measurement:
    """Run one command to completion; wall time and the command's own peak RSS."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak_rss_kib"
        wrapped = [sys.executable, "-c", _PEAK_RSS_WRAPPER, str(peak_file), *command]
        started = time.perf_counter()
        returncode = subprocess.run(wrapped, env=env, cwd=cwd, check=False).returncode  # noqa: S603
        seconds = time.perf_counter() - started
        peak_kib = int(peak_file.read_text()) if peak_file.exists() else 0
    return Measurement(step, lines, seconds, peak_kib / 1024 / 1024, returncode)


def bench_size(
    lines: int, work_dir: Path, project_dir: Path, seed: int, ml: bool
) -> list[Measurement]:
    """Generate `lines` claim lines, dbt build everything on a fresh DuckDB file; with `ml`,
    also train, promote and score through dbt, and time the two ML budgets at 1M rows."""
    size_dir = work_dir / f"{lines}"
    shutil.rmtree(size_dir, ignore_errors=True)
    raw_dir = size_dir / "raw"
    env = dbt_env(
        size_dir,
        raw_dir=raw_dir,
        duckdb_path=size_dir / "bench.duckdb",
        mlflow_dir=size_dir / "mlflow",
        memory_limit=None,  # the profile's, as `make run`
    )
    bin_dir = Path(sys.executable).parent
    generate = [
        str(bin_dir / "claims-fraud"),
        "generate",
        "--lines",
        str(lines),
        "--seed",
        str(seed),
        "--out",
        str(raw_dir),
        "--no-progress",
    ]
    build = [str(bin_dir / "dbt"), "build", "--selector", "features", "--quiet"]
    rerun = [str(bin_dir / "dbt"), "run", "--select", "fct_claim_features", "--quiet"]
    results = [measure("generate", lines, generate, env, project_dir)]
    results.append(measure("dbt build", lines, build, env, project_dir))
    results.append(measure("incremental rerun", lines, rerun, env, project_dir))
    if ml:
        results.extend(bench_ml(lines, size_dir, env, project_dir, bin_dir))
    shutil.rmtree(size_dir, ignore_errors=True)
    return results


def bench_ml(
    lines: int, size_dir: Path, env: dict[str, str], project_dir: Path, bin_dir: Path
) -> list[Measurement]:
    """Train, promote, score and monitor through dbt on this dataset (the pipeline's
    commands); at 1M lines also the 1M-row ML budgets (bench_scale)."""
    dbt = str(bin_dir / "dbt")
    db, mlflow_dir = env["CLAIMS_FRAUD_DUCKDB_PATH"], env["CLAIMS_FRAUD_MLFLOW_DIR"]
    cli = str(bin_dir / "claims-fraud")
    results = [
        measure(
            "dbt train", lines, [dbt, "build", "--selector", "train", "--quiet"], env, project_dir
        ),
        measure(
            "promote",
            lines,
            [cli, "promote", "--duckdb", db, "--mlflow-dir", mlflow_dir],
            env,
            project_dir,
        ),
    ]
    has_champion = subprocess.run(  # noqa: S603 - our own CLI
        [cli, "has-champion", "--mlflow-dir", mlflow_dir], env=env, cwd=project_dir, check=False
    )
    if has_champion.returncode == 0:
        score = [dbt, "build", "--selector", "score", "--exclude-resource-type", "unit_test"]
        results.append(measure("dbt score", lines, [*score, "--quiet"], env, project_dir))
        monitor = [dbt, "build", "--selector", "monitor", "--exclude-resource-type", "unit_test"]
        monitored = measure("dbt monitor", lines, [*monitor, "--quiet"], env, project_dir)
        results.append(_verdicts_are_a_run(monitored, Path(env["DBT_TARGET_PATH"])))
    else:
        results += [
            Measurement(step, lines, 0.0, 0.0, SKIPPED) for step in ("dbt score", "dbt monitor")
        ]
    if lines != 1_000_000:
        return results
    python = str(bin_dir / "python")
    for step, label in (("train", "train candidates"), ("score", "score+explain")):
        command = [
            python,
            "-m",
            "benchmarks.bench_scale",
            step,
            "--duckdb",
            db,
            "--mlflow-dir",
            mlflow_dir,
            "--rows",
            "1000000",
            "--out",
            str(size_dir / f"{step}.json"),
        ]
        results.append(measure(label, 1_000_000, command, env, project_dir))
    return results


def _verdicts_are_a_run(result: Measurement, target_path: Path) -> Measurement:
    """A monitor build that exited VERDICT_EXIT because status tests failed (verdicts on the
    data) ran; one whose nodes errored did not."""
    if result.exit_code != VERDICT_EXIT:
        return result
    run = json.loads((target_path / "run_results.json").read_text())
    errored = [r["unique_id"] for r in run["results"] if r["status"] == "error"]
    return (
        result
        if errored
        else Measurement(result.step, result.lines, result.seconds, result.peak_rss_gib, 0)
    )


def bench_populations(lines: int, work_dir: Path, project_dir: Path) -> Measurement:
    """`claims-fraud evaluate-populations` end to end (its report is printed and kept in
    WORK_DIR/populations/report.json): quality on populations the model never saw."""
    folder = work_dir / "populations"
    shutil.rmtree(folder, ignore_errors=True)
    env = dbt_env(folder, memory_limit=None)
    command = [
        str(Path(sys.executable).parent / "claims-fraud"),
        "evaluate-populations",
        "--lines",
        str(lines),
        "--work-dir",
        str(folder),
    ]
    return measure("evaluate populations", lines, command, env, project_dir)


def format_table(results: list[Measurement]) -> str:
    header = f"{'step':<18} {'lines':>12} {'seconds':>9} {'peak GiB':>9}  budget"
    rows = [header, "-" * len(header)]
    for result in results:
        rows.append(
            f"{result.step:<18} {result.lines:>12,} {result.seconds:>9.1f} "
            f"{result.peak_rss_gib:>9.2f}  {result.verdict()}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, default=Path(".local/bench"))
    parser.add_argument("--results", type=Path, default=Path("bench-results/latest.json"))
    parser.add_argument(
        "--no-ml", action="store_true", help="skip training, scoring and monitoring"
    )
    parser.add_argument(
        "--populations",
        type=int,
        default=200_000,
        help="lines per population of the cross-population evaluation (0: skip it)",
    )
    args = parser.parse_args(argv)

    project_dir = Path.cwd()
    results: list[Measurement] = []
    for lines in args.lines:
        results.extend(
            bench_size(lines, args.work_dir.resolve(), project_dir, args.seed, not args.no_ml)
        )
        print(format_table(results), flush=True)
    if args.populations:
        results.append(bench_populations(args.populations, args.work_dir.resolve(), project_dir))
        print(format_table(results), flush=True)

    args.results.parent.mkdir(parents=True, exist_ok=True)
    payload = {"cpu_count": os.cpu_count(), "results": [asdict(result) for result in results]}
    args.results.write_text(json.dumps(payload, indent=2))
    print(f"\nwritten to {args.results}")
    return 0 if all(result.exit_code in (0, SKIPPED) for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
