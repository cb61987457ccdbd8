"""Screenshot the monitoring report for the README: the one `make run` wrote, or one rendered
from made-up sample data.

    uv run --frozen python scripts/report_screenshot.py --report .local/monitoring_report.html
    uv run --frozen python scripts/report_screenshot.py

writes target/monitoring_report_sample.html and docs/images/monitoring_report.png. The
screenshot needs a headless Chromium on PATH (Debian: `apt-get install -y chromium`); it
is not a project dependency. The sample is synthetic: 14 weekly batches, one of them
scored before a reference profile existed, with drift building up in two features, an age
group outside the disparate impact band and a null-rate warning in the latest batch.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from claims_fraud.monitoring.report import THRESHOLDS_TABLE, ReportData, Thresholds, render_report

ROOT = Path(__file__).resolve().parents[1]
HTML_PATH = ROOT / "target" / "monitoring_report_sample.html"
PNG_PATH = ROOT / "docs" / "images" / "monitoring_report.png"
THRESHOLDS_SEED = ROOT / "seeds" / f"{THRESHOLDS_TABLE}.csv"
FEATURES = {
    "fraud_probability": "score",
    "allowed_to_charge_ratio": "numeric",
    "claim_type": "categorical",
    "has_duplicate_service": "categorical",
    "line_count": "numeric",
    "max_charge_peer_zscore": "numeric",
    "member_claims_prior_30d": "numeric",
    "provider_high_em_share": "numeric",
    "rendering_specialty": "categorical",
    "total_charge_amount": "numeric",
    "total_paid_amount": "numeric",
}
SCORE_EDGES = [0.004, 0.007, 0.011, 0.016, 0.024, 0.036, 0.058, 0.11, 0.31]


def _batches() -> pd.DataFrame:
    start = datetime(2025, 3, 3, 6, 0, tzinfo=UTC)
    rows = []
    for week in range(14):
        scored_at = start + timedelta(days=7 * week, minutes=17 * week)
        version = "3" if week == 0 else "4"
        rows.append((f"batch-{scored_at:%Y-%m-%d}", version, scored_at))
    return pd.DataFrame(rows, columns=["batch_id", "model_version", "scored_at"])


def _feature_psi(batches: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for week, batch in batches.iterrows():
        for name, kind in FEATURES.items():
            psi = float(rng.gamma(2.0, 0.012))
            if name == "total_charge_amount":
                psi += 0.012 * week
            if name == "provider_high_em_share" and week >= 11:
                psi += 0.09 * (week - 10)
            critical = 0.018
            status = (
                "missing_reference"
                if week == 0
                else "error"
                if psi >= 0.25
                else "warn"
                if psi >= 0.10
                else "ok"
            )
            rows.append(
                {
                    **batch.to_dict(),
                    "feature_name": name,
                    "feature_type": kind,
                    "n_bins": 11,
                    "reference_n": 184_210,
                    "current_n": 12_000,
                    "current_null_share": 0.0,
                    "psi": None if week == 0 else psi,
                    "critical_value": None if week == 0 else critical,
                    "status": status,
                    "top_bin_index": 9,
                    "top_bin_kind": "range",
                    "top_bin_lower_bound": 0.62 if name == "provider_high_em_share" else 4_250.0,
                    "top_bin_upper_bound": None,
                    "top_bin_level": None,
                    "top_bin_reference_share": 0.10,
                    "top_bin_current_share": 0.10 + psi / 1.6,
                    "top_bin_contribution": psi * 0.55,
                }
            )
    return pd.DataFrame(rows)


def _psi_bins(batches: pd.DataFrame) -> pd.DataFrame:
    edges = [None, *SCORE_EDGES, None]
    current = [0.085, 0.092, 0.097, 0.098, 0.1, 0.099, 0.101, 0.104, 0.109, 0.115, 0.0001]
    rows = []
    for _, batch in batches.iterrows():
        for index in range(11):
            rows.append(
                {
                    **batch.to_dict(),
                    "feature_name": "fraud_probability",
                    "feature_type": "score",
                    "bin_index": index,
                    "bin_kind": "null" if index == 10 else "range",
                    "lower_bound": None if index == 10 else edges[index],
                    "upper_bound": None if index == 10 else edges[index + 1],
                    "level": None,
                    "reference_share": 0.0001 if index == 10 else 0.1,
                    "current_share": current[index],
                }
            )
    return pd.DataFrame(rows)


def _score_distribution(batches: pd.DataFrame) -> pd.DataFrame:
    frame = batches.copy()
    values = {
        "n": 12_084, "fraud_probability_mean": 0.061, "fraud_probability_std": 0.118,
        "fraud_probability_p50": 0.019, "fraud_probability_p90": 0.131,
        "fraud_probability_p95": 0.342, "fraud_probability_p99": 0.781, "n_flagged": 652,
        "flag_rate": 0.05396, "expected_flag_rate": 0.05, "flag_rate_z": 2.0,
        "flag_rate_p_value": 0.046, "ks_statistic": 0.031, "score_psi": 0.043,
        "score_psi_critical_value": 0.018, "score_psi_status": "ok", "status": "ok",
    }  # fmt: skip
    return frame.assign(**values)


def _disparate_impact(batches: pd.DataFrame) -> pd.DataFrame:
    groups = {
        "gender": ("F", [
            ("F", 6_310, 1.0, None), ("M", 5_540, 1.06, 0.11), ("unknown", 234, 0.71, 0.45),
        ]),
        "age_group": ("35-49", [
            ("18-34", 2_610, 0.93, 0.12), ("35-49", 3_020, 1.0, None),
            ("50-64", 3_380, 1.09, 0.1), ("65+", 2_930, 1.42, 0.09),
            ("under 18", 144, 0.56, 0.6),
        ]),
        "member_region": ("South", [
            ("Midwest", 2_880, 0.97, 0.12), ("Northeast", 2_400, 1.12, 0.12),
            ("South", 4_210, 1.0, None), ("West", 2_594, 0.88, 0.12),
        ]),
    }  # fmt: skip
    latest = batches.iloc[-1].to_dict()
    rows = []
    for attribute, (reference, members) in groups.items():
        for group, n, di, spread in members:
            ci = (None, None) if spread is None else (di * np.exp(-spread), di * np.exp(spread))
            if group == reference:
                status = "pass"
            elif ci[0] is not None and ci[0] > 1.25:
                status = "fail"
            elif di < 0.8 and ci[1] is not None and ci[1] >= 0.8:
                status = "insufficient_data" if n < 200 else "warn_not_significant"
            else:
                status = "pass"
            rows.append(
                {
                    **latest,
                    "attribute_name": attribute,
                    "group_name": group,
                    "n": n,
                    "flag_rate": 0.05 * di,
                    "reference_group": reference,
                    "reference_group_source": "seed",
                    "reference_flag_rate": 0.05,
                    "disparate_impact": di,
                    "ci_low": ci[0],
                    "ci_high": ci[1],
                    "p_adjusted": 0.0001 if status == "fail" else 0.41,
                    "status": status,
                }
            )
    return pd.DataFrame(rows)


def _data_volume(batches: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for week, batch in batches.iterrows():
        count = 12_000 + float(rng.normal(0, 250)) - (2_900 if week == 9 else 0)
        history = min(week, 10)
        status = "insufficient_history" if history < 5 else "warn" if week == 9 else "ok"
        base = {**batch.to_dict(), "history_batches": history}
        rows.append(
            {
                **base,
                "metric_name": "row_count",
                "subject": "claims",
                "value": round(count),
                "trailing_mean": 12_010.0 if history else None,
                "trailing_std": 240.0 if history > 1 else None,
                "z_score": (count - 12_010) / 600 if history > 1 else None,
                "status": status,
            }
        )
        for subject in ("max_charge_peer_zscore", "rendering_specialty", "total_paid_amount"):
            late = subject == "max_charge_peer_zscore" and week == 13
            rows.append(
                {
                    **base,
                    "metric_name": "null_rate",
                    "subject": subject,
                    "value": 0.041 if late else 0.012,
                    "trailing_mean": 0.0118,
                    "trailing_std": 0.0021,
                    "z_score": 5.8 if late else 0.1,
                    "status": "error" if late else "insufficient_history" if history < 5 else "ok",
                }
            )
    return pd.DataFrame(rows)


def _promotions() -> pd.DataFrame:
    columns = ["challenger_version", "champion_version_before", "champion_version_after"]
    columns += ["is_promoted", "all_gates_passed", "performance_passed", "fairness_passed"]
    columns += ["data_tests_passed", "decided_at"]
    rows = [
        ("3", None, "3", True, True, True, True, True, "2025-02-24 05:10"),
        ("4", "3", "4", True, True, True, True, True, "2025-03-10 05:12"),
        ("5", "4", "4", False, False, True, False, True, "2025-04-07 05:09"),
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["decided_at"] = pd.to_datetime(frame["decided_at"]).dt.tz_localize(UTC)
    return frame


def _alerts(batches: pd.DataFrame) -> pd.DataFrame:
    latest = batches.iloc[-1]
    created = latest["scored_at"] + timedelta(minutes=4)
    rows = [
        ("feature_drift", "error", "provider_high_em_share", "PSI 0.31 >= 0.25 (critical 0.018)"),
        ("disparate_impact", "error", "age_group=65+", "DI 1.42 outside 0.80-1.25, p < 0.001"),
        ("null_rate", "error", "max_charge_peer_zscore", "null rate 4.1%, z 5.8"),
    ]
    return pd.DataFrame(
        [
            {
                "batch_id": latest["batch_id"],
                "created_at": created,
                "alert_type": kind,
                "severity": severity,
                "subject": subject,
                "message": message,
            }
            for kind, severity, subject, message in rows
        ]
    )


def sample_data(seed: int = 7) -> ReportData:
    """Made-up but plausible monitoring tables (see the module docstring); the thresholds
    are the project's seed."""
    rng = np.random.default_rng(seed)
    batches = _batches()
    return ReportData(
        feature_psi=_feature_psi(batches, rng),
        psi_bins=_psi_bins(batches),
        score_distribution=_score_distribution(batches),
        disparate_impact=_disparate_impact(batches),
        data_volume=_data_volume(batches, rng),
        promotions=_promotions(),
        alerts=_alerts(batches),
        thresholds=Thresholds.from_table(pd.read_csv(THRESHOLDS_SEED)),  # the project's seed
    )


