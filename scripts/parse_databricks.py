"""`dbt parse` of the project for every Databricks target, offline, in one process.

    uv run --frozen python scripts/parse_databricks.py [TARGET ...] [--target-root DIR]

What `make parse-databricks` (and so `make checks` / `make test`) runs; default targets: dev,
staging, prod. Each target is parsed from scratch (--no-partial-parse) with dummy credentials
into its own folder, DIR/parse-TARGET (default DIR: target/), so a model config, a var or a
macro that only breaks on Databricks fails here and not in a deployed job. dbt writes into
DIR/parse-TARGET.partial, renamed into place once the parse succeeded: a reader (test_bundle.py
reads the prod manifest) never sees a half-written one. One process for the three parses:
importing dbt and the Databricks adapter costs about 6 s of CPU, a third of each parse.

Exit 0 when every target parsed; 1 naming each target that did not, with dbt's error; 2 for
an unknown target.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("dev", "staging", "prod")
# Offline: dbt parse never connects, but the profile must render.
DUMMY_CREDENTIALS = {
    "DATABRICKS_HOST": "dummy.cloud.databricks.com",
    "DATABRICKS_HTTP_PATH": "/sql/1.0/warehouses/dummy",
    "DATABRICKS_TOKEN": "dummy-token",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


def parse(target: str, target_root: Path) -> bool:
    """Parse the project for one target into ``target_root/parse-TARGET``; True on success."""
    from dbt.cli.main import dbtRunner

    final = target_root / f"parse-{target}"
    partial = target_root / f"parse-{target}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    print(f"dbt parse --target {target}", flush=True)
    result = dbtRunner().invoke(
        [
            "parse",
            "--target",
            target,
            "--target-path",
            str(partial),
            "--no-partial-parse",
            "--quiet",
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(ROOT / "profiles"),
        ]
    )
    if not result.success:
        print(f"dbt parse --target {target} FAILED: {result.exception or 'see above'}")
        return False
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=list(TARGETS), metavar="TARGET")
    parser.add_argument("--target-root", type=Path, default=ROOT / "target")
    args = parser.parse_args(argv)
    unknown = [target for target in args.targets if target not in TARGETS]
    if unknown:
        print(f"parse_databricks: unknown target {unknown}; the Databricks targets: {TARGETS}")
        return 2
    os.environ.update(DUMMY_CREDENTIALS)
    args.target_root.mkdir(parents=True, exist_ok=True)
    failed = [target for target in args.targets if not parse(target, args.target_root.resolve())]
    if failed:
        print(
            f"parse_databricks: {', '.join(failed)} did not parse; reproduce one with "
            f"`uv run --frozen python scripts/parse_databricks.py {failed[0]}`"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
