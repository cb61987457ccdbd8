"""Offline checks of the bundle's AI/BI (Lakeview) dashboards (resources: dashboards), part of
`claims-fraud bundle validate`. Nothing here reaches a workspace:

- the file a dashboard names (``file_path``, relative to the resources/ YAML that declares it)
  exists, is JSON, and reads as a Lakeview dashboard in databricks-labs-lsql's typed model
  (``Dashboard.from_dict``: unknown widget types and misspelt keys are refused; a key the
  model drops on the way back is reported);
- every dataset's SQL parses (sqlglot, Databricks dialect) and reads only tables the project
  declares (dbt models, or sources the jobs write such as mon_alerts; unqualified: the
  resource's ``dataset_catalog``/``dataset_schema`` place them), and only columns they declare;
- every widget reads a dataset of the file, its fields only the dataset's output columns, and
  its encodings only the widget's fields.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

BACKTICKED = re.compile(r"`([^`]+)`")


def declared_columns(models_dir: Path) -> dict[str, set[str]]:
    """{table: its columns} of the dbt project's models and source tables (models/**/*.yml:
    a source such as mon_alerts is a table the jobs write outside dbt)."""
    declared: dict[str, set[str]] = {}
    for path in sorted(models_dir.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tables = [
            *(document.get("models") or []),
            *(t for source in document.get("sources") or [] for t in source.get("tables") or []),
        ]
        for table in tables:
            names = {str(column["name"]) for column in table.get("columns") or []}
            declared.setdefault(str(table["name"]), set()).update(names)
    return declared


def _dashboards(bundle: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return dict((bundle.get("resources") or {}).get("dashboards") or {})


def _lakeview_problems(where: str, document: dict[str, Any]) -> list[str]:
    from databricks.labs.lsql.lakeview import Dashboard

    # lsql's model predates queryLines: it reads a dataset's SQL as one `query` string
    typed = copy.deepcopy(document)
    for dataset in typed.get("datasets") or []:
        if "queryLines" in dataset:
            dataset["query"] = "".join(dataset.pop("queryLines"))
    try:
        back = Dashboard.from_dict(typed).as_dict()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return [f"{where}: not a Lakeview dashboard: {type(exc).__name__}: {exc}"]
    return [f"{where}: {path} is not a Lakeview key" for path in _dropped(typed, back)]


def _dropped(original: Any, back: Any, path: str = "") -> Iterable[str]:
    if isinstance(original, dict) and isinstance(back, dict):
        for key, value in original.items():
            if key not in back:
                yield f"{path}/{key}"
            else:
                yield from _dropped(value, back[key], f"{path}/{key}")
    elif isinstance(original, list) and isinstance(back, list):
        for i, (value, other) in enumerate(zip(original, back, strict=False)):
            yield from _dropped(value, other, f"{path}[{i}]")


def _dataset_columns(
    where: str, dataset: Mapping[str, Any], declared: Mapping[str, set[str]]
) -> tuple[set[str], list[str]]:
    """The dataset's output columns, and its problems (SQL, tables, columns)."""
    import sqlglot
    from sqlglot import exp

    name = dataset.get("name")
    sql = "".join(dataset.get("queryLines") or []) or str(dataset.get("query") or "")
    try:
        tree = sqlglot.parse_one(sql, read="databricks")
    except sqlglot.errors.ParseError as exc:
        return set(), [f"{where}: dataset {name}: its SQL does not parse: {exc}"]
    problems = []
    tables: set[str] = set()
    for table in tree.find_all(exp.Table):
        if table.db or table.catalog:
            problems.append(
                f"{where}: dataset {name} names {table.sql()}: read tables unqualified (the "
                "resource's dataset_catalog and dataset_schema place them per target)"
            )
        if table.name not in declared:
            problems.append(
                f"{where}: dataset {name} reads {table.name}, not a table the project declares"
            )
        tables.add(table.name)
    known = set().union(*(declared.get(t, set()) for t in tables)) if tables else set()
    outputs = set(tree.named_selects)
    aliases = {alias.alias for alias in tree.find_all(exp.Alias)}
    for column in tree.find_all(exp.Column):
        if column.name not in known and column.name not in aliases:
            problems.append(
                f"{where}: dataset {name} reads column {column.name}, which "
                f"{', '.join(sorted(tables)) or 'no table'} does not declare"
            )
    return outputs, problems


def _widget_problems(
    where: str, widget: Mapping[str, Any], outputs: Mapping[str, set[str]]
) -> list[str]:
    problems = []
    name = widget.get("name")
    fields: set[str] = set()
    for query in widget.get("queries") or []:
        body = query.get("query") or {}
        dataset = body.get("datasetName")
        if dataset not in outputs:
            problems.append(f"{where}: widget {name} reads dataset {dataset}, not in the file")
            continue
        for field in body.get("fields") or []:
            fields.add(str(field.get("name")))
            for column in BACKTICKED.findall(str(field.get("expression") or "")):
                if column not in outputs[dataset]:
                    problems.append(
                        f"{where}: widget {name} reads `{column}`, not a column of dataset "
                        f"{dataset} ({', '.join(sorted(outputs[dataset]))})"
                    )
    encodings = (widget.get("spec") or {}).get("encodings") or {}
    for channel, encoding in encodings.items():
        for item in encoding if isinstance(encoding, list) else [encoding]:
            field_name = item.get("fieldName") if isinstance(item, dict) else None
            if field_name is not None and field_name not in fields:
                problems.append(
                    f"{where}: widget {name}'s {channel} encodes {field_name}, not one of its "
                    f"fields ({', '.join(sorted(fields))})"
                )
    return problems


def dashboard_problems(bundle: Mapping[str, Any], root: Path) -> list[str]:
    """Everything wrong with the bundle's dashboards (see the module docstring)."""
    problems: list[str] = []
    declared: dict[str, set[str]] | None = None
    for key, resource in _dashboards(bundle).items():
        where = f"dashboard {key}"
        file_path = resource.get("file_path")
        if not file_path:
            problems.append(f"{where}: no file_path (the .lvdash.json it deploys)")
            continue
        path = (root / "resources" / str(file_path)).resolve()
        if not path.is_file():
            problems.append(f"{where}: file_path {file_path} is not a file ({path})")
            continue
        where = f"{where} ({path.relative_to(root.resolve())})"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON: {exc}")
            continue
        problems += _lakeview_problems(where, document)
        declared = declared if declared is not None else declared_columns(root / "models")
        outputs: dict[str, set[str]] = {}
        for dataset in document.get("datasets") or []:
            if dataset.get("name") in outputs:
                problems.append(f"{where}: two datasets are named {dataset.get('name')}")
            columns, found = _dataset_columns(where, dataset, declared)
            outputs[str(dataset.get("name"))] = columns
            problems += found
        for page in document.get("pages") or []:
            for item in page.get("layout") or []:
                problems += _widget_problems(where, item.get("widget") or {}, outputs)
    return problems
