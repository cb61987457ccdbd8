"""The README and docs/ stay true without running `make run`: every make target, link, path and
CLI command they show exists; the README stays short; and the sample output in
docs/sample-run.md (a real `make run`) is what the code prints today: its summary, timing table,
champion lines and task lines are reproduced from their numbers by the functions the CLI prints
them with, and its counts match the generator's manifest for the LINES/SEED it states."""

from __future__ import annotations

import argparse
import json
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SAMPLE = ROOT / "docs" / "sample-run.md"
README_MAX_BYTES = 12_000
# What docs/sample-run.md shows in place of the clone's folder.
SAMPLE_ROOT = "/path/to/claims-fraud"

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)


def doc_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


@cache
def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def code_of(markdown: str) -> list[str]:
    """The code a page shows: every fenced block, then every inline code span outside them."""
    blocks = FENCE.findall(markdown)
    prose = FENCE.sub("", markdown)
    return blocks + INLINE.findall(prose)


def prose_of(markdown: str) -> str:
    return INLINE.sub("", FENCE.sub("", markdown))


def all_code() -> list[tuple[Path, str]]:
    return [(path, code) for path in doc_files() for code in code_of(text(path))]


# --- make targets ---------------------------------------------------------------------------


def makefile_targets() -> set[str]:
    targets: set[str] = set()
    for line in text(ROOT / "Makefile").splitlines():
        rule = re.match(r"^([a-z][\w .-]*?)\s*:(?!=)", line)
        if rule and not line.startswith(("export ", "ifeq", ".")):
            targets.update(rule.group(1).split())
    return targets


def test_every_make_target_the_docs_show_exists() -> None:
    targets = makefile_targets()
    assert {"run", "test", "test-unit", "test-spark", "bench", "docs"} <= targets
    shown: dict[str, set[str]] = {}
    for path, code in all_code():
        for name in re.findall(r"(?<![\w-])make +([a-z][a-z0-9-]*)", code):
            shown.setdefault(name, set()).add(path.name)
    missing = {name: sorted(pages) for name, pages in shown.items() if name not in targets}
    assert not missing, f"make targets the docs show but the Makefile lacks: {missing}"
    # the README leads with the two commands, and the docs name the test targets
    assert {"run", "test"} <= {n for n, pages in shown.items() if "README.md" in pages}
    assert {"test-unit", "test", "test-spark", "bench"} <= set(shown)


def test_make_run_and_make_test_come_first_in_the_readme() -> None:
    first_block = FENCE.findall(text(README))[0]
    commands = re.findall(r"^make (\w+)", first_block, re.MULTILINE)
    assert commands == ["run", "test"]


def test_testing_page_quotes_the_makefile_and_the_declared_markers() -> None:
    """docs/testing.md's commands are the Makefile's recipes, its markers pyproject's."""
    import tomllib

    page = text(ROOT / "docs" / "testing.md")
    recipes = text(ROOT / "Makefile")
    quoted = re.findall(r"`((?:pytest|uv run --frozen pytest) [^`]+)`", page)
    assert len(quoted) >= 2, quoted
    for command in quoted:
        if command.startswith("pytest "):
            assert f"$(RUN) {command}" in recipes, f"docs/testing.md quotes {command!r}"
    unit = re.search(r'`-m "([^"]+)"`', page)
    assert unit, "docs/testing.md quotes make test-unit's marker expression"
    assert f'-m "{unit.group(1)}"' in recipes
    declared = {
        marker.split(":")[0]
        for marker in tomllib.loads(text(ROOT / "pyproject.toml"))["tool"]["pytest"]["ini_options"][
            "markers"
        ]
    }
    documented = set(re.findall(r"^\| `(\w+)(?:\(.*?\))?` \|", page, re.MULTILINE))
    assert documented - {"xdist_group"} == declared


# --- links and paths ------------------------------------------------------------------------


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    plain = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return plain.replace(" ", "-")


def test_every_relative_link_and_anchor_resolves() -> None:
    checked = 0
    broken = []
    for path in doc_files():
        for target in LINK.findall(prose_of(text(path))):
            if re.match(r"^[a-z]+:", target):  # http(s), mailto: not ours to check
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            checked += 1
            if not resolved.exists():
                broken.append(f"{path.name}: {target} (no {resolved})")
            elif anchor and resolved.suffix == ".md":
                anchors = {slug(h) for h in HEADING.findall(FENCE.sub("", text(resolved)))}
                if anchor not in anchors:
                    broken.append(f"{path.name}: {target} (no heading #{anchor})")
            if file_part.startswith("/"):
                broken.append(f"{path.name}: {target} is absolute; keep links relative")
    assert checked >= 40, checked
    assert not broken, "\n".join(broken)


