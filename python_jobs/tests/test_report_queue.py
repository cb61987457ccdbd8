"""The report's SIU review queue section (test_report.py's sample data, plus a queue and its
member tours), and the report's exposure naming every table the report reads."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml
from test_report import BATCHES, ReportData, render, sample, section

from claims_fraud.monitoring.report.data import MONITORING_TABLES, OPTIONAL_TABLES, THRESHOLDS_TABLE

EXPOSURES = Path(__file__).resolve().parents[2] / "models" / "_exposures.yml"


def test_review_queue_shows_the_batchs_top_20_with_their_reasons_escaped() -> None:
    latest = max(BATCHES, key=lambda batch: batch[1])[0]
    rows = [
        {
            "batch_id": latest,
            "queue_rank": rank,
            "is_within_capacity": rank <= 3,
            "claim_id": f"CLM{rank:04d}",
            "billing_npi": "1234567890",
            "total_paid_amount": 5000.0 - rank,
            "fraud_probability": 0.9,
            "expected_recoverable_amount": 0.9 * (5000.0 - rank),
            "reason_1": "the provider billed 4,300 minutes in one day",
            "reason_2": None,
            "reason_3": "level <5> visit",
            "tour_stops": 2 if rank == 2 else 0,
        }
        for rank in range(25, 0, -1)
    ]
    rows.append({**rows[0], "batch_id": "another", "claim_id": "CLM_OTHER"})
    page = render(ReportData(**{**sample().__dict__, "review_queue": pd.DataFrame(rows)}))
    queue = section(page, "queue")
    assert "25 flagged claims, 3 within the review capacity" in queue
    shown = re.findall(r"<td>(CLM[^<]*)</td>", queue)
    assert shown == [f"CLM{rank:04d}" for rank in range(1, 21)]  # ranked, the first 20
    assert "the provider billed 4,300 minutes in one day<br>level &lt;5&gt; visit" in queue
    tour_column = re.findall(r"<td>CLM000[12]</td>(?:<td>[^<]*</td>){4}<td>([^<]*)</td>", queue)
    assert tour_column == ["0", "2"]  # tour_stops, after the expected recoverable amount
    assert "No SIU review queue" in section(render(), "queue")


def test_member_tours_list_a_flagged_claims_other_stops_in_queue_order() -> None:
    latest = max(BATCHES, key=lambda batch: batch[1])[0]
    queue = pd.DataFrame(
        [
            {
                "batch_id": latest,
                "queue_rank": rank,
                "is_within_capacity": True,
                "claim_id": claim,
                "total_paid_amount": 100.0,
                "fraud_probability": 0.8,
                "expected_recoverable_amount": 80.0,
                "tour_stops": stops,
            }
            for rank, claim, stops in ((1, "CLM_B", 1), (2, "CLM_A", 2), (3, "CLM_C", 0))
        ]
    )

    def stop(flagged: str, claim: str, days: int, is_flagged: bool, batch: str = latest) -> dict:
        return {
            "batch_id": batch,
            "flagged_claim_id": flagged,
            "claim_id": claim,
            "rendering_npi": "2222222222",
            "rendering_specialty": "Internal <Medicine>",
            "days_from_flagged": days,
            "total_paid_amount": 250.0,
            "is_flagged": is_flagged,
            "fraud_probability": None if not is_flagged else 0.7,
        }

    tours = pd.DataFrame(
        [
            stop("CLM_A", "CLM_A2", 5, False),
            stop("CLM_A", "CLM_A1", -3, True),
            stop("CLM_B", "CLM_B1", -10, False),
            stop("CLM_B", "CLM_OLD", -1, False, batch="another"),
        ]
    )
    data = {**sample().__dict__, "review_queue": queue, "member_tours": tours}
    queue_html = section(render(ReportData(**data)), "queue")
    tour_html = queue_html.split("Member tours", 1)[1]
    # the queue's rank 1 (CLM_B) first, then CLM_A's stops by day; the other batch's not at all
    assert re.findall(r"<td>(CLM_[A-Z0-9]+)</td><td>(CLM_[A-Z0-9]+)</td>", tour_html) == [
        ("CLM_B", "CLM_B1"),
        ("CLM_A", "CLM_A1"),
        ("CLM_A", "CLM_A2"),
    ]
    assert "2 flagged claims are stops of a member's tour" in tour_html
    assert "3 other stops (2 not flagged themselves)" in tour_html
    assert "3 of their 3 rows, one per flagged claim and stop" in tour_html
    assert "Internal &lt;Medicine&gt;" in tour_html
    queue_only = {**data, "member_tours": tours.iloc[0:0]}
    assert "No flagged claim of this batch is a stop" in section(
        render(ReportData(**queue_only)), "queue"
    )


def test_the_report_exposure_names_every_table_the_report_reads() -> None:
    exposures = yaml.safe_load(EXPOSURES.read_text(encoding="utf-8"))["exposures"]
    report = next(e for e in exposures if e["name"] == "monitoring_report")
    # ref('table') and source('schema', 'table'): the table is the last quoted name
    named = {re.findall(r"'([^']+)'", dependency)[-1] for dependency in report["depends_on"]}
    read = {*MONITORING_TABLES.values(), *OPTIONAL_TABLES.values(), THRESHOLDS_TABLE}
    assert read - named == set(), f"add them to monitoring_report's depends_on in {EXPOSURES}"
