"""`claims-fraud generate`: a synthetic, Tuva-shaped claims dataset (Parquet + _manifest.json)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from claims_fraud.cli.common import EXIT_OK, EXIT_USAGE, fail
from claims_fraud.synthetic import demo_folder
from claims_fraud.synthetic.config import (
    AGE_GROUPS,
    BIAS_ATTRIBUTES,
    SCHEMES,
    FraudRates,
    GeneratorConfig,
)


class TqdmProgress:
    """Adapts a tqdm bar to the generator's progress protocol (expect / advance)."""

    def __init__(self, bar) -> None:
        self._bar = bar

    def expect(self, steps: int) -> None:
        self._bar.total = (self._bar.total or 0) + steps
        self._bar.refresh()

    def advance(self, label: str) -> None:
        self._bar.set_postfix_str(label, refresh=False)
        self._bar.update(1)


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from exc


def _fraud_rate(value: str) -> tuple[str, float]:
    name, _, rate = value.partition("=")
    if name not in SCHEMES or not rate:
        raise argparse.ArgumentTypeError(f"expected SCHEME=RATE with SCHEME in {SCHEMES}")
    try:
        return name, float(rate)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {rate!r}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = GeneratorConfig(n_lines=1_000)
    parser.add_argument("--lines", type=int, required=True, help="claim lines to generate")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help=(
            "output folder: new, empty, or one the generator wrote before (a folder with other "
            f"files is refused, marker {demo_folder.MARKER_FILE})"
        ),
    )
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help=(
            "do nothing (exit 0) when the folder already holds demo claims, or holds your own "
            "data: what `make data` runs"
        ),
    )
    parser.add_argument(
        "--start-date", type=_iso_date, default=defaults.start_date, help="first service date"
    )
    parser.add_argument(
        "--end-date", type=_iso_date, default=defaults.end_date, help="last service date"
    )
    parser.add_argument(
        "--malformed-rate",
        type=float,
        default=defaults.malformed_rate,
        help="share of lines corrupted, split evenly over the 12 malformed kinds",
    )
    parser.add_argument(
        "--fraud-rate",
        type=_fraud_rate,
        action="append",
        default=[],
        metavar="SCHEME=RATE",
        help=f"override one scheme's share of claims (repeatable); schemes: {', '.join(SCHEMES)}",
    )
    parser.add_argument(
        "--drift-start", type=_iso_date, default=None, help="claims from this date drift"
    )
    parser.add_argument(
        "--drift-strength",
        type=float,
        default=defaults.drift_strength,
        help="size of the shift (charge log-mean +0.3 x strength, telehealth, units)",
    )
    parser.add_argument(
        "--bias-attribute",
        choices=BIAS_ATTRIBUTES,
        default=None,
        help="member attribute whose group gets more fraud and higher charges",
    )
    parser.add_argument(
        "--bias-group",
        default=None,
        help=f"gender value, age group ({', '.join(AGE_GROUPS)}) or census region",
    )
    parser.add_argument(
        "--bias-factor",
        type=float,
        default=defaults.bias_factor,
        help="multiplier of upcoding/unbundling/excessive_units rates in the group",
    )
    parser.add_argument(
        "--seeds-dir",
        type=Path,
        default=None,
        help="reference seeds folder (if not given: seeds/ of the dbt project)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _config(args: argparse.Namespace) -> GeneratorConfig:
    rates = replace(FraudRates(), **dict(args.fraud_rate)) if args.fraud_rate else FraudRates()
    return GeneratorConfig(
        n_lines=args.lines,
        seed=args.seed,
        start_date=args.start_date,
        end_date=args.end_date,
        malformed_rate=args.malformed_rate,
        fraud_rates=rates,
        drift_start=args.drift_start,
        drift_strength=args.drift_strength,
        bias_attribute=args.bias_attribute,
        bias_group=args.bias_group,
        bias_factor=args.bias_factor,
    )


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from claims_fraud.features.reference import load_reference
    from claims_fraud.synthetic.generate import check_config_against_reference, run_generation

    try:
        config = _config(args)
        reference = load_reference(args.seeds_dir)
        check_config_against_reference(config, reference)
    except (ValueError, FileNotFoundError) as exc:
        return fail("generate", exc)
    if args.if_missing and (note := existing_data_note(args.out)):
        print(f"claims-fraud generate: {note}")
        return EXIT_OK
    try:
        demo_folder.require_writable(args.out)
    except demo_folder.FolderNotOwnedError as exc:
        return fail("generate", exc, EXIT_USAGE)
    with tqdm(total=0, disable=args.no_progress, unit="step", desc="generate") as bar:
        out = run_generation(config, args.out, reference, TqdmProgress(bar))
    if not args.no_progress:
        print(f"wrote {config.n_lines:,} claim lines to {out}", file=sys.stderr)
    return EXIT_OK


def existing_data_note(out: Path) -> str | None:
    """What --if-missing says instead of generating, or None when it should generate."""
    found = demo_folder.foreign_files(out)
    if found:
        shown = ", ".join(found[:10]) + (" ..." if len(found) > 10 else "")
        note = f"using your data in {out} ({shown}); no demo data generated there."
        if not demo_folder.has_claims(out):
            note += (
                f" It has no {demo_folder.CLAIMS_TABLE}{demo_folder.RAW_FILE_SUFFIX} yet: dbt stops"
                " with a missing-file error until it does."
            )
        return note
    if demo_folder.has_claims(out):
        return f"demo data already in {out}; delete the folder to generate it again."
    return None