TRACKED_TOPS = (
    "benchmarks",
    "docs",
    "macros",
    "models",
    "profiles",
    "python_jobs",
    "resources",
    "schemas",
    "scripts",
    "seeds",
    "tests",
    ".github",
    ".ci",
)


def test_every_repository_path_in_inline_code_exists() -> None:
    """`models/monitoring/`, `python_jobs/tests/harness.py`, ...: a moved file breaks the page."""
    checked = 0
    missing = []
    for path in doc_files():
        for span in INLINE.findall(FENCE.sub("", text(path))):
            candidate = span.strip()
            if not re.fullmatch(r"[\w.-]+(/[\w.-]+)+/?", candidate):
                continue  # not a plain path (placeholders, globs, commands)
            if candidate.split("/")[0] not in TRACKED_TOPS:
                continue
            checked += 1
            if not (ROOT / candidate).exists():
                missing.append(f"{path.name}: {candidate}")
    assert checked >= 20, checked
    assert not missing, "\n".join(missing)


def test_every_test_the_docs_name_exists() -> None:
    """`reliability/test_x.py::test_y` (relative to python_jobs/tests/): the file defines it."""
    named = [
        (path.name, file, name)
        for path in doc_files()
        for file, name in re.findall(r"`([\w/]+\.py)::(\w+)`", text(path))
    ]
    assert len(named) >= 20, named
    missing = [
        f"{page}: {file}::{name}"
        for page, file, name in named
        if not (ROOT / "python_jobs" / "tests" / file).is_file()
        or not re.search(
            rf"^def {name}\(", text(ROOT / "python_jobs" / "tests" / file), re.MULTILINE
        )
    ]
    assert not missing, "\n".join(missing)


def test_readme_is_short_and_links_every_docs_page() -> None:
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail to docs/"
    linked = {Path(t.split("#")[0]).name for t in LINK.findall(text(README))}
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"
    assert "docs/images/monitoring_report.png" in text(README)


# --- CLI commands ---------------------------------------------------------------------------

COMMAND = re.compile(
    r"(?:^|(?<=uv run )|(?<=uv run --frozen ))claims-fraud +([a-z][a-z-]*)([^#\n]*)", re.MULTILINE
)


def shown_commands() -> list[tuple[str, str, str]]:
    """(page, subcommand, rest of the line) for every `claims-fraud SUB ...` in a command
    position: a line or span start, or after `uv run`."""
    found = []
    for path, code in all_code():
        for line in code.splitlines():
            for sub, rest in COMMAND.findall(line.strip()):
                found.append((path.name, sub, rest))
    return found


def options_of(
    parser: argparse.ArgumentParser,
) -> tuple[set[str], dict[str, argparse.ArgumentParser]]:
    options: set[str] = set()
    children: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        options.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            children.update(action.choices)
    return options, children


@cache
def cli_parser() -> argparse.ArgumentParser:
    from claims_fraud.cli.main import build_parser

    return build_parser(None)


def test_every_cli_command_and_option_the_docs_show_exists() -> None:
    from claims_fraud.cli.main import SUBCOMMANDS

    commands = shown_commands()
    assert len(commands) >= 15, commands
    _, subparsers = options_of(cli_parser())
    problems = []
    for page, sub, rest in commands:
        if sub not in SUBCOMMANDS:
            problems.append(f"{page}: claims-fraud {sub} (have: {', '.join(SUBCOMMANDS)})")
            continue
        parser = subparsers[sub]
        options, actions = options_of(parser)
        words = rest.split()
        if actions:  # `bundle run` / `bundle validate`
            action = words[0] if words else ""
            if action not in actions:
                problems.append(f"{page}: claims-fraud {sub} {action}: no such action")
                continue
            options |= options_of(actions[action])[0]
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
            if option not in options:
                problems.append(f"{page}: claims-fraud {sub} {option}: no such option")
    assert not problems, "\n".join(problems)
    assert {sub for _, sub, _ in commands} >= {"generate", "alerts", "report", "bundle", "summary"}


