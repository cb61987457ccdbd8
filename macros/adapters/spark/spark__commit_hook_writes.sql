{# commit_hook_writes on Spark and Databricks: there is no open transaction to commit. #}
{% macro spark__commit_hook_writes() -%}
{%- endmacro %}