def screenshot(html_path: Path, png_path: Path, width: int = 1280, height: int = 4000) -> None:
    """Screenshot the page with headless Chromium, then crop the blank space below it."""
    browser = next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p),
        None,
    )
    if browser is None:
        sys.exit("no headless Chromium on PATH: apt-get install -y chromium")
    png_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(  # noqa: S603 - our own file and fixed flags
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--window-size={width},{height}",
                f"--screenshot={png_path}", html_path.as_uri(),
            ],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    try:
        from PIL import Image, ImageChops
    except ImportError:  # keep the uncropped image
        return
    with Image.open(png_path) as image:
        rgb = image.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
        if box is not None:
            rgb.crop((0, 0, width, min(height, box[3] + 24))).save(png_path, optimize=True)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="screenshot the monitoring report")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="a report `make run` wrote (.local/monitoring_report.html): its top HEIGHT "
        "pixels; without it, the made-up sample data",
    )
    parser.add_argument("--height", type=int, default=4000)
    args = parser.parse_args(argv)
    if args.report is not None:
        screenshot(args.report.resolve(), PNG_PATH, height=args.height)
        print(f"wrote {PNG_PATH.relative_to(ROOT)} from {args.report}")
        return
    data = sample_data()
    generated_at = data.score_distribution["scored_at"].max() + timedelta(minutes=12)
    HTML_PATH.parent.mkdir(parents=True, exist_ok=True)
    HTML_PATH.write_text(render_report(data, generated_at=generated_at), encoding="utf-8")
    screenshot(HTML_PATH, PNG_PATH, height=args.height)
    print(f"wrote {HTML_PATH.relative_to(ROOT)} and {PNG_PATH.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