def test_the_subcommands_the_readme_lists_are_the_cli_s() -> None:
    from claims_fraud.cli.main import SUBCOMMANDS

    row = next(line for line in text(README).splitlines() if line.startswith("| `cli` |"))
    listed = re.findall(r"`([a-z-]+)`", row.split("|")[2].split("subcommands:")[1])
    assert listed == list(SUBCOMMANDS)


def test_documented_subcommands_answer_help() -> None:
    from claims_fraud.cli.main import main

    for sub in sorted({sub for _, sub, _ in shown_commands()}):
        with pytest.raises(SystemExit) as exit_info:
            main([sub, "--help"])
        assert exit_info.value.code == 0, sub


def test_the_alerts_exit_codes_table_matches_the_code() -> None:
    from claims_fraud.monitoring import alerts

    page = text(ROOT / "docs" / "monitoring.md")
    table = re.findall(r"^\| (\d) \| (.+) \|$", page, re.MULTILINE)
    codes = {int(code) for code, _ in table}
    assert codes == {
        alerts.EXIT_OK,
        alerts.EXIT_ALERT,
        alerts.EXIT_REFUSED,
        alerts.EXIT_DELIVERY_FAILED,
    }
    meaning = dict(table)
    assert "refused" in meaning[str(alerts.EXIT_REFUSED)]
    assert "did not get" in meaning[str(alerts.EXIT_DELIVERY_FAILED)]


def test_the_import_layers_the_readme_lists_are_the_contract() -> None:
    import tomllib

    contract = tomllib.loads(text(ROOT / "pyproject.toml"))["tool"]["importlinter"]["contracts"][0]
    layers = [
        name.strip().removeprefix("claims_fraud.")
        for layer in contract["layers"]
        for name in layer.split("|")
    ]
    lines = text(README).splitlines()
    start = lines.index("| subpackage | what |")
    listed = []
    for line in lines[start + 2 :]:
        if not line.startswith("| `"):
            break
        listed.append(re.match(r"\| `(\w+)` \|", line).group(1))
    assert listed == layers
    source = ROOT / "python_jobs" / "claims_fraud"
    packages = {p.name for p in source.iterdir() if p.is_dir()} - {"__pycache__"}
    modules = {p.stem for p in source.glob("*.py")} & set(layers)  # a layer of its own
    assert set(listed) == packages | modules


# --- the sample output ----------------------------------------------------------------------


def sample_lines() -> list[str]:
    blocks = re.findall(r"^```text\n(.*?)^```", text(SAMPLE), re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, "docs/sample-run.md holds one ```text block: the run's output"
    return blocks[0].rstrip("\n").split("\n")


def section(lines: list[str], first: str, last: str) -> list[str]:
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(last))
    return lines[start : end + 1]


def table_lines(lines: list[str]) -> list[str]:
    """The rows of the summary's "Rows per table" section."""
    start = lines.index("Rows per table") + 2  # after the title and its underline
    return lines[start : lines.index("", start)]


def table_rows(lines: list[str]) -> dict[str, int]:
    return {
        line.split()[1].split(".")[1]: int(line.split()[3].replace(",", ""))
        for line in table_lines(lines)
    }


def stated_settings() -> dict[str, int]:
    found = re.search(r"`LINES=(\d+) SEED=(\d+)`", text(SAMPLE))
    assert found, "docs/sample-run.md states LINES and SEED"
    return {"LINES": int(found.group(1)), "SEED": int(found.group(2))}


def test_sample_run_used_the_makefile_defaults_and_the_readme_quotes_it() -> None:
    makefile = text(ROOT / "Makefile")
    for name, value in stated_settings().items():
        assert re.search(rf"^{name} \?= {value}$", makefile, re.MULTILINE), name
    assert f"`LINES={stated_settings()['LINES']} SEED={stated_settings()['SEED']}`" in text(README)
    # the README's excerpt is the sample's lines, in runs of consecutive lines
    excerpt = re.search(r"^```text\n(.*?)^```", text(README), re.DOTALL | re.MULTILINE)
    assert excerpt
    full = "\n".join(sample_lines())
    runs = [run.strip("\n") for run in excerpt.group(1).split("...\n") if run.strip()]
    assert len(runs) >= 4
    for run in runs:
        assert run in full, f"README excerpt not in docs/sample-run.md:\n{run}"


