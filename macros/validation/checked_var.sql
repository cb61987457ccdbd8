{# A project var, validated against its rule (var_rules). Use this, never var(), for a var
   that reaches SQL. #}
{% macro checked_var(name, default=none) -%}
    {%- set rules = var_rules() -%}
    {%- if name not in rules -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " has no rule in macros/validation/var_rules.sql: add one before using it in SQL") }}
    {%- endif -%}
    {%- set value = var(name, default) -%}
    {{ return(require_rule("var " ~ name, value, rules[name])) }}
{%- endmacro %}
