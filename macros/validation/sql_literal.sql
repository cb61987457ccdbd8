{#
    The one quoting macro: a value as a SQL string literal. Quotes are doubled on every engine;
    Spark SQL also reads a backslash as an escape, so it is escaped there too. Values are
    validated before they get here; this is the second line, not the first.
#}
{% macro sql_literal(value) -%}
    {{ return(adapter.dispatch('sql_literal', 'claims_fraud')(value)) }}
{%- endmacro %}

{% macro default__sql_literal(value) -%}
    {{ return("'" ~ (value | string).replace("'", "''") ~ "'") }}
{%- endmacro %}
