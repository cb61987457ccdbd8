"""Where the companion jobs (promote, later alerts) read and write tables outside dbt.

dbt owns the tables; these jobs only read what dbt built and append their own audit rows
(`ml_promotion_decisions`). Locally that is the DuckDB file; on Databricks it is the Spark
session of the job cluster, with tables under `<catalog>.<schema>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd


class TableNotFoundError(LookupError):
    """A table the job needs does not exist yet."""


class Warehouse(Protocol):
    def read(self, table: str) -> pd.DataFrame: ...

    def append(self, table: str, frame: pd.DataFrame) -> None: ...


def _quote(*parts: str) -> str:
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
            return con.execute(f"select * from {_quote(schema, table)}").df()  # noqa: S608

    def append(self, table: str, frame: pd.DataFrame) -> None:
        with duckdb.connect(str(self.path)) as con:
            schema = self._schema_of(con, table) or self.default_schema
            con.execute(f"create schema if not exists {_quote(schema)}")
            con.register("incoming_rows", frame)
            exists = self._schema_of(con, table) is not None
            if exists:
                con.execute(
                    f"insert into {_quote(schema, table)} by name select * from incoming_rows"  # noqa: S608
                )
            else:
                con.execute(f"create table {_quote(schema, table)} as select * from incoming_rows")  # noqa: S608
            con.unregister("incoming_rows")


@dataclass(frozen=True)
class SparkWarehouse:
    """Unity Catalog tables through the job cluster's Spark session (Databricks targets)."""

    spark: object
    catalog: str
    schema: str

    def _name(self, table: str) -> str:
        return f"`{self.catalog}`.`{self.schema}`.`{table}`"

    def read(self, table: str) -> pd.DataFrame:
        return self.spark.table(self._name(table)).toPandas()  # type: ignore[attr-defined]

    def append(self, table: str, frame: pd.DataFrame) -> None:
        rows = self.spark.createDataFrame(frame)  # type: ignore[attr-defined]
        rows.write.mode("append").option("mergeSchema", "true").saveAsTable(self._name(table))
