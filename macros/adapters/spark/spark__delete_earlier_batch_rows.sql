{# delete_earlier_batch_rows on plain Spark (Parquet): no DELETE there, so nothing; see
   macros/cross_engine/delete_earlier_batch_rows.sql. Databricks has its own. #}
{% macro spark__delete_earlier_batch_rows(relation, batch_ids) -%}
{%- endmacro %}
