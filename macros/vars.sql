{#
    Values from outside the project (dbt vars, the raw-data folder) never reach SQL as typed.
    Each one has a rule here; `checked_var(name)` returns a var only once it passes its rule,
    and `sql_literal(value)` is the one way a value becomes a SQL string literal. The
    on-run-start hook `validate_vars()` checks every rule before any node runs, so a bad value
    fails the whole command with a message naming the var and the rule, before any SQL.
    The Python twin of the rules (scoring, CLI arguments) is claims_fraud.warehouse.params; a test
    feeds both the same hostile values.
#}

{# var name -> rule. A var that reaches SQL or a Python job and is not listed here is a bug. #}
{% macro var_rules() -%}
    {{ return({
        'scoring_batch_id': 'batch_id',
        'scoring_window_start': 'optional_timestamp',
        'scoring_window_end': 'optional_timestamp',
        'raw_catalog': 'optional_identifier',
        'raw_schema': 'identifier',
        'max_plausible_units': 'positive_number',
        'minutes_in_a_day': 'positive_number',
        'feature_lookback_days': 'non_negative_integer',
        'monitored_features': 'identifier_list',
        'protected_attributes': 'identifier_list',
    }) }}
{%- endmacro %}

{% macro var_rule_text(rule) -%}
    {{ return({
        'batch_id': "a batch id: 1 to 64 characters, letters, digits, '_', '-', '.' or ':', starting with a letter or digit",
        'optional_timestamp': "empty, or a real date YYYY-MM-DD, optionally with a time HH:MM[:SS] after a space or 'T'",
        'identifier': "an identifier: a letter or '_', then letters, digits or '_' (at most 128 characters)",
        'optional_identifier': "empty (null), or an identifier: a letter or '_', then letters, digits or '_'",
        'positive_number': "a number greater than 0",
        'non_negative_integer': "a whole number, 0 or more",
        'identifier_list': "unset, or a list (or a name -> type mapping) of identifiers",
        'path': "a folder path without quotes, backslashes, semicolons or control characters",
    }[rule]) }}
{%- endmacro %}

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
        {{ return(value is integer and value is not boolean and value >= 0) }}
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

{# A project var, validated against its rule (var_rules). Use this, never var(), for a var
   that reaches SQL. #}
{% macro checked_var(name, default=none) -%}
    {%- set rules = var_rules() -%}
    {%- if name not in rules -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " has no rule in macros/vars.sql (var_rules): add one before using it in SQL") }}
    {%- endif -%}
    {%- set value = var(name, default) -%}
    {{ return(require_rule("var " ~ name, value, rules[name])) }}
{%- endmacro %}

{# on-run-start: every rule, before any node runs (a failing start hook skips every node). #}
{% macro validate_vars() -%}
    {%- for name in var_rules() -%}
        {%- do checked_var(name) -%}
    {%- endfor -%}
    {%- do require_rule("env var CLAIMS_FRAUD_RAW_DIR", env_var('CLAIMS_FRAUD_RAW_DIR', '.local/raw'), 'path') -%}
    select 1 as vars_checked
{%- endmacro %}

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

{% macro spark__sql_literal(value) -%}
    {{ return("'" ~ (value | string).replace("\\", "\\\\").replace("'", "\\'") ~ "'") }}
{%- endmacro %}

{#
    For the test suite (python_jobs/tests/reliability/test_var_injection.py), one call for many
    values: `dbt run-operation var_rule_verdicts --args '{cases: [[value, rule], ...],
    literals: [...]}'` logs one JSON line: the verdict of each rule on its value, and each
    literal as the warehouse reads it back through sql_literal. The same values go through
    claims_fraud.warehouse.params, so the Jinja rules and their Python twin are held to one list.
#}
{% macro var_rule_verdicts(cases, literals=[]) %}
    {%- set verdicts = [] -%}
    {%- for case in cases -%}
        {%- do verdicts.append(satisfies_rule(case[0], case[1])) -%}
    {%- endfor -%}
    {%- set read_back = [] -%}
    {%- for value in literals -%}
        {%- do read_back.append(run_query('select ' ~ sql_literal(value) ~ ' as v').columns[0].values()[0]) -%}
    {%- endfor -%}
    {%- do log('var_rule_verdicts ' ~ tojson({'verdicts': verdicts, 'literals': read_back}), info=true) -%}
{% endmacro %}