def test_sample_summary_is_what_format_summary_prints() -> None:
    from claims_fraud.cli.summary import RunSummary, TableCount, format_summary

    lines = sample_lines()
    shown = section(lines, "Rows per table", "  query it:")
    tables = []
    for line in table_lines(lines):
        layer, relation, kind, rows = line.split()
        schema, name = relation.split(".")
        tables.append(TableCount(layer, schema, name, kind, int(rows.replace(",", ""))))
    totals = re.search(
        r"Raw claim lines ([\d,]+) = valid ([\d,]+) \+ quarantined ([\d,]+)", "\n".join(shown)
    )
    assert totals
    raw, valid, quarantined = (int(g.replace(",", "")) for g in totals.groups())
    assert raw == valid + quarantined
    reasons = section(lines, "Quarantined lines by reason", "DuckDB file:")[2:-2]
    by_reason = tuple((r.split()[0], int(r.split()[1].replace(",", ""))) for r in reasons)
    duckdb = Path(re.search(r"^DuckDB file: (.+)$", "\n".join(shown), re.MULTILINE).group(1))
    summary = RunSummary(duckdb, tuple(tables), by_reason, raw, valid, quarantined)
    assert format_summary(summary).strip("\n").split("\n") == shown
    # the table counts agree with the totals they are printed beside
    counts = {t.name: t.rows for t in tables}
    assert counts["stg_claims__medical_claim"] == raw
    assert counts["int_claim_lines_validated"] == valid
    assert counts["claims_quarantine"] == quarantined
    assert counts["fct_claim_features"] == counts["int_member_claim_history"]


def test_sample_timing_table_is_what_format_timings_prints() -> None:
    from claims_fraud.cli.summary import format_timings

    shown = section(sample_lines(), "Task timings (", "  total ")
    path = Path(re.match(r"Task timings \((.+)\)$", shown[0]).group(1))
    runs: list[dict] = []
    for line in shown[2:-1]:
        job = re.fullmatch(r"  (\w+) \((.+)\)", line)
        if job:
            runs.append({"job": job.group(1), "started_at": job.group(2), "tasks": []})
            continue
        task, seconds, state = line.split()
        runs[-1]["tasks"].append(
            {"job": runs[-1]["job"], "task_key": task, "seconds": seconds, "state": state}
        )
    assert [run["job"] for run in runs] == [
        "claims_fraud_pipeline",
        "claims_fraud_training",
        "claims_fraud_pipeline",
    ]
    assert format_timings(runs, path).strip("\n").split("\n") == shown


def test_sample_champion_and_next_steps_are_what_the_summary_prints(tmp_path: Path) -> None:
    from claims_fraud.cli.summary import (
        ScoringSummary,
        format_next_steps,
        format_scoring_summary,
    )

    lines = sample_lines()
    shown = section(lines, "Champion: ", "Batch ")
    name, version = re.fullmatch(r"Champion: (\w+) v(\d+)", shown[0]).groups()
    metrics = {}
    for line, prefix in ((shown[1], ""), (shown[2], "gt_")):
        for metric, value in re.findall(r"(\w+) (\d\.\d+)", line.split(": ", 1)[1]):
            metrics[prefix + metric] = float(value)
    batch = re.fullmatch(r"Batch (\S+): ([\d,]+) claims scored, ([\d,]+) flagged .*", shown[3])
    batch_id, scored, flagged = (
        batch.group(1),
        *(int(g.replace(",", "")) for g in batch.groups()[1:]),
    )
    summary = ScoringSummary(name, version, batch_id, scored, flagged, metrics)
    assert format_scoring_summary(summary).strip("\n").split("\n") == shown

    steps = section(lines, "Report:", "Task logs:")
    report = Path(steps[0].split(maxsplit=1)[1])
    logs = Path(re.match(r"Task logs:\s+(\S+)/<job>", steps[-1]).group(1))
    written = tmp_path / "monitoring_report.html"  # the format tells a written report apart
    written.write_text("<html></html>")
    printed = format_next_steps(written, logs).replace(str(written.resolve()), str(report))
    assert printed.strip("\n").split("\n") == steps
    assert str(report).startswith(SAMPLE_ROOT)


