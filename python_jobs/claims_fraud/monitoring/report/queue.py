"""The report's SIU section: the batch's review queue (siu_review_queue) and the member tours
its flagged claims open (siu_member_tours), the ring cases to review as one."""

from __future__ import annotations

import pandas as pd

from claims_fraud.monitoring.report.data import ReportData, of_batch
from claims_fraud.monitoring.report.format import empty_note, esc, html_table, integer, num

QUEUE_ROWS = 20
TOUR_ROWS = 30


def queue_section(data: ReportData, batch_id: str | None) -> str:
    """The top of the batch's SIU review queue, each claim with its reasons in words and the
    other stops of its member's tour, then those stops."""
    rows = of_batch(data.review_queue, batch_id)
    if rows.empty:
        return empty_note(
            "No SIU review queue for this batch (siu_review_queue: built by the score selector)."
        )
    capacity = int(rows["is_within_capacity"].astype(bool).sum())
    note = (
        f"<p>{len(rows):,} flagged claims, {capacity:,} within the review capacity; ranked by "
        "expected recoverable amount (probability x paid amount). The top "
        f"{min(QUEUE_ROWS, len(rows))}:</p>"
    )
    queue = rows.sort_values("queue_rank")
    top = queue.head(QUEUE_ROWS)
    columns = ["queue_rank", "claim_id", "billing_npi", "total_paid_amount"]
    columns += ["fraud_probability", "expected_recoverable_amount", "tour_stops", "reasons"]

    def reasons(row: pd.Series) -> str:
        found = [row.get(f"reason_{rank}") for rank in (1, 2, 3)]
        return "<br>".join(esc(reason) for reason in found if isinstance(reason, str) and reason)

    table = html_table(
        columns,
        (
            [
                esc(r["queue_rank"]),
                esc(r["claim_id"]),
                esc(r.get("billing_npi")),
                num(r["total_paid_amount"], 0),
                num(r["fraud_probability"], 3),
                num(r["expected_recoverable_amount"], 0),
                integer(r.get("tour_stops")),
                reasons(r),
            ]
            for _, r in top.iterrows()
        ),
    )
    return note + table + _tours(data, queue, batch_id)


def member_tour_counts(tours: pd.DataFrame) -> tuple[int, int, int]:
    """A batch's rows of siu_member_tours counted: its flagged tour stops, their other stops,
    and how many of those the model did not flag itself."""
    stops = tours["flagged_claim_id"].nunique()
    others = tours["claim_id"].nunique()
    missed = tours.loc[~tours["is_flagged"].astype(bool), "claim_id"].nunique()
    return int(stops), int(others), int(missed)


def _tours(data: ReportData, queue: pd.DataFrame, batch_id: str | None) -> str:
    """The other stops of the member tours the batch's flagged claims are stops of, in the
    queue's order: the claims a ring case adds to the review, flagged or not."""
    tours = of_batch(data.member_tours, batch_id)
    heading = "<h3>Member tours: ring cases</h3>"
    if tours.empty:
        return heading + empty_note(
            "No flagged claim of this batch is a stop of a member's tour of new providers "
            "(siu_member_tours)."
        )
    rank = queue.drop_duplicates("claim_id").set_index("claim_id")["queue_rank"]
    tours = tours.assign(queue_rank=tours["flagged_claim_id"].map(rank))
    tours = tours.sort_values(["queue_rank", "flagged_claim_id", "days_from_flagged", "claim_id"])
    stops, others, missed = member_tour_counts(tours)
    shown = tours.head(TOUR_ROWS)
    note = (
        f"<p>{stops:,} flagged claims are stops of a member's tour of new providers; their "
        f"{others:,} other stops ({missed:,} not flagged themselves) belong in the same case. "
        f"{len(shown):,} of their {len(tours):,} rows, one per flagged claim and stop (a stop "
        "of several tours is listed with each), by the flagged claim's rank in the queue:</p>"
    )
    columns = ["queue_rank", "flagged_claim_id", "claim_id", "rendering_npi"]
    columns += ["rendering_specialty", "days_from_flagged", "total_paid_amount"]
    columns += ["is_flagged", "fraud_probability"]
    return (
        heading
        + note
        + html_table(
            columns,
            (
                [
                    integer(r["queue_rank"]),
                    esc(r["flagged_claim_id"]),
                    esc(r["claim_id"]),
                    esc(r.get("rendering_npi")),
                    esc(r.get("rendering_specialty")),
                    integer(r["days_from_flagged"]),
                    num(r.get("total_paid_amount"), 0),
                    "yes" if bool(r["is_flagged"]) else "no",
                    num(r.get("fraud_probability"), 3),
                ]
                for _, r in shown.iterrows()
            ),
        )
    )
