{# Fail, naming the var, its value and the rule, unless the value satisfies the rule. #}
{% macro require_rule(what, value, rule) -%}
    {%- if not satisfies_rule(value, rule) -%}
        {{ exceptions.raise_compiler_error(
            what ~ " = " ~ (value | string | truncate(80, true)) ~ " is not allowed: it must be "
            ~ var_rule_text(rule) ~ ". Nothing was run: pass a valid value"
            ~ (" (--vars '{" ~ what.split(' ')[-1] ~ ": ...}')" if what.startswith('var ') else "") ~ "."
        ) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}
