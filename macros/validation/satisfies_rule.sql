{# True when value satisfies rule (see var_rule_text). #}
{% macro satisfies_rule(value, rule) -%}
    {%- set re = modules.re -%}
    {%- set identifier = '[A-Za-z_][A-Za-z0-9_]{0,127}' -%}
    {%- if rule == 'batch_id' -%}
        {{ return(value is string and re.fullmatch('[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}', value) is not none) }}
    {%- elif rule == 'optional_timestamp' -%}
        {{ return(value is none or value == '' or (value is string and _is_real_timestamp(value))) }}
    {%- elif rule == 'identifier' -%}
        {{ return(value is string and re.fullmatch(identifier, value) is not none) }}
    {%- elif rule == 'optional_identifier' -%}
        {{ return(value is none or value == '' or (value is string and re.fullmatch(identifier, value) is not none)) }}
    {%- elif rule == 'positive_number' -%}
        {{ return(value is number and value is not boolean and value > 0) }}
    {%- elif rule == 'non_negative_integer' -%}
        {#- text of digits too: vars set from the environment in dbt_project.yml are text -#}
        {{ return((value is integer and value is not boolean and value >= 0) or (value is string and re.fullmatch('[0-9]{1,9}', value) is not none)) }}
    {%- elif rule == 'identifier_list' -%}
        {%- if value is none -%}
            {{ return(true) }}
        {%- elif value is string or value is not iterable -%}
            {{ return(false) }}
        {%- endif -%}
        {%- for name in value -%}
            {%- if not (name is string and re.fullmatch(identifier, name)) -%}
                {{ return(false) }}
            {%- endif -%}
        {%- endfor -%}
        {{ return(true) }}
    {%- elif rule == 'optional_boolean' -%}
        {{ return(value is none or value is boolean) }}
    {%- elif rule == 'path' -%}
        {{ return(value is string and value != '' and re.search("['\"\\\\;`\\x00-\\x1f]", value) is none) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown var rule " ~ rule) }}
    {%- endif -%}
{%- endmacro %}

{# YYYY-MM-DD[( |T)HH:MM[:SS]] naming a day that exists (no 2025-02-30) and a valid time. #}
{% macro _is_real_timestamp(value) -%}
    {%- set match = modules.re.fullmatch('(\\d{4})-(\\d{2})-(\\d{2})(?:[ T](\\d{2}):(\\d{2})(?::(\\d{2}))?)?', value) -%}
    {%- if match is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set year, month, day = match.group(1) | int, match.group(2) | int, match.group(3) | int -%}
    {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
    {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if month < 1 or month > 12 or day < 1 or day > month_days[month - 1] -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if match.group(4) is not none -%}
        {%- if (match.group(4) | int) > 23 or (match.group(5) | int) > 59 or (match.group(6) or '0') | int > 59 -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(true) }}
{%- endmacro %}
