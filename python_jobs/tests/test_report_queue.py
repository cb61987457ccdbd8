"""The report's SIU review queue section (test_report.py's sample data, plus a queue)."""

from __future__ import annotations

import re

import pandas as pd
from test_report import BATCHES, ReportData, render, sample, section


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
    assert "No SIU review queue" in section(render(), "queue")