def test_sample_task_lines_are_what_the_local_runner_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipeline job of the sample's second invocation (`make run` skips dbt_features after
    training), run with a stand-in for the processes: its [k/n task] and job lines, seconds
    aside, are the sample's."""
    from claims_fraud.deploy import bundle
    from claims_fraud.deploy.task_values import write_task_values

    lines = sample_lines()
    start = max(i for i, line in enumerate(lines) if line.endswith("counted as done: dbt_features"))
    end = next(
        i
        for i in range(start, len(lines))
        if lines[i].startswith("claims_fraud_pipeline: finished")
    )
    shown = [line for line in lines[start : end + 1] if not line.startswith(" ")]

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(ROOT / "profiles"))  # as the Makefile exports
    settings = bundle.LocalSettings(
        duckdb=Path(f"{SAMPLE_ROOT}/.local/claims_fraud.duckdb"),
        local_dir=Path(".local"),
        project_dir=ROOT,
    )
    job = "claims_fraud_pipeline"

    # the demo timeline's job parameters, as `make run` passes them (the Makefile's defaults)
    makefile = text(ROOT / "Makefile")
    demo = re.search(r'pipeline_params="--params ([^"]+)"', makefile).group(1)
    for name in re.findall(r"\$\((\w+)\)", demo):
        value = re.search(rf"^{name} \?= (\S+)$", makefile, re.MULTILINE).group(1)
        demo = demo.replace(f"$({name})", value)
    parameters = dict(pair.split("=", 1) for pair in demo.split(","))
    latest = re.search(r"Claims fraud monitoring, batch (\S+) ", "\n".join(lines)).group(1)

    def runner(argv: list[str]) -> int:
        if argv[:2] == ["claims-fraud", "alerts"]:  # no drift at error: the sample's alerts
            write_task_values(
                settings.task_values_path(job, "alerts"),
                {"retrain": False, "batch_id": latest},
            )
        return 0

    jobs = bundle.jobs(bundle.load_bundle(ROOT, None))
    echoed: list[str] = []
    code = bundle.run_job(
        jobs[job],
        settings,
        runner=runner,
        echo=echoed.append,
        skip=["dbt_features"],
        key=job,
        bundle_jobs=jobs,
        parameters=parameters,
    )
    assert code == 0

    def seconds_aside(line: str) -> str:
        line = re.sub(r"\d+\.\d s\b", "N s", line)
        return re.sub(r"; task logs in \S+", "", line)

    assert [seconds_aside(line) for line in echoed] == [seconds_aside(line) for line in shown]


@pytest.mark.slow
def test_sample_counts_match_the_generator_manifest_for_its_settings(tmp_path: Path) -> None:
    """`claims-fraud generate` for the stated LINES/SEED (what `make data` runs; seconds): the
    sample's raw, per-table and per-reason counts agree with its _manifest.json."""
    from claims_fraud.cli.main import main

    settings = stated_settings()
    out = tmp_path / "raw"
    argv = ["generate", "--lines", str(settings["LINES"]), "--seed", str(settings["SEED"])]
    # `make data` with the default TIMELINE=1 turns the drift knob on (the Makefile's defaults)
    makefile = text(ROOT / "Makefile")
    assert re.search(r"^TIMELINE \?= 1$", makefile, re.MULTILINE)
    for option in ("DRIFT_START", "DRIFT_STRENGTH"):
        value = re.search(rf"^{option} \?= (\S+)$", makefile, re.MULTILINE).group(1)
        argv += [f"--{option.lower().replace('_', '-')}", value]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    manifest = json.loads((out / "_manifest.json").read_text())
    lines = sample_lines()
    full = "\n".join(lines)
    raw = int(re.search(r"Raw claim lines ([\d,]+)", full).group(1).replace(",", ""))
    assert raw == manifest["row_counts"]["medical_claim"] == settings["LINES"]
    assert f"wrote {settings['LINES']:,} claim lines" in full
    reasons = section(lines, "Quarantined lines by reason", "DuckDB file:")[2:-2]
    quarantined = {r.split()[0]: int(r.split()[1].replace(",", "")) for r in reasons}
    injected = manifest["malformed_counts"]
    # every injected kind is quarantined with its reason; a reason can count more lines than
    # were broken on purpose (enrollment and death dates also fail on other lines)
    too_few = {
        kind: (quarantined.get(kind, 0), count)
        for kind, count in injected.items()
        if quarantined.get(kind, 0) < count
    }
    assert not too_few, f"reason: (quarantined in the sample, injected): {too_few}"
    rows = table_rows(lines)
    for table in ("eligibility", "provider", "siu_investigation", "fraud_ground_truth"):
        assert rows[f"stg_claims__{table}"] == manifest["row_counts"][table], table
