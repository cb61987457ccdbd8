"""The monitoring report: one self-contained HTML page for a scoring batch.

`make monitor` builds the mon_* tables in dbt; this package reads them (plus the promotion
audit `ml_promotion_decisions` and the alert log `mon_alerts`, both optional) and renders
them for a person. The page is one file that reads offline: its CSS sits in a <style> block,
its charts are inline SVG drawn here, it uses the system's fonts, and it references nothing
outside itself. Every value taken from the tables is HTML-escaped, and a missing number
prints as an en dash, never as "nan".

Sections, in order, for the selected batch (by default the latest: batches are in time
order, by the start of their ingest window, else by scored_at):

- header: batch id, model version, scored_at, when the page was generated, a verdict
  line counting the batch's error/fail and warn statuses across the monitoring tables, and
  the thresholds the charts draw;
1. PSI heat map: features x batches (the 20 batches up to the selected one), each cell
   coloured by PSI (green at 0, amber at the psi_warn line, red from the psi_error line),
   its tooltip giving the status and critical value; no_data and missing_reference cells
   are grey;
2. score distribution: reference vs current share per bin of fraud_probability, and the
   batch's summary statistics (quantiles, flag rate against the budget, KS, score PSI);
3. disparate impact: per protected attribute, one row per group with the DI as a dot,
   its 95% CI as a line on a linear axis from 0 to max(2, largest CI end), capped at 5
   (the tooltip keeps the exact values), and the accepted band (disparate_impact_lower to
   disparate_impact_upper) shaded; the reference group is marked (hollow dot) and a failed
   group is shown in red;
4. disparate impact over time: per attribute, each group's DI per batch of the window, the
   band shaded, failed points red (:mod:`.trends`);
5. model performance: realized precision per batch (Wilson interval) on the SIU outcomes
   closed by the monitoring date, the expected precision from calibrated probabilities, the
   validation window's precision, and the table of mon_model_performance (optional: "no data
   yet" without it);
6. volume over time: claims per batch (same 20-batch window) with the trailing mean,
   points coloured by status, and the null rates of the batch at warn or error;
7. top drifted features of the batch (warn or error) with the bin that moved most, and the
   reference vs batch shares of each, bin by bin (small multiples);
8. the SIU review queue's first rows and the member tours its flagged claims open
   (siu_member_tours, optional: the ring cases, in the queue's order);
9. promotion history, newest first, with every gate's verdict;
10. alerts raised for the batch.

A section whose table is empty says so ("no data yet") instead of failing, so the report
can be rendered as soon as the first batch is monitored.

The thresholds drawn on the charts (psi_warn, psi_error, disparate_impact_lower and _upper)
are read from the monitoring_thresholds table, the seed seeds/monitoring_thresholds.csv as dbt
loaded it, and printed under the verdict; the verdicts themselves always come from the tables'
status columns.

Modules: :mod:`.data` reads the tables (through :mod:`claims_fraud.warehouse`) and selects
batches, :mod:`.svg` draws the charts, :mod:`.html` lays out the page (:mod:`.queue` its SIU
section, :mod:`.over_time` the sections over batches), :mod:`.format` formats values for both.

Usage::

    data = load_report_data(DuckDBWarehouse(Path("claims_fraud.duckdb")))
    write_report(data, Path("target/monitoring_report.html"))
"""

from claims_fraud.monitoring.report.data import (
    MAX_BATCHES,
    MONITORING_TABLES,
    OPTIONAL_TABLES,
    SCORE_FEATURE,
    THRESHOLDS_TABLE,
    ReportData,
    Thresholds,
    load_report_data,
)
from claims_fraud.monitoring.report.format import DASH, bin_label
from claims_fraud.monitoring.report.html import render_report, write_report
from claims_fraud.monitoring.report.svg import COLOURS, DI_AXIS_CAP, GREY_CELL

__all__ = [
    "COLOURS",
    "DASH",
    "DI_AXIS_CAP",
    "GREY_CELL",
    "MAX_BATCHES",
    "MONITORING_TABLES",
    "OPTIONAL_TABLES",
    "SCORE_FEATURE",
    "THRESHOLDS_TABLE",
    "ReportData",
    "Thresholds",
    "bin_label",
    "load_report_data",
    "render_report",
    "write_report",
]
