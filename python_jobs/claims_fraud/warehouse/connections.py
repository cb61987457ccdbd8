"""Where the companion jobs (promote, alerts, report) read and write tables outside dbt.

dbt owns the tables; these jobs only read what dbt built and append their own audit rows
(`ml_promotion_decisions`, `mon_alerts`). Locally that is the DuckDB file; on Databricks it is
the Spark session of the job cluster, with tables under `<catalog>.<schema>` and the
`<schema>_*` schemas dbt creates beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from claims_fraud.warehouse import params
from claims_fraud.warehouse.frames import to_pandas


class TableNotFoundError(LookupError):
    """A table the job needs does not exist yet."""


class Warehouse(Protocol):
    def read(self, table: str) -> pd.DataFrame: ...

    def append(self, table: str, frame: pd.DataFrame) -> None: ...


def quote_identifier(*parts: str) -> str:
    """A dotted, double-quoted SQL identifier (schema, table, column), embedded quotes doubled."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


@dataclass(frozen=True)
class DuckDBWarehouse:
    """The local DuckDB file dbt builds. Tables are found by name in any schema, because dbt
    prefixes custom schemas with the target schema (main_features, main_ml, ...)."""

    path: Path
    default_schema: str = "main_ml"

    def _schema_of(self, con: duckdb.DuckDBPyConnection, table: str) -> str | None:
        rows = con.execute(
            "select table_schema from information_schema.tables where table_name = ? "
            "order by table_schema",
            [table],
        ).fetchall()
        if len(rows) > 1:
            schemas = ", ".join(row[0] for row in rows)
            raise LookupError(f"table {table} exists in several schemas of {self.path}: {schemas}")
        return rows[0][0] if rows else None

    def read(self, table: str) -> pd.DataFrame:
        if not self.path.exists():
            raise TableNotFoundError(
                f"DuckDB file {self.path} does not exist: run `make run` first"
            )
        with duckdb.connect(str(self.path), read_only=True) as con:
            schema = self._schema_of(con, table)
            if schema is None:
                raise TableNotFoundError(f"table {table} not found in {self.path}")
            # in Arrow batches (frames.to_pandas): .df() would first build the whole table
            # inside DuckDB (fct_claim_features at 10M lines: gigabytes for the promotion gate)
            return to_pandas(con.table(f"{quote_identifier(schema, table)}"))

    def append(self, table: str, frame: pd.DataFrame) -> None:
        with duckdb.connect(str(self.path)) as con:
            schema = self._schema_of(con, table) or self.default_schema
            con.execute(f"create schema if not exists {quote_identifier(schema)}")
            con.register("incoming_rows", frame)
            exists = self._schema_of(con, table) is not None
            target = quote_identifier(schema, table)
            if exists:
                # a column the table does not have yet (a newer writer) is added first
                have = {
                    row[0]
                    for row in con.execute(
                        "select column_name from information_schema.columns "
                        "where table_schema = ? and table_name = ?",
                        [schema, table],
                    ).fetchall()
                }
                for column, column_type in con.execute(
                    "select column_name, column_type from (describe incoming_rows)"
                ).fetchall():
                    if column not in have:
                        con.execute(
                            f"alter table {target} add column "
                            f"{quote_identifier(column)} {column_type}"
                        )
                con.execute(f"insert into {target} by name select * from incoming_rows")  # noqa: S608
            else:
                con.execute(f"create table {target} as select * from incoming_rows")  # noqa: S608
            con.unregister("incoming_rows")


@dataclass(frozen=True)
class SparkWarehouse:
    """Tables of a catalog through a Spark session (Databricks job clusters, or a local Spark).

    dbt writes custom schemas beside the target schema (``<schema>_ml``,
    ``<schema>_monitoring``, ...), so a table is found by name among the target schema and
    those, as DuckDBWarehouse does; a new table goes to ``default_schema`` (a suffix such as
    ``monitoring``, or none for the target schema itself).
    """

    spark: object
    catalog: str
    schema: str
    default_schema: str | None = "ml"

    def __post_init__(self) -> None:
        # Names reach Spark SQL inside backticks: only plain identifiers get there.
        params.identifier(self.catalog, "catalog")
        params.identifier(self.schema, "schema")
        if self.default_schema is not None:
            params.identifier(self.default_schema, "default schema")

    def _sql(self, statement: str) -> list:
        return self.spark.sql(statement).collect()  # type: ignore[attr-defined]

    def _name(self, schema: str, table: str) -> str:
        return f"`{self.catalog}`.`{schema}`.`{table}`"

    def _schema_of(self, table: str) -> str | None:
        schemas = [row[0] for row in self._sql(f"show schemas in `{self.catalog}`")]
        candidates = sorted(
            name for name in schemas if name == self.schema or name.startswith(f"{self.schema}_")
        )
        found = [
            name
            for name in candidates
            if self.spark.catalog.tableExists(f"{self.catalog}.{name}.{table}")  # type: ignore[attr-defined]
        ]
        if len(found) > 1:
            raise LookupError(
                f"table {table} exists in several schemas of {self.catalog}: {', '.join(found)}"
            )
        return found[0] if found else None

    def read(self, table: str) -> pd.DataFrame:
        schema = self._schema_of(table)
        if schema is None:
            raise TableNotFoundError(
                f"table {table} not found in {self.catalog}.{self.schema} or its "
                f"{self.schema}_* schemas"
            )
        return self.spark.table(self._name(schema, table)).toPandas()  # type: ignore[attr-defined]

    def append(self, table: str, frame: pd.DataFrame) -> None:
        schema = self._schema_of(table)
        if schema is None:
            schema = f"{self.schema}_{self.default_schema}" if self.default_schema else self.schema
            self._sql(f"create schema if not exists `{self.catalog}`.`{schema}`")
        rows = self.spark.createDataFrame(frame)  # type: ignore[attr-defined]
        rows.write.mode("append").option("mergeSchema", "true").saveAsTable(
            self._name(schema, table)
        )
