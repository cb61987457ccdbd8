"""The monitoring report as a browser lays it out: headless Chromium (Debian's package; `make
browser` installs it, `make test-slow` does so first) renders the page with a measuring
script appended, and no chart text may fall outside its chart (a DI label cut at the chart's
edge read "n 14,53") and the page may not be wider than the window outside the scrolling
blocks. The report itself carries no script: the test appends one to a copy."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from test_report import ReportData, render, sample
from test_report_over_time import _performance

pytestmark = pytest.mark.slow

WIDTH = 1280
MEASURE = """
<script>
(() => {
  const problems = [];
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 ||
          r.top < box.top - 1 || r.bottom > box.bottom + 1) {
        const where = svg.closest('section') ? svg.closest('section').id : '?';
        problems.push(`${where}: "${text.textContent}" outside its chart`);
      }
    }
  }
  const page = document.documentElement.scrollWidth;
  if (page > window.innerWidth + 1) problems.push(`page ${page}px wide in ${window.innerWidth}px`);
  document.body.setAttribute('data-layout-problems', JSON.stringify(problems));
})();
</script>
"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("headless Chromium is not installed: run `make browser` (Debian's chromium)")
    return found


def layout_problems(page: str, folder: Path) -> list[str]:
    """What the measuring script finds in the page, rendered by headless Chromium."""
    path = folder / "page.html"
    path.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    result = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--window-size={WIDTH},2000",
            "--virtual-time-budget=3000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    match = re.search(r"data-layout-problems=\"([^\"]*)\"", result.stdout)
    assert match is not None, f"the measuring script did not run:\n{result.stderr[-2000:]}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def _crowded() -> ReportData:
    """The sample with what overflowed before: long group names, five-digit counts, many
    batches, performance rows."""
    data = sample()
    groups = data.disparate_impact.copy()
    groups["group_name"] = groups["group_name"].replace({"M": "American Indian or Alaska Native"})
    groups["n"] = 14530
    performance = pd.DataFrame(
        [_performance(b, "ok", 0.8) for b in data.disparate_impact["batch_id"].unique()]
    )
    return ReportData(**{**data.__dict__, "disparate_impact": groups, "performance": performance})


def test_no_text_overflows_its_chart_or_the_page(tmp_path: Path) -> None:
    assert layout_problems(render(_crowded()), tmp_path) == []


def test_the_measure_finds_a_label_cut_at_the_charts_edge(tmp_path: Path) -> None:
    """The check can fail: a text placed past its chart's width is reported."""
    cut = '<svg class="chart" width="100" height="40"><text x="60" y="20">n 14,530</text></svg>'
    page = render().replace("</section>", cut + "</section>", 1)
    problems = layout_problems(page, tmp_path)
    assert problems == ['psi: "n 14,530" outside its chart']
